# src/index/hnsw_index.cpp reads and writes hnswlib's internals (the graph's arrays, its link
# lists, its save format), so it must be compiled against exactly the hnswlib it was written and
# tested against: Debian's libhnswlib-dev 0.6.2. The headers whose internals it uses are compared
# byte for byte (SHA-256) with that version's; any other version stops the configure instead of
# building something that could misread a graph.
set(_imgvec_hnswlib_known
  "hnswalg.h=70905de8442f03af3242edc13b182f238a5bd758b9619f6a7c4b765b139490df"
  "hnswlib.h=1842cf717d0586ca3c3062829700a893493cbe025af58eb6cf68f301f2de3485"
  "visited_list_pool.h=9d2b97252ba52b3b248a94e1eb3aa0f34e035d1832c7e83ce037c4d4a7c5e9e8")
foreach(_entry ${_imgvec_hnswlib_known})
  string(REGEX REPLACE "=.*" "" _file "${_entry}")
  string(REGEX REPLACE ".*=" "" _want "${_entry}")
  file(SHA256 "${IMGVEC_HNSWLIB_INCLUDE_DIR}/hnswlib/${_file}" _have)
  if(NOT _have STREQUAL _want)
    message(FATAL_ERROR "imgvec: ${IMGVEC_HNSWLIB_INCLUDE_DIR}/hnswlib/${_file} is not hnswlib 0.6.2's "
      "(Debian libhnswlib-dev 0.6.2-2). src/index/hnsw_index.cpp reads hnswlib's internals and must be "
      "reviewed against this version before it is used; then add its hashes to cmake/CheckHnswlib.cmake.")
  endif()
endforeach()

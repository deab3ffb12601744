# Runs one packaging check (MODE = find_package | add_subdirectory) in the scratch folder WORK.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK})
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install ${IMGVEC_BUILD} --prefix ${WORK}/install)
  set(configure -DCMAKE_PREFIX_PATH=${WORK}/install -DCONSUMER_MODE=find_package)
else()
  # Without libtorch here: quicker, and it checks imgvec::imgvec's torch-less form.
  set(configure -DCONSUMER_MODE=add_subdirectory -DIMGVEC_SOURCE_DIR=${IMGVEC_SOURCE}
      -DIMGVEC_WITH_TORCH=OFF)
endif()
run(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/consumer -B ${WORK}/build -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=Release ${configure})
run(${CMAKE_COMMAND} --build ${WORK}/build)
run(${WORK}/build/consumer ${WORK}/index.imgvec ${IMGVEC_SOURCE}/tests/data/bpe_simple_vocab_16e6.txt.gz
    ${IMGVEC_SOURCE}/tests/data/images/ukbench01380.jpg ${BUNDLE})

# Runs one packaging check (MODE = find_package | add_subdirectory) in the scratch folder WORK.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK})
if(MODE STREQUAL "core_with_hnswlib")
  # The static library must not export hnswlib's symbols (an application's own hnswlib would
  # silently get imgvec's), and find_package(imgvec COMPONENTS core) must not need libtorch.
  file(GLOB core_lib ${IMGVEC_BUILD}/libimgvec_core.a)
  execute_process(COMMAND nm -C ${core_lib} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm failed on ${core_lib}")
  endif()
  string(REGEX MATCH "[^\n]*hnswlib::[^\n]*" leaked "${symbols}")
  if(leaked)
    message(FATAL_ERROR "libimgvec_core.a exports an hnswlib:: symbol: ${leaked}")
  endif()
  run(${CMAKE_COMMAND} --install ${IMGVEC_BUILD} --prefix ${WORK}/install)
  run(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/consumer_core -B ${WORK}/build -G ${GENERATOR}
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${WORK}/install)
  run(${CMAKE_COMMAND} --build ${WORK}/build)
  run(${WORK}/build/consumer_core)
  return()
endif()
if(MODE STREQUAL "python")
  run(${CMAKE_COMMAND} --install ${IMGVEC_BUILD} --prefix ${WORK}/install)
  file(MAKE_DIRECTORY ${WORK}/elsewhere)
  # From another folder, with only the install tree on the path: the build tree cannot be what is found.
  execute_process(COMMAND ${CMAKE_COMMAND} -E env PYTHONPATH=${WORK}/install/${PYTHON_DIR}/..
      ${PYTHON} ${CMAKE_CURRENT_LIST_DIR}/python_install_check.py ${WORK}/install ${IMGVEC_SOURCE}/tests/data/images
      ${WORK}/db
    WORKING_DIRECTORY ${WORK}/elsewhere RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the installed Python module failed (${rc})")
  endif()
  return()
endif()
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

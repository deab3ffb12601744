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
  # The same program built without CMake, from imgvec.pc (the static library, so --static).
  file(GLOB pc_dir ${WORK}/install/lib*/pkgconfig ${WORK}/install/lib/*/pkgconfig)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dir}
      pkg-config --cflags --libs --static imgvec
    OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_VARIABLE pc_error)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config imgvec failed in ${pc_dir}: ${pc_error}")
  endif()
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  run(c++ ${CMAKE_CURRENT_LIST_DIR}/consumer_core/main.cpp ${pc_flags} -o ${WORK}/consumer_pkg_config)
  run(${WORK}/consumer_pkg_config)
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
  # Without libtorch here: quicker, and it checks imgvec::imgvec's torch-less form. Built shared,
  # to check what libimgvec_core.so exports. Only what the consumer needs: imgvec's Python module
  # and photo matching module took 32 s of the 122 s build here.
  set(configure -DCONSUMER_MODE=add_subdirectory -DIMGVEC_SOURCE_DIR=${IMGVEC_SOURCE}
      -DIMGVEC_WITH_TORCH=OFF -DBUILD_SHARED_LIBS=ON)
  set(build_only --target consumer)
endif()
run(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/consumer -B ${WORK}/build -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=Release ${configure})
run(${CMAKE_COMMAND} --build ${WORK}/build ${build_only})
if(MODE STREQUAL "add_subdirectory")
  # Only imgvec's public API is exported (include/imgvec/export.hpp): every symbol the library
  # defines in its dynamic table is imgvec::'s, or the standard library's templates that its
  # public functions instantiate (weak, and the same in every program that uses them). Nothing of
  # hnswlib, stb, xxHash, nlohmann or libjpeg, which a program's own copy would otherwise bind to.
  file(GLOB core_so ${WORK}/build/imgvec/libimgvec_core.so.*.*.*)
  if(NOT core_so)
    message(FATAL_ERROR "no shared libimgvec_core in ${WORK}/build/imgvec")
  endif()
  execute_process(COMMAND nm -D -C --defined-only ${core_so} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm -D failed on ${core_so}")
  endif()
  string(REPLACE "\n" ";" symbols "${symbols}")
  set(imgvec_count 0)
  set(foreign "")
  foreach(line ${symbols})
    if(NOT line MATCHES "^[0-9a-f]+ ([A-Za-z]) (.*)$")
      continue()
    endif()
    set(type ${CMAKE_MATCH_1})
    set(name "${CMAKE_MATCH_2}")
    # typeinfo, vtables, guard variables and thunks of imgvec's own types count as imgvec's.
    string(REGEX REPLACE "^(typeinfo name for |typeinfo for |vtable for |VTT for |guard variable for |non-virtual thunk to |virtual thunk to )" "" bare "${name}")
    if(bare MATCHES "^imgvec::")
      math(EXPR imgvec_count "${imgvec_count} + 1")
    elseif(type MATCHES "^[WVu]$" AND bare MATCHES "^(std::|__gnu_cxx::|void std::|bool std::)")
      # a standard template instantiated for imgvec's API
    else()
      string(APPEND foreign "\n  ${type} ${name}")
    endif()
  endforeach()
  if(foreign)
    message(FATAL_ERROR "${core_so} exports symbols that are not imgvec's:${foreign}")
  endif()
  if(imgvec_count LESS 100)
    message(FATAL_ERROR "${core_so} exports only ${imgvec_count} imgvec:: symbols: the public API is missing")
  endif()
  message(STATUS "${core_so}: ${imgvec_count} imgvec:: symbols, nothing else of its own")
endif()
run(${WORK}/build/consumer ${WORK}/index.imgvec ${IMGVEC_SOURCE}/tests/data/bpe_simple_vocab_16e6.txt.gz
    ${IMGVEC_SOURCE}/tests/data/images/ukbench01380.jpg ${BUNDLE})

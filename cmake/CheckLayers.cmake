# The layer rules of docs/design.md ("Layers"), checked on every #include "..." of the tree at
# IMGVEC_SOURCE_DIR: a lower layer never includes a higher one, so the floors can be rebuilt
# without the ground moving. Run by ctest (build.layers), and against a tree that breaks a rule
# (build.layers_refuse) to show that it fails.
#
#   cmake -DIMGVEC_SOURCE_DIR=DIR -P cmake/CheckLayers.cmake
#
# Each rule: the folders of a layer (under src/, include/imgvec/ or python/), and what their
# files may include besides the system's and the foundation (export, error, types, detail, path_text,
# version).
set(_foundation "imgvec/export\\.hpp|imgvec/error\\.hpp|imgvec/types\\.hpp|imgvec/detail/|imgvec/path_text\\.hpp|imgvec/version\\.hpp")
set(_rules
  # io is the ground floor: files, checksums, modules; it knows no image, vector or model.
  "io|src/io|io/"
  "simd|src/simd|simd/"
  # The one thread team (parallel.hpp): for the index, duplicate verification and the encoder.
  "parallel|src/parallel|parallel/"
  "text|src/text include/imgvec/text|io/|text/|imgvec/text/"
  # The index knows vectors only (no images, records or encoders).
  "index|src/index include/imgvec/index|io/|simd/|parallel/|index/|imgvec/index/"
  "image|src/image include/imgvec/image|io/|simd/|image/|imgvec/image/"
  # Records hold what images are (format, photo facts, analysis), but nothing that makes them.
  "metadata|src/metadata include/imgvec/metadata|io/|text/|metadata/|imgvec/metadata/|imgvec/image/(image|analysis|photo_facts)\\.hpp"
  "encoder|src/encoder include/imgvec/encoder|io/|simd/|parallel/|text/|image/|encoder/|imgvec/text/|imgvec/image/|imgvec/encoder/"
  # The public headers: never a private one, which an installed imgvec does not have.
  "public|include/imgvec|imgvec/"
  # The front ends use the public API, and the private wire layer that gives them one JSON shape
  # (and its "did you mean" hints for field names, one rule with the library's filters).
  "cli|src/cli|imgvec/|wire/|cli/|server/server\\.hpp"
  "server|src/server|imgvec/|wire/|server/|text/near_names\\.hpp"
  "python|python/src|imgvec/|wire/|bindings\\.hpp")

set(_broken "")
foreach(_rule ${_rules})
  string(REPLACE "|" ";" _parts "${_rule}")
  list(GET _parts 0 _layer)
  list(GET _parts 1 _dirs)
  list(SUBLIST _parts 2 -1 _allowed)
  list(JOIN _allowed "|" _allowed)
  separate_arguments(_dirs)
  set(_files "")
  foreach(_dir ${_dirs})
    file(GLOB_RECURSE _found "${IMGVEC_SOURCE_DIR}/${_dir}/*.hpp" "${IMGVEC_SOURCE_DIR}/${_dir}/*.cpp"
         "${IMGVEC_SOURCE_DIR}/${_dir}/*.h")
    list(APPEND _files ${_found})
  endforeach()
  if(NOT _files)
    message(FATAL_ERROR "imgvec layers: no files for layer ${_layer} under ${IMGVEC_SOURCE_DIR} (${_dirs})")
  endif()
  foreach(_file ${_files})
    file(STRINGS "${_file}" _includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(_line ${_includes})
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\".*" "\\1" _header "${_line}")
      if(NOT _header MATCHES "^(${_foundation}|${_allowed})")
        file(RELATIVE_PATH _rel "${IMGVEC_SOURCE_DIR}" "${_file}")
        string(APPEND _broken "\n  ${_rel} (${_layer}) includes \"${_header}\"")
      endif()
    endforeach()
  endforeach()
endforeach()
if(_broken)
  message(FATAL_ERROR "imgvec: includes that break the layer rules (docs/design.md, \"Layers\"):${_broken}")
endif()
message(STATUS "imgvec layers: every include follows the rules")

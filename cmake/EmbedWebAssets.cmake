# Writes OUTPUT, a C++ file defining imgvec::server::web::kIndexHtml, kAppJs and kAppCss from the
# files in WEB_DIR, as raw string literals. Run as a script (cmake -P) by a custom command, so
# editing a page file rebuilds only this.
set(_out "// Generated from web/ by cmake/EmbedWebAssets.cmake. Do not edit.\n#include \"server/web_assets.hpp\"\n\nnamespace imgvec::server::web {\n")
foreach(_pair "kIndexHtml;index.html" "kAppJs;app.js" "kAppCss;app.css")
  list(GET _pair 0 _name)
  list(GET _pair 1 _file)
  file(READ "${WEB_DIR}/${_file}" _text)
  string(FIND "${_text}" ")imgvec_web\"" _clash)
  if(NOT _clash EQUAL -1)
    message(FATAL_ERROR "${WEB_DIR}/${_file} contains the raw string delimiter )imgvec_web\"")
  endif()
  string(APPEND _out "extern const std::string_view ${_name};\nconst std::string_view ${_name} = R\"imgvec_web(${_text})imgvec_web\";\n")
endforeach()
string(APPEND _out "}  // namespace imgvec::server::web\n")
file(WRITE "${OUTPUT}.tmp" "${_out}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")

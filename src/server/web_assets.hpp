#pragma once
// The web page's files (web/), embedded at build time (cmake/EmbedWebAssets.cmake), so the page
// works offline and the binary is all a user installs.

#include <string_view>

namespace imgvec::server::web {

extern const std::string_view kIndexHtml;
extern const std::string_view kAppJs;
extern const std::string_view kAppCss;

}  // namespace imgvec::server::web

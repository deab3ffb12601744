#pragma once
// Which fields each endpoint takes: a field the server does not know is a 400 that names it, with
// "did you mean" for near names and for the names users of other systems type (`top_k`, `where`,
// `certainty`), instead of a request that silently does something else.

#include <string>
#include <string_view>
#include <vector>

#include "server/http_support.hpp"

namespace imgvec::server {

/// 400 unknown_field naming the first key of `body` not in `known` (`what`: "a search").
void check_known_fields(const json& body, const std::vector<std::string_view>& known, const std::string& what);

/// The same for a URL's query parameters.
void check_known_params(const httplib::Request& req, const std::vector<std::string_view>& known,
                        const std::string& what);

/// The same for the fields of a multipart form.
void check_known_form_fields(const httplib::Request& req, const std::vector<std::string_view>& known,
                             const std::string& what);

}  // namespace imgvec::server

#pragma once
// What every handler of imgvec serve shares: the error answer {"error": {"code", "message"}},
// the wrapper that turns any failure into one, and checked readers of request values.

#include <httplib.h>

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "imgvec/database.hpp"

namespace imgvec::server {

using nlohmann::json;

/// An answer other than success: HTTP status, a stable machine-readable code, and a message that
/// names what is wrong.
struct HttpError {
  int status;
  std::string code, message;
};

[[noreturn]] void fail(int status, std::string code, std::string message);

void send_json(httplib::Response& res, int status, const json& body);
void send_error(httplib::Response& res, int status, const std::string& code,
                const std::string& message);

/// Runs `handle(req, res)`, answering any HttpError, imgvec::Error or other exception as JSON
/// with its status (imgvec errors map: not_found 404, invalid_argument 400, unsupported and
/// corrupt images 415, incompatible 409, io 500). The server stays up whatever a request does.
void answer_guarded(const httplib::Request& req, httplib::Response& res,
                    const std::function<void(const httplib::Request&, httplib::Response&)>& handle);

/// Fills `req.body` (or `req.files`, for multipart/form-data) from a handler's content reader, as
/// cpp-httplib would, except that a urlencoded body is kept as it came rather than parsed as a
/// form. False when the body could not be read (cpp-httplib has then set the answer's status).
bool read_whole_body(httplib::Request& req, const httplib::ContentReader& read);

/// A JSON text (a form field, part of a body) named `what` in errors: 400 when it nests deeper
/// than detail::kMaxJsonDepth or does not parse.
json parse_json_text(std::string_view text, const std::string& what);
/// The body as JSON, or 400 bad_json naming the parser's complaint (or the nesting limit).
json parse_json_body(const httplib::Request& req);
/// The body as a JSON object (400 otherwise).
json parse_json_object(const httplib::Request& req);

/// A decimal id from a URL or a field (400 if it is not an unsigned 64-bit integer).
Id parse_id(const std::string& text);
/// An id given in JSON as a number or a decimal string.
Id id_from_json(const json& value, const char* field);

/// An optional number field within [lo, hi] (integral when T is); `fallback` when absent or null.
std::size_t size_field(const json& body, const char* key, std::size_t fallback, std::size_t lo,
                       std::size_t hi);
float float_field(const json& body, const char* key, float fallback, float lo, float hi);
/// An optional integer URL parameter within [lo, hi]; `fallback` when absent; 400 naming it otherwise.
std::size_t size_param(const httplib::Request& req, const char* name, std::size_t fallback, std::size_t lo,
                       std::size_t hi, const char* unit = "");
/// An optional boolean field; `fallback` when absent or null, 400 when not a boolean.
bool bool_field(const json& body, const char* key, bool fallback);

/// A JSON object of user metadata: strings, integers, numbers, booleans, lists of strings.
/// Anything else is a 400 naming the key.
Metadata metadata_from_json(const json& value);
/// A JSON array of strings.
std::vector<std::string> tags_from_json(const json& value);

/// The MIME type of a stored image's format.
const char* content_type(ImageFormat format);

/// Compares a secret in time that depends only on the lengths, not on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace imgvec::server

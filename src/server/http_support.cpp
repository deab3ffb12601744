#include "server/http_support.hpp"
#include "wire/wire.hpp"

#include <cerrno>
#include <cstdlib>

#include "imgvec/detail/json_nesting.hpp"
#include "imgvec/error.hpp"

namespace imgvec::server {
namespace {

int status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::not_found:
      return 404;
    case ErrorCode::unsupported:
      return 415;
    case ErrorCode::corrupt_file:
      return 415;
    case ErrorCode::invalid_argument:
      return 400;
    case ErrorCode::incompatible:
      return 409;
    case ErrorCode::io:
      return 500;
    case ErrorCode::too_large:
      return 413;
  }
  return 500;
}

const char* code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::unsupported:
      return "unsupported_media";
    case ErrorCode::corrupt_file:
      return "bad_image";
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::incompatible:
      return "incompatible";
    case ErrorCode::io:
      return "io";
    case ErrorCode::too_large:
      return "too_large";
  }
  return "internal";
}

}  // namespace

void fail(int status, std::string code, std::string message) {
  throw HttpError{status, std::move(code), std::move(message)};
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // Record texts may hold bytes that are not UTF-8 (record_to_json escapes paths, but a JSON
  // body is checked again here rather than trusted): replaced, never a failed answer.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& code,
                const std::string& message) {
  send_json(res, status, {{"error", {{"code", code}, {"message", message}}}});
}

void answer_guarded(
    const httplib::Request& req, httplib::Response& res,
    const std::function<void(const httplib::Request&, httplib::Response&)>& handle) {
  try {
    handle(req, res);
  } catch (const HttpError& e) {
    send_error(res, e.status, e.code, e.message);
  } catch (const Error& e) {
    send_error(res, status_of(e.code()), code_name(e.code()), e.what());
  } catch (const json::exception& e) {
    send_error(res, 400, "invalid_argument",
               std::string("a request value has the wrong type: ") + e.what());
  } catch (const std::bad_alloc&) {
    send_error(res, 503, "out_of_memory", "the server ran out of memory for this request");
  } catch (const std::exception& e) {
    send_error(res, 500, "internal", e.what());
  }
}

bool read_whole_body(httplib::Request& req, const httplib::ContentReader& read) {
  if (req.is_multipart_form_data()) {
    httplib::MultipartFormDataItems parts;
    const bool ok = read(
        [&](const httplib::MultipartFormData& part) {
          parts.push_back(part);
          return true;
        },
        [&](const char* data, std::size_t size) {
          parts.back().content.append(data, size);
          return true;
        });
    for (auto& part : parts) req.files.emplace(part.name, std::move(part));
    return ok;
  }
  return read([&](const char* data, std::size_t size) {
    req.body.append(data, size);
    return true;
  });
}

json parse_json_text(std::string_view text, const std::string& what) {
  detail::check_json_nesting(text, what);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail(400, "bad_json", what + " is not valid JSON: " + e.what());
  }
}

json parse_json_body(const httplib::Request& req) {
  return parse_json_text(req.body, "the request body");
}

json parse_json_object(const httplib::Request& req) {
  json body = parse_json_body(req);
  if (!body.is_object()) fail(400, "invalid_argument", "the request body must be a JSON object");
  return body;
}

Id parse_id(const std::string& text) {
  if (text.empty() || text.size() > 20 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    fail(400, "invalid_argument",
         "\"" + text + "\" is not an image id (an unsigned 64-bit integer)");
  }
  errno = 0;
  const unsigned long long id = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE)
    fail(400, "invalid_argument", "\"" + text + "\" is larger than any image id");
  return id;
}

std::size_t size_param(const httplib::Request& req, const char* name, std::size_t fallback, std::size_t lo,
                       std::size_t hi, const char* unit) {
  if (!req.has_param(name)) return fallback;
  const std::string text = req.get_param_value(name);
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(text) < lo || std::stoul(text) > hi) {
    fail(400, "invalid_argument",
         std::string(name) + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + unit +
             ", got \"" + text.substr(0, 40) + "\"");
  }
  return std::stoul(text);
}

Id id_from_json(const json& value, const char* field) {
  if (value.is_number_unsigned()) return value.get<Id>();
  if (value.is_string()) return parse_id(value.get<std::string>());
  fail(400, "invalid_argument",
       std::string("\"") + field + "\" must be an image id (a non-negative integer)");
}

namespace {

template <typename T>
T number_field(const json& body, const char* key, T fallback, T lo, T hi) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number())
    fail(400, "invalid_argument", std::string("\"") + key + "\" must be a number");
  const double v = it->get<double>();
  if (!(v >= static_cast<double>(lo) && v <= static_cast<double>(hi)) ||
      (std::is_integral_v<T> && v != static_cast<double>(static_cast<std::int64_t>(v)))) {
    fail(400, "invalid_argument",
         std::string("\"") + key + "\" must be " +
             (std::is_integral_v<T> ? "an integer" : "a number") + " in [" + json(lo).dump() +
             ", " + json(hi).dump() + "], got " + it->dump());
  }
  return static_cast<T>(v);
}

}  // namespace

std::size_t size_field(const json& body, const char* key, std::size_t fallback, std::size_t lo,
                       std::size_t hi) {
  return number_field<std::size_t>(body, key, fallback, lo, hi);
}

float float_field(const json& body, const char* key, float fallback, float lo, float hi) {
  return number_field<float>(body, key, fallback, lo, hi);
}

bool bool_field(const json& body, const char* key, bool fallback) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(400, "invalid_argument", std::string("\"") + key + "\" must be true or false");
  return it->get<bool>();
}

Metadata metadata_from_json(const json& value) {
  return wire::metadata_from_json(value, ErrorCode::invalid_argument, "metadata");  // invalid_argument: 400
}

std::vector<std::string> tags_from_json(const json& value) {
  if (!value.is_array()) fail(400, "invalid_argument", "\"tags\" must be a JSON array of strings");
  std::vector<std::string> out;
  for (const auto& t : value) {
    if (!t.is_string()) fail(400, "invalid_argument", "\"tags\" must be a JSON array of strings");
    out.push_back(t.get<std::string>());
  }
  return out;
}

const char* content_type(ImageFormat f) {
  switch (f) {
    case ImageFormat::jpeg:
      return "image/jpeg";
    case ImageFormat::png:
      return "image/png";
    case ImageFormat::gif:
      return "image/gif";
    case ImageFormat::bmp:
      return "image/bmp";
    case ImageFormat::pnm:
      return "image/x-portable-anymap";
    case ImageFormat::tga:
      return "image/x-tga";
    case ImageFormat::psd:
      return "image/vnd.adobe.photoshop";
    case ImageFormat::hdr:
      return "image/vnd.radiance";
    case ImageFormat::webp:
      return "image/webp";
    case ImageFormat::tiff:
      return "image/tiff";
    case ImageFormat::heic:
      return "image/heic";
    case ImageFormat::avif:
      return "image/avif";
    case ImageFormat::unknown:
      break;
  }
  return "application/octet-stream";
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

}  // namespace imgvec::server

// imgvec serve's request handlers, called without sockets on a database of two images: the first
// byte picks the endpoint, the rest is the body (or the thumbnail size). Every answer must be a
// deliberate one (never a 500 from an unexpected exception), and the fast "vector" reader must
// agree with nlohmann's reading of the same body whenever it accepts one.
#include <httplib.h>

#include <cmath>
#include <cstdint>
#include <regex>
#include <string>

#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#define IMGVEC_FUZZ_DATABASE
#include "fuzz_support.hpp"
#include "server/server_impl.hpp"
#include "server/vector_body.hpp"

using namespace imgvec;

namespace {

server::Server& fuzz_server() {
  static server::Server* s = [] {
    auto db =
        VectorDatabase::open(fuzz::fresh_database_copy(), std::make_shared<DescriptorEncoder>());
    server::ServerOptions options;
    options.save_every_changes = 1u << 30;  // no background saves: they would only slow the fuzzer
    options.save_every_seconds = 1e9;
    auto* srv = new server::Server(options);
    srv->attach(std::shared_ptr<VectorDatabase>(std::move(db)));
    return srv;
  }();
  return *s;
}

void check_fast_vector(const std::string& body) {
  const auto fast = server::extract_vector(body);
  // The server uses the fast reading only when the rest of the body parses (as here).
  if (!fast || server::json::parse(fast->rest, nullptr, false).is_discarded()) return;
  const auto full = server::json::parse(body, nullptr, false);
  if (full.is_discarded() || !full.is_object()) std::abort();  // accepted what JSON refuses
  const auto& v = full["vector"];
  if (!v.is_array() || v.size() != fast->values.size()) std::abort();
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double want = v[i].get<double>(), got = fast->values[i];
    if (std::fabs(want - got) > 1e-6 * std::max(1.0, std::fabs(want))) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto& impl = fuzz_server().internals();
  httplib::Request req;
  httplib::Response res;
  req.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  using Handler = void (server::Server::Impl::*)(const httplib::Request&, httplib::Response&);
  Handler handler = nullptr;
  switch (data[0] % 6) {
    case 0:
      check_fast_vector(req.body);
      handler = &server::Server::Impl::search;
      break;
    case 1:
      handler = &server::Server::Impl::upload;
      break;
    case 2:
      req.path = "/v1/images/1";
      handler = &server::Server::Impl::patch;
      break;
    case 3:
      handler = &server::Server::Impl::duplicates;
      break;
    case 4:
      req.path = "/v1/images/2/thumbnail";
      req.params.emplace("size", req.body);
      handler = &server::Server::Impl::get_thumbnail;
      break;
    default:
      req.path = "/v1/images/" + req.body;
      handler = &server::Server::Impl::get_record;
      break;
  }
  // cpp-httplib answers 414 to a URI over CPPHTTPLIB_REQUEST_URI_MAX_LENGTH before any routing.
  if (req.path.size() > CPPHTTPLIB_REQUEST_URI_MAX_LENGTH) return 0;
  static const std::regex by_id(R"(/v1/images/([^/]+)(/thumbnail)?)");
  if (!req.path.empty() && !std::regex_match(req.path, req.matches, by_id)) return 0;
  server::answer_guarded(
      req, res, [&](const httplib::Request& q, httplib::Response& r) { (impl.*handler)(q, r); });
  const int status = res.status == -1 ? 200 : res.status;  // httplib's "not set": 200
  if (status >= 500 || status < 200) std::abort();         // an answer nobody meant
  // Uploads accumulate; keep the database small so every input stays fast.
  if (impl.database().size() > 64) {
    for (Id id : impl.database().ids()) {
      if (id > 2) impl.database().remove(id);
    }
  }
  return 0;
}

#include <catch2/catch.hpp>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"
#include "imgvec/image/url_fetch.hpp"

// Images from URLs, against a loopback server that misbehaves in the ways real ones do: missing
// files, pages that are not images, mislabelled images, huge and endless bodies, trickling bytes,
// redirect loops.
using namespace imgvec;
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct LoopbackServer {
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> stopping{false};
  int port = 0;
  std::string jpeg = read_file(std::string(IMGVEC_TEST_DATA_DIR) + "/images/ukbench01380.jpg");

  LoopbackServer() {
    server.Get("/photo.jpg", [&](const httplib::Request&, httplib::Response& res) { res.set_content(jpeg, "image/jpeg"); });
    server.Get("/mislabelled", [&](const httplib::Request&, httplib::Response& res) { res.set_content(jpeg, "text/html"); });
    server.Get("/page.jpg", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content("<html><body>Not found, but 200</body></html>", "image/jpeg");
    });
    server.Get("/missing.jpg", [&](const httplib::Request&, httplib::Response& res) { res.status = 404; });
    server.Get("/broken", [&](const httplib::Request&, httplib::Response& res) { res.status = 500; });
    server.Get("/declared-huge", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(3 << 20, 'x'), "image/jpeg");  // Content-Length: 3 MB
    });
    server.Get("/endless", [&](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("image/jpeg", [&](std::size_t, httplib::DataSink& sink) {
        const std::string chunk(64 << 10, '\xFF');
        return !stopping && sink.write(chunk.data(), chunk.size());  // until the client hangs up
      });
    });
    server.Get("/trickle", [&](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("image/jpeg", [&](std::size_t, httplib::DataSink& sink) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return !stopping && sink.write("\xFF", 1);
      });
    });
    server.Get("/redirect", [&](const httplib::Request&, httplib::Response& res) { res.set_redirect("/photo.jpg"); });
    server.Get("/loop", [&](const httplib::Request&, httplib::Response& res) { res.set_redirect("/loop"); });
    server.Get("/to-file", [&](const httplib::Request&, httplib::Response& res) { res.set_redirect("file:///etc/passwd"); });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([&] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    stopping = true;
    server.stop();
    thread.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};

ErrorCode fetch_error(const std::string& url, const UrlFetchOptions& options, std::string* message = nullptr) {
  try {
    fetch_url(url, options);
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  FAIL("no error for " << url);
  return ErrorCode::io;
}

}  // namespace

TEST_CASE("images come from http URLs, within limits, judged by their bytes", "[url]") {
  if (!url_fetch_supported()) {
    std::string message;
    CHECK(fetch_error("http://127.0.0.1:1/x.jpg", {}, &message) == ErrorCode::unsupported);
    CHECK_THAT(message, Catch::Matchers::Contains("libcurl"));
    return;
  }
  LoopbackServer s;
  REQUIRE(s.port > 0);
  CHECK(fetch_url(s.url("/photo.jpg")) == std::vector<std::uint8_t>(s.jpeg.begin(), s.jpeg.end()));
  CHECK(fetch_url(s.url("/redirect")).size() == s.jpeg.size());
  CHECK(fetch_url(s.url("/mislabelled")).size() == s.jpeg.size());  // the header does not decide

  UrlFetchOptions quick;
  quick.timeout_s = 2;
  quick.stall_timeout_s = 1;
  quick.max_bytes = 2 << 20;
  std::string message;
  CHECK(fetch_error(s.url("/missing.jpg"), quick, &message) == ErrorCode::not_found);
  CHECK_THAT(message, Catch::Matchers::Contains("HTTP 404") && Catch::Matchers::Contains("/missing.jpg"));
  CHECK(fetch_error(s.url("/broken"), quick, &message) == ErrorCode::io);
  CHECK_THAT(message, Catch::Matchers::Contains("HTTP 500"));
  CHECK(fetch_error(s.url("/declared-huge"), quick, &message) == ErrorCode::too_large);
  CHECK(fetch_error(s.url("/endless"), quick, &message) == ErrorCode::too_large);
  CHECK_THAT(message, Catch::Matchers::Contains("max_bytes"));
  const auto start = std::chrono::steady_clock::now();
  CHECK(fetch_error(s.url("/trickle"), quick, &message) == ErrorCode::io);
  CHECK_THAT(message, Catch::Matchers::Contains("timed out"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  CHECK(fetch_error(s.url("/loop"), quick, &message) == ErrorCode::io);
  CHECK_THAT(message, Catch::Matchers::Contains("redirects"));
  CHECK(fetch_error(s.url("/to-file"), quick) != ErrorCode::too_large);  // refused, whatever the code
  for (const char* bad : {"file:///etc/passwd", "ftp://127.0.0.1/x.jpg", "127.0.0.1/x.jpg", "gopher://x", ""}) {
    INFO(bad);
    CHECK(fetch_error(bad, quick) == ErrorCode::invalid_argument);
  }
  // Nothing listens on port 1.
  CHECK(fetch_error("http://127.0.0.1:1/x.jpg", quick) == ErrorCode::io);
}

TEST_CASE("add_image_url keeps the image and its URL; search_by_image_url finds it", "[url][db]") {
  if (!url_fetch_supported()) return;
  LoopbackServer s;
  const fs::path dir = fs::temp_directory_path() / "imgvec-db-url";
  fs::remove_all(dir);
  {
    auto db = VectorDatabase::create(dir.string(), std::make_shared<DescriptorEncoder>());
    const AddResult r = db->add_image_url(s.url("/photo.jpg"), {{"album", std::string("web")}});
    CHECK(r.status == AddStatus::added);
    const ImageRecord rec = *db->get(r.id);
    CHECK(std::get<std::string>(rec.metadata.at("url")) == s.url("/photo.jpg"));
    CHECK(std::get<std::string>(rec.metadata.at("album")) == "web");
    CHECK(rec.photo.camera() == "Canon PowerShot S230");  // the EXIF came along
    CHECK(db->add_image_url(s.url("/photo.jpg"), {{"album", std::string("web")}}).status == AddStatus::unchanged);
    CHECK(db->search_by_image_url(s.url("/redirect"), 1).at(0).id == r.id);
    // Refusals leave the database as it was.
    std::string message;
    try {
      db->add_image_url(s.url("/page.jpg"));
    } catch (const Error& e) {
      message = e.what();
    }
    CHECK_THAT(message, Catch::Matchers::Contains("/page.jpg"));
    CHECK_THROWS_AS(db->add_image_url(s.url("/missing.jpg")), Error);
    CHECK(db->size() == 1);
    db->save();
  }
  fs::remove_all(dir);
}

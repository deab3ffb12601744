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
#include "image/address_policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

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
  // The test server is on loopback, which user-given URLs may not reach unless allowed.
  UrlFetchOptions local;
  local.allow_private_addresses = true;
  CHECK(fetch_url(s.url("/photo.jpg"), local) == std::vector<std::uint8_t>(s.jpeg.begin(), s.jpeg.end()));
  CHECK(fetch_url(s.url("/redirect"), local).size() == s.jpeg.size());
  CHECK(fetch_url(s.url("/mislabelled"), local).size() == s.jpeg.size());  // the header does not decide

  UrlFetchOptions quick = local;
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

TEST_CASE("URLs that lead to this machine or its network are refused unless allowed", "[url]") {
  if (!url_fetch_supported()) return;
  LoopbackServer s;
  std::string message;
  // By address, by a name that resolves inward (judged after DNS), and in every spelling.
  for (const std::string& url : std::vector<std::string>{s.url("/photo.jpg"), "http://localhost:" + std::to_string(s.port) + "/photo.jpg",
                                 "http://[::1]:" + std::to_string(s.port) + "/x.jpg", "http://0.0.0.0:1/x.jpg",
                                 "http://2130706433:" + std::to_string(s.port) + "/photo.jpg",
                                 "http://[::ffff:127.0.0.1]:" + std::to_string(s.port) + "/photo.jpg"}) {
    INFO(url);
    CHECK(fetch_error(url, {}, &message) == ErrorCode::invalid_argument);
    CHECK_THAT(message, Catch::Matchers::Contains("refused") && Catch::Matchers::Contains("allow_private_addresses"));
  }
  CHECK_THAT(message, Catch::Matchers::Contains("127.0.0.1, a loopback address"));
  // A credential in the URL is used, never echoed.
  UrlFetchOptions local;
  local.allow_private_addresses = true;
  local.timeout_s = 2;
  CHECK(fetch_error("http://me:s3cret@127.0.0.1:" + std::to_string(s.port) + "/missing.jpg", local, &message) ==
        ErrorCode::not_found);
  CHECK_THAT(message, !Catch::Matchers::Contains("s3cret") && Catch::Matchers::Contains("http://***@127.0.0.1"));
  CHECK(fetch_error("http://me:s3cret@127.0.0.1:1/x.jpg", local, &message) == ErrorCode::io);
  CHECK_THAT(message, !Catch::Matchers::Contains("s3cret"));
  CHECK(redact_url("https://u:p@host/a@b.jpg") == "https://***@host/a@b.jpg");
  CHECK(redact_url("https://host/a@b.jpg") == "https://host/a@b.jpg");
  CHECK(redact_url("no scheme") == "no scheme");
}

TEST_CASE("the address check knows the blocks that are not the internet", "[url]") {
  auto kind = [](const char* text) {
    sockaddr_storage a{};
    if (std::string(text).find(':') != std::string::npos) {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
      v6->sin6_family = AF_INET6;
      REQUIRE(::inet_pton(AF_INET6, text, &v6->sin6_addr) == 1);
    } else {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
      v4->sin_family = AF_INET;
      REQUIRE(::inet_pton(AF_INET, text, &v4->sin_addr) == 1);
    }
    return imgvec::detail::non_public_kind(reinterpret_cast<const sockaddr*>(&a));
  };
  CHECK(kind("127.0.0.1") == "loopback");
  CHECK(kind("127.255.1.2") == "loopback");
  CHECK(kind("10.1.2.3") == "private");
  CHECK(kind("172.16.0.1") == "private");
  CHECK(kind("172.31.255.255") == "private");
  CHECK(kind("172.32.0.1").empty());
  CHECK(kind("192.168.1.1") == "private");
  CHECK(kind("169.254.169.254") == "link-local");  // cloud metadata services
  CHECK(kind("100.64.0.1") == "shared address space");
  CHECK(kind("0.0.0.0") == "unspecified");
  CHECK(kind("224.0.0.1") == "multicast");
  CHECK(kind("255.255.255.255") == "reserved");
  CHECK(kind("8.8.8.8").empty());
  CHECK(kind("93.184.216.34").empty());
  CHECK(kind("::1") == "loopback");
  CHECK(kind("::") == "unspecified");
  CHECK(kind("fe80::1") == "link-local");
  CHECK(kind("fd00::1") == "private");
  CHECK(kind("ff02::1") == "multicast");
  CHECK(kind("::ffff:10.0.0.1") == "private");
  CHECK(kind("::ffff:8.8.8.8").empty());
  CHECK(kind("64:ff9b::a9fe:a9fe") == "link-local");  // NAT64 of 169.254.169.254
  CHECK(kind("2002:7f00:1::") == "loopback");          // 6to4 of 127.0.0.1
  CHECK(kind("2606:4700::1111").empty());
}

TEST_CASE("add_image_url keeps the image and its URL; search_by_image_url finds it", "[url][db]") {
  if (!url_fetch_supported()) return;
  LoopbackServer s;
  UrlFetchOptions local;
  local.allow_private_addresses = true;
  const fs::path dir = fs::temp_directory_path() / "imgvec-db-url";
  fs::remove_all(dir);
  {
    auto db = VectorDatabase::create(dir.string(), std::make_shared<DescriptorEncoder>());
    CHECK_THROWS_AS(db->add_image_url(s.url("/photo.jpg")), Error);  // loopback, not allowed
    // A password in the URL fetches the image and is then forgotten: not in the record.
    const std::string with_password = "http://me:s3cret@127.0.0.1:" + std::to_string(s.port) + "/mislabelled";
    const AddResult p = db->add_image_url(with_password, {}, {}, local);
    const ImageRecord kept = *db->get(p.id);
    CHECK(std::get<std::string>(kept.metadata.at("url")) == "http://***@127.0.0.1:" + std::to_string(s.port) + "/mislabelled");
    CHECK(kept.source.find("s3cret") == std::string::npos);
    CHECK(db->remove(p.id));
    const AddResult r = db->add_image_url(s.url("/photo.jpg"), {{"album", std::string("web")}}, {}, local);
    CHECK(r.status == AddStatus::added);
    const ImageRecord rec = *db->get(r.id);
    CHECK(std::get<std::string>(rec.metadata.at("url")) == s.url("/photo.jpg"));
    CHECK(std::get<std::string>(rec.metadata.at("album")) == "web");
    CHECK(rec.photo.camera() == "Canon PowerShot S230");  // the EXIF came along
    CHECK(db->add_image_url(s.url("/photo.jpg"), {{"album", std::string("web")}}, {}, local).status ==
          AddStatus::unchanged);
    CHECK(db->search_by_image_url(s.url("/redirect"), 1, local).at(0).id == r.id);
    // Refusals leave the database as it was.
    std::string message;
    try {
      db->add_image_url(s.url("/page.jpg"), {}, {}, local);
    } catch (const Error& e) {
      message = e.what();
    }
    CHECK_THAT(message, Catch::Matchers::Contains("/page.jpg"));
    CHECK_THROWS_AS(db->add_image_url(s.url("/missing.jpg"), {}, {}, local), Error);
    CHECK(db->size() == 1);
    db->save();
  }
  fs::remove_all(dir);
}

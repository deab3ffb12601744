#include <catch2/catch.hpp>

#include "imgvec/detail/json_nesting.hpp"
#include "server/access_rules.hpp"
#include "server/http_support.hpp"
#include "imgvec/detail/lru_cache.hpp"
#include "server/vector_body.hpp"

// The pieces of imgvec serve that are plain functions; the endpoints themselves are tested end to
// end by server_test.py.
using namespace imgvec::server;

TEST_CASE("the vector fast path reads exactly what JSON would, or steps aside", "[server]") {
  const auto e = extract_vector(
      R"( {"limit": 3, "filter": "name=\"vector\": [9]", "vector" : [1, -2.5e-1 ,3E2], "x": {"vector": [7]}} )");
  REQUIRE(e);
  CHECK(e->values == std::vector<float>{1.0f, -0.25f, 300.0f});
  const json rest = json::parse(e->rest);
  CHECK(rest["vector"].is_null());
  CHECK(rest["limit"] == 3);
  CHECK(rest["x"]["vector"] == json::array({7}));
  CHECK(rest["filter"] == "name=\"vector\": [9]");
  // Nested "vector" keys and strings that look like one are not the member.
  CHECK_FALSE(extract_vector(R"({"x": {"vector": [1]}})"));
  CHECK_FALSE(extract_vector(R"({"x": "\"vector\": [1]"})"));
  // Anything unusual goes the ordinary way, which names the problem.
  for (const char* body :
       {"", "[1]", R"({"vector": []})", R"({"vector": [1, "a"]})", R"({"vector": [1,]})",
        R"({"vector": [01]})", R"({"vector": [1.]})", R"({"vector": [.5]})", R"({"vector": [1e]})",
        R"({"vector": [-]})", R"({"vector": [inf]})", R"({"vector": [1e999]})",
        R"({"vector": [nan]})", R"({"vector": [+1]})", R"({"vector": [1 2]})", R"({"vector": [1)",
        R"({"a": "b)", R"({"vector": [[1]]})"}) {
    INFO(body);
    CHECK_FALSE(extract_vector(body));
  }
}

TEST_CASE("the LRU cache keeps the most recently used within its capacity", "[server]") {
  imgvec::detail::LruCache<std::string, int> cache(3);
  cache.put("a", 1);
  cache.put("b", 2);
  cache.put("c", 3);
  CHECK(cache.get("a") == 1);  // a is now the most recent
  cache.put("d", 4);           // evicts b
  CHECK_FALSE(cache.get("b"));
  CHECK(cache.get("c") == 3);
  cache.put("big", 5, 4);  // costlier than the whole cache: not kept
  CHECK_FALSE(cache.get("big"));
  const auto counts = cache.counts();
  CHECK(counts.entries == 3);
  CHECK(counts.hits == 2);
  CHECK(counts.misses == 2);
}

TEST_CASE("keys compare in constant time and exactly", "[server]") {
  CHECK(constant_time_equal("s3cret", "s3cret"));
  CHECK_FALSE(constant_time_equal("s3cret", "s3cre"));
  CHECK_FALSE(constant_time_equal("s3cret", "s3cret!"));
  CHECK_FALSE(constant_time_equal("", "x"));
  CHECK_FALSE(constant_time_equal("s3cret", "S3cret"));
}

TEST_CASE("metadata from JSON keeps the types filters use, and refuses the rest by name",
          "[server]") {
  const auto m = metadata_from_json(
      json::parse(R"({"s": "x", "i": 3, "d": 0.5, "b": true, "l": ["p", "q"]})"));
  CHECK(std::get<std::string>(m.at("s")) == "x");
  CHECK(std::get<std::int64_t>(m.at("i")) == 3);
  CHECK(std::get<double>(m.at("d")) == 0.5);
  CHECK(std::get<bool>(m.at("b")));
  CHECK(std::get<std::vector<std::string>>(m.at("l")) == std::vector<std::string>{"p", "q"});
  for (const char* bad : {R"({"o": {}})", R"({"n": null})", R"({"l": [1]})",
                          R"({"u": 18446744073709551615})", "[]"}) {
    INFO(bad);
    // The wire's reader (one for the server, Python and imports); invalid_argument answers 400.
    try {
      metadata_from_json(json::parse(bad));
      FAIL("accepted");
    } catch (const imgvec::Error& e) {
      CHECK(e.code() == imgvec::ErrorCode::invalid_argument);
      CHECK_THAT(e.what(), Catch::Matchers::StartsWith("metadata"));
    }
  }
}

TEST_CASE("Host headers: this server's names and IP literals only", "[server][access]") {
  AccessRules rules{"127.0.0.1", {"photos.lan"}, {}};
  CHECK(host_of_header("LocalHost:8080") == "localhost");
  CHECK(host_of_header("[::1]:8080") == "::1");
  CHECK(host_of_header("[::1]") == "::1");
  CHECK(host_of_header("example.com@127.0.0.1").empty());
  CHECK(host_of_header("[::1]x").empty());
  CHECK(host_of_header("[evil.example]").empty());
  CHECK(host_of_header("a:b").empty());
  CHECK(host_of_header("").empty());
  for (const char* ok : {"localhost", "localhost:1", "127.0.0.1:8080", "[::1]:8080", "10.0.0.7", "photos.lan:80",
                         "PHOTOS.LAN"})
    CHECK(host_allowed(rules, ok));
  for (const char* refused : {"rebind.example", "rebind.example:8080", "localhost.evil.example", "photos.lan.evil",
                              "", "127.0.0.1 ", "x/y"})
    CHECK_FALSE(host_allowed(rules, refused));
  rules.allowed_hosts = {"*"};
  CHECK(host_allowed(rules, "anything.example"));
}

TEST_CASE("Origin: the server's own, or what --cors names", "[server][access]") {
  AccessRules rules{"127.0.0.1", {}, {"https://app.example"}};
  CHECK(judge_origin(rules, "", "localhost:8080") == OriginVerdict::absent);
  CHECK(judge_origin(rules, "http://localhost:8080", "localhost:8080") == OriginVerdict::same_origin);
  CHECK(judge_origin(rules, "http://LOCALHOST:8080", "localhost:8080") == OriginVerdict::same_origin);
  CHECK(judge_origin(rules, "http://localhost", "localhost:80") == OriginVerdict::same_origin);
  CHECK(judge_origin(rules, "http://localhost:8081", "localhost:8080") == OriginVerdict::refused);
  CHECK(judge_origin(rules, "http://127.0.0.1:8080", "localhost:8080") == OriginVerdict::refused);
  CHECK(judge_origin(rules, "null", "localhost:8080") == OriginVerdict::refused);
  CHECK(judge_origin(rules, "http://evil.example", "localhost:8080") == OriginVerdict::refused);
  CHECK(judge_origin(rules, "http://u@localhost:8080", "localhost:8080") == OriginVerdict::refused);
  CHECK(judge_origin(rules, "https://app.example", "localhost:8080") == OriginVerdict::cors_allowed);
  rules.cors_origins = {"*"};
  CHECK(judge_origin(rules, "http://evil.example", "localhost:8080") == OriginVerdict::cors_allowed);
}

TEST_CASE("Sec-Fetch-Site: other sites' requests only as navigations, unless --cors", "[server][access]") {
  AccessRules rules{"127.0.0.1", {}, {}};
  CHECK(fetch_site_allowed(rules, "", ""));
  CHECK(fetch_site_allowed(rules, "same-origin", "cors"));
  CHECK(fetch_site_allowed(rules, "none", "navigate"));
  CHECK(fetch_site_allowed(rules, "cross-site", "navigate"));
  CHECK_FALSE(fetch_site_allowed(rules, "cross-site", "no-cors"));
  CHECK_FALSE(fetch_site_allowed(rules, "same-site", "cors"));
  rules.cors_origins = {"https://app.example"};
  CHECK(fetch_site_allowed(rules, "cross-site", "no-cors"));
}

TEST_CASE("write tokens are 32 hex digits and differ", "[server][access]") {
  const std::string a = make_write_token(), b = make_write_token();
  CHECK(a.size() == 32);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
}

TEST_CASE("JSON nesting is counted on the bytes, outside strings", "[server][json]") {
  using imgvec::detail::json_too_deep_at;
  constexpr auto none = std::string_view::npos;
  CHECK(json_too_deep_at("[[1]]", 2) == none);
  CHECK(json_too_deep_at("[[[1]]]", 2) == 2);
  CHECK(json_too_deep_at("{\"a\":{\"b\":[1]}}", 2) == 10);
  CHECK(json_too_deep_at("[\"[[[[\", \"\\\"[[[\"]", 2) == none);  // brackets in strings, an escaped quote
  CHECK(json_too_deep_at("[][][][][]", 1) == none);                   // siblings are not depth
  CHECK(json_too_deep_at("]]]][[", 1) == 5);                          // stray closers do not go below 0
  const std::string deep = std::string(64, '[') + std::string(64, ']');
  CHECK(json_too_deep_at(deep) == none);
  CHECK(json_too_deep_at("[" + deep + "]") == 64);
  CHECK_THROWS_WITH(imgvec::detail::check_json_nesting("[" + deep + "]", "the body"),
                    Catch::Contains("the body") && Catch::Contains("deeper than 64"));
}

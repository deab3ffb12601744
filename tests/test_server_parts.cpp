#include <catch2/catch.hpp>

#include "server/http_support.hpp"
#include "server/lru_cache.hpp"
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
  LruCache<std::string, int> cache(3);
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
    CHECK_THROWS_AS(metadata_from_json(json::parse(bad)), HttpError);
  }
}

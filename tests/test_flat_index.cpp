#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "datasets.hpp"
#include "imgvec/error.hpp"
#include "imgvec/index/flat_index.hpp"

using namespace imgvec;
using imgvec::testing::clustered;
using imgvec::testing::iota_ids;

namespace {

std::vector<float> random_vector(std::size_t n, std::mt19937& rng) {
  std::normal_distribution<float> g;
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

// The expected score of `x` for `q` under `metric`, in double precision.
double ref_score(Metric metric, const float* q, const float* x, std::size_t d) {
  double dot = 0, qq = 0, xx = 0, l2 = 0;
  for (std::size_t i = 0; i < d; ++i) {
    dot += double(q[i]) * x[i];
    qq += double(q[i]) * q[i];
    xx += double(x[i]) * x[i];
    l2 += (double(q[i]) - x[i]) * (double(q[i]) - x[i]);
  }
  switch (metric) {
    case Metric::cosine: return dot / std::sqrt(qq * xx);
    case Metric::inner_product: return dot;
    case Metric::l2: return -l2;
  }
  return 0;
}

// Checks hits against a brute-force ranking of `data` (row i has id i).
void check_exact(const std::vector<SearchHit>& hits, Metric metric, const float* q,
                 const std::vector<float>& data, std::size_t d, std::size_t k,
                 const std::function<bool(Id)>& keep = nullptr, double min_score = -1e300) {
  std::vector<std::pair<double, Id>> ref;
  for (std::size_t r = 0; r < data.size() / d; ++r) {
    if (keep && !keep(r)) continue;
    double s = ref_score(metric, q, data.data() + r * d, d);
    if (s >= min_score) ref.push_back({s, r});
  }
  std::sort(ref.begin(), ref.end(), [](auto& a, auto& b) { return a.first > b.first; });
  REQUIRE(hits.size() == std::min(k, ref.size()));
  const double tol = 1e-4 * (1 + std::abs(ref.empty() ? 0 : ref[0].first));
  for (std::size_t i = 0; i < hits.size(); ++i) {
    CHECK(std::abs(hits[i].score - ref[i].first) < tol);
    CHECK(std::abs(hits[i].score - ref_score(metric, q, data.data() + hits[i].id * d, d)) < tol);
    if (metric == Metric::l2) {
      CHECK(hits[i].distance == Approx(-hits[i].score));
    } else {
      CHECK(hits[i].distance == Approx(1.0f - hits[i].score));
    }
    if (i > 0) CHECK(hits[i - 1].score >= hits[i].score);
  }
}

}  // namespace

TEST_CASE("flat index: add, replace, get, remove", "[index][flat]") {
  FlatIndex index(4, Metric::inner_product);
  CHECK(index.size() == 0);
  CHECK(index.kind() == IndexKind::flat);
  index.add(7, std::vector<float>{1, 2, 3, 4});
  index.add(9, std::vector<float>{0, 0, 0, 1});
  CHECK(index.size() == 2);
  CHECK(index.contains(7));
  CHECK(index.get_vector(7) == std::vector<float>{1, 2, 3, 4});
  index.add(7, std::vector<float>{4, 3, 2, 1});  // replaces
  CHECK(index.size() == 2);
  CHECK(index.get_vector(7) == std::vector<float>{4, 3, 2, 1});
  CHECK(index.remove(7));
  CHECK_FALSE(index.remove(7));
  CHECK_FALSE(index.contains(7));
  CHECK(index.get_vector(9) == std::vector<float>{0, 0, 0, 1});  // moved row still right
  CHECK_THROWS_MATCHES(index.get_vector(7), Error, Catch::Matchers::Message("id 7 is not in the index"));
  CHECK(index.ids() == std::vector<Id>{9});
}

TEST_CASE("flat index: cosine normalizes stored vectors and queries", "[index][flat]") {
  FlatIndex index(3, Metric::cosine);
  index.add(1, std::vector<float>{3, 0, 4});
  auto v = index.get_vector(1);
  CHECK(v[0] == Approx(0.6f));
  CHECK(v[2] == Approx(0.8f));
  auto hits = index.search(std::vector<float>{30, 0, 40});
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].score == Approx(1.0f));
  CHECK(hits[0].distance == Approx(0.0f).margin(1e-6));
}

TEST_CASE("flat index: search is exact for every metric", "[index][flat]") {
  std::mt19937 rng(3);
  for (Metric metric : {Metric::cosine, Metric::inner_product, Metric::l2}) {
    for (std::size_t d : {1, 3, 17, 128, 1000}) {
      INFO("metric " << to_string(metric) << " d=" << d);
      const std::size_t n = 777;
      auto data = random_vector(n * d, rng);
      FlatIndex index(d, metric);
      index.add_batch(iota_ids(n), MatrixView(data.data(), n, d));
      auto q = random_vector(d, rng);
      SearchParams p;
      p.k = 10;
      check_exact(index.search(q, p), metric, q.data(), data, d, 10);
    }
  }
}

TEST_CASE("flat index: batch search equals single searches", "[index][flat]") {
  std::mt19937 rng(5);
  for (Metric metric : {Metric::cosine, Metric::inner_product, Metric::l2}) {
    const std::size_t d = 96, n = 1003, nq = 137;  // remainders in every blocking dimension (3 panels)
    auto data = random_vector(n * d, rng);
    auto queries = random_vector(nq * d, rng);
    FlatIndex index(d, metric);
    index.add_batch(iota_ids(n), MatrixView(data.data(), n, d));
    SearchParams p;
    p.k = 15;
    for (std::size_t threads : {1, 2}) {
      index.set_threads(threads);
      auto batch = index.search_batch(MatrixView(queries.data(), nq, d), p);
      REQUIRE(batch.size() == nq);
      for (std::size_t i = 0; i < nq; ++i) {
        INFO("metric " << to_string(metric) << " threads " << threads << " query " << i);
        check_exact(batch[i], metric, queries.data() + i * d, data, d, p.k);
      }
    }
    // With a minimum score, the batched kernel path must apply it exactly too.
    SearchParams t(50);
    t.min_score = metric == Metric::l2 ? -150.0f : (metric == Metric::cosine ? 0.1f : 3.0f);
    index.set_threads(2);
    auto thresholded = index.search_batch(MatrixView(queries.data(), nq, d), t);
    for (std::size_t i = 0; i < nq; ++i) {
      INFO("metric " << to_string(metric) << " thresholded query " << i);
      check_exact(thresholded[i], metric, queries.data() + i * d, data, d, t.k, nullptr,
                  *t.min_score);
      CHECK(thresholded[i].size() == index.search(VectorView(queries.data() + i * d, d), t).size());
    }
  }
}

TEST_CASE("flat index: filtered searches are exact, batched or not, for allow lists and predicates",
          "[index][flat][filter]") {
  // The batch applies the filter once and scores the passing rows a block at a time; a single
  // query reads blocks where most rows pass whole: every result must be the exact top k among the
  // rows that pass.
  std::mt19937 rng(11);
  for (Metric metric : {Metric::cosine, Metric::inner_product, Metric::l2}) {
    const std::size_t d = 96, n = 1003, nq = 70;
    auto data = random_vector(n * d, rng);
    auto queries = random_vector(nq * d, rng);
    FlatIndex index(d, metric);
    index.add_batch(iota_ids(n), MatrixView(data.data(), n, d));
    REQUIRE(index.remove(8));  // its row is refilled by the last one: rows and ids differ after it
    auto keep = [](Id id) { return id % 7 == 1 || id % 11 == 3; };
    std::vector<Id> allowed;
    for (Id id = 0; id < n; ++id) {
      if (keep(id)) allowed.push_back(id);
    }
    allowed.push_back(8);      // removed
    allowed.push_back(n + 5);  // never added
    const Filter allow = Filter::allow(allowed);
    const Filter predicate = Filter::predicate(keep);
    const Filter none = Filter::allow({n + 1, n + 2});
    // Most rows: a single query reads such blocks whole instead of row by row.
    auto most = [](Id id) { return id % 5 != 0; };
    const Filter dense = Filter::predicate(most);
    for (const Filter* filter : {&allow, &predicate, &dense}) {
      auto stored = [&](Id id) { return id != 8 && (filter == &dense ? most(id) : keep(id)); };
      for (std::size_t threads : {1, 2}) {
        index.set_threads(threads);
        SearchParams p(12);
        p.filter = filter;
        auto batch = index.search_batch(MatrixView(queries.data(), nq, d), p);
        REQUIRE(batch.size() == nq);
        for (std::size_t i = 0; i < nq; ++i) {
          INFO("metric " << to_string(metric) << " threads " << threads << " query " << i);
          check_exact(batch[i], metric, queries.data() + i * d, data, d, p.k, stored);
          const auto one = index.search(VectorView(queries.data() + i * d, d), p);
          check_exact(one, metric, queries.data() + i * d, data, d, p.k, stored);
          CHECK(one.size() == batch[i].size());  // ids may swap where two scores nearly tie
        }
        p.min_score = metric == Metric::l2 ? -150.0f : (metric == Metric::cosine ? 0.1f : 3.0f);
        p.k = 200;
        auto thresholded = index.search_batch(MatrixView(queries.data(), nq, d), p);
        for (std::size_t i = 0; i < nq; ++i) {
          check_exact(thresholded[i], metric, queries.data() + i * d, data, d, p.k, stored, *p.min_score);
        }
      }
    }
    SearchParams p(5);
    p.filter = &none;
    for (const auto& hits : index.search_batch(MatrixView(queries.data(), nq, d), p)) CHECK(hits.empty());
  }
}

TEST_CASE("flat index: a large scan split across threads stays exact", "[index][flat]") {
  const std::size_t d = 512, n = 9000;  // above the threshold for a parallel single-query scan
  auto base = clustered(n, d, 1);
  FlatIndex index(d, Metric::inner_product);
  index.add_batch(iota_ids(n), base.view());
  auto q = clustered(1, d, 1, 9);
  index.set_threads(1);
  auto one = index.search(VectorView(q.row(0), d), {25});
  index.set_threads(2);
  auto two = index.search(VectorView(q.row(0), d), {25});
  REQUIRE(one.size() == 25);
  for (std::size_t i = 0; i < one.size(); ++i) {
    CHECK(one[i].id == two[i].id);
    CHECK(one[i].score == two[i].score);
  }
  check_exact(two, Metric::inner_product, q.row(0), base.data, d, 25);
}

TEST_CASE("flat index: equal scores rank by lower id", "[index][flat]") {
  FlatIndex index(2, Metric::inner_product);
  for (Id id : {50, 10, 40, 20, 30}) index.add(id, std::vector<float>{1, 1});
  auto hits = index.search(std::vector<float>{1, 0}, {3});
  REQUIRE(hits.size() == 3);
  CHECK(hits[0].id == 10);
  CHECK(hits[1].id == 20);
  CHECK(hits[2].id == 30);
}

TEST_CASE("flat index: filters and thresholds are exact", "[index][flat][filter]") {
  std::mt19937 rng(9);
  const std::size_t d = 32, n = 2000;
  auto data = random_vector(n * d, rng);
  FlatIndex index(d, Metric::cosine);
  index.add_batch(iota_ids(n), MatrixView(data.data(), n, d));
  auto q = random_vector(d, rng);

  auto keep = [](Id id) { return id % 7 == 3; };
  Filter pred = Filter::predicate(keep);
  std::vector<Id> allowed;
  for (Id i = 0; i < n; ++i) if (keep(i)) allowed.push_back(i);
  allowed.push_back(999999);  // unknown ids are ignored
  Filter allow = Filter::allow(allowed);
  for (const Filter* f : {&pred, &allow}) {
    SearchParams p;
    p.k = 20;
    p.filter = f;
    check_exact(index.search(q, p), Metric::cosine, q.data(), data, d, 20, keep);
  }

  auto all = index.search_threshold(q, 0.2f, n);
  check_exact(all, Metric::cosine, q.data(), data, d, n, nullptr, 0.2);
  CHECK(!all.empty());
  for (const auto& h : all) CHECK(h.score >= 0.2f);
  auto limited = index.search_threshold(q, 0.2f, 5);
  CHECK(limited.size() == std::min<std::size_t>(5, all.size()));
  CHECK(index.search_threshold(q, 1.5f, 10).empty());
}

TEST_CASE("flat index: bad input is rejected and changes nothing", "[index][flat][errors]") {
  FlatIndex index(4, Metric::cosine);
  index.add(1, std::vector<float>{1, 0, 0, 0});
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(index.add(2, std::vector<float>{1, 2, 3}),
                    Contains("id 2") && Contains("dimension 3") && Contains("4-d"));
  CHECK_THROWS_WITH(index.add(3, std::vector<float>{0, 0, 0, 0}), Contains("id 3") && Contains("zero"));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(index.add(4, std::vector<float>{1, nan, 0, 0}), Contains("non-finite"));
  CHECK_THROWS_WITH(index.search(std::vector<float>{1, 0}), Contains("query has dimension 2"));
  CHECK_THROWS_WITH(index.search(std::vector<float>{1, 0, 0, 0}, {0}), Contains("k must be"));
  try {
    index.add(5, std::vector<float>{1});
    FAIL("no exception");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
  }
  // A batch with one bad row stores none of its rows.
  std::vector<float> rows = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  CHECK_THROWS(index.add_batch(std::vector<Id>{10, 11, 12}, MatrixView(rows.data(), 3, 4)));
  CHECK(index.size() == 1);
  CHECK_FALSE(index.contains(10));
  CHECK_THROWS_AS(FlatIndex(0, Metric::l2), Error);
  CHECK_THROWS_WITH(Filter::predicate([](Id) { return true; }, 1.5), Contains("selectivity_hint"));
}

TEST_CASE("flat index: repeated ids in a batch keep the last row", "[index][flat]") {
  FlatIndex index(2, Metric::l2);
  std::vector<float> rows = {1, 1, 2, 2, 3, 3};
  index.add_batch(std::vector<Id>{5, 6, 5}, MatrixView(rows.data(), 3, 2));
  CHECK(index.size() == 2);
  CHECK(index.get_vector(5) == std::vector<float>{3, 3});
  auto hits = index.search(std::vector<float>{3, 3}, {1});
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].id == 5);
  CHECK(hits[0].distance == Approx(0.0f).margin(1e-6));
}

TEST_CASE("allow lists match exactly their ids, dense or sparse", "[index][filter]") {
  std::mt19937_64 rng(3);
  // Dense lists (as a database makes) use a bitmap, sparse ones a sorted search; both must agree
  // with a plain set, including ids just outside the list's range and at the ends of uint64.
  for (std::uint64_t spread : {1ull, 3ull, 64ull, 65ull, 1000ull, 1ull << 40}) {
    std::vector<Id> ids;
    const Id base = spread == (1ull << 40) ? ~0ull - 5000 * spread : 1000;
    for (int i = 0; i < 5000; ++i) ids.push_back(base + (rng() % 5000) * spread);
    if (spread == 1) ids.push_back(~0ull);  // far from the rest: no bitmap for this one
    const Filter f = Filter::allow(ids);
    const std::set<Id> want(ids.begin(), ids.end());
    INFO("spread " << spread);
    CHECK(f.allow_list()->size() == want.size());
    std::size_t wrong = 0;
    for (Id probe = base - 70; probe < base + 5001 * std::min<std::uint64_t>(spread, 70); ++probe) {
      wrong += f.matches(probe) != (want.count(probe) == 1);
    }
    for (Id id : ids) wrong += !f.matches(id);
    for (Id probe : {Id{0}, Id{~0ull}, Id{~0ull - 1}, Id{base - 1}, Id{*want.rbegin() + 1}}) {
      wrong += f.matches(probe) != (want.count(probe) == 1);
    }
    CHECK(wrong == 0);
  }
  const Filter none = Filter::allow({});
  CHECK_FALSE(none.matches(0));
  CHECK_FALSE(none.matches(~0ull));
}

TEST_CASE("a filter tested on many ids at once agrees with one id at a time", "[index][filter]") {
  // The exact scans test a predicate on every stored id in one call: each bit must be the single
  // test's answer, for counts that end inside a 64-bit word and for none, and every word is
  // written (stale bits in the caller's buffer must not survive).
  std::mt19937_64 rng(11);
  std::vector<Id> ids(1000);
  for (Id& id : ids) id = rng() % 3000;
  std::vector<Id> listed;
  for (Id id = 0; id < 3000; id += 7) listed.push_back(id);
  const Filter predicate = Filter::predicate([](Id id) { return id % 5 == 2; });
  const Filter dense = Filter::allow(listed);
  const Filter sparse = Filter::allow({3, Id{1} << 50, 2999});
  for (const Filter* f : {&predicate, &dense, &sparse}) {
    for (std::size_t count : {0, 1, 63, 64, 65, 1000}) {
      std::vector<std::uint64_t> bits((count + 63) / 64 + 1, ~0ull);  // one word past the end
      f->matches(ids.data(), count, bits.data());
      std::size_t wrong = 0;
      for (std::size_t i = 0; i < ((count + 63) / 64) * 64; ++i) {
        const bool bit = (bits[i / 64] >> (i % 64)) & 1u;
        wrong += bit != (i < count && f->matches(ids[i]));
      }
      INFO("count " << count);
      CHECK(wrong == 0);
      CHECK(bits.back() == ~0ull);  // nothing written past count / 64 words, rounded up
    }
  }
  // The bitmap an index tests in its walks says what matches() says, where there is one.
  CHECK(predicate.bitmap().words == nullptr);
  CHECK(sparse.bitmap().words == nullptr);
  const Filter::Bitmap b = dense.bitmap();
  REQUIRE(b.words != nullptr);
  std::size_t wrong = 0;
  for (Id id = 0; id < 3100; ++id) wrong += b.contains(id) != dense.matches(id);
  wrong += b.contains(~0ull) || b.contains(b.first - 1);
  CHECK(wrong == 0);
}

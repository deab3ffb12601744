#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "datasets.hpp"
#include "imgvec/error.hpp"
#include "imgvec/index/flat_index.hpp"
#include "imgvec/index/hnsw_index.hpp"

using namespace imgvec;
using namespace imgvec::testing;

// Run under ThreadSanitizer in CI (IMGVEC_TSAN=ON): readers on several threads while one thread
// writes; any data race fails the run.
TEST_CASE("searches run on several threads while another thread writes", "[concurrency]") {
  const std::size_t d = 32, n = 3000;
  auto base = clustered(2 * n, d, 21);
  auto queries = clustered(64, d, 21, 1);
  for (IndexKind kind : {IndexKind::flat, IndexKind::hnsw}) {
    INFO(to_string(kind));
    std::unique_ptr<Index> index;
    if (kind == IndexKind::flat) {
      index = std::make_unique<FlatIndex>(d, Metric::cosine);
    } else {
      HnswParams p;
      p.initial_capacity = 64;  // forces growth while readers run
      p.ef_construction = 40;   // keeps the build quick under ThreadSanitizer
      index = std::make_unique<HnswIndex>(d, Metric::cosine, p);
    }
    index->set_threads(2);
    index->add_batch(iota_ids(n), MatrixView(base.data.data(), n, d));

    std::atomic<bool> done{false};
    std::atomic<std::size_t> searches{0}, bad{0};
    auto reader = [&](std::size_t seed) {
      std::size_t q = seed;
      const Filter odd = Filter::predicate([](Id id) { return id % 2 == 1; });
      while (!done.load()) {
        q = (q + 1) % queries.rows;
        SearchParams p;
        p.k = 10;
        if (q % 3 == 0) p.filter = &odd;
        auto hits = index->search(VectorView(queries.row(q), d), p);
        if (hits.empty() || hits.size() > 10) ++bad;
        for (std::size_t i = 0; i < hits.size(); ++i) {
          if (hits[i].id >= 2 * n || (i && hits[i - 1].score < hits[i].score)) ++bad;
          if (p.filter && hits[i].id % 2 == 0) ++bad;
        }
        if (q % 64 == 0) index->search_batch(queries.view(), {5});
        try {
          index->get_vector(q);
        } catch (const Error&) {
          // removed by the writer in the meantime: fine
        }
        ++searches;
        std::this_thread::yield();  // leave the writer some CPU on small machines
      }
    };
    std::vector<std::thread> readers;
    for (std::size_t t = 0; t < 3; ++t) readers.emplace_back(reader, t * 20);
    // The writer lets the readers make progress before and between its writes, so reads and
    // writes interleave on any machine, however loaded.
    auto let_readers_run = [&] {
      const std::size_t target = searches.load() + 3;
      while (searches.load() < target) std::this_thread::yield();
    };
    let_readers_run();

    for (std::size_t i = n; i < 2 * n; i += 250) {
      index->add_batch(iota_ids(2 * n).data() + i, MatrixView(base.row(i), 250, d));
      index->remove(i - n);
      index->add(i - n, VectorView(base.row(i - n), d));
      let_readers_run();
    }
    for (Id id = 0; id < 500; ++id) index->remove(id);
    if (auto* hnsw = dynamic_cast<HnswIndex*>(index.get())) hnsw->compact();
    done = true;
    for (auto& t : readers) t.join();
    CHECK(bad.load() == 0);
    CHECK(searches.load() >= 3 * 13);
    CHECK(index->size() == 2 * n - 500);
  }
}

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <thread>

#include "datasets.hpp"
#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"
#include "imgvec/index/flat_index.hpp"
#include "imgvec/index/hnsw_index.hpp"
#include "temp_dir.hpp"

using namespace imgvec;
using namespace imgvec::testing;

// Run under ThreadSanitizer in CI (IMGVEC_TSAN=ON): readers on several threads while one thread
// writes; any data race fails the run.
TEST_CASE("searches run on several threads while another thread writes", "[concurrency]") {
  const std::size_t d = 32, n = 3000;
  auto base = clustered(2 * n, d, 21);
  auto queries = clustered(64, d, 21, 1);
  // HNSW twice: float32, and sq8, whose writes also retrain ranges and rewrite every record's codes.
  for (int variant = 0; variant < 4; ++variant) {
    const IndexKind kind = variant == 0 ? IndexKind::flat : IndexKind::hnsw;
    INFO(to_string(kind) << " variant " << variant);
    std::unique_ptr<Index> index;
    if (kind == IndexKind::flat) {
      index = std::make_unique<FlatIndex>(d, Metric::cosine);
    } else {
      HnswParams p;
      if (variant == 2) p.storage = VectorStorage::sq8;
      if (variant == 3) p.storage = VectorStorage::sq4;
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

    // The first batch is large enough (at least 1024 rows and a quarter of the index) for float32
    // HNSW to insert it on float16 copies of the records, on two threads, while the readers run.
    std::size_t writes = 0;
    for (std::size_t i = n, step = 1250; i < 2 * n; i += step, step = 250) {
      index->add_batch(iota_ids(2 * n).data() + i, MatrixView(base.row(i), step, d));
      index->remove(i - n);
      index->add(i - n, VectorView(base.row(i - n), d));
      ++writes;
      let_readers_run();
    }
    for (Id id = 0; id < 500; ++id) index->remove(id);
    if (auto* hnsw = dynamic_cast<HnswIndex*>(index.get())) hnsw->compact();
    done = true;
    for (auto& t : readers) t.join();
    CHECK(bad.load() == 0);
    CHECK(searches.load() >= 3 * (writes + 1));
    CHECK(index->size() == 2 * n - 500);
  }
}

// The database under concurrent use (run under ThreadSanitizer in CI): 4 threads search, plain
// and filtered, while one thread adds (with metadata and tags), removes, updates metadata and
// saves a fixed number of times. Every result must be complete: a record with its metadata and
// tags, matching the filter it was found with.
TEST_CASE("database searches on 4 threads while another thread adds, removes, updates and saves",
          "[concurrency][db]") {
  namespace fs = std::filesystem;
  TempDir dir;
  const fs::path images = fs::path(IMGVEC_TEST_DATA_DIR) / "images";
  const std::vector<std::string> sources = {"giphy.gif", "Iggy.256.ppm", "baboon.256.pgm", "ukbench00120_gray.jpg"};
  fs::create_directories(dir.path / "photos");
  auto db = VectorDatabase::create(dir.file("db"), std::make_shared<DescriptorEncoder>(), {});
  const Id first = db->add_image((images / sources[0]).string(), {{"batch", std::int64_t{0}}}, {"seed"});
  const std::vector<float> query = db->get_vector(first);
  SECTION("opened as created") {}
  SECTION("opened mapped: records read as readers ask for them, the index read whole by the first write") {
    for (std::size_t i = 1; i < sources.size(); ++i) {
      db->add_image((images / sources[i]).string(), {{"batch", std::int64_t(100 + i)}}, {"t"});
    }
    db->save();
    db.reset();
    OpenOptions mapped;
    mapped.map_index = true;
    db = VectorDatabase::open(dir.file("db"), std::make_shared<DescriptorEncoder>(), mapped);
  }

  std::atomic<bool> done{false};
  std::atomic<std::size_t> searches{0}, incomplete{0};
  auto searcher = [&](int seed) {
    SearchOptions plain(8);
    SearchOptions filtered(8);
    filtered.where = Where::parse("batch>=0") && Where::tag("t");
    while (!done.load()) {
      const bool use_filter = (searches.fetch_add(1) + static_cast<std::size_t>(seed)) % 2 == 0;
      for (const auto& hit : db->search_by_vector(query, use_filter ? filtered : plain)) {
        const bool complete = hit.record.id == hit.id && hit.record.metadata.count("batch") == 1 &&
                              !hit.record.tags.empty() && (!use_filter || filtered.where.matches(hit.record));
        if (!complete) incomplete.fetch_add(1);
      }
      db->get_stats();
    }
  };
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) readers.emplace_back(searcher, t);

  std::vector<Id> live = db->ids();
  for (int op = 1; op <= 40; ++op) {
    const std::string name = "p" + std::to_string(op) + "-" + sources[op % sources.size()];
    const fs::path path = dir.path / "photos" / name;
    fs::copy_file(images / sources[op % sources.size()], path);
    live.push_back(db->add_image(path.string(), {{"batch", std::int64_t{op}}}, {"t"}));
    if (op % 3 == 0) {
      db->update_metadata(live[live.size() / 2], {{"batch", std::int64_t{-op}}, {"note", std::string("x")}});
    }
    if (op % 5 == 0) {
      REQUIRE(db->remove(live.front()));
      live.erase(live.begin());
    }
    if (op % 8 == 0) db->save();
  }
  const auto batch = db->add_images_batch({(dir.path / "photos" / ("p40-" + sources[0])).string()},
                                          {{{"batch", std::int64_t{99}}}});
  CHECK(batch[0].status == AddStatus::unchanged);
  db->save();
  done = true;
  for (auto& r : readers) r.join();
  CHECK(searches.load() > 0);
  CHECK(incomplete.load() == 0);
  CHECK(db->size() == live.size());
  CHECK(std::get<std::int64_t>(db->get(batch[0].id)->metadata.at("batch")) == 99);
}

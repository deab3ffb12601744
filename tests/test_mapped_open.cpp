// Index::open_mapped: an HNSW file searched where it lies (issue 22, item 5). What users do with
// such an index: search it in every way a loaded one is searched, change it (which reads it whole
// first), save it, replace or delete its file while it is open; and what damage does: found when
// it is read, named with the file, nothing changed.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "datasets.hpp"
#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"
#include "imgvec/index/filter.hpp"
#include "imgvec/index/hnsw_index.hpp"
#include "error_of.hpp"
#include "index_bytes.hpp"
#include "temp_dir.hpp"

using namespace imgvec;
using namespace imgvec::testing;
using Catch::Matchers::Contains;

namespace {

constexpr std::size_t kRows = 3000, kDim = 24, kQueries = 25;

// An index with tombstones (every 7th of the first 700 ids removed), saved to `path`. Its ids
// are 0, 1, 2, ... times `spread`: spread out, they are found by a binary search of the file's
// table instead of a table indexed by id.
std::vector<Id> save_graph(const std::string& path, VectorStorage storage, Id spread = 1) {
  HnswParams p;
  p.storage = storage;
  HnswIndex index(kDim, Metric::cosine, p);
  std::vector<Id> ids = iota_ids(kRows);
  for (Id& id : ids) id *= spread;
  index.add_batch(ids, clustered(kRows, kDim, 5).view());
  std::vector<Id> removed;
  for (Id id = 0; id < 700 * spread; id += 7 * spread) {
    index.remove(id);
    removed.push_back(id);
  }
  index.save(path);
  return removed;
}

std::unique_ptr<HnswIndex> open_mapped(const std::string& path) {
  std::unique_ptr<Index> index = Index::open_mapped(path);
  REQUIRE(index->kind() == IndexKind::hnsw);
  return std::unique_ptr<HnswIndex>(static_cast<HnswIndex*>(index.release()));
}

void expect_same_hits(const std::vector<SearchHit>& a, const std::vector<SearchHit>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].id == b[i].id);
    CHECK(a[i].score == b[i].score);
  }
}

// Every kind of search gives the same results from both indexes.
void expect_same_searches(const Index& a, const Index& b) {
  const Dataset queries = clustered(kQueries, kDim, 5, 1);
  std::vector<Id> few, many;
  for (Id id = 0; id < kRows; ++id) {
    if (id % 97 == 3) few.push_back(id);       // ~1%: an exact scan
    if (id % 10 < 3) many.push_back(id);       // 30%: a filtered walk
  }
  const Filter few_ids = Filter::allow(few), many_ids = Filter::allow(many);
  const Filter odd = Filter::predicate([](Id id) { return id % 2 == 1; });
  for (std::size_t q = 0; q < queries.rows; ++q) {
    const VectorView v(queries.row(q), kDim);
    expect_same_hits(a.search(v, {10}), b.search(v, {10}));
    for (const Filter* f : {&few_ids, &many_ids, &odd}) {
      SearchParams p(10);
      p.filter = f;
      expect_same_hits(a.search(v, p), b.search(v, p));
    }
    SearchParams threshold(200);
    threshold.min_score = 0.5f;
    expect_same_hits(a.search(v, threshold), b.search(v, threshold));
  }
  const auto x = a.search_batch(queries.view(), {5}), y = b.search_batch(queries.view(), {5});
  REQUIRE(x.size() == y.size());
  for (std::size_t q = 0; q < x.size(); ++q) expect_same_hits(x[q], y[q]);
}


}  // namespace

TEST_CASE("a mapped HNSW index answers as the loaded one does", "[hnsw][mapped]") {
  TempDir dir;
  for (VectorStorage storage : {VectorStorage::float32, VectorStorage::float16, VectorStorage::sq8,
                                VectorStorage::sq4}) {
    INFO(to_string(storage));
    const std::string file = dir.file(std::string("graph-") + to_string(storage));
    const std::vector<Id> removed = save_graph(file, storage);
    const auto loaded = HnswIndex::load(file);
    const auto mapped = open_mapped(file);
    CHECK(mapped->mapped());
    CHECK_FALSE(loaded->mapped());
    CHECK(mapped->storage() == storage);
    CHECK(mapped->size() == kRows - removed.size());
    CHECK(mapped->tombstones() == removed.size());
    CHECK(mapped->ids() == loaded->ids());
    CHECK(mapped->contains(701));
    CHECK_FALSE(mapped->contains(removed[3]));
    CHECK_FALSE(mapped->contains(kRows));
    CHECK_FALSE(mapped->contains(~Id{0}));
    for (Id id : {Id{1}, Id{700}, Id{kRows - 1}}) CHECK(mapped->get_vector(id) == loaded->get_vector(id));
    CHECK(error_of([&] { mapped->get_vector(removed[1]); }) == ErrorCode::not_found);
    expect_same_searches(*mapped, *loaded);
    // The mapped file counts as memory (it is, once searches have read it): the stats a mapping
    // `imgvec stats` reports are those of a server that loads.
    CHECK(mapped->memory_bytes() == loaded->memory_bytes());
    CHECK(mapped->mapped());  // nothing above changed it
  }
}

TEST_CASE("a mapped index reads its file whole before its first change", "[hnsw][mapped]") {
  TempDir dir;
  const std::string file = dir.file("graph");
  save_graph(file, VectorStorage::float32);
  const std::vector<float> fresh(kDim, 0.25f);

  SECTION("an add") {
    auto mapped = open_mapped(file);
    auto loaded = HnswIndex::load(file);
    mapped->add(kRows + 5, fresh);
    loaded->add(kRows + 5, fresh);
    CHECK_FALSE(mapped->mapped());
    CHECK(mapped->contains(kRows + 5));
    CHECK(mapped->search(fresh, {1})[0].id == kRows + 5);
    expect_same_searches(*mapped, *loaded);
  }
  SECTION("an update, a removal, a compaction") {
    auto mapped = open_mapped(file);
    mapped->add(1, fresh);
    CHECK_FALSE(mapped->mapped());
    CHECK(mapped->get_vector(1)[0] == Approx(1 / std::sqrt(float(kDim))));
    auto again = open_mapped(file);
    CHECK(again->remove(701));
    CHECK_FALSE(again->contains(701));
    auto third = open_mapped(file);
    third->compact();
    CHECK_FALSE(third->mapped());
    CHECK(third->tombstones() == 0);
    CHECK(third->size() == again->size() + 1);
  }
  SECTION("a save of the untouched index writes the same graph and leaves it mapped") {
    auto mapped = open_mapped(file);
    mapped->set_ef_search(33);
    mapped->save(dir.file("copy"));
    CHECK(mapped->mapped());
    auto copy = HnswIndex::load(dir.file("copy"));
    CHECK(copy->params().ef_search == 33);
    expect_same_searches(*copy, *mapped);
  }
  SECTION("its file replaced by a save, or deleted, while it is open") {
    auto mapped = open_mapped(file);
    auto loaded = HnswIndex::load(file);
    HnswIndex other(kDim, Metric::cosine);
    other.add(42, fresh);
    other.save(file);  // by rename: the mapped bytes stay as they were
    expect_same_searches(*mapped, *loaded);
    std::filesystem::remove(file);
    expect_same_searches(*mapped, *loaded);
    mapped->add(kRows + 1, fresh);  // reads the mapped bytes whole, not the path
    CHECK(mapped->size() == loaded->size() + 1);
  }
}

TEST_CASE("damage in a mapped file is found where it is read, named, and changes nothing", "[hnsw][mapped][errors]") {
  TempDir dir;
  const std::string good = dir.file("good"), bad = dir.file("bad");
  save_graph(good, VectorStorage::float32);
  const std::string bytes = read_bytes(good);
  std::uint64_t stride;
  std::memcpy(&stride, bytes.data() + 96, 8);
  const std::size_t records = 168;  // the header (64), then 104 bytes of graph parameters
  const std::vector<float> fresh(kDim, 0.25f);
  std::string message;

  SECTION("a changed vector: the checksum, checked before the first change and by save") {
    std::string broken = bytes;
    broken[records + 5 * stride + 4 + 32 * 4 + 1] ^= 0x40;  // inside node 5's vector, not resealed
    write_bytes(bad, broken);
    CHECK(error_of([&] { Index::load(bad); }, &message) == ErrorCode::corrupt_file);
    CHECK_THAT(message, Contains("checksum"));
    auto mapped = open_mapped(bad);
    CHECK(mapped->search(fresh, {5}).size() == 5);
    CHECK(error_of([&] { mapped->remove(701); }, &message) == ErrorCode::corrupt_file);
    CHECK_THAT(message, Contains(bad) && Contains("checksum"));
    CHECK(mapped->mapped());
    CHECK(mapped->contains(701));
    CHECK(error_of([&] { mapped->save(dir.file("copy")); }) == ErrorCode::corrupt_file);
    CHECK_FALSE(std::filesystem::exists(dir.file("copy")));
    CHECK(mapped->search(fresh, {5}).size() == 5);
  }
  SECTION("base-layer links past the last node, or lists longer than the limit") {
    for (const bool too_long : {false, true}) {
      INFO((too_long ? "list sizes" : "links"));
      std::string broken = bytes;
      for (std::size_t i = 0; i < kRows; ++i) {
        char* list = broken.data() + records + i * stride;
        if (too_long) {
          const std::uint16_t size = 1000;
          std::memcpy(list, &size, 2);
        } else {
          const std::uint32_t far = 0x7fffffff;
          std::memcpy(list + 4, &far, 4);
        }
      }
      reseal(broken);
      write_bytes(bad, broken);
      CHECK(error_of([&] { Index::load(bad); }) == ErrorCode::corrupt_file);
      auto mapped = open_mapped(bad);
      CHECK(error_of([&] { mapped->search(fresh, {5}); }, &message) == ErrorCode::corrupt_file);
      CHECK_THAT(message, Contains(bad) && Contains("damaged links"));
      CHECK(mapped->contains(701));  // the label table is intact
      CHECK(error_of([&] { mapped->add(kRows + 1, fresh); }) == ErrorCode::corrupt_file);
      CHECK(mapped->mapped());
    }
  }
  SECTION("a label table that names nodes past the last, or is out of order") {
    const std::size_t live = kRows - 100;
    const std::size_t by_label = bytes.size() - live * sizeof(std::uint32_t);
    std::string broken = bytes;
    std::memset(broken.data() + by_label, 0xff, live * sizeof(std::uint32_t));
    reseal(broken);
    write_bytes(bad, broken);
    CHECK(error_of([&] { Index::load(bad); }, &message) == ErrorCode::corrupt_file);
    CHECK_THAT(message, Contains("label table"));
    auto mapped = open_mapped(bad);
    // Dense ids are found through the ids in node order (intact here), not this table.
    CHECK(mapped->contains(701));
    CHECK_FALSE(mapped->contains(kRows));
    CHECK(error_of([&] { mapped->ids(); }, &message) == ErrorCode::corrupt_file);
    CHECK_THAT(message, Contains(bad) && Contains("label table"));
    // Spread-out ids are found by a binary search of it, which finds the damage.
    const std::string spread_good = dir.file("spread"), spread_bad = dir.file("spread-bad");
    save_graph(spread_good, VectorStorage::float32, 1000);
    std::string spread_broken = read_bytes(spread_good);
    REQUIRE(spread_broken.size() == bytes.size());
    std::memset(spread_broken.data() + by_label, 0xff, live * sizeof(std::uint32_t));
    reseal(spread_broken);
    write_bytes(spread_bad, spread_broken);
    auto spread = open_mapped(spread_bad);
    CHECK(error_of([&] { spread->contains(701000); }, &message) == ErrorCode::corrupt_file);
    CHECK_THAT(message, Contains(spread_bad) && Contains("label table"));
    CHECK(open_mapped(spread_good)->contains(701000));

    broken = bytes;
    std::swap_ranges(broken.data() + by_label, broken.data() + by_label + 4, broken.data() + by_label + 40);
    reseal(broken);
    write_bytes(bad, broken);
    CHECK(error_of([&] { Index::load(bad); }, &message) == ErrorCode::corrupt_file);
    CHECK_THAT(message, Contains("label table"));
    auto unordered = open_mapped(bad);
    CHECK(unordered->search(fresh, {5}).size() == 5);  // finding ids may miss; nothing unsafe
    CHECK(error_of([&] { unordered->add(kRows + 1, fresh); }) == ErrorCode::corrupt_file);
  }
  SECTION("a file cut short, or with bytes after the table") {
    for (const std::string& changed : {bytes.substr(0, bytes.size() - 4), bytes + std::string(8, '\0')}) {
      std::string broken = changed;
      reseal(broken);
      write_bytes(bad, broken);
      CHECK(error_of([&] { Index::open_mapped(bad); }) == ErrorCode::corrupt_file);
      CHECK(error_of([&] { Index::load(bad); }) == ErrorCode::corrupt_file);
    }
    write_bytes(bad, "");
    CHECK(error_of([&] { Index::open_mapped(bad); }) == ErrorCode::corrupt_file);
    CHECK(error_of([&] { Index::open_mapped(dir.file("missing")); }) == ErrorCode::not_found);
    CHECK(error_of([&] { Index::open_mapped(dir.path.string()); }) == ErrorCode::invalid_argument);
  }
}

TEST_CASE("an HNSW file of format 1 (no label table) still loads, mapped or not", "[hnsw][mapped][versions]") {
  TempDir dir;
  const std::string file = dir.file("graph"), old = dir.file("old");
  save_graph(file, VectorStorage::float32);
  std::string bytes = read_bytes(file);
  bytes.resize(hnsw_graph_end(bytes));  // float32: nothing between the graph and the table
  bytes[8] = 1;
  reseal(bytes);
  write_bytes(old, bytes);
  const auto current = HnswIndex::load(file);
  const auto loaded = HnswIndex::load(old);
  expect_same_searches(*loaded, *current);
  const auto mapped = open_mapped(old);
  CHECK_FALSE(mapped->mapped());  // read whole: without the table an open would read every record
  expect_same_searches(*mapped, *current);
}

TEST_CASE("a database opened with map_index searches as a plain open does, and changes as one", "[db][mapped]") {
  TempDir t;
  const std::string dir = t.file("db");
  const std::string images = std::string(IMGVEC_TEST_DATA_DIR) + "/images/";
  std::vector<Id> ids;
  {
    DatabaseOptions options;
    options.durability = Durability::on_write;
    auto db = VectorDatabase::create(dir, std::make_shared<DescriptorEncoder>(), options);
    for (const char* name : {"giphy.gif", "Iggy.256.ppm", "baboon.256.pgm", "ukbench01380.jpg"}) {
      ids.push_back(db->add_image(images + name));
    }
    db->save();
    ids.push_back(db->add_image(images + "ukbench09060.jpg"));  // logged, not saved
  }
  auto results = [&](const VectorDatabase& db) {
    std::vector<std::pair<Id, float>> out;
    for (const Id id : ids) {
      Query q;
      q.positive.push_back(QueryExample::of_id(id));
      SearchOptions o;
      o.k = 3;
      for (const SearchResult& r : db.search(q, o)) {
        CHECK(r.id != id);  // the example itself is not a result
        out.emplace_back(r.id, r.score);
      }
    }
    return out;
  };
  OpenOptions plain, mapped;
  mapped.map_index = true;
  // The log's add is replayed into the mapped index: it is read whole first.
  const auto expected = results(*VectorDatabase::open(dir, plain));  // saves the log away on close
  CHECK(expected.size() == ids.size() * 3);
  {
    auto db = VectorDatabase::open(dir, mapped);
    CHECK(results(*db) == expected);
    // Pages leave the example out too: the second page starts where the first ended.
    Query q;
    q.positive.push_back(QueryExample::of_id(ids[1]));
    SearchOptions first, second;
    first.k = 3;
    second.k = 2;
    second.offset = 1;
    const auto whole = db->search(q, first), page = db->search(q, second);
    REQUIRE(whole.size() == 3);
    REQUIRE(page.size() == 2);
    CHECK(page[0].id == whole[1].id);
    CHECK(page[1].id == whole[2].id);
    CHECK(db->size() == ids.size());
    db->remove(ids[0]);
    ids.erase(ids.begin());
    db->save();
  }
  const auto saved = results(*VectorDatabase::open(dir, plain));
  auto again = VectorDatabase::open(dir, mapped);
  CHECK(again->size() == ids.size());
  CHECK(results(*again) == saved);
}

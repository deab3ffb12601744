#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <thread>

#include "datasets.hpp"
#include "imgvec/error.hpp"
#include "imgvec/index/flat_index.hpp"
#include "imgvec/index/hnsw_index.hpp"
#include "io/binary_io.hpp"
#include "index/index_file.hpp"
#include "index_bytes.hpp"
#include "temp_dir.hpp"

using namespace imgvec;
using namespace imgvec::testing;
namespace fs = std::filesystem;

namespace {

ErrorCode load_error(const std::string& path, std::string* message = nullptr) {
  try {
    Index::load(path);
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  FAIL("loading " << path << " did not throw");
  return ErrorCode::invalid_argument;
}

void expect_same_results(const Index& a, const Index& b, const Dataset& queries) {
  REQUIRE(a.size() == b.size());
  REQUIRE(a.dimension() == b.dimension());
  REQUIRE(a.metric() == b.metric());
  REQUIRE(a.kind() == b.kind());
  for (std::size_t q = 0; q < queries.rows; ++q) {
    VectorView v(queries.row(q), queries.dim);
    auto x = a.search(v, {10}), y = b.search(v, {10});
    REQUIRE(x.size() == y.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      CHECK(x[i].id == y[i].id);
      CHECK(x[i].score == y[i].score);
    }
  }
}

std::unique_ptr<Index> small_index(IndexKind kind, std::size_t n = 300, std::size_t d = 16) {
  auto base = clustered(n, d, 77);
  std::unique_ptr<Index> index;
  if (kind == IndexKind::flat) {
    index = std::make_unique<FlatIndex>(d, Metric::cosine);
  } else {
    index = std::make_unique<HnswIndex>(d, Metric::cosine);
  }
  index->add_batch(iota_ids(n), base.view());
  for (Id id = 0; id < n; id += 10) index->remove(id);  // tombstones must survive a round trip
  return index;
}

}  // namespace

TEST_CASE("save and load give identical results", "[io]") {
  TempDir dir;
  auto queries = clustered(30, 16, 77, 3);
  for (IndexKind kind : {IndexKind::flat, IndexKind::hnsw}) {
    INFO(to_string(kind));
    auto index = small_index(kind);
    const std::string path = dir.file(std::string(to_string(kind)) + ".idx");
    index->save(path);
    auto loaded = Index::load(path);
    expect_same_results(*index, *loaded, queries);
    CHECK(loaded->ids() == index->ids());
    const Filter every_third = Filter::predicate([](Id id) { return id % 3 == 0; });
    SearchParams filtered(5);
    filtered.filter = &every_third;
    for (std::size_t q = 0; q < queries.rows; ++q) {
      auto x = index->search(VectorView(queries.row(q), 16), filtered);
      auto y = loaded->search(VectorView(queries.row(q), 16), filtered);
      REQUIRE(x.size() == y.size());
      for (std::size_t i = 0; i < x.size(); ++i) {
        CHECK(x[i].id == y[i].id);
        CHECK(y[i].id % 3 == 0);
      }
    }
    // The loaded index keeps working: adds, removes, saves again.
    loaded->add(100000, VectorView(queries.row(0), 16));
    CHECK(loaded->search(VectorView(queries.row(0), 16), {1})[0].id == 100000);
    loaded->save(path);
    CHECK(Index::load(path)->size() == index->size() + 1);
  }
  auto hnsw = HnswIndex::load(dir.file("hnsw.idx"));
  CHECK(hnsw->params().M == 16);
  CHECK(hnsw->tombstones() == 30);
  auto flat = FlatIndex::load(dir.file("flat.idx"), 16);
  CHECK(flat->size() == 271);
  // No temporary files are left behind.
  std::size_t files = 0;
  for (auto& e : fs::directory_iterator(dir.path)) files += e.is_regular_file();
  CHECK(files == 2);
}

TEST_CASE("a saved HNSW graph is renumbered breadth-first and searches the same", "[io][hnsw]") {
  TempDir dir;
  auto queries = clustered(30, 16, 77, 3);
  for (VectorStorage storage : {VectorStorage::float32, VectorStorage::sq8, VectorStorage::sq4}) {
    INFO(to_string(storage));
    auto base = clustered(500, 16, 78);
    HnswParams params;
    params.storage = storage;
    HnswIndex index(16, Metric::cosine, params);
    // Ids in reverse, so that insertion order and id order differ from the breadth-first order.
    std::vector<Id> ids(500);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = 10000 - i;
    index.add_batch(ids, base.view());
    for (std::size_t i = 0; i < ids.size(); i += 7) index.remove(ids[i]);
    const std::string path = dir.file("graph.idx");
    index.save(path);
    auto loaded = HnswIndex::load(path);
    expect_same_results(index, *loaded, queries);
    CHECK(loaded->tombstones() == index.tombstones());

    // The file's graph: the entry point is node 0 and its neighbours are nodes 1, 2, ... in the
    // order of its list (hnswlib's header is 96 bytes after imgvec's 64 and the 8-byte ef).
    const std::string bytes = read_bytes(path);
    std::uint32_t entry = 0;
    std::memcpy(&entry, bytes.data() + 72 + 52, sizeof entry);
    CHECK(entry == 0);
    const char* first = bytes.data() + 72 + 96;
    std::uint16_t links = 0;
    std::memcpy(&links, first, sizeof links);
    REQUIRE(links > 0);
    for (std::uint32_t j = 0; j < links; ++j) {
      std::uint32_t node = 0;
      std::memcpy(&node, first + 4 + 4 * j, sizeof node);
      CHECK(node == j + 1);
    }
    // Renumbering a renumbered graph changes nothing: a load and save reproduces the file.
    loaded->save(dir.file("again.idx"));
    CHECK(read_bytes(dir.file("again.idx")) == bytes);
  }
}

TEST_CASE("empty indexes round-trip", "[io]") {
  TempDir dir;
  HnswIndex hnsw(8, Metric::l2);
  hnsw.save(dir.file("h"));
  CHECK(Index::load(dir.file("h"))->size() == 0);
  FlatIndex flat(8, Metric::inner_product);
  flat.save(dir.file("f"));
  auto loaded = Index::load(dir.file("f"));
  CHECK(loaded->size() == 0);
  CHECK(loaded->metric() == Metric::inner_product);
}

// Regression: a saved empty HNSW loaded with room for one node over a buffer for none, so the
// first add wrote past it (segfault; abort with float16). A 1-node update called memcpy with null.
TEST_CASE("empty indexes of every kind and storage save, load, and take adds, updates and removes",
          "[io][lifecycle]") {
  TempDir dir;
  const std::size_t d = 16;
  auto vec = [&](float x) {
    std::vector<float> v(d, 0.1f);
    v[0] = x;
    return v;
  };
  for (int variant = 0; variant < 5; ++variant) {
    INFO("variant " << variant);
    std::unique_ptr<Index> fresh;
    if (variant == 0) fresh = std::make_unique<FlatIndex>(d, Metric::cosine);
    HnswParams p;
    if (variant == 2) p.storage = VectorStorage::float16;
    if (variant == 3) p.storage = VectorStorage::sq8;
    if (variant == 4) p.storage = VectorStorage::sq4;
    if (variant > 0) fresh = std::make_unique<HnswIndex>(d, Metric::cosine, p);
    const std::string path = dir.file("empty-" + std::to_string(variant));
    fresh->save(path);
    auto index = Index::load(path, d);
    REQUIRE(index->size() == 0);
    CHECK(index->search(vec(1), 3).empty());
    index->add(7, vec(1));  // the first add into a loaded empty index
    CHECK(index->size() == 1);
    index->add(7, vec(-1));  // updating the only element
    CHECK(index->size() == 1);
    CHECK(index->search(vec(-1), 1).at(0).id == 7);
    CHECK(index->remove(7));
    CHECK(index->size() == 0);
    CHECK(index->search(vec(1), 3).empty());
    for (Id id = 1; id <= 50; ++id) index->add(id, vec(static_cast<float>(id)));
    CHECK(index->size() == 50);
    index->save(path);
    auto again = Index::load(path, d);
    CHECK(again->size() == 50);
    again->add(51, vec(-51));
    CHECK(again->search(vec(-51), 1).at(0).id == 51);
  }
}

TEST_CASE("damaged files are refused with a clear error", "[io][errors]") {
  TempDir dir;
  const IndexKind kind = GENERATE(IndexKind::flat, IndexKind::hnsw);
  {
    INFO(to_string(kind));
    const std::string good = dir.file("good");
    const std::string bad = dir.file("bad");
    small_index(kind, 60, 8)->save(good);
    const std::string bytes = read_bytes(good);
    std::string msg;

    SECTION("truncated anywhere") {
      for (std::size_t cut : {std::size_t{0}, std::size_t{7}, std::size_t{10}, std::size_t{63},
                              std::size_t{64}, std::size_t{70}, bytes.size() / 2, bytes.size() - 1}) {
        write_bytes(bad, bytes.substr(0, cut));
        INFO("cut at " << cut);
        CHECK(load_error(bad, &msg) == ErrorCode::corrupt_file);
        CHECK_THAT(msg, Catch::Matchers::Contains(bad) && Catch::Matchers::Contains("truncated"));
      }
    }
    SECTION("a flipped bit anywhere") {
      for (std::size_t at = 0; at < bytes.size(); at += (at < 64 ? 1 : 5)) {
        std::string flipped = bytes;
        flipped[at] = static_cast<char>(flipped[at] ^ (1 << (at % 8)));
        write_bytes(bad, flipped);
        INFO("flip at " << at);
        const ErrorCode code = load_error(bad, &msg);
        CHECK((code == ErrorCode::corrupt_file || code == ErrorCode::unsupported));
        CHECK_THAT(msg, Catch::Matchers::StartsWith(bad));
      }
    }
    SECTION("wrong magic") {
      std::string other = bytes;
      std::memcpy(other.data(), "GGUF\0\0\0\0", 8);
      write_bytes(bad, other);
      CHECK(load_error(bad, &msg) == ErrorCode::corrupt_file);
      CHECK_THAT(msg, Catch::Matchers::Contains("not an imgvec index file"));
      write_bytes(bad, "hello");
      CHECK(load_error(bad, &msg) == ErrorCode::corrupt_file);
    }
    SECTION("a newer format version") {
      std::string newer = bytes;
      newer[8] = 3;
      reseal(newer);
      write_bytes(bad, newer);
      CHECK(load_error(bad, &msg) == ErrorCode::unsupported);
      CHECK_THAT(msg, Catch::Matchers::Contains("newer imgvec"));
    }
    SECTION("wrong dimension") {
      CHECK_THROWS_MATCHES(Index::load(good, 512), Error,
                           Catch::Matchers::Predicate<Error>(
                               [](const Error& e) { return e.code() == ErrorCode::incompatible; }));
      CHECK_THROWS_WITH(Index::load(good, 512), Catch::Matchers::Contains("8-d vectors, expected 512"));
      // A header that claims another dimension, correctly checksummed, still fails the size checks.
      std::string other = bytes;
      other[16] = 9;
      reseal(other);
      write_bytes(bad, other);
      CHECK(load_error(bad, &msg) == ErrorCode::corrupt_file);
    }
    SECTION("a storage type the file's layout or kind does not hold") {
      std::string other = bytes;
      other[14] = 2;  // float16: a flat index never holds it, and the HNSW records are float32-sized
      reseal(other);
      write_bytes(bad, other);
      if (kind == IndexKind::flat) {
        CHECK(load_error(bad, &msg) == ErrorCode::unsupported);
        CHECK_THAT(msg, Catch::Matchers::Contains("flat indexes hold float32 only"));
      } else {
        CHECK(load_error(bad, &msg) == ErrorCode::corrupt_file);
        CHECK_THAT(msg, Catch::Matchers::Contains("float16 storage"));
      }
      other[14] = 5;  // no storage has this number
      reseal(other);
      write_bytes(bad, other);
      CHECK(load_error(bad, &msg) == ErrorCode::unsupported);
      CHECK_THAT(msg, Catch::Matchers::Contains("scalar type 5"));
    }
    SECTION("the wrong kind for a typed load") {
      if (kind == IndexKind::flat) {
        CHECK_THROWS_WITH(HnswIndex::load(good), Catch::Matchers::Contains("holds a flat index, expected hnsw"));
      } else {
        CHECK_THROWS_WITH(FlatIndex::load(good), Catch::Matchers::Contains("holds a hnsw index, expected flat"));
      }
    }
  }
}

TEST_CASE("a checksummed HNSW file with a broken graph is refused", "[io][errors][hnsw]") {
  TempDir dir;
  auto index = small_index(IndexKind::hnsw, 60, 8);
  index->save(dir.file("good"));
  const std::string bytes = read_bytes(dir.file("good"));
  // Payload: 8 bytes ef_search, 96 bytes of hnswlib parameters, then the base-layer records.
  const std::size_t records = 64 + 8 + 96;
  std::string broken = bytes;
  const std::uint32_t far = 1000000;
  std::memcpy(broken.data() + records + 4, &far, 4);  // first link of element 0
  std::uint16_t links = 1;
  std::memcpy(broken.data() + records, &links, 2);
  reseal(broken);
  write_bytes(dir.file("bad"), broken);
  std::string msg;
  CHECK(load_error(dir.file("bad"), &msg) == ErrorCode::corrupt_file);
  CHECK_THAT(msg, Catch::Matchers::Contains("links to missing node 1000000"));

  broken = bytes;
  const std::uint16_t too_many = 999;
  std::memcpy(broken.data() + records, &too_many, 2);
  reseal(broken);
  write_bytes(dir.file("bad"), broken);
  CHECK(load_error(dir.file("bad"), &msg) == ErrorCode::corrupt_file);
  CHECK_THAT(msg, Catch::Matchers::Contains("999 links"));
}

TEST_CASE("missing files and bad paths", "[io][errors]") {
  TempDir dir;
  CHECK(load_error(dir.file("nope")) == ErrorCode::not_found);
  std::string msg;
  load_error(dir.path.string(), &msg);
  CHECK_THAT(msg, Catch::Matchers::Contains("not a regular file"));
  FlatIndex index(4, Metric::l2);
  CHECK_THROWS_MATCHES(index.save(dir.file("no/such/dir/x.idx")), Error,
                       Catch::Matchers::Predicate<Error>(
                           [](const Error& e) { return e.code() == ErrorCode::io; }));
}

TEST_CASE("a save killed at any moment leaves the old file or the new one", "[io][crash]") {
  TempDir dir;
  const std::string path = dir.file("index");
  const std::size_t d = 64;
  auto base = clustered(20000, d, 4);
  FlatIndex big(d, Metric::l2);
  big.add_batch(iota_ids(20000), base.view());
  FlatIndex small(d, Metric::l2);
  small.add_batch(iota_ids(100), MatrixView(base.data.data(), 100, d));
  small.save(path);
  std::mt19937 rng(1);
  for (int round = 0; round < 12; ++round) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (;;) {
        big.save(path);
        small.save(path);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 40));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    auto loaded = Index::load(path);
    INFO("round " << round);
    CHECK((loaded->size() == 100 || loaded->size() == 20000));
  }
}

// A writer that renames a new file into place would replace whatever is at the path: the user's
// FIFO, /dev/null, or a symbolic link (issue 19). Those are written in place or refused.
TEST_CASE("writers fill FIFOs and devices in place and never replace a link or a folder", "[io][errors]") {
  TempDir dir;
  auto write = [](const std::string& path, const std::string& text) {
    detail::AtomicFileWriter out(path);
    out.write(text.data(), text.size());
    out.commit();
  };
  auto read = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  // A FIFO, read by another thread: gets the bytes, and is still a FIFO afterwards.
  const fs::path fifo = dir.path / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string got;
  std::thread reader([&] { got = read(fifo); });
  write(fifo.string(), "through the pipe");
  reader.join();
  CHECK(got == "through the pipe");
  CHECK(fs::is_fifo(fifo));
  // /dev/null, directly and behind a link: still the device.
  write("/dev/null", "gone");
  CHECK(fs::is_character_file("/dev/null"));
  const fs::path to_null = dir.path / "null-link";
  fs::create_symlink("/dev/null", to_null);
  write(to_null.string(), "gone too");
  CHECK(fs::is_symlink(to_null));
  // A link to a file, a dangling link and a folder are refused, and left as they were.
  write((dir.path / "real.txt").string(), "mine");
  const fs::path link = dir.path / "link.txt";
  fs::create_symlink(dir.path / "real.txt", link);
  CHECK_THROWS_WITH(write(link.string(), "theirs"), Catch::Contains("symbolic link"));
  CHECK(fs::is_symlink(link));
  CHECK(read(dir.path / "real.txt") == "mine");
  fs::create_symlink(dir.path / "nowhere", dir.path / "dangling");
  CHECK_THROWS_AS(write((dir.path / "dangling").string(), "x"), Error);
  CHECK(fs::is_symlink(dir.path / "dangling"));
  fs::create_directory(dir.path / "folder");
  CHECK_THROWS_WITH(write((dir.path / "folder").string(), "x"), Catch::Contains("not a regular file"));
  CHECK(fs::is_directory(dir.path / "folder"));
  // An index save (written in two passes) into a FIFO is refused by name, not half written.
  FlatIndex index(4, Metric::l2);
  const float v[4] = {1, 0, 0, 0};
  index.add(1, VectorView(v, 4));
  CHECK_THROWS_WITH(index.save(to_null.string()), Catch::Contains("two passes"));
  // No temporaries left behind by any of it.
  for (const auto& entry : fs::directory_iterator(dir.path))
    CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
}

TEST_CASE("a checksummed sq8 HNSW file with bad ranges or a non-finite vector is refused",
          "[io][errors][hnsw][sq8]") {
  TempDir dir;
  constexpr std::size_t n = 60, d = 8;
  HnswParams p;
  p.storage = VectorStorage::sq8;
  HnswIndex index(d, Metric::cosine, p);
  index.add_batch(iota_ids(n), clustered(n, d, 77).view());
  index.save(dir.file("good"));
  const std::string bytes = read_bytes(dir.file("good"));
  REQUIRE(Index::load(dir.file("good"))->size() == n);
  // The quantizer follows the graph: trained_on, then lo[d] and step[d] as floats.
  const std::size_t step_at = hnsw_graph_end(bytes) + sizeof(std::uint64_t) + d * sizeof(float);
  std::string msg;
  for (float bad : {0.0f, -1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), 1e30f}) {
    INFO("step " << bad);
    std::string broken = bytes;
    std::memcpy(broken.data() + step_at + 3 * sizeof(float), &bad, sizeof bad);
    reseal(broken);
    write_bytes(dir.file("bad"), broken);
    CHECK(load_error(dir.file("bad"), &msg) == ErrorCode::corrupt_file);
    CHECK_THAT(msg, Catch::Matchers::Contains("sq8 range of dimension 3 is invalid"));
  }
  // Element 0's float16 copy follows its links (4 + 32 * 4 bytes), codes (8) and two floats.
  const std::size_t records = 64 + 8 + 96;
  std::string broken = bytes;
  const std::uint16_t infinity = 0x7c00;
  std::memcpy(broken.data() + records + 4 + 32 * 4 + 8 + 8 + 2 * 5, &infinity, 2);
  reseal(broken);
  write_bytes(dir.file("bad"), broken);
  CHECK(load_error(dir.file("bad"), &msg) == ErrorCode::corrupt_file);
  CHECK_THAT(msg, Catch::Matchers::Contains("element 0 holds a non-finite value"));
  // So is a non-finite correction after the codes.
  broken = bytes;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(broken.data() + records + 4 + 32 * 4 + 8 + 4, &nan, 4);
  reseal(broken);
  write_bytes(dir.file("bad"), broken);
  CHECK(load_error(dir.file("bad"), &msg) == ErrorCode::corrupt_file);
  CHECK_THAT(msg, Catch::Matchers::Contains("element 0 holds a non-finite value"));
  // Codes are any bytes: garbage codes with a valid seal load, and searches still return the
  // records' true scores (the re-rank reads the float16 copies).
  broken = bytes;
  std::memset(broken.data() + records + 4 + 32 * 4, 0xff, 8);
  reseal(broken);
  write_bytes(dir.file("bad"), broken);
  auto garbled = Index::load(dir.file("bad"));
  const auto query = clustered(1, d, 77, 1);
  for (const SearchHit& h : garbled->search(VectorView(query.row(0), d), {5})) {
    const auto truth = index.search(VectorView(query.row(0), d), {n});
    for (const SearchHit& t : truth) {
      if (t.id == h.id) CHECK(t.score == h.score);
    }
  }
}

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "database/write_ahead_log.hpp"
#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

// Durability::on_write: every acknowledged change survives a process that never saves, a torn
// last write, a crash between a save's log rotation and its manifest switch, and SIGKILL.
using namespace imgvec;
namespace fs = std::filesystem;
using imgvec::testing::TempDir;

namespace {

std::shared_ptr<Encoder> descriptor() {
  return std::make_shared<DescriptorEncoder>();
}

// A small PPM whose pixels come from `seed`: distinct images for distinct seeds.
std::string ppm(std::uint32_t seed) {
  std::string out = "P6\n8 8\n255\n";
  for (int p = 0; p < 8 * 8 * 3; ++p) {
    seed = seed * 1664525u + 1013904223u;
    out.push_back(static_cast<char>(seed >> 24));
  }
  return out;
}

Id add(VectorDatabase& db, std::uint32_t seed, const Metadata& m = {}) {
  const std::string bytes = ppm(seed);
  return db.add_image_bytes(bytes.data(), bytes.size(), "img" + std::to_string(seed), m);
}

DatabaseOptions logged() {
  DatabaseOptions o;
  o.durability = Durability::on_write;
  return o;
}

std::vector<std::string> logs_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("log-", 0) == 0) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("logged changes survive a process that never saves", "[db][log]") {
  TempDir tmp;
  const std::string dir = tmp.file("db");
  Id a = 0, b = 0, c = 0;
  std::vector<float> vector_b;
  {
    auto db = VectorDatabase::create(dir, descriptor(), logged());
    a = add(*db, 1, {{"k", std::int64_t(1)}});
    b = add(*db, 2);
    c = add(*db, 3);
    db->update_metadata(b, {{"k", std::string("two")}});
    CHECK(db->remove(c));
    CHECK_FALSE(db->remove(c));
    vector_b = db->get_vector(b);
    CHECK(db->get_stats().unsaved_changes == 5);
    CHECK(db->get_stats().log_bytes > 0);
  }  // no save
  CHECK(logs_in(dir) == std::vector<std::string>{"log-0.imgvlog"});
  {
    auto db = VectorDatabase::open(dir, descriptor());  // replays whatever durability is asked now
    CHECK(db->get_stats().replayed_changes == 5);
    CHECK(db->get_stats().dropped_log_bytes == 0);
    CHECK(db->ids() == std::vector<Id>{a, b});
    CHECK(std::get<std::int64_t>(db->get(a)->metadata.at("k")) == 1);
    CHECK(std::get<std::string>(db->get(b)->metadata.at("k")) == "two");
    CHECK(db->get_vector(b) == vector_b);
    CHECK(db->search_by_vector(VectorView(vector_b.data(), vector_b.size()), 1).at(0).id == b);
    // Ids are never reused, even the removed one's.
    CHECK(add(*db, 4) == c + 1);
    db->save();
    CHECK(db->get_stats().unsaved_changes == 0);
  }
  CHECK(logs_in(dir).empty());
  auto db = VectorDatabase::open(dir, descriptor());
  CHECK(db->get_stats().replayed_changes == 0);
  CHECK(db->size() == 3);
}

TEST_CASE("without on_write nothing is logged", "[db][log]") {
  TempDir tmp;
  const std::string dir = tmp.file("db");
  {
    auto db = VectorDatabase::create(dir, descriptor());
    add(*db, 1);
    CHECK(db->get_stats().unsaved_changes == 1);
    CHECK(db->get_stats().log_bytes == 0);
  }
  CHECK(logs_in(dir).empty());
  CHECK(VectorDatabase::open(dir, descriptor())->size() == 0);
}

TEST_CASE("a torn last entry is dropped, the entries before it kept", "[db][log]") {
  TempDir tmp;
  const std::string dir = tmp.file("db");
  {
    auto db = VectorDatabase::create(dir, descriptor(), logged());
    add(*db, 1);
    add(*db, 2);
  }
  const std::string log = dir + "/log-0.imgvlog";
  const auto full = fs::file_size(log);
  SECTION("cut short") {
    fs::resize_file(log, full - 7);
    auto db = VectorDatabase::open(dir, descriptor(), {Durability::on_write});
    CHECK(db->size() == 1);
    CHECK(db->get_stats().dropped_log_bytes > 0);
    // Appends go to a new log, so the torn bytes never hide a later entry.
    add(*db, 3);
    db.reset();
    CHECK(VectorDatabase::open(dir, descriptor())->size() == 2);
  }
  SECTION("zeros after the end, as a crash can leave in an extended file") {
    std::ofstream(log, std::ios::app | std::ios::binary) << std::string(4096, '\0');
    auto db = VectorDatabase::open(dir, descriptor());
    CHECK(db->size() == 2);
    CHECK(db->get_stats().dropped_log_bytes == 4096);
  }
  SECTION("a flipped byte in the last entry") {
    std::fstream f(log, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(full - 3));
    f.put('\x55');
    f.close();
    CHECK(VectorDatabase::open(dir, descriptor())->size() == 1);
  }
  SECTION("a damaged header before entries is an error naming the log") {
    std::fstream f(log, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2);
    f.put('X');
    f.close();
    try {
      VectorDatabase::open(dir, descriptor());
      FAIL("opened");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::corrupt_file);
      CHECK_THAT(e.what(), Catch::Contains("log-0.imgvlog"));
    }
  }
  SECTION("a header cut short with nothing after it is an empty log") {
    fs::resize_file(log, 10);
    CHECK(VectorDatabase::open(dir, descriptor())->size() == 0);
  }
}

TEST_CASE("a crash between a save's log rotation and its manifest switch loses nothing",
          "[db][log]") {
  TempDir tmp;
  const std::string dir = tmp.file("db"), before = tmp.file("before");
  auto db = VectorDatabase::create(dir, descriptor(), logged());
  const Id a = add(*db, 1);
  // The folder as the save below finds it: manifest at log 0, log-0 holding image a.
  fs::copy(dir, before);
  fs::remove(before + "/LOCK");
  db->save();  // rotates to log 1, switches the manifest, deletes log-0
  CHECK(logs_in(dir).empty());
  const Id b = add(*db, 2);
  db->remove(a);
  db.reset();
  CHECK(logs_in(dir) == std::vector<std::string>{"log-1.imgvlog"});
  // Had the save died after rotating but before switching: the old manifest, log-0 and log-1.
  fs::copy_file(dir + "/log-1.imgvlog", before + "/log-1.imgvlog");
  auto crashed = VectorDatabase::open(before, descriptor(), {Durability::on_write});
  CHECK(crashed->get_stats().replayed_changes == 3);
  CHECK(crashed->ids() == std::vector<Id>{b});
  // Later changes go to log-2 and replay after both.
  const Id c = add(*crashed, 3);
  crashed.reset();
  CHECK(VectorDatabase::open(before, descriptor())->ids() == std::vector<Id>{b, c});
}

TEST_CASE("a log of another dimension is refused", "[db][log]") {
  TempDir tmp;
  const std::string dir = tmp.file("db");
  VectorDatabase::create(dir, descriptor());
  detail::WriteAheadLog log(dir, 0, 3, 7);
  std::string entry;
  ImageRecord r;
  r.id = 1;
  const float v[3] = {1, 0, 0};
  detail::encode_log_put(entry, r, v, 3);
  log.sync(log.append(entry));
  CHECK_THROWS_MATCHES(VectorDatabase::open(dir, descriptor()), Error,
                       Catch::Matchers::Predicate<Error>(
                           [](const Error& e) { return e.code() == ErrorCode::incompatible; }));
}

TEST_CASE("concurrent writers share flushes and every acknowledged add is replayed",
          "[db][log][concurrency]") {
  TempDir tmp;
  const std::string dir = tmp.file("db");
  std::set<Id> acknowledged;
  std::mutex m;
  {
    auto db = VectorDatabase::create(dir, descriptor(), logged());
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          const Id id = add(*db, static_cast<std::uint32_t>(t * 1000 + i));
          std::lock_guard<std::mutex> g(m);
          acknowledged.insert(id);
        }
      });
    }
    std::thread saver([&] {
      for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        db->save();
      }
    });
    for (auto& w : writers) w.join();
    saver.join();
  }
  auto db = VectorDatabase::open(dir, descriptor());
  const auto ids = db->ids();
  CHECK(std::set<Id>(ids.begin(), ids.end()) == acknowledged);
  CHECK(acknowledged.size() == 100);
}

TEST_CASE("SIGKILL after an acknowledged add never loses it", "[db][log][crash]") {
  TempDir tmp;
  const std::string dir = tmp.file("db");
  std::mt19937 rng(7);
  std::set<Id> acknowledged;
  for (int round = 0; round < 8; ++round) {
    const auto child = imgvec::testing::spawn_with_output({IMGVEC_CRASH_SAVER, dir, "--log"});
    const pid_t pid = child.pid;
    FILE* lines = child.out;
    unsigned long long id = 0;
    for (int i = 0; i < 3; ++i) {
      REQUIRE(std::fscanf(lines, "%llu", &id) == 1);
      acknowledged.insert(id);
    }
    ::usleep(static_cast<useconds_t>(rng() % 20000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    while (std::fscanf(lines, "%llu", &id) == 1) acknowledged.insert(id);
    std::fclose(lines);
    REQUIRE(WIFSIGNALED(status));
    auto db = VectorDatabase::open(dir, descriptor());
    const auto ids = db->ids();
    const std::set<Id> have(ids.begin(), ids.end());
    INFO("round " << round << ": " << acknowledged.size() << " acknowledged, " << have.size()
                  << " reopened");
    for (Id a : acknowledged) CHECK(have.count(a) == 1);
    CHECK(have.size() <= acknowledged.size() + 1);  // at most the one being written when killed
    acknowledged = have;  // what a reopened database holds must stay there too
  }
}

namespace {

// A database whose log-0 holds `n` acknowledged adds, closed without a save.
std::string logged_database(TempDir& tmp, int n) {
  const std::string dir = tmp.file("db");
  auto db = VectorDatabase::create(dir, descriptor(), logged());
  for (int i = 1; i <= n; ++i) add(*db, static_cast<std::uint32_t>(i));
  return dir;
}

void flip_byte(const std::string& path, std::uint64_t at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(at));
  const char c = static_cast<char>(f.get());
  f.seekp(static_cast<std::streamoff>(at));
  f.put(static_cast<char>(c ^ 0x5A));
}

std::string message_of_open(const std::string& dir, ErrorCode* code = nullptr) {
  try {
    VectorDatabase::open(dir, descriptor());
  } catch (const Error& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a log damaged in the middle refuses to open, naming it; repair keeps what precedes the damage",
          "[db][log]") {
  TempDir tmp;
  const std::string dir = logged_database(tmp, 5);
  const std::string log = dir + "/log-0.imgvlog";
  const auto full = fs::file_size(log);
  // Somewhere inside the second entry: the first stays intact, three intact ones follow.
  const std::uint64_t entry = (full - 40) / 5;
  flip_byte(log, 40 + entry + entry / 2);
  ErrorCode code{};
  const std::string message = message_of_open(dir, &code);
  CHECK(code == ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Contains("log-0.imgvlog") && Catch::Contains("byte " + std::to_string(40 + entry)) &&
                          Catch::Contains("imgvec repair"));
  CHECK(fs::file_size(log) == full);  // refusing touched nothing
  OpenOptions repair;
  repair.accept_log_damage = true;
  auto db = VectorDatabase::open(dir, descriptor(), repair);
  CHECK(db->size() == 1);
  CHECK(db->get_stats().dropped_log_bytes == full - 40 - entry);
  db->save();
  db.reset();
  CHECK(logs_in(dir).empty());
  CHECK(VectorDatabase::open(dir, descriptor())->size() == 1);
}

TEST_CASE("a gap in the log numbers, or a log cut short before the next, refuses to open", "[db][log]") {
  TempDir tmp;
  const std::string dir = logged_database(tmp, 2);
  SECTION("a missing log between two") {
    fs::copy_file(dir + "/log-0.imgvlog", tmp.file("log-0"));
    {
      auto db = VectorDatabase::open(dir, descriptor(), {Durability::on_write});
      add(*db, 7);  // goes to log-1
    }
    // log-0 lost; log-1 present.
    fs::remove(dir + "/log-0.imgvlog");
    std::string message = message_of_open(dir);
    // log-0 missing means replay starts nowhere: log-1 is past a gap.
    CHECK_THAT(message, Catch::Contains("log-0.imgvlog is missing") && Catch::Contains("log-1.imgvlog"));
    OpenOptions repair;
    repair.accept_log_damage = true;
    auto db = VectorDatabase::open(dir, descriptor(), repair);
    CHECK(db->size() == 0);
    CHECK(db->get_stats().dropped_log_bytes > 0);
  }
  SECTION("a log whose tail is damaged while a later log exists") {
    {
      auto db = VectorDatabase::open(dir, descriptor(), {Durability::on_write});
      add(*db, 7);  // goes to log-1
    }
    const std::string log0 = dir + "/log-0.imgvlog";
    flip_byte(log0, fs::file_size(log0) - 3);
    CHECK_THAT(message_of_open(dir), Catch::Contains("log-0.imgvlog") && Catch::Contains("log 1 follows"));
  }
}

TEST_CASE("a log copied from another database, or renamed, is refused", "[db][log]") {
  TempDir tmp;
  const std::string dir = logged_database(tmp, 2);
  const std::string other = tmp.file("other");
  {
    auto db = VectorDatabase::create(other, descriptor(), logged());
    add(*db, 50);
  }
  SECTION("another database's log") {
    fs::remove(dir + "/log-0.imgvlog");
    fs::copy_file(other + "/log-0.imgvlog", dir + "/log-0.imgvlog");
    ErrorCode code{};
    const std::string message = message_of_open(dir, &code);
    CHECK(code == ErrorCode::incompatible);
    CHECK_THAT(message, Catch::Contains("another database"));
  }
  SECTION("a log renamed to another number") {
    auto db = VectorDatabase::open(dir, descriptor(), {Durability::on_write});
    db->save();  // log_start is now 1
    db.reset();
    fs::copy_file(other + "/log-0.imgvlog", dir + "/log-1.imgvlog");
    CHECK_THAT(message_of_open(dir), Catch::Contains("says it is log 0"));
  }
}

TEST_CASE("logs written before database identities (format 1.0) are still replayed", "[db][log]") {
  TempDir tmp;
  const std::string dir = logged_database(tmp, 3);
  const std::string log = dir + "/log-0.imgvlog";
  std::ifstream in(log, std::ios::binary);
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  in.close();
  // 1.0's header: magic, major 1, minor 0, dimension, number, XXH3-64 of those 24 bytes.
  std::string v1 = bytes.substr(0, 24);
  v1[8] = 1;
  v1[9] = 0;
  const std::uint64_t hash = XXH3_64bits(v1.data(), v1.size());
  v1.append(reinterpret_cast<const char*>(&hash), 8);
  v1 += bytes.substr(40);
  std::ofstream(log, std::ios::binary | std::ios::trunc) << v1;
  CHECK(VectorDatabase::open(dir, descriptor())->size() == 3);
}

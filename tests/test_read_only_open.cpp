// What users do beside a running server: read a database another process holds (read-only, its
// saved and logged state, nothing in the folder touched), learn from the refusal who holds it,
// export records for a spreadsheet, and hear when a filter names a tag or label no image has.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"
#include "support/temp_dir.hpp"

using namespace imgvec;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

const fs::path kImages = fs::path(IMGVEC_TEST_DATA_DIR) / "images";
std::string image(const char* name) { return (kImages / name).string(); }

// Every file in the folder with its size and time: what "nothing was touched" means.
std::set<std::string> listing(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    out.insert(e.path().filename().string() + " " + std::to_string(e.file_size()) + " " +
               std::to_string(e.last_write_time().time_since_epoch().count()));
  }
  return out;
}

std::unique_ptr<VectorDatabase> holder_of(const std::string& dir) {
  DatabaseOptions options;
  options.durability = Durability::on_write;  // as imgvec serve: every change logged at once
  return VectorDatabase::create(dir, std::make_shared<DescriptorEncoder>(), options);
}

}  // namespace

TEST_CASE("a database another process holds opens read-only: saved and logged changes, no writes", "[db][read_only]") {
  testing::TempDir t;
  const std::string dir = t.file("db");
  auto holder = holder_of(dir);
  const Id saved = holder->add_image(image("giphy.gif"));
  holder->save();
  const Id logged = holder->add_image(image("Iggy.256.ppm"));  // in the log only
  holder->describe_holder("imgvec serve at http://127.0.0.1:1234/");

  // A plain open is refused, naming the holder and what still works.
  try {
    VectorDatabase::open(dir);
    FAIL("opened a database another process holds");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::io);
    CHECK_THAT(e.what(), Contains("imgvec serve at http://127.0.0.1:1234/") && Contains("read-only"));
  }

  OpenOptions reading;
  reading.read_only_if_held = true;
  const auto before = listing(dir);
  auto reader = VectorDatabase::open(dir, reading);
  CHECK(reader->read_only());
  CHECK(reader->size() == 2);
  CHECK(reader->get(logged));  // replayed from the holder's log
  CHECK(reader->search_by_image(image("giphy.gif"), SearchOptions(1)).front().id == saved);

  // Every write is refused, and the folder stays as it was.
  for (const auto& write : std::vector<std::function<void()>>{
           [&] { reader->add_image(image("baboon.256.pgm")); },
           [&] { reader->update_metadata(saved, {{"k", std::int64_t{1}}}); },
           [&] { reader->remove(saved); },
           [&] { reader->remember_model_bundle("/x.pt"); },
       }) {
    try {
      write();
      FAIL("a read-only database took a write");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::invalid_argument);
      CHECK_THAT(e.what(), Contains("read-only"));
    }
  }
  reader->save();  // nothing to save: not an error
  reader.reset();
  CHECK(listing(dir) == before);
  CHECK(holder->size() == 2);

  // The holder goes on; the next read-only open sees what it did since.
  holder->add_image(image("baboon.256.pgm"));
  holder->save();
  CHECK(VectorDatabase::open(dir, reading)->size() == 3);
  holder.reset();
  auto alone = VectorDatabase::open(dir, reading);
  CHECK_FALSE(alone->read_only());  // nobody holds it: a normal open
}

TEST_CASE("read-only opens while the holder saves again and again", "[db][read_only]") {
  testing::TempDir t;
  const std::string dir = t.file("db");
  auto holder = holder_of(dir);
  holder->add_image(image("giphy.gif"));
  holder->save();
  std::atomic<bool> done{false};
  // Each save writes a new generation and deletes the old one's files and logs under the reader.
  std::thread saver([&] {
    for (int i = 0; i < 40; ++i) {
      holder->update_metadata(1, {{"round", std::int64_t{i}}});
      holder->save();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    done = true;
  });
  OpenOptions reading;
  reading.read_only = true;
  int opens = 0;
  std::string failure;
  while (!done) {
    try {
      const auto db = VectorDatabase::open(dir, reading);
      if (db->size() != 1) failure = "size " + std::to_string(db->size());
      ++opens;
    } catch (const Error& e) {
      failure = e.what();
    }
  }
  saver.join();  // before any check can throw: a joinable thread must not be destroyed
  CHECK(failure == "");
  CHECK(opens > 0);
}

TEST_CASE("records export as CSV for spreadsheets; the file name picks the format", "[db][export]") {
  CHECK(export_format_for_path("a/records.csv") == ExportFormat::csv);
  CHECK(export_format_for_path("records.JSON") == ExportFormat::json);
  CHECK(export_format_for_path("records.ndjson") == ExportFormat::jsonl);
  CHECK(export_format_for_path("-") == ExportFormat::jsonl);
  CHECK(export_format_for_path("/dev/stdout") == ExportFormat::jsonl);
  CHECK(export_format_for_path("dir.v2/records") == ExportFormat::jsonl);
  CHECK_THROWS_WITH(export_format_for_path("records.xlsx"), Contains("records.xlsx") && Contains(".csv"));
  CHECK(parse_export_format("csv") == ExportFormat::csv);

  testing::TempDir t;
  auto db = VectorDatabase::create(t.file("db"), std::make_shared<DescriptorEncoder>());
  const Id id = db->add_image(image("ukbench01380.jpg"),
                              {{"note", std::string("=HYPERLINK(\"http://evil\")")},
                               {"place", std::string("Lisbon, \"PT\"")},
                               {"people", std::vector<std::string>{"Ana", "Rui"}},
                               {"stars", std::int64_t{-3}}});
  std::vector<std::string> tags{"best", "2023"};
  db->update_metadata(id, db->get(id)->metadata, &tags);
  std::ostringstream out;
  db->export_metadata(out, ExportFormat::csv);
  const std::string csv = out.str();
  const std::string header = csv.substr(0, csv.find("\r\n"));
  CHECK(header.rfind("id,source,format,width,height,file_size,taken,taken_source,camera", 0) == 0);
  CHECK_THAT(header, Contains(",meta.note,meta.people,meta.place,meta.stars"));
  const std::string row = csv.substr(header.size() + 2);
  CHECK_THAT(row, Contains(",2005-08-14T01:08:49,exif,Canon PowerShot S230,Canon,"));
  CHECK_THAT(row, Contains(",best;2023,"));
  CHECK_THAT(row, Contains(",\"'=HYPERLINK(\"\"http://evil\"\")\","));  // a formula defused, and quoted
  CHECK_THAT(row, Contains(",Ana;Rui,\"Lisbon, \"\"PT\"\"\",-3\r\n"));  // a negative number stays a number
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 2);
}

TEST_CASE("a filter on a tag or label no image has is said, with a guess", "[db][where]") {
  testing::TempDir t;
  auto db = VectorDatabase::create(t.file("db"), std::make_shared<DescriptorEncoder>());
  const Id id = db->add_image(image("giphy.gif"));
  std::vector<std::string> tags{"holiday"};
  db->update_metadata(id, {}, &tags);
  const auto warnings = db->filter_warnings(Where::parse("tag=holliday or label=beach or tag=holiday"));
  REQUIRE(warnings.size() == 2);
  CHECK_THAT(warnings[0], Contains("no image has labels yet"));
  CHECK_THAT(warnings[1], Contains("\"holliday\"") && Contains("did you mean \"holiday\""));
  CHECK(db->filter_warnings(Where::parse("tag=holiday")).empty());
  db->remove(id);
  CHECK_THAT(db->filter_warnings(Where::parse("tag=holiday")).front(), Contains("(tags: none)"));
}

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"

// Exports for Qdrant, Milvus and pgvector, read back by their formats' rules: every id, every
// vector bit for bit, every record, and metadata strings with quotes, tabs, newlines, backslashes
// and non-ASCII text intact.
using namespace imgvec;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kImages = fs::path(IMGVEC_TEST_DATA_DIR) / "images";
const std::string kAwkward = "a \"quoted\"\ttab,\nnew line, back\\slash, \r, caf\xC3\xA9, \xE6\x97\xA5\xE6\x9C\xAC";

struct Fixture {
  // One folder per process: ctest runs test cases in parallel processes.
  fs::path root = fs::temp_directory_path() / ("imgvec-external-export-" + std::to_string(::getpid()));
  std::unique_ptr<VectorDatabase> db;
  Fixture() {
    fs::remove_all(root);
    fs::create_directories(root / "photos");
    // A file name with a tab and a quote in it, as Linux allows.
    fs::copy_file(kImages / "giphy.gif", root / "photos" / "odd\tname \"1\".gif");
    db = VectorDatabase::create((root / "db").string(), std::make_shared<DescriptorEncoder>());
    db->index_directory((root / "photos").string());
    for (const char* name : {"Iggy.256.ppm", "baboon.256.pgm", "ukbench01380.jpg", "ukbench09060.jpg"}) {
      db->add_image((kImages / name).string(), {{"caption", kAwkward}, {"n", std::int64_t{7}}}, {"t\tag"});
    }
  }
  ~Fixture() { fs::remove_all(root); }
  std::string out(const char* name) const { return (root / name).string(); }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void check_vector(const VectorDatabase& db, Id id, const json& values) {
  const std::vector<float> stored = db.get_vector(id);
  REQUIRE(values.size() == stored.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    const float back = static_cast<float>(values[i].get<double>());
    REQUIRE(std::memcmp(&back, &stored[i], sizeof back) == 0);  // the same bits
  }
}

void check_record(const VectorDatabase& db, Id id, const json& record) {
  CHECK(record == json::parse(record_to_json(*db.get(id))));
  if (record["metadata"].contains("caption")) CHECK(record["metadata"]["caption"] == kAwkward);
}

// PostgreSQL's COPY text format: rows end in a newline, columns split at tabs, and \\ \t \n \r
// stand for themselves; \N is NULL.
std::vector<std::vector<std::string>> read_copy_text(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row(1);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      rows.push_back(row);
      row.assign(1, "");
    } else if (c == '\t') {
      row.emplace_back();
    } else if (c == '\\') {
      const char e = text.at(++i);
      row.back() += e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 'N' ? '\0' : e;
    } else {
      row.back() += c;
    }
  }
  REQUIRE(row == std::vector<std::string>(1));  // the last row ended in a newline
  return rows;
}

}  // namespace

TEST_CASE("export for Qdrant: point batches and the collection's settings", "[export][external]") {
  Fixture f;
  ExternalExportOptions o;
  o.points_per_file = 2;
  const ExternalExportReport r = f.db->export_external(f.out("qdrant"), o);
  CHECK(r.images == 5);
  const json collection = json::parse(slurp(f.root / "qdrant" / "collection.json"));
  CHECK(collection["vectors"]["size"] == 448);
  CHECK(collection["vectors"]["distance"] == "Cosine");
  CHECK(collection["hnsw_config"]["m"] == 16);
  std::map<Id, json> points;
  for (int file = 0; file < 3; ++file) {
    char name[32];
    std::snprintf(name, sizeof name, "points-%05d.json", file);
    const json batch = json::parse(slurp(f.root / "qdrant" / name));
    REQUIRE(batch.size() == 1);
    CHECK(batch["points"].size() == (file < 2 ? 2u : 1u));
    for (const json& p : batch["points"]) points[p["id"].get<Id>()] = p;
  }
  CHECK_FALSE(fs::exists(f.root / "qdrant" / "points-00003.json"));
  REQUIRE(points.size() == 5);
  for (const auto& [id, p] : points) {
    check_vector(*f.db, id, p["vector"]);
    check_record(*f.db, id, p["payload"]);
  }
  const json manifest = json::parse(slurp(f.root / "qdrant" / "imgvec-export.json"));
  CHECK(manifest["format"] == "qdrant");
  CHECK(manifest["images"] == 5);
  CHECK(manifest["encoder"]["kind"] == "descriptor");
}

TEST_CASE("export for Milvus: row files within the size limit and the schema", "[export][external]") {
  Fixture f;
  ExternalExportOptions o;
  o.format = ExternalFormat::milvus;
  o.collection = "photos_2024";
  o.max_file_bytes = 24 * 1024;
  const ExternalExportReport r = f.db->export_external(f.out("milvus"), o);
  const json schema = json::parse(slurp(f.root / "milvus" / "schema.json"));
  CHECK(schema["collection_name"] == "photos_2024");
  CHECK(schema["fields"][1]["dim"] == 448);
  CHECK(schema["fields"][0]["data_type"] == "Int64");
  CHECK(schema["index"]["metric_type"] == "COSINE");
  std::size_t rows = 0, files = 0;
  for (const std::string& name : r.files) {
    if (name.rfind("rows-", 0) != 0) continue;
    ++files;
    CHECK(fs::file_size(f.root / "milvus" / name) <= o.max_file_bytes);
    for (const json& row : json::parse(slurp(f.root / "milvus" / name))) {
      ++rows;
      const Id id = row["id"].get<Id>();
      check_vector(*f.db, id, row["vector"]);
      check_record(*f.db, id, row["record"]);
      CHECK(row["source"] == row["record"]["source"]);
    }
  }
  CHECK(rows == 5);
  CHECK(files >= 2);
  o.max_file_bytes = 4096;  // one row is larger: refused, and nothing is left behind
  CHECK_THROWS_AS(f.db->export_external(f.out("milvus-small"), o), Error);
  CHECK_FALSE(fs::exists(f.root / "milvus-small"));
}

TEST_CASE("export for pgvector: COPY text and the SQL to load it", "[export][external]") {
  Fixture f;
  ExternalExportOptions o;
  o.format = ExternalFormat::pgvector;
  o.collection = "images";
  f.db->export_external(f.out("pg"), o);
  const std::string sql = slurp(f.root / "pg" / "load.sql");
  CHECK(sql.find("CREATE TABLE images (id bigint PRIMARY KEY, embedding vector(448)") != std::string::npos);
  CHECK(sql.find("\\copy images (id, embedding, source, record) FROM 'images.tsv' WITH (FORMAT text)") != std::string::npos);
  CHECK(sql.find("USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 200)") != std::string::npos);
  const auto rows = read_copy_text(slurp(f.root / "pg" / "images.tsv"));
  REQUIRE(rows.size() == 5);
  for (const auto& row : rows) {
    REQUIRE(row.size() == 4);
    const Id id = std::stoull(row[0]);
    REQUIRE(row[1].front() == '[');
    check_vector(*f.db, id, json::parse(row[1]));  // pgvector's '[1,2,3]' literal is a JSON array too
    const json record = json::parse(row[3]);
    check_record(*f.db, id, record);
    CHECK(row[2] == record["source"].get<std::string>());
  }
}

TEST_CASE("exports refuse an existing folder and bad names, and handle an empty database", "[export][external]") {
  Fixture f;
  fs::create_directories(f.root / "taken");
  std::ofstream(f.root / "taken" / "mine.txt") << "not imgvec's";
  CHECK_THROWS_AS(f.db->export_external(f.out("taken")), Error);
  CHECK(slurp(f.root / "taken" / "mine.txt") == "not imgvec's");
  ExternalExportOptions bad;
  bad.collection = "drop table;";
  CHECK_THROWS_AS(f.db->export_external(f.out("bad"), bad), Error);
  CHECK_THROWS_AS(f.db->export_external(f.out("no/such/parent/export")), Error);
  for (const auto& e : fs::directory_iterator(f.root)) {
    CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);  // no temporary folder left
  }
  auto empty = VectorDatabase::create(f.out("empty-db"), std::make_shared<DescriptorEncoder>());
  for (ExternalFormat format : {ExternalFormat::qdrant, ExternalFormat::milvus, ExternalFormat::pgvector}) {
    ExternalExportOptions o;
    o.format = format;
    const auto r = empty->export_external(f.out((std::string("empty-") + to_string(format)).c_str()), o);
    CHECK(r.images == 0);
    CHECK(json::parse(slurp(f.root / ("empty-" + std::string(to_string(format))) / "imgvec-export.json"))["images"] == 0);
  }
}

namespace {

// Two databases hold the same images: the same ids, vectors to the bit, equal records.
void check_same(const VectorDatabase& a, const VectorDatabase& b) {
  REQUIRE(a.ids() == b.ids());
  for (Id id : a.ids()) {
    INFO("id " << id);
    CHECK(*a.get(id) == *b.get(id));
    const auto va = a.get_vector(id), vb = b.get_vector(id);
    REQUIRE(va.size() == vb.size());
    CHECK(std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0);
  }
}

}  // namespace

TEST_CASE("imports give back the database exactly, from every export", "[export][external][import]") {
  Fixture f;
  for (ExternalFormat format : {ExternalFormat::qdrant, ExternalFormat::milvus, ExternalFormat::pgvector}) {
    INFO(to_string(format));
    ExternalExportOptions o;
    o.format = format;
    o.points_per_file = 2;
    o.max_file_bytes = 16 * 1024;
    const std::string dir = f.out((std::string("x-") + to_string(format)).c_str());
    f.db->export_external(dir, o);
    // Rebuilt with other index parameters: a flat index this time.
    DatabaseOptions flat;
    flat.index_kind = IndexKind::flat;
    auto copy = VectorDatabase::create(f.out((std::string("db-") + to_string(format)).c_str()),
                                       std::make_shared<DescriptorEncoder>(), flat);
    std::size_t calls = 0;
    ImportOptions io;
    io.progress = [&](std::size_t, std::size_t) { ++calls; };
    io.source_root = "/";  // the files the export names are this machine's own
    const ImportReport r = copy->import_export(dir, io);
    CHECK(r.format == to_string(format));
    CHECK(r.imported == 5);
    CHECK(calls >= 1);
    check_same(*f.db, *copy);
    // Saved and opened again, still the same; new images get ids after the imported ones.
    copy->save();
    copy.reset();
    copy = VectorDatabase::open(f.out((std::string("db-") + to_string(format)).c_str()), std::make_shared<DescriptorEncoder>());
    check_same(*f.db, *copy);
    const Id next = copy->add_image((kImages / "ukbench09380.jpeg").string());
    const auto ids = f.db->ids();
    CHECK(next > *std::max_element(ids.begin(), ids.end()));
    // Importing the same export again: its ids are taken, and nothing is stored.
    CHECK_THROWS_AS(copy->import_export(dir), Error);
    CHECK(copy->size() == 6);
  }
}

TEST_CASE("import merges with new ids, skips sources it has, and refuses another encoder", "[export][external][import]") {
  Fixture f;
  f.db->export_external(f.out("x"));
  auto other = VectorDatabase::create(f.out("other"), std::make_shared<DescriptorEncoder>());
  other->add_image((kImages / "ukbench09380.jpeg").string());
  other->add_image((kImages / "Iggy.256.ppm").string());  // also in the export, same source path
  ImportOptions o;
  o.new_ids = true;
  o.source_root = kImages.string();
  const ImportReport r = other->import_export(f.out("x"), o);
  CHECK(r.imported == 4);
  CHECK(r.skipped == 1);
  CHECK(other->size() == 6);
  // Another encoder's export is refused before anything is read.
  std::string manifest = slurp(f.root / "x" / "imgvec-export.json");
  manifest.replace(manifest.find("descriptor"), 10, "clip______");
  std::ofstream(f.root / "x" / "imgvec-export.json") << manifest;
  auto fresh = VectorDatabase::create(f.out("fresh"), std::make_shared<DescriptorEncoder>());
  try {
    fresh->import_export(f.out("x"));
    FAIL("imported another encoder's export");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::incompatible);
  }
  CHECK(fresh->size() == 0);
}

TEST_CASE("an import keeps only the source files under the root the importer names", "[export][external][import]") {
  Fixture f;
  f.db->export_external(f.out("x"));
  auto sources_of = [&](const ImportOptions& o) {
    auto copy = VectorDatabase::create(f.out("copy"), std::make_shared<DescriptorEncoder>());
    copy->import_export(f.out("x"), o);
    std::vector<std::pair<std::string, std::string>> out;  // (source, imported_source)
    for (const Id id : copy->ids()) {
      const ImageRecord r = *copy->get(id);
      const auto kept = r.metadata.find("imported_source");
      out.emplace_back(r.source, kept == r.metadata.end() ? "" : std::get<std::string>(kept->second));
    }
    copy.reset();
    VectorDatabase::destroy(f.out("copy"));
    return out;
  };
  // No root: a crafted export cannot make the database serve /etc/passwd; the path stays as metadata.
  for (const auto& [source, kept] : sources_of({})) {
    CHECK(source.empty());
    CHECK_FALSE(kept.empty());
  }
  ImportOptions photos;
  photos.source_root = (f.root / "photos").string();
  std::size_t under = 0;
  for (const auto& [source, kept] : sources_of(photos)) {
    if (!source.empty()) {
      ++under;
      CHECK(fs::path(source).parent_path() == f.root / "photos");
    }
    CHECK(source.empty() != kept.empty());
  }
  CHECK(under == 1);
  // ".." does not climb out of the root; a root that is not a folder is refused.
  std::string manifest = slurp(f.root / "x" / "imgvec-export.json");
  for (const auto& entry : fs::directory_iterator(f.root / "x")) {
    if (entry.path().filename().string().rfind("points-", 0) != 0) continue;
    std::string points = slurp(entry.path());
    const std::string from = (kImages / "Iggy.256.ppm").string();
    if (points.find(from) != std::string::npos)
      points.replace(points.find(from), from.size(), (f.root / "photos" / ".." / ".." / "etc" / "passwd").string());
    std::ofstream(entry.path()) << points;
  }
  for (const auto& [source, kept] : sources_of(photos)) CHECK(source.find("passwd") == std::string::npos);
  ImportOptions missing;
  missing.source_root = (f.root / "no-such-folder").string();
  CHECK_THROWS_WITH(sources_of(missing), Catch::Contains("not a folder"));
  // The collection name is joined into a path: checked as on export.
  ExternalExportOptions pg;
  pg.format = ExternalFormat::pgvector;
  f.db->export_external(f.out("pg"), pg);
  manifest = slurp(f.root / "pg" / "imgvec-export.json");
  manifest.replace(manifest.find("\"collection\": \"images\""), 22, "\"collection\": \"../../x\"");
  std::ofstream(f.root / "pg" / "imgvec-export.json") << manifest;
  auto fresh = VectorDatabase::create(f.out("fresh"), std::make_shared<DescriptorEncoder>());
  CHECK_THROWS_WITH(fresh->import_export(f.out("pg")), Catch::Contains("collection name \"../../x\""));
}

TEST_CASE("import reads damaged exports as errors that name the file", "[export][external][import]") {
  Fixture f;
  ExternalExportOptions o;
  o.format = ExternalFormat::pgvector;
  f.db->export_external(f.out("pg"), o);
  std::string tsv = slurp(f.root / "pg" / "images.tsv");
  tsv.insert(tsv.find('\n') + 5, "\t\t");  // a second row with six columns
  std::ofstream(f.root / "pg" / "images.tsv") << tsv;
  auto fresh = VectorDatabase::create(f.out("fresh"), std::make_shared<DescriptorEncoder>());
  try {
    fresh->import_export(f.out("pg"));
    FAIL("a damaged row was imported");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::corrupt_file);
    CHECK(std::string(e.what()).find("images.tsv: line 2") != std::string::npos);
  }
  CHECK_THROWS_AS(fresh->import_export(f.out("no-such-export")), Error);
  CHECK_THROWS_AS(record_from_json("{\"id\": 1}"), Error);
  CHECK_THROWS_AS(record_from_json("not json"), Error);
  CHECK_THROWS_AS(record_from_json("[1, 2]"), Error);
}

TEST_CASE("import_vectors reads export_vectors and export_metadata back", "[export][import]") {
  Fixture f;
  f.db->export_vectors(f.out("v.npy"), f.out("ids.npy"));
  f.db->export_metadata(f.out("records.jsonl"));
  auto copy = VectorDatabase::create(f.out("copy"), std::make_shared<DescriptorEncoder>());
  ImportOptions everything;
  everything.source_root = "/";
  const ImportReport r = copy->import_vectors(f.out("v.npy"), f.out("ids.npy"), f.out("records.jsonl"), everything);
  CHECK(r.format == "npy");
  CHECK(r.imported == 5);
  check_same(*f.db, *copy);
  CHECK_THROWS_AS(copy->import_vectors(f.out("records.jsonl"), f.out("ids.npy"), f.out("records.jsonl")), Error);
}

namespace {

// The pgvector export's rows (id, vector, source, record JSON), for editing ids and sources.
std::vector<std::string> rows_of(const fs::path& tsv) {
  std::vector<std::string> rows;
  std::istringstream in(slurp(tsv));
  for (std::string line; std::getline(in, line);) rows.push_back(line);
  return rows;
}

void write_rows(const fs::path& tsv, const std::vector<std::string>& rows) {
  std::ofstream out(tsv, std::ios::binary | std::ios::trunc);
  for (const auto& r : rows) out << r << '\n';
}

// A row given another id (in the id column and the record) and, when `source` is set, another source.
std::string with_id(std::string row, const std::string& id, const std::string& source = "") {
  const std::size_t tab = row.find('\t');
  const std::string old = row.substr(0, tab);
  row.replace(0, tab, id);
  const std::string key = "\"id\":" + old + ",";
  row.replace(row.find(key), key.size(), "\"id\":" + id + ",");
  if (!source.empty()) {
    const std::size_t s = row.find("\"source\":\"") + 10;
    row.replace(s, row.find('"', s) - s, source);
  }
  return row;
}

// The fixture's database exported for pgvector (to f.out("pg")), as rows.
std::vector<std::string> pgvector_rows(Fixture& f) {
  ExternalExportOptions o;
  o.format = ExternalFormat::pgvector;
  f.db->export_external(f.out("pg"), o);
  return rows_of(f.root / "pg" / "images.tsv");
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("an export that names one source twice imports it once", "[export][import]") {
  // The rows of one import batch are stored together; the second of two rows with one source must
  // still be seen as a copy of the first.
  Fixture f;
  auto rows = pgvector_rows(f);
  const std::string copy_of_first = with_id(rows.front(), "900");
  rows.push_back(copy_of_first);
  write_rows(f.root / "pg" / "images.tsv", rows);
  auto fresh = VectorDatabase::create(f.out("fresh"), std::make_shared<DescriptorEncoder>());
  ImportOptions everything;
  everything.source_root = "/";
  const ImportReport r = fresh->import_export(f.out("pg"), everything);
  CHECK(r.imported == 5);
  CHECK(r.skipped == 1);
  CHECK_FALSE(fresh->get(900));
  CHECK(fresh->size() == 5);
}

TEST_CASE("ids never wrap: the largest id is taken, and then adds are refused", "[export][import][ids]") {
  Fixture f;
  auto rows = pgvector_rows(f);
  SECTION("an id past the largest is refused, and nothing is stored") {
    rows.back() = with_id(rows.back(), "18446744073709551615");
    write_rows(f.root / "pg" / "images.tsv", rows);
    auto fresh = VectorDatabase::create(f.out("fresh"), std::make_shared<DescriptorEncoder>());
    CHECK_THAT(error_of([&] { fresh->import_export(f.out("pg")); }), Catch::Contains("larger than any id"));
    CHECK(fresh->size() == 0);
  }
  SECTION("an import of the largest id leaves no id to give: adds are refused, nothing is overwritten") {
    rows.back() = with_id(rows.back(), std::to_string(kMaxId));
    write_rows(f.root / "pg" / "images.tsv", rows);
    auto fresh = VectorDatabase::create(f.out("fresh"), std::make_shared<DescriptorEncoder>());
    CHECK(fresh->import_export(f.out("pg")).imported == 5);
    const auto before = fresh->get(1);
    REQUIRE(before);
    CHECK_THAT(error_of([&] { fresh->add_image((kImages / "ukbench09380.jpeg").string()); }),
               Catch::Contains("every image id"));
    CHECK(fresh->size() == 5);
    CHECK(*fresh->get(1) == *before);
    // Imported again with new ids, they are numbered from 1 and adds work.
    ExternalExportOptions o;
    o.format = ExternalFormat::pgvector;
    fresh->export_external(f.out("pg2"), o);
    auto renumbered = VectorDatabase::create(f.out("renumbered"), std::make_shared<DescriptorEncoder>());
    ImportOptions io;
    io.new_ids = true;
    CHECK(renumbered->import_export(f.out("pg2"), io).imported == 5);
    CHECK(renumbered->add_image((kImages / "ukbench09380.jpeg").string()) == 6);
  }
  SECTION("an id twice in one export is refused, naming it") {
    rows[2] = with_id(rows[2], rows[1].substr(0, rows[1].find('\t')), "/elsewhere/b.jpg");
    write_rows(f.root / "pg" / "images.tsv", rows);
    auto fresh = VectorDatabase::create(f.out("fresh"), std::make_shared<DescriptorEncoder>());
    CHECK_THAT(error_of([&] { fresh->import_export(f.out("pg")); }),
               Catch::Contains("id " + rows[1].substr(0, rows[1].find('\t')) + " appears twice"));
    CHECK(fresh->size() == 0);
  }
}

TEST_CASE("a failed import changes nothing, even after hundreds of rows were stored", "[export][import]") {
  Fixture f;
  ExternalExportOptions o;
  o.format = ExternalFormat::pgvector;
  f.db->export_external(f.out("pg"), o);
  const auto rows = rows_of(f.root / "pg" / "images.tsv");
  // A row whose source has no quote in it (the fixture's first file's name has one).
  const std::string plain = *std::find_if(rows.begin(), rows.end(), [](const std::string& r) {
    return r.find("Iggy.256.ppm") != std::string::npos;
  });
  std::vector<std::string> many;
  for (int i = 0; i < 600; ++i)
    many.push_back(with_id(plain, std::to_string(1000 + i), "/photos/" + std::to_string(i) + ".jpg"));
  many.push_back("1\tdamaged row");
  write_rows(f.root / "pg" / "images.tsv", many);
  auto target = VectorDatabase::create(f.out("target"), std::make_shared<DescriptorEncoder>());
  const Id kept = target->add_image((kImages / "ukbench09380.jpeg").string());
  CHECK_THAT(error_of([&] { target->import_export(f.out("pg")); }), Catch::Contains("line 601"));
  CHECK(target->size() == 1);
  CHECK(target->ids() == std::vector<Id>{kept});
  CHECK(target->add_image((kImages / "Iggy.256.ppm").string()) == kept + 1);  // the id counter is back too
  target->save();
  target.reset();
  CHECK(VectorDatabase::open(f.out("target"), std::make_shared<DescriptorEncoder>())->size() == 2);
}

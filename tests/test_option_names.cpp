// The names of options (index kind, formats, durability, sort order) are read by the library, once
// for the CLI, the server and Python: every name reads back as itself, and a wrong one is refused
// with a message that quotes it and lists the right ones.
#include <catch2/catch.hpp>

#include "imgvec/database.hpp"

using namespace imgvec;

namespace {

template <typename Parse>
void refuses(Parse parse, const std::string& listed) {
  try {
    parse("hsnw");
    FAIL("\"hsnw\" was read as a name");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK_THAT(e.what(), Catch::Matchers::Contains("\"hsnw\"") && Catch::Matchers::Contains(listed));
  }
}

}  // namespace

TEST_CASE("option names read back as themselves, and wrong ones are refused by name", "[wire]") {
  for (const IndexKind k : {IndexKind::hnsw, IndexKind::flat}) CHECK(parse_index_kind(to_string(k)) == k);
  for (const ExportFormat f : {ExportFormat::json, ExportFormat::jsonl, ExportFormat::csv}) CHECK(parse_export_format(to_string(f)) == f);
  for (const ExternalFormat f : {ExternalFormat::qdrant, ExternalFormat::milvus, ExternalFormat::pgvector}) {
    CHECK(parse_external_format(to_string(f)) == f);
    CHECK(is_external_format(to_string(f)));
  }
  CHECK_FALSE(is_external_format("jsonl"));
  for (const Durability d : {Durability::on_save, Durability::on_write}) CHECK(parse_durability(to_string(d)) == d);
  for (const SortOrder s : {SortOrder::score, SortOrder::newest, SortOrder::oldest}) CHECK(parse_sort_order(to_string(s)) == s);
  CHECK(parse_sort_order("taken") == SortOrder::newest);

  refuses([](const std::string& t) { return parse_index_kind(t); }, "hnsw or flat");
  refuses([](const std::string& t) { return parse_export_format(t); }, "jsonl, json or csv");
  refuses([](const std::string& t) { return parse_external_format(t); }, "qdrant, milvus or pgvector");
  refuses([](const std::string& t) { return parse_durability(t); }, "on_save or on_write");
  refuses([](const std::string& t) { return parse_sort_order(t); }, "oldest");
}

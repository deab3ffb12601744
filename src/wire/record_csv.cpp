// Records as CSV, for spreadsheets: the wire format's JSON record (record_json.cpp) flattened,
// so the CSV cannot say anything the JSON does not.
#include <iterator>

#include "imgvec/path_text.hpp"
#include "wire/wire.hpp"

namespace imgvec::wire {
namespace {

// The record's own fields, then its photo facts and look, in the order people read them.
const char* const kColumns[] = {"id",           "source",     "format",        "width",      "height",
                                "file_size",    "taken",      "taken_source",  "camera",     "camera_make",
                                "camera_model", "lens",       "latitude",      "longitude",  "colours",
                                "tone",         "brightness", "saturation",    "colourfulness", "warmth",
                                "labels",       "tags",       "mtime_ns",      "added_ms",   "content_hash"};

bool in(const char* const* list, std::size_t n, const std::string& s) {
  for (std::size_t i = 0; i < n; ++i) {
    if (s == list[i]) return true;
  }
  return false;
}

// A cell's text, and whether it came from a JSON string (or a list of them): only text can be a
// formula, so a negative number is never defused.
struct Cell {
  std::string text;
  bool is_text = false;
};

// A JSON scalar as a cell: strings as they are, numbers and booleans as JSON writes them.
Cell scalar(const json& v) {
  if (v.is_null()) return {};
  if (v.is_string()) return {v.get<std::string>(), true};
  return {v.dump(), false};
}

Cell joined(const json& list, const char* member = nullptr, const char* score = nullptr) {
  Cell out{{}, true};
  for (const json& item : list) {
    if (!out.text.empty()) out.text += ';';
    out.text += scalar(member ? item.value(member, json()) : item).text;
    if (score) out.text += ":" + scalar(item.value(score, json())).text;
  }
  return out;
}

Cell cell(const json& record, const std::string& column) {
  static const char* const kPhoto[] = {"taken", "taken_source", "camera", "camera_make", "camera_model",
                                       "lens", "latitude", "longitude"};
  static const char* const kLook[] = {"tone", "brightness", "saturation", "colourfulness", "warmth"};
  if (column.rfind("meta.", 0) == 0) {
    const json& meta = record.at("metadata");
    const auto it = meta.find(column.substr(5));
    if (it == meta.end()) return {};
    return it->is_array() ? joined(*it) : scalar(*it);
  }
  if (in(kPhoto, std::size(kPhoto), column)) return scalar(record.at("photo").value(column, json()));
  const auto analysis = record.find("analysis");
  if (column == "colours") return analysis == record.end() ? Cell{} : joined(analysis->at("colours"), "name");
  if (in(kLook, std::size(kLook), column)) return analysis == record.end() ? Cell{} : scalar(analysis->value(column, json()));
  if (column == "labels") return record.contains("labels") ? joined(record.at("labels"), "name", "score") : Cell{};
  if (column == "tags") return joined(record.at("tags"));
  return scalar(record.value(column, json()));
}

// RFC 4180 quoting; and a text starting with = + - @ (a formula to a spreadsheet, which a hostile
// file name or metadata value could use to run one when the file is opened) gets a leading ',
// as OWASP advises.
std::string quoted(const Cell& c) {
  std::string text = c.text;
  if (c.is_text && !text.empty() && std::string("=+-@\t\r").find(text[0]) != std::string::npos) text.insert(0, 1, '\'');
  if (text.find_first_of(",\"\r\n") == std::string::npos && (text.empty() || (text.front() != ' ' && text.back() != ' ')))
    return text;
  std::string out = "\"";
  for (const char ch : text) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

std::vector<std::string> csv_columns(const std::vector<std::string>& metadata_keys) {
  std::vector<std::string> out(std::begin(kColumns), std::end(kColumns));
  for (const std::string& key : metadata_keys) out.push_back("meta." + escape_path(key));
  return out;
}

std::string csv_line(const std::vector<std::string>& cells) {
  std::string out;
  for (std::size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + quoted(Cell{cells[i], false});
  return out + "\r\n";
}

std::string to_csv_line(const json& record, const std::vector<std::string>& columns) {
  std::string out;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    out += (i ? "," : "") + quoted(cell(record, columns[i]));
  }
  return out + "\r\n";
}

}  // namespace imgvec::wire

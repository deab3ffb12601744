// The names of the database's options, one reading for the CLI, the server and Python (issue 20:
// each parsed them its own way).
#include "imgvec/database.hpp"
#include <cctype>

#include "imgvec/error.hpp"
#include "imgvec/path_text.hpp"

namespace imgvec {

const char* to_string(ExportFormat format) {
  switch (format) {
    case ExportFormat::json: return "json";
    case ExportFormat::csv: return "csv";
    case ExportFormat::jsonl: break;
  }
  return "jsonl";
}

ExportFormat parse_export_format(const std::string& text) {
  for (const ExportFormat f : {ExportFormat::jsonl, ExportFormat::json, ExportFormat::csv}) {
    if (text == to_string(f)) return f;
  }
  throw Error(ErrorCode::invalid_argument, "format \"" + text + "\": expected jsonl, json or csv");
}

ExportFormat export_format_for_path(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const auto dot = name.find_last_of('.');
  if (dot == std::string::npos || dot == 0) return ExportFormat::jsonl;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "json") return ExportFormat::json;
  if (ext == "jsonl" || ext == "ndjson") return ExportFormat::jsonl;
  if (ext == "csv") return ExportFormat::csv;
  throw Error(ErrorCode::invalid_argument, escape_path(path) + ": records are written as .jsonl (JSON lines), .json (one "
                                           "array) or .csv; name the file so, or give the format (--format, format=)");
}

const char* to_string(Durability durability) { return durability == Durability::on_write ? "on_write" : "on_save"; }

Durability parse_durability(const std::string& text) {
  for (const Durability d : {Durability::on_save, Durability::on_write}) {
    if (text == to_string(d)) return d;
  }
  throw Error(ErrorCode::invalid_argument, "durability \"" + text + "\": expected on_save or on_write");
}

}  // namespace imgvec

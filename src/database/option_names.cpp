// The names of the database's options, one reading for the CLI, the server and Python (issue 20:
// each parsed them its own way).
#include "imgvec/database.hpp"
#include "imgvec/error.hpp"

namespace imgvec {

const char* to_string(ExportFormat format) { return format == ExportFormat::json ? "json" : "jsonl"; }

ExportFormat parse_export_format(const std::string& text) {
  for (const ExportFormat f : {ExportFormat::jsonl, ExportFormat::json}) {
    if (text == to_string(f)) return f;
  }
  throw Error(ErrorCode::invalid_argument, "format \"" + text + "\": expected jsonl or json");
}

const char* to_string(Durability durability) { return durability == Durability::on_write ? "on_write" : "on_save"; }

Durability parse_durability(const std::string& text) {
  for (const Durability d : {Durability::on_save, Durability::on_write}) {
    if (text == to_string(d)) return d;
  }
  throw Error(ErrorCode::invalid_argument, "durability \"" + text + "\": expected on_save or on_write");
}

}  // namespace imgvec

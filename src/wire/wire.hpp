#pragma once
// imgvec's one wire format: the JSON shape of each type that leaves the library, used as
// nlohmann::json values by the exports and imports, the CLI's --json, the server's API and (turned
// into dicts) the Python module. One function per type, so the front ends cannot drift apart (they
// had: three shapes of the stats, "keep" and "keeper", issue 20). docs/server.md shows each shape.
// Private to the project: the front ends and core's exchange include it, users do not.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "imgvec/database.hpp"
#include "imgvec/error.hpp"

namespace imgvec::wire {

using nlohmann::json;

/// A record: what exports write and imports read back (record_from_json is its inverse). With
/// `portable_in`, a file in that database's own files/ folder is written "$DB/files/NAME"
/// (VectorDatabase::portable_source), for answers that should not say where it lives.
json to_json(const ImageRecord& record, const VectorDatabase* portable_in = nullptr);
/// User metadata: text keys (escaped where not UTF-8) to strings, numbers, booleans or lists of
/// strings.
json to_json(const Metadata& metadata);
/// Metadata from JSON, as people and programs send it: Error(`code`) naming `what` and the key
/// for anything but an object of strings, 64-bit integers, numbers, booleans and lists of strings
/// (null values are skipped when `skip_nulls`: exports write a non-finite number as null).
Metadata metadata_from_json(const json& value, ErrorCode code, const std::string& what, bool skip_nulls = false);

/// {kind, model, model_hash, dimension, preprocessing}.
json to_json(const EncoderFingerprint& encoder);
/// The inverse; Error(corrupt_file) naming `what` for a missing or mistyped field.
EncoderFingerprint fingerprint_from_json(const json& value, const std::string& what);

/// One file's outcome of an add: {source, status, id}, and error when it failed.
json to_json(const AddResult& result);
/// Every count of an index_directory run by its field's name, with failures as AddResults.
json to_json(const IndexDirectoryReport& report);
/// Every field of DatabaseStats, by its own name; "encoder" is the fingerprint object.
json to_json(const DatabaseStats& stats);
/// A search hit: {id, score, record}.
json to_json(const SearchResult& hit, const VectorDatabase* portable_in = nullptr);
/// A duplicate group: {keeper, exact, paths (the members' files, the keeper's first), images:
/// [{id, score, matched_by, keeper, record}]}, with
/// records from `db` (an image removed meanwhile is left out), portable sources if `portable`.
json to_json(const DuplicateGroup& group, const VectorDatabase& db, bool portable = false);

/// Records as CSV: the columns (the record's fields, its photo facts and look, then "meta.KEY"
/// for each user metadata key), a header or any line of cells, and one record's line from its
/// to_json form. Lists are joined by ';' (labels as name:score); RFC 4180 quoting, CRLF line ends;
/// a text cell starting with = + - or @ gets a leading ' so a spreadsheet does not run it.
std::vector<std::string> csv_columns(const std::vector<std::string>& metadata_keys);
std::string csv_line(const std::vector<std::string>& cells);
std::string to_csv_line(const json& record, const std::vector<std::string>& columns);

/// {count, dated, first_taken, last_taken (ISO, when any is dated), cameras, labels, tags, colours:
/// [{name, count}], most common first}.
json to_json(const LibraryFacets& facets);

/// A record from to_json's output; Error(corrupt_file) naming `what` and the field.
ImageRecord record_from_json(const json& value, const std::string& what);

}  // namespace imgvec::wire

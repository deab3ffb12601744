#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "imgvec/metadata/metadata_store.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// A value as text typed the way filters and the CLI type it: an integer, else a number, else
/// true/false, else the text itself.
MetadataValue parse_metadata_value(const std::string& text);

/// A condition on image records, for filtered search: equality, numeric ranges, set membership
/// and tags, combined with and, or, not. A default-constructed Where matches everything.
///
/// Keys name a record field (width, height, format, source, file_size, mtime_ns, added_ms, id;
/// modified: the file's modification time as wall-clock ms, a date like taken), a photo fact
/// (taken: wall-clock ms, see PhotoFacts, only from the photo's metadata or a camera's file name;
/// taken_source: exif or file_name; camera: make and model as
/// PhotoFacts::camera() says them; camera_make; camera_model; lens; latitude; longitude), an
/// image analysis value (colour, or color: the names of its dominant colours, so colour=blue
/// matches any blue in the palette; brightness; saturation; colourfulness; warmth; tone: warm,
/// cool or neutral), label (the names of its zero-shot labels), or else a user metadata key;
/// "meta.KEY" always means the user key. Integers and doubles
/// compare by value; a list-of-strings value equals X when it contains X; a missing key matches
/// nothing (and so its negation matches).
class Where {
 public:
  Where();
  static Where eq(std::string key, MetadataValue value);
  /// lo <= value <= hi on numeric values; either bound may be open.
  static Where range(std::string key, std::optional<double> lo, std::optional<double> hi);
  static Where in(std::string key, std::vector<MetadataValue> values);
  static Where tag(std::string tag);
  /// Records that have a value under `key` (any value).
  static Where has(std::string key);
  /// A string value (or a list item) matching a shell-style pattern: * any run, ? one
  /// character, ASCII letters in either case ("canon*" matches "Canon EOS 5D").
  static Where glob(std::string key, std::string pattern);
  /// Parses one condition: KEY=VALUE, KEY!=VALUE, KEY>=N, KEY<=N, KEY>N, KEY<N,
  /// KEY=A|B|C (any of), KEY=LO..HI (a closed range of numbers), KEY=PATTERN with * or ? (glob),
  /// tag=T. VALUE is an integer, a number, true/false, or else a string. For `taken` and `modified` the values
  /// are dates naming periods (parse_date_period): taken=2023-06 is all of June, taken>=2023-06-01
  /// from that day on, taken<=2023 to the end of 2023, taken=2023-06-01..2023-06-15 both days and
  /// those between.
  /// Throws imgvec::Error (invalid_argument) naming the expression when it is malformed: no
  /// operator, an empty key, value or alternative (`a!=`, `tag=`, `a=b|`).
  static Where condition(const std::string& condition);
  /// Parses the filter syntax of the CLI's --where, the server's "filter" and the page: conditions
  /// (see condition()) joined by `and`, `or` and `not` (any case) and grouped by parentheses;
  /// `and` binds tighter than `or`: `format=jpeg and (camera=canon* or camera=nikon*)`. A value
  /// runs to the next ` and `/` or ` or an unmatched `)`, so it may hold spaces
  /// (`camera=Canon EOS 5D`); a value in double quotes is taken literally, with no alternatives,
  /// ranges or wildcards (`title="cats and dogs (2)"`, `\"` and `\\` inside).
  /// At most 256 conditions and 32 levels of parentheses. Throws imgvec::Error (invalid_argument)
  /// naming the expression and the place where it went wrong.
  static Where parse(const std::string& expression);
  /// Parses a filter in Qdrant's JSON shape: {"must": [...], "should": [...], "must_not": [...]},
  /// whose conditions are {"key": K, "match": {"value": V}}, {"key": K, "match": {"any": [...]}},
  /// {"key": K, "match": {"except": [...]}}, {"key": K, "match": {"text": T}} (a substring, any
  /// case), {"key": K, "range": {"gt", "gte", "lt", "lte"}} (numbers; dates for `taken`, also
  /// under "datetime_range"), {"has_id": [ids]}, {"is_empty": {"key": K}}, or a nested filter.
  /// `should` needs at least one of its conditions to hold. Keys are those of condition(); `tag`
  /// matches tags. Throws imgvec::Error (invalid_argument) naming the unknown field (with "did you
  /// mean") or the malformed part; JSON nested deeper than 64 levels is refused before parsing.
  static Where from_json(const std::string& json_text);

  Where operator&&(const Where& other) const;
  Where operator||(const Where& other) const;
  Where operator!() const;

  bool matches(const ImageRecord& record) const;
  /// True when this matches every record (no condition).
  bool matches_all() const { return node_ == nullptr; }
  /// A readable form, for messages.
  std::string to_string() const;
  /// The keys the condition reads (record fields and metadata keys, "meta." kept), in order of
  /// appearance, without duplicates; tags are not keys.
  std::vector<std::string> keys() const;
  /// The tags its tag=T conditions name, in order of appearance, without duplicates.
  std::vector<std::string> tags() const;
  /// Whether `key` names a record field (width, height, ...) rather than user metadata.
  static bool is_record_field(const std::string& key);
  /// Whether `key`'s values are dates naming periods: `taken` and `modified`.
  static bool is_date_key(const std::string& key) { return key == "taken" || key == "modified"; }

  struct Node;

 private:
  explicit Where(std::shared_ptr<const Node> node);
  std::shared_ptr<const Node> node_;
};

}  // namespace imgvec
IMGVEC_API_END

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// Where PhotoFacts::taken_ms came from.
enum class TakenSource : std::uint8_t {
  none = 0,       ///< not known
  exif = 1,       ///< the camera's DateTimeOriginal (or DateTimeDigitized when that is missing)
  file_time = 2,  ///< the file's modification time, in the indexing machine's time zone
};
/// "none", "exif", "file_time".
const char* to_string(TakenSource source);

/// What a photo's EXIF data (and its file) say about it, read when it is added.
struct PhotoFacts {
  /// When it was taken, as the clock where it was taken read: ms since 1970-01-01 00:00 on that
  /// clock (a local wall-clock time, not UTC; what people mean by "photos of June 1st").
  std::optional<std::int64_t> taken_ms;
  /// That clock's offset from UTC in minutes, when known (EXIF OffsetTimeOriginal; the indexing
  /// machine's zone for file times). taken_ms - offset * 60000 is the UTC instant.
  std::optional<std::int16_t> taken_offset_min;
  TakenSource taken_source = TakenSource::none;
  std::string camera_make;   ///< EXIF Make, trimmed ("Canon", "Apple")
  std::string camera_model;  ///< EXIF Model, trimmed ("Canon EOS 5D", "iPhone 13")
  std::string lens;          ///< EXIF LensModel, trimmed
  /// GPS position in degrees (north and east positive), when the EXIF GPS data is complete.
  std::optional<double> latitude, longitude;

  /// Make and model as people say them: the model alone when it already starts with the make
  /// ("Canon PowerShot S230"), else both ("NIKON E5700"); empty when neither is known.
  std::string camera() const;
  /// taken_ms as ISO 8601 ("2023-06-01T14:03:22", with ".120" for milliseconds and "+02:00"
  /// when the offset is known); empty when unknown.
  std::string taken_text() const;
  bool operator==(const PhotoFacts& o) const;
  bool operator!=(const PhotoFacts& o) const { return !(*this == o); }
};

/// The facts in an encoded image's EXIF data (JPEG, PNG, WebP, TIFF, HEIC, AVIF), read with
/// libexif. Nothing (an empty PhotoFacts) when the file has no EXIF data, when it is malformed,
/// or when this build has no libexif; never throws. Dates that are blank or all zeros ("0000:00:00
/// 00:00:00", as some cameras write before their clock is set) count as unknown.
PhotoFacts read_photo_facts(const void* data, std::size_t size);

/// A file modification time (ns since the Unix epoch) as a fallback PhotoFacts date: the local
/// time of this machine's zone then, with its offset, TakenSource::file_time.
void set_taken_from_file_time(PhotoFacts& facts, std::int64_t mtime_ns);

/// Parses a date or date-time as filters and the CLI write it: "2023", "2023-06", "2023-06-01",
/// "2023-06-01T14:03", "2023-06-01 14:03:22" (also with ':' between the date's fields, as EXIF
/// writes them). Returns the period it names as [first, end) in wall-clock ms (see
/// PhotoFacts::taken_ms): a whole year, month, day, minute or second. Nothing when the text is
/// not such a date or names an impossible one.
std::optional<std::pair<std::int64_t, std::int64_t>> parse_date_period(const std::string& text);

}  // namespace imgvec
IMGVEC_API_END

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
  none = 0,  ///< not known
  exif = 1,  ///< the camera's DateTimeOriginal (or DateTimeDigitized when that is missing)
  /// Retired: the file's modification time. A copy's file time is the day it was copied, so a
  /// date from it is not when the photo was taken; records that had it lose the date when read,
  /// and the file time has its own filter key, `modified`.
  file_time = 2,
  file_name = 3,  ///< a camera's or phone's file name pattern, such as IMG_20230601_142233.jpg
};
/// "none", "exif", "file_time", "file_name".
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

/// The date a camera or phone wrote into a file's name, when the name (the last part of `path`)
/// holds one: "IMG_20230601_142233.jpg", "PXL_20230601_142233123.jpg", "Screenshot_20230601-142233.png",
/// "signal-2023-06-01-142233.jpg", "2023-06-01 14.22.33.jpg" (Dropbox's camera uploads). A date
/// and a time of day are both needed (a date alone says no time), in years 1980-2099. Sets
/// taken_ms (no offset: the name does not say the zone) and TakenSource::file_name, and returns
/// true; leaves `facts` alone and returns false otherwise.
bool set_taken_from_file_name(PhotoFacts& facts, const std::string& path);

/// Completes a record's date for the file at `path`: EXIF's when it has one, else the file name's
/// (above; taken again from a renamed file's new name), else none. A file's modification time is
/// never a date taken (it is when the file was last written): a TakenSource::file_time date is
/// dropped.
void complete_taken(PhotoFacts& facts, const std::string& path);

/// A file modification time (ns since the Unix epoch) as wall-clock ms in this machine's zone, the
/// scale of PhotoFacts::taken_ms, so that `modified>=2023-06-01` reads as `taken` does.
std::int64_t file_time_wall_ms(std::int64_t mtime_ns);

/// Parses a date or date-time as filters and the CLI write it: "2023", "2023-06", "2023-06-01",
/// "2023-06-01T14:03", "2023-06-01 14:03:22" (also with ':' between the date's fields, as EXIF
/// writes them). Returns the period it names as [first, end) in wall-clock ms (see
/// PhotoFacts::taken_ms): a whole year, month, day, minute or second. Nothing when the text is
/// not such a date or names an impossible one.
std::optional<std::pair<std::int64_t, std::int64_t>> parse_date_period(const std::string& text);

}  // namespace imgvec
IMGVEC_API_END

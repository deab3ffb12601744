// EXIF facts (date taken, camera, lens, GPS) through libexif, which is fuzzed upstream (OSS-Fuzz)
// and reads every IFD, including the EXIF and GPS ones, in either byte order. imgvec finds the
// EXIF block in each container itself (exif.cpp) and hands libexif the block alone.
#include "imgvec/image/photo_facts.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <vector>

#ifdef IMGVEC_HAS_EXIF
#include <libexif/exif-data.h>
#endif

#include "image/exif.hpp"

namespace imgvec {
namespace {

constexpr std::int64_t kMsPerDay = 86400000;

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(std::int64_t y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Leap days in the years 1 .. y-1 of the proleptic Gregorian calendar.
std::int64_t leap_days_before(std::int64_t y) { return (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400; }

// Days from 1970-01-01 to y-m-d (years 1-9999).
std::int64_t days_since_epoch(std::int64_t y, int m, int d) {
  std::int64_t days = 365 * (y - 1970) + leap_days_before(y) - leap_days_before(1970);
  for (int k = 1; k < m; ++k) days += days_in_month(y, k);
  return days + d - 1;
}

struct Civil {
  std::int64_t year;
  int month, day, hour, minute, second, ms;
};

Civil civil_from_ms(std::int64_t ms) {
  std::int64_t days = ms >= 0 ? ms / kMsPerDay : -((-ms + kMsPerDay - 1) / kMsPerDay);
  std::int64_t rest = ms - days * kMsPerDay;
  Civil c{};
  c.year = 1970 + days / 366;  // an underestimate; walk forward
  while (days_since_epoch(c.year + 1, 1, 1) <= days) ++c.year;
  while (days_since_epoch(c.year, 1, 1) > days) --c.year;
  days -= days_since_epoch(c.year, 1, 1);
  c.month = 1;
  while (days >= days_in_month(c.year, c.month)) days -= days_in_month(c.year, c.month++);
  c.day = static_cast<int>(days) + 1;
  c.hour = static_cast<int>(rest / 3600000);
  rest %= 3600000;
  c.minute = static_cast<int>(rest / 60000);
  rest %= 60000;
  c.second = static_cast<int>(rest / 1000);
  c.ms = static_cast<int>(rest % 1000);
  return c;
}

// Reads exactly `digits` decimal digits at s[at], advancing `at`.
bool digits(const std::string& s, std::size_t& at, int count, int& out) {
  if (at + static_cast<std::size_t>(count) > s.size()) return false;
  out = 0;
  for (int i = 0; i < count; ++i) {
    const char c = s[at + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  at += static_cast<std::size_t>(count);
  return true;
}

std::string trimmed(std::string s) {
  const auto keep = [](char c) { return c != ' ' && c != '\0' && c != '\t' && c != '\n' && c != '\r'; };
  s.erase(std::find_if(s.rbegin(), s.rend(), keep).base(), s.end());
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), keep));
  return s;
}

// "+02:00", "-05:30", "Z": minutes east of UTC.
std::optional<std::int16_t> parse_offset(const std::string& text) {
  const std::string s = trimmed(text);
  if (s == "Z") return std::int16_t{0};
  std::size_t at = 1;
  int h = 0, m = 0;
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || !digits(s, at, 2, h) || s[at++] != ':' ||
      !digits(s, at, 2, m) || h > 18 || m > 59) {
    return std::nullopt;
  }
  const int minutes = h * 60 + m;
  return static_cast<std::int16_t>(s[0] == '-' ? -minutes : minutes);
}

#ifdef IMGVEC_HAS_EXIF

struct ExifDataRef {
  ExifData* data = exif_data_new();
  ~ExifDataRef() {
    if (data) exif_data_unref(data);
  }
};

std::string ascii(ExifContent* ifd, ExifTag tag) {
  ExifEntry* e = ifd ? exif_content_get_entry(ifd, tag) : nullptr;
  if (!e || e->format != EXIF_FORMAT_ASCII || !e->data) return {};
  const std::size_t n = std::min<std::size_t>(e->size, 256);  // names, not essays
  std::string s(reinterpret_cast<const char*>(e->data), n);
  if (const auto nul = s.find('\0'); nul != std::string::npos) s.resize(nul);
  return trimmed(s);
}

// Degrees from GPS's three RATIONALs (degrees, minutes, seconds) and its N/S or E/W reference.
std::optional<double> gps_degrees(ExifContent* gps, ExifTag value_tag, ExifTag ref_tag, ExifByteOrder order,
                                  char negative, double limit) {
  ExifEntry* e = gps ? exif_content_get_entry(gps, value_tag) : nullptr;
  const std::string ref = ascii(gps, ref_tag);
  if (!e || e->format != EXIF_FORMAT_RATIONAL || e->components < 3 || e->size < 24 || ref.empty()) return std::nullopt;
  double parts[3];
  for (int i = 0; i < 3; ++i) {
    const ExifRational r = exif_get_rational(e->data + 8 * i, order);
    if (r.denominator == 0) return std::nullopt;
    parts[i] = static_cast<double>(r.numerator) / r.denominator;
  }
  double degrees = parts[0] + parts[1] / 60 + parts[2] / 3600;
  if (ref[0] == negative) degrees = -degrees;
  if (!std::isfinite(degrees) || std::abs(degrees) > limit) return std::nullopt;
  return degrees;
}

#endif

}  // namespace

const char* to_string(TakenSource source) {
  switch (source) {
    case TakenSource::exif: return "exif";
    case TakenSource::file_time: return "file_time";
    case TakenSource::file_name: return "file_name";
    case TakenSource::none: break;
  }
  return "none";
}

std::string PhotoFacts::camera() const {
  if (camera_make.empty()) return camera_model;
  if (camera_model.empty()) return camera_make;
  // "Canon" + "Canon PowerShot S230": the model already says it.
  if (camera_model.size() >= camera_make.size() &&
      std::equal(camera_make.begin(), camera_make.end(), camera_model.begin(),
                 [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); })) {
    return camera_model;
  }
  return camera_make + " " + camera_model;
}

std::string PhotoFacts::taken_text() const {
  if (!taken_ms) return {};
  const Civil c = civil_from_ms(*taken_ms);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d", static_cast<long long>(c.year), c.month,
                        c.day, c.hour, c.minute, c.second);
  std::string s(buf, static_cast<std::size_t>(n));
  if (c.ms) {
    n = std::snprintf(buf, sizeof buf, ".%03d", c.ms);
    s.append(buf, static_cast<std::size_t>(n));
  }
  if (taken_offset_min) {
    const int off = *taken_offset_min, a = std::abs(off);
    n = std::snprintf(buf, sizeof buf, "%c%02d:%02d", off < 0 ? '-' : '+', a / 60, a % 60);
    s.append(buf, static_cast<std::size_t>(n));
  }
  return s;
}

bool PhotoFacts::operator==(const PhotoFacts& o) const {
  return taken_ms == o.taken_ms && taken_offset_min == o.taken_offset_min && taken_source == o.taken_source &&
         camera_make == o.camera_make && camera_model == o.camera_model && lens == o.lens &&
         latitude == o.latitude && longitude == o.longitude;
}

std::optional<std::pair<std::int64_t, std::int64_t>> parse_date_period(const std::string& text) {
  const std::string s = trimmed(text);
  std::size_t at = 0;
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  if (!digits(s, at, 4, year) || year < 1) return std::nullopt;
  auto separator = [&](const char* allowed) {
    if (at < s.size() && std::strchr(allowed, s[at])) {
      ++at;
      return true;
    }
    return false;
  };
  std::int64_t length_days = leap(year) ? 366 : 365;
  std::int64_t length_ms = 0;  // for periods shorter than a day
  if (at < s.size()) {
    if (!separator("-:") || !digits(s, at, 2, month) || month < 1 || month > 12) return std::nullopt;
    length_days = days_in_month(year, month);
    if (at < s.size()) {
      if (!separator("-:") || !digits(s, at, 2, day) || day < 1 || day > days_in_month(year, month)) return std::nullopt;
      length_days = 1;
      if (at < s.size()) {
        if (!separator("T ") || !digits(s, at, 2, hour) || hour > 23 || !separator(":") || !digits(s, at, 2, minute) ||
            minute > 59) {
          return std::nullopt;
        }
        length_days = 0;
        length_ms = 60000;
        if (at < s.size()) {
          if (!separator(":") || !digits(s, at, 2, second) || second > 59) return std::nullopt;
          length_ms = 1000;
        }
        if (at != s.size()) return std::nullopt;
      }
    }
  }
  const std::int64_t first = days_since_epoch(year, month, day) * kMsPerDay +
                             (std::int64_t{hour} * 3600 + minute * 60 + second) * 1000;
  return std::pair{first, first + length_days * kMsPerDay + length_ms};
}

std::int64_t file_time_wall_ms(std::int64_t mtime_ns) {
  const std::int64_t ms = mtime_ns >= 0 ? mtime_ns / 1000000 : -((-mtime_ns + 999999) / 1000000);
  const std::time_t seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
  std::tm local{};
  if (!localtime_r(&seconds, &local)) return ms;
  return ms + static_cast<std::int64_t>(local.tm_gmtoff) * 1000;
}

PhotoFacts read_photo_facts(const void* data, std::size_t size) {
  PhotoFacts facts;
#ifdef IMGVEC_HAS_EXIF
  const auto* d = static_cast<const std::uint8_t*>(data);
  if (!d || size == 0) return facts;
  const detail::ExifBlock block = detail::find_exif_block(d, size, detect_image_format(d, size));
  if (block.empty()) return facts;
  // A camera's EXIF is tens of kilobytes (a JPEG segment holds at most 64 kB). A TIFF file is its
  // own EXIF block, pixels included: its tags lie in the first megabyte in the files seen.
  const std::size_t n = std::min<std::size_t>(block.bytes.size(), 1 << 20);
  std::vector<unsigned char> segment(6 + n);  // libexif reads the JPEG segment's form
  std::memcpy(segment.data(), "Exif\0\0", 6);
  std::memcpy(segment.data() + 6, block.bytes.data(), n);
  ExifDataRef exif;
  if (!exif.data) return facts;
  // Read what is there; never "fix" it (FOLLOW_SPECIFICATION adds and rewrites tags).
  exif_data_unset_option(exif.data, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
  exif_data_load_data(exif.data, segment.data(), static_cast<unsigned int>(segment.size()));
  ExifContent* ifd0 = exif.data->ifd[EXIF_IFD_0];
  ExifContent* sub = exif.data->ifd[EXIF_IFD_EXIF];
  ExifContent* gps = exif.data->ifd[EXIF_IFD_GPS];
  const ExifByteOrder order = exif_data_get_byte_order(exif.data);
  facts.camera_make = ascii(ifd0, EXIF_TAG_MAKE);
  facts.camera_model = ascii(ifd0, EXIF_TAG_MODEL);
  facts.lens = ascii(sub, EXIF_TAG_LENS_MODEL);
  struct DateTags {
    ExifTag date, offset, subsec;
  };
  for (const DateTags t : {DateTags{EXIF_TAG_DATE_TIME_ORIGINAL, EXIF_TAG_OFFSET_TIME_ORIGINAL, EXIF_TAG_SUB_SEC_TIME_ORIGINAL},
                           DateTags{EXIF_TAG_DATE_TIME_DIGITIZED, EXIF_TAG_OFFSET_TIME_DIGITIZED,
                                    EXIF_TAG_SUB_SEC_TIME_DIGITIZED}}) {
    // "YYYY:MM:DD HH:MM:SS"; blank or zero dates (a camera whose clock was never set) fail here.
    const std::string text = ascii(sub, t.date);
    const auto period = text.size() == 19 ? parse_date_period(text) : std::nullopt;
    if (!period) continue;
    facts.taken_ms = period->first;
    const std::string subsec = ascii(sub, t.subsec);
    if (subsec.size() >= 1 && std::all_of(subsec.begin(), subsec.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      const std::string three = (subsec + "00").substr(0, 3);
      *facts.taken_ms += std::stoi(three);
    }
    facts.taken_offset_min = parse_offset(ascii(sub, t.offset));
    facts.taken_source = TakenSource::exif;
    break;
  }
  const auto lat = gps_degrees(gps, static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE),
                               static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE_REF), order, 'S', 90);
  const auto lon = gps_degrees(gps, static_cast<ExifTag>(EXIF_TAG_GPS_LONGITUDE),
                               static_cast<ExifTag>(EXIF_TAG_GPS_LONGITUDE_REF), order, 'W', 180);
  if (lat && lon) {
    facts.latitude = lat;
    facts.longitude = lon;
  }
#else
  (void)data;
  (void)size;
#endif
  return facts;
}

}  // namespace imgvec

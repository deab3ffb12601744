// Dates that cameras and phones write into file names, for photos whose metadata holds none
// (messengers and screenshots strip or never write EXIF). Only a date together with a time of
// day counts: "20230601" alone could be any number, and a day with no time is not a moment.
#include <cctype>
#include <cstdio>

#include "imgvec/image/photo_facts.hpp"

namespace imgvec {
namespace {

bool digit_at(const std::string& s, std::size_t i) {
  return i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]));
}

// `count` digits at `at` (moved past them).
bool take_digits(const std::string& s, std::size_t& at, int count, std::string& out) {
  for (int k = 0; k < count; ++k) {
    if (!digit_at(s, at)) return false;
    out += s[at++];
  }
  return true;
}

bool take_one_of(const std::string& s, std::size_t& at, const char* allowed, char& out) {
  if (at >= s.size()) return false;
  for (const char* a = allowed; *a; ++a) {
    if (s[at] == *a) {
      out = s[at++];
      return true;
    }
  }
  return false;
}

// "20230601" or "2023-06-01" at `at`, as "2023-06-01".
bool take_date(const std::string& s, std::size_t& at, std::string& date) {
  std::string y, m, d;
  char dash = 0;
  if (!take_digits(s, at, 4, y)) return false;
  if (digit_at(s, at)) {
    if (!take_digits(s, at, 2, m) || !take_digits(s, at, 2, d)) return false;
  } else if (!take_one_of(s, at, "-", dash) || !take_digits(s, at, 2, m) || !take_one_of(s, at, "-", dash) ||
             !take_digits(s, at, 2, d)) {
    return false;
  }
  date = y + "-" + m + "-" + d;
  return true;
}

// "142233", "142233123" (milliseconds), "14.22.33" or "14-22-33" at `at`, as "14:22:33" and ms.
bool take_time(const std::string& s, std::size_t& at, std::string& time, int& ms) {
  std::string h, m, sec;
  if (!take_digits(s, at, 2, h)) return false;
  char sep = 0, again = 0;
  if (digit_at(s, at)) {
    if (!take_digits(s, at, 2, m) || !take_digits(s, at, 2, sec)) return false;
    std::string fraction;
    if (take_digits(s, at, 3, fraction)) ms = std::stoi(fraction);
  } else if (!take_one_of(s, at, ".-", sep) || !take_digits(s, at, 2, m) || !take_one_of(s, at, ".-", again) ||
             again != sep || !take_digits(s, at, 2, sec)) {
    return false;
  }
  if (digit_at(s, at)) return false;  // part of a longer number
  time = h + ":" + m + ":" + sec;
  return true;
}

}  // namespace

bool set_taken_from_file_name(PhotoFacts& facts, const std::string& path) {
  const auto slash = path.find_last_of("/\\");
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  for (std::size_t start = 0; start < name.size(); ++start) {
    if (!digit_at(name, start) || (start > 0 && digit_at(name, start - 1))) continue;
    std::size_t at = start;
    std::string date, time;
    char sep = 0;
    int ms = 0;
    if (!take_date(name, at, date) || !take_one_of(name, at, "_- ", sep) || !take_time(name, at, time, ms)) continue;
    const int year = std::stoi(date.substr(0, 4));
    if (year < 1980 || year > 2099) continue;
    const auto period = parse_date_period(date + "T" + time);
    if (!period) continue;  // 2023-02-30, 25:61:00
    facts.taken_ms = period->first + ms;
    facts.taken_offset_min.reset();
    facts.taken_source = TakenSource::file_name;
    return true;
  }
  return false;
}

void complete_taken(PhotoFacts& facts, const std::string& path) {
  if (facts.taken_source != TakenSource::exif) {  // a name's date follows the name; a file time never counts
    facts.taken_ms.reset();
    facts.taken_offset_min.reset();
    facts.taken_source = TakenSource::none;
  }
  if (!facts.taken_ms) set_taken_from_file_name(facts, path);
}

}  // namespace imgvec

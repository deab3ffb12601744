// EXIF facts (libexif, behind imgvec's own block finder) from arbitrary files, and dates from
// arbitrary file names (the same bytes read as a name): never a crash, and only values in range.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "imgvec/image/photo_facts.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const imgvec::PhotoFacts f = imgvec::read_photo_facts(data, size);
  if (f.latitude && !(std::abs(*f.latitude) <= 90)) __builtin_trap();
  if (f.longitude && !(std::abs(*f.longitude) <= 180)) __builtin_trap();
  if (f.taken_ms.has_value() != (f.taken_source != imgvec::TakenSource::none)) __builtin_trap();
  if (f.taken_offset_min && std::abs(*f.taken_offset_min) > 18 * 60) __builtin_trap();
  (void)f.taken_text();
  (void)f.camera();
  imgvec::PhotoFacts named;
  const std::string name(reinterpret_cast<const char*>(data), std::min<std::size_t>(size, 4096));
  if (imgvec::set_taken_from_file_name(named, name)) {
    const std::string text = named.taken_text();  // years 1980-2099 only
    if (named.taken_source != imgvec::TakenSource::file_name || text < "1980" || text >= "2100") __builtin_trap();
  }
  return 0;
}

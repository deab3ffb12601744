// EXIF facts (libexif, behind imgvec's own block finder) from arbitrary files: never a crash,
// and only values in range.
#include <cmath>
#include <cstdint>

#include "imgvec/image/photo_facts.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const imgvec::PhotoFacts f = imgvec::read_photo_facts(data, size);
  if (f.latitude && !(std::abs(*f.latitude) <= 90)) __builtin_trap();
  if (f.longitude && !(std::abs(*f.longitude) <= 180)) __builtin_trap();
  if (f.taken_ms.has_value() != (f.taken_source != imgvec::TakenSource::none)) __builtin_trap();
  if (f.taken_offset_min && std::abs(*f.taken_offset_min) > 18 * 60) __builtin_trap();
  (void)f.taken_text();
  (void)f.camera();
  return 0;
}

// Metadata filter expressions (the CLI's --where), parsed and evaluated on a record.
#include <cstdint>
#include <string>

#include "imgvec/error.hpp"
#include "imgvec/metadata/where.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  imgvec::ImageRecord r;
  r.id = 7;
  r.source = "/p/a.jpg";
  r.width = 640;
  r.metadata = {
      {"camera", std::string("X100")}, {"iso", std::int64_t{400}}, {"f", 2.8}, {"ok", true}};
  r.tags = {"holiday"};
  try {
    const imgvec::Where w =
        imgvec::Where::parse(std::string(reinterpret_cast<const char*>(data), size));
    w.matches(r);
    (w && imgvec::Where::parse("width>=1")).matches(r);
  } catch (const imgvec::Error&) {
  }
  return 0;
}

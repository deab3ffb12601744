// Metadata filters, parsed and evaluated on a record: the string syntax (the CLI's --where, the
// server's "filter") and, for inputs that start with "{", the Qdrant-shaped JSON form.
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
    const std::string text(reinterpret_cast<const char*>(data), size);
    const imgvec::Where w = !text.empty() && text[0] == '{' ? imgvec::Where::from_json(text) : imgvec::Where::parse(text);
    w.matches(r);
    (w && imgvec::Where::parse("width>=1")).matches(r);
  } catch (const imgvec::Error&) {
  }
  return 0;
}

#pragma once
// The byte layout of image records in metadata files (docs/file-format.md, "Records").
//
// Written by hand rather than through cereal: a reader of outside bytes must check every length
// against the bytes that remain before it allocates (cereal allocates whatever a string's length
// claims), must refuse a bool that is neither 0 nor 1 (cereal reads the byte into a bool, which is
// undefined behaviour), and must skip fields appended by a newer writer, which needs each record
// framed by its length. The layout of format 1, which cereal's portable binary archive wrote, is
// still read.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "imgvec/metadata/metadata_store.hpp"

namespace imgvec::detail {

/// Appends a little-endian scalar (every imgvec file is little-endian), the counterpart of
/// RecordReader's u8/u32/u64.
template <typename T>
void put_scalar(std::string& out, T v) {
  char b[sizeof v];
  std::memcpy(b, &v, sizeof v);
  out.append(b, sizeof v);
}

/// Appends a u64 byte length and the bytes, the counterpart of RecordReader::string().
inline void put_string(std::string& out, const std::string& s) {
  put_scalar<std::uint64_t>(out, s.size());
  out += s;
}

/// Appends one record in the current layout (format 2.3), framed by its length.
void encode_record(std::string& out, const ImageRecord& record);

/// Sequential reader over a payload; every read checks the bytes left and throws
/// Error(corrupt_file) naming `path` when the data is malformed.
class RecordReader {
 public:
  RecordReader(std::string_view bytes, std::string path) : bytes_(bytes), path_(std::move(path)) {}

  std::uint8_t u8();
  std::uint32_t u32();
  std::uint64_t u64();
  std::string string();
  std::size_t remaining() const { return bytes_.size() - at_; }
  [[noreturn]] void fail(const std::string& what) const;

  /// One length-framed record (format 2.x). Fields past those this build knows are skipped.
  ImageRecord framed_record();
  /// The photo facts format 2.1 appends to a record.
  void photo_facts(PhotoFacts& facts);
  /// The image analysis format 2.2 appends.
  void analysis(ImageAnalysis& analysis);
  /// The labels format 2.3 appends.
  void labels(std::vector<Label>& labels);
  /// One record as format 1 wrote it (cereal's portable binary, no framing).
  ImageRecord legacy_record();

 private:
  void need(std::uint64_t n) const;
  std::string_view bytes_;
  std::size_t at_ = 0;
  std::string path_;
};

}  // namespace imgvec::detail

#pragma once
// Builds EXIF blocks (the TIFF structure cameras write: IFD0, the EXIF IFD and the GPS IFD) in
// either byte order, and JPEGs that carry them, for tests and fuzz seeds.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace imgvec::testing {

class ExifBuilder {
 public:
  enum Ifd { ifd0 = 0, exif = 1, gps = 2 };

  explicit ExifBuilder(bool little_endian = true) : little_(little_endian) {}

  ExifBuilder& ascii(Ifd ifd, std::uint16_t tag, const std::string& text) {
    std::vector<std::uint8_t> data(text.begin(), text.end());
    data.push_back(0);
    const auto count = static_cast<std::uint32_t>(data.size());  // before the move below
    return add(ifd, tag, 2, count, std::move(data));
  }
  ExifBuilder& short_value(Ifd ifd, std::uint16_t tag, std::uint16_t value) {
    std::vector<std::uint8_t> data;
    put(data, value, 2);
    return add(ifd, tag, 3, 1, std::move(data));
  }
  ExifBuilder& rationals(Ifd ifd, std::uint16_t tag, const std::vector<std::pair<std::uint32_t, std::uint32_t>>& values) {
    std::vector<std::uint8_t> data;
    for (const auto& [num, den] : values) {
      put(data, num, 4);
      put(data, den, 4);
    }
    return add(ifd, tag, 5, static_cast<std::uint32_t>(values.size()), std::move(data));
  }

  /// The TIFF block: header, IFD0 (with pointers to the EXIF and GPS IFDs when they have
  /// entries), then those IFDs, each followed by the values longer than 4 bytes.
  std::vector<std::uint8_t> build() const {
    std::vector<Entry> lists[3] = {entries_[0], entries_[1], entries_[2]};
    const bool has_exif = !lists[exif].empty(), has_gps = !lists[gps].empty();
    if (has_exif) lists[ifd0].push_back({0x8769, 4, 1, std::vector<std::uint8_t>(4)});
    if (has_gps) lists[ifd0].push_back({0x8825, 4, 1, std::vector<std::uint8_t>(4)});
    std::uint32_t offsets[3] = {8, 0, 0};
    offsets[exif] = offsets[ifd0] + size_of(lists[ifd0]);
    offsets[gps] = offsets[exif] + (has_exif ? size_of(lists[exif]) : 0);
    for (auto& e : lists[ifd0]) {
      if (e.tag == 0x8769 || e.tag == 0x8825) {
        e.data.clear();
        put(e.data, offsets[e.tag == 0x8769 ? exif : gps], 4);
      }
    }
    std::vector<std::uint8_t> out;
    out.push_back(little_ ? 'I' : 'M');
    out.push_back(little_ ? 'I' : 'M');
    put(out, 42, 2);
    put(out, 8, 4);
    for (int ifd : {0, 1, 2}) {
      if (ifd != ifd0 && lists[ifd].empty()) continue;
      write_ifd(out, lists[ifd], offsets[ifd]);
    }
    return out;
  }

 private:
  struct Entry {
    std::uint16_t tag, type;
    std::uint32_t count;
    std::vector<std::uint8_t> data;  // already in the block's byte order
  };

  ExifBuilder& add(Ifd ifd, std::uint16_t tag, std::uint16_t type, std::uint32_t count, std::vector<std::uint8_t> data) {
    entries_[ifd].push_back({tag, type, count, std::move(data)});
    return *this;
  }
  void put(std::vector<std::uint8_t>& out, std::uint32_t value, int bytes) const {
    for (int i = 0; i < bytes; ++i) {
      const int shift = little_ ? 8 * i : 8 * (bytes - 1 - i);
      out.push_back(static_cast<std::uint8_t>(value >> shift));
    }
  }
  static std::uint32_t padded(std::size_t n) { return static_cast<std::uint32_t>((n + 1) & ~std::size_t{1}); }
  static std::uint32_t size_of(const std::vector<Entry>& entries) {
    std::uint32_t n = 2 + 12 * static_cast<std::uint32_t>(entries.size()) + 4;
    for (const auto& e : entries) {
      if (e.data.size() > 4) n += padded(e.data.size());
    }
    return n;
  }
  void write_ifd(std::vector<std::uint8_t>& out, const std::vector<Entry>& entries, std::uint32_t at) const {
    put(out, static_cast<std::uint32_t>(entries.size()), 2);
    std::uint32_t data_at = at + 2 + 12 * static_cast<std::uint32_t>(entries.size()) + 4;
    std::vector<std::uint8_t> data;
    for (const auto& e : entries) {
      put(out, e.tag, 2);
      put(out, e.type, 2);
      put(out, e.count, 4);
      if (e.data.size() <= 4) {
        std::vector<std::uint8_t> inline_value = e.data;
        inline_value.resize(4, 0);  // left-justified in the value field, in either byte order
        out.insert(out.end(), inline_value.begin(), inline_value.end());
      } else {
        put(out, data_at, 4);
        data.insert(data.end(), e.data.begin(), e.data.end());
        if (e.data.size() % 2) data.push_back(0);
        data_at += padded(e.data.size());
      }
    }
    put(out, 0, 4);  // no next IFD
    out.insert(out.end(), data.begin(), data.end());
  }

  bool little_;
  std::vector<Entry> entries_[3];
};

/// `jpeg` with an APP1 segment holding `tiff_block` inserted after its SOI marker.
inline std::vector<std::uint8_t> jpeg_with_exif(std::vector<std::uint8_t> jpeg, const std::vector<std::uint8_t>& tiff_block) {
  std::vector<std::uint8_t> app1 = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
  app1.insert(app1.end(), tiff_block.begin(), tiff_block.end());
  const std::size_t length = app1.size() - 2;
  app1[2] = static_cast<std::uint8_t>(length >> 8);
  app1[3] = static_cast<std::uint8_t>(length & 0xFF);
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  return jpeg;
}

}  // namespace imgvec::testing

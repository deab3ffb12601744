// GIF through giflib (maintained, fuzzed in OSS-Fuzz), line by line into the output. stb_image's
// GIF decoder held a 4-byte canvas, a 4-byte background and a 1-byte history per pixel and then
// converted and copied the result: about 15 bytes per pixel, so a 37 KB file declaring 49 MP cost
// 412 MB per request (issue 19). Here the first frame's lines are read one at a time straight into
// the RGB output, which is the only per-pixel allocation (3 bytes per pixel, plus one line).
//
// The same pixels as before (so embeddings do not change): stb_image's first frame on a
// transparent canvas the size of the logical screen, then composited onto white by decode.cpp;
// here transparent pixels are white at once.
#include <gif_lib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "image/decoders.hpp"

namespace imgvec::detail {
namespace {

struct MemoryReader {
  const std::uint8_t* data;
  std::size_t size, at;
};

int read_from_memory(GifFileType* gif, GifByteType* out, int want) {
  auto* r = static_cast<MemoryReader*>(gif->UserData);
  const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(std::max(want, 0)), r->size - r->at);
  std::memcpy(out, r->data + r->at, n);
  r->at += n;
  return static_cast<int>(n);
}

struct GifCloser {
  void operator()(GifFileType* gif) const {
    int error = 0;
    DGifCloseFile(gif, &error);
  }
};

[[noreturn]] void damaged(const std::string& name, int error) {
  const char* why = GifErrorString(error);
  decode_fail(ErrorCode::corrupt_file, name, std::string("damaged gif data (") + (why ? why : "giflib error") + ")");
}

}  // namespace

RawImage decode_gif(const std::uint8_t* data, std::size_t size, const std::string& name, const DecodeOptions& options) {
  MemoryReader reader{data, size, 0};
  int error = 0;
  std::unique_ptr<GifFileType, GifCloser> gif(DGifOpen(&reader, read_from_memory, &error));
  if (!gif) damaged(name, error);
  const int screen_w = gif->SWidth, screen_h = gif->SHeight;
  check_dimensions(name, static_cast<std::uint64_t>(std::max(screen_w, 0)), static_cast<std::uint64_t>(std::max(screen_h, 0)),
                   options);
  int transparent = NO_TRANSPARENT_COLOR;
  for (;;) {
    GifRecordType record;
    if (DGifGetRecordType(gif.get(), &record) == GIF_ERROR) damaged(name, gif->Error);
    if (record == TERMINATE_RECORD_TYPE) decode_fail(ErrorCode::corrupt_file, name, "a gif with no image in it");
    if (record == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* block = nullptr;
      if (DGifGetExtension(gif.get(), &code, &block) == GIF_ERROR) damaged(name, gif->Error);
      if (code == GRAPHICS_EXT_FUNC_CODE && block && block[0] >= 4) {
        GraphicsControlBlock gcb;
        if (DGifExtensionToGCB(block[0], block + 1, &gcb) == GIF_OK) transparent = gcb.TransparentColor;
      }
      while (block) {
        if (DGifGetExtensionNext(gif.get(), &block) == GIF_ERROR) damaged(name, gif->Error);
      }
      continue;
    }
    if (record != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif.get()) == GIF_ERROR) damaged(name, gif->Error);
    const GifImageDesc& frame = gif->Image;
    if (frame.Left < 0 || frame.Top < 0 || frame.Width <= 0 || frame.Height <= 0 ||
        frame.Left + frame.Width > screen_w || frame.Top + frame.Height > screen_h)
      decode_fail(ErrorCode::corrupt_file, name, "damaged gif data (its first frame lies outside the screen)");
    const ColorMapObject* colours = frame.ColorMap ? frame.ColorMap : gif->SColorMap;
    if (!colours) decode_fail(ErrorCode::corrupt_file, name, "damaged gif data (no colour table)");
    RawImage img;
    img.width = static_cast<std::uint32_t>(screen_w);
    img.height = static_cast<std::uint32_t>(screen_h);
    img.alpha = false;
    img.pixels.assign(static_cast<std::size_t>(screen_w) * static_cast<std::size_t>(screen_h) * 3, 255);
    std::vector<GifPixelType> line(static_cast<std::size_t>(frame.Width));
    // Interlaced frames store rows in four passes: every 8th from 0, every 8th from 4, every 4th
    // from 2, every 2nd from 1.
    static const int kStart[] = {0, 4, 2, 1}, kStep[] = {8, 8, 4, 2};
    int read_rows = 0;
    for (int pass = 0; pass < (frame.Interlace ? 4 : 1); ++pass) {
      const int start = frame.Interlace ? kStart[pass] : 0, step = frame.Interlace ? kStep[pass] : 1;
      for (int y = start; y < frame.Height; y += step) {
        if (DGifGetLine(gif.get(), line.data(), frame.Width) == GIF_ERROR) {
          if (read_rows == 0) damaged(name, gif->Error);
          return img;  // cut short, as files often are: what arrived is shown, the rest white
        }
        ++read_rows;
        std::uint8_t* out = &img.pixels[(static_cast<std::size_t>(frame.Top + y) * screen_w + frame.Left) * 3];
        for (int x = 0; x < frame.Width; ++x, out += 3) {
          const int index = line[static_cast<std::size_t>(x)];
          if (index == transparent || index >= colours->ColorCount) continue;  // stays white
          const GifColorType& c = colours->Colors[index];
          out[0] = c.Red;
          out[1] = c.Green;
          out[2] = c.Blue;
        }
      }
    }
    return img;
  }
}

}  // namespace imgvec::detail

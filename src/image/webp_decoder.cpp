// WebP through libwebp (Google's reference decoder, fuzzed upstream in OSS-Fuzz). An animated
// file gives its first frame, through libwebpdemux.
#include <webp/decode.h>
#include <webp/demux.h>

#include "image/decoders.hpp"

namespace imgvec::detail {

RawImage decode_webp(const std::uint8_t* data, std::size_t size, const std::string& name,
                     const DecodeOptions& options) {
  WebPBitstreamFeatures features;
  if (WebPGetFeatures(data, size, &features) != VP8_STATUS_OK) {
    decode_fail(ErrorCode::corrupt_file, name, "damaged webp data (no valid header)");
  }
  const std::uint8_t* frame = data;
  std::size_t frame_size = size;
  WebPDemuxer* demux = nullptr;
  if (features.has_animation) {
    const WebPData whole = {data, size};
    demux = WebPDemux(&whole);
    WebPIterator it;
    if (!demux || !WebPDemuxGetFrame(demux, 1, &it)) {
      if (demux) WebPDemuxDelete(demux);
      decode_fail(ErrorCode::corrupt_file, name, "damaged animated webp data (no first frame)");
    }
    frame = it.fragment.bytes;
    frame_size = it.fragment.size;
    WebPDemuxReleaseIterator(&it);
    if (WebPGetFeatures(frame, frame_size, &features) != VP8_STATUS_OK) {
      WebPDemuxDelete(demux);
      decode_fail(ErrorCode::corrupt_file, name, "damaged webp data (first frame)");
    }
  }
  struct Release {
    WebPDemuxer* d;
    ~Release() {
      if (d) WebPDemuxDelete(d);
    }
  } release{demux};
  check_dimensions(name, static_cast<std::uint64_t>(features.width),
                   static_cast<std::uint64_t>(features.height), options);
  RawImage out;
  out.width = static_cast<std::uint32_t>(features.width);
  out.height = static_cast<std::uint32_t>(features.height);
  out.alpha = features.has_alpha != 0;
  const int channels = out.alpha ? 4 : 3;
  const std::size_t stride = std::size_t{out.width} * channels;
  out.pixels.resize(stride * out.height);
  const std::uint8_t* ok = out.alpha
                               ? WebPDecodeRGBAInto(frame, frame_size, out.pixels.data(),
                                                    out.pixels.size(), static_cast<int>(stride))
                               : WebPDecodeRGBInto(frame, frame_size, out.pixels.data(),
                                                   out.pixels.size(), static_cast<int>(stride));
  if (!ok) decode_fail(ErrorCode::corrupt_file, name, "damaged webp data");
  return out;
}

}  // namespace imgvec::detail

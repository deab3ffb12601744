#include "imgvec/version.hpp"

#include <jconfig.h>  // libjpeg-turbo's version
#include <spng.h>

#include "imgvec/encoder/clip_module.hpp"
#include "imgvec/image/photo_match.hpp"
#include "simd/kernels.hpp"

#ifdef IMGVEC_HAS_WEBP
#include <webp/decode.h>
#endif
#ifdef IMGVEC_HAS_CURL
#include <curl/curl.h>
#endif
#ifdef IMGVEC_HAS_TIFF
#include <tiffio.h>
#endif
#ifdef IMGVEC_HAS_HEIF
#include <libheif/heif.h>
#endif

namespace imgvec {

std::string build_features() {
  namespace simd = detail::simd;
  std::string kernels;
  for (simd::Isa isa : {simd::Isa::avx512, simd::Isa::avx2, simd::Isa::scalar}) {
    if (const simd::Kernels* k = simd::for_isa(isa))
      kernels += std::string(kernels.empty() ? "" : ", ") + k->name;
  }
  std::string out =
      "SIMD kernels: " + std::string(simd::active().name) + " in use (this CPU: " + kernels + ")\n";
  const int jpeg = LIBJPEG_TURBO_VERSION_NUMBER;  // e.g. 2001005 for 2.1.5
  out += "JPEG: libjpeg-turbo " + std::to_string(jpeg / 1000000) + "." +
         std::to_string(jpeg / 1000 % 1000) + "." + std::to_string(jpeg % 1000) + "\n";
  out += "PNG: libspng " + std::to_string(SPNG_VERSION_MAJOR) + "." +
         std::to_string(SPNG_VERSION_MINOR) + "." + std::to_string(SPNG_VERSION_PATCH) + "\n";
  out += "PNM: imgvec; BMP, GIF, TGA, PSD, HDR: stb_image (patched, third_party/README.md)\n";
#ifdef IMGVEC_HAS_WEBP
  const int webp = WebPGetDecoderVersion();  // 0x010204 for 1.2.4
  out += "WebP: libwebp " + std::to_string(webp >> 16) + "." + std::to_string(webp >> 8 & 255) + "." +
         std::to_string(webp & 255) + "\n";
#else
  out += "WebP: not built (no libwebp-dev when configured)\n";
#endif
#ifdef IMGVEC_HAS_HEIF
  out += std::string("HEIC, AVIF: libheif ") + heif_get_version() + " (decoders here: HEVC " +
         (heif_have_decoder_for_format(heif_compression_HEVC) ? "yes" : "no") + ", AV1 " +
         (heif_have_decoder_for_format(heif_compression_AV1) ? "yes" : "no") + ")\n";
#else
  out += "HEIC, AVIF: not built (no libheif-dev when configured)\n";
#endif
#ifdef IMGVEC_HAS_TIFF
  const std::string tiff = TIFFGetVersion();  // "LIBTIFF, Version 4.5.0\nCopyright ..."
  out += "TIFF: libtiff " + tiff.substr(tiff.find("Version ") + 8, tiff.find('\n') - tiff.find("Version ") - 8) + "\n";
#else
  out += "TIFF: not built (no libtiff-dev when configured)\n";
#endif
#ifdef IMGVEC_HAS_EXIF
  out += "EXIF facts (date taken, camera, lens, GPS): libexif\n";
#else
  out += "EXIF facts: not built (no libexif-dev when configured); orientation is still read\n";
#endif
#ifdef IMGVEC_HAS_CURL
  out += std::string("Image URLs: libcurl ") + curl_version_info(CURLVERSION_NOW)->version + "\n";
#else
  out += "Image URLs: not built (no libcurl4-openssl-dev when configured)\n";
#endif
  out += clip_module_summary() + "\n";
  if (photo_matching_available()) {
    out += "Duplicate verification (ORB, RANSAC): " + photo_matching_library() + ", a module loaded when used\n";
  } else {
    out += "Duplicate verification: not available, duplicates by vectors only (" + photo_matching_unavailable_reason() + ")\n";
  }
  return out;
}

}  // namespace imgvec

// The cloud-only anchors of `ftcodec bench`: the input image itself, coded as an image (the
// baseline split inference must beat). A minimal PNG coder (8-bit grayscale, zlib level 9) and,
// when libjpeg-turbo is available, grayscale JPEG.
#ifndef FTCODEC_BENCH_HARNESS_CLOUD_ONLY_H_
#define FTCODEC_BENCH_HARNESS_CLOUD_ONLY_H_

#include <cstdint>
#include <vector>

#include "ftcodec/status.h"

namespace ftc::bench {

struct GrayImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // row-major, width·height bytes
};

// A PNG file (8-bit grayscale, not interlaced). Each row gets the filter that minimises the sum
// of absolute filtered bytes (libpng's heuristic); the whole image is also tried unfiltered and
// the smaller stream is kept. The zlib stream uses level 9.
Result<std::vector<uint8_t>> EncodePngGray8(const uint8_t* pixels, int width, int height);
// Decodes what EncodePngGray8 writes (and any non-interlaced 8-bit grayscale PNG); checks every
// chunk's CRC and every length.
Result<GrayImage> DecodePngGray8(const uint8_t* data, size_t size);

// Whether the JPEG anchor is built in (libjpeg-turbo's TurboJPEG API found at build time).
bool HaveJpegAnchor();
// Grayscale baseline JPEG at `quality` (1..100); kNotBuiltIn without libjpeg-turbo.
Result<std::vector<uint8_t>> EncodeJpegGray8(const uint8_t* pixels, int width, int height,
                                             int quality);
Result<GrayImage> DecodeJpegGray8(const uint8_t* data, size_t size);

}  // namespace ftc::bench

#endif  // FTCODEC_BENCH_HARNESS_CLOUD_ONLY_H_

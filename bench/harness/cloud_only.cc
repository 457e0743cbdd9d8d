#include "bench/harness/cloud_only.h"

#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "base/status_macros.h"

#ifdef FTC_BENCH_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif

namespace ftc::bench {
namespace {

constexpr uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr int kMaxPngSide = 1 << 14;

void PutU32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

uint32_t GetU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

void PutChunk(std::vector<uint8_t>& out, const char type[4], const std::vector<uint8_t>& body) {
  PutU32(out, static_cast<uint32_t>(body.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), body.begin(), body.end());
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, out.data() + start, static_cast<uInt>(out.size() - start));
  PutU32(out, static_cast<uint32_t>(crc));
}

int Paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// The prediction of PNG filter `type` (bpp = 1) for byte x of `row`, from the bytes before it
// and the previous row (nullptr for the first row); the encoder and the decoder share it.
int Predict(int type, const uint8_t* row, const uint8_t* prev, int x) {
  const int a = x > 0 ? row[x - 1] : 0;
  const int b = prev ? prev[x] : 0;
  const int c = (prev && x > 0) ? prev[x - 1] : 0;
  switch (type) {
    case 1:
      return a;
    case 2:
      return b;
    case 3:
      return (a + b) / 2;
    case 4:
      return Paeth(a, b, c);
    default:
      return 0;
  }
}

// Filters one row (bpp = 1) with PNG filter `type` into `out` (width bytes).
void FilterRow(int type, const uint8_t* row, const uint8_t* prev, int width, uint8_t* out) {
  for (int x = 0; x < width; ++x) {
    out[x] = static_cast<uint8_t>(row[x] - Predict(type, row, prev, x));
  }
}

Result<std::vector<uint8_t>> Deflate9(const std::vector<uint8_t>& raw) {
  uLongf cap = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> z(cap);
  if (compress2(z.data(), &cap, raw.data(), static_cast<uLong>(raw.size()), 9) != Z_OK) {
    return Status(StatusCode::kInternal, "png: zlib compress2 failed");
  }
  z.resize(cap);
  return z;
}

}  // namespace

Result<std::vector<uint8_t>> EncodePngGray8(const uint8_t* pixels, int width, int height) {
  if (width < 1 || height < 1 || width > kMaxPngSide || height > kMaxPngSide) {
    return Status(StatusCode::kInvalidArgument, "png: bad image size");
  }
  const size_t stride = static_cast<size_t>(width) + 1;
  std::vector<uint8_t> unfiltered(stride * height), adaptive(stride * height);
  std::vector<uint8_t> trial(width);
  for (int y = 0; y < height; ++y) {
    const uint8_t* row = pixels + static_cast<size_t>(y) * width;
    const uint8_t* prev = y > 0 ? row - width : nullptr;
    unfiltered[y * stride] = 0;
    std::memcpy(&unfiltered[y * stride + 1], row, width);
    // libpng's heuristic: the filter with the smallest sum of |filtered byte as signed|.
    long best_cost = -1;
    for (int type = 0; type <= 4; ++type) {
      FilterRow(type, row, prev, width, trial.data());
      long cost = 0;
      for (uint8_t v : trial) cost += v < 128 ? v : 256 - v;
      if (best_cost < 0 || cost < best_cost) {
        best_cost = cost;
        adaptive[y * stride] = static_cast<uint8_t>(type);
        std::memcpy(&adaptive[y * stride + 1], trial.data(), width);
      }
    }
  }
  FTC_ASSIGN_OR_RETURN(std::vector<uint8_t> z0, Deflate9(unfiltered));
  FTC_ASSIGN_OR_RETURN(std::vector<uint8_t> z1, Deflate9(adaptive));
  const std::vector<uint8_t>& idat = z1.size() < z0.size() ? z1 : z0;

  std::vector<uint8_t> out(kPngSignature, kPngSignature + 8);
  std::vector<uint8_t> ihdr;
  PutU32(ihdr, static_cast<uint32_t>(width));
  PutU32(ihdr, static_cast<uint32_t>(height));
  ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});  // 8-bit, grayscale, deflate, adaptive, no interlace
  PutChunk(out, "IHDR", ihdr);
  PutChunk(out, "IDAT", idat);
  PutChunk(out, "IEND", {});
  return out;
}

Result<GrayImage> DecodePngGray8(const uint8_t* data, size_t size) {
  auto corrupt = [](const std::string& m) { return Status(StatusCode::kCorruptData, "png: " + m); };
  if (size < 8 || std::memcmp(data, kPngSignature, 8) != 0) return corrupt("bad signature");
  size_t pos = 8;
  GrayImage img;
  std::vector<uint8_t> idat;
  bool have_header = false, have_end = false;
  while (!have_end) {
    if (size - pos < 12) return corrupt("truncated chunk");
    const uint32_t len = GetU32(data + pos);
    if (len > size - pos - 12) return corrupt("chunk length beyond the end of the file");
    const uint8_t* type = data + pos + 4;
    const uint8_t* body = data + pos + 8;
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, type, len + 4);
    if (static_cast<uint32_t>(crc) != GetU32(body + len)) return corrupt("chunk CRC mismatch");
    const std::string t(reinterpret_cast<const char*>(type), 4);
    if (t == "IHDR") {
      if (len != 13) return corrupt("bad IHDR length");
      const uint32_t w = GetU32(body), h = GetU32(body + 4);
      if (w < 1 || h < 1 || w > kMaxPngSide || h > kMaxPngSide) return corrupt("bad image size");
      if (body[8] != 8 || body[9] != 0 || body[10] != 0 || body[11] != 0 || body[12] != 0) {
        return Status(StatusCode::kUnsupported,
                      "png: only 8-bit grayscale, non-interlaced images are supported");
      }
      img.width = static_cast<int>(w);
      img.height = static_cast<int>(h);
      have_header = true;
    } else if (t == "IDAT") {
      if (!have_header) return corrupt("IDAT before IHDR");
      idat.insert(idat.end(), body, body + len);
    } else if (t == "IEND") {
      have_end = true;
    } else if (!(type[0] & 0x20)) {
      return Status(StatusCode::kUnsupported, "png: unknown critical chunk " + t);
    }
    pos += 12 + len;
  }
  if (!have_header) return corrupt("no IHDR");
  const size_t stride = static_cast<size_t>(img.width) + 1;
  std::vector<uint8_t> raw(stride * img.height);
  uLongf raw_size = static_cast<uLongf>(raw.size());
  if (uncompress(raw.data(), &raw_size, idat.data(), static_cast<uLong>(idat.size())) != Z_OK ||
      raw_size != raw.size()) {
    return corrupt("bad zlib stream or wrong image data size");
  }
  img.pixels.resize(static_cast<size_t>(img.width) * img.height);
  for (int y = 0; y < img.height; ++y) {
    const int type = raw[y * stride];
    if (type > 4) return corrupt("bad filter type");
    const uint8_t* in = &raw[y * stride + 1];
    uint8_t* row = &img.pixels[static_cast<size_t>(y) * img.width];
    const uint8_t* prev = y > 0 ? row - img.width : nullptr;
    for (int x = 0; x < img.width; ++x) {
      row[x] = static_cast<uint8_t>(in[x] + Predict(type, row, prev, x));
    }
  }
  return img;
}

#ifdef FTC_BENCH_HAVE_TURBOJPEG
bool HaveJpegAnchor() { return true; }

Result<std::vector<uint8_t>> EncodeJpegGray8(const uint8_t* pixels, int width, int height,
                                             int quality) {
  if (quality < 1 || quality > 100) {
    return Status(StatusCode::kInvalidArgument, "jpeg: quality must be 1..100");
  }
  tjhandle tj = tjInitCompress();
  if (!tj) return Status(StatusCode::kInternal, "jpeg: tjInitCompress failed");
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  const int rc =
      tjCompress2(tj, pixels, width, 0, height, TJPF_GRAY, &buf, &size, TJSAMP_GRAY, quality, 0);
  std::vector<uint8_t> out;
  if (rc == 0) out.assign(buf, buf + size);
  const std::string err = rc == 0 ? "" : tjGetErrorStr2(tj);
  tjFree(buf);
  tjDestroy(tj);
  if (rc != 0) return Status(StatusCode::kInternal, "jpeg: " + err);
  return out;
}

Result<GrayImage> DecodeJpegGray8(const uint8_t* data, size_t size) {
  tjhandle tj = tjInitDecompress();
  if (!tj) return Status(StatusCode::kInternal, "jpeg: tjInitDecompress failed");
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  GrayImage img;
  int rc = tjDecompressHeader3(tj, data, static_cast<unsigned long>(size), &w, &h, &subsamp,
                               &colorspace);
  if (rc == 0 && (w < 1 || h < 1 || w > kMaxPngSide || h > kMaxPngSide)) rc = -1;
  if (rc == 0) {
    img.width = w;
    img.height = h;
    img.pixels.resize(static_cast<size_t>(w) * h);
    rc = tjDecompress2(tj, data, static_cast<unsigned long>(size), img.pixels.data(), w, 0, h,
                       TJPF_GRAY, 0);
  }
  const std::string err = rc == 0 ? "" : tjGetErrorStr2(tj);
  tjDestroy(tj);
  if (rc != 0) return Status(StatusCode::kCorruptData, "jpeg: " + err);
  return img;
}
#else
bool HaveJpegAnchor() { return false; }
Result<std::vector<uint8_t>> EncodeJpegGray8(const uint8_t*, int, int, int) {
  return Status(StatusCode::kNotBuiltIn, "jpeg anchor: built without libjpeg-turbo");
}
Result<GrayImage> DecodeJpegGray8(const uint8_t*, size_t) {
  return Status(StatusCode::kNotBuiltIn, "jpeg anchor: built without libjpeg-turbo");
}
#endif

}  // namespace ftc::bench

#include "codec/ans/ans_common.h"

#include "base/byte_io.h"
#include "base/status_macros.h"
#include "codec/ans/ans_internal.h"

namespace ftc::ans {

void WriteParams(const AnsParams& p, std::vector<uint8_t>* out) {
  ByteWriter w(out);
  w.U8(static_cast<uint8_t>(p.mode));
  if (p.mode == Mode::kQuantized) {
    w.U8(static_cast<uint8_t>(p.bits));
    w.U8(p.flags);
    w.U8(p.rounding_q);
  } else if (p.mode == Mode::kPlanned) {
    w.U8(static_cast<uint8_t>(p.bits));
    w.U8(p.rounding_q);
    w.U8(p.step_shift);
    w.U64(p.plan_id);
  } else {
    w.U8(static_cast<uint8_t>(p.stored));
  }
  w.Varint(p.band_rows);
}

Result<AnsParams> ParseParams(const std::vector<uint8_t>& bytes, const SampleShape& s,
                              DType original, bool allow_planned) {
  ByteReader r(bytes.data(), bytes.size());
  AnsParams p;
  uint8_t mode;
  if (!r.U8(&mode)) return FTC_CORRUPT("ans: empty codec parameters");
  if (mode == 2 && !allow_planned) {
    return FTC_CORRUPT("ans: planned mode is not valid here (a version-1 frame, or a packet)");
  }
  if (mode > 2) return FTC_CORRUPT("ans: invalid mode %u", mode);
  p.mode = static_cast<Mode>(mode);
  if (p.mode == Mode::kPlanned) {
    uint8_t bits, rq, shift;
    if (!r.U8(&bits) || !r.U8(&rq) || !r.U8(&shift) || !r.U64(&p.plan_id)) {
      return FTC_CORRUPT("ans: truncated parameters");
    }
    if (bits < 1 || bits > 16) return FTC_CORRUPT("ans: invalid bit depth %u", bits);
    if (rq > 128) return FTC_CORRUPT("ans: rounding offset %u/256 above 1/2", rq);
    if (shift > 63) return FTC_CORRUPT("ans: step shift %u above 63", shift);
    p.bits = bits;
    p.rounding_q = rq;
    p.step_shift = shift;
  } else if (p.mode == Mode::kQuantized) {
    uint8_t bits, flags, rq;
    if (!r.U8(&bits) || !r.U8(&flags) || !r.U8(&rq))
      return FTC_CORRUPT("ans: truncated parameters");
    if (bits < 1 || bits > 16) return FTC_CORRUPT("ans: invalid bit depth %u", bits);
    if (flags & ~(kFlagPerChannel | kFlagClipMask)) {
      return FTC_CORRUPT("ans: reserved flag bits are set (0x%02x)", flags);
    }
    if (rq > 128) return FTC_CORRUPT("ans: rounding offset %u/256 above 1/2", rq);
    p.bits = bits;
    p.flags = flags;
    p.rounding_q = rq;
  } else {
    uint8_t stored;
    if (!r.U8(&stored)) return FTC_CORRUPT("ans: truncated parameters");
    if (stored > static_cast<uint8_t>(DType::kU8)) {
      return FTC_CORRUPT("ans: invalid stored dtype code %u", stored);
    }
    p.stored = static_cast<DType>(stored);
    if (p.stored == DType::kU8 && original != DType::kU8) {
      return FTC_CORRUPT("ans: u8 storage of a %s tensor is not allowed", DTypeName(original));
    }
  }
  uint64_t band_rows;
  if (!r.Varint(&band_rows)) return FTC_CORRUPT("ans: truncated parameters");
  if (band_rows != 0 && band_rows >= static_cast<uint64_t>(s.h)) {
    return FTC_CORRUPT("ans: band rows %llu must be 0 or below the height %lld",
                       static_cast<unsigned long long>(band_rows), static_cast<long long>(s.h));
  }
  p.band_rows = static_cast<uint32_t>(band_rows);
  if (r.remaining() != 0) return FTC_CORRUPT("ans: %zu unexpected parameter bytes", r.remaining());
  return p;
}

std::vector<BandShape> MakeBands(const SampleShape& s, uint32_t band_rows) {
  const uint32_t h = static_cast<uint32_t>(s.h), w = static_cast<uint32_t>(s.w);
  const uint32_t rows = band_rows == 0 ? h : band_rows;
  std::vector<BandShape> bands;
  for (int64_t c = 0; c < s.c; ++c) {
    for (uint32_t y = 0; y < h; y += rows) bands.push_back({std::min(rows, h - y), w});
  }
  return bands;
}

std::vector<uint32_t> ChannelsOfBands(const BandLayout& layout,
                                      const std::vector<uint32_t>& bands) {
  std::vector<uint32_t> channels;
  for (uint32_t b : bands) {
    const uint32_t c = layout.channel(b);
    if (channels.empty() || channels.back() != c) channels.push_back(c);
  }
  return channels;
}

}  // namespace ftc::ans

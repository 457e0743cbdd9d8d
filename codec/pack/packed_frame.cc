#include "codec/pack/packed_frame.h"

#include <algorithm>

#include "base/crc32c.h"
#include "base/status_macros.h"

namespace ftc {
// Picture i -> its planes in `levels` (S × C × H × W).
template <typename T>
void UnpackPicture(const PackGeometry& g, const std::vector<uint32_t>& order_vec, int64_t i,
                   const T* picture, ptrdiff_t stride, uint16_t* levels) {
  const int64_t e = g.sample.elements(), plane = g.sample.h * g.sample.w;
  const uint32_t* order = order_vec.empty() ? nullptr : order_vec.data();
  if (g.params.layout == PackLayout::kMosaic) {
    UnpackMosaic(picture, stride, order, g.mosaic, levels + i * e);
  } else {
    const int64_t sample = i / g.sample.c, k = i % g.sample.c;
    const int64_t c = order ? order[k] : k;
    CropPlane(picture, stride, g.sample.h, g.sample.w, levels + sample * e + c * plane);
  }
}

template void UnpackPicture<uint8_t>(const PackGeometry&, const std::vector<uint32_t>&, int64_t,
                                     const uint8_t*, ptrdiff_t, uint16_t*);
template void UnpackPicture<uint16_t>(const PackGeometry&, const std::vector<uint32_t>&, int64_t,
                                      const uint16_t*, ptrdiff_t, uint16_t*);

// The host is little-endian (codec/core/api.cc checks), so the u16 bytes are the LE encoding.
uint32_t ChecksumOf(const std::vector<uint16_t>& levels) {
  return Crc32c(reinterpret_cast<const uint8_t*>(levels.data()), levels.size() * 2);
}

Result<PackGeometry> MakePackGeometry(const PackParams& p, const SampleShape& s, int64_t samples,
                                      const PictureLimits& limits) {
  PackGeometry g;
  g.params = p;
  g.sample = s;
  g.samples = samples;
  if (p.layout == PackLayout::kMosaic) {
    g.mosaic = MakeMosaicGeometry(s.c, s.h, s.w, p.grid, limits.block, limits.min_width,
                                  limits.min_height);
    g.width = g.mosaic.width;
    g.height = g.mosaic.height;
    g.pictures = samples;
  } else {
    g.width = PaddedPictureSize(s.w, limits.block, limits.min_width);
    g.height = PaddedPictureSize(s.h, limits.block, limits.min_height);
    g.pictures = samples * s.c;
  }
  if (g.width > limits.max_side || g.height > limits.max_side ||
      g.width * g.height > kMaxSampleElements) {
    return FTC_LIMIT(
        "%s: a %lld x %lld picture exceeds the codec's limit (sides up to %lld%s)", limits.codec,
        static_cast<long long>(g.width), static_cast<long long>(g.height),
        static_cast<long long>(limits.max_side),
        limits.frames_layout && p.layout == PackLayout::kMosaic ? "; try --layout frames" : "");
  }
  return g;
}

Result<PackParams> PackedPictures::ParseParams(ByteReader* r, const SampleShape& s) {
  uint8_t layout, rule, flags, bits;
  uint64_t rows, cols;
  if (!r->U8(&layout) || !r->U8(&rule) || !r->Varint(&rows) || !r->Varint(&cols) ||
      !r->U8(&flags) || !r->U8(&bits)) {
    return FTC_CORRUPT("truncated packing parameters");
  }
  if (layout > 1) return FTC_CORRUPT("invalid layout %u", layout);
  if (rule > 1) return FTC_CORRUPT("invalid grid rule %u", rule);
  if (flags & ~(kPackFlagPerChannel | kPackFlagReordered | kPackFlagClipMask)) {
    return FTC_CORRUPT("reserved range flag bits are set (0x%02x)", flags);
  }
  PackParams p;
  p.layout = static_cast<PackLayout>(layout);
  p.flags = flags;
  p.bits = bits;
  if (p.layout == PackLayout::kMosaic) {
    p.grid = GridForRule(s.c, static_cast<GridRule>(rule));
  } else if (rule != 0) {
    return FTC_CORRUPT("the frames layout has no grid rule (found %u)", rule);
  }
  if (rows != static_cast<uint64_t>(p.grid.rows) || cols != static_cast<uint64_t>(p.grid.cols)) {
    return FTC_CORRUPT("grid %llu x %llu does not match the rule's %lld x %lld for %lld channels",
                       static_cast<unsigned long long>(rows), static_cast<unsigned long long>(cols),
                       static_cast<long long>(p.grid.rows), static_cast<long long>(p.grid.cols),
                       static_cast<long long>(s.c));
  }
  if (p.reordered() && s.c < 2) return FTC_CORRUPT("a channel order for a single channel");
  return p;
}

Result<PackedPictures> PackedPictures::Create(const ParsedFrame& f, const PackParams& p,
                                              const PictureLimits& limits) {
  if (p.layout == PackLayout::kFrames && !limits.frames_layout) {
    return FTC_CORRUPT("the frames layout is not defined for %s", limits.codec);
  }
  if (!((p.bits == 8 && limits.bits_8) || (p.bits == 10 && limits.bits_10))) {
    return FTC_CORRUPT("%d-bit pictures are not defined for %s", p.bits, limits.codec);
  }
  PackedPictures out;
  Result<PackGeometry> g = MakePackGeometry(p, f.sample, f.header.sample_count, limits);
  if (!g.ok()) return Status(StatusCode::kCorruptData, g.status().message());
  out.geometry_ = std::move(g).value();

  const size_t want = p.reordered() ? 3 : 2;
  if (f.sections.size() != want || f.sections[0].kind != kPackRangesSection ||
      (p.reordered() && f.sections[1].kind != kPackOrderSection) ||
      f.sections.back().kind != kPackPictureSection) {
    return FTC_CORRUPT("expected sections ranges, %spicture", p.reordered() ? "order, " : "");
  }
  // Ranges.
  const SectionRef& rs = f.sections[0];
  const int64_t count = out.geometry_.ranges();
  if (rs.size != static_cast<uint64_t>(count) * 8) {
    return FTC_CORRUPT("ranges section is %zu bytes, expected %lld", rs.size,
                       static_cast<long long>(count * 8));
  }
  ByteReader r(rs.data, rs.size);
  out.ranges_.resize(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    QuantParams& q = out.ranges_[static_cast<size_t>(k)];
    (void)r.F32(&q.lo);
    (void)r.F32(&q.hi);
    q.bits = p.bits;
    q.rounding = 0.5f;
    if (Status s = ValidateQuantParams(q); !s.ok()) {
      return FTC_CORRUPT("range %lld is invalid: %s", static_cast<long long>(k),
                         s.message().c_str());
    }
  }
  // Channel order.
  if (p.reordered()) {
    const SectionRef& os = f.sections[1];
    const int64_t c = f.sample.c;
    if (os.size < static_cast<uint64_t>(c)) {
      return FTC_CORRUPT("order section of %zu bytes cannot hold %lld channels", os.size,
                         static_cast<long long>(c));
    }
    ByteReader orr(os.data, os.size);
    out.order_.resize(static_cast<size_t>(c));
    for (int64_t k = 0; k < c; ++k) {
      uint64_t v;
      if (!orr.Varint(&v)) return FTC_CORRUPT("truncated or malformed channel order");
      if (v >= static_cast<uint64_t>(c)) {
        return FTC_CORRUPT("channel order names channel %llu of %lld",
                           static_cast<unsigned long long>(v), static_cast<long long>(c));
      }
      out.order_[static_cast<size_t>(k)] = static_cast<uint32_t>(v);
    }
    if (orr.remaining() != 0)
      return FTC_CORRUPT("%zu bytes after the channel order", orr.remaining());
    if (!IsPermutation(out.order_.data(), out.order_.size())) {
      return FTC_CORRUPT("channel order is not a permutation");
    }
  }
  out.picture_ = f.sections.back();
  return out;
}

template <typename T>
void PackedPictures::Accept(int64_t i, const T* picture, ptrdiff_t stride) {
  if (levels_.empty())
    levels_.resize(static_cast<size_t>(geometry_.samples * geometry_.sample.elements()));
  UnpackPicture(geometry_, order_, i, picture, stride, levels_.data());
}
template void PackedPictures::Accept<uint8_t>(int64_t, const uint8_t*, ptrdiff_t);
template void PackedPictures::Accept<uint16_t>(int64_t, const uint16_t*, ptrdiff_t);

uint32_t PackedPictures::LevelsChecksum() const { return ChecksumOf(levels_); }

Status PackedPictures::Finish(Tensor* out) const {
  const PackGeometry& g = geometry_;
  const int64_t n = g.samples * g.sample.elements();
  if (levels_.size() != static_cast<size_t>(n)) return FTC_INTERNAL("pictures missing");
  Shape shape = {g.sample.c, g.sample.h, g.sample.w};
  if (g.samples > 1) shape.insert(shape.begin(), g.samples);
  FTC_ASSIGN_OR_RETURN(*out, Tensor::Create(DType::kF32, shape));
  const size_t per = static_cast<size_t>(n) / ranges_.size();
  for (size_t k = 0; k < ranges_.size(); ++k) {
    Dequantize(levels_.data() + k * per, per, ranges_[k], out->data_as<float>() + k * per);
  }
  return Status::Ok();
}

void PackedPictures::Describe(ParamList* out) const {
  const PackGeometry& g = geometry_;
  const PackParams& p = g.params;
  if (p.layout == PackLayout::kMosaic) {
    out->emplace_back("layout", "mosaic");
    out->emplace_back(
        "grid", StrFormat("%lldx%lld tiles of %lldx%lld (%s)", static_cast<long long>(p.grid.rows),
                          static_cast<long long>(p.grid.cols), static_cast<long long>(g.sample.h),
                          static_cast<long long>(g.sample.w),
                          p.grid.rule == GridRule::kDivisor ? "FCM divisor rule"
                                                            : "padded near-square rule"));
  } else {
    out->emplace_back("layout", "frames");
  }
  out->emplace_back("pictures",
                    StrFormat("%lld of %lldx%lld", static_cast<long long>(g.pictures),
                              static_cast<long long>(g.width), static_cast<long long>(g.height)));
  if (g.samples > 1) out->emplace_back("samples", std::to_string(g.samples));
  out->emplace_back("bits", std::to_string(p.bits));
  static const char* const kClipNames[] = {"none", "range", "sigma", "percentile"};
  out->emplace_back("clip", kClipNames[static_cast<int>(p.clip())]);
  float lo = ranges_[0].lo, hi = ranges_[0].hi;
  for (const QuantParams& q : ranges_) {
    lo = std::min(lo, q.lo);
    hi = std::max(hi, q.hi);
  }
  if (ranges_.size() == 1) {
    out->emplace_back("range", StrFormat("[%.6g, %.6g]", lo, hi));
  } else {
    out->emplace_back("ranges", StrFormat("%s (%zu), overall [%.6g, %.6g]",
                                          p.per_channel() ? "per-channel" : "per-sample",
                                          ranges_.size(), lo, hi));
  }
  out->emplace_back("channel_order", p.reordered() ? "by similarity (stored)" : "identity");
}

const char* PackSectionName(uint8_t kind, const char* picture_name) {
  switch (kind) {
    case kPackRangesSection:
      return "ranges";
    case kPackOrderSection:
      return "order";
    case kPackPictureSection:
      return picture_name;
    default:
      return nullptr;
  }
}

}  // namespace ftc

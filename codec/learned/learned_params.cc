// Codec `learned`: Codec_Params parsing and writing (docs/format.md, "Codec `learned`").
#include "codec/learned/learned_params.h"

#include <cstring>

#include "base/byte_io.h"
#include "base/status_macros.h"

namespace ftc {

std::string UnitHashHex(const UnitHash& h) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * h.size());
  for (uint8_t b : h) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

namespace learned {
namespace {

constexpr uint64_t kMaxCodeDim = (uint64_t{1} << 31) - 1;

// Checks the code shape against the format's limits: each side 1..2^31-1, at most 2^28
// elements (kCorruptData naming the field otherwise).
Status CheckCodeShape(uint64_t c, uint64_t h, uint64_t w) {
  const uint64_t dims[3] = {c, h, w};
  static const char* const kNames[3] = {"Code_C", "Code_H", "Code_W"};
  for (int i = 0; i < 3; ++i) {
    if (dims[i] < 1 || dims[i] > kMaxCodeDim) {
      return FTC_CORRUPT("learned: %s %llu out of range 1..2^31-1", kNames[i],
                         static_cast<unsigned long long>(dims[i]));
    }
  }
  // Each factor < 2^31, so c*h < 2^62 does not overflow; compare before the third product.
  const uint64_t limit = static_cast<uint64_t>(kMaxSampleElements);
  if (c * h > limit || c * h * w > limit) {
    return FTC_CORRUPT("learned: code shape %llux%llux%llu has more than 2^28 elements",
                       static_cast<unsigned long long>(c), static_cast<unsigned long long>(h),
                       static_cast<unsigned long long>(w));
  }
  return Status::Ok();
}

}  // namespace

const char* InnerCodecName(uint8_t inner_id) {
  switch (inner_id) {
    case kInnerAns:
      return "ans";
    case kInnerJpeg:
      return "jpeg";
    default:
      return nullptr;
  }
}

Result<LearnedParams> ParseLearnedParams(const uint8_t* data, size_t size) {
  if (size < kFixedParamsSize) {
    return FTC_CORRUPT("learned: codec parameters are %zu bytes, at least %zu needed", size,
                       kFixedParamsSize);
  }
  ByteReader r(data, size);
  LearnedParams p;
  const uint8_t* hash = nullptr;
  uint32_t c = 0, h = 0, w = 0;
  uint16_t inner_size = 0;
  if (!r.Skip(p.unit_hash.size(), &hash) || !r.U8(&p.inner_id) || !r.U32(&c) || !r.U32(&h) ||
      !r.U32(&w) || !r.U16(&inner_size)) {
    return FTC_CORRUPT("learned: truncated codec parameters");  // unreachable after the size check
  }
  std::memcpy(p.unit_hash.data(), hash, p.unit_hash.size());
  if (!InnerCodecName(p.inner_id)) {
    return FTC_CORRUPT("learned: invalid inner codec id %u (1 = ans, 2 = jpeg)", p.inner_id);
  }
  FTC_RETURN_IF_ERROR(CheckCodeShape(c, h, w));
  p.code.c = c;
  p.code.h = h;
  p.code.w = w;
  if (inner_size > kMaxInnerParamsSize) {
    return FTC_CORRUPT("learned: inner parameters of %u bytes exceed the limit of %zu", inner_size,
                       kMaxInnerParamsSize);
  }
  if (r.remaining() < inner_size) {
    return FTC_CORRUPT("learned: inner parameters of %u bytes, but only %zu bytes follow",
                       inner_size, r.remaining());
  }
  if (r.remaining() > inner_size) {
    return FTC_CORRUPT("learned: %zu unexpected bytes after the inner parameters",
                       r.remaining() - inner_size);
  }
  const uint8_t* inner = nullptr;
  (void)r.Skip(inner_size, &inner);
  p.inner_params.assign(inner, inner + inner_size);
  return p;
}

Status WriteLearnedParams(const LearnedParams& p, std::vector<uint8_t>* out) {
  if (!InnerCodecName(p.inner_id)) {
    return FTC_INTERNAL("learned: invalid inner codec id %u", p.inner_id);
  }
  if (p.code.c < 0 || p.code.h < 0 || p.code.w < 0) {
    return FTC_INTERNAL("learned: negative code shape");
  }
  if (Status s = CheckCodeShape(static_cast<uint64_t>(p.code.c), static_cast<uint64_t>(p.code.h),
                                static_cast<uint64_t>(p.code.w));
      !s.ok()) {
    return Status(StatusCode::kInternal, s.message());
  }
  if (p.inner_params.size() > kMaxInnerParamsSize) {
    return FTC_INTERNAL("learned: inner parameters of %zu bytes exceed the limit of %zu",
                        p.inner_params.size(), kMaxInnerParamsSize);
  }
  ByteWriter w(out);
  w.Bytes(p.unit_hash.data(), p.unit_hash.size());
  w.U8(p.inner_id);
  w.U32(static_cast<uint32_t>(p.code.c));
  w.U32(static_cast<uint32_t>(p.code.h));
  w.U32(static_cast<uint32_t>(p.code.w));
  w.U16(static_cast<uint16_t>(p.inner_params.size()));
  w.Bytes(p.inner_params.data(), p.inner_params.size());
  return Status::Ok();
}

const char* LearnedSectionName(uint8_t kind) {
  switch (kind) {
    case InnerSectionKind(kInnerAns, 1):
      return "ans.ranges";
    case InnerSectionKind(kInnerAns, 2):
      return "ans.symbols";
    case InnerSectionKind(kInnerAns, 3):
      return "ans.plane";
    case InnerSectionKind(kInnerJpeg, 1):
      return "jpeg.ranges";
    case InnerSectionKind(kInnerJpeg, 2):
      return "jpeg.order";
    case InnerSectionKind(kInnerJpeg, 3):
      return "jpeg.picture";
    default:
      return nullptr;
  }
}

Result<SampleShape> LearnedPacketSample(const PacketHeader& header, const SampleShape&,
                                        int64_t max_sample_elements) {
  if (header.dtype == DType::kU8) {
    return FTC_CORRUPT("a learned packet of a u8 tensor (features are float)");
  }
  FTC_ASSIGN_OR_RETURN(LearnedParams lp,
                       ParseLearnedParams(header.params.data(), header.params.size()));
  if (lp.inner_id != kInnerAns) {
    return FTC_CORRUPT("a learned packet with inner codec %s (packets need ans)",
                       InnerCodecName(lp.inner_id));
  }
  if (lp.code.elements() > max_sample_elements) {
    return FTC_LIMIT("a code of %lld elements exceeds the limit of %lld",
                     static_cast<long long>(lp.code.elements()),
                     static_cast<long long>(max_sample_elements));
  }
  return lp.code;
}

}  // namespace learned
}  // namespace ftc

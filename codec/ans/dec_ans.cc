// Decoder of codec `ans`.
#include <cmath>
#include <cstring>

#include "base/byte_io.h"
#include "base/status_macros.h"
#include "codec/ans/ans_common.h"
#include "codec/ans/ans_internal.h"
#include "codec/quant/planned_quant.h"
#include "codec/quant/quant.h"
#include "ftcodec/profile.h"

namespace ftc::ans {
namespace {

uint32_t RotrBits(uint32_t v, int width) {
  const uint32_t mask = width == 32 ? 0xFFFFFFFFu : (1u << width) - 1;
  return ((v >> 1) | (v << (width - 1))) & mask;
}

// Checks the section list and reads the quantizer ranges.
Result<std::vector<QuantParams>> ReadRanges(const ParsedFrame& f, const AnsParams& p) {
  if (f.sections.size() != 2 || f.sections[0].kind != kRangesSection ||
      f.sections[1].kind != kSymbolsSection) {
    return FTC_CORRUPT("ans: expected a ranges section and a symbols section");
  }
  const int64_t channels = p.per_channel() ? f.sample.c : 1;
  const SectionRef& sec = f.sections[0];
  if (sec.size != static_cast<uint64_t>(channels) * 8) {
    return FTC_CORRUPT("ans: ranges section is %zu bytes, expected %lld", sec.size,
                       static_cast<long long>(channels * 8));
  }
  ByteReader r(sec.data, sec.size);
  std::vector<QuantParams> ranges(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    QuantParams& q = ranges[static_cast<size_t>(c)];
    (void)r.F32(&q.lo);
    (void)r.F32(&q.hi);
    q.bits = p.bits;
    q.rounding = p.rounding();
    Status s = ValidateQuantParams(q);
    if (!s.ok()) {
      return FTC_CORRUPT("ans: range %lld is invalid: %s", static_cast<long long>(c),
                         s.message().c_str());
    }
  }
  return ranges;
}

Status DecodeLossless(const ParsedFrame& f, const AnsParams& p, Tensor* out) {
  const int width = static_cast<int>(DTypeSize(p.stored));
  if (f.sections.size() != static_cast<size_t>(width)) {
    return FTC_CORRUPT("ans: lossless %s needs %d plane sections, found %zu", DTypeName(p.stored),
                       width, f.sections.size());
  }
  FTC_ASSIGN_OR_RETURN(*out, Tensor::Create(p.stored, {f.sample.c, f.sample.h, f.sample.w}));
  const int64_t n = f.sample.elements();
  const std::vector<BandShape> bands = MakeBands(f.sample, p.band_rows);
  std::vector<std::vector<uint16_t>> planes(static_cast<size_t>(width),
                                            std::vector<uint16_t>(static_cast<size_t>(n)));
  std::vector<const uint16_t*> plane_ptrs;
  for (int k = 0; k < width; ++k) {
    const SectionRef& sec = f.sections[static_cast<size_t>(k)];
    if (sec.kind != kPlaneSection) return FTC_CORRUPT("ans: section %d is not a plane", k);
    Status s =
        DecodeSymbolSegment(sec.data, sec.size, bands, 8, planes[static_cast<size_t>(k)].data());
    if (!s.ok()) return s.WithContext(StrFormat("ans: plane %d", k));
    plane_ptrs.push_back(planes[static_cast<size_t>(k)].data());
  }
  JoinLosslessPlanes(plane_ptrs, width, n, out->data());
  return Status::Ok();
}

// The plan a planned frame names, from the decoder options.
Result<const QuantPlan*> PlanFor(const ParsedFrame& f, const AnsParams& p,
                                 const DecoderOptions& options) {
  if (!options.plan) {
    return FTC_INVALID(
        "ans: the frame was coded with plan %s; give the profile that holds it "
        "(--profile)",
        PlanIdHex(p.plan_id).c_str());
  }
  const uint64_t have = options.plan->Id();
  if (have != p.plan_id) {
    return FTC_CORRUPT(
        "ans: plan mismatch: the frame was coded with plan %s, the profile's plan "
        "is %s",
        PlanIdHex(p.plan_id).c_str(), PlanIdHex(have).c_str());
  }
  if (static_cast<int64_t>(options.plan->channels.size()) != f.sample.c) {
    return FTC_CORRUPT("ans: the plan has %zu channels but the frame's sample has %lld",
                       options.plan->channels.size(), static_cast<long long>(f.sample.c));
  }
  return options.plan.get();
}

Status DecodePlanned(const ParsedFrame& f, const AnsParams& p, const DecoderOptions& options,
                     Tensor* out) {
  FTC_ASSIGN_OR_RETURN(const QuantPlan* plan, PlanFor(f, p, options));
  if (f.sections.size() != 1 || f.sections[0].kind != kSymbolsSection) {
    return FTC_CORRUPT("ans: a planned frame has one symbols section");
  }
  int64_t coded = 0;
  for (const ChannelQuant& ch : plan->channels) coded += ch.kind != ChannelKind::kDropped;
  const size_t per = static_cast<size_t>(f.sample.h * f.sample.w);
  std::vector<uint16_t> symbols(static_cast<size_t>(coded) * per);
  const SectionRef& sym = f.sections[0];
  Status s = DecodeSymbolSegment(sym.data, sym.size,
                                 MakeBands({coded, f.sample.h, f.sample.w}, p.band_rows), p.bits,
                                 symbols.data());
  if (!s.ok()) return s.WithContext("ans: symbols");
  FTC_ASSIGN_OR_RETURN(*out, Tensor::Create(DType::kF32, {f.sample.c, f.sample.h, f.sample.w}));
  float* dst = out->data_as<float>();
  const uint16_t* src = symbols.data();
  for (const ChannelQuant& ch : plan->channels) {
    if (ch.kind == ChannelKind::kDropped) {
      std::fill(dst, dst + per, ch.offset);
    } else {
      DequantizePlanned(src, per, ch.kind, PlannedStep(ch.step, p.step_shift), ch.offset, dst);
      src += per;
    }
    dst += per;
  }
  return Status::Ok();
}

}  // namespace

void JoinLosslessPlanes(const std::vector<const uint16_t*>& planes, int width, int64_t n,
                        uint8_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits = 0;
    for (int k = 0; k < width; ++k) {
      bits |= uint32_t{static_cast<uint8_t>(planes[static_cast<size_t>(k)][i])}
              << (8 * (width - 1 - k));
    }
    const uint32_t v = RotrBits(bits, 8 * width);
    std::memcpy(out + i * width, &v, static_cast<size_t>(width));
  }
}

Status DecodeSample(const ParsedFrame& f, const DecoderOptions& options, Tensor* out) {
  FTC_ASSIGN_OR_RETURN(
      AnsParams p, ParseParams(f.header.params, f.sample, f.header.dtype, f.header.version >= 2));
  if (p.mode == Mode::kLossless) return DecodeLossless(f, p, out);
  if (p.mode == Mode::kPlanned) return DecodePlanned(f, p, options, out);
  FTC_ASSIGN_OR_RETURN(std::vector<QuantParams> ranges, ReadRanges(f, p));
  const int64_t n = f.sample.elements();
  std::vector<uint16_t> q(static_cast<size_t>(n));
  const SectionRef& sym = f.sections[1];
  Status s =
      DecodeSymbolSegment(sym.data, sym.size, MakeBands(f.sample, p.band_rows), p.bits, q.data());
  if (!s.ok()) return s.WithContext("ans: symbols");
  FTC_ASSIGN_OR_RETURN(*out, Tensor::Create(DType::kF32, {f.sample.c, f.sample.h, f.sample.w}));
  const size_t per = static_cast<size_t>(n) / ranges.size();
  for (size_t c = 0; c < ranges.size(); ++c) {
    Dequantize(q.data() + c * per, per, ranges[c], out->data_as<float>() + c * per);
  }
  return Status::Ok();
}

Status DescribeFrame(const ParsedFrame& f, ParamList* out) {
  FTC_ASSIGN_OR_RETURN(
      AnsParams p, ParseParams(f.header.params, f.sample, f.header.dtype, f.header.version >= 2));
  if (p.mode == Mode::kPlanned) {
    if (f.sections.size() != 1 || f.sections[0].kind != kSymbolsSection) {
      return FTC_CORRUPT("ans: a planned frame has one symbols section");
    }
    out->emplace_back("mode", "planned");
    out->emplace_back("plan", PlanIdHex(p.plan_id));
    out->emplace_back("bits", std::to_string(p.bits));
    out->emplace_back("step_shift", std::to_string(p.step_shift));
    out->emplace_back("rounding", StrFormat("%u/256", p.rounding_q));
  } else if (p.mode == Mode::kLossless) {
    out->emplace_back("mode", "lossless");
    out->emplace_back("stored_dtype", DTypeName(p.stored));
  } else {
    FTC_ASSIGN_OR_RETURN(std::vector<QuantParams> ranges, ReadRanges(f, p));
    static const char* const kClipNames[] = {"none", "range", "sigma", "percentile"};
    out->emplace_back("mode", "quantized");
    out->emplace_back("bits", std::to_string(p.bits));
    out->emplace_back("clip", kClipNames[(p.flags & kFlagClipMask) >> kFlagClipShift]);
    out->emplace_back("rounding", StrFormat("%u/256", p.rounding_q));
    if (p.per_channel()) {
      float lo = ranges[0].lo, hi = ranges[0].hi;
      for (const QuantParams& q : ranges) {
        lo = std::min(lo, q.lo);
        hi = std::max(hi, q.hi);
      }
      out->emplace_back(
          "ranges", StrFormat("per-channel (%zu), overall [%.6g, %.6g]", ranges.size(), lo, hi));
    } else {
      out->emplace_back("range", StrFormat("[%.6g, %.6g]", ranges[0].lo, ranges[0].hi));
    }
  }
  out->emplace_back("band_rows", p.band_rows == 0 ? "all" : std::to_string(p.band_rows));
  return Status::Ok();
}

}  // namespace ftc::ans

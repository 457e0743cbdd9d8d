// Encoder of codec `ans`.
#include <cmath>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "base/byte_io.h"
#include "base/status_macros.h"
#include "codec/ans/ans_common.h"
#include "codec/ans/ans_internal.h"
#include "codec/quant/planned_quant.h"
#include "codec/quant/quant.h"
#include "ftcodec/profile.h"

namespace ftc::ans {
namespace {

uint32_t NormalizedBandRows(int band_rows, int64_t h) {
  return band_rows <= 0 || band_rows >= h ? 0 : static_cast<uint32_t>(band_rows);
}

// Rotates an element's bits left by one so the exponent bits share the top byte.
uint32_t RotlBits(uint32_t v, int width) {
  const uint32_t mask = width == 32 ? 0xFFFFFFFFu : (1u << width) - 1;
  return ((v << 1) | (v >> (width - 1))) & mask;
}

// Byte planes of the lossless mode, most significant first.
Status LosslessPlanes(const TensorView& sample, const EncoderOptions& o, SamplePlanes* out) {
  AnsParams& p = out->params;
  p.mode = Mode::kLossless;
  p.stored = o.store_dtype ? *o.store_dtype : sample.dtype;
  // The elements in the stored dtype, C order.
  Result<Tensor> copy = Tensor::CopyOf(sample);
  if (!copy.ok()) return copy.status();
  Tensor t = copy->dtype() == p.stored ? std::move(copy).value() : copy->ConvertTo(p.stored);
  const int64_t n = t.num_elements();
  const int width = static_cast<int>(DTypeSize(p.stored));
  out->alphabet_bits = 8;
  out->planes.assign(static_cast<size_t>(width), std::vector<uint16_t>(static_cast<size_t>(n)));
  for (int b = width - 1; b >= 0; --b) {  // most significant plane first
    std::vector<uint16_t>& plane = out->planes[static_cast<size_t>(width - 1 - b)];
    for (int64_t i = 0; i < n; ++i) {
      uint32_t v = 0;
      std::memcpy(&v, t.data() + i * width, static_cast<size_t>(width));
      plane[static_cast<size_t>(i)] =
          static_cast<uint16_t>((RotlBits(v, 8 * width) >> (8 * b)) & 0xFF);
    }
  }
  return Status::Ok();
}

// The sample as f32; the lossy modes need finite values.
Result<std::vector<float>> FiniteSampleF32(const TensorView& sample) {
  const int64_t n = sample.shape[0] * sample.shape[1] * sample.shape[2];
  std::vector<float> x(static_cast<size_t>(n));
  GatherF32(sample, 0, n, x.data());
  float mn, mx;
  if (!FiniteMinMax(x.data(), x.size(), &mn, &mx)) {
    return FTC_UNSUPPORTED(
        "input contains NaN or Inf; the lossy ans codec needs finite values (use --lossless or "
        "--codec raw)");
  }
  return x;
}

// Planned mode (docs/format.md): per-channel steps from the plan, one symbol segment over the
// bands of the coded channels.
Status EncodePlanned(const TensorView& sample, const EncoderOptions& o, CodecEncodeOutput* out) {
  const QuantPlan& plan = *o.plan;
  const SampleShape s{sample.shape[0], sample.shape[1], sample.shape[2]};
  if (static_cast<int64_t>(plan.channels.size()) != s.c) {
    return FTC_INVALID(
        "the plan has %zu channels but the sample has %lld (a profile made for "
        "another tensor shape?)",
        plan.channels.size(), static_cast<long long>(s.c));
  }
  const size_t per = static_cast<size_t>(s.h * s.w);
  FTC_ASSIGN_OR_RETURN(std::vector<float> x, FiniteSampleF32(sample));
  const int64_t n = s.elements();
  AnsParams p;
  p.mode = Mode::kPlanned;
  p.band_rows = NormalizedBandRows(o.band_rows, s.h);
  p.rounding_q = static_cast<uint8_t>(std::lround((0.5 - o.deadzone) * 256.0));
  p.step_shift = static_cast<uint8_t>(o.step_shift);
  p.plan_id = plan.Id();
  std::vector<uint16_t> symbols;
  symbols.reserve(static_cast<size_t>(n));
  uint16_t max_symbol = 0;
  int64_t coded = 0;
  for (int64_t c = 0; c < s.c; ++c) {
    const ChannelQuant& ch = plan.channels[static_cast<size_t>(c)];
    if (ch.kind == ChannelKind::kDropped) continue;
    const size_t at = symbols.size();
    symbols.resize(at + per);
    const float step = PlannedStep(ch.step, o.step_shift);
    max_symbol = std::max(max_symbol, QuantizePlanned(x.data() + c * per, per, ch, step,
                                                      p.rounding(), symbols.data() + at));
    ++coded;
  }
  p.bits = 1;
  while (p.bits < 16 && (max_symbol >> p.bits) != 0) ++p.bits;
  WriteParams(p, &out->params);
  Section sec;
  sec.kind = kSymbolsSection;
  FTC_RETURN_IF_ERROR(EncodeSymbolSegment(symbols.data(), MakeBands({coded, s.h, s.w}, p.band_rows),
                                          p.bits, &sec.payload));
  out->sections.push_back(std::move(sec));
  return Status::Ok();
}

}  // namespace

Status MakeSamplePlanes(const TensorView& sample, const EncoderOptions& o, SamplePlanes* out) {
  *out = SamplePlanes();
  const SampleShape s{sample.shape[0], sample.shape[1], sample.shape[2]};
  AnsParams& p = out->params;
  p.band_rows = NormalizedBandRows(o.band_rows, s.h);
  if (o.lossless) return LosslessPlanes(sample, o, out);
  if (o.plan) {
    return FTC_INVALID(
        "the planned mode (a profile's per-channel plan) cannot be packetized; "
        "code frames, or give explicit --bits/--clip to override the plan");
  }
  const int64_t n = s.elements();
  FTC_ASSIGN_OR_RETURN(std::vector<float> x, FiniteSampleF32(sample));
  p.bits = o.bits;
  p.flags = static_cast<uint8_t>((o.per_channel ? kFlagPerChannel : 0) |
                                 (static_cast<uint8_t>(o.clip.kind) << kFlagClipShift));
  p.rounding_q = static_cast<uint8_t>(std::lround((0.5 - o.deadzone) * 256.0));
  out->alphabet_bits = p.bits;

  const int64_t channels = p.per_channel() ? s.c : 1;
  const size_t per = static_cast<size_t>(n / channels);
  out->planes.assign(1, std::vector<uint16_t>(static_cast<size_t>(n)));
  std::vector<uint16_t>& q = out->planes[0];
  for (int64_t c = 0; c < channels; ++c) {
    const float* xc = x.data() + c * per;
    Result<QuantParams> qp = ComputeQuantRange(xc, per, o.clip, p.bits, p.rounding());
    if (!qp.ok()) return QuantRangeError(qp.status(), xc, per, o.clip);
    out->ranges.push_back(*qp);
    Quantize(xc, per, *qp, q.data() + c * per);
  }
  return Status::Ok();
}

namespace {

// Packet mode: a sample quantized (or split into planes) once; any set of its bands coded as
// the sections of a frame of those bands.
class AnsBandSample : public BandSample {
 public:
  explicit AnsBandSample(SamplePlanes planes) : sp_(std::move(planes)) {}

  Status WriteParams(uint32_t band_rows, std::vector<uint8_t>* out) const override {
    AnsParams p = sp_.params;
    p.band_rows = band_rows;
    out->clear();
    ans::WriteParams(p, out);
    return Status::Ok();
  }

  bool SharedModelSymbols(const BandLayout& layout, std::vector<uint16_t>* symbols,
                          std::vector<BandShape>* shapes, int* alphabet_bits) const override {
    if (sp_.params.mode != Mode::kQuantized || sp_.planes.size() != 1) return false;
    const std::vector<uint16_t>& plane = sp_.planes[0];
    for (uint32_t b = 0; b < layout.total; ++b) {
      const uint16_t* first = plane.data() + layout.offset(b);
      symbols->insert(symbols->end(), first, first + layout.elements(b));
      shapes->push_back({layout.rows_of(b), static_cast<uint32_t>(layout.sample.w)});
    }
    *alphabet_bits = sp_.alphabet_bits;
    return true;
  }

  Status CodeBands(const BandLayout& layout, const std::vector<uint32_t>& bands,
                   const SymbolModel* shared, std::vector<Section>* out) const override {
    out->clear();
    const bool quantized = sp_.params.mode == Mode::kQuantized;
    if (quantized) {
      Section ranges;
      ranges.kind = kRangesSection;
      ByteWriter w(&ranges.payload);
      if (sp_.params.per_channel()) {
        for (uint32_t c : ChannelsOfBands(layout, bands)) {
          w.F32(sp_.ranges[c].lo);
          w.F32(sp_.ranges[c].hi);
        }
      } else {
        w.F32(sp_.ranges[0].lo);
        w.F32(sp_.ranges[0].hi);
      }
      out->push_back(std::move(ranges));
    }
    std::vector<BandShape> shapes;
    shapes.reserve(bands.size());
    int64_t elements = 0;
    for (uint32_t b : bands) {
      shapes.push_back({layout.rows_of(b), static_cast<uint32_t>(layout.sample.w)});
      elements += layout.elements(b);
    }
    std::vector<uint16_t> symbols(static_cast<size_t>(elements));
    for (const std::vector<uint16_t>& plane : sp_.planes) {
      size_t pos = 0;
      for (uint32_t b : bands) {
        const size_t n = static_cast<size_t>(layout.elements(b));
        std::memcpy(symbols.data() + pos, plane.data() + layout.offset(b), n * sizeof(uint16_t));
        pos += n;
      }
      Section s;
      s.kind = quantized ? kSymbolsSection : kPlaneSection;
      // A data packet's segments: headless under the stream's model, or with their own model
      // and one lane (docs/format.md, "Packets").
      if (shared != nullptr && quantized) {
        FTC_RETURN_IF_ERROR(EncodeHeadlessSegment(symbols.data(), shapes, *shared, &s.payload));
      } else {
        SymbolSegmentOptions one_lane;
        one_lane.lanes = 1;
        FTC_RETURN_IF_ERROR(EncodeSymbolSegment(symbols.data(), shapes, sp_.alphabet_bits,
                                                &s.payload, nullptr, one_lane));
      }
      out->push_back(std::move(s));
    }
    return Status::Ok();
  }

 private:
  SamplePlanes sp_;
};

class AnsBandEncoder : public BandEncoder {
 public:
  explicit AnsBandEncoder(const EncoderOptions& o) : options_(o) {}
  SampleShape Coded(const SampleShape& sample) const override { return sample; }
  Result<std::unique_ptr<BandSample>> Prepare(const TensorView& sample) const override {
    SamplePlanes sp;
    FTC_RETURN_IF_ERROR(MakeSamplePlanes(sample, options_, &sp));
    return std::unique_ptr<BandSample>(new AnsBandSample(std::move(sp)));
  }
  const char* SmallerBandHint() const override {
    return options_.lossless ? "" : " (or fewer --bits)";
  }

 private:
  EncoderOptions options_;
};

}  // namespace

Status EncodeSample(const TensorView& sample, const EncoderOptions& o, CodecEncodeOutput* out) {
  if (o.plan && !o.lossless) return EncodePlanned(sample, o, out);
  SamplePlanes sp;
  FTC_RETURN_IF_ERROR(MakeSamplePlanes(sample, o, &sp));
  WriteParams(sp.params, &out->params);
  const SampleShape s{sample.shape[0], sample.shape[1], sample.shape[2]};
  const std::vector<BandShape> bands = MakeBands(s, sp.params.band_rows);
  if (sp.params.mode == Mode::kLossless) {
    for (const std::vector<uint16_t>& plane : sp.planes) {
      Section sec;
      sec.kind = kPlaneSection;
      FTC_RETURN_IF_ERROR(EncodeSymbolSegment(plane.data(), bands, 8, &sec.payload));
      out->sections.push_back(std::move(sec));
    }
    return Status::Ok();
  }
  Section ranges;
  ranges.kind = kRangesSection;
  ByteWriter rw(&ranges.payload);
  for (const QuantParams& qp : sp.ranges) {
    rw.F32(qp.lo);
    rw.F32(qp.hi);
  }
  Section symbols;
  symbols.kind = kSymbolsSection;
  FTC_RETURN_IF_ERROR(
      EncodeSymbolSegment(sp.planes[0].data(), bands, sp.params.bits, &symbols.payload));
  out->sections.push_back(std::move(ranges));
  out->sections.push_back(std::move(symbols));
  return Status::Ok();
}

namespace {

Status AnsCheckOptions(const EncoderOptions& o, DType input) {
  if (o.lossless) {
    const DType stored = o.store_dtype ? *o.store_dtype : input;
    if (stored == DType::kU8 && input != DType::kU8) {
      return FTC_INVALID("--dtype u8 cannot store a %s tensor", DTypeName(input));
    }
    return Status::Ok();
  }
  if (o.store_dtype) {
    return FTC_INVALID("--dtype applies to --codec raw and to --codec ans --lossless only");
  }
  return Status::Ok();
}

Result<std::unique_ptr<BandEncoder>> AnsBandEncoderFor(const EncoderOptions& o, DType input) {
  FTC_RETURN_IF_ERROR(AnsCheckOptions(o, input));
  return std::unique_ptr<BandEncoder>(new AnsBandEncoder(o));
}

// Rate control: bits o.bits .. 1, or with a plan step shifts 0 .. 63.
int AnsRungs(const EncoderOptions& o) { return o.plan ? 64 : o.bits; }
void AnsRung(const EncoderOptions& o, int rung, EncoderOptions* out) {
  *out = o;
  if (o.plan) {
    out->step_shift = rung;
  } else {
    out->bits = o.bits - rung;
  }
}
const char* AnsCoarsest(const EncoderOptions& o) { return o.plan ? "step shift 63" : "1 bit"; }
const RateLadder kAnsLadder = {AnsRungs, AnsRung, AnsCoarsest};

}  // namespace
}  // namespace ftc::ans

namespace ftc {
extern const CodecEncoder kAnsEncoder = {
    1, "ans", ans::AnsCheckOptions, ans::EncodeSample, ans::AnsBandEncoderFor, &ans::kAnsLadder};
}  // namespace ftc

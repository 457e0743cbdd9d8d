// Decoder of codec `ans`.
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
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

uint32_t RotrBits(uint32_t v, int width) {
  const uint32_t mask = width == 32 ? 0xFFFFFFFFu : (1u << width) - 1;
  return ((v >> 1) | (v << (width - 1))) & mask;
}

// Quantized mode: checks the section list (a ranges section, a symbols section) and reads the
// `groups` quantizer ranges.
Result<std::vector<QuantParams>> ReadRanges(const std::vector<SectionRef>& sections,
                                            const AnsParams& p, size_t groups) {
  if (sections.size() != 2 || sections[0].kind != kRangesSection ||
      sections[1].kind != kSymbolsSection) {
    return FTC_CORRUPT("expected a ranges section and a symbols section");
  }
  const SectionRef& sec = sections[0];
  if (sec.size != groups * 8) {
    return FTC_CORRUPT("ranges section is %zu bytes, expected %zu", sec.size, groups * 8);
  }
  ByteReader r(sec.data, sec.size);
  std::vector<QuantParams> ranges(groups);
  for (size_t g = 0; g < groups; ++g) {
    QuantParams& q = ranges[g];
    (void)r.F32(&q.lo);
    (void)r.F32(&q.hi);
    q.bits = p.bits;
    q.rounding = p.rounding();
    Status s = ValidateQuantParams(q);
    if (!s.ok()) return FTC_CORRUPT("range %zu is invalid: %s", g, s.message().c_str());
  }
  return ranges;
}

std::vector<BandShape> ShapesOf(const BandLayout& layout, const std::vector<uint32_t>& bands,
                                int64_t* elements) {
  std::vector<BandShape> shapes;
  shapes.reserve(bands.size());
  *elements = 0;
  for (uint32_t b : bands) {
    shapes.push_back({layout.rows_of(b), static_cast<uint32_t>(layout.sample.w)});
    *elements += layout.elements(b);
  }
  return shapes;
}

// Quantized mode: the elements of `bands` (increasing), band after band, into `values`; the
// ranges the sections carry into *ranges_out (per-channel: those of the bands' channels).
Status DecodeQuantizedBands(const AnsParams& p, const BandLayout& layout,
                            const std::vector<uint32_t>& bands,
                            const std::vector<SectionRef>& sections, float* values,
                            std::vector<uint32_t>* channels_out,
                            std::vector<QuantParams>* ranges_out,
                            const SymbolSegmentDecodeOptions& seg,
                            const SymbolModel* shared = nullptr) {
  std::vector<uint32_t> channels;
  if (p.per_channel()) channels = ChannelsOfBands(layout, bands);
  FTC_ASSIGN_OR_RETURN(std::vector<QuantParams> ranges,
                       ReadRanges(sections, p, p.per_channel() ? channels.size() : 1));
  int64_t elements = 0;
  const std::vector<BandShape> shapes = ShapesOf(layout, bands, &elements);
  std::vector<uint16_t> symbols(static_cast<size_t>(elements));
  const SectionRef& sym = sections[1];
  Status s = shared != nullptr
                 ? DecodeHeadlessSegment(sym.data, sym.size, shapes, *shared, symbols.data())
                 : DecodeSymbolSegment(sym.data, sym.size, shapes, p.bits, symbols.data(), seg);
  if (!s.ok()) return s.WithContext("symbols");
  size_t pos = 0, g = 0;
  for (uint32_t b : bands) {
    if (p.per_channel()) {
      while (channels[g] != layout.channel(b)) ++g;
    }
    const size_t n = static_cast<size_t>(layout.elements(b));
    Dequantize(symbols.data() + pos, n, ranges[g], values + pos);
    pos += n;
  }
  if (channels_out) *channels_out = std::move(channels);
  if (ranges_out) *ranges_out = std::move(ranges);
  return Status::Ok();
}

// Lossless mode: the elements of `bands` (increasing), band after band, in the stored dtype.
Status DecodeLosslessBands(const AnsParams& p, const BandLayout& layout,
                           const std::vector<uint32_t>& bands,
                           const std::vector<SectionRef>& sections, uint8_t* out,
                           const SymbolSegmentDecodeOptions& seg) {
  const int width = static_cast<int>(DTypeSize(p.stored));
  if (sections.size() != static_cast<size_t>(width)) {
    return FTC_CORRUPT("lossless %s needs %d plane sections, found %zu", DTypeName(p.stored), width,
                       sections.size());
  }
  int64_t n = 0;
  const std::vector<BandShape> shapes = ShapesOf(layout, bands, &n);
  std::vector<std::vector<uint16_t>> planes(static_cast<size_t>(width),
                                            std::vector<uint16_t>(static_cast<size_t>(n)));
  std::vector<const uint16_t*> plane_ptrs;
  for (int k = 0; k < width; ++k) {
    const SectionRef& sec = sections[static_cast<size_t>(k)];
    if (sec.kind != kPlaneSection) return FTC_CORRUPT("section %d is not a plane", k);
    Status s = DecodeSymbolSegment(sec.data, sec.size, shapes, 8,
                                   planes[static_cast<size_t>(k)].data(), seg);
    if (!s.ok()) return s.WithContext(StrFormat("plane %d", k));
    plane_ptrs.push_back(planes[static_cast<size_t>(k)].data());
  }
  JoinLosslessPlanes(plane_ptrs, width, n, out);
  return Status::Ok();
}

std::vector<uint32_t> AllBands(const BandLayout& layout) {
  std::vector<uint32_t> bands(layout.total);
  for (uint32_t b = 0; b < layout.total; ++b) bands[b] = b;
  return bands;
}

// A data packet's symbol segments have one lane (docs/format.md, "Packets").
constexpr SymbolSegmentDecodeOptions kPacketSegments{true};

// Packet mode: one stream's parameters, any packet's bands.
class AnsBandDecoder : public BandDecoder {
 public:
  AnsBandDecoder(const AnsParams& p, std::optional<SymbolModel> shared)
      : p_(p), shared_(std::move(shared)) {}

  Status DecodeBands(const BandLayout& layout, const std::vector<uint32_t>& bands,
                     const std::vector<SectionRef>& sections, DecodedBands* out) const override {
    int64_t elements = 0;
    for (uint32_t b : bands) elements += layout.elements(b);
    out->values.resize(static_cast<size_t>(elements));
    if (p_.mode == Mode::kLossless) {
      std::vector<uint8_t> bytes(static_cast<size_t>(elements) * DTypeSize(p_.stored));
      FTC_RETURN_IF_ERROR(
          DecodeLosslessBands(p_, layout, bands, sections, bytes.data(), kPacketSegments));
      GatherF32(TensorView::Contiguous(bytes.data(), p_.stored, {elements}), 0, elements,
                out->values.data());
      return Status::Ok();
    }
    std::vector<uint32_t> channels;
    std::vector<QuantParams> ranges;
    FTC_RETURN_IF_ERROR(DecodeQuantizedBands(p_, layout, bands, sections, out->values.data(),
                                             &channels, &ranges, kPacketSegments,
                                             shared_ ? &*shared_ : nullptr));
    for (size_t g = 0; g < ranges.size(); ++g) {
      uint32_t lo = 0, hi = 0;
      std::memcpy(&lo, &ranges[g].lo, 4);  // bit patterns: -0 and +0 differ, as in the stream
      std::memcpy(&hi, &ranges[g].hi, 4);
      out->shared.emplace_back(p_.per_channel() ? channels[g] : 0,
                               uint64_t{lo} | (uint64_t{hi} << 32));
    }
    return Status::Ok();
  }

  std::string SharedName(uint32_t key) const override {
    return p_.per_channel() ? StrFormat("quantizer range of channel %u", key) : "quantizer range";
  }

 private:
  AnsParams p_;
  std::optional<SymbolModel> shared_;  // the parameter set's Symbol_Model
};

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

Result<std::unique_ptr<BandDecoder>> NewBandDecoder(const BandStream& stream) {
  FTC_ASSIGN_OR_RETURN(AnsParams p, ParseParams(stream.params, stream.coded, stream.dtype));
  if (p.band_rows != stream.band_rows) {
    return FTC_CORRUPT("ans band rows %u differ from the packet's %u", p.band_rows,
                       stream.band_rows);
  }
  std::optional<SymbolModel> shared;
  if (!stream.shared_model.empty()) {
    if (p.mode != Mode::kQuantized) {
      return FTC_CORRUPT(
          "ans: a symbol model in the parameter set of a stream without quantized "
          "symbols");
    }
    Result<SymbolModel> m =
        SymbolModel::Parse(stream.shared_model.data(), stream.shared_model.size(), p.bits);
    if (!m.ok()) return m.status().WithContext("ans: the parameter set's symbol model");
    shared = std::move(*m);
  }
  return std::unique_ptr<BandDecoder>(new AnsBandDecoder(p, std::move(shared)));
}

// A frame is every band of the sample: the packet decoder's steps over all bands.
Status DecodeSample(const ParsedFrame& f, const DecoderOptions& options, Tensor* out) {
  FTC_ASSIGN_OR_RETURN(
      AnsParams p, ParseParams(f.header.params, f.sample, f.header.dtype, f.header.version >= 2));
  if (p.mode == Mode::kPlanned) return DecodePlanned(f, p, options, out);
  const BandLayout layout = BandLayout::Of(f.sample, p.band_rows);
  const std::vector<uint32_t> bands = AllBands(layout);
  const Shape shape = {f.sample.c, f.sample.h, f.sample.w};
  if (p.mode == Mode::kLossless) {
    FTC_ASSIGN_OR_RETURN(*out, Tensor::Create(p.stored, shape));
    return DecodeLosslessBands(p, layout, bands, f.sections, out->data(), {}).WithContext("ans");
  }
  FTC_ASSIGN_OR_RETURN(*out, Tensor::Create(DType::kF32, shape));
  return DecodeQuantizedBands(p, layout, bands, f.sections, out->data_as<float>(), nullptr, nullptr,
                              {})
      .WithContext("ans");
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
    Result<std::vector<QuantParams>> read =
        ReadRanges(f.sections, p, p.per_channel() ? static_cast<size_t>(f.sample.c) : 1);
    if (!read.ok()) return read.status().WithContext("ans");
    const std::vector<QuantParams>& ranges = *read;
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

namespace {

const char* AnsSectionName(uint8_t kind) {
  switch (kind) {
    case ans::kRangesSection:
      return "ranges";
    case ans::kSymbolsSection:
      return "symbols";
    case ans::kPlaneSection:
      return "plane";
    default:
      return nullptr;
  }
}

}  // namespace
}  // namespace ftc::ans

namespace ftc {
extern const CodecDecoder kAnsDecoder = {1,
                                         "ans",
                                         ans::DecodeSample,
                                         ans::DescribeFrame,
                                         ans::AnsSectionName,
                                         PacketSampleIsTheSample,
                                         ans::NewBandDecoder,
                                         nullptr,
                                         false};
}  // namespace ftc

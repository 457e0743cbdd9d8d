// Codec `learned`, encoder half: a learned unit's reduction, then an inner codec (ans or jpeg)
// for the code, in frames or (inner ans) packets.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status_macros.h"
#include "codec/core/codec.h"
#include "codec/learned/learned_codec.h"

namespace ftc {
namespace learned {

std::string InnerName(const EncoderOptions& o, const LearnedUnitHandle& unit) {
  return o.inner.empty() ? unit.inner() : o.inner;
}

Result<InnerSetting> ResolveInner(const EncoderOptions& o, const LearnedUnitHandle& unit) {
  const bool trained = o.inner.empty();
  const std::string name = InnerName(o, unit);
  InnerSetting s;
  if (name == "ans") {
    s.id = kInnerAns;
  } else if (name == "jpeg") {
    s.id = kInnerJpeg;
  } else {
    return FTC_INVALID(
        "unit %s was trained for inner codec '%s'; learned codes its code with "
        "ans or jpeg",
        o.unit.c_str(), name.c_str());
  }
  Result<const CodecEncoder*> codec = FindEncoderByName(name);
  if (!codec.ok()) return codec.status().WithContext("learned: inner codec");
  s.codec = *codec;
  EncoderOptions& io = s.options;
  io.codec = name;
  io.clip.kind = ClipSpec::Kind::kRange;  // the code is in [0, 1]
  io.clip.a = 0;
  io.clip.b = 1;
  io.per_channel = false;
  io.deadzone = 0;
  io.lossless = false;
  io.band_rows = 0;
  if (s.id == kInnerAns) {
    io.bits = trained ? unit.bits() : o.bits;
    if (io.bits < 1 || io.bits > 16) {
      return FTC_INVALID("unit %s: trained bit depth %d out of range 1..16", o.unit.c_str(),
                         io.bits);
    }
  } else {
    io.quality = trained ? unit.quality() : o.quality;
    if (io.quality < 1 || io.quality > 100) {
      return FTC_INVALID("unit %s: trained jpeg quality %d out of range 1..100", o.unit.c_str(),
                         io.quality);
    }
    io.bit_depth = 8;
    io.layout = "mosaic";
    io.reorder_channels = false;
  }
  FTC_RETURN_IF_ERROR(io.Validate());
  FTC_RETURN_IF_ERROR(s.codec->check_options(io, DType::kF32));
  return s;
}

Status ReduceSample(const LearnedUnitHandle& unit, const std::string& dir, const TensorView& sample,
                    Tensor* code) {
  const SampleShape want = unit.split_shape();
  const SampleShape got{sample.shape[0], sample.shape[1], sample.shape[2]};
  if (!SameShape(want, got)) {
    return FTC_INVALID("unit %s expects features of shape %s per sample, got %s", dir.c_str(),
                       ShapeText(want).c_str(), ShapeText(got).c_str());
  }
  const SampleShape code_shape = unit.code_shape();
  FTC_RETURN_IF_ERROR(unit.Reduce(sample, code));
  if (code->dtype() != DType::kF32 || code->rank() != 3 || code->shape()[0] != code_shape.c ||
      code->shape()[1] != code_shape.h || code->shape()[2] != code_shape.w) {
    return FTC_INTERNAL("the reduction unit of %s gave a %s %s code, expected f32 %s", dir.c_str(),
                        DTypeName(code->dtype()), ShapeToString(code->shape()).c_str(),
                        ShapeText(code_shape).c_str());
  }
  return Status::Ok();
}

namespace {

Status LearnedCheckOptions(const EncoderOptions& o, DType input) {
  if (o.unit.empty()) {
    return FTC_INVALID("codec learned needs --unit DIR (a learned unit's folder)");
  }
  if (!GetLearnedUnitLoader()) {
    return Status(StatusCode::kNotBuiltIn,
                  "codec 'learned' is not built into this ftcodec (no learned unit loader)");
  }
  if (input == DType::kU8) {
    return FTC_INVALID("codec learned takes float features (f32, f16 or bf16), not u8");
  }
  if (o.store_dtype) return FTC_INVALID("--dtype applies to raw and ans --lossless, not learned");
  if (o.lossless) return FTC_INVALID("learned is lossy: it has no lossless mode");
  if (o.clip.kind != ClipSpec::Kind::kNone || o.per_channel) {
    return FTC_INVALID(
        "learned codes its code in the fixed range [0, 1]: --clip and "
        "--per-channel do not apply");
  }
  if (o.deadzone != 0) return FTC_INVALID("--deadzone does not apply to learned");
  if (o.band_rows != 0) return FTC_INVALID("--band-rows does not apply to learned");
  if (o.reorder_channels) return FTC_INVALID("--reorder does not apply to learned");
  if (o.bit_depth != 0) return FTC_INVALID("--bit-depth does not apply to learned");
  if (o.sequence) return FTC_INVALID("learned codes every sample on its own (no --sequence)");
  if (o.inner == "jpeg") {
    Result<const CodecEncoder*> jpeg = FindEncoderByName("jpeg");
    if (!jpeg.ok()) return jpeg.status().WithContext("learned: inner codec");
  }
  return Status::Ok();
}

Status LearnedEncode(const TensorView& sample, const EncoderOptions& o, CodecEncodeOutput* out) {
  FTC_ASSIGN_OR_RETURN(UnitPtr unit, LoadUnit(o.unit));
  Tensor code;
  FTC_RETURN_IF_ERROR(ReduceSample(*unit, o.unit, sample, &code));
  FTC_ASSIGN_OR_RETURN(InnerSetting inner, ResolveInner(o, *unit));
  const SampleShape code_shape = unit->code_shape();
  CodecEncodeOutput inner_out;
  Status s = inner.codec->encode(code.view(), inner.options, &inner_out);
  if (!s.ok()) return s.WithContext(StrFormat("learned: inner %s", inner.codec->name));
  LearnedParams p;
  p.unit_hash = unit->hash();
  p.inner_id = inner.id;
  p.code = code_shape;
  p.inner_params = std::move(inner_out.params);
  FTC_RETURN_IF_ERROR(WriteLearnedParams(p, &out->params));
  for (Section& sec : inner_out.sections) {
    if (sec.kind < 1 || sec.kind >= kSectionKindStride) {
      return FTC_INTERNAL("learned: inner section kind %u out of range 1..15", sec.kind);
    }
    sec.kind = InnerSectionKind(inner.id, sec.kind);
    out->sections.push_back(std::move(sec));
  }
  return Status::Ok();
}

// Packet mode (docs/format.md, "Learned packets"): the bands cut each sample's code, coded by the
// inner codec's band halves; section kinds as in learned frames.
class LearnedBandSample : public BandSample {
 public:
  LearnedBandSample(const LearnedParams& params, std::unique_ptr<BandSample> inner)
      : params_(params), inner_(std::move(inner)) {}

  Status WriteParams(uint32_t band_rows, std::vector<uint8_t>* out) const override {
    LearnedParams p = params_;
    FTC_RETURN_IF_ERROR(inner_->WriteParams(band_rows, &p.inner_params));
    out->clear();
    return WriteLearnedParams(p, out);
  }

  bool SharedModelSymbols(const BandLayout& layout, std::vector<uint16_t>* symbols,
                          std::vector<BandShape>* shapes, int* alphabet_bits) const override {
    return inner_->SharedModelSymbols(layout, symbols, shapes, alphabet_bits);
  }

  Status CodeBands(const BandLayout& layout, const std::vector<uint32_t>& bands,
                   const SymbolModel* shared, std::vector<Section>* out) const override {
    FTC_RETURN_IF_ERROR(inner_->CodeBands(layout, bands, shared, out));
    for (Section& sec : *out) sec.kind = InnerSectionKind(params_.inner_id, sec.kind);
    return Status::Ok();
  }

 private:
  LearnedParams params_;  // every field but inner_params
  std::unique_ptr<BandSample> inner_;
};

class LearnedBandEncoder : public BandEncoder {
 public:
  LearnedBandEncoder(UnitPtr unit, std::string dir, uint8_t inner_id,
                     std::unique_ptr<BandEncoder> inner)
      : unit_(std::move(unit)), dir_(std::move(dir)), inner_(std::move(inner)) {
    params_.unit_hash = unit_->hash();
    params_.inner_id = inner_id;
    params_.code = unit_->code_shape();
  }

  SampleShape Coded(const SampleShape&) const override { return unit_->code_shape(); }

  Result<std::unique_ptr<BandSample>> Prepare(const TensorView& sample) const override {
    Tensor code;
    FTC_RETURN_IF_ERROR(ReduceSample(*unit_, dir_, sample, &code));
    FTC_ASSIGN_OR_RETURN(std::unique_ptr<BandSample> inner, inner_->Prepare(code.view()));
    return std::unique_ptr<BandSample>(new LearnedBandSample(params_, std::move(inner)));
  }

  const char* SmallerBandHint() const override { return " (or fewer --bits)"; }

 private:
  UnitPtr unit_;
  std::string dir_;
  LearnedParams params_;
  std::unique_ptr<BandEncoder> inner_;
};

Result<std::unique_ptr<BandEncoder>> LearnedBandEncoderFor(const EncoderOptions& o, DType input) {
  if (!o.inner.empty() && o.inner != "ans") {
    return FTC_INVALID(
        "learned: packet mode needs --inner ans (packets cut the code into "
        "bands of an ans stream; --inner %s cannot be packetized)",
        o.inner.c_str());
  }
  // --band-rows is the code's in packet mode; the frame codec's option check refuses it.
  EncoderOptions check = o;
  check.band_rows = 0;
  FTC_RETURN_IF_ERROR(LearnedCheckOptions(check, input));
  FTC_ASSIGN_OR_RETURN(UnitPtr unit, LoadUnit(o.unit));
  const std::string inner = InnerName(o, *unit);
  if (inner != "ans") {
    return FTC_INVALID(
        "unit %s was trained for inner codec '%s'; packet mode needs --inner ans "
        "(and --bits)",
        o.unit.c_str(), inner.c_str());
  }
  FTC_ASSIGN_OR_RETURN(InnerSetting setting, ResolveInner(o, *unit));
  setting.options.threads = 1;
  FTC_ASSIGN_OR_RETURN(std::unique_ptr<BandEncoder> inner_encoder,
                       setting.codec->band_encoder(setting.options, DType::kF32));
  return std::unique_ptr<BandEncoder>(
      new LearnedBandEncoder(std::move(unit), o.unit, setting.id, std::move(inner_encoder)));
}

}  // namespace
}  // namespace learned

extern const CodecEncoder kLearnedEncoder = {learned::kCodecId,
                                             "learned",
                                             learned::LearnedCheckOptions,
                                             learned::LearnedEncode,
                                             learned::LearnedBandEncoderFor,
                                             nullptr};

}  // namespace ftc

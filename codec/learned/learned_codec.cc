// The table entry of codec `learned` (docs/format.md, "Codec `learned`"): a learned unit's
// reduction, an inner codec (ans or jpeg) for the code, the restoration at the decoder. Running
// the units needs a loader (codec/learned/learned_unit.h); everything else here is torch-free.
#include "codec/learned/learned_codec.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status_macros.h"
#include "codec/core/codec.h"

namespace ftc {
namespace learned {

std::string ShapeText(const SampleShape& s) {
  return StrFormat("%lldx%lldx%lld", static_cast<long long>(s.c), static_cast<long long>(s.h),
                   static_cast<long long>(s.w));
}

namespace {

bool SameShape(const SampleShape& a, const SampleShape& b) {
  return a.c == b.c && a.h == b.h && a.w == b.w;
}

}  // namespace

Result<UnitPtr> LoadUnit(const std::string& dir) {
  const LearnedUnitLoader loader = GetLearnedUnitLoader();
  if (!loader) {
    return Status(StatusCode::kNotBuiltIn,
                  "codec 'learned' is not built into this ftcodec (no learned unit loader)");
  }
  FTC_ASSIGN_OR_RETURN(UnitPtr unit, loader(dir));
  if (!unit) return FTC_INTERNAL("the learned unit loader returned no unit for %s", dir.c_str());
  return unit;
}

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
  Result<const Codec*> codec = FindCodecByName(name);
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

Result<UnitPtr> UnitForStream(const std::string& dir, const LearnedParams& p,
                              const SampleShape& sample) {
  const std::string stream_hash = UnitHashHex(p.unit_hash);
  if (dir.empty()) {
    return FTC_INVALID(
        "this stream was coded with learned unit %s; decoding it needs --unit DIR "
        "(the unit's folder)",
        stream_hash.c_str());
  }
  FTC_ASSIGN_OR_RETURN(UnitPtr unit, LoadUnit(dir));
  if (unit->hash() != p.unit_hash) {
    return FTC_UNSUPPORTED(
        "unit mismatch: the stream was coded with learned unit %s, but %s is "
        "unit %s",
        stream_hash.c_str(), dir.c_str(), UnitHashHex(unit->hash()).c_str());
  }
  if (!SameShape(unit->code_shape(), p.code) || !SameShape(unit->split_shape(), sample)) {
    return FTC_UNSUPPORTED(
        "unit %s maps %s features to a %s code, but the stream has %s "
        "features and a %s code",
        dir.c_str(), ShapeText(unit->split_shape()).c_str(), ShapeText(unit->code_shape()).c_str(),
        ShapeText(sample).c_str(), ShapeText(p.code).c_str());
  }
  return unit;
}

Status RestoreCode(const LearnedUnitHandle& unit, const std::string& dir, const TensorView& code,
                   const SampleShape& sample, Tensor* features) {
  Tensor out;
  FTC_RETURN_IF_ERROR(unit.Restore(code, &out));
  if (out.dtype() != DType::kF32 || out.num_elements() != sample.elements()) {
    return FTC_INTERNAL("the restoration unit of %s gave a %s %s tensor, expected f32 %s",
                        dir.c_str(), DTypeName(out.dtype()), ShapeToString(out.shape()).c_str(),
                        ShapeText(sample).c_str());
  }
  FTC_RETURN_IF_ERROR(out.Reshape({sample.c, sample.h, sample.w}));
  *features = std::move(out);
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
    Result<const Codec*> jpeg = FindCodecByName("jpeg");
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

// The frame's parameters and the inner frame (docs/format.md, "The inner frame"). Section
// payloads still point into the outer frame's bytes.
struct LearnedFrame {
  LearnedParams params;
  ParsedFrame inner;
};

Result<LearnedFrame> ParseLearnedFrame(const ParsedFrame& f) {
  if (f.header.multi_sample) return FTC_CORRUPT("learned: a multi-sample frame");
  if (f.header.dtype == DType::kU8) return FTC_CORRUPT("learned: a u8 frame (features are float)");
  LearnedFrame out;
  FTC_ASSIGN_OR_RETURN(out.params,
                       ParseLearnedParams(f.header.params.data(), f.header.params.size()));
  const LearnedParams& p = out.params;
  ParsedFrame& in = out.inner;
  in.header.dtype = DType::kF32;
  in.header.shape = {p.code.c, p.code.h, p.code.w};
  in.header.batch_index = 0;
  in.header.batch_count = 1;
  in.header.multi_sample = false;
  in.header.sample_count = 1;
  in.header.codec_id = p.inner_id;
  in.header.params = p.inner_params;
  in.sample = p.code;
  in.size = f.size;
  for (size_t k = 0; k < f.sections.size(); ++k) {
    const SectionRef& sec = f.sections[k];
    if (sec.kind / kSectionKindStride != p.inner_id || sec.kind % kSectionKindStride == 0) {
      return FTC_CORRUPT(
          "learned: section %zu has kind %u, not a section of inner codec %s "
          "(kinds %u..%u)",
          k, sec.kind, InnerCodecName(p.inner_id), kSectionKindStride * p.inner_id + 1,
          kSectionKindStride * p.inner_id + kSectionKindStride - 1);
    }
    SectionRef mapped = sec;
    mapped.kind = static_cast<uint8_t>(sec.kind % kSectionKindStride);
    in.sections.push_back(mapped);
  }
  return out;
}

Result<const Codec*> InnerCodec(uint8_t inner_id) {
  const Codec* c = FindCodecById(inner_id);
  if (!c) {
    return Status(StatusCode::kNotBuiltIn,
                  StrFormat("the stream's inner codec '%s' is not built into this ftcodec",
                            InnerCodecName(inner_id)));
  }
  return c;
}

Status LearnedDecode(const ParsedFrame& f, const DecoderOptions& options, Tensor* out) {
  FTC_ASSIGN_OR_RETURN(LearnedFrame lf, ParseLearnedFrame(f));
  const LearnedParams& p = lf.params;
  if (!options.unit.empty() && p.code.elements() > options.max_frame_elements) {
    return FTC_LIMIT("learned: a code of %lld elements exceeds the decoder's limit of %lld",
                     static_cast<long long>(p.code.elements()),
                     static_cast<long long>(options.max_frame_elements));
  }
  FTC_ASSIGN_OR_RETURN(UnitPtr unit, UnitForStream(options.unit, p, f.sample));
  FTC_ASSIGN_OR_RETURN(const Codec* inner, InnerCodec(p.inner_id));
  Tensor code;
  Status s = inner->decode(lf.inner, options, &code);
  if (!s.ok()) return s.WithContext("learned");
  if (code.dtype() != DType::kF32) code = code.ConvertTo(DType::kF32);
  if (code.num_elements() != p.code.elements()) {
    return FTC_INTERNAL("learned: the inner codec decoded a wrong-sized code");
  }
  FTC_RETURN_IF_ERROR(code.Reshape({p.code.c, p.code.h, p.code.w}));
  return RestoreCode(*unit, options.unit, code.view(), f.sample, out);
}

Status LearnedDescribe(const ParsedFrame& f, ParamList* out) {
  FTC_ASSIGN_OR_RETURN(LearnedFrame lf, ParseLearnedFrame(f));
  const LearnedParams& p = lf.params;
  FTC_ASSIGN_OR_RETURN(const Codec* inner, InnerCodec(p.inner_id));
  ParamList inner_params;
  Status s = inner->describe(lf.inner, &inner_params);
  if (!s.ok()) return s.WithContext("learned");
  out->emplace_back("unit", UnitHashHex(p.unit_hash));
  out->emplace_back("inner", inner->name);
  out->emplace_back("code_shape", ShapeText(p.code));
  for (auto& [key, value] : inner_params) {
    out->emplace_back(std::string(inner->name) + "." + key, std::move(value));
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

  Status CodeBands(const BandLayout& layout, const std::vector<uint32_t>& bands,
                   std::vector<Section>* out) const override {
    FTC_RETURN_IF_ERROR(inner_->CodeBands(layout, bands, out));
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

class LearnedBandDecoder : public BandDecoder {
 public:
  LearnedBandDecoder(const LearnedParams& params, const SampleShape& sample,
                     std::unique_ptr<BandDecoder> inner)
      : params_(params), sample_(sample), inner_(std::move(inner)) {}

  Status DecodeBands(const BandLayout& layout, const std::vector<uint32_t>& bands,
                     const std::vector<SectionRef>& sections, DecodedBands* out) const override {
    // The inner codec's kinds; a kind of another inner codec maps to 0, which none defines.
    std::vector<SectionRef> inner = sections;
    for (SectionRef& sec : inner) {
      const bool ours = sec.kind / kSectionKindStride == params_.inner_id;
      sec.kind = ours ? static_cast<uint8_t>(sec.kind % kSectionKindStride) : 0;
    }
    return inner_->DecodeBands(layout, bands, inner, out);
  }

  std::string SharedName(uint32_t key) const override { return inner_->SharedName(key); }

  bool Restores() const override { return true; }

  Status OpenRestore(const std::string& unit_dir) override {
    if (!GetLearnedUnitLoader()) {
      return Status(StatusCode::kNotBuiltIn,
                    "the packet stream uses codec 'learned', which is not built into this "
                    "ftcodec (no learned unit loader: restoring the code needs libtorch)");
    }
    FTC_ASSIGN_OR_RETURN(unit_, UnitForStream(unit_dir, params_, sample_));
    dir_ = unit_dir;
    return Status::Ok();
  }

  Status Restore(const TensorView& code, Tensor* sample) const override {
    if (!unit_) return FTC_INTERNAL("learned: Restore before OpenRestore");
    return RestoreCode(*unit_, dir_, code, sample_, sample);
  }

 private:
  LearnedParams params_;
  SampleShape sample_;  // the stream's (the features)
  std::unique_ptr<BandDecoder> inner_;
  UnitPtr unit_;
  std::string dir_;
};

Result<std::unique_ptr<BandDecoder>> LearnedBandDecoderFor(const BandStream& stream) {
  // The container's packet_sample (LearnedPacketSample) checked the parameters.
  FTC_ASSIGN_OR_RETURN(LearnedParams lp,
                       ParseLearnedParams(stream.params.data(), stream.params.size()));
  const Codec* inner = FindCodecById(lp.inner_id);
  if (inner == nullptr || inner->band_decoder == nullptr) {
    return FTC_CORRUPT("learned: inner codec %s cannot be packetized", InnerCodecName(lp.inner_id));
  }
  BandStream in;
  in.dtype = DType::kF32;  // the inner frame's
  in.params = lp.inner_params;
  in.band_rows = stream.band_rows;
  in.coded = stream.coded;
  in.sample = stream.coded;
  Result<std::unique_ptr<BandDecoder>> d = inner->band_decoder(in);
  if (!d.ok()) return d.status().WithContext("learned");
  return std::unique_ptr<BandDecoder>(new LearnedBandDecoder(lp, stream.sample, std::move(*d)));
}

void LearnedDescribePacket(const PacketHeader& h, PacketInfo* info) {
  Result<LearnedParams> lp = ParseLearnedParams(h.params.data(), h.params.size());
  if (!lp.ok()) return;  // ParsePacket checked the parameters
  info->unit = UnitHashHex(lp->unit_hash);
  info->inner = InnerCodecName(lp->inner_id);
  info->code_shape = {lp->code.c, lp->code.h, lp->code.w};
}

}  // namespace
}  // namespace learned

extern const Codec kLearnedCodec = {learned::kCodecId,
                                    "learned",
                                    learned::LearnedCheckOptions,
                                    learned::LearnedEncode,
                                    learned::LearnedDecode,
                                    learned::LearnedDescribe,
                                    learned::LearnedSectionName,
                                    learned::LearnedPacketSample,
                                    learned::LearnedBandEncoderFor,
                                    learned::LearnedBandDecoderFor,
                                    learned::LearnedDescribePacket,
                                    false};

}  // namespace ftc

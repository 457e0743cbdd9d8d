// Codec `learned`, decoder half: the inner codec's decoder, then the unit's restoration.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status_macros.h"
#include "bitstream/decoder_limits.h"
#include "codec/core/codec.h"
#include "codec/learned/learned_batch.h"
#include "codec/learned/learned_codec.h"
#include "ftcodec/profile.h"

namespace ftc {
namespace learned {

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

Result<const CodecDecoder*> InnerCodec(uint8_t inner_id) {
  const CodecDecoder* c = FindDecoderById(inner_id);
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
  FTC_ASSIGN_OR_RETURN(const CodecDecoder* inner, InnerCodec(p.inner_id));
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
  FTC_ASSIGN_OR_RETURN(const CodecDecoder* inner, InnerCodec(p.inner_id));
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
  const CodecDecoder* inner = FindDecoderById(lp.inner_id);
  if (inner == nullptr || inner->band_decoder == nullptr) {
    return FTC_CORRUPT("learned: inner codec %s cannot be packetized", InnerCodecName(lp.inner_id));
  }
  BandStream in;
  in.dtype = DType::kF32;  // the inner frame's
  in.params = lp.inner_params;
  in.band_rows = stream.band_rows;
  in.shared_model = stream.shared_model;
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

std::unique_ptr<BatchRestorer> BatchRestorer::Open(const DecoderOptions& in,
                                                   const SampleShape& sample, size_t streams) {
  if (in.unit.empty() || !GetLearnedUnitLoader() || !in.dtype) return nullptr;
  // What decode's option check refuses, decode reports.
  if ((in.plan && !in.plan->Validate().ok()) || in.max_frame_elements < 1 ||
      in.max_frame_elements > kMaxSampleElements || !in.limits.Validate().ok()) {
    return nullptr;
  }
  Result<UnitPtr> unit = LoadUnit(in.unit);
  if (!unit.ok() || !SameShape((*unit)->split_shape(), sample)) return nullptr;
  std::unique_ptr<BatchRestorer> r(new BatchRestorer());
  r->options_ = in;
  r->options_.max_frame_elements = std::min(in.max_frame_elements, in.limits.max_sample_elements);
  r->sample_ = sample;
  r->unit_ = std::move(*unit);
  r->codes_.resize(streams);
  r->kept_.assign(streams, 0);
  return r;
}

bool BatchRestorer::DecodeCode(size_t i, const StreamRef& stream) {
  // The checks of decode (codec/core/dec_api.cc) for a stream of one frame and one sample; a
  // stream failing any of them is decode's to report.
  if (stream.data == nullptr || stream.size == 0) return false;
  Result<ParsedFrame> f = ParseFrame(stream.data, stream.size, options_.max_frame_elements);
  if (!f.ok() || f->size != stream.size) return false;
  const FrameHeader& h = f->header;
  if (h.codec_id != kCodecId || h.multi_sample || h.batch_count != 1 || h.batch_index != 0 ||
      h.sample_count != 1 || !SameShape(f->sample, sample_)) {
    return false;
  }
  const Shape chw = {sample_.c, sample_.h, sample_.w};
  if (h.shape != chw && h.shape != Shape{1, sample_.c, sample_.h, sample_.w}) return false;
  if (!CheckOutputSize(options_.limits, sample_.elements(), DTypeSize(*options_.dtype),
                       "the tensor")
           .ok()) {
    return false;
  }
  // LearnedDecode without the restoration.
  Result<LearnedFrame> lf = ParseLearnedFrame(*f);
  if (!lf.ok()) return false;
  const LearnedParams& p = lf->params;
  if (p.unit_hash != unit_->hash() || !SameShape(p.code, unit_->code_shape()) ||
      p.code.elements() > options_.max_frame_elements) {
    return false;
  }
  const CodecDecoder* inner = FindDecoderById(p.inner_id);
  if (inner == nullptr) return false;
  Tensor code;
  if (!inner->decode(lf->inner, options_, &code).ok()) return false;
  if (code.dtype() != DType::kF32) code = code.ConvertTo(DType::kF32);
  if (code.num_elements() != p.code.elements()) return false;
  codes_[i] = std::move(code);
  kept_[i] = 1;
  return true;
}

std::vector<size_t> BatchRestorer::RestoreInto(Tensor* out, size_t sample_bytes) {
  std::vector<size_t> kept, failed;
  for (size_t i = 0; i < kept_.size(); ++i) {
    if (kept_[i]) kept.push_back(i);
  }
  // Chunks of near-equal size (65 samples: 33 and 32), so that no sample of a larger batch is
  // restored alone.
  const size_t chunks = (kept.size() + kRestoreChunk - 1) / kRestoreChunk;
  for (size_t c = 0, first = 0; c < chunks; ++c) {
    const size_t k = kept.size() / chunks + (c < kept.size() % chunks ? 1 : 0);
    const size_t* ids = kept.data() + first;
    first += k;
    bool ok = false;
    try {
      ok = RestoreChunk(ids, k, out, sample_bytes);
    } catch (...) {
      ok = false;  // out of memory: decode these on their own
    }
    if (!ok) failed.insert(failed.end(), ids, ids + k);
  }
  return failed;
}

bool BatchRestorer::RestoreChunk(const size_t* ids, size_t k, Tensor* out, size_t sample_bytes) {
  const size_t code_elements = static_cast<size_t>(unit_->code_shape().elements());
  std::vector<float> codes(k * code_elements);
  for (size_t j = 0; j < k; ++j) {
    std::memcpy(codes.data() + j * code_elements, codes_[ids[j]].data(),
                code_elements * sizeof(float));
    codes_[ids[j]] = Tensor();
  }
  // f32 samples of consecutive streams: straight into the output.
  if (out->dtype() == DType::kF32 && ids[k - 1] - ids[0] == k - 1) {
    return unit_
        ->RestoreBatch(codes.data(), static_cast<int64_t>(k),
                       reinterpret_cast<float*>(out->data() + ids[0] * sample_bytes))
        .ok();
  }
  Result<Tensor> restored =
      Tensor::Create(DType::kF32, {static_cast<int64_t>(k), sample_.c, sample_.h, sample_.w});
  if (!restored.ok() ||
      !unit_->RestoreBatch(codes.data(), static_cast<int64_t>(k), restored->data_as<float>())
           .ok()) {
    return false;
  }
  // The same element-wise conversion decode applies (Tensor::ConvertTo).
  if (out->dtype() != DType::kF32) *restored = restored->ConvertTo(out->dtype());
  for (size_t j = 0; j < k; ++j) {
    std::memcpy(out->data() + ids[j] * sample_bytes, restored->data() + j * sample_bytes,
                sample_bytes);
  }
  return true;
}

}  // namespace learned

extern const CodecDecoder kLearnedDecoder = {learned::kCodecId,
                                             "learned",
                                             learned::LearnedDecode,
                                             learned::LearnedDescribe,
                                             learned::LearnedSectionName,
                                             learned::LearnedPacketSample,
                                             learned::LearnedBandDecoderFor,
                                             learned::LearnedDescribePacket,
                                             false};

}  // namespace ftc

// The table entry of codec `hevc`, its option checks, parameters and `ftcodec info` lines.
#include <string>

#include "base/status_macros.h"
#include "codec/hevc/hevc_common.h"

namespace ftc {
namespace hevc {

Result<HevcFrame> ParseHevcFrame(const ParsedFrame& f) {
  ByteReader r(f.header.params.data(), f.header.params.size());
  Result<PackParams> p = PackedPictures::ParseParams(&r, f.sample);
  if (!p.ok()) return p.status().WithContext("hevc");
  uint8_t qp, preset, chroma;
  uint32_t checksum;
  if (!r.U8(&qp) || !r.U8(&preset) || !r.U8(&chroma) || !r.U32(&checksum)) {
    return FTC_CORRUPT("hevc: truncated codec parameters");
  }
  if (qp > 51) return FTC_CORRUPT("hevc: QP %u out of range 0..51", qp);
  if (preset >= kPresetCount) return FTC_CORRUPT("hevc: preset index %u out of range", preset);
  if (chroma > kChroma420) return FTC_CORRUPT("hevc: invalid chroma format %u", chroma);
  if (r.remaining() != 0) {
    return FTC_CORRUPT("hevc: %zu unexpected codec parameter bytes", r.remaining());
  }
  Result<PackedPictures> pictures = PackedPictures::Create(f, *p, Limits());
  if (!pictures.ok()) return pictures.status().WithContext("hevc");
  HevcFrame out;
  out.pictures = std::move(pictures).value();
  out.qp = qp;
  out.preset = preset;
  out.chroma = chroma;
  out.levels_checksum = checksum;
  return out;
}

namespace {

Status HevcCheckOptions(const EncoderOptions& o, DType) {
  if (o.store_dtype) return FTC_INVALID("--dtype applies to raw and ans --lossless, not hevc");
  if (o.lossless) return FTC_INVALID("hevc is lossy here: it has no lossless mode");
  return Status::Ok();
}

Status HevcDescribe(const ParsedFrame& f, ParamList* out) {
  FTC_ASSIGN_OR_RETURN(HevcFrame h, ParseHevcFrame(f));
  out->emplace_back("qp", std::to_string(h.qp));
  out->emplace_back("preset", kPresetNames[h.preset]);
  out->emplace_back("chroma", h.chroma == kChroma400 ? "4:0:0" : "4:2:0 flat");
  h.pictures.Describe(out);
  return Status::Ok();
}

const char* HevcSectionName(uint8_t kind) { return PackSectionName(kind, "hevc"); }

}  // namespace
}  // namespace hevc

extern const Codec kHevcCodec = {hevc::kCodecId,
                                 "hevc",
                                 hevc::HevcCheckOptions,
                                 hevc::EncodeSample,
                                 hevc::DecodeSample,
                                 hevc::HevcDescribe,
                                 hevc::HevcSectionName,
                                 nullptr,  // no band halves: does not packetize
                                 nullptr,
                                 nullptr,
                                 nullptr,
                                 true};

}  // namespace ftc

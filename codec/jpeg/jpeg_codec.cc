// The table entry of codec `jpeg`, its option checks, parameters and `ftcodec info` lines.
#include <string>

#include "base/status_macros.h"
#include "codec/jpeg/jpeg_common.h"

namespace ftc {
namespace jpeg {

Result<JpegFrame> ParseJpegFrame(const ParsedFrame& f) {
  ByteReader r(f.header.params.data(), f.header.params.size());
  Result<PackParams> p = PackedPictures::ParseParams(&r, f.sample);
  if (!p.ok()) return p.status().WithContext("jpeg");
  uint8_t quality;
  if (!r.U8(&quality)) return FTC_CORRUPT("jpeg: truncated codec parameters");
  if (quality < 1 || quality > 100) return FTC_CORRUPT("jpeg: quality %u out of range", quality);
  if (r.remaining() != 0) {
    return FTC_CORRUPT("jpeg: %zu unexpected codec parameter bytes", r.remaining());
  }
  Result<PackedPictures> pictures = PackedPictures::Create(f, *p, Limits());
  if (!pictures.ok()) return pictures.status().WithContext("jpeg");
  JpegFrame out;
  out.pictures = std::move(pictures).value();
  out.quality = quality;
  return out;
}

namespace {

Status JpegCheckOptions(const EncoderOptions& o, DType) {
  if (o.store_dtype) return FTC_INVALID("--dtype applies to raw and ans --lossless, not jpeg");
  if (o.lossless) return FTC_INVALID("jpeg is lossy: it has no lossless mode");
  if (o.bit_depth != 0 && o.bit_depth != 8) {
    return FTC_INVALID("jpeg codes 8-bit pictures (bit depth %d requested)", o.bit_depth);
  }
  if (o.layout != "mosaic") return FTC_INVALID("jpeg packs channels as a mosaic only");
  return Status::Ok();
}

Status JpegDescribe(const ParsedFrame& f, ParamList* out) {
  FTC_ASSIGN_OR_RETURN(JpegFrame j, ParseJpegFrame(f));
  out->emplace_back("quality", std::to_string(j.quality));
  j.pictures.Describe(out);
  return Status::Ok();
}

const char* JpegSectionName(uint8_t kind) { return PackSectionName(kind, "jpeg"); }

}  // namespace
}  // namespace jpeg

extern const Codec kJpegCodec = {jpeg::kCodecId,
                                 "jpeg",
                                 jpeg::JpegCheckOptions,
                                 jpeg::EncodeSample,
                                 jpeg::DecodeSample,
                                 jpeg::JpegDescribe,
                                 jpeg::JpegSectionName,
                                 nullptr,  // no band halves: does not packetize
                                 nullptr,
                                 nullptr,
                                 nullptr,
                                 false};

}  // namespace ftc

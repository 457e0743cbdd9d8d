// The table entry of codec `ans`.
#include "base/status_macros.h"
#include "codec/ans/ans_common.h"
#include "codec/ans/ans_internal.h"

namespace ftc {
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

Result<std::unique_ptr<BandEncoder>> AnsBandEncoder(const EncoderOptions& o, DType input) {
  FTC_RETURN_IF_ERROR(AnsCheckOptions(o, input));
  return ans::NewBandEncoder(o);
}

}  // namespace

extern const Codec kAnsCodec = {1,
                                "ans",
                                AnsCheckOptions,
                                ans::EncodeSample,
                                ans::DecodeSample,
                                ans::DescribeFrame,
                                AnsSectionName,
                                PacketSampleIsTheSample,
                                AnsBandEncoder,
                                ans::NewBandDecoder,
                                nullptr,
                                false};

}  // namespace ftc

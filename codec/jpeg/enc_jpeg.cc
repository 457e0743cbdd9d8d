// Encoder of codec `jpeg`: the 8-bit channel mosaic as one grayscale baseline JPEG (TurboJPEG).
#include <turbojpeg.h>

#include <memory>
#include <vector>

#include "base/status_macros.h"
#include "codec/jpeg/jpeg_common.h"

namespace ftc::jpeg {
namespace {

struct TjHandleCloser {
  void operator()(void* h) const { tjDestroy(h); }
};
struct TjBufferFree {
  void operator()(unsigned char* b) const { tjFree(b); }
};

}  // namespace

Status EncodeSample(const TensorView& sample, const EncoderOptions& o, CodecEncodeOutput* out) {
  const PictureLimits limits = Limits();
  FTC_ASSIGN_OR_RETURN(PackedSamples packed,
                       PackedSamples::Create(sample, o, PackLayout::kMosaic, 8, limits,
                                             &out->params, &out->sections));
  out->params.push_back(static_cast<uint8_t>(o.quality));
  const PackGeometry& g = packed.geometry();
  std::vector<uint8_t> picture(static_cast<size_t>(g.width * g.height));
  packed.Render<uint8_t>(0, picture.data(), g.width);

  std::unique_ptr<void, TjHandleCloser> tj(tjInitCompress());
  if (!tj)
    return FTC_INTERNAL("jpeg: cannot create a TurboJPEG compressor: %s", tjGetErrorStr2(nullptr));
  unsigned char* jpeg = nullptr;
  unsigned long jpeg_size = 0;  // NOLINT(runtime/int): TurboJPEG's type
  const int rc = tjCompress2(tj.get(), picture.data(), static_cast<int>(g.width),
                             static_cast<int>(g.width), static_cast<int>(g.height), TJPF_GRAY,
                             &jpeg, &jpeg_size, TJSAMP_GRAY, o.quality, 0);
  std::unique_ptr<unsigned char, TjBufferFree> owned(jpeg);
  if (rc != 0)
    return FTC_INTERNAL("jpeg: TurboJPEG compression failed: %s", tjGetErrorStr2(tj.get()));
  Section s;
  s.kind = kPackPictureSection;
  s.payload.assign(jpeg, jpeg + jpeg_size);
  out->sections.push_back(std::move(s));
  return Status::Ok();
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

// Rate control: quality o.quality .. 1.
int JpegRungs(const EncoderOptions& o) { return o.quality; }
void JpegRung(const EncoderOptions& o, int rung, EncoderOptions* out) {
  *out = o;
  out->quality = o.quality - rung;
}
const char* JpegCoarsest(const EncoderOptions&) { return "quality 1"; }
const RateLadder kJpegLadder = {JpegRungs, JpegRung, JpegCoarsest};

}  // namespace
}  // namespace ftc::jpeg

namespace ftc {
extern const CodecEncoder kJpegEncoder = {jpeg::kCodecId,     "jpeg",  jpeg::JpegCheckOptions,
                                          jpeg::EncodeSample, nullptr, &jpeg::kJpegLadder};
}  // namespace ftc

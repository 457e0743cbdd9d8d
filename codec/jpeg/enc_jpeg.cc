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

}  // namespace ftc::jpeg

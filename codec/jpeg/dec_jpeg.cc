// Decoder of codec `jpeg`. The JPEG payload is untrusted: its header must describe exactly the
// picture the frame's parameters imply before anything is decoded, and every TurboJPEG error or
// warning (truncated data, bad markers) is corrupt data.
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

}  // namespace

Status DecodeSample(const ParsedFrame& f, const DecoderOptions&, Tensor* out) {
  FTC_ASSIGN_OR_RETURN(JpegFrame j, ParseJpegFrame(f));
  const PackGeometry& g = j.pictures.geometry();
  const SectionRef& payload = j.pictures.picture_section();
  std::unique_ptr<void, TjHandleCloser> tj(tjInitDecompress());
  if (!tj) return FTC_INTERNAL("jpeg: cannot create a TurboJPEG decompressor");
  // TurboJPEG takes a non-const pointer but does not write through it.
  unsigned char* data = const_cast<unsigned char*>(payload.data);
  const unsigned long size = static_cast<unsigned long>(payload.size);  // NOLINT(runtime/int)
  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.get(), data, size, &width, &height, &subsamp, &colorspace) != 0) {
    return FTC_CORRUPT("jpeg: bad JPEG header: %s", tjGetErrorStr2(tj.get()));
  }
  if (width != g.width || height != g.height) {
    return FTC_CORRUPT("jpeg: the JPEG is %dx%d, the frame's parameters need %lldx%lld", width,
                       height, static_cast<long long>(g.width), static_cast<long long>(g.height));
  }
  if (subsamp != TJSAMP_GRAY || colorspace != TJCS_GRAY) {
    return FTC_CORRUPT("jpeg: the JPEG is not a single-component grayscale image");
  }
  std::vector<uint8_t> picture(static_cast<size_t>(g.width * g.height));
  if (tjDecompress2(tj.get(), data, size, picture.data(), width, width, height, TJPF_GRAY,
                    TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0) {
    return FTC_CORRUPT("jpeg: corrupt JPEG data: %s", tjGetErrorStr2(tj.get()));
  }
  j.pictures.Accept<uint8_t>(0, picture.data(), width);
  return j.pictures.Finish(out);
}

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

Status JpegDescribe(const ParsedFrame& f, ParamList* out) {
  FTC_ASSIGN_OR_RETURN(JpegFrame j, ParseJpegFrame(f));
  out->emplace_back("quality", std::to_string(j.quality));
  j.pictures.Describe(out);
  return Status::Ok();
}

const char* JpegSectionName(uint8_t kind) { return PackSectionName(kind, "jpeg"); }

}  // namespace
}  // namespace ftc::jpeg

namespace ftc {
extern const CodecDecoder kJpegDecoder = {jpeg::kCodecId,
                                          "jpeg",
                                          jpeg::DecodeSample,
                                          jpeg::JpegDescribe,
                                          jpeg::JpegSectionName,
                                          nullptr,  // no band halves: does not packetize
                                          nullptr,
                                          nullptr,
                                          false};
}  // namespace ftc

// Encoder of codec `hevc`: the packed pictures as one 4:0:0 HEVC video made by x265.
//
// READ ME FIRST
// - Determinism: identical input and options give identical bytes. x265 runs without a thread
//   pool ("pools" = "none"), one frame thread, no lookahead threads and no wavefront, and every
//   encoder in the process uses the same CTU (16) and minimum CU (8) sizes: x265 keeps them in
//   process-wide globals (g_maxCUSize ...), so encoders with different CTU sizes running at the
//   same time (EncoderOptions::threads > 1) would corrupt each other.
// - Pictures are at least 32 samples wide: on narrower pictures (16 or 24) x265 3.5's inter
//   search reads never-written bytes of its reconstructed pictures (valgrind: predInterSearch /
//   MotionEstimate on memory from PicYuv::create), so the bytes of a second encode in the same
//   process differ from the first. Widths of 32 and more are valgrind-clean and repeatable.
// - Rate control is constant QP: P pictures get --qp, I pictures qp - 3 (x265's ipratio 1.4:
//   6·log2(1.4) = 2.9), B pictures qp + 2 (pbratio 1.3; qp + 1 for the B pyramid's referenced
//   ones) — seen in x265's frame statistics. A single-picture mosaic is all-intra.
// - The Levels_Checksum of the parameters is taken from x265's own reconstruction (pic_out),
//   so a decoder can tell a concealed damage from a clean decode.
// - No info SEI (x265 would write its version and every option, ~2 KB per frame).
// - x265 3.5 itself leaks ~1.2 KB per encoder (x265_encoder_open's parameter copies); ftcodec
//   opens one encoder per frame.
#include <x265.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/status_macros.h"
#include "codec/hevc/hevc_common.h"

namespace ftc::hevc {
namespace {

constexpr uint32_t kCtuSize = 16;
constexpr uint32_t kMinCuSize = 8;

struct X265Encoder {
  const x265_api* api = nullptr;
  x265_param* param = nullptr;
  x265_encoder* encoder = nullptr;
  x265_picture* picture = nullptr;
  x265_picture* reconstruction = nullptr;
  ~X265Encoder() {
    if (!api) return;
    if (picture) api->picture_free(picture);
    if (reconstruction) api->picture_free(reconstruction);
    if (encoder) api->encoder_close(encoder);
    if (param) api->param_free(param);
  }
};

void AppendNals(const x265_nal* nals, uint32_t count, std::vector<uint8_t>* out) {
  for (uint32_t i = 0; i < count; ++i) {
    out->insert(out->end(), nals[i].payload, nals[i].payload + nals[i].sizeBytes);
  }
}

Status Configure(const EncoderOptions& o, const PackGeometry& g, uint8_t chroma, X265Encoder* x) {
  const int bits = g.params.bits;
  x->api = x265_api_get(bits);
  if (!x->api) return FTC_UNSUPPORTED("hevc: this libx265 has no %d-bit encoder", bits);
  x->param = x->api->param_alloc();
  if (!x->param) return FTC_INTERNAL("hevc: x265 parameter allocation failed");
  x265_param* p = x->param;
  if (x->api->param_default_preset(p, o.preset.c_str(), nullptr) < 0) {
    return FTC_INVALID("hevc: x265 rejects preset '%s'", o.preset.c_str());
  }
  p->logLevel = X265_LOG_NONE;
  // Determinism and thread pinning (see READ ME FIRST).
  // A literal, not param_parse("pools", "none"): x265_param_free does not free the copy that
  // param_parse makes.
  p->numaPools = "none";
  p->frameNumThreads = 1;
  p->lookaheadThreads = 0;
  p->lookaheadSlices = 0;
  p->bEnableWavefront = 0;
  p->bDistributeModeAnalysis = 0;
  p->bDistributeMotionEstimation = 0;
  p->maxCUSize = kCtuSize;
  p->minCUSize = kMinCuSize;
  p->maxTUSize = kCtuSize;
  // SAO on in every preset: x265 3.5 leaks its filter buffers (~4.5 KB per encoder) when SAO is
  // off (ultrafast turns it off), and SAO costs little on these pictures.
  p->bEnableSAO = 1;
  // Picture format: 4:0:0 at `bits`, one picture per packed picture.
  p->internalCsp = chroma == kChroma400 ? X265_CSP_I400 : X265_CSP_I420;
  p->internalBitDepth = bits;
  p->sourceBitDepth = bits;
  p->sourceWidth = static_cast<int>(g.width);
  p->sourceHeight = static_cast<int>(g.height);
  p->fpsNum = 25;
  p->fpsDenom = 1;
  p->totalFrames = static_cast<int>(g.pictures);
  // Constant QP.
  p->rc.rateControlMode = X265_RC_CQP;
  p->rc.qp = o.qp;
  // A raw Annex B stream with the parameter sets once, nothing informational.
  p->bAnnexB = 1;
  p->bRepeatHeaders = 0;
  p->bEmitInfoSEI = 0;
  p->bEmitHRDSEI = 0;
  p->bEnableAccessUnitDelimiters = 0;
  p->bEnablePsnr = 0;
  p->bEnableSsim = 0;
  x->encoder = x->api->encoder_open(p);
  if (!x->encoder) {
    return FTC_INTERNAL("hevc: x265 cannot open an encoder for %lldx%lld %d-bit pictures",
                        static_cast<long long>(g.width), static_cast<long long>(g.height), bits);
  }
  x->picture = x->api->picture_alloc();
  x->reconstruction = x->api->picture_alloc();
  if (!x->picture || !x->reconstruction) {
    return FTC_INTERNAL("hevc: x265 picture allocation failed");
  }
  x->api->picture_init(p, x->picture);
  x->api->picture_init(p, x->reconstruction);
  return Status::Ok();
}

// Takes x265's reconstruction of the picture just output (in coding order; pts = its index).
template <typename T>
Status TakeReconstruction(const x265_picture* r, PackedSamples* packed) {
  const PackGeometry& g = packed->geometry();
  if (r->pts < 0 || r->pts >= g.pictures || !r->planes[0] ||
      r->stride[0] % static_cast<int>(sizeof(T)) != 0) {
    return FTC_INTERNAL("hevc: x265 returned an unexpected reconstruction");
  }
  packed->AcceptReconstruction<T>(r->pts, static_cast<const T*>(r->planes[0]),
                                  r->stride[0] / static_cast<int>(sizeof(T)));
  return Status::Ok();
}

template <typename T>
Status EncodePictures(PackedSamples* packed_samples, X265Encoder* x, std::vector<uint8_t>* out) {
  const PackedSamples& packed = *packed_samples;
  const PackGeometry& g = packed.geometry();
  x265_nal* nals = nullptr;
  uint32_t count = 0;
  if (x->api->encoder_headers(x->encoder, &nals, &count) < 0) {
    return FTC_INTERNAL("hevc: x265 could not write the parameter sets");
  }
  AppendNals(nals, count, out);
  // x265 copies input rows with wide SIMD loads that may read past the last row's end: leave
  // 64 zero bytes of slack after the picture.
  std::vector<T> pixels(static_cast<size_t>(g.width * g.height) + 64 / sizeof(T), 0);
  x265_picture* pic = x->picture;
  pic->planes[0] = pixels.data();
  pic->stride[0] = static_cast<int>(g.width * static_cast<int64_t>(sizeof(T)));
  // 4:2:0 (see hevc_common.h): both chroma planes at the mid level, never changing.
  std::vector<T> chroma;
  if (x->param->internalCsp == X265_CSP_I420) {
    chroma.assign(static_cast<size_t>(g.width * g.height / 4) + 64 / sizeof(T),
                  static_cast<T>(1 << (g.params.bits - 1)));
    pic->planes[1] = pic->planes[2] = chroma.data();
    pic->stride[1] = pic->stride[2] =
        static_cast<int>(g.width / 2 * static_cast<int64_t>(sizeof(T)));
  } else {
    pic->planes[1] = pic->planes[2] = nullptr;
    pic->stride[1] = pic->stride[2] = 0;
  }
  pic->bitDepth = g.params.bits;
  pic->colorSpace = x->param->internalCsp;
  int64_t coded = 0;
  for (int64_t i = 0; i <= g.pictures; ++i) {
    x265_picture* in = nullptr;
    if (i < g.pictures) {
      packed.Render<T>(i, pixels.data(), g.width);
      pic->pts = i;
      in = pic;
    }
    // After the last picture, flush: call with no input until the encoder returns 0.
    for (;;) {
      const int rc = x->api->encoder_encode(x->encoder, &nals, &count, in, x->reconstruction);
      if (rc < 0)
        return FTC_INTERNAL("hevc: x265 failed on picture %lld", static_cast<long long>(i));
      if (rc > 0) {
        AppendNals(nals, count, out);
        FTC_RETURN_IF_ERROR(TakeReconstruction<T>(x->reconstruction, packed_samples));
        ++coded;
      }
      if (in || rc == 0) break;
    }
  }
  if (coded != g.pictures) {
    return FTC_INTERNAL("hevc: x265 coded %lld of %lld pictures", static_cast<long long>(coded),
                        static_cast<long long>(g.pictures));
  }
  return Status::Ok();
}

}  // namespace

Status EncodeSample(const TensorView& samples, const EncoderOptions& o, CodecEncodeOutput* out) {
  return EncodeSampleWithChroma(samples, o, kChroma400, out);
}

Status EncodeSampleWithChroma(const TensorView& samples, const EncoderOptions& o, uint8_t chroma,
                              CodecEncodeOutput* out) {
  const int bits = o.bit_depth == 0 ? kDefaultBitDepth : o.bit_depth;
  const PackLayout layout = o.layout == "frames" ? PackLayout::kFrames : PackLayout::kMosaic;
  int preset = -1;
  for (int k = 0; k < kPresetCount; ++k) {
    if (o.preset == kPresetNames[k]) preset = k;
  }
  if (preset < 0) return FTC_INVALID("hevc: unknown preset '%s'", o.preset.c_str());
  FTC_ASSIGN_OR_RETURN(
      PackedSamples packed,
      PackedSamples::Create(samples, o, layout, bits, Limits(), &out->params, &out->sections));
  out->params.push_back(static_cast<uint8_t>(o.qp));
  out->params.push_back(static_cast<uint8_t>(preset));
  out->params.push_back(chroma);
  if (packed.geometry().pictures > (int64_t{1} << 30)) {
    return FTC_LIMIT("hevc: %lld pictures in one frame is too many",
                     static_cast<long long>(packed.geometry().pictures));
  }
  X265Encoder x;
  FTC_RETURN_IF_ERROR(Configure(o, packed.geometry(), chroma, &x));
  Section s;
  s.kind = kPackPictureSection;
  if (bits == 8) {
    FTC_RETURN_IF_ERROR(EncodePictures<uint8_t>(&packed, &x, &s.payload));
  } else {
    FTC_RETURN_IF_ERROR(EncodePictures<uint16_t>(&packed, &x, &s.payload));
  }
  ByteWriter(&out->params).U32(packed.ReconstructionChecksum());
  out->sections.push_back(std::move(s));
  return Status::Ok();
}

namespace {

Status HevcCheckOptions(const EncoderOptions& o, DType) {
  if (o.store_dtype) return FTC_INVALID("--dtype applies to raw and ans --lossless, not hevc");
  if (o.lossless) return FTC_INVALID("hevc is lossy here: it has no lossless mode");
  return Status::Ok();
}

}  // namespace
}  // namespace ftc::hevc

namespace ftc {
extern const CodecEncoder kHevcEncoder = {hevc::kCodecId,     "hevc",  hevc::HevcCheckOptions,
                                          hevc::EncodeSample, nullptr, nullptr};
}  // namespace ftc

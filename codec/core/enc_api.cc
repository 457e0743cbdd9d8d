// encode: samples into frames, the container around the codecs' encoders (docs/format.md).
#include <algorithm>
#include <cstring>

#include "base/parallel.h"
#include "base/status_macros.h"
#include "bitstream/decoder_limits.h"
#include "bitstream/frame.h"
#include "codec/core/codec.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/profile.h"

namespace ftc {

TensorView SampleView(const TensorView& t, int64_t n) {
  TensorView s;
  s.dtype = t.dtype;
  s.rank = 3;
  const uint8_t* base = static_cast<const uint8_t*>(t.data);
  switch (t.rank) {
    case 4:
      base += n * t.strides[0] * static_cast<int64_t>(DTypeSize(t.dtype));
      s.shape = {t.shape[1], t.shape[2], t.shape[3], 0};
      s.strides = {t.strides[1], t.strides[2], t.strides[3], 0};
      break;
    case 3:
      s.shape = {t.shape[0], t.shape[1], t.shape[2], 0};
      s.strides = {t.strides[0], t.strides[1], t.strides[2], 0};
      break;
    case 2:
      s.shape = {1, t.shape[0], t.shape[1], 0};
      s.strides = {0, t.strides[0], t.strides[1], 0};
      break;
    default:
      s.shape = {1, 1, t.shape[0], 0};
      s.strides = {0, 0, t.strides[0], 0};
      break;
  }
  s.data = base;
  return s;
}

Status CheckTensorLimits(const TensorView& t) {
  int64_t total = 1;
  for (int i = 0; i < t.rank; ++i) {
    if (static_cast<uint64_t>(t.shape[i]) > kMaxDimension) {
      return FTC_LIMIT("dimension %d of %lld exceeds the format's limit of 2^31-1", i,
                       static_cast<long long>(t.shape[i]));
    }
    if (total > kMaxTensorElements / t.shape[i]) {
      return FTC_LIMIT("tensor has more than 2^40 elements");
    }
    total *= t.shape[i];
  }
  const int64_t e = SampleShapeOf(t.shape_vector()).elements();
  if (e > kMaxSampleElements) {
    return FTC_LIMIT("a sample of %lld elements exceeds the format's limit of 2^28",
                     static_cast<long long>(e));
  }
  return Status::Ok();
}

namespace {

// One sample's frame (sample i of a tensor of `shape`, n samples).
Status EncodeSampleFrame(const CodecEncoder& codec, const TensorView& sample,
                         const EncoderOptions& o, const Shape& shape, int64_t i, int64_t n,
                         Bytes* out) {
  CodecEncodeOutput body;
  FTC_RETURN_IF_ERROR(codec.encode(sample, o, &body));
  FrameHeader h;
  h.dtype = sample.dtype;
  h.shape = shape;
  h.batch_index = static_cast<uint32_t>(i);
  h.batch_count = static_cast<uint32_t>(n);
  h.codec_id = codec.id;
  h.params = std::move(body.params);
  out->clear();
  return WriteFrame(h, body.sections, out);
}

// Rate control (EncoderOptions::target_bytes): the codec's settings from finest to coarsest are
// a ladder (CodecEncoder::rate_ladder; ans: bits o.bits .. 1, or step_shift 0 .. 63 with a plan;
// jpeg: quality o.quality .. 1); frame sizes shrink along it in practice, so a binary search
// finds the finest rung that fits. Only a measured fit is ever returned.
Status EncodeWithinTarget(const CodecEncoder& codec, const TensorView& sample,
                          const EncoderOptions& o, const Shape& shape, int64_t i, int64_t n,
                          Bytes* out) {
  const RateLadder* ladder = codec.rate_ladder;
  if (ladder == nullptr) return FTC_INVALID("codec %s has no rate control", codec.name);
  const int rungs = ladder->rungs(o);
  auto at = [&](int rung, Bytes* frame) {
    EncoderOptions r;
    ladder->at(o, rung, &r);
    return EncodeSampleFrame(codec, sample, r, shape, i, n, frame);
  };
  const size_t target = static_cast<size_t>(o.target_bytes);
  Bytes frame;
  FTC_RETURN_IF_ERROR(at(0, &frame));
  if (frame.size() <= target) {
    *out = std::move(frame);
    return Status::Ok();
  }
  Bytes coarsest;
  FTC_RETURN_IF_ERROR(at(rungs - 1, &coarsest));
  if (coarsest.size() > target) {
    return FTC_LIMIT(
        "target of %lld bytes per sample cannot be met: the coarsest setting (%s) "
        "takes %zu bytes",
        static_cast<long long>(o.target_bytes), ladder->coarsest(o), coarsest.size());
  }
  int lo = 0, hi = rungs - 1;  // rung lo does not fit, rung hi does
  *out = std::move(coarsest);
  while (hi - lo > 1) {
    const int mid = lo + (hi - lo) / 2;
    FTC_RETURN_IF_ERROR(at(mid, &frame));
    if (frame.size() <= target) {
      hi = mid;
      *out = frame;
    } else {
      lo = mid;
    }
  }
  return Status::Ok();
}

Result<Bytes> Encode(const TensorView& tensor, const EncoderOptions& options) {
  FTC_RETURN_IF_ERROR(options.Validate());
  FTC_RETURN_IF_ERROR(tensor.Validate());
  FTC_RETURN_IF_ERROR(CheckTensorLimits(tensor));
  FTC_ASSIGN_OR_RETURN(const CodecEncoder* codec, FindEncoderByName(options.codec));
  FTC_RETURN_IF_ERROR(codec->check_options(options, tensor.dtype));

  const Shape shape = tensor.shape_vector();
  if (options.sequence && tensor.rank == 4) {
    // HEVC --sequence: all samples in one multi-sample frame (docs/format.md).
    CodecEncodeOutput body;
    FTC_RETURN_IF_ERROR(codec->encode(tensor, options, &body));
    FrameHeader h;
    h.dtype = tensor.dtype;
    h.shape = shape;
    h.batch_count = static_cast<uint32_t>(shape[0]);
    h.multi_sample = true;
    h.sample_count = h.batch_count;
    h.codec_id = codec->id;
    h.params = std::move(body.params);
    Bytes out;
    FTC_RETURN_IF_ERROR(WriteFrame(h, body.sections, &out));
    return out;
  }
  const int64_t n = tensor.rank == 4 ? shape[0] : 1;
  std::vector<Bytes> frames(static_cast<size_t>(n));
  FTC_RETURN_IF_ERROR(ParallelFor(n, options.threads, [&](int64_t i) -> Status {
    const TensorView sample = SampleView(tensor, i);
    Bytes* frame = &frames[static_cast<size_t>(i)];
    Status s = options.target_bytes > 0
                   ? EncodeWithinTarget(*codec, sample, options, shape, i, n, frame)
                   : EncodeSampleFrame(*codec, sample, options, shape, i, n, frame);
    if (!s.ok())
      return n > 1 ? s.WithContext(StrFormat("sample %lld", static_cast<long long>(i))) : s;
    return Status::Ok();
  }));
  size_t total = 0;
  for (const Bytes& f : frames) total += f.size();
  Bytes out;
  out.reserve(total);
  for (const Bytes& f : frames) out.insert(out.end(), f.begin(), f.end());
  return out;
}

}  // namespace

Result<Bytes> encode(const TensorView& tensor, const EncoderOptions& options) {
  return CatchExceptions("encode", [&] { return Encode(tensor, options); });
}

}  // namespace ftc

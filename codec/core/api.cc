// encode / decode / probe: the container around the codecs (docs/format.md).
#include <algorithm>
#include <cstring>

#include "base/parallel.h"
#include "base/status_macros.h"
#include "bitstream/decoder_limits.h"
#include "bitstream/frame.h"
#include "codec/core/codec.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/profile.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ftcodec assumes a little-endian host"
#endif

namespace ftc {

const char* VersionString() { return FTC_VERSION_STRING; }
int FormatVersion() { return kFormatVersion; }

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

// Parses every frame of a stream and checks that they form one tensor.
Result<std::vector<ParsedFrame>> ParseStream(const uint8_t* data, size_t size,
                                             int64_t max_elements) {
  if (size == 0) return FTC_CORRUPT("empty input: no frame");
  std::vector<ParsedFrame> frames;
  size_t offset = 0;
  uint64_t samples = 0;  // samples of the frames so far (a multi-sample frame codes several)
  while (offset < size) {
    const size_t k = frames.size();
    if (k > 0 && samples == frames[0].header.batch_count) {
      return FTC_CORRUPT("%zu trailing bytes after the last frame (frame %zu)", size - offset,
                         k - 1);
    }
    Result<ParsedFrame> f = ParseFrame(data + offset, size - offset, max_elements);
    if (!f.ok()) {
      return f.status().WithContext(StrFormat("frame %zu (byte offset %zu)", k, offset));
    }
    // Whether a codec writes multi-sample frames is the codec's to say (an unknown or absent
    // codec is reported where the frame is dispatched).
    if (const Codec* c = FindCodecFormatById(f->header.codec_id);
        f->header.multi_sample && c != nullptr && !c->multi_sample) {
      return FTC_CORRUPT(
          "frame %zu (byte offset %zu): codec %s cannot use multi-sample frames "
          "(only hevc can)",
          k, offset, c->name);
    }
    if (k > 0) {
      const FrameHeader& a = frames[0].header;
      const FrameHeader& b = f->header;
      if (a.dtype != b.dtype || a.shape != b.shape || a.codec_id != b.codec_id ||
          a.batch_count != b.batch_count) {
        return FTC_CORRUPT("frame %zu: dtype, shape or codec differ from frame 0", k);
      }
    }
    if (f->header.batch_index != samples) {
      return FTC_CORRUPT("frame %zu: batch index is %u, expected %llu", k, f->header.batch_index,
                         static_cast<unsigned long long>(samples));
    }
    samples += f->header.sample_count;
    offset += f->size;
    frames.push_back(std::move(f).value());
  }
  if (samples < frames[0].header.batch_count) {
    if (samples == frames.size()) {
      return FTC_CORRUPT("truncated: %zu of %u frames present", frames.size(),
                         frames[0].header.batch_count);
    }
    return FTC_CORRUPT("truncated: %llu of %u samples present",
                       static_cast<unsigned long long>(samples), frames[0].header.batch_count);
  }
  return frames;
}

Result<const Codec*> CodecForFrame(const ParsedFrame& f) {
  const Codec* c = FindCodecById(f.header.codec_id);
  if (c) return c;
  if (const char* known = KnownCodecNameForId(f.header.codec_id)) {
    return Status(
        StatusCode::kNotBuiltIn,
        StrFormat("the stream uses codec '%s', which is not built into this ftcodec", known));
  }
  return FTC_UNSUPPORTED("unknown codec id %u", f.header.codec_id);
}

// One sample's frame (sample i of a tensor of `shape`, n samples).
Status EncodeSampleFrame(const Codec& codec, const TensorView& sample, const EncoderOptions& o,
                         const Shape& shape, int64_t i, int64_t n, Bytes* out) {
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

// Rate control (EncoderOptions::target_bytes): the settings from finest to coarsest are a ladder
// (ans: bits = o.bits .. 1, or step_shift 0 .. 63 with a plan; jpeg: quality o.quality .. 1);
// frame sizes shrink along it in practice, so a binary search finds the finest rung that fits.
// Only a measured fit is ever returned.
Status EncodeWithinTarget(const Codec& codec, const TensorView& sample, const EncoderOptions& o,
                          const Shape& shape, int64_t i, int64_t n, Bytes* out) {
  const bool planned = o.plan != nullptr;
  const bool jpeg = o.codec == "jpeg";
  const int rungs = planned ? 64 : jpeg ? o.quality : o.bits;
  auto at = [&](int rung, Bytes* frame) {
    EncoderOptions r = o;
    if (planned)
      r.step_shift = rung;
    else if (jpeg)
      r.quality = o.quality - rung;
    else
      r.bits = o.bits - rung;
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
        static_cast<long long>(o.target_bytes),
        planned ? "step shift 63"
        : jpeg  ? "quality 1"
                : "1 bit",
        coarsest.size());
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

Status ValidateDecoderOptions(const DecoderOptions& o) {
  if (o.plan) FTC_RETURN_IF_ERROR(o.plan->Validate());
  if (o.threads < 1 || o.threads > 256)
    return FTC_INVALID("threads %d out of range 1..256", o.threads);
  if (o.max_frame_elements < 1 || o.max_frame_elements > kMaxSampleElements) {
    return FTC_INVALID("max_frame_elements %lld out of range 1..2^28",
                       static_cast<long long>(o.max_frame_elements));
  }
  return o.limits.Validate();
}

Result<Bytes> Encode(const TensorView& tensor, const EncoderOptions& options) {
  FTC_RETURN_IF_ERROR(options.Validate());
  FTC_RETURN_IF_ERROR(tensor.Validate());
  FTC_RETURN_IF_ERROR(CheckTensorLimits(tensor));
  FTC_ASSIGN_OR_RETURN(const Codec* codec, FindCodecByName(options.codec));
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

Result<Tensor> Decode(const uint8_t* data, size_t size, const DecoderOptions& in) {
  FTC_RETURN_IF_ERROR(ValidateDecoderOptions(in));
  DecoderOptions options = in;
  options.max_frame_elements = std::min(in.max_frame_elements, in.limits.max_sample_elements);
  FTC_ASSIGN_OR_RETURN(std::vector<ParsedFrame> frames,
                       ParseStream(data, size, options.max_frame_elements));
  FTC_ASSIGN_OR_RETURN(const Codec* codec, CodecForFrame(frames[0]));
  const FrameHeader& h = frames[0].header;
  const DType out_type = options.dtype ? *options.dtype : h.dtype;
  int64_t total = 1;
  for (int64_t d : h.shape) total *= d;  // at most 2^40 (ParseFrame)
  FTC_RETURN_IF_ERROR(CheckOutputSize(options.limits, total, DTypeSize(out_type), "the tensor"));
  FTC_ASSIGN_OR_RETURN(Tensor out, Tensor::Create(out_type, h.shape));
  const int64_t e = frames[0].sample.elements();
  const size_t sample_bytes = static_cast<size_t>(e) * DTypeSize(out_type);
  FTC_RETURN_IF_ERROR(
      ParallelFor(static_cast<int64_t>(frames.size()), options.threads, [&](int64_t i) -> Status {
        const ParsedFrame& f = frames[static_cast<size_t>(i)];
        Tensor sample;  // a multi-sample frame decodes to sample_count samples
        Status s = codec->decode(f, options, &sample);
        if (!s.ok()) return s.WithContext(StrFormat("frame %lld", static_cast<long long>(i)));
        if (sample.num_elements() != e * f.header.sample_count) {
          return FTC_INTERNAL("codec decoded a wrong-sized sample");
        }
        if (sample.dtype() != out_type) sample = sample.ConvertTo(out_type);
        std::memcpy(out.data() + static_cast<size_t>(f.header.batch_index) * sample_bytes,
                    sample.data(), sample_bytes * f.header.sample_count);
        return Status::Ok();
      }));
  return out;
}

Result<StreamInfo> Probe(const uint8_t* data, size_t size, const DecoderLimits& limits) {
  FTC_RETURN_IF_ERROR(limits.Validate());
  FTC_ASSIGN_OR_RETURN(std::vector<ParsedFrame> frames,
                       ParseStream(data, size, limits.max_sample_elements));
  FTC_ASSIGN_OR_RETURN(const Codec* codec, CodecForFrame(frames[0]));
  StreamInfo info;
  uint64_t offset = 0;
  for (size_t k = 0; k < frames.size(); ++k) {
    const ParsedFrame& f = frames[k];
    FrameInfo fi;
    fi.offset = offset;
    fi.size = f.size;
    fi.batch_index = f.header.batch_index;
    fi.batch_count = f.header.batch_count;
    fi.sample_count = f.header.sample_count;
    fi.dtype = f.header.dtype;
    fi.shape = f.header.shape;
    fi.sample_shape = {f.sample.c, f.sample.h, f.sample.w};
    fi.codec = codec->name;
    Status s = codec->describe(f, &fi.params);
    if (!s.ok()) return s.WithContext(StrFormat("frame %zu", k));
    for (const SectionRef& sec : f.sections) {
      const char* name = codec->section_name(sec.kind);
      if (!name)
        return FTC_CORRUPT("frame %zu: section kind %u is not valid for codec %s", k, sec.kind,
                           codec->name);
      fi.sections.push_back({name, sec.size});
    }
    offset += f.size;
    info.frames.push_back(std::move(fi));
  }
  info.total_size = offset;
  return info;
}

}  // namespace

Result<Bytes> encode(const TensorView& tensor, const EncoderOptions& options) {
  return CatchExceptions("encode", [&] { return Encode(tensor, options); });
}

Result<Tensor> decode(const uint8_t* data, size_t size, const DecoderOptions& options) {
  return CatchExceptions("decode", [&] { return Decode(data, size, options); });
}

Result<StreamInfo> probe(const uint8_t* data, size_t size, const DecoderLimits& limits) {
  return CatchExceptions("probe", [&] { return Probe(data, size, limits); });
}

Result<StreamInfo> probe(const uint8_t* data, size_t size) {
  return probe(data, size, DecoderLimits());
}

}  // namespace ftc

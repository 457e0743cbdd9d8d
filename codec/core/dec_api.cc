// decode / probe: frames into samples, the container around the codecs' decoders
// (docs/format.md).
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
    if (const CodecDecoder* c = FindDecoderFormatById(f->header.codec_id);
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

Result<const CodecDecoder*> CodecForFrame(const ParsedFrame& f) {
  const CodecDecoder* c = FindDecoderById(f.header.codec_id);
  if (c) return c;
  if (const char* known = KnownCodecNameForId(f.header.codec_id)) {
    return Status(
        StatusCode::kNotBuiltIn,
        StrFormat("the stream uses codec '%s', which is not built into this ftcodec", known));
  }
  return FTC_UNSUPPORTED("unknown codec id %u", f.header.codec_id);
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

Result<Tensor> Decode(const uint8_t* data, size_t size, const DecoderOptions& in) {
  FTC_RETURN_IF_ERROR(ValidateDecoderOptions(in));
  DecoderOptions options = in;
  options.max_frame_elements = std::min(in.max_frame_elements, in.limits.max_sample_elements);
  FTC_ASSIGN_OR_RETURN(std::vector<ParsedFrame> frames,
                       ParseStream(data, size, options.max_frame_elements));
  FTC_ASSIGN_OR_RETURN(const CodecDecoder* codec, CodecForFrame(frames[0]));
  const FrameHeader& h = frames[0].header;
  const DType out_type = options.dtype ? *options.dtype : h.dtype;
  int64_t total = 1;
  for (int64_t d : h.shape) total *= d;  // at most 2^40 (ParseFrame)
  FTC_RETURN_IF_ERROR(CheckOutputSize(options.limits, total, DTypeSize(out_type), "the tensor"));
  const int64_t e = frames[0].sample.elements();
  if (frames.size() == 1) {
    // One frame holds the whole tensor (ParseStream counted its samples): the codec's result
    // is the output, without a second tensor and a copy (what a server decoding many one-sample
    // streams pays per sample).
    Tensor sample;
    FTC_RETURN_IF_ERROR(codec->decode(frames[0], options, &sample).WithContext("frame 0"));
    if (sample.num_elements() != total) return FTC_INTERNAL("codec decoded a wrong-sized sample");
    if (sample.dtype() != out_type) sample = sample.ConvertTo(out_type);
    FTC_RETURN_IF_ERROR(sample.Reshape(h.shape));
    return sample;
  }
  FTC_ASSIGN_OR_RETURN(Tensor out, Tensor::Create(out_type, h.shape));
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
  FTC_ASSIGN_OR_RETURN(const CodecDecoder* codec, CodecForFrame(frames[0]));
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

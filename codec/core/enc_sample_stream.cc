// Sample stream encoder (docs/format.md, "Sample streams"): each sample is coded as its own
// frame, whose shared parts go into the stream header.
#include <utility>

#include "base/status_macros.h"
#include "bitstream/frame.h"
#include "bitstream/sample_stream.h"
#include "ftcodec/sample_stream.h"

namespace ftc {

struct SampleStreamEncoder::Impl {
  EncoderOptions options;
  bool started = false;
  SampleStreamHeader header;
  int64_t samples = 0;
};

SampleStreamEncoder::SampleStreamEncoder(EncoderOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}
SampleStreamEncoder::~SampleStreamEncoder() = default;
SampleStreamEncoder::SampleStreamEncoder(SampleStreamEncoder&&) noexcept = default;
SampleStreamEncoder& SampleStreamEncoder::operator=(SampleStreamEncoder&&) noexcept = default;

int64_t SampleStreamEncoder::samples() const { return impl_->samples; }

Result<Bytes> SampleStreamEncoder::encode(const TensorView& sample) {
  Impl& s = *impl_;
  FTC_RETURN_IF_ERROR(sample.Validate());
  if (sample.rank < 1 || sample.rank > 3) {
    return FTC_INVALID(
        "a stream's sample has rank 1 to 3 (got rank %d): give samples one at a "
        "time",
        sample.rank);
  }
  if (s.options.sequence) {
    return FTC_INVALID("--sequence codes several samples as one frame: it cannot be streamed");
  }
  if (s.started && (sample.dtype != s.header.dtype || sample.shape_vector() != s.header.shape)) {
    return FTC_INVALID("sample %lld is %s %s but the stream's samples are %s %s",
                       static_cast<long long>(s.samples), DTypeName(sample.dtype),
                       ShapeToString(sample.shape_vector()).c_str(), DTypeName(s.header.dtype),
                       ShapeToString(s.header.shape).c_str());
  }
  FTC_ASSIGN_OR_RETURN(Bytes frame, ftc::encode(sample, s.options));
  FTC_ASSIGN_OR_RETURN(ParsedFrame f, ParseFrame(frame.data(), frame.size(), kMaxSampleElements));
  if (f.size != frame.size()) return FTC_INTERNAL("a sample coded as more than one frame");
  SampleStreamHeader header = s.header;
  if (!s.started) {
    header.dtype = f.header.dtype;
    header.shape = f.header.shape;
    header.codec_id = f.header.codec_id;
    header.params = f.header.params;
    header.section_kinds.clear();
    for (const SectionRef& sec : f.sections) header.section_kinds.push_back(sec.kind);
  }
  SampleRecord rec;
  rec.sections = f.sections;
  rec.own_params = f.header.params != header.params;
  if (rec.own_params) rec.params = f.header.params;
  rec.own_sections = rec.sections.size() != header.section_kinds.size();
  for (size_t i = 0; !rec.own_sections && i < rec.sections.size(); ++i) {
    rec.own_sections = rec.sections[i].kind != header.section_kinds[i];
  }
  Bytes out;
  if (!s.started) FTC_RETURN_IF_ERROR(WriteSampleStreamHeader(header, &out));
  FTC_RETURN_IF_ERROR(WriteSampleRecord(header, rec, &out));
  s.header = std::move(header);
  s.started = true;
  ++s.samples;
  return out;
}

Result<Bytes> encode_sample_stream(const TensorView& samples, const EncoderOptions& options) {
  FTC_RETURN_IF_ERROR(samples.Validate());
  SampleStreamEncoder enc(options);
  Bytes out;
  if (samples.rank != 4) {
    FTC_ASSIGN_OR_RETURN(out, enc.encode(samples));
    return out;
  }
  if (samples.shape[0] < 1) return FTC_INVALID("no samples to stream (N = 0)");
  // Sample n of the N-first batch: the view without its first dimension.
  TensorView one = samples;
  one.rank = 3;
  for (int d = 0; d < 3; ++d) {
    one.shape[d] = samples.shape[d + 1];
    one.strides[d] = samples.strides[d + 1];
  }
  const size_t step = static_cast<size_t>(samples.strides[0]) * DTypeSize(samples.dtype);
  for (int64_t n = 0; n < samples.shape[0]; ++n) {
    one.data = static_cast<const uint8_t*>(samples.data) + static_cast<size_t>(n) * step;
    Result<Bytes> b = enc.encode(one);
    if (!b.ok()) return b.status().WithContext("sample " + std::to_string(n));
    out.insert(out.end(), b->begin(), b->end());
  }
  return out;
}

}  // namespace ftc

// Sample stream decoder (docs/format.md, "Sample streams"): each record becomes the frame it
// stands for, which the frame decoder decodes.
#include <algorithm>
#include <cstring>
#include <utility>

#include "base/status_macros.h"
#include "bitstream/frame.h"
#include "bitstream/sample_stream.h"
#include "ftcodec/sample_stream.h"

namespace ftc {

bool IsSampleStream(const uint8_t* data, size_t size) { return HasSampleStreamMagic(data, size); }

struct SampleStreamDecoder::Impl {
  DecoderOptions options;
  bool have_header = false;
  SampleStreamHeader header;
  int64_t records = 0;
  int64_t bytes = 0;     // header and records read so far
  int64_t elements = 0;  // of the records decoded so far

  Result<Tensor> Record(const uint8_t* data, size_t size, size_t* consumed, int64_t index);
};

SampleStreamDecoder::SampleStreamDecoder(DecoderOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}
SampleStreamDecoder::~SampleStreamDecoder() = default;
SampleStreamDecoder::SampleStreamDecoder(SampleStreamDecoder&&) noexcept = default;
SampleStreamDecoder& SampleStreamDecoder::operator=(SampleStreamDecoder&&) noexcept = default;

int64_t SampleStreamDecoder::records() const { return impl_->records; }
Shape SampleStreamDecoder::sample_shape() const { return impl_->header.shape; }

Result<size_t> SampleStreamDecoder::read_header(const uint8_t* data, size_t size) {
  Impl& s = *impl_;
  if (s.have_header) return FTC_INVALID("the sample stream header was already read");
  FTC_RETURN_IF_ERROR(s.options.limits.Validate());
  size_t used = 0;
  const int64_t max_sample =
      std::min(s.options.max_frame_elements, s.options.limits.max_sample_elements);
  FTC_ASSIGN_OR_RETURN(s.header, ParseSampleStreamHeader(data, size, max_sample, &used));
  s.have_header = true;
  s.bytes += static_cast<int64_t>(used);
  return used;
}

Result<Tensor> SampleStreamDecoder::Impl::Record(const uint8_t* data, size_t size, size_t* consumed,
                                                 int64_t index) {
  FTC_ASSIGN_OR_RETURN(SampleRecord rec, ParseSampleRecord(header, data, size, consumed));
  bytes += static_cast<int64_t>(*consumed);
  // The expansion bound of packet streams: what the bytes read so far can honestly describe.
  const int64_t e = SampleShapeOf(header.shape).elements();
  const DecoderLimits& l = options.limits;
  if (l.expansion_ratio > 0 && elements + e > l.expansion_slack + l.expansion_ratio * bytes) {
    return FTC_LIMIT(
        "the stream's %lld elements exceed %lld + %lld per byte of its %lld bytes (raise the "
        "limits, e.g. --max-elements)",
        static_cast<long long>(elements + e), static_cast<long long>(l.expansion_slack),
        static_cast<long long>(l.expansion_ratio), static_cast<long long>(bytes));
  }
  std::vector<uint8_t> frame;
  FTC_RETURN_IF_ERROR(RecordFrame(header, rec, &frame));
  DecoderOptions o = options;
  o.threads = 1;
  FTC_ASSIGN_OR_RETURN(Tensor t, decode(frame.data(), frame.size(), o));
  elements += e;
  (void)index;
  return t;
}

Result<Tensor> SampleStreamDecoder::read_record(const uint8_t* data, size_t size,
                                                size_t* consumed) {
  Impl& s = *impl_;
  *consumed = 0;
  if (!s.have_header) return FTC_INVALID("read the sample stream header first");
  const int64_t index = s.records++;
  Result<Tensor> t = s.Record(data, size, consumed, index);
  if (!t.ok()) return t.status().WithContext("record " + std::to_string(index));
  return t;
}

Result<Tensor> decode_sample_stream(const uint8_t* data, size_t size,
                                    const DecoderOptions& options) {
  SampleStreamDecoder dec(options);
  FTC_ASSIGN_OR_RETURN(size_t offset, dec.read_header(data, size));
  std::vector<Tensor> samples;
  while (offset < size) {
    size_t used = 0;
    FTC_ASSIGN_OR_RETURN(Tensor t, dec.read_record(data + offset, size - offset, &used));
    samples.push_back(std::move(t));
    offset += used;
  }
  if (samples.empty()) return FTC_CORRUPT("the sample stream has no record (no sample to decode)");
  const int64_t n = static_cast<int64_t>(samples.size());
  const int64_t e = samples[0].num_elements();
  const DecoderLimits& l = options.limits;
  if (e > 0 && n > l.max_tensor_elements / e) {
    return FTC_LIMIT("%lld samples of %lld elements exceed the tensor limit of %lld elements",
                     static_cast<long long>(n), static_cast<long long>(e),
                     static_cast<long long>(l.max_tensor_elements));
  }
  const size_t sample_bytes = static_cast<size_t>(e) * DTypeSize(samples[0].dtype());
  if (static_cast<int64_t>(sample_bytes) * n > l.max_output_bytes) {
    return FTC_LIMIT("the decoded tensor's %lld bytes exceed the limit of %lld",
                     static_cast<long long>(sample_bytes) * static_cast<long long>(n),
                     static_cast<long long>(l.max_output_bytes));
  }
  Shape shape = samples[0].shape();
  shape.insert(shape.begin(), n);
  FTC_ASSIGN_OR_RETURN(Tensor out, Tensor::Create(samples[0].dtype(), shape));
  uint8_t* dst = static_cast<uint8_t*>(out.data());
  for (const Tensor& t : samples) {
    std::memcpy(dst, t.data(), sample_bytes);
    dst += sample_bytes;
  }
  return out;
}

Result<SampleStreamInfo> probe_sample_stream(const uint8_t* data, size_t size,
                                             const DecoderLimits& limits) {
  FTC_RETURN_IF_ERROR(limits.Validate());
  SampleStreamInfo info;
  size_t offset = 0;
  FTC_ASSIGN_OR_RETURN(SampleStreamHeader h,
                       ParseSampleStreamHeader(data, size, limits.max_sample_elements, &offset));
  info.total_size = size;
  info.header_size = offset;
  info.dtype = h.dtype;
  info.sample_shape = h.shape;
  while (offset < size) {
    const size_t index = info.record_sizes.size();
    size_t used = 0;
    Result<SampleRecord> rec = ParseSampleRecord(h, data + offset, size - offset, &used);
    if (!rec.ok()) return rec.status().WithContext("record " + std::to_string(index));
    if (index == 0) {
      std::vector<uint8_t> frame;
      FTC_RETURN_IF_ERROR(RecordFrame(h, *rec, &frame));
      Result<StreamInfo> fi = probe(frame.data(), frame.size(), limits);
      if (!fi.ok()) return fi.status().WithContext("record 0");
      info.first = fi->frames[0];
    }
    info.record_sizes.push_back(used);
    offset += used;
  }
  if (info.record_sizes.empty()) return FTC_CORRUPT("the sample stream has no record");
  return info;
}

}  // namespace ftc

// ftcodec — sample streams (.ftcs): what a device sends one server. A stream header carries what
// every sample's frame would repeat (shape, codec parameters, a learned unit's hash); each sample
// is then a record of its sections with 6-8 bytes of framing (docs/format.md, "Sample streams").
//
//   ftc::SampleStreamEncoder enc(options);
//   for (...) send(*enc.encode(sample));      // the first result begins with the stream header
//
//   ftc::SampleStreamDecoder dec(dopts);
//   size_t used = *dec.read_header(bytes, n);  // then, for each record:
//   ftc::Result<ftc::Tensor> x = dec.read_record(rec, rec_size, &used);
//
// Thread safety: an encoder or decoder is one stream's state (one thread at a time); any number
// of them may run at once.
#ifndef FTCODEC_SAMPLE_STREAM_H_
#define FTCODEC_SAMPLE_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace ftc {

class SampleStreamEncoder {
 public:
  // The options of every sample (as for encode(); not hevc's --sequence).
  explicit SampleStreamEncoder(EncoderOptions options);
  ~SampleStreamEncoder();
  SampleStreamEncoder(SampleStreamEncoder&&) noexcept;
  SampleStreamEncoder& operator=(SampleStreamEncoder&&) noexcept;

  // Codes one sample (rank 1 to 3). The first call fixes the stream's dtype, sample shape, codec
  // and shared parameters and returns the stream header followed by the sample's record; later
  // calls return one record. kInvalidArgument for a sample of another dtype or shape, or for
  // options encode() refuses; nothing changes on error.
  Result<Bytes> encode(const TensorView& sample);
  // Samples coded so far.
  int64_t samples() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class SampleStreamDecoder {
 public:
  explicit SampleStreamDecoder(DecoderOptions options = {});
  ~SampleStreamDecoder();
  SampleStreamDecoder(SampleStreamDecoder&&) noexcept;
  SampleStreamDecoder& operator=(SampleStreamDecoder&&) noexcept;

  // Reads the stream header at the start of [data, data + size); returns its size. kCorruptData
  // (kUnsupported for another stream version, kLimitExceeded for a sample over the limits).
  Result<size_t> read_header(const uint8_t* data, size_t size);
  // Decodes the record at the start of [data, data + size) into one sample (the stream's sample
  // shape, DecoderOptions::dtype or the stream's). *consumed: the record's size, set whenever
  // its length could be read (also when the record is then found corrupt), so that a caller can
  // go on with the next one. Errors name the record's index (its position in the stream).
  Result<Tensor> read_record(const uint8_t* data, size_t size, size_t* consumed);
  // Records read so far (decoded or not), and the sample shape (empty before the header).
  int64_t records() const;
  Shape sample_shape() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A whole stream of N samples (an N-first tensor of rank 2 to 4; or one sample of rank 1) as a
// .ftcs byte string.
Result<Bytes> encode_sample_stream(const TensorView& samples, const EncoderOptions& options);
// Decodes a whole .ftcs byte string into an N × sample tensor (N >= 1). A corrupt record fails
// the whole call with an error naming the record.
Result<Tensor> decode_sample_stream(const uint8_t* data, size_t size,
                                    const DecoderOptions& options = {});
struct SampleStreamInfo {
  uint64_t total_size = 0;
  uint64_t header_size = 0;
  DType dtype = DType::kF32;
  Shape sample_shape;
  // Record 0 as the frame it stands for: codec, parameters and sections, as probe() shows them.
  FrameInfo first;
  std::vector<uint64_t> record_sizes;  // every record's bytes, framing included
};
// Reads and checks the header and every record's framing and checksum without decoding. Fails
// on a stream without records or a bad record (naming its index).
Result<SampleStreamInfo> probe_sample_stream(const uint8_t* data, size_t size,
                                             const DecoderLimits& limits = {});

// True if the bytes begin with the sample stream magic number (\x89FTS).
bool IsSampleStream(const uint8_t* data, size_t size);

}  // namespace ftc

#endif  // FTCODEC_SAMPLE_STREAM_H_

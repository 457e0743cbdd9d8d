// Fuzz target: .ftcs sample streams — the header and record parsers, each record's frame and
// every codec's decoder behind it, record by record as a receiver reads them. Any input must
// give samples or errors — never a crash, a hang or an allocation beyond the limits. A stream
// that decodes whole also probes, with as many records as samples, and decodes the same twice.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ftcodec/sample_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ftc::DecoderOptions o;
  o.max_frame_elements = int64_t{1} << 22;  // keep each run small
  ftc::Result<ftc::Tensor> whole = ftc::decode_sample_stream(data, size, o);
  if (whole.ok()) {
    ftc::Result<ftc::SampleStreamInfo> info = ftc::probe_sample_stream(data, size, o.limits);
    if (!info.ok() || static_cast<int64_t>(info->record_sizes.size()) != whole->shape()[0]) {
      std::abort();
    }
    ftc::Result<ftc::Tensor> again = ftc::decode_sample_stream(data, size, o);
    if (!again.ok() || again->size_bytes() != whole->size_bytes() ||
        std::memcmp(again->data(), whole->data(), whole->size_bytes()) != 0) {
      std::abort();
    }
  }
  // Record by record, skipping bad records by their length.
  ftc::SampleStreamDecoder dec(o);
  ftc::Result<size_t> at = dec.read_header(data, size);
  if (!at.ok()) return 0;
  size_t offset = *at;
  while (offset < size) {
    size_t used = 0;
    ftc::Result<ftc::Tensor> t = dec.read_record(data + offset, size - offset, &used);
    if (used == 0) break;  // the length itself is unreadable
    if (used > size - offset) std::abort();
    offset += used;
  }
  return 0;
}

// For payload fuzzers and tests: rebuild a valid frame (fresh checksums) around new bytes, so the
// input reaches a codec's payload decoder instead of stopping at the container's checksums.
#ifndef FTCODEC_TESTS_FUZZ_FRAME_SURGERY_H_
#define FTCODEC_TESTS_FUZZ_FRAME_SURGERY_H_

#include <cstdlib>
#include <vector>

#include "bitstream/frame.h"
#include "ftcodec/ftcodec.h"

namespace ftc::fuzz {

// `frame` with its last section's payload replaced by data[0, size).
inline Bytes FrameWithLastPayload(const Bytes& frame, const uint8_t* data, size_t size) {
  Result<ParsedFrame> f = ParseFrame(frame.data(), frame.size(), int64_t{1} << 28);
  if (!f.ok()) std::abort();
  std::vector<Section> sections;
  for (const SectionRef& s : f->sections) {
    sections.push_back(Section{s.kind, std::vector<uint8_t>(s.data, s.data + s.size)});
  }
  sections.back().payload.assign(data, data + size);
  Bytes out;
  if (!WriteFrame(f->header, sections, &out).ok()) std::abort();
  return out;
}

}  // namespace ftc::fuzz

#endif  // FTCODEC_TESTS_FUZZ_FRAME_SURGERY_H_

// The .ftc container: frame writing and parsing (docs/format.md, "Frame").
// ParseFrame validates every field, limit and checksum before the caller touches a payload.
#ifndef FTCODEC_BITSTREAM_FRAME_H_
#define FTCODEC_BITSTREAM_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace ftc {

constexpr uint8_t kFrameMagic[4] = {0x89, 'F', 'T', 'C'};
// Version 3: symbol segment version 2 (docs/format.md, "Version changes"); frames of the
// earlier development versions 1 and 2 are refused as unsupported.
constexpr uint8_t kFormatVersion = 3;
constexpr uint8_t kOldestFormatVersion = 3;
constexpr int kMaxSections = 8;
constexpr uint64_t kMaxParamsSize = 4096;
constexpr int64_t kMaxSampleElements = int64_t{1} << 28;
constexpr int64_t kMaxTensorElements = int64_t{1} << 40;
constexpr uint64_t kMaxDimension = (uint64_t{1} << 31) - 1;
constexpr uint64_t kMaxSectionLength = (uint64_t{1} << 31) - 1;
constexpr uint8_t kPaddingSectionKind = 0xFF;
// Flags bit 0: a multi-sample frame (Sample_Count follows Batch_Count); docs/format.md,
// "Multi-sample frames". Which codecs may write one is the codec layer's (Codec::multi_sample):
// the container checks only its structure.
constexpr uint8_t kFrameFlagMultiSample = 0x01;
// Expansion limit: E <= kExpansionSlack + kExpansionRatio * frame_size.
constexpr int64_t kExpansionSlack = int64_t{1} << 16;
constexpr int64_t kExpansionRatio = 1024;

// C, H, W of the sample a frame codes.
struct SampleShape {
  int64_t c = 1, h = 1, w = 1;
  int64_t elements() const { return c * h * w; }
};
// Sample shape for a tensor of `rank` and `shape` (table "The sample" in docs/format.md).
SampleShape SampleShapeOf(const Shape& shape);

struct FrameHeader {
  uint8_t version = kFormatVersion;  // as parsed (WriteFrame always writes kFormatVersion)
  DType dtype = DType::kF32;         // original dtype
  Shape shape;                       // original shape (rank = shape.size())
  uint32_t batch_index = 0;          // the (first) sample this frame codes
  uint32_t batch_count = 1;
  bool multi_sample = false;  // Flags bit 0; then the frame codes samples
  uint32_t sample_count = 1;  // batch_index .. batch_index + sample_count - 1
  uint8_t codec_id = 0;
  std::vector<uint8_t> params;
};

struct Section {
  uint8_t kind = 0;
  std::vector<uint8_t> payload;
};

struct SectionRef {
  uint8_t kind = 0;
  const uint8_t* data = nullptr;
  size_t size = 0;
};

struct ParsedFrame {
  FrameHeader header;
  SampleShape sample;                // one sample; the frame holds header.sample_count of them
  std::vector<SectionRef> sections;  // padding sections removed
  size_t size = 0;                   // bytes the frame occupies
};

// Appends a frame; adds a padding section when needed to satisfy the expansion limit.
Status WriteFrame(const FrameHeader& header, const std::vector<Section>& sections,
                  std::vector<uint8_t>* out);

// Parses and checks one frame at the start of `data`. Section payloads point into `data`.
Result<ParsedFrame> ParseFrame(const uint8_t* data, size_t size, int64_t max_sample_elements);

// True if `data` starts with the frame magic number.
bool HasFrameMagic(const uint8_t* data, size_t size);

}  // namespace ftc

#endif  // FTCODEC_BITSTREAM_FRAME_H_

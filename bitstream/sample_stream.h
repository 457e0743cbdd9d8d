// Sample streams (.ftcs): the stream header and records (docs/format.md, "Sample streams").
// Parsing checks every field, limit and checksum before the caller touches a payload; a record
// is turned into the frame it stands for (RecordFrame), which the frame decoder then decodes.
#ifndef FTCODEC_BITSTREAM_SAMPLE_STREAM_H_
#define FTCODEC_BITSTREAM_SAMPLE_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bitstream/frame.h"
#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace ftc {

constexpr uint8_t kSampleStreamMagic[4] = {0x89, 'F', 'T', 'S'};
constexpr uint8_t kSampleStreamVersion = 2;  // 2: symbol segment version 2
// Record_Flags.
constexpr uint8_t kRecordOwnParams = 0x01;
constexpr uint8_t kRecordOwnSections = 0x02;

struct SampleStreamHeader {
  DType dtype = DType::kF32;
  Shape shape;  // one sample, rank 1..3
  uint8_t codec_id = 0;
  std::vector<uint8_t> section_kinds;
  std::vector<uint8_t> params;
};

struct SampleRecord {
  bool own_params = false;
  std::vector<uint8_t> params;  // own_params
  bool own_sections = false;
  std::vector<SectionRef> sections;  // kinds (own or the header's) and payloads (into the data)
};

// Appends the header / a record. The record's sections must have the header's kinds unless
// record.own_sections; its params replace the header's when record.own_params.
Status WriteSampleStreamHeader(const SampleStreamHeader& header, std::vector<uint8_t>* out);
Status WriteSampleRecord(const SampleStreamHeader& header, const SampleRecord& record,
                         std::vector<uint8_t>* out);

// Parses and checks the header at the start of `data` (*consumed: its size). The sample must
// have at most `max_sample_elements` elements.
Result<SampleStreamHeader> ParseSampleStreamHeader(const uint8_t* data, size_t size,
                                                   int64_t max_sample_elements, size_t* consumed);
// Parses and checks one record at the start of `data`. *consumed is set to the record's size as
// soon as its length is known (so also for some corrupt records: a caller may skip them).
// Payloads point into `data`.
Result<SampleRecord> ParseSampleRecord(const SampleStreamHeader& header, const uint8_t* data,
                                       size_t size, size_t* consumed);

// The frame record `record` stands for (docs/format.md, "Record": version 2, Flags 0, batch 0 of
// 1), ready for the frame decoder.
Status RecordFrame(const SampleStreamHeader& header, const SampleRecord& record,
                   std::vector<uint8_t>* frame);

// True if `data` starts with the sample stream magic number.
bool HasSampleStreamMagic(const uint8_t* data, size_t size);

}  // namespace ftc

#endif  // FTCODEC_BITSTREAM_SAMPLE_STREAM_H_

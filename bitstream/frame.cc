#include "bitstream/frame.h"

#include <algorithm>
#include <cstring>

#include "base/byte_io.h"
#include "base/crc32c.h"
#include "base/status_macros.h"

namespace ftc {

SampleShape SampleShapeOf(const Shape& shape) {
  SampleShape s;
  switch (shape.size()) {
    case 4:
      s = {shape[1], shape[2], shape[3]};
      break;
    case 3:
      s = {shape[0], shape[1], shape[2]};
      break;
    case 2:
      s = {1, shape[0], shape[1]};
      break;
    case 1:
      s = {1, 1, shape[0]};
      break;
    default:
      break;
  }
  return s;
}

bool HasFrameMagic(const uint8_t* data, size_t size) {
  return size >= 4 && std::memcmp(data, kFrameMagic, 4) == 0;
}

static size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

static void AppendSection(uint8_t kind, const uint8_t* payload, size_t size,
                          std::vector<uint8_t>* out) {
  const size_t start = out->size();
  ByteWriter w(out);
  w.U8(kind);
  w.Varint(size);
  w.Bytes(payload, size);
  w.U32(Crc32c(out->data() + start, out->size() - start));
}

Status WriteFrame(const FrameHeader& h, const std::vector<Section>& sections,
                  std::vector<uint8_t>* out) {
  if (h.shape.empty() || h.shape.size() > static_cast<size_t>(kMaxRank)) {
    return FTC_INTERNAL("frame rank %zu", h.shape.size());
  }
  if (sections.empty() || sections.size() >= static_cast<size_t>(kMaxSections)) {
    return FTC_INTERNAL("frame with %zu sections", sections.size());
  }
  if (h.params.size() > kMaxParamsSize) {
    return FTC_INTERNAL("codec parameters of %zu bytes exceed the limit", h.params.size());
  }
  if (h.multi_sample && (h.shape.size() != 4 || h.sample_count < 1 ||
                         uint64_t{h.batch_index} + h.sample_count > h.batch_count)) {
    return FTC_INTERNAL("multi-sample frame of %u samples from %u of %u", h.sample_count,
                        h.batch_index, h.batch_count);
  }
  const int64_t samples = h.multi_sample ? h.sample_count : 1;
  const size_t start = out->size();
  ByteWriter w(out);
  w.Bytes(kFrameMagic, 4);
  w.U8(kFormatVersion);
  w.U8(h.multi_sample ? kFrameFlagMultiSample : 0);
  w.U8(static_cast<uint8_t>(h.dtype));
  w.U8(static_cast<uint8_t>(h.shape.size()));
  w.U8(h.codec_id);
  const size_t count_pos = out->size();
  w.U8(static_cast<uint8_t>(sections.size()));
  for (int64_t d : h.shape) w.Varint(static_cast<uint64_t>(d));
  w.Varint(h.batch_index);
  w.Varint(h.batch_count);
  if (h.multi_sample) w.Varint(h.sample_count);
  w.Varint(h.params.size());
  w.Bytes(h.params.data(), h.params.size());
  const size_t header_end = out->size();
  w.U32(0);  // header checksum, patched below once the section count is final
  for (const Section& s : sections) {
    if (s.payload.size() > kMaxSectionLength) {
      return FTC_LIMIT("a section of %zu bytes exceeds the format's limit", s.payload.size());
    }
    AppendSection(s.kind, s.payload.data(), s.payload.size(), out);
  }
  // Expansion limit: pad so that E <= slack + ratio * frame_size.
  const int64_t elements = samples * SampleShapeOf(h.shape).elements();
  const int64_t frame_size = static_cast<int64_t>(out->size() - start);
  if (elements > kExpansionSlack + kExpansionRatio * frame_size) {
    int64_t need =
        (elements - kExpansionSlack + kExpansionRatio - 1) / kExpansionRatio - frame_size;
    // A padding section costs kind + length + checksum on top of its payload.
    int64_t payload = need - 5;
    while (payload > 0 && static_cast<int64_t>(1 + VarintSize(payload) + 4) + payload < need) {
      ++payload;
    }
    if (payload < 0) payload = 0;
    std::vector<uint8_t> zeros(static_cast<size_t>(payload), 0);
    AppendSection(kPaddingSectionKind, zeros.data(), zeros.size(), out);
    (*out)[count_pos] = static_cast<uint8_t>(sections.size() + 1);
  }
  const uint32_t crc = Crc32c(out->data() + start, header_end - start);
  for (int i = 0; i < 4; ++i) (*out)[header_end + i] = static_cast<uint8_t>(crc >> (8 * i));
  return Status::Ok();
}

Result<ParsedFrame> ParseFrame(const uint8_t* data, size_t size, int64_t max_sample_elements) {
  ByteReader r(data, size);
  if (size < 4) return FTC_CORRUPT("truncated: %zu bytes cannot hold a frame header", size);
  if (std::memcmp(data, kFrameMagic, 4) != 0) {
    return FTC_CORRUPT("wrong magic number %02x %02x %02x %02x (not an ftcodec .ftc frame)",
                       data[0], data[1], data[2], data[3]);
  }
  const uint8_t* ignored;
  (void)r.Skip(4, &ignored);
  uint8_t version, flags, dtype, rank, codec_id, section_count;
  if (!r.U8(&version)) return FTC_CORRUPT("truncated frame header");
  if (version < kOldestFormatVersion || version > kFormatVersion) {
    return FTC_UNSUPPORTED("unsupported format version %u (this build reads versions %u to %u)",
                           version, kOldestFormatVersion, kFormatVersion);
  }
  if (!r.U8(&flags) || !r.U8(&dtype) || !r.U8(&rank) || !r.U8(&codec_id) || !r.U8(&section_count)) {
    return FTC_CORRUPT("truncated frame header");
  }
  // First the structure (enough to find the checksum), then the checksum, then the meaning of
  // every field: a random corruption is reported as what it is, a checksum mismatch.
  if (rank < 1 || rank > kMaxRank) return FTC_CORRUPT("invalid rank %u (1 to %d)", rank, kMaxRank);
  uint64_t dims[kMaxRank];
  for (int i = 0; i < rank; ++i) {
    if (!r.Varint(&dims[i])) return FTC_CORRUPT("truncated or malformed shape");
  }
  uint64_t batch_index, batch_count, sample_count = 1, params_size;
  if (!r.Varint(&batch_index) || !r.Varint(&batch_count) ||
      ((flags & kFrameFlagMultiSample) && !r.Varint(&sample_count)) || !r.Varint(&params_size)) {
    return FTC_CORRUPT("truncated frame header");
  }
  if (params_size > kMaxParamsSize) {
    return FTC_CORRUPT("codec parameter size %llu exceeds the limit of %llu",
                       static_cast<unsigned long long>(params_size),
                       static_cast<unsigned long long>(kMaxParamsSize));
  }
  const uint8_t* params;
  if (!r.Skip(params_size, &params)) return FTC_CORRUPT("truncated codec parameters");
  const size_t header_len = static_cast<size_t>(r.position() - data);
  uint32_t header_crc;
  if (!r.U32(&header_crc)) return FTC_CORRUPT("truncated frame header checksum");
  if (Crc32c(data, header_len) != header_crc) return FTC_CORRUPT("header checksum mismatch");

  if (flags & ~kFrameFlagMultiSample) {
    return FTC_CORRUPT("reserved flag bits are set (0x%02x)", flags);
  }
  if (dtype > static_cast<uint8_t>(DType::kU8)) return FTC_CORRUPT("invalid dtype code %u", dtype);
  if (section_count < 1 || section_count > kMaxSections) {
    return FTC_CORRUPT("invalid section count %u (1 to %d)", section_count, kMaxSections);
  }
  ParsedFrame f;
  f.header.version = version;
  f.header.dtype = static_cast<DType>(dtype);
  f.header.codec_id = codec_id;
  int64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    const uint64_t d = dims[i];
    if (d == 0) return FTC_CORRUPT("shape dimension %d is 0", i);
    if (d > kMaxDimension) {
      return FTC_LIMIT("shape dimension %d is %llu, above the limit of %llu", i,
                       static_cast<unsigned long long>(d),
                       static_cast<unsigned long long>(kMaxDimension));
    }
    if (total > kMaxTensorElements / static_cast<int64_t>(d)) {
      return FTC_LIMIT("shape has more than 2^40 elements");
    }
    total *= static_cast<int64_t>(d);
    f.header.shape.push_back(static_cast<int64_t>(d));
  }
  const uint64_t expected_count = rank == 4 ? static_cast<uint64_t>(f.header.shape[0]) : 1;
  if (batch_count != expected_count) {
    return FTC_CORRUPT("batch count %llu does not match the shape (%llu samples)",
                       static_cast<unsigned long long>(batch_count),
                       static_cast<unsigned long long>(expected_count));
  }
  if (batch_index >= batch_count) {
    return FTC_CORRUPT("batch index %llu is not below the batch count %llu",
                       static_cast<unsigned long long>(batch_index),
                       static_cast<unsigned long long>(batch_count));
  }
  if (flags & kFrameFlagMultiSample) {
    if (rank != 4) {
      return FTC_CORRUPT("a multi-sample frame needs a rank-4 shape, not rank %u", rank);
    }
    if (sample_count < 1 || sample_count > batch_count - batch_index) {
      return FTC_CORRUPT(
          "multi-sample frame: %llu samples from sample %llu exceed the batch of "
          "%llu",
          static_cast<unsigned long long>(sample_count),
          static_cast<unsigned long long>(batch_index),
          static_cast<unsigned long long>(batch_count));
    }
  }
  f.header.batch_index = static_cast<uint32_t>(batch_index);
  f.header.batch_count = static_cast<uint32_t>(batch_count);
  f.header.multi_sample = (flags & kFrameFlagMultiSample) != 0;
  f.header.sample_count = static_cast<uint32_t>(sample_count);
  f.header.params.assign(params, params + params_size);

  f.sample = SampleShapeOf(f.header.shape);
  // sample_count <= Shape[0], so this is at most the whole tensor's 2^40 elements.
  const int64_t elements = static_cast<int64_t>(sample_count) * f.sample.elements();
  if (elements > kMaxSampleElements || elements > max_sample_elements) {
    return FTC_LIMIT("a frame of %lld elements exceeds the decoder's limit of %lld",
                     static_cast<long long>(elements),
                     static_cast<long long>(std::min(kMaxSampleElements, max_sample_elements)));
  }
  bool saw_padding = false;
  for (int i = 0; i < section_count; ++i) {
    const uint8_t* sec_start = r.position();
    uint8_t kind;
    uint64_t len;
    if (!r.U8(&kind) || !r.Varint(&len)) return FTC_CORRUPT("section %d: truncated header", i);
    if (len > kMaxSectionLength) return FTC_CORRUPT("section %d: length exceeds the limit", i);
    const uint8_t* payload;
    if (!r.Skip(len, &payload)) {
      return FTC_CORRUPT("section %d: length %llu runs past the end of the data (%zu bytes left)",
                         i, static_cast<unsigned long long>(len), r.remaining());
    }
    const size_t covered = static_cast<size_t>(r.position() - sec_start);
    uint32_t crc;
    if (!r.U32(&crc)) return FTC_CORRUPT("section %d: truncated checksum", i);
    if (Crc32c(sec_start, covered) != crc) return FTC_CORRUPT("section %d: checksum mismatch", i);
    if (kind == kPaddingSectionKind) {
      for (uint64_t k = 0; k < len; ++k) {
        if (payload[k] != 0) return FTC_CORRUPT("section %d: padding is not all zeros", i);
      }
      saw_padding = true;
      continue;
    }
    if (saw_padding) return FTC_CORRUPT("section %d follows a padding section", i);
    f.sections.push_back({kind, payload, static_cast<size_t>(len)});
  }
  f.size = static_cast<size_t>(r.position() - data);
  if (elements > kExpansionSlack + kExpansionRatio * static_cast<int64_t>(f.size)) {
    return FTC_LIMIT("a %zu-byte frame claims %lld elements, beyond the format's expansion limit",
                     f.size, static_cast<long long>(elements));
  }
  if (f.sections.empty()) return FTC_CORRUPT("frame has only padding sections");
  return f;
}

}  // namespace ftc

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

namespace {

// The header's fields as read, before their meaning is checked.
struct RawFrameHeader {
  uint8_t version = 0, flags = 0, dtype = 0, rank = 0, codec_id = 0, section_count = 0;
  uint64_t dims[kMaxRank] = {};
  uint64_t batch_index = 0, batch_count = 0, sample_count = 1;
  const uint8_t* params = nullptr;
  uint64_t params_size = 0;
};

// Reads the header up to and including its checksum, and verifies the checksum; of the fields,
// only what the structure needs is checked here.
Status ReadFrameHeader(const uint8_t* data, size_t size, ByteReader* r, RawFrameHeader* h) {
  if (size < 4) return FTC_CORRUPT("truncated: %zu bytes cannot hold a frame header", size);
  if (std::memcmp(data, kFrameMagic, 4) != 0) {
    return FTC_CORRUPT("wrong magic number %02x %02x %02x %02x (not an ftcodec .ftc frame)",
                       data[0], data[1], data[2], data[3]);
  }
  const uint8_t* ignored;
  (void)r->Skip(4, &ignored);
  if (!r->U8(&h->version)) return FTC_CORRUPT("truncated frame header");
  if (h->version < kOldestFormatVersion) {
    return FTC_UNSUPPORTED(
        "unsupported format version %u: an earlier development format (this build reads "
        "version %u; re-encode the source)",
        h->version, kFormatVersion);
  }
  if (h->version > kFormatVersion) {
    return FTC_UNSUPPORTED("unsupported format version %u (this build reads version %u)",
                           h->version, kFormatVersion);
  }
  if (!r->U8(&h->flags) || !r->U8(&h->dtype) || !r->U8(&h->rank) || !r->U8(&h->codec_id) ||
      !r->U8(&h->section_count)) {
    return FTC_CORRUPT("truncated frame header");
  }
  if (h->rank < 1 || h->rank > kMaxRank) {
    return FTC_CORRUPT("invalid rank %u (1 to %d)", h->rank, kMaxRank);
  }
  for (int i = 0; i < h->rank; ++i) {
    if (!r->Varint(&h->dims[i])) return FTC_CORRUPT("truncated or malformed shape");
  }
  if (!r->Varint(&h->batch_index) || !r->Varint(&h->batch_count) ||
      ((h->flags & kFrameFlagMultiSample) && !r->Varint(&h->sample_count)) ||
      !r->Varint(&h->params_size)) {
    return FTC_CORRUPT("truncated frame header");
  }
  if (h->params_size > kMaxParamsSize) {
    return FTC_CORRUPT("codec parameter size %llu exceeds the limit of %llu",
                       static_cast<unsigned long long>(h->params_size),
                       static_cast<unsigned long long>(kMaxParamsSize));
  }
  if (!r->Skip(h->params_size, &h->params)) return FTC_CORRUPT("truncated codec parameters");
  const size_t header_len = static_cast<size_t>(r->position() - data);
  uint32_t header_crc;
  if (!r->U32(&header_crc)) return FTC_CORRUPT("truncated frame header checksum");
  if (Crc32c(data, header_len) != header_crc) return FTC_CORRUPT("header checksum mismatch");
  return Status::Ok();
}

// The shape of a checksummed header, dimension by dimension, within the limits.
Status CheckFrameShape(const RawFrameHeader& raw, Shape* shape) {
  int64_t total = 1;
  for (int i = 0; i < raw.rank; ++i) {
    const uint64_t d = raw.dims[i];
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
    shape->push_back(static_cast<int64_t>(d));
  }
  return Status::Ok();
}

// The meaning of every field of a checksummed header; fills *h.
Status CheckFrameHeader(const RawFrameHeader& raw, FrameHeader* h) {
  if (raw.flags & ~kFrameFlagMultiSample) {
    return FTC_CORRUPT("reserved flag bits are set (0x%02x)", raw.flags);
  }
  if (raw.dtype > static_cast<uint8_t>(DType::kU8)) {
    return FTC_CORRUPT("invalid dtype code %u", raw.dtype);
  }
  if (raw.section_count < 1 || raw.section_count > kMaxSections) {
    return FTC_CORRUPT("invalid section count %u (1 to %d)", raw.section_count, kMaxSections);
  }
  h->version = raw.version;
  h->dtype = static_cast<DType>(raw.dtype);
  h->codec_id = raw.codec_id;
  FTC_RETURN_IF_ERROR(CheckFrameShape(raw, &h->shape));
  const uint64_t batch_count = raw.batch_count, batch_index = raw.batch_index;
  const uint64_t expected_count = raw.rank == 4 ? static_cast<uint64_t>(h->shape[0]) : 1;
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
  if (raw.flags & kFrameFlagMultiSample) {
    if (raw.rank != 4) {
      return FTC_CORRUPT("a multi-sample frame needs a rank-4 shape, not rank %u", raw.rank);
    }
    if (raw.sample_count < 1 || raw.sample_count > batch_count - batch_index) {
      return FTC_CORRUPT(
          "multi-sample frame: %llu samples from sample %llu exceed the batch of "
          "%llu",
          static_cast<unsigned long long>(raw.sample_count),
          static_cast<unsigned long long>(batch_index),
          static_cast<unsigned long long>(batch_count));
    }
  }
  h->batch_index = static_cast<uint32_t>(batch_index);
  h->batch_count = static_cast<uint32_t>(batch_count);
  h->multi_sample = (raw.flags & kFrameFlagMultiSample) != 0;
  h->sample_count = static_cast<uint32_t>(raw.sample_count);
  h->params.assign(raw.params, raw.params + raw.params_size);
  return Status::Ok();
}

// Reads `count` sections, checking each one's checksum; padding sections (all zeros, only at
// the end) are left out of *sections.
Status ReadSections(ByteReader* r, int count, std::vector<SectionRef>* sections) {
  bool saw_padding = false;
  for (int i = 0; i < count; ++i) {
    const uint8_t* sec_start = r->position();
    uint8_t kind;
    uint64_t len;
    if (!r->U8(&kind) || !r->Varint(&len)) return FTC_CORRUPT("section %d: truncated header", i);
    if (len > kMaxSectionLength) return FTC_CORRUPT("section %d: length exceeds the limit", i);
    const uint8_t* payload;
    if (!r->Skip(len, &payload)) {
      return FTC_CORRUPT("section %d: length %llu runs past the end of the data (%zu bytes left)",
                         i, static_cast<unsigned long long>(len), r->remaining());
    }
    const size_t covered = static_cast<size_t>(r->position() - sec_start);
    uint32_t crc;
    if (!r->U32(&crc)) return FTC_CORRUPT("section %d: truncated checksum", i);
    if (Crc32c(sec_start, covered) != crc) return FTC_CORRUPT("section %d: checksum mismatch", i);
    if (kind == kPaddingSectionKind) {
      for (uint64_t k = 0; k < len; ++k) {
        if (payload[k] != 0) return FTC_CORRUPT("section %d: padding is not all zeros", i);
      }
      saw_padding = true;
      continue;
    }
    if (saw_padding) return FTC_CORRUPT("section %d follows a padding section", i);
    sections->push_back({kind, payload, static_cast<size_t>(len)});
  }
  return Status::Ok();
}

}  // namespace

Result<ParsedFrame> ParseFrame(const uint8_t* data, size_t size, int64_t max_sample_elements) {
  ByteReader r(data, size);
  // First the structure (enough to find the checksum), then the checksum, then the meaning of
  // every field: a random corruption is reported as what it is, a checksum mismatch.
  RawFrameHeader raw;
  FTC_RETURN_IF_ERROR(ReadFrameHeader(data, size, &r, &raw));
  ParsedFrame f;
  FTC_RETURN_IF_ERROR(CheckFrameHeader(raw, &f.header));
  f.sample = SampleShapeOf(f.header.shape);
  // sample_count <= Shape[0], so this is at most the whole tensor's 2^40 elements.
  const int64_t elements = static_cast<int64_t>(raw.sample_count) * f.sample.elements();
  if (elements > kMaxSampleElements || elements > max_sample_elements) {
    return FTC_LIMIT("a frame of %lld elements exceeds the decoder's limit of %lld",
                     static_cast<long long>(elements),
                     static_cast<long long>(std::min(kMaxSampleElements, max_sample_elements)));
  }
  FTC_RETURN_IF_ERROR(ReadSections(&r, raw.section_count, &f.sections));
  f.size = static_cast<size_t>(r.position() - data);
  if (elements > kExpansionSlack + kExpansionRatio * static_cast<int64_t>(f.size)) {
    return FTC_LIMIT("a %zu-byte frame claims %lld elements, beyond the format's expansion limit",
                     f.size, static_cast<long long>(elements));
  }
  if (f.sections.empty()) return FTC_CORRUPT("frame has only padding sections");
  return f;
}

}  // namespace ftc

// Sample streams (.ftcs): docs/format.md, "Sample streams".
#include "bitstream/sample_stream.h"

#include <cstring>

#include "base/byte_io.h"
#include "base/crc32c.h"
#include "base/status_macros.h"

namespace ftc {

bool HasSampleStreamMagic(const uint8_t* data, size_t size) {
  return size >= 4 && std::memcmp(data, kSampleStreamMagic, 4) == 0;
}

namespace {

Status CheckKinds(const std::vector<uint8_t>& kinds, const char* where) {
  // A record becomes a frame, which keeps room for a padding section.
  if (kinds.empty() || kinds.size() >= static_cast<size_t>(kMaxSections)) {
    return FTC_CORRUPT("%s: %zu sections (expected 1 to %d)", where, kinds.size(),
                       kMaxSections - 1);
  }
  for (uint8_t k : kinds) {
    if (k == kPaddingSectionKind) return FTC_CORRUPT("%s: a padding section kind", where);
  }
  return Status::Ok();
}

void WriteKinds(const std::vector<uint8_t>& kinds, ByteWriter* w) {
  w->U8(static_cast<uint8_t>(kinds.size()));
  w->Bytes(kinds.data(), kinds.size());
}

// Section_Count and Section_Kinds.
Status ReadKinds(ByteReader* r, const char* where, std::vector<uint8_t>* kinds) {
  uint8_t n = 0;
  const uint8_t* p = nullptr;
  if (!r->U8(&n) || !r->Skip(n, &p)) return FTC_CORRUPT("%s: truncated section list", where);
  kinds->assign(p, p + n);
  return CheckKinds(*kinds, where);
}

// Params_Size and Codec_Params.
Status ReadParams(ByteReader* r, const char* where, std::vector<uint8_t>* params) {
  uint64_t n = 0;
  const uint8_t* p = nullptr;
  if (!r->Varint(&n)) return FTC_CORRUPT("%s: truncated or malformed Params_Size", where);
  if (n > kMaxParamsSize) {
    return FTC_CORRUPT("%s: codec parameters of %llu bytes (at most %llu)", where,
                       static_cast<unsigned long long>(n),
                       static_cast<unsigned long long>(kMaxParamsSize));
  }
  if (!r->Skip(static_cast<size_t>(n), &p)) return FTC_CORRUPT("%s: truncated parameters", where);
  params->assign(p, p + n);
  return Status::Ok();
}

}  // namespace

Status WriteSampleStreamHeader(const SampleStreamHeader& h, std::vector<uint8_t>* out) {
  if (h.shape.empty() || h.shape.size() > 3) {
    return FTC_INTERNAL("sample stream of rank %zu", h.shape.size());
  }
  FTC_RETURN_IF_ERROR(CheckKinds(h.section_kinds, "sample stream header"));
  if (h.params.size() > kMaxParamsSize) return FTC_INTERNAL("codec parameters too large");
  const size_t start = out->size();
  ByteWriter w(out);
  w.Bytes(kSampleStreamMagic, 4);
  w.U8(kSampleStreamVersion);
  w.U8(0);
  w.U8(static_cast<uint8_t>(h.dtype));
  w.U8(static_cast<uint8_t>(h.shape.size()));
  w.U8(h.codec_id);
  WriteKinds(h.section_kinds, &w);
  for (int64_t d : h.shape) w.Varint(static_cast<uint64_t>(d));
  w.Varint(h.params.size());
  w.Bytes(h.params.data(), h.params.size());
  w.U32(Crc32c(out->data() + start, out->size() - start));
  return Status::Ok();
}

Status WriteSampleRecord(const SampleStreamHeader& h, const SampleRecord& rec,
                         std::vector<uint8_t>* out) {
  if (rec.sections.empty() || rec.sections.size() > static_cast<size_t>(kMaxSections)) {
    return FTC_INTERNAL("a record of %zu sections", rec.sections.size());
  }
  if (!rec.own_sections) {
    if (rec.sections.size() != h.section_kinds.size()) {
      return FTC_INTERNAL("a record's sections differ from the header's");
    }
    for (size_t i = 0; i < rec.sections.size(); ++i) {
      if (rec.sections[i].kind != h.section_kinds[i]) {
        return FTC_INTERNAL("a record's section kinds differ from the header's");
      }
    }
  }
  std::vector<uint8_t> body;
  ByteWriter w(&body);
  if (rec.own_params) {
    w.Varint(rec.params.size());
    w.Bytes(rec.params.data(), rec.params.size());
  }
  if (rec.own_sections) {
    std::vector<uint8_t> kinds;
    for (const SectionRef& s : rec.sections) kinds.push_back(s.kind);
    FTC_RETURN_IF_ERROR(CheckKinds(kinds, "record"));
    WriteKinds(kinds, &w);
  }
  for (size_t i = 0; i + 1 < rec.sections.size(); ++i) w.Varint(rec.sections[i].size);
  for (const SectionRef& s : rec.sections) w.Bytes(s.data, s.size);
  const uint64_t length = body.size() + 4;
  const uint64_t flags =
      (rec.own_params ? kRecordOwnParams : 0) | (rec.own_sections ? kRecordOwnSections : 0);
  const size_t start = out->size();
  ByteWriter o(out);
  o.Varint(length * 4 + flags);
  o.Bytes(body.data(), body.size());
  o.U32(Crc32c(out->data() + start, out->size() - start));
  return Status::Ok();
}

Result<SampleStreamHeader> ParseSampleStreamHeader(const uint8_t* data, size_t size,
                                                   int64_t max_sample_elements, size_t* consumed) {
  if (!HasSampleStreamMagic(data, size)) {
    return FTC_CORRUPT("not a sample stream (no \\x89FTS magic number)");
  }
  ByteReader r(data, size);
  const uint8_t* skip = nullptr;
  (void)r.Skip(4, &skip);
  uint8_t version = 0, flags = 0, dtype = 0, rank = 0, codec = 0;
  if (!r.U8(&version) || !r.U8(&flags) || !r.U8(&dtype) || !r.U8(&rank) || !r.U8(&codec)) {
    return FTC_CORRUPT("sample stream header: truncated");
  }
  if (version != kSampleStreamVersion) {
    return Status(StatusCode::kUnsupported,
                  StrFormat("sample stream version %u is not supported (this build reads %u)",
                            version, kSampleStreamVersion));
  }
  if (flags != 0) return FTC_CORRUPT("sample stream header: reserved flags %02x set", flags);
  if (dtype > static_cast<uint8_t>(DType::kU8)) {
    return FTC_CORRUPT("sample stream header: invalid dtype %u", dtype);
  }
  if (rank < 1 || rank > 3) return FTC_CORRUPT("sample stream header: sample rank %u", rank);
  SampleStreamHeader h;
  h.dtype = static_cast<DType>(dtype);
  h.codec_id = codec;
  FTC_RETURN_IF_ERROR(ReadKinds(&r, "sample stream header", &h.section_kinds));
  for (int i = 0; i < rank; ++i) {
    uint64_t d = 0;
    if (!r.Varint(&d)) return FTC_CORRUPT("sample stream header: truncated shape");
    if (d < 1 || d > kMaxDimension) {
      return FTC_CORRUPT("sample stream header: dimension %llu out of range",
                         static_cast<unsigned long long>(d));
    }
    h.shape.push_back(static_cast<int64_t>(d));
  }
  const int64_t elements = SampleShapeOf(h.shape).elements();
  if (elements > max_sample_elements || elements > kMaxSampleElements) {
    return FTC_LIMIT("sample stream header: a sample of %lld elements exceeds the limit of %lld",
                     static_cast<long long>(elements),
                     static_cast<long long>(std::min(max_sample_elements, kMaxSampleElements)));
  }
  FTC_RETURN_IF_ERROR(ReadParams(&r, "sample stream header", &h.params));
  const size_t covered = static_cast<size_t>(r.position() - data);
  uint32_t crc = 0;
  if (!r.U32(&crc)) return FTC_CORRUPT("sample stream header: truncated checksum");
  if (crc != Crc32c(data, covered)) return FTC_CORRUPT("sample stream header: checksum mismatch");
  *consumed = covered + 4;
  return h;
}

Result<SampleRecord> ParseSampleRecord(const SampleStreamHeader& h, const uint8_t* data,
                                       size_t size, size_t* consumed) {
  ByteReader head(data, size);
  uint64_t v = 0;
  if (!head.Varint(&v)) return FTC_CORRUPT("truncated or malformed record header");
  const uint64_t length = v >> 2;
  const uint8_t flags = static_cast<uint8_t>(v & 3);
  const size_t field = static_cast<size_t>(head.position() - data);
  if (length < 4) {
    return FTC_CORRUPT("record length %llu is too short", static_cast<unsigned long long>(length));
  }
  if (length > head.remaining()) {
    return FTC_CORRUPT("truncated record: %llu bytes announced, %zu left",
                       static_cast<unsigned long long>(length), head.remaining());
  }
  const size_t total = field + static_cast<size_t>(length);
  *consumed = total;  // known from here on, also when the record turns out corrupt
  const uint32_t crc = static_cast<uint32_t>(data[total - 4]) |
                       (static_cast<uint32_t>(data[total - 3]) << 8) |
                       (static_cast<uint32_t>(data[total - 2]) << 16) |
                       (static_cast<uint32_t>(data[total - 1]) << 24);
  if (crc != Crc32c(data, total - 4)) return FTC_CORRUPT("record checksum mismatch");
  ByteReader r(data + field, static_cast<size_t>(length) - 4);
  SampleRecord rec;
  rec.own_params = flags & kRecordOwnParams;
  rec.own_sections = flags & kRecordOwnSections;
  if (rec.own_params) FTC_RETURN_IF_ERROR(ReadParams(&r, "record", &rec.params));
  std::vector<uint8_t> kinds = h.section_kinds;
  if (rec.own_sections) FTC_RETURN_IF_ERROR(ReadKinds(&r, "record", &kinds));
  std::vector<uint64_t> lengths;
  for (size_t i = 0; i + 1 < kinds.size(); ++i) {
    uint64_t n = 0;
    if (!r.Varint(&n)) return FTC_CORRUPT("record: truncated section lengths");
    lengths.push_back(n);
  }
  for (size_t i = 0; i < kinds.size(); ++i) {
    const size_t n =
        i + 1 < kinds.size()
            ? static_cast<size_t>(std::min<uint64_t>(lengths[i], kMaxSectionLength + 1))
            : r.remaining();
    const uint8_t* p = nullptr;
    if (n > kMaxSectionLength || !r.Skip(n, &p)) {
      return FTC_CORRUPT("record: section %zu is longer than the record", i);
    }
    rec.sections.push_back(SectionRef{kinds[i], p, n});
  }
  return rec;
}

Status RecordFrame(const SampleStreamHeader& h, const SampleRecord& rec,
                   std::vector<uint8_t>* frame) {
  FrameHeader fh;
  fh.dtype = h.dtype;
  fh.shape = h.shape;
  fh.codec_id = h.codec_id;
  fh.params = rec.own_params ? rec.params : h.params;
  std::vector<Section> sections;
  for (const SectionRef& s : rec.sections) {
    sections.push_back(Section{s.kind, std::vector<uint8_t>(s.data, s.data + s.size)});
  }
  frame->clear();
  return WriteFrame(fh, sections, frame);
}

}  // namespace ftc

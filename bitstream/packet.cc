#include "bitstream/packet.h"

#include <algorithm>
#include <cstring>

#include "base/byte_io.h"
#include "base/crc32c.h"
#include "base/status_macros.h"
#include "bitstream/decoder_limits.h"

namespace ftc {

BandLayout BandLayout::Of(const SampleShape& s, uint32_t band_rows) {
  BandLayout b;
  b.sample = s;
  const uint32_t h = static_cast<uint32_t>(s.h);
  b.rows = band_rows == 0 || band_rows >= h ? h : band_rows;
  b.per_channel = (h + b.rows - 1) / b.rows;
  b.total = static_cast<uint32_t>(s.c) * b.per_channel;
  return b;
}

uint32_t BandLayout::rows_of(uint32_t band) const {
  const uint32_t y = first_row(band);
  return std::min(rows, static_cast<uint32_t>(sample.h) - y);
}

int64_t BandLayout::offset(uint32_t band) const {
  return (int64_t{channel(band)} * sample.h + first_row(band)) * sample.w;
}

namespace {

uint64_t Gcd(uint64_t a, uint64_t b) {
  while (b != 0) {
    const uint64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Inverse of a modulo m (gcd(a, m) = 1, m >= 1), by the extended Euclidean algorithm.
uint64_t ModInverse(uint64_t a, uint64_t m) {
  if (m == 1) return 0;
  int64_t t = 0, new_t = 1;
  int64_t r = static_cast<int64_t>(m), new_r = static_cast<int64_t>(a % m);
  while (new_r != 0) {
    const int64_t q = r / new_r;
    const int64_t tt = t - q * new_t;
    t = new_t;
    new_t = tt;
    const int64_t rr = r - q * new_r;
    r = new_r;
    new_r = rr;
  }
  if (t < 0) t += static_cast<int64_t>(m);
  return static_cast<uint64_t>(t);
}

bool ReadU32Varint(ByteReader* r, uint32_t* v) {
  uint64_t x;
  if (!r->Varint(&x) || x > 0xFFFFFFFFu) return false;
  *v = static_cast<uint32_t>(x);
  return true;
}

}  // namespace

uint32_t InterleaveStride(uint32_t packet_count) {
  const uint64_t p = packet_count;
  uint64_t s = (p * 2654435769u + (uint64_t{1} << 31)) >> 32;
  if (s < 1) s = 1;
  while (Gcd(s, p) != 1) ++s;  // terminates: P - 1 is coprime with P (P >= 2)
  return static_cast<uint32_t>(s);
}

uint32_t InterleaveSlot(uint32_t band, uint32_t packet_count, uint32_t stride) {
  const uint64_t p = packet_count;
  const uint64_t q = band / p, r = band % p;
  return static_cast<uint32_t>(((r + q) % p) * stride % p);
}

std::vector<uint32_t> InterleavedBands(uint32_t k, uint32_t packet_count, uint32_t band_total) {
  const uint64_t p = packet_count;
  const uint64_t rho = uint64_t{k} * ModInverse(InterleaveStride(packet_count), p) % p;
  std::vector<uint32_t> bands;
  for (uint64_t q = 0; q * p < band_total; ++q) {
    const uint64_t i = q * p + (rho + p - q % p) % p;
    if (i < band_total) bands.push_back(static_cast<uint32_t>(i));
  }
  return bands;
}

uint32_t InterleavedBandCount(uint32_t k, uint32_t packet_count, uint32_t band_total) {
  // Bands i = q·P + ((ρ − q) mod P): one for every whole row q < floor(T / P), and one in the
  // last, partial row if its position is below T mod P.
  const uint64_t p = packet_count;
  const uint64_t rho = uint64_t{k} * ModInverse(InterleaveStride(packet_count), p) % p;
  const uint64_t rows = band_total / p;
  const uint64_t last = (rho + p - rows % p) % p;
  return static_cast<uint32_t>(rows + (last < band_total % p ? 1 : 0));
}

bool HasPacketMagic(const uint8_t* data, size_t size) {
  return (size >= 2 && std::memcmp(data, kPacketMagic, 2) == 0) ||
         (size >= 4 && std::memcmp(data, kOldPacketMagic, 4) == 0);
}

void SetPacketStreamId(uint32_t stream_id, std::vector<uint8_t>* packet) {
  std::vector<uint8_t>& p = *packet;
  for (int i = 0; i < 4; ++i)
    p[kPacketStreamIdOffset + i] = static_cast<uint8_t>(stream_id >> (8 * i));
  const size_t body = p.size() - 4;
  const uint32_t crc = Crc32c(p.data(), body);
  for (int i = 0; i < 4; ++i) p[body + i] = static_cast<uint8_t>(crc >> (8 * i));
}

namespace {

void WriteHead(uint8_t kind, const PacketHeader& h, ByteWriter* w) {
  w->Bytes(kPacketMagic, 2);
  w->U8(kPacketVersion);
  w->U8(kind);
  w->U32(h.stream_id);
  w->U8(h.set_id);
}

}  // namespace

void WritePacket(const PacketHeader& h, const std::vector<Section>& sections,
                 std::vector<uint8_t>* out) {
  const size_t start = out->size();
  ByteWriter w(out);
  WriteHead(kDataPacketKind, h, &w);
  w.Varint(h.frame_index);
  w.Varint(h.packet_index);
  w.Varint(h.packet_count);
  if (!h.interleaved()) w.Varint(h.first_band);
  w.Varint(h.band_count);
  w.U8(static_cast<uint8_t>(sections.size()));
  for (const Section& s : sections) {
    w.U8(s.kind);
    w.Varint(s.payload.size());
    w.Bytes(s.payload.data(), s.payload.size());
  }
  w.U32(Crc32c(out->data() + start, out->size() - start));
}

void WriteParameterSet(const PacketHeader& h, std::vector<uint8_t>* out) {
  const size_t start = out->size();
  ByteWriter w(out);
  WriteHead(kParameterSetKind, h, &w);
  w.U8(h.flags);
  w.U8(static_cast<uint8_t>(h.dtype));
  w.U8(static_cast<uint8_t>(h.shape.size()));
  w.U8(h.codec_id);
  for (int64_t d : h.shape) w.Varint(static_cast<uint64_t>(d));
  w.Varint(h.frame_count);
  w.Varint(h.band_rows);
  w.Varint(h.params.size());
  w.Bytes(h.params.data(), h.params.size());
  w.Varint(h.shared_model.size());
  w.Bytes(h.shared_model.data(), h.shared_model.size());
  w.U32(Crc32c(out->data() + start, out->size() - start));
}

namespace {

// A whole packet's size, magic number, version and checksum.
Status CheckPacketEnvelope(const uint8_t* data, size_t size) {
  if (size > kMaxPacketSize) {
    return FTC_CORRUPT("packet of %zu bytes exceeds the limit of %zu", size, kMaxPacketSize);
  }
  if (size >= 4 && std::memcmp(data, kOldPacketMagic, 4) == 0) {
    return FTC_UNSUPPORTED(
        "packet format version %u: an earlier development format (this build reads version %u)",
        size > 4 ? data[4] : 0, kPacketVersion);
  }
  if (size < kPacketHeadSize + 4) return FTC_CORRUPT("packet of %zu bytes is too short", size);
  if (std::memcmp(data, kPacketMagic, 2) != 0)
    return FTC_CORRUPT("not a packet (bad magic number)");
  const size_t body = size - 4;
  uint32_t stored_crc = 0;
  for (int i = 3; i >= 0; --i) stored_crc = (stored_crc << 8) | data[body + i];
  if (Crc32c(data, body) != stored_crc) return FTC_CORRUPT("packet checksum mismatch");
  if (data[2] < kPacketVersion) {
    return FTC_UNSUPPORTED(
        "packet format version %u: an earlier development format (this build reads version %u)",
        data[2], kPacketVersion);
  }
  if (data[2] != kPacketVersion) return FTC_UNSUPPORTED("packet format version %u", data[2]);
  if (data[kPacketKindOffset] != kDataPacketKind && data[kPacketKindOffset] != kParameterSetKind) {
    return FTC_CORRUPT("packet: invalid kind %u", data[kPacketKindOffset]);
  }
  return Status::Ok();
}

// The stream-wide fields of a parameter set up to the shape, which sets p->sample (checked
// against the limits).
Status ReadPacketTensor(ByteReader* r, int64_t max_sample_elements, ParsedParameterSet* p) {
  PacketHeader& h = p->header;
  uint8_t dtype, rank;
  if (!r->U8(&h.flags) || !r->U8(&dtype) || !r->U8(&rank) || !r->U8(&h.codec_id)) {
    return FTC_CORRUPT("parameter set: truncated");
  }
  if (h.flags & ~kPacketFlagInterleaved) {
    return FTC_CORRUPT("parameter set: reserved flag bits are set (0x%02x)", h.flags);
  }
  if (dtype > static_cast<uint8_t>(DType::kU8))
    return FTC_CORRUPT("parameter set: invalid dtype %u", dtype);
  h.dtype = static_cast<DType>(dtype);
  if (rank < 1 || rank > kMaxRank) return FTC_CORRUPT("parameter set: invalid rank %u", rank);
  int64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    uint64_t d;
    if (!r->Varint(&d)) return FTC_CORRUPT("parameter set: truncated shape");
    if (d < 1 || d > kMaxDimension) {
      return FTC_CORRUPT("parameter set: dimension %d is %llu", i,
                         static_cast<unsigned long long>(d));
    }
    if (total > kMaxTensorElements / static_cast<int64_t>(d)) {
      return FTC_LIMIT("parameter set: tensor has more than 2^40 elements");
    }
    total *= static_cast<int64_t>(d);
    h.shape.push_back(static_cast<int64_t>(d));
  }
  p->sample = SampleShapeOf(h.shape);
  const int64_t e = p->sample.elements();
  if (e > kMaxSampleElements || e > max_sample_elements) {
    return FTC_LIMIT("parameter set: a sample of %lld elements exceeds the limit of %lld",
                     static_cast<long long>(e),
                     static_cast<long long>(std::min(kMaxSampleElements, max_sample_elements)));
  }
  return Status::Ok();
}

// The rest of a parameter set: frame count, band rows and the codec parameters.
Status ReadStreamFields(ByteReader* r, PacketHeader* h) {
  if (!ReadU32Varint(r, &h->frame_count) || !ReadU32Varint(r, &h->band_rows)) {
    return FTC_CORRUPT("parameter set: truncated or invalid field");
  }
  const uint64_t frames = h->shape.size() == 4 ? static_cast<uint64_t>(h->shape[0]) : 1;
  if (h->frame_count == 0 && h->shape.size() == 4) {
    return FTC_CORRUPT("parameter set: a live stream (frame count 0) of rank 4");
  }
  if (h->frame_count != frames && h->frame_count != 0) {
    return FTC_CORRUPT("parameter set: frame count %u does not match the shape", h->frame_count);
  }
  uint64_t params_size;
  const uint8_t* params;
  if (!r->Varint(&params_size)) return FTC_CORRUPT("parameter set: truncated");
  if (params_size > kMaxPacketParamsSize) {
    return FTC_CORRUPT("parameter set: codec parameters of %llu bytes",
                       static_cast<unsigned long long>(params_size));
  }
  if (!r->Skip(static_cast<size_t>(params_size), &params)) {
    return FTC_CORRUPT("parameter set: truncated codec parameters");
  }
  h->params.assign(params, params + params_size);
  uint64_t model_size;
  const uint8_t* model;
  if (!r->Varint(&model_size)) return FTC_CORRUPT("parameter set: truncated");
  if (model_size > r->remaining()) {
    return FTC_CORRUPT("parameter set: a symbol model of %llu bytes runs past the end",
                       static_cast<unsigned long long>(model_size));
  }
  (void)r->Skip(static_cast<size_t>(model_size), &model);
  h->shared_model.assign(model, model + model_size);
  if (r->remaining() != 0) {
    return FTC_CORRUPT("parameter set: %zu unexpected bytes before the checksum", r->remaining());
  }
  return Status::Ok();
}

// The sample the bands cut, as the codec defines it (p->coded), the band rows against it, and
// the band layout (Band_Total against the limit).
Status ResolveCodedSample(const PacketCodedSampleFn& coded_sample, const DecoderLimits& limits,
                          ParsedParameterSet* p) {
  const PacketHeader& h = p->header;
  const int64_t max_sample_elements = limits.max_sample_elements;
  if (!coded_sample) return FTC_INTERNAL("ParseParameterSet: no codec layer given");
  Result<SampleShape> coded = coded_sample(h, p->sample, max_sample_elements);
  if (!coded.ok()) return coded.status().WithContext("parameter set");
  p->coded = *coded;
  const bool own_sample =
      p->coded.c != p->sample.c || p->coded.h != p->sample.h || p->coded.w != p->sample.w;
  if (p->coded.c < 1 || p->coded.h < 1 || p->coded.w < 1 ||
      p->coded.elements() > max_sample_elements) {
    return FTC_LIMIT("parameter set: a coded sample of %lld elements exceeds the limit of %lld",
                     static_cast<long long>(p->coded.elements()),
                     static_cast<long long>(max_sample_elements));
  }
  if (h.band_rows != 0 && h.band_rows >= static_cast<uint64_t>(p->coded.h)) {
    return FTC_CORRUPT("parameter set: band rows %u must be 0 or below the height %lld%s",
                       h.band_rows, static_cast<long long>(p->coded.h),
                       own_sample ? " of the code" : "");
  }
  // Band_Total = C·ceil(H/R') <= C·H < 2^28 fits in 32 bits (checked above).
  p->layout = BandLayout::Of(p->coded, h.band_rows);
  if (p->layout.total > limits.max_bands) {
    return FTC_LIMIT("parameter set: %u bands per sample exceed the decoder's limit of %lld",
                     p->layout.total, static_cast<long long>(limits.max_bands));
  }
  return Status::Ok();
}

// A data packet's own fields.
Status ReadDataFields(ByteReader* r, PacketHeader* h) {
  if (!ReadU32Varint(r, &h->frame_index) || !ReadU32Varint(r, &h->packet_index) ||
      !ReadU32Varint(r, &h->packet_count)) {
    return FTC_CORRUPT("packet: truncated or invalid header field");
  }
  if (!h->live() && h->frame_index >= h->frame_count) {
    return FTC_CORRUPT("packet: frame index %u of %u", h->frame_index, h->frame_count);
  }
  if (!h->interleaved() && !ReadU32Varint(r, &h->first_band)) {
    return FTC_CORRUPT("packet: truncated header");
  }
  if (!ReadU32Varint(r, &h->band_count)) return FTC_CORRUPT("packet: truncated header");
  return Status::Ok();
}

// The packet's bands (p->bands), once its band fields and what they make a receiver allocate
// are checked.
Status ListPacketBands(const DecoderLimits& limits, size_t size, ParsedPacket* p) {
  const PacketHeader& h = p->header;
  const uint32_t bands = p->layout.total;
  if (h.packet_count < 1 || h.packet_count > bands) {
    return FTC_CORRUPT("packet: packet count %u outside 1..%u (the bands)", h.packet_count, bands);
  }
  if (h.packet_index >= h.packet_count) {
    return FTC_CORRUPT("packet: packet index %u of %u", h.packet_index, h.packet_count);
  }
  if (h.band_count < 1 || h.band_count > bands) {
    return FTC_CORRUPT("packet: band count %u outside 1..%u", h.band_count, bands);
  }
  if (h.interleaved()) {
    const uint32_t n = InterleavedBandCount(h.packet_index, h.packet_count, bands);
    if (n != h.band_count) {
      return FTC_CORRUPT("packet: band count %u, the interleaved layout gives %u", h.band_count, n);
    }
  } else if (h.first_band >= bands || h.band_count > bands - h.first_band) {
    return FTC_CORRUPT("packet: bands %u..%u beyond the %u bands", h.first_band,
                       h.first_band + h.band_count - 1, bands);
  }
  // What the packet makes a receiver allocate: its bands and (at most) band_count full bands of
  // elements, within the expansion allowance of its bytes.
  const int64_t carried = int64_t{h.band_count} * (1 + int64_t{p->layout.rows} * p->coded.w);
  if (carried > ExpansionAllowance(limits, size)) {
    return FTC_LIMIT(
        "packet: %u bands of up to %lld elements in %zu bytes exceed the decoder's expansion "
        "limit (%lld elements + %lld per byte; DecoderLimits::expansion_ratio, ftcodec "
        "--max-elements)",
        h.band_count, static_cast<long long>(int64_t{p->layout.rows} * p->coded.w), size,
        static_cast<long long>(limits.expansion_slack),
        static_cast<long long>(limits.expansion_ratio));
  }
  if (h.interleaved()) {
    p->bands = InterleavedBands(h.packet_index, h.packet_count, bands);
  } else {
    p->bands.resize(h.band_count);
    for (uint32_t i = 0; i < h.band_count; ++i) p->bands[i] = h.first_band + i;
  }
  return Status::Ok();
}

// The section table, which must end exactly at the checksum.
Status ReadPacketSections(ByteReader* r, std::vector<SectionRef>* sections) {
  uint8_t count;
  if (!r->U8(&count)) return FTC_CORRUPT("packet: truncated section count");
  if (count < 1 || count > kMaxPacketSections) {
    return FTC_CORRUPT("packet: section count %u outside 1..%d", count, kMaxPacketSections);
  }
  for (int i = 0; i < count; ++i) {
    SectionRef s;
    uint64_t length;
    if (!r->U8(&s.kind) || !r->Varint(&length)) {
      return FTC_CORRUPT("packet: truncated section %d", i);
    }
    if (length > r->remaining()) {
      return FTC_CORRUPT("packet: section %d of %llu bytes runs past the end", i,
                         static_cast<unsigned long long>(length));
    }
    s.size = static_cast<size_t>(length);
    (void)r->Skip(s.size, &s.data);
    sections->push_back(s);
  }
  if (r->remaining() != 0) {
    return FTC_CORRUPT("packet: %zu unexpected bytes before the checksum", r->remaining());
  }
  return Status::Ok();
}

PacketHead HeadOf(const uint8_t* data) {
  PacketHead h;
  h.kind = data[kPacketKindOffset];
  for (int i = 3; i >= 0; --i) h.stream_id = (h.stream_id << 8) | data[kPacketStreamIdOffset + i];
  h.set_id = data[kPacketSetIdOffset];
  return h;
}

}  // namespace

Result<PacketHead> ParsePacketHead(const uint8_t* data, size_t size) {
  FTC_RETURN_IF_ERROR(CheckPacketEnvelope(data, size));
  return HeadOf(data);
}

Result<ParsedParameterSet> ParseParameterSet(const uint8_t* data, size_t size,
                                             const DecoderLimits& limits,
                                             const PacketCodedSampleFn& coded_sample) {
  FTC_RETURN_IF_ERROR(CheckPacketEnvelope(data, size));
  const PacketHead head = HeadOf(data);
  if (head.kind != kParameterSetKind) return FTC_CORRUPT("packet: not a parameter set");
  ByteReader r(data + kPacketHeadSize, size - kPacketHeadSize - 4);
  ParsedParameterSet p;
  p.header.stream_id = head.stream_id;
  p.header.set_id = head.set_id;
  FTC_RETURN_IF_ERROR(ReadPacketTensor(&r, limits.max_sample_elements, &p));
  FTC_RETURN_IF_ERROR(ReadStreamFields(&r, &p.header));
  FTC_RETURN_IF_ERROR(ResolveCodedSample(coded_sample, limits, &p));
  return p;
}

Result<ParsedPacket> ParseDataPacket(const uint8_t* data, size_t size, const ParsedParameterSet& ps,
                                     const DecoderLimits& limits) {
  FTC_RETURN_IF_ERROR(CheckPacketEnvelope(data, size));
  const PacketHead head = HeadOf(data);
  if (head.kind != kDataPacketKind) return FTC_CORRUPT("packet: not a data packet");
  if (head.stream_id != ps.header.stream_id || head.set_id != ps.header.set_id) {
    return FTC_INTERNAL("ParseDataPacket: the parameter set of another stream");
  }
  ByteReader r(data + kPacketHeadSize, size - kPacketHeadSize - 4);
  ParsedPacket p;
  p.header = ps.header;
  p.sample = ps.sample;
  p.coded = ps.coded;
  p.layout = ps.layout;
  FTC_RETURN_IF_ERROR(ReadDataFields(&r, &p.header));
  FTC_RETURN_IF_ERROR(ListPacketBands(limits, size, &p));
  FTC_RETURN_IF_ERROR(ReadPacketSections(&r, &p.sections));
  return p;
}

void AppendPacketRecord(const uint8_t* packet, size_t size, std::vector<uint8_t>* out) {
  ByteWriter w(out);
  w.U32(static_cast<uint32_t>(size));
  w.Bytes(packet, size);
}

std::vector<PacketRecord> SplitPacketRecords(const uint8_t* data, size_t size,
                                             size_t* damaged_bytes) {
  std::vector<PacketRecord> records;
  size_t pos = 0;
  while (pos < size) {
    if (size - pos < 4) break;
    const uint32_t n =
        static_cast<uint32_t>(data[pos]) | (static_cast<uint32_t>(data[pos + 1]) << 8) |
        (static_cast<uint32_t>(data[pos + 2]) << 16) | (static_cast<uint32_t>(data[pos + 3]) << 24);
    if (n == 0 || n > kMaxPacketSize || n > size - pos - 4) break;
    records.push_back({data + pos + 4, n});
    pos += 4 + size_t{n};
  }
  *damaged_bytes = size - pos;
  return records;
}

}  // namespace ftc

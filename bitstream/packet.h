// Packets and packet stream files (docs/format.md, "Packets", ".ftcp"): writing, parsing and
// the band layout a packet covers. A stream has parameter sets (what every packet shares) and
// data packets (bands of one sample), which are parsed against their parameter set. Every parser
// checks the checksum first, then every field and limit, before the caller touches a payload.
#ifndef FTCODEC_BITSTREAM_PACKET_H_
#define FTCODEC_BITSTREAM_PACKET_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "bitstream/frame.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace ftc {

constexpr uint8_t kPacketMagic[2] = {0x89, 'P'};
// Packet versions 1 and 2 (refused as an earlier development format) began with these bytes.
constexpr uint8_t kOldPacketMagic[4] = {0x89, 'F', 'T', 'P'};
constexpr uint8_t kPacketVersion = 4;  // 3: parameter sets and data packets; 4: live streams
constexpr uint8_t kDataPacketKind = 0;
constexpr uint8_t kParameterSetKind = 1;
constexpr uint8_t kPacketFlagInterleaved = 0x01;
constexpr size_t kMaxPacketSize = 65535;
constexpr size_t kMinPacketSizeOption = 64;  // smallest --packet-size the encoder accepts
constexpr size_t kMaxPacketParamsSize = 255;
constexpr int kMaxPacketSections = 8;

// Every field a data packet needs: its own (frame, packet and band fields) and its parameter
// set's (flags, dtype, shape, codec, frame count, band rows, codec parameters).
struct PacketHeader {
  uint8_t flags = 0;
  uint32_t stream_id = 0;
  uint8_t set_id = 0;
  DType dtype = DType::kF32;
  Shape shape;
  uint8_t codec_id = 0;
  uint32_t frame_index = 0;
  uint32_t frame_count = 1;  // 0: a live stream (docs/format.md, "Live streams")
  uint32_t packet_index = 0;
  uint32_t packet_count = 1;
  uint32_t band_rows = 0;   // 0 = whole channels
  uint32_t first_band = 0;  // contiguous layout only
  uint32_t band_count = 1;
  std::vector<uint8_t> params;
  std::vector<uint8_t> shared_model;  // the parameter set's Symbol_Model (empty: none)

  bool interleaved() const { return flags & kPacketFlagInterleaved; }
  bool live() const { return frame_count == 0; }
};

// Band geometry of a sample cut into bands of `band_rows` rows (0 = whole channels).
struct BandLayout {
  SampleShape sample;
  uint32_t rows = 1;         // R' (band_rows, or H for 0)
  uint32_t per_channel = 1;  // nb = ceil(H / R')
  uint32_t total = 1;        // C · nb

  static BandLayout Of(const SampleShape& s, uint32_t band_rows);
  uint32_t channel(uint32_t band) const { return band / per_channel; }
  uint32_t first_row(uint32_t band) const { return (band % per_channel) * rows; }
  uint32_t rows_of(uint32_t band) const;
  // Offset of the band's first element in the C-order sample.
  int64_t offset(uint32_t band) const;
  int64_t elements(uint32_t band) const { return int64_t{rows_of(band)} * sample.w; }
};

// The interleave stride S for P packets (docs/format.md).
uint32_t InterleaveStride(uint32_t packet_count);
// The packet (0..P-1) that band i goes to in the interleaved layout.
uint32_t InterleaveSlot(uint32_t band, uint32_t packet_count, uint32_t stride);
// Bands of packet k of P in the interleaved layout, increasing (band_total bands in all).
std::vector<uint32_t> InterleavedBands(uint32_t k, uint32_t packet_count, uint32_t band_total);
// How many bands InterleavedBands(k, packet_count, band_total) returns, without listing them.
uint32_t InterleavedBandCount(uint32_t k, uint32_t packet_count, uint32_t band_total);

struct ParsedPacket {
  PacketHeader header;
  SampleShape sample;  // the sample of header.shape (the original tensor)
  // The sample the bands cut, as the packet's codec defines it: `sample` itself, or for a
  // learned packet its code C'×H'×W' (docs/format.md, "Learned packets").
  SampleShape coded;
  BandLayout layout;                 // bands of `coded`
  std::vector<uint32_t> bands;       // the packet's bands, increasing
  std::vector<SectionRef> sections;  // point into the parsed bytes
};

// Appends a data packet (no size limit is checked here).
void WritePacket(const PacketHeader& header, const std::vector<Section>& sections,
                 std::vector<uint8_t>* out);
// Appends the parameter set of `header`'s stream (its stream-wide fields).
void WriteParameterSet(const PacketHeader& header, std::vector<uint8_t>* out);

// What every packet starts with, once its size, magic number, version and checksum are checked.
struct PacketHead {
  uint8_t kind = kDataPacketKind;
  uint32_t stream_id = 0;
  uint8_t set_id = 0;
};
Result<PacketHead> ParsePacketHead(const uint8_t* data, size_t size);

// A parsed parameter set: the stream-wide fields (header.frame_index etc. are 0).
struct ParsedParameterSet {
  PacketHeader header;
  SampleShape sample;  // of header.shape
  SampleShape coded;   // what the bands cut (a learned stream: the code)
  BandLayout layout;   // bands of `coded`
};

// What the packet's codec says about it, once the header and Codec_Params are read: the sample
// its bands cut (`sample` for most codecs), kUnsupported if the codec does not packetize, or
// kCorruptData for parameters the codec rejects. The container knows no codec: the codec layer
// supplies this (ParseCodecPacket, codec/packet/packet_parse.h). The returned sample must not
// exceed `max_sample_elements`; ParsePacket checks that too.
using PacketCodedSampleFn = std::function<Result<SampleShape>(
    const PacketHeader& header, const SampleShape& sample, int64_t max_sample_elements)>;

// Parses and checks a whole parameter set (`size` is its length). It checks the sample (and the
// coded sample) against limits.max_sample_elements and Band_Total against limits.max_bands.
Result<ParsedParameterSet> ParseParameterSet(const uint8_t* data, size_t size,
                                             const DecoderLimits& limits,
                                             const PacketCodedSampleFn& coded_sample);

// Parses and checks one whole data packet of the stream whose parameter set is `ps` (the
// caller matched Stream_Id and Set_Id); section payloads are not interpreted. Before it lists
// the bands it checks the packet's bands plus elements against its expansion allowance
// (docs/format.md, "Decoder limits").
Result<ParsedPacket> ParseDataPacket(const uint8_t* data, size_t size, const ParsedParameterSet& ps,
                                     const DecoderLimits& limits);

// Whether the bytes start with a packet's magic number (this version's, or an earlier one's).
bool HasPacketMagic(const uint8_t* data, size_t size);

// Rewrites the Stream_Id of a whole packet (either kind) and recomputes its checksum.
void SetPacketStreamId(uint32_t stream_id, std::vector<uint8_t>* packet);
// Offsets of the fields every packet starts with.
constexpr size_t kPacketKindOffset = 3;
constexpr size_t kPacketStreamIdOffset = 4;
constexpr size_t kPacketSetIdOffset = 8;
constexpr size_t kPacketHeadSize = 9;

// .ftcp framing: appends [u32 length][packet].
void AppendPacketRecord(const uint8_t* packet, size_t size, std::vector<uint8_t>* out);
struct PacketRecord {
  const uint8_t* data;
  size_t size;
};
// Splits a .ftcp byte string into records; stops at a broken record and reports the bytes left
// in *damaged_bytes.
std::vector<PacketRecord> SplitPacketRecords(const uint8_t* data, size_t size,
                                             size_t* damaged_bytes);

}  // namespace ftc

#endif  // FTCODEC_BITSTREAM_PACKET_H_

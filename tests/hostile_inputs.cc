#include "tests/hostile_inputs.h"

#include <stdexcept>

#include "base/byte_io.h"
#include "bitstream/packet.h"
#include "bitstream/symbol_coder.h"
#include "codec/ans/ans_common.h"
#include "ftcodec/packet.h"

namespace ftc::test {

std::vector<uint8_t> ConstantSymbolSegment() {
  // One lane (a data packet's segment): a constant never moves the state, so these bytes code
  // any number of zeros.
  const uint16_t zero = 0;
  SymbolSegmentOptions one_lane;
  one_lane.lanes = 1;
  std::vector<uint8_t> out;
  if (!EncodeSymbolSegment(&zero, {BandShape{1, 1}}, 1, &out, nullptr, one_lane).ok()) {
    throw std::runtime_error("cannot encode a constant segment");
  }
  return out;
}

std::vector<uint8_t> AnsZerosStream(const Shape& shape, uint32_t band_rows, bool interleaved,
                                    uint32_t packet_count, uint32_t band_count) {
  PacketHeader h;
  h.flags = interleaved ? kPacketFlagInterleaved : 0;
  h.stream_id = 0x0badf00d;
  h.dtype = DType::kF32;
  h.shape = shape;
  h.codec_id = 1;  // ans
  h.frame_count = shape.size() == 4 ? static_cast<uint32_t>(shape[0]) : 1;
  h.packet_count = packet_count;
  h.band_rows = band_rows;
  h.band_count = band_count;
  ans::AnsParams p;
  p.bits = 1;
  p.band_rows = band_rows;
  ans::WriteParams(p, &h.params);
  Section ranges{ans::kRangesSection, {}};
  ByteWriter rw(&ranges.payload);
  rw.F32(0.0f);
  rw.F32(1.0f);
  Section symbols{ans::kSymbolsSection, ConstantSymbolSegment()};
  std::vector<uint8_t> parameter_set, packet;
  WriteParameterSet(h, &parameter_set);
  WritePacket(h, {ranges, symbols}, &packet);
  return WritePacketStream({parameter_set, packet}).value();
}

HostileInput HugeSampleStream() {
  return {"huge_sample.ftcp", "one packet: a sample of 2^28 elements (1x16384x16384, one band)",
          AnsZerosStream({16384, 16384}, 0, false, 1, 1)};
}

HostileInput HugeBandCountStream() {
  return {"huge_band_count.ftcp", "one packet: 2^28 one-element bands (2^28x1x1)",
          AnsZerosStream({int64_t{1} << 28, 1, 1}, 0, false, 1, uint32_t{1} << 28)};
}

HostileInput InterleavedHugeBandCountStream() {
  return {"interleaved_huge_band_count.ftcp",
          "one interleaved packet (Packet_Count 1) of 2^28 one-element bands",
          AnsZerosStream({int64_t{1} << 28, 1, 1}, 0, true, 1, uint32_t{1} << 28)};
}

HostileInput HugeFrameCountStream() {
  return {"huge_frame_count.ftcp", "one packet of a tensor of 2^28 one-element samples",
          AnsZerosStream({int64_t{1} << 28, 1, 1, 1}, 0, false, 1, 1)};
}

HostileInput CaltecWorkStream() {
  // 2^14 channels of 4 one-row bands: 2^16 bands; packet 0 of 4 (interleaved)
  // carries 2^14.
  const uint32_t total = uint32_t{1} << 16, p = 4;
  const uint32_t carried = static_cast<uint32_t>(InterleavedBands(0, p, total).size());
  return {"caltec_work.ftcp",
          "packet 1 of 4 of a 16384x4x16 tensor: caltec would scan 1,024 "
          "channels per lost band",
          AnsZerosStream({16384, 4, 16}, 1, true, p, carried)};
}

HostileInput CaltecBombStream() {
  // 2^20 channels of 4 one-row bands (2^26 elements); packet 0 of 4 carries a
  // quarter.
  const uint32_t total = uint32_t{1} << 22, p = 4;
  const uint32_t carried = static_cast<uint32_t>(InterleavedBands(0, p, total).size());
  return {"caltec_bomb.ftcp",
          "packet 1 of 4 of a 2^20x4x16 tensor (2^26 elements): caltec over "
          "3x2^20 lost bands",
          AnsZerosStream({int64_t{1} << 20, 4, 16}, 1, true, p, carried)};
}

std::vector<HostileInput> AllHostileInputs() {
  return {HugeSampleStream(),     HugeBandCountStream(), InterleavedHugeBandCountStream(),
          HugeFrameCountStream(), CaltecBombStream(),    CaltecWorkStream()};
}

}  // namespace ftc::test

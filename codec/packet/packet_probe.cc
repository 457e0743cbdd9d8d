// ProbePackets: header-level description of packets, for `ftcodec info`.
#include "bitstream/packet.h"
#include "codec/core/codec.h"
#include "ftcodec/packet.h"

namespace ftc {

std::vector<PacketInfo> ProbePackets(const std::vector<Bytes>& packets) {
  std::vector<PacketInfo> out;
  out.reserve(packets.size());
  for (const Bytes& b : packets) {
    PacketInfo info;
    info.size = b.size();
    Result<ParsedPacket> p = ParsePacket(b.data(), b.size(), int64_t{1} << 28);
    if (!p.ok()) {
      info.error = p.status().message();
      out.push_back(std::move(info));
      continue;
    }
    const PacketHeader& h = p->header;
    info.valid = true;
    info.stream_id = h.stream_id;
    const char* name = KnownCodecNameForId(h.codec_id);
    info.codec = name ? name : "unknown";
    info.dtype = h.dtype;
    info.shape = h.shape;
    info.frame_index = h.frame_index;
    info.frame_count = h.frame_count;
    info.packet_index = h.packet_index;
    info.packet_count = h.packet_count;
    info.band_rows = h.band_rows;
    info.bands = static_cast<uint32_t>(p->bands.size());
    info.interleaved = h.interleaved();
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace ftc

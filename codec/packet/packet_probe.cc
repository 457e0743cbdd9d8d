// ProbePackets: header-level description of packets, for `ftcodec info`.
#include "bitstream/packet.h"
#include "codec/core/codec.h"
#include "codec/learned/learned_params.h"
#include "ftcodec/packet.h"

namespace ftc {

std::vector<PacketInfo> ProbePackets(const std::vector<Bytes>& packets) {
  return ProbePackets(packets, DecoderLimits());
}

std::vector<PacketInfo> ProbePackets(const std::vector<Bytes>& packets,
                                     const DecoderLimits& limits) {
  std::vector<PacketInfo> out;
  out.reserve(packets.size());
  for (const Bytes& b : packets) {
    PacketInfo info;
    info.size = b.size();
    Result<ParsedPacket> p = limits.Validate().ok() ? ParsePacket(b.data(), b.size(), limits)
                                                    : Result<ParsedPacket>(limits.Validate());
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
    if (h.codec_id == learned::kCodecId) {
      // ParsePacket checked the parameters.
      Result<learned::LearnedParams> lp =
          learned::ParseLearnedParams(h.params.data(), h.params.size());
      if (lp.ok()) {
        info.unit = UnitHashHex(lp->unit_hash);
        info.inner = learned::InnerCodecName(lp->inner_id);
        info.code_shape = {lp->code.c, lp->code.h, lp->code.w};
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace ftc

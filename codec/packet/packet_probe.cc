// ProbePackets: header-level description of packets, for `ftcodec info`.
#include <map>

#include "base/status_macros.h"
#include "bitstream/decoder_limits.h"
#include "bitstream/packet.h"
#include "codec/core/codec.h"
#include "codec/packet/packet_parse.h"
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
    Result<ParsedPacket> p = limits.Validate().ok() ? ParseCodecPacket(b.data(), b.size(), limits)
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
    if (const CodecDecoder* codec = FindDecoderFormatById(h.codec_id);
        codec != nullptr && codec->describe_packet != nullptr) {
      codec->describe_packet(h, &info);
    }
    out.push_back(std::move(info));
  }
  return out;
}

Status CheckPacketStreamLimits(const std::vector<PacketInfo>& infos, const DecoderLimits& limits) {
  FTC_RETURN_IF_ERROR(limits.Validate());
  // The stream most valid packets agree on, as a decoder picks it.
  std::map<uint32_t, size_t> votes;
  for (const PacketInfo& p : infos) votes[p.stream_id] += p.valid ? 1 : 0;
  uint32_t leader = 0;
  size_t most = 0;
  for (const auto& [id, n] : votes) {
    if (n > most) leader = id, most = n;
  }
  if (most == 0) return Status::Ok();
  uint64_t bytes = 0;
  const PacketInfo* first = nullptr;
  for (const PacketInfo& p : infos) {
    if (!p.valid || p.stream_id != leader) continue;
    bytes += p.size;
    if (!first) first = &p;
  }
  // Header fields are checked by ParsePacket (each dimension and the sample fit the limits), so
  // these products stay far below 2^63.
  int64_t elements = 1;
  if (!first->code_shape.empty()) {
    elements = first->frame_count;
    for (int64_t d : first->code_shape) elements *= d;
  } else {
    for (int64_t d : first->shape) elements *= d;
  }
  if (elements > ExpansionAllowance(limits, bytes)) {
    return FTC_LIMIT(
        "stream %08x: a tensor of %lld elements is more than the %llu bytes of its %zu valid "
        "packets can describe (the decoder's expansion limit: %lld + %lld per byte; "
        "DecoderLimits::expansion_ratio, ftcodec --max-elements)",
        leader, static_cast<long long>(elements), static_cast<unsigned long long>(bytes), most,
        static_cast<long long>(limits.expansion_slack),
        static_cast<long long>(limits.expansion_ratio));
  }
  return CheckOutputSize(limits, elements, first->code_shape.empty() ? DTypeSize(first->dtype) : 4,
                         "the tensor");
}

}  // namespace ftc

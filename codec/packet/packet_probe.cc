// ProbePackets: header-level description of packets, for `ftcodec info`.
#include <map>
#include <utility>

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

namespace {

void DescribeStream(const PacketHeader& h, PacketInfo* info) {
  info->valid = true;
  info->stream_id = h.stream_id;
  info->set_id = h.set_id;
  const char* name = KnownCodecNameForId(h.codec_id);
  info->codec = name ? name : "unknown";
  info->dtype = h.dtype;
  info->shape = h.shape;
  info->frame_count = h.frame_count;
  info->band_rows = h.band_rows;
  info->interleaved = h.interleaved();
  if (const CodecDecoder* codec = FindDecoderFormatById(h.codec_id);
      codec != nullptr && codec->describe_packet != nullptr) {
    codec->describe_packet(h, info);
  }
}

}  // namespace

std::vector<PacketInfo> ProbePackets(const std::vector<Bytes>& packets,
                                     const DecoderLimits& limits) {
  std::vector<PacketInfo> out;
  out.reserve(packets.size());
  const Status limits_ok = limits.Validate();
  // The first valid parameter set of each stream and set.
  std::map<std::pair<uint32_t, uint8_t>, ParsedParameterSet> sets;
  if (limits_ok.ok()) {
    for (const Bytes& b : packets) {
      Result<PacketHead> head = ParsePacketHead(b.data(), b.size());
      if (!head.ok() || head->kind != kParameterSetKind) continue;
      if (sets.count({head->stream_id, head->set_id})) continue;
      Result<ParsedParameterSet> ps = ParseCodecParameterSet(b.data(), b.size(), limits);
      if (ps.ok()) sets.emplace(std::make_pair(head->stream_id, head->set_id), std::move(*ps));
    }
  }
  for (const Bytes& b : packets) {
    PacketInfo info;
    info.size = b.size();
    Result<PacketHead> head =
        limits_ok.ok() ? ParsePacketHead(b.data(), b.size()) : Result<PacketHead>(limits_ok);
    if (!head.ok()) {
      info.error = head.status().message();
      out.push_back(std::move(info));
      continue;
    }
    if (head->kind == kParameterSetKind) {
      Result<ParsedParameterSet> ps = ParseCodecParameterSet(b.data(), b.size(), limits);
      if (!ps.ok()) {
        info.error = ps.status().message();
      } else {
        info.parameter_set = true;
        DescribeStream(ps->header, &info);
      }
      out.push_back(std::move(info));
      continue;
    }
    auto set = sets.find({head->stream_id, head->set_id});
    if (set == sets.end()) {
      info.stream_id = head->stream_id;
      info.set_id = head->set_id;
      info.error =
          StrFormat("no parameter set of stream %08x (set %u)", head->stream_id, head->set_id);
      out.push_back(std::move(info));
      continue;
    }
    Result<ParsedPacket> p = ParseDataPacket(b.data(), b.size(), set->second, limits);
    if (!p.ok()) {
      info.error = p.status().message();
      out.push_back(std::move(info));
      continue;
    }
    const PacketHeader& h = p->header;
    DescribeStream(h, &info);
    info.frame_index = h.frame_index;
    info.packet_index = h.packet_index;
    info.packet_count = h.packet_count;
    info.bands = static_cast<uint32_t>(p->bands.size());
    out.push_back(std::move(info));
  }
  return out;
}

Status CheckPacketStreamLimits(const std::vector<PacketInfo>& infos, const DecoderLimits& limits) {
  FTC_RETURN_IF_ERROR(limits.Validate());
  // The stream most valid packets agree on, as a decoder picks it.
  std::map<uint32_t, size_t> votes;
  for (const PacketInfo& p : infos) votes[p.stream_id] += p.valid && !p.parameter_set ? 1 : 0;
  uint32_t leader = 0;
  size_t most = 0;
  for (const auto& [id, n] : votes) {
    if (n > most) leader = id, most = n;
  }
  if (most == 0) return Status::Ok();
  uint64_t bytes = 0;
  const PacketInfo* first = nullptr;
  for (const PacketInfo& p : infos) {
    if (!p.valid || p.parameter_set || p.stream_id != leader) continue;
    bytes += p.size;
    if (!first) first = &p;
  }
  // Header fields are checked by ParseParameterSet (each dimension and the sample fit the limits),
  // so these products stay far below 2^63.
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

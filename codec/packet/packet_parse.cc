#include "codec/packet/packet_parse.h"

#include <algorithm>
#include <cstring>

#include "base/status_macros.h"
#include "bitstream/decoder_limits.h"
#include "codec/core/codec.h"
#include "ftcodec/packet.h"

namespace ftc {

bool IsParameterSetPacket(const uint8_t* data, size_t size) {
  return size > kPacketKindOffset && std::memcmp(data, kPacketMagic, 2) == 0 &&
         data[2] == kPacketVersion && data[kPacketKindOffset] == kParameterSetKind;
}

Result<ParsedParameterSet> ParseCodecParameterSet(const uint8_t* data, size_t size,
                                                  const DecoderLimits& limits) {
  return ParseParameterSet(data, size, limits,
                           [](const PacketHeader& h, const SampleShape& sample,
                              int64_t max_sample_elements) -> Result<SampleShape> {
                             const CodecDecoder* codec = FindDecoderFormatById(h.codec_id);
                             if (codec == nullptr || codec->packet_sample == nullptr) {
                               return FTC_UNSUPPORTED("codec id %u cannot be packetized",
                                                      h.codec_id);
                             }
                             return codec->packet_sample(h, sample, max_sample_elements);
                           });
}

Result<ParsedPacket> ParseCodecPacket(const uint8_t* data, size_t size,
                                      const std::vector<Bytes>& stream,
                                      const DecoderLimits& limits) {
  FTC_ASSIGN_OR_RETURN(PacketHead head, ParsePacketHead(data, size));
  if (head.kind != kDataPacketKind) return FTC_CORRUPT("packet: not a data packet");
  for (const Bytes& b : stream) {
    Result<PacketHead> h = ParsePacketHead(b.data(), b.size());
    if (!h.ok() || h->kind != kParameterSetKind || h->stream_id != head.stream_id ||
        h->set_id != head.set_id) {
      continue;
    }
    Result<ParsedParameterSet> ps = ParseCodecParameterSet(b.data(), b.size(), limits);
    if (!ps.ok()) continue;
    return ParseDataPacket(data, size, *ps, limits);
  }
  return FTC_CORRUPT("packet: no parameter set of stream %08x (set %u)", head.stream_id,
                     head.set_id);
}

Result<ParsedPacket> ParseCodecPacket(const uint8_t* data, size_t size,
                                      const std::vector<Bytes>& stream,
                                      int64_t max_sample_elements) {
  DecoderLimits limits;
  limits.max_sample_elements = std::clamp<int64_t>(max_sample_elements, 1, kMaxSampleElements);
  return ParseCodecPacket(data, size, stream, limits);
}

}  // namespace ftc

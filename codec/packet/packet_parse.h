// Parsing a packet with the codec layer's knowledge: bitstream/packet.h parses the container and
// asks the packet's codec (Codec::packet_sample) which sample its bands cut, or whether it
// packetizes at all.
#ifndef FTCODEC_CODEC_PACKET_PACKET_PARSE_H_
#define FTCODEC_CODEC_PACKET_PACKET_PARSE_H_

#include <cstddef>
#include <cstdint>

#include "bitstream/packet.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/status.h"

namespace ftc {

// ParsePacket with every codec this build defines; a codec id without packet mode (jpeg, hevc,
// unknown ids) is kUnsupported ("codec id 3 cannot be packetized").
Result<ParsedPacket> ParseCodecPacket(const uint8_t* data, size_t size,
                                      const DecoderLimits& limits);
// As above with the default limits, except max_sample_elements (clamped to the format's).
Result<ParsedPacket> ParseCodecPacket(const uint8_t* data, size_t size,
                                      int64_t max_sample_elements);

}  // namespace ftc

#endif  // FTCODEC_CODEC_PACKET_PACKET_PARSE_H_

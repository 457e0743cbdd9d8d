// Parsing packets with the codec layer's knowledge: bitstream/packet.h parses the container and
// asks the stream's codec (Codec::packet_sample) which sample its bands cut, or whether it
// packetizes at all.
#ifndef FTCODEC_CODEC_PACKET_PACKET_PARSE_H_
#define FTCODEC_CODEC_PACKET_PACKET_PARSE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bitstream/packet.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/status.h"

namespace ftc {

// ParseParameterSet with every codec this build defines; a codec id without packet mode (jpeg,
// hevc, unknown ids) is kUnsupported ("codec id 3 cannot be packetized").
Result<ParsedParameterSet> ParseCodecParameterSet(const uint8_t* data, size_t size,
                                                  const DecoderLimits& limits);

// A data packet, parsed against the first parameter set of its stream and Set_Id among
// `stream` (packets of either kind, in any order; invalid ones are skipped): kCorruptData
// "no parameter set" if there is none. A parameter set itself is refused ("not a data packet").
// For tests and tools that look at single packets; a receiver keeps its parameter sets.
Result<ParsedPacket> ParseCodecPacket(const uint8_t* data, size_t size,
                                      const std::vector<Bytes>& stream,
                                      const DecoderLimits& limits);
// As above with the default limits, except max_sample_elements (clamped to the format's).
Result<ParsedPacket> ParseCodecPacket(const uint8_t* data, size_t size,
                                      const std::vector<Bytes>& stream,
                                      int64_t max_sample_elements);

}  // namespace ftc

#endif  // FTCODEC_CODEC_PACKET_PACKET_PARSE_H_

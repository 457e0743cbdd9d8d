#include "codec/packet/packet_parse.h"

#include <algorithm>

#include "base/status_macros.h"
#include "bitstream/decoder_limits.h"
#include "codec/core/codec.h"

namespace ftc {

Result<ParsedPacket> ParseCodecPacket(const uint8_t* data, size_t size,
                                      const DecoderLimits& limits) {
  return ParsePacket(data, size, limits,
                     [](const PacketHeader& h, const SampleShape& sample,
                        int64_t max_sample_elements) -> Result<SampleShape> {
                       const CodecDecoder* codec = FindDecoderFormatById(h.codec_id);
                       if (codec == nullptr || codec->packet_sample == nullptr) {
                         return FTC_UNSUPPORTED("codec id %u cannot be packetized", h.codec_id);
                       }
                       return codec->packet_sample(h, sample, max_sample_elements);
                     });
}

Result<ParsedPacket> ParseCodecPacket(const uint8_t* data, size_t size,
                                      int64_t max_sample_elements) {
  DecoderLimits limits;
  limits.max_sample_elements = std::clamp<int64_t>(max_sample_elements, 1, kMaxSampleElements);
  return ParseCodecPacket(data, size, limits);
}

}  // namespace ftc

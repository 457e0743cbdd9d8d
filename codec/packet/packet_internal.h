// Internals of packet mode shared by the packetizer (enc_packetize.cc) and the receiver
// (dec_packet_decoder.cc).
#ifndef FTCODEC_CODEC_PACKET_PACKET_INTERNAL_H_
#define FTCODEC_CODEC_PACKET_PACKET_INTERNAL_H_

#include <cstdint>
#include <vector>

#include "bitstream/packet.h"

namespace ftc {

// The channels that `bands` (increasing) touch, increasing and without repeats: the channels
// whose ranges a per-channel ans packet carries.
std::vector<uint32_t> ChannelsOfBands(const BandLayout& layout, const std::vector<uint32_t>& bands);

}  // namespace ftc

#endif  // FTCODEC_CODEC_PACKET_PACKET_INTERNAL_H_

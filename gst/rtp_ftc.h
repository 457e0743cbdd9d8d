// RTP packets carrying ftcodec packets (docs/rtp.md), without GStreamer: parsing an RTP packet
// (RFC 3550, section 5.1) and the cheap check a depayloader makes of its payload before the
// packet decoder sees it. What rtpftcdepay uses, and what the fuzz target rtp_depay_fuzz drives.
#ifndef FTCODEC_GST_RTP_FTC_H_
#define FTCODEC_GST_RTP_FTC_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ftcodec/status.h"

namespace ftc::rtp {

constexpr int kClockRate = 90000;         // RTP timestamp units per second
constexpr int kDefaultPayloadType = 96;   // dynamic
constexpr size_t kMinFtcPayload = 12;     // the smallest ftcodec packet
constexpr size_t kMaxFtcPayload = 65535;  // the largest ftcodec packet
constexpr uint8_t kFtcPacketVersion = 4;  // the packet format version carried

struct RtpPacket {
  uint8_t payload_type = 0;
  bool marker = false;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  uint8_t csrc_count = 0;
  bool extension = false;
  const uint8_t* payload = nullptr;  // into the parsed bytes
  size_t payload_size = 0;
};

// Parses an RTP packet: version 2, the fixed header, CSRC list, header extension and padding.
// kCorruptData naming the problem ("rtp: version 1, not 2", "rtp: padding of 40 bytes exceeds
// the payload") otherwise. The payload may be empty.
Result<RtpPacket> ParseRtpPacket(const uint8_t* data, size_t size);

// The depayloader's check of an RTP payload: one ftcodec packet of format version 4 (magic
// \x89P, version byte 4, 12 to 65535 bytes). Only the header bytes are looked at; the decoder
// checks the rest (checksum, fields). kCorruptData naming the problem otherwise.
Status CheckFtcPayload(const uint8_t* data, size_t size);

// Writes an RTP packet (version 2, no padding, CSRC or extension) around `payload`: for tests,
// fuzz seeds and tools.
std::vector<uint8_t> WriteRtpPacket(uint8_t payload_type, bool marker, uint16_t sequence,
                                    uint32_t timestamp, uint32_t ssrc, const uint8_t* payload,
                                    size_t payload_size);

}  // namespace ftc::rtp

#endif  // FTCODEC_GST_RTP_FTC_H_

#include "gst/rtp_ftc.h"

#include <string>

namespace ftc::rtp {
namespace {

Status Corrupt(const std::string& what) { return Status(StatusCode::kCorruptData, "rtp: " + what); }

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t Be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

Result<RtpPacket> ParseRtpPacket(const uint8_t* data, size_t size) {
  if (data == nullptr || size < 12) {
    return Corrupt("packet of " + std::to_string(size) +
                   " bytes is shorter than the 12-byte header");
  }
  const int version = data[0] >> 6;
  if (version != 2) return Corrupt("version " + std::to_string(version) + ", not 2");
  RtpPacket p;
  const bool padding = (data[0] & 0x20) != 0;
  p.extension = (data[0] & 0x10) != 0;
  p.csrc_count = data[0] & 0x0f;
  p.marker = (data[1] & 0x80) != 0;
  p.payload_type = data[1] & 0x7f;
  p.sequence = Be16(data + 2);
  p.timestamp = Be32(data + 4);
  p.ssrc = Be32(data + 8);
  size_t offset = 12 + 4 * size_t{p.csrc_count};
  if (offset > size) {
    return Corrupt(std::to_string(p.csrc_count) + " CSRCs run past the packet's " +
                   std::to_string(size) + " bytes");
  }
  if (p.extension) {
    if (offset + 4 > size) return Corrupt("header extension runs past the packet");
    const size_t words = Be16(data + offset + 2);
    offset += 4 + 4 * words;
    if (offset > size) {
      return Corrupt("header extension of " + std::to_string(words) +
                     " words runs past the packet's " + std::to_string(size) + " bytes");
    }
  }
  size_t end = size;
  if (padding) {
    const size_t pad = data[size - 1];
    if (pad == 0) return Corrupt("padding flag set with a padding count of 0");
    if (pad > size - offset) {
      return Corrupt("padding of " + std::to_string(pad) + " bytes exceeds the " +
                     std::to_string(size - offset) + " bytes after the header");
    }
    end -= pad;
  }
  p.payload = data + offset;
  p.payload_size = end - offset;
  return p;
}

Status CheckFtcPayload(const uint8_t* data, size_t size) {
  if (data == nullptr || size < kMinFtcPayload) {
    return Corrupt("payload of " + std::to_string(size) +
                   " bytes is shorter than an ftcodec packet (12)");
  }
  if (size > kMaxFtcPayload) {
    return Corrupt("payload of " + std::to_string(size) + " bytes exceeds 65535");
  }
  if (data[0] != 0x89 || data[1] != 'P') return Corrupt("payload is not an ftcodec packet");
  if (data[2] != kFtcPacketVersion) {
    return Corrupt("ftcodec packet format version " + std::to_string(data[2]) + ", not 4");
  }
  return Status::Ok();
}

std::vector<uint8_t> WriteRtpPacket(uint8_t payload_type, bool marker, uint16_t sequence,
                                    uint32_t timestamp, uint32_t ssrc, const uint8_t* payload,
                                    size_t payload_size) {
  std::vector<uint8_t> out(12 + payload_size);
  out[0] = 0x80;
  out[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | (payload_type & 0x7f));
  out[2] = static_cast<uint8_t>(sequence >> 8);
  out[3] = static_cast<uint8_t>(sequence);
  for (int i = 0; i < 4; ++i) {
    out[4 + i] = static_cast<uint8_t>(timestamp >> (24 - 8 * i));
    out[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  }
  for (size_t i = 0; i < payload_size; ++i) out[12 + i] = payload[i];
  return out;
}

}  // namespace ftc::rtp

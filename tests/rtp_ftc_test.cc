// The GStreamer-free part of the RTP depayloader (gst/rtp_ftc.h): RFC 3550 parsing and the
// payload check.
#include "gst/rtp_ftc.h"

#include <gtest/gtest.h>

#include <vector>

namespace ftc::rtp {
namespace {

std::vector<uint8_t> FtcPayload(size_t size) {
  std::vector<uint8_t> p(size, 0xab);
  p[0] = 0x89;
  p[1] = 'P';
  p[2] = 4;
  return p;
}

TEST(RtpFtc, ParsesTheFixedHeader) {
  const std::vector<uint8_t> payload = FtcPayload(20);
  const std::vector<uint8_t> b =
      WriteRtpPacket(96, true, 0xbeef, 0x01020304, 0xcafef00d, payload.data(), payload.size());
  Result<RtpPacket> p = ParseRtpPacket(b.data(), b.size());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->payload_type, 96);
  EXPECT_TRUE(p->marker);
  EXPECT_EQ(p->sequence, 0xbeef);
  EXPECT_EQ(p->timestamp, 0x01020304u);
  EXPECT_EQ(p->ssrc, 0xcafef00du);
  EXPECT_EQ(p->payload, b.data() + 12);
  EXPECT_EQ(p->payload_size, 20u);
  EXPECT_TRUE(CheckFtcPayload(p->payload, p->payload_size).ok());
}

TEST(RtpFtc, SkipsCsrcsAndTheHeaderExtensionAndStripsPadding) {
  const std::vector<uint8_t> payload = FtcPayload(16);
  std::vector<uint8_t> b = WriteRtpPacket(100, false, 1, 2, 3, nullptr, 0);
  b[0] = 0x80 | 0x20 | 0x10 | 2;                            // padding, extension, 2 CSRCs
  b.insert(b.end(), 8, 0x11);                               // CSRCs
  b.insert(b.end(), {0xbe, 0xde, 0x00, 0x01, 1, 2, 3, 4});  // extension of one word
  b.insert(b.end(), payload.begin(), payload.end());
  b.insert(b.end(), {0, 0, 3});  // 3 bytes of padding
  Result<RtpPacket> p = ParseRtpPacket(b.data(), b.size());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->csrc_count, 2);
  EXPECT_TRUE(p->extension);
  EXPECT_EQ(p->payload, b.data() + 12 + 8 + 8);
  EXPECT_EQ(p->payload_size, 16u);
}

TEST(RtpFtc, NamesWhatIsWrongWithABrokenPacket) {
  const std::vector<uint8_t> payload = FtcPayload(16);
  const std::vector<uint8_t> good = WriteRtpPacket(96, false, 1, 2, 3, payload.data(), 16);
  const auto error = [](std::vector<uint8_t> b) {
    Result<RtpPacket> p = ParseRtpPacket(b.data(), b.size());
    return p.ok() ? std::string("ok") : p.status().message();
  };
  EXPECT_EQ(error(std::vector<uint8_t>(good.begin(), good.begin() + 11)),
            "rtp: packet of 11 bytes is shorter than the 12-byte header");
  std::vector<uint8_t> b = good;
  b[0] = 0x40;
  EXPECT_EQ(error(b), "rtp: version 1, not 2");
  b = good;
  b[0] = 0x8f;  // 15 CSRCs: 60 bytes
  EXPECT_EQ(error(b), "rtp: 15 CSRCs run past the packet's 28 bytes");
  b = good;
  b[0] = 0x90;  // the payload's bytes 2 and 3 (4, 0xab) read as the extension's length
  EXPECT_EQ(error(b), "rtp: header extension of 1195 words runs past the packet's 28 bytes");
  b = good;
  b[0] = 0xa0;
  b.back() = 17;
  EXPECT_EQ(error(b), "rtp: padding of 17 bytes exceeds the 16 bytes after the header");
  b.back() = 0;
  EXPECT_EQ(error(b), "rtp: padding flag set with a padding count of 0");
  EXPECT_EQ(ParseRtpPacket(nullptr, 0).status().code(), StatusCode::kCorruptData);
}

TEST(RtpFtc, PayloadCheckWantsAVersion4PacketOf12To65535Bytes) {
  EXPECT_TRUE(CheckFtcPayload(FtcPayload(12).data(), 12).ok());
  EXPECT_TRUE(CheckFtcPayload(FtcPayload(65535).data(), 65535).ok());
  EXPECT_EQ(CheckFtcPayload(FtcPayload(11).data(), 11).message(),
            "rtp: payload of 11 bytes is shorter than an ftcodec packet (12)");
  EXPECT_EQ(CheckFtcPayload(FtcPayload(65536).data(), 65536).message(),
            "rtp: payload of 65536 bytes exceeds 65535");
  std::vector<uint8_t> p = FtcPayload(30);
  p[1] = 'Q';
  EXPECT_EQ(CheckFtcPayload(p.data(), p.size()).message(), "rtp: payload is not an ftcodec packet");
  p = FtcPayload(30);
  p[2] = 3;
  EXPECT_EQ(CheckFtcPayload(p.data(), p.size()).message(),
            "rtp: ftcodec packet format version 3, not 4");
}

}  // namespace
}  // namespace ftc::rtp

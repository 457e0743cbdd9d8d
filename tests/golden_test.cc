// Golden bitstreams (data/golden/MANIFEST): encoding each source reproduces its .ftc byte for
// byte, and decoding the .ftc reproduces the expected .npy byte for byte. A failure here means
// the format or a codec's output changed: that must be a deliberate, logged version bump.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "ftcodec/sample_stream.h"
#include "tests/test_util.h"

namespace ftc {
namespace {

struct GoldenCase {
  std::string name, source, flags;
};

std::vector<GoldenCase> LoadManifest() {
  std::ifstream in(test::SourcePath("data/golden/MANIFEST"));
  std::vector<GoldenCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    GoldenCase c;
    ss >> c.name >> c.source;
    std::getline(ss, c.flags);
    cases.push_back(c);
  }
  return cases;
}

int RunCli(const std::string& args) {
  const int rc = std::system((std::string(FTC_CLI_PATH) + " " + args + " 2>/dev/null").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(GoldenTest, ManifestIsNotEmpty) { EXPECT_GE(LoadManifest().size(), 6u); }

TEST(GoldenTest, EncodeReproducesAndDecodeMatches) {
  const std::string dir = test::MakeTempDir();
  const std::string golden = test::SourcePath("data/golden/");
  for (const GoldenCase& c : LoadManifest()) {
    SCOPED_TRACE(c.name);
    bool built = false;  // lines of codecs left out of this build (jpeg, hevc) are skipped
    for (const std::string& codec : AvailableCodecs()) {
      built = built || (c.flags + " ").find("--codec " + codec + " ") != std::string::npos;
    }
    if (!built) continue;
    // Packet-mode lines pin a .ftcp packet stream, --stream lines a .ftcs sample stream, the
    // others a .ftc file.
    const bool packets = c.flags.find("--packet-size") != std::string::npos;
    const bool stream = c.flags.find("--stream") != std::string::npos;
    const std::string ext = packets ? ".ftcp" : stream ? ".ftcs" : ".ftc";
    const std::string ftc = dir + "/" + c.name + ext, npy = dir + "/" + c.name + ".npy";
    // `--profile NAME` names a profile in src/; the decoder needs it too.
    std::string flags = c.flags, dec_flags;
    const size_t at = flags.find("--profile ");
    if (at != std::string::npos) {
      flags.insert(at + 10, golden + "src/");
      const size_t end = flags.find(' ', at + 10);
      dec_flags = " " + flags.substr(at, end == std::string::npos ? std::string::npos : end - at);
    }
    ASSERT_EQ(RunCli("enc '" + golden + "src/" + c.source + "' '" + ftc + "' " + flags), 0);
    EXPECT_EQ(test::ReadFileBytes(ftc), test::ReadFileBytes(golden + c.name + ext))
        << "encoder output changed";
    ASSERT_EQ(RunCli("dec '" + golden + c.name + ext + "' '" + npy + "'" + dec_flags), 0);
    EXPECT_EQ(test::ReadFileBytes(npy), test::ReadFileBytes(golden + c.name + ".npy"))
        << "decoder output changed";
    // Every golden file probes cleanly and names its codec.
    std::vector<uint8_t> bytes = test::ReadFileBytes(golden + c.name + ext);
    if (packets) {
      const PacketStreamContents contents = ReadPacketStream(bytes.data(), bytes.size());
      EXPECT_EQ(contents.damaged_bytes, 0u);
      for (const PacketInfo& p : ProbePackets(contents.packets)) {
        EXPECT_TRUE(p.valid) << p.error;
        EXPECT_NE(c.flags.find("--codec " + p.codec), std::string::npos);
      }
      continue;
    }
    if (stream) {
      Result<SampleStreamInfo> si = probe_sample_stream(bytes.data(), bytes.size());
      ASSERT_TRUE(si.ok()) << si.status().ToString();
      EXPECT_NE(c.flags.find("--codec " + si->first.codec), std::string::npos);
      continue;
    }
    Result<StreamInfo> info = probe(bytes.data(), bytes.size());
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_NE(c.flags.find("--codec " + info->frames[0].codec), std::string::npos);
  }
  std::system(("rm -rf '" + dir + "'").c_str());
}

TEST(GoldenTest, RawGoldenIsTheSourceExactly) {
  // For lossless raw, the decoded tensor is the source itself.
  const std::string g = test::SourcePath("data/golden/");
  EXPECT_EQ(test::ReadFileBytes(g + "raw_f32.npy"),
            test::ReadFileBytes(g + "src/g_f32_2x3x5x7.npy"));
  EXPECT_EQ(test::ReadFileBytes(g + "raw_f16.npy"), test::ReadFileBytes(g + "src/g_f16_9x11.npy"));
  EXPECT_EQ(test::ReadFileBytes(g + "raw_u8.npy"), test::ReadFileBytes(g + "src/g_u8_3x4x5.npy"));
  // So is lossless ans.
  EXPECT_EQ(test::ReadFileBytes(g + "ans_lossless_f32.npy"),
            test::ReadFileBytes(g + "src/g_f32_2x3x5x7.npy"));
  EXPECT_EQ(test::ReadFileBytes(g + "ans_lossless_f16.npy"),
            test::ReadFileBytes(g + "src/g_f16_9x11.npy"));
  EXPECT_EQ(test::ReadFileBytes(g + "ans_lossless_u8.npy"),
            test::ReadFileBytes(g + "src/g_u8_3x4x5.npy"));
  // And storing as bf16 losslessly equals raw bf16 storage.
  EXPECT_EQ(test::ReadFileBytes(g + "ans_lossless_as_bf16.npy"),
            test::ReadFileBytes(g + "raw_f32_as_bf16.npy"));
}

}  // namespace
}  // namespace ftc

// The CLI under hostile input and at odd outputs (issue 17): exit codes and messages for the
// committed hostile streams, limits on the command line, output to special files and long
// names, JSON for any file name, short quotes of bad tokens.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "base/json_string.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "ftcodec/packet.h"
#include "tests/hostile_inputs.h"
#include "tests/test_util.h"

namespace ftc {
namespace {

class HostileCliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::MakeTempDir(); }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  static std::string Hostile(const std::string& name) {
    return test::SourcePath("tests/data/hostile/" + name);
  }

  struct Run {
    int code;
    std::string out, err;
  };
  // `ftcodec ARGS` through the shell, with a 4 GB address-space limit and a 60 s timeout.
  Run Cli(const std::string& args) const {
    return Shell("timeout 60 '" + std::string(FTC_CLI_PATH) + "' " + args);
  }
  // A bash script (stdout and stderr captured) under the same limits. (AddressSanitizer
  // reserves terabytes of address space for its shadow memory: no address limit under it.)
  Run Shell(const std::string& script) const {
    const std::string out = Path("stdout.txt"), err = Path("stderr.txt"), sh = Path("run.sh");
#if defined(__SANITIZE_ADDRESS__)
    const char* limit = "";
#else
    const char* limit = "ulimit -v 4000000\n";
#endif
    std::ofstream(sh) << limit << "{\n" << script << "\n} >'" << out << "' 2>'" << err << "'\n";
    const int rc = std::system(("bash '" + sh + "'").c_str());
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, Text(out), Text(err)};
  }
  static std::string Text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  std::string WriteSample(const std::string& name) const {
    Tensor t = Tensor::Create(DType::kF32, {2, 3, 5, 7}).value();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      t.data_as<float>()[i] = static_cast<float>((i * 37) % 11) * 0.25f;
    }
    test::WriteFileBytes(Path(name), WriteNpy(t.view()).value());
    return Path(name);
  }

  std::string dir_;
};

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(HostileCliTest, MemoryBombsFailWithExit2) {
  struct Case {
    const char* file;
    const char* dec_error;   // in `dec`'s message
    const char* info_error;  // in `info`'s output (nullptr: the packet is valid)
  };
  const Case cases[] = {
      {"huge_sample.ftcp",
       "1 bands of up to 268435456 elements in 38 bytes exceed the "
       "decoder's expansion limit",
       "INVALID: packet: 1 bands of up to 268435456 elements"},
      {"huge_band_count.ftcp", "268435456 bands per sample exceed the decoder's limit",
       "INVALID: parameter set: 268435456 bands per sample"},
      {"interleaved_huge_band_count.ftcp", "268435456 bands per sample exceed the decoder's limit",
       "INVALID: parameter set: 268435456 bands per sample"},
      {"huge_frame_count.ftcp",
       "a tensor of 268435456 elements (268435456 samples of 1) is more than the 38 bytes",
       nullptr},
      {"caltec_bomb.ftcp", "1048576 bands of up to 16 elements in 39 bytes exceed",
       "INVALID: packet: 1048576 bands"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    for (const char* method : {"inpaint", "caltec"}) {
      Run r = Cli("dec '" + Hostile(c.file) + "' '" + Path("o.npy") + "' --conceal " + method);
      EXPECT_EQ(r.code, 2) << r.err;
      EXPECT_TRUE(Has(r.err, c.dec_error)) << r.err;
      EXPECT_FALSE(std::ifstream(Path("o.npy")).good());
    }
    Run i = Cli("info '" + Hostile(c.file) + "'");
    if (c.info_error) {
      EXPECT_EQ(i.code, 2) << i.err;
      EXPECT_TRUE(Has(i.out, c.info_error)) << i.out;
      EXPECT_TRUE(Has(i.err, "no valid data packet in the stream")) << i.err;
    } else {
      // Every packet is valid; the stream as a whole is beyond the limit.
      EXPECT_EQ(i.code, 2) << i.err;
      EXPECT_TRUE(Has(i.out, "268435456 frames")) << i.out;
      EXPECT_TRUE(Has(i.err, "a tensor of 268435456 elements is more than the 38 bytes")) << i.err;
    }
  }
}

TEST_F(HostileCliTest, CaltecWorkBeyondTheBudgetFailsClearly) {
  const std::string in = Hostile("caltec_work.ftcp");
  Run r = Cli("dec '" + in + "' '" + Path("o.npy") + "' --conceal caltec");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(Has(r.err,
                  "concealing 786432 lost elements in 1 samples by caltec would take "
                  "about"))
      << r.err;
  EXPECT_TRUE(Has(r.err, "--max-conceal-work")) << r.err;
  r = Cli("dec '" + in + "' '" + Path("o.npy") + "' --conceal inpaint");
  EXPECT_EQ(r.code, 0) << r.err;
  r = Cli("dec '" + in + "' '" + Path("c.npy") + "' --conceal caltec --max-conceal-work 4e9");
  EXPECT_EQ(r.code, 1) << r.err;  // not an integer
  r = Cli("dec '" + in + "' '" + Path("c.npy") +
          "' --conceal caltec --max-conceal-work 4000000000");
  EXPECT_EQ(r.code, 0) << r.err;
  r = Cli("dec '" + in + "' '" + Path("c.npy") + "' --conceal caltec --max-conceal-work 1000 -f");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(Has(r.err, "beyond the decoder's limit of 1000")) << r.err;
}

TEST_F(HostileCliTest, MaxElementsRaisesAndLowersTheLimits) {
  // 2^21 zeros in one 60-byte packet: beyond the default expansion limit.
  test::WriteFileBytes(Path("zeros.ftcp"), test::AnsZerosStream({2048, 1024}, 0, false, 1, 1));
  Run r = Cli("dec '" + Path("zeros.ftcp") + "' '" + Path("z.npy") + "'");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(Has(r.err, "expansion limit")) << r.err;
  r = Cli("dec '" + Path("zeros.ftcp") + "' '" + Path("z.npy") + "' --max-elements 2097152");
  EXPECT_EQ(r.code, 0) << r.err;
  r = Cli("info '" + Path("zeros.ftcp") + "' --max-elements 2097152");
  EXPECT_EQ(r.code, 0) << r.err;
  r = Cli("info '" + Path("zeros.ftcp") + "'");
  EXPECT_EQ(r.code, 2) << r.err;
  // .ftc: a cap below the tensor.
  const std::string x = WriteSample("x.npy");
  ASSERT_EQ(Cli("enc '" + x + "' '" + Path("x.ftc") + "'").code, 0);
  r = Cli("dec '" + Path("x.ftc") + "' '" + Path("y.npy") + "' --max-elements 209");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(Has(r.err, "exceeds the decoder's limit of 209 elements")) << r.err;
  EXPECT_EQ(Cli("dec '" + Path("x.ftc") + "' '" + Path("y.npy") + "' --max-elements 210").code, 0);
  EXPECT_EQ(Cli("dec '" + Path("x.ftc") + "' '" + Path("y.npy") + "' --max-elements 0 -f").code, 0);
  EXPECT_EQ(Cli("dec '" + Path("x.ftc") + "' '" + Path("y.npy") + "' --max-elements -5 -f").code,
            1);
  EXPECT_EQ(Cli("info '" + Path("x.ftc") + "' --max-elements 104").code, 2);
  EXPECT_EQ(Cli("info '" + Path("x.ftc") + "' --max-elements 105").code, 0);
}

TEST_F(HostileCliTest, InfoOnAStreamWithoutAValidPacketExits2) {
  const std::string x = WriteSample("x.npy");
  ASSERT_EQ(Cli("enc '" + x + "' '" + Path("x.ftcp") + "' --codec ans --packet-size 200").code, 0);
  const Bytes file = test::ReadFileBytes(Path("x.ftcp"));
  std::vector<Bytes> packets = ReadPacketStream(file.data(), file.size()).packets;
  ASSERT_GE(packets.size(), 2u);
  for (Bytes& p : packets) p[p.size() / 2] ^= 1;
  test::WriteFileBytes(Path("bad.ftcp"), WritePacketStream(packets).value());
  Run r = Cli("info '" + Path("bad.ftcp") + "'");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(Has(r.err, "no valid data packet in the stream (" + std::to_string(packets.size()) +
                             " of " + std::to_string(packets.size()) +
                             " invalid; packet 0: packet checksum mismatch)"))
      << r.err;
  r = Cli("info --json '" + Path("bad.ftcp") + "'");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(Has(r.out, "\"valid\": false")) << r.out;
}

TEST_F(HostileCliTest, FiniteDataOverflowingTheQuantizerExits2) {
  Tensor t = Tensor::Create(DType::kF32, {2, 3}).value();
  const float v[] = {-3e38f, 0, 3e38f, 1, 2, 3};
  std::copy(v, v + 6, t.data_as<float>());
  test::WriteFileBytes(Path("wide.npy"), WriteNpy(t.view()).value());
  Run r = Cli("enc '" + Path("wide.npy") + "' '" + Path("w.ftc") + "' --codec ans");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(Has(r.err,
                  "input values span [-3e+38, 3e+38]: the quantizer's range (max - min) "
                  "overflows f32"))
      << r.err;
  EXPECT_FALSE(std::ifstream(Path("w.ftc")).good());
  EXPECT_EQ(
      Cli("enc '" + Path("wide.npy") + "' '" + Path("w.ftc") + "' --codec ans --lossless").code, 0);
}

TEST_F(HostileCliTest, LongOutputNamesWork) {
  const std::string x = WriteSample("x.npy");
  const std::string name(246, 'n');  // + ".ftc": 250 characters
  Run r = Cli("enc '" + x + "' '" + Path(name + ".ftc") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  r = Cli("dec '" + Path(name + ".ftc") + "' '" + Path(name + ".npy") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(test::ReadFileBytes(x), test::ReadFileBytes(Path(name + ".npy")));
  const std::string longest(255, 'm');  // NAME_MAX itself
  EXPECT_EQ(Cli("enc '" + x + "' '" + Path(longest) + "'").code, 0);
  EXPECT_TRUE(std::ifstream(Path(longest)).good());
  // One more is the file system's error: exit 3, nothing left behind.
  r = Cli("enc '" + x + "' '" + Path(longest + "m") + "'");
  EXPECT_EQ(r.code, 3) << r.err;
}

TEST_F(HostileCliTest, InfoJsonIsValidForAnyFileName) {
  const std::string x = WriteSample("x.npy");
  const std::string name = "bad\xff\xfe-\xc3\xa9-\xed\xa0\x80-\"q\".ftc";  // é is valid UTF-8
  ASSERT_EQ(Cli("enc '" + x + "' '" + Path(name) + "'").code, 0);
  for (const char* kind : {"ftc", "ftcp"}) {
    SCOPED_TRACE(kind);
    std::string file = Path(name);
    if (std::string(kind) == "ftcp") {
      file = Path(name + "p");
      ASSERT_EQ(Cli("enc '" + x + "' '" + file + "' --codec ans --packet-size 300").code, 0);
    }
    Run r = Cli("info --json '" + file + "'");
    ASSERT_EQ(r.code, 0) << r.err;
    // Every byte of the output is well-formed UTF-8; the bad bytes became U+FFFD.
    for (size_t i = 0; i < r.out.size();) {
      const size_t n = Utf8SequenceLength(r.out, i);
      ASSERT_GT(n, 0u) << "byte " << i;
      i += n;
    }
    EXPECT_TRUE(Has(r.out, "bad\\ufffd\\ufffd-\xc3\xa9-\\ufffd\\ufffd\\ufffd-\\\"q\\\".ftc"))
        << r.out;
  }
}

TEST_F(HostileCliTest, BadTokensAreQuotedShortly) {
  const std::string x = WriteSample("x.npy");
  ASSERT_EQ(Cli("enc '" + x + "' '" + Path("x.ftcp") + "' --codec ans --packet-size 200").code, 0);
  std::ofstream(Path("trace.txt")) << "0 1 " << std::string(100000, '7') << "\n";
  Run r = Cli("lose '" + Path("x.ftcp") + "' '" + Path("o.ftcp") + "' --trace '" +
              Path("trace.txt") + "'");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_LT(r.err.size(), 400u) << r.err;
  EXPECT_TRUE(Has(r.err, "loss trace entry 3 is '" + std::string(80, '7') +
                             "... (100000 bytes)', expected 0 or 1"))
      << r.err;
  r = Cli("dec '" + Path("x.ftcp") + "' '" + Path("o.npy") + "' --conceal " +
          std::string(5000, 'z'));
  EXPECT_EQ(r.code, 1);
  EXPECT_LT(r.err.size(), 400u) << r.err;
  r = Cli("dec '" + Path("x.ftcp") + "' '" + Path("o.npy") + "' --stream-id " +
          std::string(5000, 'q'));
  EXPECT_EQ(r.code, 1);
  EXPECT_LT(r.err.size(), 400u) << r.err;
}

TEST_F(HostileCliTest, AStalePacketOfAnotherStreamDoesNotTakeOver) {
  const std::string x = WriteSample("x.npy");
  Tensor t = Tensor::Create(DType::kF32, {1, 2, 4, 4}).value();
  test::WriteFileBytes(Path("y.npy"), WriteNpy(t.view()).value());
  ASSERT_EQ(Cli("enc '" + x + "' '" + Path("x.ftcp") + "' --codec ans --packet-size 200").code, 0);
  ASSERT_EQ(Cli("enc '" + Path("y.npy") + "' '" + Path("y.ftcp") + "' --codec ans").code, 0);
  ASSERT_EQ(Cli("dec '" + Path("x.ftcp") + "' '" + Path("ref.npy") + "'").code, 0);
  const Bytes xf = test::ReadFileBytes(Path("x.ftcp")), yf = test::ReadFileBytes(Path("y.ftcp"));
  std::vector<Bytes> packets = ReadPacketStream(yf.data(), yf.size()).packets;
  ASSERT_EQ(packets.size(), 2u);  // its parameter set and one data packet
  const uint32_t stale_id = ProbePackets(packets)[0].stream_id;
  for (const Bytes& p : ReadPacketStream(xf.data(), xf.size()).packets) packets.push_back(p);
  test::WriteFileBytes(Path("mixed.ftcp"), WritePacketStream(packets).value());
  Run r = Cli("dec '" + Path("mixed.ftcp") + "' '" + Path("out.npy") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(test::ReadFileBytes(Path("out.npy")), test::ReadFileBytes(Path("ref.npy")));
  char id[16];
  std::snprintf(id, sizeof(id), "%08x", stale_id);
  EXPECT_TRUE(Has(r.err, "packets of 1 other stream (" + std::string(id) + ") were ignored"))
      << r.err;
  EXPECT_TRUE(Has(r.err, "none lost")) << r.err;
  // --stream-id picks the stale stream; an absent one leaves nothing to decode.
  r = Cli("dec '" + Path("mixed.ftcp") + "' '" + Path("stale.npy") + "' --stream-id " + id);
  ASSERT_EQ(r.code, 0) << r.err;
  const Bytes stale = test::ReadFileBytes(Path("stale.npy"));
  EXPECT_EQ(ReadNpy(stale.data(), stale.size()).value().tensor.shape(), (Shape{1, 2, 4, 4}));
  r = Cli("dec '" + Path("mixed.ftcp") + "' '" + Path("none.npy") + "' --stream-id 0x12345678");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(Has(r.err, "no packet arrived")) << r.err;
  r = Cli("dec '" + Path("x.ftc") + "' '" + Path("none.npy") + "' --stream-id 1");
  EXPECT_EQ(r.code, 3) << r.err;  // no such file
}

TEST_F(HostileCliTest, SpecialOutputsAreWrittenInPlace) {
  const std::string x = WriteSample("x.npy");
  ASSERT_EQ(Cli("enc '" + x + "' '" + Path("x.ftc") + "'").code, 0);
  ASSERT_EQ(Cli("dec '" + Path("x.ftc") + "' '" + Path("ref.npy") + "'").code, 0);
  const std::string cli = FTC_CLI_PATH;
  struct stat st;
  // A character device: streamed, never replaced (as root, a rename would replace /dev/null);
  // it needs no -f, as nothing is replaced.
  Run r = Cli("dec '" + Path("x.ftc") + "' /dev/null");
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  // A symlink to it: the link stays, and so does the device.
  ASSERT_EQ(symlink("/dev/null", Path("null-link").c_str()), 0);
  r = Cli("dec '" + Path("x.ftc") + "' '" + Path("null-link") + "'");
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(lstat(Path("null-link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  // A FIFO: written as a stream to whoever reads it, and still a FIFO.
  ASSERT_EQ(mkfifo(Path("pipe").c_str(), 0600), 0);
  r = Shell("cat '" + Path("pipe") + "' > '" + Path("from-pipe.npy") + "' & reader=$!\n" +
            "timeout 60 '" + cli + "' dec '" + Path("x.ftc") + "' '" + Path("pipe") +
            "'; rc=$?\nwait $reader\nexit $rc");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(test::ReadFileBytes(Path("from-pipe.npy")), test::ReadFileBytes(Path("ref.npy")));
  ASSERT_EQ(lstat(Path("pipe").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  // A symlink to a regular file (-f: it is replaced): the target gets the output, the link
  // stays a link.
  test::WriteFileBytes(Path("target.npy"), {1, 2, 3});
  ASSERT_EQ(symlink(Path("target.npy").c_str(), Path("file-link.npy").c_str()), 0);
  r = Cli("dec '" + Path("x.ftc") + "' '" + Path("file-link.npy") + "' -f");
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(lstat(Path("file-link.npy").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(test::ReadFileBytes(Path("target.npy")), test::ReadFileBytes(Path("ref.npy")));
}

}  // namespace
}  // namespace ftc

// The two executables (tools/handover.cc): the lean `ftcodec` loads no libtorch, OpenCV or
// FFmpeg, and hands the jobs that need them over to `ftcodec-full` (FTC_FULL_CLI_PATH, built
// when libtorch or HEVC is), which takes the same command line.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "tests/test_util.h"

namespace ftc {
namespace {

#ifdef FTC_FULL_CLI_PATH
constexpr bool kHasFull = true;
const char* const kFull = FTC_FULL_CLI_PATH;
#else
constexpr bool kHasFull = false;
const char* const kFull = "";
#endif
#ifdef FTC_CLI_HAS_TORCH
constexpr bool kHasTorch = true;
#else
constexpr bool kHasTorch = false;
#endif
#ifdef FTC_HAVE_HEVC
constexpr bool kHasHevc = true;
#else
constexpr bool kHasHevc = false;
#endif

// Libraries the lean executable must not load, directly or through another library.
const char* const kHeavy[] = {"libtorch", "libc10", "libav", "libopencv", "libx265"};

class LeanCliTest : public ::testing::Test {
 protected:
  struct Run {
    int code;
    std::string out, err;
  };

  void SetUp() override { dir_ = test::MakeTempDir(); }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // A bash command line; stdout and stderr captured.
  Run Shell(const std::string& command) const {
    const std::string out = Path("stdout.txt"), err = Path("stderr.txt"), sh = Path("run.sh");
    std::ofstream(sh) << "set -o pipefail\n{\n"
                      << command << "\n} >'" << out << "' 2>'" << err << "'\n";
    const int rc = std::system(("bash '" + sh + "'").c_str());
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, Text(out), Text(err)};
  }
  // The lean `ftcodec`; FTCODEC_FULL is unset unless `env` sets it.
  Run Lean(const std::string& args, const std::string& env = "") const {
    return Shell("env -u FTCODEC_FULL " + env + " '" + std::string(FTC_CLI_PATH) + "' " + args);
  }
  // `ftcodec-full` run as the lean `ftcodec` would run it: the same argv, argv[0] included.
  Run Full(const std::string& args) const {
    return Shell("(exec -a '" + std::string(FTC_CLI_PATH) + "' '" + kFull + "' " + args + ")");
  }
  static std::string Text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  static bool Has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
  bool Exists(const std::string& path) const {
    struct stat st;
    return stat(path.c_str(), &st) == 0;
  }
  // One 1x64x14x14 f32 sample (the reference model's features' shape).
  std::string WriteSample(const std::string& name) const {
    Tensor t = Tensor::Create(DType::kF32, {1, 64, 14, 14}).value();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      t.data_as<float>()[i] = static_cast<float>((i * 37) % 23) * 0.125f;
    }
    test::WriteFileBytes(Path(name), WriteNpy(t.view()).value());
    return Path(name);
  }
  std::string Q(const std::string& path) const { return "'" + path + "'"; }

  std::string dir_;
};

TEST_F(LeanCliTest, LeanExecutableLoadsNoLibtorchOpenCvOrFfmpeg) {
  // DT_NEEDED: what the executable names itself.
  Run needed = Shell("readelf -d '" + std::string(FTC_CLI_PATH) + "'");
  ASSERT_EQ(needed.code, 0) << needed.err;
  ASSERT_TRUE(Has(needed.out, "(NEEDED)")) << needed.out;
  // ldd: everything the loader maps, through every library.
  Run ldd = Shell("ldd '" + std::string(FTC_CLI_PATH) + "'");
  ASSERT_EQ(ldd.code, 0) << ldd.err;
  ASSERT_TRUE(Has(ldd.out, "libc.so")) << ldd.out;
  for (const char* lib : kHeavy) {
    EXPECT_FALSE(Has(needed.out, lib)) << lib << "\n" << needed.out;
    EXPECT_FALSE(Has(ldd.out, lib)) << lib << "\n" << ldd.out;
  }
  // The same check finds them in the full executable.
  if (kHasFull) {
    Run full = Shell("ldd '" + std::string(kFull) + "'");
    ASSERT_EQ(full.code, 0) << full.err;
    if (kHasTorch) {
      EXPECT_TRUE(Has(full.out, "libtorch")) << full.out;
    }
    if (kHasHevc) {
      EXPECT_TRUE(Has(full.out, "libx265")) << full.out;
    }
  }
}

TEST_F(LeanCliTest, HelpListsEverySubcommandAndCodec) {
  Run h = Lean("--help");
  ASSERT_EQ(h.code, 0) << h.err;
  for (const char* c : {"enc", "dec", "info", "lose", "bench", "tune", "train-bottleneck"}) {
    EXPECT_TRUE(Has(h.out, std::string("\n  ") + c + " ")) << c << "\n" << h.out;
  }
  Run v = Lean("--version");
  Run e = Lean("enc --help");
  ASSERT_EQ(e.code, 0) << e.err;
  if (kHasHevc) {
    EXPECT_TRUE(Has(v.out, "hevc")) << v.out;
    EXPECT_TRUE(Has(e.out, "hevc")) << e.out;
  }
  if (kHasTorch) {
    EXPECT_TRUE(Has(v.out, "learned")) << v.out;
    EXPECT_TRUE(Has(e.out, "learned")) << e.out;
  }
  if (kHasFull) {
    EXPECT_EQ(v.out, Full("--version").out);
    EXPECT_EQ(e.out, Full("enc --help").out);
  }
}

TEST_F(LeanCliTest, TorchSubcommandsAreHandedOver) {
  if (!kHasTorch) GTEST_SKIP() << "built without libtorch";
  // Only ftcodec-full defines these options: the lean ftcodec lists the subcommands.
  Run t = Lean("tune --help");
  EXPECT_EQ(t.code, 0) << t.err;
  EXPECT_TRUE(Has(t.out, "--max-drop")) << t.out;
  Run b = Lean("bench --help");
  EXPECT_EQ(b.code, 0) << b.err;
  EXPECT_TRUE(Has(b.out, "--loss-codec")) << b.out;
  EXPECT_EQ(b.out, Full("bench --help").out);
  // The same argv: a usage error is ftcodec-full's, word for word.
  Run u = Lean("tune --out " + Q(Path("p.json")));
  EXPECT_EQ(u.code, 1);
  EXPECT_TRUE(Has(u.err, "which model?")) << u.err;
  EXPECT_EQ(u.err, Full("tune --out " + Q(Path("p.json"))).err);
}

TEST_F(LeanCliTest, HevcStreamsThroughTheLeanExecutable) {
  if (!kHasHevc) GTEST_SKIP() << "built without HEVC";
  const std::string in = WriteSample("x.npy");
  Run e = Lean("enc " + Q(in) + " " + Q(Path("h.ftc")) + " --codec hevc --qp 30");
  ASSERT_EQ(e.code, 0) << e.err;
  ASSERT_EQ(Full("enc " + Q(in) + " " + Q(Path("f.ftc")) + " --codec hevc --qp 30").code, 0);
  EXPECT_EQ(test::ReadFileBytes(Path("h.ftc")), test::ReadFileBytes(Path("f.ftc")));
  Run i = Lean("info " + Q(Path("h.ftc")));
  ASSERT_EQ(i.code, 0) << i.err;
  EXPECT_TRUE(Has(i.out, "codec hevc")) << i.out;
  Run d = Lean("dec " + Q(Path("h.ftc")) + " " + Q(Path("h.npy")));
  ASSERT_EQ(d.code, 0) << d.err;
  ASSERT_EQ(Full("dec " + Q(Path("f.ftc")) + " " + Q(Path("f.npy"))).code, 0);
  EXPECT_EQ(test::ReadFileBytes(Path("h.npy")), test::ReadFileBytes(Path("f.npy")));
  // Standard input: read by the lean executable to find the codec, then handed over whole.
  Run p =
      Shell("cat " + Q(Path("h.ftc")) + " | '" + FTC_CLI_PATH + "' dec - - > " + Q(Path("p.npy")));
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(test::ReadFileBytes(Path("p.npy")), test::ReadFileBytes(Path("f.npy")));
  // A profile naming the codec.
  std::ofstream(Path("hevc.json")) << "{\"ftcodec_profile\": 1, \"model\": \"m\", "
                                      "\"sample_shape\": [64, 14, 14], "
                                      "\"settings\": {\"codec\": \"hevc\"}}";
  Run pr = Lean("enc " + Q(in) + " " + Q(Path("pr.ftc")) + " --profile " + Q(Path("hevc.json")));
  EXPECT_EQ(pr.code, 0) << pr.err;
  EXPECT_TRUE(Has(pr.err, "codec hevc")) << pr.err;
}

TEST_F(LeanCliTest, LearnedStreamsThroughTheLeanExecutable) {
  if (!kHasTorch) GTEST_SKIP() << "built without libtorch";
  const std::string unit = Q(test::SourcePath("data/units/fmnist_resnet_s1_c8b2"));
  const std::string in = WriteSample("x.npy");
  Run e = Lean("enc " + Q(in) + " " + Q(Path("l.ftc")) + " --codec learned --unit " + unit);
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_TRUE(Has(e.err, "codec learned")) << e.err;
  Run d = Lean("dec " + Q(Path("l.ftc")) + " " + Q(Path("l.npy")) + " --unit " + unit);
  ASSERT_EQ(d.code, 0) << d.err;
  ASSERT_EQ(Full("dec " + Q(Path("l.ftc")) + " " + Q(Path("f.npy")) + " --unit " + unit).code, 0);
  EXPECT_EQ(test::ReadFileBytes(Path("l.npy")), test::ReadFileBytes(Path("f.npy")));
  // Without --unit: the stream's codec sends it over, and ftcodec-full asks for the unit.
  Run n = Lean("dec " + Q(Path("l.ftc")) + " " + Q(Path("n.npy")));
  EXPECT_EQ(n.code, 1);
  EXPECT_TRUE(Has(n.err, "--unit")) << n.err;
  EXPECT_FALSE(Has(n.err, "not built")) << n.err;
  // Packets: the lean executable drops one (lose needs no codec), ftcodec-full conceals it.
  ASSERT_EQ(Lean("enc " + Q(in) + " " + Q(Path("l.ftcp")) +
                 " --codec learned --inner ans --bits 4 --packet-size 100 --unit " + unit)
                .code,
            0);
  std::string trace = "0 1";  // the first data packet (after the parameter set)
  for (int i = 0; i < 200; ++i) trace += " 0";
  std::ofstream(Path("trace.txt")) << trace << "\n";
  Run lose = Lean(
      "lose " + Q(Path("l.ftcp")) + " " + Q(Path("k.ftcp")) + " --trace " + Q(Path("trace.txt")),
      "FTCODEC_FULL=/nonexistent");
  ASSERT_EQ(lose.code, 0) << lose.err;
  EXPECT_TRUE(Has(lose.err, "dropped 1 of ")) << lose.err;
  Run dp = Lean("dec " + Q(Path("k.ftcp")) + " " + Q(Path("k.npy")) + " --unit " + unit);
  EXPECT_EQ(dp.code, 0) << dp.err;
  EXPECT_TRUE(Has(dp.err, "restored by the unit")) << dp.err;
  EXPECT_TRUE(Exists(Path("k.npy")));
  // A sample stream of the learned codec: enc, info and dec go over to ftcodec-full, and the
  // stream decodes to what the frames do.
  ASSERT_EQ(Lean("enc " + Q(in) + " " + Q(Path("l.ftcs")) + " --codec learned --unit " + unit).code,
            0);
  Run si = Lean("info " + Q(Path("l.ftcs")));
  ASSERT_EQ(si.code, 0) << si.err;
  EXPECT_TRUE(Has(si.out, "codec learned")) << si.out;
  ASSERT_EQ(Lean("dec " + Q(Path("l.ftcs")) + " " + Q(Path("s.npy")) + " --unit " + unit).code, 0);
  EXPECT_EQ(test::ReadFileBytes(Path("s.npy")), test::ReadFileBytes(Path("f.npy")));
}

TEST_F(LeanCliTest, AnsJobsNeverNeedTheFullExecutable) {
  // With ftcodec-full out of reach every job on the built-in codecs still runs: nothing was
  // handed over.
  const std::string env = "FTCODEC_FULL=/nonexistent/ftcodec-full";
  const std::string in = WriteSample("x.npy");
  ASSERT_EQ(Lean("enc " + Q(in) + " " + Q(Path("a.ftc")) + " --codec ans --bits 4", env).code, 0);
  EXPECT_EQ(Lean("info " + Q(Path("a.ftc")), env).code, 0);
  EXPECT_EQ(Lean("dec " + Q(Path("a.ftc")) + " " + Q(Path("a.npy")), env).code, 0);
  Run p = Shell("cat " + Q(Path("a.ftc")) + " | " + env + " '" + FTC_CLI_PATH + "' dec - - > " +
                Q(Path("p.npy")));
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(test::ReadFileBytes(Path("p.npy")), test::ReadFileBytes(Path("a.npy")));
  ASSERT_EQ(Lean("enc " + Q(in) + " " + Q(Path("a.ftcp")) + " --codec ans", env).code, 0);
  EXPECT_EQ(Lean("lose " + Q(Path("a.ftcp")) + " " + Q(Path("b.ftcp")) + " --rate 0.5", env).code,
            0);
  EXPECT_EQ(Lean("dec " + Q(Path("b.ftcp")) + " " + Q(Path("b.npy")), env).code, 0);
}

TEST_F(LeanCliTest, MissingFullExecutableIsAClearErrorExit1) {
  if (!kHasFull) GTEST_SKIP() << "built without libtorch and HEVC: there is no ftcodec-full";
  const std::string in = WriteSample("x.npy");
  const std::string job = kHasHevc ? "enc " + Q(in) + " " + Q(Path("o.ftc")) + " --codec hevc"
                                   : std::string("bench --model fmnist_resnet:s1");
  Run r = Lean(job, "FTCODEC_FULL=/nonexistent/ftcodec-full");
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(Has(r.err, "not built into this executable") || Has(r.err, "needs libtorch"))
      << r.err;
  EXPECT_TRUE(Has(r.err, "ftcodec-full, which was not found")) << r.err;
  EXPECT_TRUE(Has(r.err, "looked for /nonexistent/ftcodec-full")) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(Exists(Path("o.ftc")));
  if (kHasTorch) {
    Run b = Lean("bench --help", "FTCODEC_FULL=/nonexistent/ftcodec-full");
    EXPECT_EQ(b.code, 1);
    EXPECT_TRUE(Has(b.err, "'bench' needs libtorch")) << b.err;
  }
  // Without the variable: beside the executable, then the installed location. A copy of the
  // lean executable alone in a folder finds neither (unless it is installed on this machine).
  ASSERT_EQ(Shell("cp '" + std::string(FTC_CLI_PATH) + "' " + Q(Path("ftcodec"))).code, 0);
  Run alone = Shell("env -u FTCODEC_FULL " + Q(Path("ftcodec")) + " " + job);
  if (alone.code == 0) GTEST_SKIP() << "an installed ftcodec-full took the job";
  EXPECT_EQ(alone.code, 1);
  EXPECT_TRUE(Has(alone.err, "looked for " + Path("ftcodec-full") + ", /")) << alone.err;
  // Not an executable: the error names it.
  test::WriteFileBytes(Path("ftcodec-full"), {'x'});
  Run bad = Shell("env -u FTCODEC_FULL " + Q(Path("ftcodec")) + " " + job);
  EXPECT_EQ(bad.code, 1);
  EXPECT_TRUE(Has(bad.err, "cannot run " + Path("ftcodec-full"))) << bad.err;
  // A lean executable under the full one's name does not hand over to itself.
  ASSERT_EQ(std::remove(Path("ftcodec-full").c_str()), 0);
  ASSERT_EQ(Shell("cp '" + std::string(FTC_CLI_PATH) + "' " + Q(Path("ftcodec-full"))).code, 0);
  Run loop = Shell("env -u FTCODEC_FULL timeout 20 " + Q(Path("ftcodec")) + " " + job);
  EXPECT_EQ(loop.code, 1);
  EXPECT_TRUE(Has(loop.err, "(this executable)")) << loop.err;
}

}  // namespace
}  // namespace ftc

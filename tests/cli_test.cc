// End-to-end tests of the `ftcodec` CLI: exit codes, messages, stdin/stdout, no partial files.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "tests/test_util.h"

namespace ftc {
namespace {

struct RunResult {
  int exit_code;
  std::string err;
  std::string out;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::MakeTempDir(); }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Runs `ftcodec ARGS` through the shell; captures stdout and stderr.
  RunResult Run(const std::string& args) const {
    const std::string out = Path("stdout.txt"), err = Path("stderr.txt");
    const std::string cmd =
        std::string(FTC_CLI_PATH) + " " + args + " >'" + out + "' 2>'" + err + "'";
    const int rc = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    r.err = ReadText(err);
    r.out = ReadText(out);
    return r;
  }
  RunResult Shell(const std::string& pipeline) const {
    const std::string err = Path("stderr.txt");
    const std::string script = Path("pipeline.sh");
    std::ofstream(script) << "set -o pipefail\n" << pipeline << " 2>'" << err << "'\n";
    const int rc = std::system(("bash '" + script + "'").c_str());
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, ReadText(err), ""};
  }
  static std::string ReadText(const std::string& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  bool Exists(const std::string& p) const { return std::ifstream(p).good(); }
  // Files in the temp dir other than the captured outputs.
  int CountStrayFiles(const std::string& except) const {
    int n = 0;
    DIR* d = opendir(dir_.c_str());
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == ".." || name == "stdout.txt" || name == "stderr.txt" ||
          except.find(name + ";") != std::string::npos) {
        continue;
      }
      ++n;
    }
    closedir(d);
    return n;
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

TEST_F(CliTest, EncDecRoundTripIsByteExact) {
  const std::string in = WriteSample("x.npy");
  RunResult e = Run("enc '" + in + "' '" + Path("x.ftc") + "'");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.err.find("bits/element"), std::string::npos) << e.err;
  EXPECT_NE(e.err.find("smaller than f32"), std::string::npos) << e.err;
  RunResult d = Run("dec '" + Path("x.ftc") + "' '" + Path("y.npy") + "'");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(test::ReadFileBytes(in), test::ReadFileBytes(Path("y.npy")));
}

TEST_F(CliTest, StdinAndStdout) {
  const std::string in = WriteSample("x.npy");
  const std::string cli = FTC_CLI_PATH;
  RunResult r = Shell("cat '" + in + "' | " + cli + " enc - - | " + cli + " dec - - > '" +
                      Path("y.npy") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::ReadFileBytes(in), test::ReadFileBytes(Path("y.npy")));
}

TEST_F(CliTest, DtypeOptions) {
  const std::string in = WriteSample("x.npy");
  ASSERT_EQ(Run("enc '" + in + "' '" + Path("h.ftc") + "' --dtype f16").exit_code, 0);
  RunResult i = Run("info '" + Path("h.ftc") + "'");
  ASSERT_EQ(i.exit_code, 0) << i.err;
  EXPECT_NE(i.out.find("stored_dtype=f16"), std::string::npos) << i.out;
  ASSERT_EQ(Run("dec '" + Path("h.ftc") + "' '" + Path("h.npy") + "' --dtype f16").exit_code, 0);
  NpyArray a =
      ReadNpy(test::ReadFileBytes(Path("h.npy")).data(), test::ReadFileBytes(Path("h.npy")).size())
          .value();
  EXPECT_EQ(a.tensor.dtype(), DType::kF16);
  EXPECT_EQ(Run("enc '" + in + "' '" + Path("b.ftc") + "' --dtype u8").exit_code, 1);
}

TEST_F(CliTest, InfoJson) {
  const std::string in = WriteSample("x.npy");
  ASSERT_EQ(Run("enc '" + in + "' '" + Path("x.ftc") + "'").exit_code, 0);
  RunResult i = Run("info --json '" + Path("x.ftc") + "'");
  ASSERT_EQ(i.exit_code, 0);
  EXPECT_NE(i.out.find("\"shape\": [2, 3, 5, 7]"), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("\"codec\": \"raw\""), std::string::npos);
  EXPECT_NE(i.out.find("\"index\": 1"), std::string::npos);
}

TEST_F(CliTest, Version) {
  RunResult r = Run("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("ftcodec"), std::string::npos);
  EXPECT_NE(r.out.find("format 3"), std::string::npos) << r.out;
}

TEST_F(CliTest, UsageErrorsExit1) {
  const std::string in = WriteSample("x.npy");
  EXPECT_EQ(Run("").exit_code, 1);
  EXPECT_EQ(Run("enc").exit_code, 1);
  EXPECT_EQ(Run("frobnicate").exit_code, 1);
  EXPECT_EQ(Run("enc '" + in + "' '" + Path("o.ftc") + "' --no-such-flag").exit_code, 1);
  RunResult u = Run("enc '" + in + "' '" + Path("o.ftc") + "' --codec zip");
  EXPECT_EQ(u.exit_code, 1);
  EXPECT_NE(u.err.find("unknown codec 'zip'"), std::string::npos) << u.err;
  // Without --unit: a usage error whether or not this CLI has the learned codec (libtorch).
  RunResult nb = Run("enc '" + in + "' '" + Path("o.ftc") + "' --codec learned");
  EXPECT_EQ(nb.exit_code, 1);
#ifdef FTC_CLI_HAS_TORCH
  EXPECT_NE(nb.err.find("--unit"), std::string::npos) << nb.err;
#else
  EXPECT_NE(nb.err.find("not built"), std::string::npos) << nb.err;
#endif
  RunResult bits = Run("enc '" + in + "' '" + Path("o.ftc") + "' --codec raw --bits 4");
  EXPECT_EQ(bits.exit_code, 1);
  EXPECT_NE(bits.err.find("--bits applies to --codec ans only"), std::string::npos) << bits.err;
  EXPECT_EQ(Run("enc '" + in + "' '" + Path("o.ftc") + "' --threads -1").exit_code, 1);
  EXPECT_EQ(Run("enc '" + in + "' '" + Path("o.ftc") + "' --threads 257").exit_code, 1);
  EXPECT_FALSE(Exists(Path("o.ftc")));
}

// ---- habits shared with zstd and cjxl ---------------------------------------------------------

TEST_F(CliTest, OutputThatIsTheInputIsRefused) {
  const std::string in = WriteSample("x.npy");
  const std::vector<uint8_t> before = test::ReadFileBytes(in);
  for (const std::string& out : {in, dir_ + "/./x.npy"}) {
    for (const char* force : {"", " -f"}) {  // -f replaces outputs, never an input
      RunResult r = Run(std::string("enc") + force + " '" + in + "' '" + out + "'");
      EXPECT_EQ(r.exit_code, 1) << out << force;
      EXPECT_NE(r.err.find("is the input"), std::string::npos) << r.err;
    }
  }
  EXPECT_EQ(test::ReadFileBytes(in), before);
  ASSERT_EQ(symlink(in.c_str(), Path("link.npy").c_str()), 0);  // the same file by another name
  EXPECT_EQ(Run("enc -f '" + Path("link.npy") + "' '" + in + "'").exit_code, 1);
  ASSERT_EQ(Run("enc '" + in + "' '" + Path("x.ftcp") + "' --codec ans").exit_code, 0);
  EXPECT_EQ(Run("dec -f '" + Path("x.ftcp") + "' '" + Path("x.ftcp") + "'").exit_code, 1);
  EXPECT_EQ(Run("lose -f '" + Path("x.ftcp") + "' '" + Path("x.ftcp") + "' --rate 0.5").exit_code,
            1);
  EXPECT_EQ(test::ReadFileBytes(in), before);
}

TEST_F(CliTest, ExistingOutputIsReplacedOnlyWithForce) {
  const std::string in = WriteSample("x.npy");
  ASSERT_EQ(Run("enc '" + in + "' '" + Path("x.ftcp") + "' --codec ans").exit_code, 0);
  const std::vector<uint8_t> old = {1, 2, 3};
  const std::string cmds[] = {
      "enc '" + in + "' '" + Path("o.out") + "'",
      "dec '" + Path("x.ftcp") + "' '" + Path("o.out") + "'",
      "lose '" + Path("x.ftcp") + "' '" + Path("o.out") + "' --rate 0.5",
  };
  for (const std::string& cmd : cmds) {
    test::WriteFileBytes(Path("o.out"), old);
    RunResult r = Run(cmd);
    EXPECT_EQ(r.exit_code, 1) << cmd;
    EXPECT_NE(r.err.find("'" + Path("o.out") + "' exists"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("-f/--force"), std::string::npos) << r.err;
    EXPECT_EQ(test::ReadFileBytes(Path("o.out")), old) << cmd;
    for (const char* force : {" -f", " --force"}) {
      test::WriteFileBytes(Path("o.out"), old);
      RunResult f = Run(cmd + force);
      EXPECT_EQ(f.exit_code, 0) << cmd << force << f.err;
      EXPECT_NE(test::ReadFileBytes(Path("o.out")), old) << cmd << force;
    }
  }
}

TEST_F(CliTest, BinaryOutputToATerminalIsRefused) {
  if (std::system("script -qec true /dev/null >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "script(1) cannot make a terminal here";
  }
  const std::string in = WriteSample("x.npy");
  // script(1) runs the command with its stdout on a pseudo-terminal; -e passes its exit code.
  const auto on_tty = [&](const std::string& args) {
    return Shell("script -qec \"" + std::string(FTC_CLI_PATH) + " " + args + "\" /dev/null > '" +
                 Path("tty.txt") + "'");
  };
  RunResult r = on_tty("enc '" + in + "' -");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(ReadText(Path("tty.txt")).find("terminal"), std::string::npos)
      << ReadText(Path("tty.txt"));
  ASSERT_EQ(Run("enc '" + in + "' '" + Path("x.ftc") + "'").exit_code, 0);
  EXPECT_EQ(on_tty("dec '" + Path("x.ftc") + "' -").exit_code, 1);
  EXPECT_EQ(on_tty("enc -f '" + in + "' - --codec raw").exit_code, 0);  // forced
  // A pipe or a file is fine.
  EXPECT_EQ(Shell(std::string(FTC_CLI_PATH) + " enc '" + in + "' - | cat > /dev/null").exit_code,
            0);
}

TEST_F(CliTest, QuietAndVerboseOnEverySubcommand) {
  std::vector<std::string> subcommands = {"enc", "dec", "info", "lose"};
#ifdef FTC_CLI_HAS_TORCH
  for (const char* c : {"bench", "tune", "train-bottleneck"}) subcommands.push_back(c);
#endif
  for (const std::string& c : subcommands) {
    RunResult h = Run(c + " --help");
    EXPECT_EQ(h.exit_code, 0) << c;
    EXPECT_NE(h.out.find("-q,--quiet"), std::string::npos) << c << "\n" << h.out;
    EXPECT_NE(h.out.find("-v,--verbose"), std::string::npos) << c << "\n" << h.out;
  }
#ifdef FTC_CLI_HAS_TORCH
  // The old spellings stay.
  EXPECT_NE(Run("bench --help").out.find("--no-progress"), std::string::npos);
#endif
  const std::string in = WriteSample("x.npy");
  RunResult q = Run("enc -q '" + in + "' '" + Path("x.ftc") + "' --codec ans");
  EXPECT_EQ(q.exit_code, 0);
  EXPECT_EQ(q.err, "");
  RunResult v = Run("enc --verbose '" + in + "' '" + Path("y.ftc") + "' --codec ans");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.err.find("frame 1: "), std::string::npos) << v.err;
  EXPECT_NE(v.err.find("bits/element"), std::string::npos) << v.err;
  EXPECT_EQ(test::ReadFileBytes(Path("x.ftc")), test::ReadFileBytes(Path("y.ftc")));
  ASSERT_EQ(Run("enc -q '" + in + "' '" + Path("x.ftcp") + "' --codec ans").exit_code, 0);
  // The first of the two data packets (after the parameter set) is lost.
  std::ofstream(Path("trace.txt")) << "0 1 0 0 0 0\n";
  RunResult lq = Run("lose -q '" + Path("x.ftcp") + "' '" + Path("l.ftcp") + "' --trace '" +
                     Path("trace.txt") + "'");
  EXPECT_EQ(lq.exit_code, 0);
  EXPECT_EQ(lq.err, "");
  RunResult lv = Run("lose -v '" + Path("x.ftcp") + "' '" + Path("m.ftcp") + "' --rate 0.5");
  EXPECT_NE(lv.err.find("dropped packets: "), std::string::npos) << lv.err;
  RunResult dq = Run("dec -q '" + Path("x.ftcp") + "' '" + Path("x.npy2") + "'");
  EXPECT_EQ(dq.exit_code, 0);
  EXPECT_EQ(dq.err, "");
  RunResult dv = Run("dec -v '" + Path("x.ftc") + "' '" + Path("y.npy") + "'");
  EXPECT_NE(dv.err.find("f32 2x3x5x7"), std::string::npos) << dv.err;
  // A warning is not a summary: it stays with -q.
  RunResult dw = Run("dec -q '" + Path("l.ftcp") + "' '" + Path("l.npy") + "'");
  EXPECT_EQ(dw.exit_code, 0);
  EXPECT_NE(dw.err.find("warning"), std::string::npos) << dw.err;
  // info -q: no report, the exit code says whether the file is valid.
  RunResult iq = Run("info -q '" + Path("x.ftc") + "'");
  EXPECT_EQ(iq.exit_code, 0);
  EXPECT_EQ(iq.out, "");
  std::vector<uint8_t> b = test::ReadFileBytes(Path("x.ftc"));
  b.resize(b.size() - 3);
  test::WriteFileBytes(Path("cut.ftc"), b);
  RunResult ic = Run("info -q '" + Path("cut.ftc") + "'");
  EXPECT_EQ(ic.exit_code, 2);
  EXPECT_EQ(ic.out, "");
}

TEST_F(CliTest, ThreadsZeroMeansAllCores) {
  const std::string in = WriteSample("x.npy");
  ASSERT_EQ(Run("enc '" + in + "' '" + Path("a.ftc") + "' --codec ans --threads 1").exit_code, 0);
  RunResult r = Run("enc '" + in + "' '" + Path("b.ftc") + "' --codec ans --threads 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::ReadFileBytes(Path("a.ftc")), test::ReadFileBytes(Path("b.ftc")));
  RunResult d = Run("dec '" + Path("b.ftc") + "' '" + Path("b.npy") + "' --threads 0");
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(Run("dec '" + Path("b.ftc") + "' '" + Path("c.npy") + "' --threads -1").exit_code, 1);
#ifdef FTC_CLI_HAS_TORCH
  for (const char* c : {"bench", "tune", "train-bottleneck"}) {
    EXPECT_NE(Run(std::string(c) + " --help").out.find("0 = "), std::string::npos) << c;
  }
#endif
}

TEST_F(CliTest, MisspelledSubcommandGetsASuggestion) {
  const std::pair<const char*, const char*> typos[] = {{"ecn", "enc"},
                                                       {"decc", "dec"},
                                                       {"ifno", "info"},
                                                       {"tun", "tune"},
                                                       {"train", "train-bottleneck"}};
  for (const auto& [typo, meant] : typos) {
    RunResult r = Run(std::string(typo) + " a b");
    EXPECT_EQ(r.exit_code, 1) << typo;
    EXPECT_NE(r.err.find(std::string("did you mean '") + meant + "'?"), std::string::npos) << r.err;
  }
  RunResult none = Run("xyzzy");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("unknown command 'xyzzy'"), std::string::npos) << none.err;
  EXPECT_EQ(none.err.find("did you mean"), std::string::npos) << none.err;
}

TEST_F(CliTest, BashCompletion) {
  const std::string script = test::SourcePath("scripts/completion/ftcodec.bash");
  const auto complete = [&](const std::string& words) {
    const std::string cmd = "bash -c 'source \"" + script + "\"; COMP_WORDS=(" +
                            std::string(FTC_CLI_PATH) + " " + words +
                            "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _ftcodec; "
                            "echo \"${COMPREPLY[*]}\"' > '" +
                            Path("c.txt") + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return ReadText(Path("c.txt"));
  };
  EXPECT_EQ(complete("e"), "enc\n");
  EXPECT_EQ(complete("l"), "lose\n");
  const std::string enc = complete("enc x.npy --b");
  EXPECT_NE(enc.find("--bits"), std::string::npos) << enc;
  EXPECT_NE(enc.find("--band-rows"), std::string::npos) << enc;
  EXPECT_EQ(complete("enc x.npy --codec a"), "ans\n");
  EXPECT_EQ(complete("dec x.ftcp --conceal lo"), "lowrank\n");
  EXPECT_NE(complete("dec --f").find("--force"), std::string::npos);
}

TEST_F(CliTest, IoErrorsExit3) {
  RunResult r = Run("enc '" + Path("missing.npy") + "' '" + Path("o.ftc") + "'");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing.npy"), std::string::npos) << r.err;
  const std::string in = WriteSample("x.npy");
  RunResult w = Run("enc '" + in + "' '" + Path("no/such/dir/o.ftc") + "'");
  EXPECT_EQ(w.exit_code, 3);
  EXPECT_NE(w.err.find("no/such/dir/o.ftc"), std::string::npos) << w.err;
  EXPECT_EQ(Run("info '" + dir_ + "'").exit_code, 3);
}

TEST_F(CliTest, CorruptInputExit2AndNoPartialOutput) {
  const std::string in = WriteSample("x.npy");
  ASSERT_EQ(Run("enc '" + in + "' '" + Path("x.ftc") + "'").exit_code, 0);
  std::vector<uint8_t> b = test::ReadFileBytes(Path("x.ftc"));
  b[60] ^= 0x20;  // inside frame 0's data section
  test::WriteFileBytes(Path("bad.ftc"), b);
  RunResult d = Run("dec '" + Path("bad.ftc") + "' '" + Path("out.npy") + "'");
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.err.find("checksum mismatch"), std::string::npos) << d.err;
  EXPECT_FALSE(Exists(Path("out.npy")));
  EXPECT_EQ(CountStrayFiles("x.npy;x.ftc;bad.ftc;"), 0);
  // An existing output file is left untouched by a failed run (-f: replacing it is allowed).
  test::WriteFileBytes(Path("keep.npy"), {1, 2, 3});
  EXPECT_EQ(Run("dec -f '" + Path("bad.ftc") + "' '" + Path("keep.npy") + "'").exit_code, 2);
  EXPECT_EQ(test::ReadFileBytes(Path("keep.npy")), (std::vector<uint8_t>{1, 2, 3}));
  // Truncated file, info too.
  b = test::ReadFileBytes(Path("x.ftc"));
  b.resize(b.size() - 3);
  test::WriteFileBytes(Path("cut.ftc"), b);
  RunResult i = Run("info '" + Path("cut.ftc") + "'");
  EXPECT_EQ(i.exit_code, 2);
  EXPECT_NE(i.err.find("frame 1"), std::string::npos) << i.err;
}

TEST_F(CliTest, BadNpyExit2) {
  test::WriteFileBytes(Path("bad.npy"), {'n', 'o', 't', ' ', 'n', 'p', 'y'});
  RunResult r = Run("enc '" + Path("bad.npy") + "' '" + Path("o.ftc") + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.npy"), std::string::npos) << r.err;
  EXPECT_FALSE(Exists(Path("o.ftc")));
}

TEST_F(CliTest, NpyFloat64IsConvertedWithANote) {
  const std::string f64 = test::SourcePath("tests/data/npy");
  // Written by NumPy: a little-endian float64 array.
  DIR* d = opendir(f64.c_str());
  ASSERT_NE(d, nullptr);
  std::string found;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.find("f8") != std::string::npos && n.find("le") != std::string::npos &&
        n.find(".npy") != std::string::npos) {
      found = f64 + "/" + n;
    }
  }
  closedir(d);
  ASSERT_FALSE(found.empty());
  RunResult r = Run("enc '" + found + "' '" + Path("o.ftc") + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("float64; converted to float32"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ftc

namespace ftc {
namespace {

TEST_F(CliTest, InfoDescribesPacketStreams) {
  const std::string in = WriteSample("x.npy");
  RunResult e =
      Run("enc '" + in + "' '" + Path("x.ftcp") + "' --codec ans --bits 4 --packet-size 200");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  RunResult i = Run("info '" + Path("x.ftcp") + "'");
  ASSERT_EQ(i.exit_code, 0) << i.err;
  EXPECT_NE(i.out.find("packet stream"), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("packet 0: "), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("codec ans"), std::string::npos) << i.out;
  RunResult j = Run("info --json '" + Path("x.ftcp") + "'");
  ASSERT_EQ(j.exit_code, 0);
  EXPECT_NE(j.out.find("\"kind\": \"packets\""), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"valid\": true"), std::string::npos) << j.out;
  // A corrupted packet is listed as invalid, with its problem named.
  std::vector<uint8_t> b = test::ReadFileBytes(Path("x.ftcp"));
  b[10] ^= 0xFF;
  test::WriteFileBytes(Path("bad.ftcp"), b);
  RunResult k = Run("info '" + Path("bad.ftcp") + "'");
  EXPECT_EQ(k.exit_code, 0) << k.err;
  EXPECT_NE(k.out.find("INVALID"), std::string::npos) << k.out;
}

}  // namespace
}  // namespace ftc

namespace ftc {
namespace {

// A live stream (`enc --live`): the samples of an N-first tensor of any rank 2 to 4 one by one;
// `dec` gives the N samples back, equal to the frame decode of each.
TEST_F(CliTest, LiveStreamOfAnNFirstTensor) {
  Tensor t = Tensor::Create(DType::kF32, {4, 9, 16}).value();  // N × T × D, as a transformer's
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    t.data_as<float>()[i] = static_cast<float>((i * 37) % 11) * 0.25f;
  }
  test::WriteFileBytes(Path("t.npy"), WriteNpy(t.view()).value());
  RunResult e = Run("enc '" + Path("t.npy") + "' '" + Path("t.ftcp") +
                    "' --codec ans --bits 4 --packet-size 100 --live --stream-id 77");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.err.find("per sample"), std::string::npos) << e.err;
  RunResult i = Run("info '" + Path("t.ftcp") + "'");
  EXPECT_NE(i.out.find("f32 9x16, codec ans, stream 0000004d, live stream"), std::string::npos)
      << i.out;
  RunResult d = Run("dec '" + Path("t.ftcp") + "' '" + Path("r.npy") + "'");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const std::vector<uint8_t> bytes = test::ReadFileBytes(Path("r.npy"));
  NpyArray r = ReadNpy(bytes.data(), bytes.size()).value();
  ASSERT_EQ(r.tensor.shape(), (Shape{4, 9, 16}));
  for (int n = 0; n < 4; ++n) {
    const TensorView sample =
        TensorView::Contiguous(t.data_as<float>() + n * 144, DType::kF32, {9, 16});
    EncoderOptions o;
    o.codec = "ans";
    o.bits = 4;
    Tensor ref = decode(encode(sample, o).value()).value();
    EXPECT_EQ(std::memcmp(ref.data(), r.tensor.data_as<float>() + n * 144, 144 * sizeof(float)), 0)
        << "sample " << n;
  }
  // --live is packet mode only.
  RunResult bad = Run("enc '" + Path("t.npy") + "' '" + Path("t.ftc") + "' --live");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--live"), std::string::npos) << bad.err;
}

// Sample streams: `enc --stream` (or a .ftcs output) writes one, `dec` and `info` recognise it
// by its bytes; a corrupt record exits 2 naming it and writes nothing; --stream excludes packet
// mode.
TEST_F(CliTest, SampleStreamEncodeDecodeInfo) {
  const std::string src = WriteSample("x.npy");
  RunResult r = Run("enc " + src + " " + Path("s.ftcs") + " --codec ans --bits 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("sample stream of 2 samples"), std::string::npos) << r.err;
  ASSERT_EQ(
      Run("enc " + src + " " + Path("named.bin") + " --codec ans --bits 4 --stream").exit_code, 0);
  EXPECT_EQ(test::ReadFileBytes(Path("named.bin")), test::ReadFileBytes(Path("s.ftcs")));
  ASSERT_EQ(Run("enc " + src + " " + Path("f.ftc") + " --codec ans --bits 4").exit_code, 0);
  ASSERT_EQ(Run("dec " + Path("named.bin") + " " + Path("s.npy")).exit_code, 0);
  ASSERT_EQ(Run("dec " + Path("f.ftc") + " " + Path("f.npy")).exit_code, 0);
  EXPECT_EQ(test::ReadFileBytes(Path("s.npy")), test::ReadFileBytes(Path("f.npy")));
  r = Run("info " + Path("s.ftcs"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sample stream, 2 records"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("samples: f32 3x5x7, codec ans"), std::string::npos) << r.out;
  std::vector<uint8_t> bad = test::ReadFileBytes(Path("s.ftcs"));
  bad[bad.size() - 6] ^= 0x10;  // inside the last record
  test::WriteFileBytes(Path("bad.ftcs"), bad);
  r = Run("dec " + Path("bad.ftcs") + " " + Path("bad.npy"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("record 1"), std::string::npos) << r.err;
  EXPECT_FALSE(Exists(Path("bad.npy")));
  EXPECT_EQ(Run("info " + Path("bad.ftcs")).exit_code, 2);
  r = Run("enc " + src + " " + Path("p.ftcs") + " --codec ans --packet-size 300");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("exclude each other"), std::string::npos) << r.err;
}

class ProfileCliTest : public CliTest {
 protected:
  std::string Golden(const std::string& name) const {
    return "'" + test::SourcePath("data/golden/" + name) + "'";
  }
  void WriteText(const std::string& name, const std::string& text) const {
    std::ofstream(Path(name)) << text;
  }
};

TEST_F(ProfileCliTest, EncAndDecWithAProfile) {
  const std::string plan = Golden("src/plan_relu_8ch.json");
  RunResult e =
      Run("enc " + Golden("src/g_relu_2x8x7x9.npy") + " " + Path("a.ftc") + " --profile " + plan);
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(test::ReadFileBytes(Path("a.ftc")),
            test::ReadFileBytes(test::SourcePath("data/golden/ans_plan_relu.ftc")));
  // Planned frames need the plan: a usage error naming the plan id without it.
  RunResult d = Run("dec " + Path("a.ftc") + " " + Path("a.npy"));
  EXPECT_EQ(d.exit_code, 1) << d.err;
  EXPECT_NE(d.err.find("--profile"), std::string::npos) << d.err;
  EXPECT_FALSE(Exists(Path("a.npy")));
  // Another plan: exit 2, "plan mismatch".
  RunResult m = Run("dec " + Path("a.ftc") + " " + Path("a.npy") + " --profile " +
                    Golden("src/plan_bn_4ch.json"));
  EXPECT_EQ(m.exit_code, 2) << m.err;
  EXPECT_NE(m.err.find("plan mismatch"), std::string::npos) << m.err;
  RunResult ok = Run("dec " + Path("a.ftc") + " " + Path("a.npy") + " --profile " + plan);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  // --bits overrides the profile's quantizer: the plan is not used, and a note says so.
  RunResult o = Run("enc " + Golden("src/g_relu_2x8x7x9.npy") + " " + Path("b.ftc") +
                    " --profile " + plan + " --bits 3");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.err.find("not used"), std::string::npos) << o.err;
  RunResult i = Run("info " + Path("b.ftc"));
  EXPECT_NE(i.out.find("mode=quantized, bits=3"), std::string::npos) << i.out;
}

TEST_F(ProfileCliTest, BadProfilesExit2NamingTheField) {
  const std::string src = Golden("src/g_relu_2x8x7x9.npy");
  // Made for another tensor shape.
  RunResult s =
      Run("enc " + src + " " + Path("a.ftc") + " --profile " + Golden("src/plan_bn_4ch.json"));
  EXPECT_EQ(s.exit_code, 2) << s.err;
  EXPECT_NE(s.err.find("sample_shape 4x6x6 does not match the input's samples 8x7x9"),
            std::string::npos)
      << s.err;
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"{\"ftcodec_profile\": 1, \"sample_shape\": [8, 7, 9], \"settings\": {\"codec\": \"ans\", "
       "\"bits\": 99}}",
       "settings.bits"},
      {"{\"ftcodec_profile\": 4, \"sample_shape\": [8, 7, 9]}", "version 4 is not supported"},
      {"{\"ftcodec_profile\": 1, \"sample_shape\": [8, 7, 9], \"settings\": {\"codec\": \"ans\"},"
       " \"plan\": {\"channels\": [{\"kind\": \"signed\", \"step\": 0.5, \"offset\": 0}]}}",
       "plan.channels"},
      {"not json", "not valid JSON"},
  };
  for (const Case& c : cases) {
    WriteText("p.json", c.text);
    RunResult r = Run("enc " + src + " " + Path("a.ftc") + " --profile " + Path("p.json"));
    EXPECT_EQ(r.exit_code, 2) << c.text << "\n" << r.err;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << r.err;
    EXPECT_FALSE(Exists(Path("a.ftc")));
  }
  RunResult missing = Run("enc " + src + " " + Path("a.ftc") + " --profile " + Path("none.json"));
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
}

TEST_F(ProfileCliTest, TargetBytesIsNeverExceeded) {
  const std::string src = "'" + test::SourcePath("data/features/fmnist_s1_relu.npy") + "'";
  for (const char* target : {"700", "1500", "3000"}) {
    RunResult e = Run("enc -f " + src + " " + Path("a.ftc") +
                      " --codec ans --bits 8 --target-bytes " + target);
    ASSERT_EQ(e.exit_code, 0) << e.err;
    RunResult i = Run("info --json " + Path("a.ftc"));
    ASSERT_EQ(i.exit_code, 0);
    // Every frame's size: the "size" after each frame's "index".
    size_t at = 0;
    int frames = 0;
    while ((at = i.out.find("\"index\": ", at)) != std::string::npos) {
      at = i.out.find("\"size\": ", at);
      ASSERT_NE(at, std::string::npos);
      at += 8;
      EXPECT_LE(std::strtol(i.out.c_str() + at, nullptr, 10), std::atol(target));
      ++frames;
    }
    EXPECT_GE(frames, 32);
  }
  RunResult tiny = Run("enc " + src + " " + Path("b.ftc") + " --codec ans --target-bytes 30");
  EXPECT_EQ(tiny.exit_code, 2) << tiny.err;
  EXPECT_NE(tiny.err.find("cannot be met"), std::string::npos) << tiny.err;
  EXPECT_FALSE(Exists(Path("b.ftc")));
  RunResult raw = Run("enc " + src + " " + Path("b.ftc") + " --codec raw --target-bytes 3000");
  EXPECT_EQ(raw.exit_code, 1) << raw.err;
}

}  // namespace
}  // namespace ftc

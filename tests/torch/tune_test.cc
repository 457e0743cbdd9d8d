// `ftcodec tune` end to end on the bundled reference model: a profile that enc/dec apply, and the
// bad-input cases (near-chance inputs, a tail that refuses the head's output, the test split).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "ftcodec/profile.h"
#include "tests/test_util.h"
#include "tests/torch/run_cli.h"

namespace ftc {
namespace {

bool HaveFashionMnist() {
  return std::ifstream("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").good();
}

std::string Models(const std::string& file) {
  return "'" + test::SourcePath("data/models/" + file) + "'";
}

TEST(TuneTest, WritesAProfileThatEncAndDecApply) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = test::MakeTempDir();
  test::CliRun r = test::RunCli(
      dir, "tune --model fmnist_resnet:s1 --limit 64 --max-drop 3 --threads 2 --out p.json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("chose"), std::string::npos) << r.out;
  Result<Profile> p = LoadProfile(dir + "/p.json");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->model, "fmnist_resnet:s1");
  EXPECT_EQ(p->sample_shape, (Shape{64, 14, 14}));
  EXPECT_EQ(p->head_hash.size(), 32u);
  EXPECT_EQ(p->calibration.samples, 64);
  EXPECT_EQ(p->calibration.data, "fashion-mnist train");
  EXPECT_GE(p->calibration.top1, p->calibration.top1_uncompressed - 3.0);
  EXPECT_NE(p->command.find("tune"), std::string::npos);
  // The bundled features code and decode with it.
  const std::string feats = "'" + test::SourcePath("data/features/fmnist_s1_relu.npy") + "'";
  test::CliRun e = test::RunCli(dir, "enc " + feats + " f.ftc --profile p.json");
  ASSERT_EQ(e.code, 0) << e.out;
  test::CliRun d = test::RunCli(dir, "dec f.ftc f.npy --profile p.json");
  ASSERT_EQ(d.code, 0) << d.out;
  // The profile names a concealment method for its model, which dec --conceal auto (the
  // default) applies to a lossy packet stream: the summary names it.
  EXPECT_TRUE(ParseConcealMethod(p->conceal).ok()) << "'" << p->conceal << "'";
  EXPECT_NE(r.out.find("concealment: " + p->conceal), std::string::npos) << r.out;
  ASSERT_EQ(
      test::RunCli(dir, "enc " + feats + " f.ftcp --codec ans --bits 4 --packet-size 300").code, 0);
  ASSERT_EQ(test::RunCli(dir, "lose f.ftcp l.ftcp --model iid --rate 0.3 --seed 1").code, 0);
  test::CliRun c = test::RunCli(dir, "dec l.ftcp l.npy --profile p.json");
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_NE(c.out.find("concealed by " + p->conceal), std::string::npos) << c.out;
  Profile other = *p;
  other.conceal = p->conceal == "zero" ? "mean" : "zero";
  const std::string q = ProfileToJson(other);
  test::WriteFileBytes(dir + "/q.json", std::vector<uint8_t>(q.begin(), q.end()));
  test::CliRun z = test::RunCli(dir, "dec l.ftcp z.npy --profile q.json");
  ASSERT_EQ(z.code, 0) << z.out;
  EXPECT_NE(z.out.find("concealed by " + other.conceal), std::string::npos) << z.out;
  test::CliRun none = test::RunCli(dir, "dec l.ftcp n.npy");
  EXPECT_NE(none.out.find("concealed by linear"), std::string::npos) << none.out;
  // The output exists already: replaced only with --force.
  test::CliRun again =
      test::RunCli(dir, "tune --model fmnist_resnet:s1 --limit 64 --max-drop 3 --out p.json");
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("--force"), std::string::npos) << again.out;
}

TEST(TuneTest, NearChanceInputsAreRefusedWithTheFix) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = test::MakeTempDir();
  // The reference head expects 0..255 pixels: scaled to [0, 1] it sees a blank image.
  test::CliRun r = test::RunCli(dir,
                                "tune --model fmnist_resnet:s1 --limit 200 --max-drop 0.5 "
                                "--input-scale 0.00392156862745098 --out p.json");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("chance"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--input-scale"), std::string::npos) << r.out;
  EXPECT_FALSE(std::ifstream(dir + "/p.json").good());
  // bench refuses the same before its sweep.
  test::CliRun b = test::RunCli(dir,
                                "bench --model fmnist_resnet:s1 --limit 100 --quick --codecs ans "
                                "--input-scale 0.00392156862745098 --out b");
  EXPECT_EQ(b.code, 2) << b.out;
  EXPECT_NE(b.out.find("chance"), std::string::npos) << b.out;
}

TEST(TuneTest, TailThatRefusesTheHeadsOutputNamesTheShapes) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = test::MakeTempDir();
  test::CliRun r = test::RunCli(dir, "tune --head " + Models("fmnist_resnet_s1_head.pt") +
                                         " --tail " + Models("fmnist_resnet_s2_tail.pt") +
                                         " --limit 16 --max-drop 1 --out p.json");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("does not accept the head's output"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("64x14x14"), std::string::npos) << r.out;
}

TEST(TuneTest, UsageErrors) {
  const std::string dir = test::MakeTempDir();
  const char* const cases[] = {
      "tune --model fmnist_resnet:s1 --out p.json",                                  // no goal
      "tune --model fmnist_resnet:s1 --max-drop 1 --target-bytes 500 --out p.json",  // two goals
      "tune --model fmnist_resnet:s1 --max-drop 1 --split test --out p.json",        // test split
      "tune --max-drop 1 --out p.json",                                              // no model
      "tune --model fmnist_resnet:s1 --max-drop 1 --input-scale -2 --out p.json",
  };
  for (const char* args : cases) {
    test::CliRun r = test::RunCli(dir, args);
    EXPECT_EQ(r.code, 1) << args << "\n" << r.out;
  }
}

}  // namespace
}  // namespace ftc

namespace ftc {
namespace {

// --out is never given to a shell: quotes, spaces and shell syntax in it are just a folder name.
TEST(BenchOutTest, OutputFolderWithQuotesIsNotAShellCommand) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = test::MakeTempDir();
  const std::string out = "q'; touch PWNED; echo 'it''s out";
  test::CliRun r = test::RunCli(dir,
                                "bench --model fmnist_resnet:s1 --limit 20 --quick --codecs ans "
                                "--bits 2 --clips none --out \"" +
                                    out + "\"");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_FALSE(std::ifstream(dir + "/PWNED").good()) << "the folder name ran as a command";
  EXPECT_TRUE(std::ifstream(dir + "/" + out + "/rate_accuracy.csv").good());
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    EXPECT_TRUE(std::ifstream(dir + "/" + out + "/rate_accuracy.png").good()) << r.out;
  }
}

}  // namespace
}  // namespace ftc

// `ftcodec bench`: the per-setting bookkeeping (bytes per sample with headers, accuracy on a
// known case), the sweep and summary, the cloud-only PNG coder, IDX reading, and the CLI run end
// to end on a head/tail pair made here (not ours), on --features/--labels, plus the example.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/script.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "bench/harness/cloud_only.h"
#include "bench/harness/fmnist_idx.h"
#include "bench/harness/loss_accuracy.h"
#include "bench/harness/rate_accuracy.h"
#include "bench/harness/report.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "ftcodec/profile.h"
#include "ftcodec/torch.h"
#include "tests/test_util.h"
#include "tests/torch/run_cli.h"

namespace ftc::bench {
namespace {

// Arg-max over channels of per-channel sums (what the TorchScript tail below computes).
std::vector<int> ChannelArgMax(const TensorView& f) {
  const int64_t n = f.shape[0], c = f.shape[1], hw = f.num_elements() / (n * c);
  std::vector<int> out;
  for (int64_t i = 0; i < n; ++i) {
    int best = 0;
    double best_sum = -1e300;
    for (int64_t k = 0; k < c; ++k) {
      double s = 0;
      for (int64_t j = 0; j < hw; ++j) s += LoadAsFloat(f, (i * c + k) * hw + j);
      if (s > best_sum) best_sum = s, best = static_cast<int>(k);
    }
    out.push_back(best);
  }
  return out;
}

// N samples of C×3×3 with a single hot channel (i*3 % C); labels right for the first `correct`.
struct KnownCase {
  Tensor features;
  std::vector<int> labels;
};
KnownCase MakeKnownCase(int n, int c, int correct) {
  KnownCase k;
  k.features = Tensor::Create(DType::kF32, {n, c, 3, 3}).value();
  float* p = k.features.data_as<float>();
  for (int i = 0; i < n; ++i) {
    const int hot = (i * 3) % c;
    for (int j = 0; j < 9; ++j) p[(i * c + hot) * 9 + j] = 1.0f + 0.1f * static_cast<float>(j);
    k.labels.push_back(i < correct ? hot : (hot + 1) % c);
  }
  return k;
}

std::string SaveModule(const std::string& path, const std::string& source) {
  torch::jit::Module m("m");
  m.define(source);
  m.save(path);
  return path;
}

constexpr const char* kSumTail = R"(
def forward(self, f):
    return f.sum(dim=[2, 3])
)";
// 28×28 images -> 10×7×7 features: channel k is the 4×-subsampled image scaled by a k-dependent
// factor, so the sum tail's arg-max depends on the image.
constexpr const char* kTinyHead = R"(
def forward(self, x):
    y = x[:, :, ::4, ::4] / 255.0
    return torch.cat([y * (1.0 - 0.1 * float(k)) + (y * y) * (0.2 * float(k)) for k in range(10)], 1)
)";

TEST(RateAccuracyTest, CountsEveryBytePerSampleWithHeaders) {
  const KnownCase k = MakeKnownCase(7, 10, 5);
  const FeatureClassifier tail = [](const TensorView& f) -> Result<std::vector<int>> {
    return ChannelArgMax(f);
  };
  for (const char* codec : {"raw", "ans"}) {
    EncoderOptions o;
    o.codec = codec;
    o.bits = 2;
    Result<SettingTally> t = EvaluateSetting(k.features.view(), k.labels, tail, o);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->samples, 7);
    EXPECT_EQ(t->correct, 5);  // one-hot channels survive 2-bit min-max quantization
    // Each sample is its own stream: its size is what encode() of a batch of one returns, and
    // probe() sees one frame of that size (header and checksums included).
    uint64_t expected = 0;
    for (int i = 0; i < 7; ++i) {
      TensorView s = k.features.view();
      s.shape[0] = 1;
      s.data = k.features.data() + i * 10 * 9 * 4;
      Result<Bytes> code = encode(s, o);
      ASSERT_TRUE(code.ok());
      Result<StreamInfo> info = probe(*code);
      ASSERT_TRUE(info.ok());
      ASSERT_EQ(info->frames.size(), 1u);
      EXPECT_EQ(info->frames[0].size, code->size());
      expected += code->size();
    }
    EXPECT_EQ(t->bytes, expected);
    if (std::string(codec) == "raw") {
      EXPECT_GT(t->bytes, 7u * 10 * 9 * 4);  // payload plus a header per sample
      EXPECT_EQ(t->squared_error, 0);
    }
    const SettingMetrics m =
        Finish({codec, codec, "x", o, false, false, {}, {}, -1}, *t, 90, 100.0);
    EXPECT_DOUBLE_EQ(m.top1, 500.0 / 7);
    EXPECT_DOUBLE_EQ(m.top1_drop, 100.0 - 500.0 / 7);
    EXPECT_DOUBLE_EQ(m.top1_stderr, 100 * std::sqrt((5.0 / 7) * (2.0 / 7) / 7));
    EXPECT_DOUBLE_EQ(m.bytes_per_sample, static_cast<double>(expected) / 7);
    EXPECT_DOUBLE_EQ(m.bits_per_element, 8.0 * static_cast<double>(expected) / 7 / 90);
    EXPECT_DOUBLE_EQ(m.ratio_vs_f32, 4.0 * 90 / (static_cast<double>(expected) / 7));
    EXPECT_GE(m.enc_us, 0);
    EXPECT_GE(m.dec_us, 0);
  }
}

TEST(RateAccuracyTest, KnownAccuracyWithATorchScriptTail) {
  const std::string dir = test::MakeTempDir();
  Result<SplitModel> model = SplitModel::LoadTail(SaveModule(dir + "/tail.pt", kSumTail));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const FeatureClassifier tail = [&](const TensorView& f) { return model->Classify(f); };
  const KnownCase k = MakeKnownCase(20, 10, 13);
  EncoderOptions o;
  o.codec = "ans";
  o.bits = 3;
  // In two chunks, merged: the same as one pass.
  SettingTally all;
  for (int first : {0, 12}) {
    const int count = first == 0 ? 12 : 8;
    TensorView v = k.features.view();
    v.shape[0] = count;
    v.data = k.features.data() + first * 10 * 9 * 4;
    const std::vector<int> labels(k.labels.begin() + first, k.labels.begin() + first + count);
    Result<SettingTally> t = EvaluateSetting(v, labels, tail, o);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    all.Merge(*t);
  }
  EXPECT_EQ(all.samples, 20);
  EXPECT_EQ(all.correct, 13);
  EXPECT_EQ(all.predictions, ChannelArgMax(k.features.view()));
  std::system(("rm -rf '" + dir + "'").c_str());
}

TEST(RateAccuracyTest, RejectsMismatchedLabels) {
  const KnownCase k = MakeKnownCase(4, 10, 4);
  const FeatureClassifier tail = [](const TensorView& f) -> Result<std::vector<int>> {
    return ChannelArgMax(f);
  };
  EXPECT_FALSE(EvaluateSetting(k.features.view(), {1, 2}, tail, EncoderOptions{}).ok());
}

TEST(RateAccuracyTest, SweepHasAnchorsFirst) {
  std::vector<std::string> notes;
  SweepConfig c;
  c.codecs = {"ans"};
  c.bits = {2, 4};
  c.clips = {"none", "3sigma/pc"};
  Result<std::vector<SettingSpec>> s = BuildSweep(c, &notes);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_GE(s->size(), 6u);
  EXPECT_EQ((*s)[0].setting, "f32");
  EXPECT_TRUE((*s)[0].anchor);
  EXPECT_EQ((*s)[1].setting, "f16");
  int per_channel = 0;
  for (const SettingSpec& x : *s) per_channel += x.options.per_channel ? 1 : 0;
  EXPECT_EQ(per_channel, 2);
  c.codecs = {"nonsense"};
  EXPECT_FALSE(BuildSweep(c, &notes).ok());
}

TEST(RateAccuracyTest, BestWithinPicksFewestBits) {
  auto row = [](const char* codec, const char* setting, double drop, double bpe) {
    SettingMetrics m;
    m.spec.codec = codec;
    m.spec.series = codec;
    m.spec.setting = setting;
    m.samples = 100;
    m.top1_drop = drop;
    m.bits_per_element = bpe;
    return m;
  };
  const std::vector<SettingMetrics> rows = {row("ans", "b8", 0.0, 3.0), row("ans", "b2", 0.4, 0.9),
                                            row("ans", "b1", 0.8, 0.4), row("jpeg", "q5", 3, 1)};
  std::vector<BestSetting> half = BestWithin(rows, 0.5);
  ASSERT_EQ(half.size(), 2u);
  EXPECT_EQ(half[0].metrics.spec.setting, "b2");
  EXPECT_FALSE(half[1].found);
  std::vector<BestSetting> one = BestWithin(rows, 1.0);
  EXPECT_EQ(one[0].metrics.spec.setting, "b1");
}

TEST(CloudOnlyTest, PngRoundTrip) {
  std::vector<uint8_t> px(28 * 28);
  for (int i = 0; i < 28 * 28; ++i) px[i] = static_cast<uint8_t>((i * 37) % 251 * ((i / 28) % 3));
  Result<std::vector<uint8_t>> png = EncodePngGray8(px.data(), 28, 28);
  ASSERT_TRUE(png.ok());
  Result<GrayImage> back = DecodePngGray8(png->data(), png->size());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->width, 28);
  EXPECT_EQ(back->pixels, px);
  // A flat image is tiny: signature + IHDR + a few IDAT bytes + IEND.
  std::vector<uint8_t> flat(28 * 28, 0);
  Result<std::vector<uint8_t>> small = EncodePngGray8(flat.data(), 28, 28);
  ASSERT_TRUE(small.ok());
  EXPECT_LT(small->size(), 80u);
  // Corruption is caught by the chunk CRCs.
  std::vector<uint8_t> bad = *png;
  bad[40] ^= 1;
  EXPECT_FALSE(DecodePngGray8(bad.data(), bad.size()).ok());
  EXPECT_FALSE(DecodePngGray8(png->data(), png->size() - 5).ok());
}

TEST(CloudOnlyTest, JpegAnchor) {
  if (!HaveJpegAnchor()) GTEST_SKIP() << "built without libjpeg-turbo";
  std::vector<uint8_t> px(28 * 28, 128);
  Result<std::vector<uint8_t>> jpg = EncodeJpegGray8(px.data(), 28, 28, 90);
  ASSERT_TRUE(jpg.ok());
  Result<GrayImage> back = DecodeJpegGray8(jpg->data(), jpg->size());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->pixels.size(), px.size());
  EXPECT_NEAR(back->pixels[100], 128, 2);
}

TEST(IdxTest, ParsesAndRejects) {
  std::vector<uint8_t> idx = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3};
  for (int i = 0; i < 12; ++i) idx.push_back(static_cast<uint8_t>(i));
  Result<Tensor> t = ParseIdx(idx.data(), idx.size(), "x");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(t->data()[11], 11);
  EXPECT_FALSE(ParseIdx(idx.data(), idx.size() - 1, "x").ok());  // short data
  idx[2] = 0x0D;                                                 // float data
  EXPECT_EQ(ParseIdx(idx.data(), idx.size(), "x").status().code(), StatusCode::kUnsupported);
  EXPECT_FALSE(ParseIdx(idx.data(), 6, "x").ok());
}

TEST(ReportTest, CsvHasTheContractColumns) {
  BenchReport r;
  r.samples = 10;
  r.elements_per_sample = 90;
  r.feature_shape = {10, 3, 3};
  r.reference_top1 = 80;
  SettingMetrics m;
  m.spec = {"ans", "ans none", "b2", {}, false, false, {}, {}, -1};
  m.samples = 10;
  m.top1 = 70;
  m.top1_drop = 10;
  m.bytes_per_sample = 50;
  r.rows.push_back(m);
  const std::string csv = FormatCsv(r);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "codec,setting,samples,top1,top1_drop,top1_stderr,bytes_per_sample,bits_per_element,"
            "ratio_vs_f32,enc_us,dec_us,series,anchor,feature_rmse,exit_threshold,device_share,"
            "server_us_b1,server_us_b64");
  EXPECT_NE(csv.find("\nans,b2,10,70,10,"), std::string::npos) << csv;
  const std::string gp = GnuplotScript(r, "a.png", "a.svg");
  EXPECT_NE(gp.find("set logscale x"), std::string::npos);
  EXPECT_NE(gp.find("pngcairo"), std::string::npos);
  EXPECT_NE(gp.find("set terminal svg"), std::string::npos);
  EXPECT_NE(gp.find("title \"ans none\""), std::string::npos);
}

// A report whose rows all have the given top-1 (the reference included).
BenchReport ReportWithTop1(double top1) {
  BenchReport r;
  r.model = "m";
  r.samples = 200;
  r.elements_per_sample = 90;
  r.feature_shape = {10, 3, 3};
  r.reference_top1 = top1;
  const char* const settings[] = {"f32", "b2", "b4"};
  for (int i = 0; i < 3; ++i) {
    SettingMetrics m;
    m.spec = {i == 0 ? "raw" : "ans",
              i == 0 ? "raw" : "ans none",
              settings[i],
              {},
              i == 0,
              false,
              {},
              {},
              -1};
    m.samples = 200;
    m.top1 = i == 1 ? std::max(0.0, top1 - 0.5) : top1;
    m.bytes_per_sample = 400.0 / (i + 1);
    r.rows.push_back(m);
  }
  return r;
}

// The plot script is valid whatever the top-1, including 0 and under 1% (the line 1 point below
// the reference used to lose its value there: "plot 0.5 with lines ..., with lines ...").
TEST(ReportTest, PlotScriptIsValidForAnyTop1) {
  const bool have_gnuplot = std::system("command -v gnuplot >/dev/null 2>&1") == 0;
  const std::string dir = test::MakeTempDir();
  for (double top1 : {0.0, 0.25, 0.5, 0.99, 1.0, 1.5, 50.0, 99.5, 100.0}) {
    SCOPED_TRACE(top1);
    const BenchReport r = ReportWithTop1(top1);
    const std::string gp = GnuplotScript(r, dir + "/p.png", dir + "/p.svg");
    EXPECT_EQ(gp.find(", with"), std::string::npos) << gp;
    EXPECT_EQ(gp.find("plot  with"), std::string::npos) << gp;
    EXPECT_EQ(gp.find("nan"), std::string::npos) << gp;
    EXPECT_EQ(gp.find("inf"), std::string::npos) << gp;
    const size_t at = gp.find("set yrange [");
    ASSERT_NE(at, std::string::npos) << gp;
    double lo = -1, hi = -1;
    ASSERT_EQ(std::sscanf(gp.c_str() + at, "set yrange [%lf:%lf]", &lo, &hi), 2) << gp;
    EXPECT_GE(lo, 0);
    EXPECT_LE(hi, 100);
    EXPECT_LT(lo, hi);
    EXPECT_LE(lo, top1 - 0.5 < 0 ? 0 : top1 - 0.5) << "every point is in range";
    EXPECT_GE(hi, top1);
    EXPECT_EQ(gp.find("1 point below") != std::string::npos, top1 >= 1.0) << gp;
    if (have_gnuplot) {
      std::remove((dir + "/p.png").c_str());
      Result<bool> made = WritePlot(r, dir + "/p");
      if (!made.ok()) {
        std::stringstream log;
        log << std::ifstream(dir + "/p.gnuplot.log").rdbuf();
        FAIL() << made.status().ToString() << "\n" << log.str() << "\n" << gp;
      }
      EXPECT_TRUE(*made);
      EXPECT_TRUE(std::ifstream(dir + "/p.png").good());
    }
  }
  std::system(("rm -rf '" + dir + "'").c_str());
}

// ---- the CLI end to end ----

using test::CliRun;
using test::RunCli;

std::vector<std::vector<std::string>> ReadCsv(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(f, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

void WriteGz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
}

class BenchCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir();
    head_ = SaveModule(dir_ + "/tiny_head.pt", kTinyHead);
    tail_ = SaveModule(dir_ + "/tiny_tail.pt", kSumTail);
    // A Fashion-MNIST-shaped test set of 30 images: gzipped images, plain labels.
    std::vector<uint8_t> images = {0, 0, 8, 3, 0, 0, 0, 30, 0, 0, 0, 28, 0, 0, 0, 28};
    std::vector<uint8_t> labels = {0, 0, 8, 1, 0, 0, 0, 30};
    for (int i = 0; i < 30; ++i) {
      for (int p = 0; p < 784; ++p) {
        const int y = p / 28, x = p % 28;
        images.push_back(static_cast<uint8_t>(((x * (i + 3) + y * 7 + i * 11) % 256) *
                                              ((x + y) % 5 == 0 ? 1 : 0)));
      }
      labels.push_back(static_cast<uint8_t>(i % 10));
    }
    data_ = dir_ + "/fmnist";
    ASSERT_EQ(std::system(("mkdir -p '" + data_ + "'").c_str()), 0);
    WriteGz(data_ + "/t10k-images-idx3-ubyte.gz", images);
    WriteGz(data_ + "/t10k-labels-idx1-ubyte.gz", labels);
    test::WriteFileBytes(data_ + "/t10k-labels-idx1-ubyte", labels);  // ignored: .gz first
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string dir_, head_, tail_, data_;
};

TEST_F(BenchCliTest, RunsOnSomeoneElsesModel) {
  const std::string out = dir_ + "/out";
  CliRun r = RunCli(dir_, "bench --head '" + head_ + "' --tail '" + tail_ + "' --data '" + data_ +
                              "' --limit 24 --batch 10 --codecs ans --bits 2,6 --clips none "
                              "--threads 1 --out '" +
                              out + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto csv = ReadCsv(out + "/rate_accuracy.csv");
  ASSERT_GE(csv.size(), 6u) << r.out;  // header, f32, f16, 2 ans, png (+ jpeg)
  EXPECT_EQ(csv[0][0], "codec");
  std::string ref_top1;
  for (size_t i = 1; i < csv.size(); ++i) {
    EXPECT_EQ(csv[i][2], "24") << "samples column, row " << i;
    if (csv[i][0] == "raw" && csv[i][1] == "f32") ref_top1 = csv[i][3];
    if (csv[i][0] == "cloud-only" && csv[i][1] == "png") {
      EXPECT_EQ(csv[i][3], ref_top1);  // the full model on the original image
      EXPECT_LT(std::stod(csv[i][6]), 784 + 100.0);
    }
  }
  EXPECT_FALSE(ref_top1.empty());
  // The f32 row: exactly 4 bytes per element plus a small header per sample.
  EXPECT_GT(std::stod(csv[1][6]), 490 * 4);
  EXPECT_LT(std::stod(csv[1][6]), 490 * 4 + 200);
  EXPECT_TRUE(std::ifstream(out + "/rate_accuracy.json").good());
  EXPECT_NE(r.out.find("fewest bits per element"), std::string::npos) << r.out;
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    EXPECT_TRUE(std::ifstream(out + "/rate_accuracy.png").good()) << r.out;
    EXPECT_TRUE(std::ifstream(out + "/rate_accuracy.svg").good()) << r.out;
  }
}

TEST_F(BenchCliTest, RunsOnFeaturesAndLabels) {
  const KnownCase k = MakeKnownCase(16, 10, 12);
  test::WriteFileBytes(dir_ + "/f.npy", WriteNpy(k.features.view()).value());
  std::vector<uint8_t> labels(k.labels.begin(), k.labels.end());
  test::WriteFileBytes(dir_ + "/l.npy",
                       WriteNpy(TensorView::Contiguous(labels.data(), DType::kU8, {16})).value());
  const std::string out = dir_ + "/out";
  CliRun r = RunCli(
      dir_, "bench --tail '" + tail_ + "' --features '" + dir_ + "/f.npy' --labels '" + dir_ +
                "/l.npy' --codecs ans --bits 2 --clips 3sigma --out '" + out + "' --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto csv = ReadCsv(out + "/rate_accuracy.csv");
  // header, f32, f16, ans lossless, ans b2: no cloud-only rows.
  ASSERT_EQ(csv.size(), 5u) << r.out;
  for (size_t i = 1; i < csv.size(); ++i) {
    EXPECT_NE(csv[i][0], "cloud-only");
    EXPECT_EQ(csv[i][2], "16");
    EXPECT_EQ(csv[i][3], "75") << "top-1 is 12 of 16";
    EXPECT_NEAR(std::stod(csv[i][5]), 100 * std::sqrt(0.75 * 0.25 / 16), 0.01) << csv[i][5];
  }
  // --limit applies to features too.
  r = RunCli(dir_, "bench --tail '" + tail_ + "' --features '" + dir_ + "/f.npy' --labels '" +
                       dir_ + "/l.npy' --codecs raw --limit 8 --out '" + out + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(ReadCsv(out + "/rate_accuracy.csv")[1][3], "100");  // the first 12 are right
}

TEST_F(BenchCliTest, SavesTheHeadsFeaturesAndLabelsThatBenchReadsBack) {
  const std::string saved = dir_ + "/saved";
  CliRun r =
      RunCli(dir_, "bench --head '" + head_ + "' --tail '" + tail_ + "' --data '" + data_ +
                       "' --limit 12 --batch 5 --threads 1 --save-features '" + saved + "' -q");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::vector<uint8_t> fbytes = test::ReadFileBytes(saved + "/features.npy");
  const std::vector<uint8_t> lbytes = test::ReadFileBytes(saved + "/labels.npy");
  Result<NpyArray> f = ReadNpy(fbytes.data(), fbytes.size());
  Result<NpyArray> l = ReadNpy(lbytes.data(), lbytes.size());
  ASSERT_TRUE(f.ok() && l.ok());
  ASSERT_EQ(f->tensor.rank(), 4);
  EXPECT_EQ(f->tensor.shape()[0], 12);  // in three batches of at most 5
  EXPECT_EQ(l->tensor.dtype(), DType::kU8);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(l->tensor.data_as<uint8_t>()[i], i % 10);
  // The saved features give the head's own accuracy (the f32 row of a run on the images).
  r = RunCli(dir_, "bench --head '" + head_ + "' --tail '" + tail_ + "' --data '" + data_ +
                       "' --limit 12 --codecs raw --threads 1 --out '" + dir_ + "/a' -q");
  ASSERT_EQ(r.code, 0) << r.out;
  r = RunCli(dir_, "bench --tail '" + tail_ + "' --features '" + saved +
                       "/features.npy' --labels '" + saved + "/labels.npy' --codecs raw --out '" +
                       dir_ + "/b' -q");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(ReadCsv(dir_ + "/a/rate_accuracy.csv")[1][3],
            ReadCsv(dir_ + "/b/rate_accuracy.csv")[1][3]);
}

// N samples of C×3×3 whose channel hot[i] is hot (the sum tail predicts it).
Tensor HotFeatures(const std::vector<int>& hot, int c) {
  const int n = static_cast<int>(hot.size());
  Tensor t = Tensor::Create(DType::kF32, {n, c, 3, 3}).value();
  float* p = t.data_as<float>();
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 9; ++j) p[(i * c + hot[i]) * 9 + j] = 1.0f + 0.1f * static_cast<float>(j);
  }
  return t;
}

// Labels in any integer dtype, and more than 256 classes.
TEST_F(BenchCliTest, LabelsMayBeInt32OrInt64WithManyClasses) {
  std::vector<int> hot;
  std::vector<int64_t> labels;
  for (int i = 0; i < 16; ++i) {
    hot.push_back(299 - 3 * i);                              // classes 254..299 of 300
    labels.push_back(i < 12 ? hot.back() : hot.back() - 1);  // 12 of 16 right
  }
  test::WriteFileBytes(dir_ + "/f.npy", WriteNpy(HotFeatures(hot, 300).view()).value());
  for (const char* descr : {"<i8", "<i4", ">i8", "<u2"}) {
    test::WriteFileBytes(dir_ + "/l.npy", test::IntegerNpy(descr, labels));
    CliRun r = RunCli(dir_, "bench --tail '" + tail_ +
                                "' --features f.npy --labels l.npy --codecs raw --out out -q");
    ASSERT_EQ(r.code, 0) << descr << "\n" << r.out;
    const auto csv = ReadCsv(dir_ + "/out/rate_accuracy.csv");
    ASSERT_GE(csv.size(), 2u) << r.out;
    EXPECT_EQ(csv[1][3], "75") << descr << ": top-1 is 12 of 16";
  }
  // A label that is no class index: exit 2, naming the value and where it is.
  labels[5] = -3;
  test::WriteFileBytes(dir_ + "/l.npy", test::IntegerNpy("<i8", labels));
  CliRun r = RunCli(dir_, "bench --tail '" + tail_ +
                              "' --features f.npy --labels l.npy --codecs raw --out out -q");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("label -3 at index 5"), std::string::npos) << r.out;
  // Labels that do not match the features.
  test::WriteFileBytes(dir_ + "/l.npy", test::IntegerNpy("<i8", {1, 2, 3}));
  r = RunCli(dir_, "bench --tail '" + tail_ +
                       "' --features f.npy --labels l.npy --codecs raw --out out -q");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("labels must be a vector of N = 16"), std::string::npos) << r.out;
}

// An IDX data set of `n` images shaped like the fixture's, with these labels.
void WriteIdxSet(const std::string& dir, const std::string& prefix,
                 const std::vector<uint8_t>& labels) {
  const uint8_t n = static_cast<uint8_t>(labels.size());
  std::vector<uint8_t> images = {0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, 28, 0, 0, 0, 28};
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < 784; ++p) images.push_back(static_cast<uint8_t>((p * (i + 5)) % 256));
  }
  std::vector<uint8_t> idx_labels = {0, 0, 8, 1, 0, 0, 0, n};
  for (uint8_t l : labels) idx_labels.push_back(l);
  ASSERT_EQ(std::system(("mkdir -p '" + dir + "'").c_str()), 0);
  test::WriteFileBytes(dir + "/" + prefix + "-images-idx3-ubyte", images);
  test::WriteFileBytes(dir + "/" + prefix + "-labels-idx1-ubyte", idx_labels);
}

// A label beyond the tail's classes is bad data (exit 2) naming the value and its index, in
// bench (data and features, rate and loss) and tune — not a silent 0% top-1.
TEST_F(BenchCliTest, LabelsOutsideTheTailsClassesAreBadData) {
  std::vector<uint8_t> labels(20, 3);
  labels[7] = 12;  // the tiny tail has 10 classes
  const std::string bad = dir_ + "/bad";
  WriteIdxSet(bad, "t10k", labels);
  WriteIdxSet(bad, "train", labels);
  const std::string model = "--head '" + head_ + "' --tail '" + tail_ + "' ";
  const char* const message = "label 12 at index 7 is outside the tail's 10 classes (0..9)";
  for (const char* extra : {"", " --loss iid:0.1 --conceal zero --loss-seeds 1"}) {
    CliRun r = RunCli(dir_, "bench " + model + "--data bad --codecs raw --out out -q" + extra);
    EXPECT_EQ(r.code, 2) << extra << "\n" << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("t10k-labels-idx1-ubyte"), std::string::npos) << r.out;
  }
  CliRun r = RunCli(dir_, "tune " + model + "--data bad --max-drop 1 --out p.json -q");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find(message), std::string::npos) << r.out;
  EXPECT_FALSE(std::ifstream(dir_ + "/p.json").good());
  // Features and int64 labels: one past the last class.
  const KnownCase k = MakeKnownCase(16, 10, 16);
  test::WriteFileBytes(dir_ + "/f.npy", WriteNpy(k.features.view()).value());
  std::vector<int64_t> l(k.labels.begin(), k.labels.end());
  l[9] = 10;
  test::WriteFileBytes(dir_ + "/l.npy", test::IntegerNpy("<i8", l));
  r = RunCli(dir_, "bench --tail '" + tail_ +
                       "' --features f.npy --labels l.npy --codecs raw --out out -q");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("l.npy: label 10 at index 9 is outside the tail's 10 classes (0..9)"),
            std::string::npos)
      << r.out;
  // The last class itself is fine.
  l[9] = 9;
  test::WriteFileBytes(dir_ + "/l.npy", test::IntegerNpy("<i8", l));
  r = RunCli(dir_, "bench --tail '" + tail_ +
                       "' --features f.npy --labels l.npy --codecs raw --out out -q");
  EXPECT_EQ(r.code, 0) << r.out;
}

// The rows of a rate_accuracy.csv by "codec setting": top-1 and bytes per sample.
std::map<std::string, std::pair<std::string, std::string>> CsvRows(const std::string& path) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  const auto csv = ReadCsv(path);
  for (size_t i = 1; i < csv.size(); ++i) {
    out[csv[i][0] + " " + csv[i][1]] = {csv[i][3], csv[i][6]};
  }
  return out;
}

// --data DIR with inputs.npy + labels.npy measures what the same samples as IDX files measure;
// N×H×W is read as single-channel images, and the input scale applies the same way.
TEST_F(BenchCliTest, DataFolderWithInputsAndLabelsNpy) {
  Result<LabeledImages> idx = ReadIdxDataset(data_, "test", 0);
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  const int64_t n = idx->images.shape()[0];
  std::vector<int64_t> labels(idx->labels.begin(), idx->labels.end());
  const std::string sweep = " --codecs raw,ans --bits 2,4 --clips none --threads 1 -q";
  const std::string model = "--head '" + head_ + "' --tail '" + tail_ + "' ";
  CliRun r = RunCli(dir_, "bench " + model + "--data '" + data_ + "' --out idx_out" + sweep);
  ASSERT_EQ(r.code, 0) << r.out;
  const auto want = CsvRows(dir_ + "/idx_out/rate_accuracy.csv");
  ASSERT_TRUE(want.count("cloud-only png")) << r.out;

  // uint8 N×H×W (as np.save of the IDX array) and int64 labels: every row the same, the
  // cloud-only anchors included.
  const std::string u8 = dir_ + "/u8";
  ASSERT_EQ(std::system(("mkdir '" + u8 + "'").c_str()), 0);
  Tensor images = Tensor::CopyOf(idx->images.view()).value();
  ASSERT_TRUE(images.Reshape({n, 28, 28}).ok());
  test::WriteFileBytes(u8 + "/inputs.npy", WriteNpy(images.view()).value());
  test::WriteFileBytes(u8 + "/labels.npy", test::IntegerNpy("<i8", labels));
  r = RunCli(dir_, "bench " + model + "--data u8 --out u8_out" + sweep);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(CsvRows(dir_ + "/u8_out/rate_accuracy.csv"), want);
  EXPECT_NE(test::ReadFileBytes(dir_ + "/u8_out/rate_accuracy.json").size(), 0u);

  // float32 N×1×H×W holding half the pixel values, and --input-scale 2: the head sees the same
  // pixels, so the features and every coded row are the same; no cloud-only anchors (not 8-bit).
  const std::string f32 = dir_ + "/f32";
  ASSERT_EQ(std::system(("mkdir '" + f32 + "'").c_str()), 0);
  Tensor half = Tensor::Create(DType::kF32, idx->images.shape()).value();
  for (int64_t i = 0; i < half.num_elements(); ++i) {
    half.data_as<float>()[i] = 0.5f * static_cast<float>(idx->images.data()[i]);
  }
  test::WriteFileBytes(f32 + "/inputs.npy", WriteNpy(half.view()).value());
  test::WriteFileBytes(f32 + "/labels.npy", test::IntegerNpy("<i4", labels));
  r = RunCli(dir_, "bench " + model + "--data f32 --input-scale 2 --out f32_out" + sweep);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("cloud-only anchors skipped"), std::string::npos) << r.out;
  auto got = CsvRows(dir_ + "/f32_out/rate_accuracy.csv");
  auto expected = want;
  for (auto it = expected.begin(); it != expected.end();) {
    it = it->first.rfind("cloud-only", 0) == 0 ? expected.erase(it) : std::next(it);
  }
  EXPECT_EQ(got, expected);
  // --limit applies to inputs.npy too.
  r = RunCli(dir_, "bench " + model + "--data f32 --input-scale 2 --limit 7 --out f32_out" + sweep);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(ReadCsv(dir_ + "/f32_out/rate_accuracy.csv")[1][2], "7");

  // tune takes the same folders.
  r = RunCli(dir_, "tune " + model + "--data u8 --max-drop 5 --out p.json -q");
  ASSERT_EQ(r.code, 0) << r.out;
  Result<Profile> p = LoadProfile(dir_ + "/p.json");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->calibration.data, "u8/inputs.npy");  // as --data named it
  EXPECT_EQ(p->calibration.samples, n);
  EXPECT_NEAR(p->calibration.top1_uncompressed, std::stod(want.at("raw f32").first), 1e-3);

  // Bad folders: bad data (exit 2), saying what is wrong.
  const std::string bad = dir_ + "/bad";
  ASSERT_EQ(std::system(("mkdir '" + bad + "'").c_str()), 0);
  test::WriteFileBytes(bad + "/inputs.npy", WriteNpy(half.view()).value());
  for (const std::string& args : {"bench " + model + "--data bad --out o -q",
                                  "tune " + model + "--data bad --max-drop 1 --out o.json -q"}) {
    r = RunCli(dir_, args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("has inputs.npy but no labels.npy"), std::string::npos) << r.out;
  }
  test::WriteFileBytes(bad + "/labels.npy", test::IntegerNpy("<i8", {1, 2}));
  r = RunCli(dir_, "bench " + model + "--data bad --out o -q");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("labels must be a vector of N = " + std::to_string(n)), std::string::npos)
      << r.out;
  std::vector<float> flat(5, 1.0f);
  test::WriteFileBytes(bad + "/inputs.npy",
                       WriteNpy(TensorView::Contiguous(flat.data(), DType::kF32, {5})).value());
  r = RunCli(dir_, "bench " + model + "--data bad --out o -q");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("inputs must have the batch first"), std::string::npos) << r.out;
}

TEST_F(BenchCliTest, ReportsUsageAndFileErrors) {
  CliRun r = RunCli(dir_, "bench --features x.npy --tail '" + tail_ + "'");
  EXPECT_EQ(r.code, 1) << r.out;
  r = RunCli(dir_, "bench --data '" + data_ + "'");
  EXPECT_EQ(r.code, 1) << r.out;
  r = RunCli(dir_, "bench --head '" + head_ + "' --tail '" + dir_ + "/missing.pt' --data '" +
                       data_ + "' --out '" + dir_ + "/o'");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("missing.pt"), std::string::npos) << r.out;
  r = RunCli(dir_, "bench --head '" + head_ + "' --tail '" + tail_ + "' --data '" + dir_ +
                       "/nowhere' --out '" + dir_ + "/o'");
  EXPECT_EQ(r.code, 3) << r.out;
  r = RunCli(dir_, "bench --model no_such_model:s1 --data '" + data_ + "' --out '" + dir_ + "/o'");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("no_such_model"), std::string::npos) << r.out;
  r = RunCli(dir_, "bench --head '" + head_ + "' --tail '" + tail_ + "' --data '" + data_ +
                       "' --codecs nonsense --out '" + dir_ + "/o'");
  EXPECT_EQ(r.code, 1) << r.out;
}

TEST_F(BenchCliTest, ExampleProgramRuns) {
  CliRun r =
      RunCli(dir_, "--head '" + head_ + "' --tail '" + tail_ + "' --data '" + data_ + "' -n 4",
             FTC_EXAMPLE_PATH);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("bytes coded"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("predictions agree"), std::string::npos) << r.out;
}

// ---- accuracy under packet loss ----------------------------------------------------------------

// N samples of C×8×8: channel (i % C) is hot (1..2), the others small (0..0.1); labels right for
// the first `correct`.
KnownCase MakeLossCase(int n, int c, int correct) {
  KnownCase k;
  k.features = Tensor::Create(DType::kF32, {n, c, 8, 8}).value();
  float* p = k.features.data_as<float>();
  for (int i = 0; i < n; ++i) {
    const int hot = i % c;
    for (int ch = 0; ch < c; ++ch) {
      for (int j = 0; j < 64; ++j) {
        p[(i * c + ch) * 64 + j] = ch == hot ? 1.0f + static_cast<float>(j) / 64.0f
                                             : 0.1f * static_cast<float>((i + ch + j) % 7) / 7.0f;
      }
    }
    k.labels.push_back(i < correct ? hot : (hot + 1) % c);
  }
  return k;
}

struct LossFixture {
  std::string dir = test::MakeTempDir();
  Result<SplitModel> model = SplitModel::LoadTail(SaveModule(dir + "/tail.pt", kSumTail));
  FeatureClassifier tail = [this](const TensorView& f) { return model->Classify(f); };
  ~LossFixture() { std::system(("rm -rf '" + dir + "'").c_str()); }
};

EncoderOptions LossCodec() { return ParseLossCodec("ans:4:3sigma").value(); }

PacketOptions SmallPackets() {
  PacketOptions p;
  p.packet_size = 128;
  p.interleave = true;
  return p;
}

TEST(LossAccuracyTest, ParsesLossSpecsAndCodec) {
  Result<std::vector<LossSetting>> iid = ParseLossSpec("iid:0,0.05,0.3,1");
  ASSERT_TRUE(iid.ok()) << iid.status().ToString();
  ASSERT_EQ(iid->size(), 4u);
  EXPECT_EQ((*iid)[0].model.kind, LossModel::Kind::kNone);
  EXPECT_EQ((*iid)[1].model.kind, LossModel::Kind::kIid);
  EXPECT_DOUBLE_EQ((*iid)[2].rate, 0.3);
  EXPECT_EQ((*iid)[2].label, "iid 0.3");
  Result<std::vector<LossSetting>> ge = ParseLossSpec("ge:0.1:4");
  ASSERT_TRUE(ge.ok()) << ge.status().ToString();
  ASSERT_EQ(ge->size(), 1u);
  EXPECT_EQ((*ge)[0].model.kind, LossModel::Kind::kGilbertElliott);
  EXPECT_DOUBLE_EQ((*ge)[0].model.burst, 4);
  EXPECT_EQ((*ge)[0].label, "ge 0.1 B4");
  for (const char* bad : {"iid:1.5", "iid:", "iid:x", "ge:0.1:0.5", "ge:0.1", "gauss:0.1"}) {
    EXPECT_FALSE(ParseLossSpec(bad).ok()) << bad;
  }
  const EncoderOptions o = LossCodec();
  EXPECT_EQ(o.codec, "ans");
  EXPECT_EQ(o.bits, 4);
  EXPECT_FALSE(ParseLossCodec("ans:0").ok());
  EXPECT_FALSE(ParseLossCodec("jpeg:4").ok());
}

// Every loss run also reports the DFTS2 reference scenario, once.
TEST(LossAccuracyTest, TheReferenceScenarioIsAddedOnce) {
  std::vector<LossSetting> settings = ParseLossSpec("iid:0.1").value();
  AddReferenceScenario(&settings);
  ASSERT_EQ(settings.size(), 2u);
  EXPECT_EQ(settings[1].label, "ge 0.3 B7");
  EXPECT_EQ(settings[1].model.kind, LossModel::Kind::kGilbertElliott);
  AddReferenceScenario(&settings);
  EXPECT_EQ(settings.size(), 2u);
  std::vector<LossSetting> given = ParseLossSpec("ge:0.3:7").value();
  AddReferenceScenario(&given);
  EXPECT_EQ(given.size(), 1u);
}

TEST(LossAccuracyTest, NoLossEqualsLossFreeAccuracy) {
  LossFixture fx;
  ASSERT_TRUE(fx.model.ok()) << fx.model.status().ToString();
  const KnownCase k = MakeLossCase(24, 16, 17);
  Result<PacketizedBatch> b = PacketizeBatch(k.features.view(), LossCodec(), SmallPackets());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->samples, 24);
  EXPECT_GE(b->packets.size(), 2u * 24);  // a sample spans several packets
  // The loss-free accuracy of the same codec (one stream per sample).
  Result<SettingTally> lossfree =
      EvaluateSetting(k.features.view(), k.labels, fx.tail, LossCodec());
  ASSERT_TRUE(lossfree.ok()) << lossfree.status().ToString();
  const LossSetting zero = ParseLossSpec("iid:0").value()[0];
  for (const std::string& name : ConcealMethodNames()) {
    Result<LossTally> t =
        EvaluateLoss(*b, k.labels, fx.tail, zero, ParseConcealMethod(name).value(), 3);
    ASSERT_TRUE(t.ok()) << name << ": " << t.status().ToString();
    EXPECT_EQ(t->samples, 3 * 24);
    EXPECT_EQ(t->correct, 3 * lossfree->correct) << name;
    EXPECT_EQ(t->correct, 3 * 17) << name;
    EXPECT_EQ(t->packets_lost, 0u);
    EXPECT_EQ(t->lost_elements, 0);
    const LossRow row = FinishLossRow(zero, 128, name, 3, *t, 100.0 * 17 / 24);
    EXPECT_NEAR(row.top1_drop, 0, 1e-9);
    EXPECT_EQ(row.lost_packet_fraction, 0);
  }
}

TEST(LossAccuracyTest, EverythingLostWithZeroFillStillCompletes) {
  LossFixture fx;
  ASSERT_TRUE(fx.model.ok()) << fx.model.status().ToString();
  const KnownCase k = MakeLossCase(10, 16, 10);
  Result<PacketizedBatch> b = PacketizeBatch(k.features.view(), LossCodec(), SmallPackets());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const LossSetting all = ParseLossSpec("iid:1").value()[0];
  Result<LossTally> t = EvaluateLoss(*b, k.labels, fx.tail, all, ConcealMethod::kZero, 2);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->samples, 20);
  EXPECT_EQ(t->packets_lost, t->packets);
  EXPECT_EQ(t->elements, 20 * 16 * 64);
  EXPECT_EQ(t->lost_elements, t->elements);
  // All-zero features: the sum tail predicts class 0, right only for the sample labelled 0.
  EXPECT_EQ(t->correct, 2 * std::count(k.labels.begin(), k.labels.end(), 0));
  const LossRow row = FinishLossRow(all, 128, "zero", 2, *t, 100);
  EXPECT_DOUBLE_EQ(row.lost_packet_fraction, 1.0);
  EXPECT_DOUBLE_EQ(row.lost_element_fraction, 1.0);
}

TEST(LossAccuracyTest, LostFractionBookkeeping) {
  LossFixture fx;
  ASSERT_TRUE(fx.model.ok()) << fx.model.status().ToString();
  const KnownCase k = MakeLossCase(16, 16, 16);
  Result<PacketizedBatch> b = PacketizeBatch(k.features.view(), LossCodec(), SmallPackets());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const int seeds = 3;
  for (const char* spec : {"iid:0.3", "ge:0.2:4"}) {
    const LossSetting loss = ParseLossSpec(spec).value()[0];
    // What the loss model drops, counted independently (first sample index 100).
    uint64_t packets = 0, lost = 0, bytes = 0;
    for (int s = 0; s < seeds; ++s) {
      // One stream, one trace per seed.
      const std::vector<Bytes>& p = b->packets;
      const std::vector<uint8_t> mask =
          SimulateLoss(loss.model, p.size(), LossSeed(s, 100)).value();
      packets += p.size();
      for (size_t j = 0; j < p.size(); ++j) {
        lost += mask[j];
        bytes += p[j].size();
      }
    }
    for (ConcealMethod m : {ConcealMethod::kZero, ConcealMethod::kInpaint}) {
      Result<LossTally> t = EvaluateLoss(*b, k.labels, fx.tail, loss, m, seeds, 100);
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      EXPECT_EQ(t->packets, packets);
      EXPECT_EQ(t->packets_lost, lost) << spec;
      EXPECT_EQ(t->bytes, bytes);
      EXPECT_GT(t->lost_elements, 0);
      EXPECT_LT(t->lost_elements, t->elements);
      const LossRow row = FinishLossRow(loss, 128, "x", seeds, *t, 100);
      EXPECT_DOUBLE_EQ(row.lost_packet_fraction,
                       static_cast<double>(lost) / static_cast<double>(packets));
      EXPECT_DOUBLE_EQ(row.packets_per_sample,
                       static_cast<double>(packets) / static_cast<double>(seeds * 16));
      EXPECT_GT(row.lost_packet_fraction, 0.05);
      EXPECT_LT(row.lost_packet_fraction, 0.6);
    }
  }
  // The report.
  LossReport r;
  r.main_packet_size = 128;
  r.lossfree_top1 = {{128, 100.0}};
  r.rows.push_back(FinishLossRow(ParseLossSpec("iid:0.3").value()[0], 128, "zero", 1,
                                 LossTally{10, 7, 40, 12, 4000, 640, 190}, 100));
  const std::string csv = FormatLossCsv(r);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "loss,kind,rate,burst,packet_size,method,samples,seeds,top1,top1_drop,top1_stderr,"
            "lost_packet_fraction,lost_element_fraction,packets_per_sample,bytes_per_sample");
  EXPECT_NE(csv.find("iid 0.3,iid,0.3,1,128,zero,10,1,70,30,"), std::string::npos) << csv;
  EXPECT_NE(FormatLossJson(r).find("\"lost_packet_fraction\": 0.3"), std::string::npos);
  EXPECT_NE(LossGnuplotScript(r, "a.png", "a.svg").find("$s0"), std::string::npos);
}

}  // namespace
// Early exits: a sample with confidence >= τ is the device's answer and sends nothing.
TEST(ExitRowsTest, ThresholdsSplitDeviceAndServerAnswers) {
  ExitTrace e;
  e.device_class = {0, 1, 2, 3};
  e.confidence = {0.99f, 0.6f, 0.95f, 0.3f};
  e.server_class = {0, 0, 2, 3};
  e.bytes = {100, 120, 140, 160};
  e.labels = {0, 0, 1, 3};
  // τ = 0: every sample answered on the device (device classes 0,1,2,3 vs labels: 2 right).
  SettingTally t = ExitTally(e, 0.0);
  EXPECT_EQ(t.samples, 4);
  EXPECT_EQ(t.bytes, 0u);
  EXPECT_EQ(t.correct, 2);
  // τ above 1: nothing exits; the server's answers (0,0,2,3: 3 right) and every byte.
  t = ExitTally(e, 1.01);
  EXPECT_EQ(t.bytes, 520u);
  EXPECT_EQ(t.correct, 3);
  // τ = 0.9: samples 0 and 2 exit (0 right, 2 wrong); 1 and 3 go to the server (both right).
  t = ExitTally(e, 0.9);
  EXPECT_EQ(t.bytes, 280u);
  EXPECT_EQ(t.correct, 3);
  EXPECT_EQ(t.predictions, (std::vector<int>{0, 0, 2, 3}));

  SettingSpec learned{"learned", "learned", "2x2x2 b2", {}, false, false, {}, "u", -1};
  const std::vector<SettingMetrics> rows = ExitRows(learned, e, {0.0, 0.9, 1.01}, 100, 75.0);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].spec.codec, "learned-exit");
  EXPECT_EQ(rows[0].spec.series, "learned 2x2x2 b2 exit");
  EXPECT_EQ(rows[1].spec.setting, "t0.9");
  EXPECT_DOUBLE_EQ(rows[0].device_share, 100);
  EXPECT_DOUBLE_EQ(rows[1].device_share, 50);
  EXPECT_DOUBLE_EQ(rows[2].device_share, 0);
  EXPECT_DOUBLE_EQ(rows[1].bytes_per_sample, 70);
  EXPECT_DOUBLE_EQ(rows[1].top1, 75);
  EXPECT_DOUBLE_EQ(rows[2].spec.exit_threshold, 1.01);
  BenchReport r;
  r.samples = 4;
  r.elements_per_sample = 100;
  r.reference_top1 = 75;
  r.rows = rows;
  const std::string csv = FormatCsv(r);
  EXPECT_NE(csv.find("learned-exit,t0.9,4,75,0,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",0.9,50,,\n"), std::string::npos) << csv;
  EXPECT_NE(FormatJson(r).find("\"device_share\": 50"), std::string::npos);
  EXPECT_NE(FormatTable(r).find("device %"), std::string::npos);
}

}  // namespace ftc::bench

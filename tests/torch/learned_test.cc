// Codec `learned` on libtorch: the straight-through path of training, unit folders, the codec's
// round trip and unit check, and `ftcodec train-bottleneck` / enc / dec end to end on a head/tail
// pair made here and on the reference model.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "codec/torch/bottleneck_model.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "ftcodec/packet.h"
#include "ftcodec/torch.h"
#include "tests/test_util.h"
#include "tests/torch/run_cli.h"

namespace ftc {
namespace {

// 1×8×8 inputs -> 6×4×4 features (channel k: the 2×-subsampled input, scaled by k).
constexpr const char* kTinyHead = R"(
def forward(self, x):
    y = x[:, :, ::2, ::2]
    return torch.cat([y * (0.5 + 0.25 * float(k)) + 0.1 * float(k) for k in range(6)], 1)
)";
// Logits: per-channel means.
constexpr const char* kTinyTail = R"(
def forward(self, f):
    return f.mean(dim=[2, 3])
)";

std::string SaveModule(const std::string& path, const std::string& source) {
  torch::jit::Module m("m");
  m.define(source);
  m.save(path);
  return path;
}

using test::CliRun;
using test::RunCli;

// N random 1×8×8 inputs in [0,1) (fixed seed).
Tensor TinyInputs(int n, uint32_t seed) {
  Tensor t = Tensor::Create(DType::kF32, {n, 1, 8, 8}).value();
  uint32_t s = seed;
  float* p = t.data_as<float>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    s = s * 1664525u + 1013904223u;
    p[i] = static_cast<float>(s >> 8) / static_cast<float>(1 << 24);
  }
  return t;
}

class LearnedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir();
    head_ = SaveModule(dir_ + "/head.pt", kTinyHead);
    tail_ = SaveModule(dir_ + "/tail.pt", kTinyTail);
    inputs_ = TinyInputs(96, 7);
    // Labels: what the model itself predicts for most samples, noise for some.
    Result<SplitModel> m = SplitModel::Load(head_, tail_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    Tensor f = m->Head(inputs_.view()).value();
    labels_ = m->Classify(f.view()).value();
    for (size_t i = 0; i < labels_.size(); i += 7) labels_[i] = static_cast<int>(i % 6);
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  BottleneckTrainOptions Options(const std::string& out) const {
    BottleneckTrainOptions o;
    o.head_path = head_;
    o.tail_path = tail_;
    o.out_dir = out;
    o.channels = 2;
    o.stride = 2;
    o.bits = 3;
    o.max_steps = 6;
    o.batch_size = 16;
    o.validation = 16;
    o.threads = 1;
    return o;
  }
  Tensor Features(int n) const {
    SplitModel m = SplitModel::Load(head_, tail_).value();
    Tensor x = TinyInputs(n, 99);
    return m.Head(x.view()).value();
  }

  std::string dir_, head_, tail_;
  Tensor inputs_;
  std::vector<int> labels_;
};

TEST_F(LearnedTest, StraightThroughGivesTheReductionUnitGradients) {
  for (const char* inner : {"ans", "jpeg"}) {
    SCOPED_TRACE(inner);
    const std::vector<std::string> built = AvailableCodecs();
    if (std::find(built.begin(), built.end(), inner) == built.end()) continue;
    torch::manual_seed(3);
    Result<BottleneckModel> m = BottleneckModel::Create({6, 4, 4}, 2, 2, inner, 2, 30);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    m->Train(true);
    at::Tensor f = torch::randn({8, 6, 4, 4});
    at::Tensor z = m->Reduce(f);
    Result<at::Tensor> zq = m->QuantizeSte(z);
    ASSERT_TRUE(zq.ok()) << zq.status().ToString();
    // The forward value is the codec's output, not z.
    Result<at::Tensor> coded = m->CodecForward(z);
    ASSERT_TRUE(coded.ok());
    EXPECT_TRUE(at::equal(zq->detach(), *coded));
    EXPECT_FALSE(at::allclose(zq->detach(), z.detach()));
    at::Tensor loss = (m->Restore(*zq) - f).pow(2).mean() + 0.1 * m->RateBits(*zq).mean();
    loss.backward();
    int params = 0;
    for (const at::Tensor& p : m->reduce.parameters()) {
      ASSERT_TRUE(p.grad().defined());
      EXPECT_GT(p.grad().abs().sum().item<double>(), 0.0);
      ++params;
    }
    EXPECT_EQ(params, 4);  // conv weight and bias, BatchNorm weight and bias
    for (const at::Tensor& p : m->EntropyParameters()) {
      ASSERT_TRUE(p.grad().defined());
      EXPECT_GT(p.grad().abs().sum().item<double>(), 0.0);
    }
  }
}

TEST_F(LearnedTest, TrainingQuantizerIsTheAnsQuantizer) {
  torch::manual_seed(5);
  Result<BottleneckModel> m = BottleneckModel::Create({6, 4, 4}, 3, 1, "ans", 3, 50);
  ASSERT_TRUE(m.ok());
  at::Tensor z = torch::rand({4, 3, 4, 4});
  at::Tensor q = m->CodecForward(z).value();
  TensorView zv = ViewOf(z).value();
  Bytes code = encode(zv, m->InnerOptions()).value();
  at::Tensor back = ToTorch(decode(code).value());
  // Same levels; the values agree to f32 rounding (level·(1/7) vs level/7).
  EXPECT_TRUE(at::equal(at::round(q * 7), at::round(back * 7)));
  EXPECT_LT((q - back).abs().max().item<double>(), 1e-6);
}

TEST_F(LearnedTest, TrainsAndRoundTripsDeterministically) {
  const std::string unit = dir_ + "/unit";
  Result<BottleneckTrainReport> r = TrainBottleneck(inputs_.view(), labels_, Options(unit));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->steps, 6);  // 80 training samples / 16: 5 steps per epoch, 2 epochs, capped at 6
  EXPECT_EQ(r->unit.split_shape, (Shape{6, 4, 4}));
  EXPECT_EQ(r->unit.code_shape, (Shape{2, 2, 2}));
  EXPECT_EQ(r->unit.hash.size(), 32u);
  EXPECT_GT(r->bytes_per_sample, 0.0);
  EXPECT_TRUE(test::ReadFileBytes(unit + "/unit.json").size() > 100);

  Tensor f = Features(5);
  EncoderOptions eo;
  eo.codec = "learned";
  eo.unit = unit;
  Bytes a = encode(f.view(), eo).value();
  Bytes b = encode(f.view(), eo).value();
  EXPECT_EQ(a, b);
  DecoderOptions d;
  d.unit = unit;
  Tensor x = decode(a, d).value();
  Tensor y = decode(a, d).value();
  EXPECT_EQ(x.shape(), f.shape());  // the original split shape: the tail runs unchanged
  ASSERT_EQ(x.size_bytes(), y.size_bytes());
  EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size_bytes()), 0);

  // ans at other bits, and jpeg, on the same unit.
  eo.inner = "ans";
  eo.bits = 6;
  Bytes c = encode(f.view(), eo).value();
  EXPECT_GT(c.size(), a.size());
  EXPECT_TRUE(decode(c, d).ok());
  const std::vector<std::string> built = AvailableCodecs();
  if (std::find(built.begin(), built.end(), "jpeg") != built.end()) {
    eo.inner = "jpeg";
    eo.quality = 80;
    Result<Bytes> j = encode(f.view(), eo);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    Result<Tensor> jd = decode(*j, d);
    ASSERT_TRUE(jd.ok()) << jd.status().ToString();
    EXPECT_EQ(jd->shape(), f.shape());
  }
}

// The recipe on a tiny model: the units normalise the head's features (whatever their scale),
// the best epoch's units are kept, training stops when validation no longer improves, and the
// report names what limits the unit.
TEST_F(LearnedTest, RecipeNormalisesKeepsTheBestEpochAndNamesTheLimit) {
  const std::string unit = dir_ + "/unit";
  BottleneckTrainOptions o = Options(unit);
  o.max_steps = 0;
  o.epochs = 3;
  Result<BottleneckTrainReport> r = TrainBottleneck(inputs_.view(), labels_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->epochs_run, 3);
  EXPECT_GE(r->best_epoch, 1);
  EXPECT_LE(r->best_epoch, 3);
  EXPECT_FALSE(r->stopped_early);
  EXPECT_GE(r->accuracy_unquantized, 0.0);
  EXPECT_LE(r->accuracy_unquantized, 1.0);
  EXPECT_FALSE(r->limit.empty());
  const bool named = r->limit.find("within 0.5 points") == 0 ||
                     r->limit.find("the quantizer") == 0 ||
                     r->limit.find("the unit's capacity") == 0;
  EXPECT_TRUE(named) << r->limit;
  // The reduction unit carries the features' per-channel mean and scale.
  torch::jit::Module reduce = torch::jit::load(unit + "/reduce.pt");
  at::Tensor mean = reduce.attr("in_mean").toTensor();
  at::Tensor scale = reduce.attr("in_scale").toTensor();
  EXPECT_EQ(mean.sizes(), (std::vector<int64_t>{1, 6, 1, 1}));
  EXPECT_GT(scale.min().item<float>(), 0.0f);
  SplitModel m = SplitModel::Load(head_, tail_).value();
  Tensor f = m.Head(inputs_.view()).value();
  const float* p = f.data_as<float>();
  double ch0 = 0;
  for (int64_t i = 0; i < 80; ++i) {
    for (int k = 0; k < 16; ++k) ch0 += p[i * 96 + k];
  }
  EXPECT_NEAR(mean.flatten()[0].item<float>(), ch0 / (80 * 16), 1e-4);

  // A learning rate far too small to change anything: validation stops improving, and training
  // stops 3 epochs after the best one, keeping it.
  o.out_dir = dir_ + "/stuck";
  o.epochs = 20;
  o.learning_rate = 1e-12;
  r = TrainBottleneck(inputs_.view(), labels_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->stopped_early);
  EXPECT_LT(r->epochs_run, 20);
  EXPECT_EQ(r->epochs_run - r->best_epoch, 3);
  EXPECT_EQ(r->steps, r->epochs_run * 5);
}

TEST_F(LearnedTest, RejectsAStreamOfAnotherUnit) {
  const std::string u1 = dir_ + "/u1", u2 = dir_ + "/u2";
  BottleneckTrainOptions o = Options(u1);
  ASSERT_TRUE(TrainBottleneck(inputs_.view(), labels_, o).ok());
  o.out_dir = u2;
  o.seed = 2;
  ASSERT_TRUE(TrainBottleneck(inputs_.view(), labels_, o).ok());
  const std::string h1 = ProbeLearnedUnit(u1).value().hash;
  const std::string h2 = ProbeLearnedUnit(u2).value().hash;
  ASSERT_NE(h1, h2);

  Tensor f = Features(2);
  EncoderOptions eo;
  eo.codec = "learned";
  eo.unit = u1;
  Bytes code = encode(f.view(), eo).value();
  DecoderOptions d;
  d.unit = u2;
  Result<Tensor> t = decode(code, d);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(t.status().message().find("unit mismatch"), std::string::npos) << t.status().message();
  EXPECT_NE(t.status().message().find(h1), std::string::npos);
  EXPECT_NE(t.status().message().find(h2), std::string::npos);

  // A unit folder whose restore.pt was swapped is a different unit too.
  const std::string u3 = dir_ + "/u3";
  ASSERT_EQ(std::system(("cp -r '" + u1 + "' '" + u3 + "' && cp '" + u2 + "/restore.pt' '" + u3 +
                         "/restore.pt'")
                            .c_str()),
            0);
  d.unit = u3;
  t = decode(code, d);
  EXPECT_EQ(t.status().code(), StatusCode::kUnsupported);
}

TEST_F(LearnedTest, RejectsBrokenUnitFolders) {
  const std::string u = dir_ + "/u";
  ASSERT_TRUE(TrainBottleneck(inputs_.view(), labels_, Options(u)).ok());
  ASSERT_TRUE(ProbeLearnedUnit(u).ok());

  const std::string missing = dir_ + "/missing";
  ASSERT_EQ(std::system(
                ("mkdir '" + missing + "' && cp '" + u + "/reduce.pt' '" + missing + "/'").c_str()),
            0);
  Result<LearnedUnitInfo> p = ProbeLearnedUnit(missing);
  EXPECT_EQ(p.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(p.status().message().find(missing + "/restore.pt: missing"), std::string::npos)
      << p.status().message();
  // No folder at all: an I/O error.
  EXPECT_EQ(ProbeLearnedUnit(dir_ + "/nowhere").status().code(), StatusCode::kIoError);

  const std::string garbage = dir_ + "/garbage";
  ASSERT_EQ(std::system(("cp -r '" + u + "' '" + garbage + "'").c_str()), 0);
  test::WriteFileBytes(garbage + "/reduce.pt", {'n', 'o', 't', ' ', 'a', ' ', 'z', 'i', 'p'});
  EXPECT_EQ(ProbeLearnedUnit(garbage).status().code(), StatusCode::kCorruptData);

  // A TorchScript module that is not a reduction unit (no attributes).
  const std::string plain = dir_ + "/plain";
  ASSERT_EQ(std::system(("cp -r '" + u + "' '" + plain + "'").c_str()), 0);
  SaveModule(plain + "/reduce.pt", kTinyTail);
  p = ProbeLearnedUnit(plain);
  EXPECT_EQ(p.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(p.status().message().find("not an ftcodec unit"), std::string::npos)
      << p.status().message();

  // Features of the wrong shape for the unit.
  EncoderOptions eo;
  eo.codec = "learned";
  eo.unit = u;
  Tensor wrong = Tensor::Create(DType::kF32, {1, 6, 8, 8}).value();
  Result<Bytes> e = encode(wrong.view(), eo);
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
}

// A reduction unit's TorchScript file with the attributes ftcodec reads and `source`'s forward.
void SaveReduceUnit(const std::string& path, const std::vector<int64_t>& split,
                    const std::vector<int64_t>& code, const std::string& source) {
  torch::jit::Module m("m");
  m.register_attribute("ftcodec_unit", c10::IntType::get(), int64_t{1});
  m.register_attribute("split_shape", c10::ListType::ofInts(), c10::List<int64_t>(split));
  m.register_attribute("code_shape", c10::ListType::ofInts(), c10::List<int64_t>(code));
  m.register_attribute("inner", c10::StringType::get(), std::string("ans"));
  m.register_attribute("bits", c10::IntType::get(), int64_t{2});
  m.register_attribute("quality", c10::IntType::get(), int64_t{90});
  m.define(source);
  m.save(path);
}

// Unit folders are untrusted input: every broken one is refused with kCorruptData or
// kLimitExceeded naming the file (CLI exit 2), before anything large is read, allocated or run.
TEST_F(LearnedTest, UnitFoldersAreReadAsUntrustedInput) {
  const std::string u = dir_ + "/u";
  ASSERT_TRUE(TrainBottleneck(inputs_.view(), labels_, Options(u)).ok());
  Tensor f = Features(2);
  test::WriteFileBytes(dir_ + "/f.npy", WriteNpy(f.view()).value());
  ASSERT_EQ(RunCli(dir_, "enc f.npy f.ftc --codec learned --unit u").code, 0);
  auto copy_unit = [&](const std::string& name) {
    const std::string d = dir_ + "/" + name;
    EXPECT_EQ(std::system(("cp -r '" + u + "' '" + d + "'").c_str()), 0);
    return d;
  };
  struct Case {
    std::string name, setup, file, error;
    StatusCode code;
  };
  const std::vector<Case> cases = {
      {"dir", "rm '$U/reduce.pt' && mkdir '$U/reduce.pt'", "reduce.pt",
       "is a directory, not a regular file", StatusCode::kCorruptData},
      {"zero", "rm '$U/reduce.pt' && ln -s /dev/zero '$U/reduce.pt'", "reduce.pt",
       "is a character device, not a regular file", StatusCode::kCorruptData},
      {"fifo", "rm '$U/restore.pt' && mkfifo '$U/restore.pt'", "restore.pt",
       "is a FIFO, not a regular file", StatusCode::kCorruptData},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string d = copy_unit(c.name);
    std::string setup = c.setup;
    for (size_t k; (k = setup.find("$U")) != std::string::npos;) setup.replace(k, 2, d);
    ASSERT_EQ(std::system(setup.c_str()), 0);
    Result<LearnedUnitInfo> p = ProbeLearnedUnit(d);
    EXPECT_EQ(p.status().code(), c.code);
    EXPECT_NE(p.status().message().find(d + "/" + c.file + ": " + c.error), std::string::npos)
        << p.status().message();
    CliRun r = RunCli(dir_, "enc f.npy o.ftc --codec learned --unit " + c.name);
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find(c.file), std::string::npos) << r.out;
    r = RunCli(dir_, "dec f.ftc o.npy --unit " + c.name);
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find(c.error), std::string::npos) << r.out;
  }
  // A unit declaring a huge feature shape: refused before a zero sample of it is made.
  const std::string huge = copy_unit("huge");
  SaveReduceUnit(huge + "/reduce.pt", {256, 1024, 1024}, {2, 2, 2},
                 "\ndef forward(self, x):\n    return x[:, :2, :2, :2]\n");
  Result<LearnedUnitInfo> p = ProbeLearnedUnit(huge);
  EXPECT_EQ(p.status().code(), StatusCode::kLimitExceeded);
  EXPECT_NE(p.status().message().find(huge + "/reduce.pt: attribute 'split_shape' is "
                                             "256x1024x1024, more than the 16777216 elements"),
            std::string::npos)
      << p.status().message();
  CliRun r = RunCli(dir_, "enc f.npy o.ftc --codec learned --unit huge");
  EXPECT_EQ(r.code, 2) << r.out;
  // Reduction and restoration files that do not fit together (restore.pt fails on the code).
  const std::string odd = copy_unit("odd");
  SaveModule(odd + "/restore.pt", "\ndef forward(self, x):\n    return torch.mm(x, x)\n");
  p = ProbeLearnedUnit(odd);
  EXPECT_EQ(p.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(p.status().message().find("reduce.pt and restore.pt do not work together as a unit"),
            std::string::npos)
      << p.status().message();
  EXPECT_NE(p.status().message().find(odd + "/restore.pt"), std::string::npos)
      << p.status().message();
  r = RunCli(dir_, "enc f.npy o.ftc --codec learned --unit odd");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("do not work together"), std::string::npos) << r.out;
  EXPECT_FALSE(std::ifstream(dir_ + "/o.ftc").good());
  // A tail.pt that is an endless device does not hang the probe (it is only looked at).
  const std::string tail = copy_unit("tail");
  ASSERT_EQ(std::system(("ln -sf /dev/zero '" + tail + "/tail.pt'").c_str()), 0);
  p = ProbeLearnedUnit(tail);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(p->has_tail);
}

TEST_F(LearnedTest, RefusesToReplaceAFolderThatIsNotAUnit) {
  const std::string other = dir_ + "/other";
  ASSERT_EQ(std::system(("mkdir '" + other + "' && touch '" + other + "/precious'").c_str()), 0);
  BottleneckTrainOptions o = Options(other);
  o.overwrite = true;
  Result<BottleneckTrainReport> r = TrainBottleneck(inputs_.view(), labels_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a learned unit folder"), std::string::npos);
  EXPECT_EQ(test::ReadFileBytes(other + "/precious").size(), 0u);
  o.overwrite = false;
  r = TrainBottleneck(inputs_.view(), labels_, Options(dir_ + "/head.pt"));
  EXPECT_NE(r.status().message().find("already exists"), std::string::npos);
}

TEST_F(LearnedTest, CliTrainsEncodesAndDecodesOnAnotherModel) {
  // Data as .npy, without labels: the unit learns to reproduce the model's predictions.
  test::WriteFileBytes(dir_ + "/inputs.npy", WriteNpy(inputs_.view()).value());
  CliRun r = RunCli(dir_,
                    "train-bottleneck --head head.pt --tail tail.pt --data . --channels 3 "
                    "--bits 2 --steps 4 --batch-size 16 --validation 16 --threads 1 "
                    "--out unit --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("no labels: distilling"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"bytes_per_sample\""), std::string::npos) << r.out;
  r = RunCli(dir_,
             "train-bottleneck --head head.pt --tail tail.pt --data . --steps 4 "
             "--out unit");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("already exists"), std::string::npos) << r.out;

  Tensor f = Features(3);
  test::WriteFileBytes(dir_ + "/f.npy", WriteNpy(f.view()).value());
  r = RunCli(dir_, "enc f.npy f.ftc --codec learned --unit unit");
  ASSERT_EQ(r.code, 0) << r.out;
  r = RunCli(dir_, "enc f.npy g.ftc --codec learned --unit unit");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(test::ReadFileBytes(dir_ + "/f.ftc"), test::ReadFileBytes(dir_ + "/g.ftc"));
  r = RunCli(dir_, "dec f.ftc back.npy --unit unit");
  ASSERT_EQ(r.code, 0) << r.out;
  NpyArray back = ReadNpy(test::ReadFileBytes(dir_ + "/back.npy").data(),
                          test::ReadFileBytes(dir_ + "/back.npy").size())
                      .value();
  EXPECT_EQ(back.tensor.shape(), f.shape());
  r = RunCli(dir_, "info f.ftc");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("learned"), std::string::npos) << r.out;

  // Without the unit: a usage error. With another unit: bad input (exit 2), nothing written.
  r = RunCli(dir_, "dec f.ftc none.npy");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("--unit"), std::string::npos) << r.out;
  r = RunCli(dir_,
             "train-bottleneck --head head.pt --tail tail.pt --data . --channels 3 "
             "--bits 2 --steps 4 --batch-size 16 --validation 16 --seed 9 --out unit2 --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  r = RunCli(dir_, "dec f.ftc other.npy --unit unit2");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("unit mismatch"), std::string::npos) << r.out;
  EXPECT_FALSE(std::ifstream(dir_ + "/other.npy").good());
}

TEST_F(LearnedTest, CliTrainsOnTheReferenceModel) {
  const std::string data = "/usr/share/datasets/fashion-mnist";
  if (!std::ifstream(data + "/train-images-idx3-ubyte.gz").good()) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  CliRun r = RunCli(dir_,
                    "train-bottleneck --model fmnist_resnet:s1 --channels 4 --stride 2 "
                    "--limit 400 --validation 64 --steps 3 --batch-size 32 --out unit");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("validation (64 samples"), std::string::npos) << r.out;
  Result<LearnedUnitInfo> info = ProbeLearnedUnit(dir_ + "/unit");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->split_shape, (Shape{64, 14, 14}));
  EXPECT_EQ(info->code_shape, (Shape{4, 7, 7}));
  const std::string features = test::SourcePath("data/features/fmnist_s1_relu.npy");
  r = RunCli(dir_, "enc '" + features + "' f.ftc --codec learned --unit unit --inner ans --bits 1");
  ASSERT_EQ(r.code, 0) << r.out;
  r = RunCli(dir_, "dec f.ftc back.npy --unit unit");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::vector<uint8_t> in = test::ReadFileBytes(features);
  const std::vector<uint8_t> out = test::ReadFileBytes(dir_ + "/back.npy");
  EXPECT_EQ(ReadNpy(in.data(), in.size()).value().tensor.shape(),
            ReadNpy(out.data(), out.size()).value().tensor.shape());
}

TEST_F(LearnedTest, CliPacketsLoseAndConcealInTheCode) {
  const std::string unit = dir_ + "/unit";
  BottleneckTrainOptions o = Options(unit);
  o.channels = 4;
  o.stride = 1;  // a 4×4×4 code: 16 one-row bands
  ASSERT_TRUE(TrainBottleneck(inputs_.view(), labels_, o).ok());
  Tensor f = Features(6);
  test::WriteFileBytes(dir_ + "/f.npy", WriteNpy(f.view()).value());
  CliRun r = RunCli(dir_, "enc f.npy f.ftc --codec learned --unit unit --inner ans --bits 4");
  ASSERT_EQ(r.code, 0) << r.out;
  r = RunCli(dir_,
             "enc f.npy f.ftcp --codec learned --unit unit --inner ans --bits 4 "
             "--packet-size 100 --band-rows 1");
  ASSERT_EQ(r.code, 0) << r.out;
  // Every packet: the same tensor as the frame decode.
  r = RunCli(dir_, "dec f.ftc a.npy --unit unit");
  ASSERT_EQ(r.code, 0) << r.out;
  r = RunCli(dir_, "dec f.ftcp b.npy --unit unit");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(test::ReadFileBytes(dir_ + "/a.npy"), test::ReadFileBytes(dir_ + "/b.npy"));
  // Some packets lost (the first copy of the parameter set among them, and the second data
  // packet): concealed in the code, restored to the original shape.
  const std::vector<uint8_t> file = test::ReadFileBytes(dir_ + "/f.ftcp");
  std::string trace;
  size_t data_seen = 0;
  for (const Bytes& p : ReadPacketStream(file.data(), file.size()).packets) {
    const bool parameter_set = p.size() > 3 && p[3] == 1;  // Kind: docs/format.md, "Packets"
    const bool drop = parameter_set ? trace.empty() : data_seen++ == 1;
    trace += drop ? "1 " : "0 ";
  }
  test::WriteFileBytes(dir_ + "/trace.txt", std::vector<uint8_t>(trace.begin(), trace.end()));
  r = RunCli(dir_, "lose f.ftcp lossy.ftcp --trace trace.txt");
  ASSERT_EQ(r.code, 0) << r.out;
  r = RunCli(dir_, "dec lossy.ftcp c.npy --unit unit --conceal mean");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::vector<uint8_t> c = test::ReadFileBytes(dir_ + "/c.npy");
  EXPECT_EQ(ReadNpy(c.data(), c.size()).value().tensor.shape(), f.shape());
  r = RunCli(dir_, "info f.ftcp");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(ProbeLearnedUnit(unit).value().hash), std::string::npos) << r.out;
}

TEST_F(LearnedTest, CliRejectsBadTrainingData) {
  // Labels that do not match the inputs.
  const std::string bad = dir_ + "/bad";
  ASSERT_EQ(std::system(("mkdir '" + bad + "'").c_str()), 0);
  test::WriteFileBytes(bad + "/inputs.npy", WriteNpy(inputs_.view()).value());
  Tensor few = Tensor::Create(DType::kU8, {5}).value();
  test::WriteFileBytes(bad + "/labels.npy", WriteNpy(few.view()).value());
  CliRun r = RunCli(dir_, "train-bottleneck --head head.pt --tail tail.pt --data bad --out u");
  EXPECT_EQ(r.code, 2) << r.out;  // bad data
  EXPECT_NE(r.out.find("labels must be a vector of N = 96"), std::string::npos) << r.out;
  // Labels beyond the tail's 6 classes (int64 labels are fine otherwise).
  std::vector<int64_t> l(labels_.begin(), labels_.end());
  l[10] = 6;
  test::WriteFileBytes(bad + "/labels.npy", test::IntegerNpy("<i8", l));
  r = RunCli(dir_, "train-bottleneck --head head.pt --tail tail.pt --data bad --steps 2 --out u");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("label 6 at index 10 is outside the tail's 6 classes (0..5)"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(std::ifstream(dir_ + "/u/unit.json").good());
  l[10] = 5;
  test::WriteFileBytes(bad + "/labels.npy", test::IntegerNpy("<i8", l));
  r = RunCli(dir_,
             "train-bottleneck --head head.pt --tail tail.pt --data bad --channels 2 "
             "--steps 2 --batch-size 16 --validation 16 --threads 1 --out ok_unit -q");
  EXPECT_EQ(r.code, 0) << r.out;
  // A folder with neither inputs.npy nor IDX files.
  r = RunCli(dir_, "train-bottleneck --head head.pt --tail tail.pt --data nowhere --out u");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("has no inputs.npy"), std::string::npos) << r.out;
  // A head whose features are not N×C×H×W.
  SaveModule(dir_ + "/flat.pt", "\ndef forward(self, x):\n    return x.flatten(1)\n");
  test::WriteFileBytes(dir_ + "/inputs.npy", WriteNpy(inputs_.view()).value());
  r = RunCli(dir_, "train-bottleneck --head flat.pt --tail tail.pt --data . --out u");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("needs N×C×H×W"), std::string::npos) << r.out;
  // Options out of range.
  r = RunCli(dir_, "train-bottleneck --head head.pt --tail tail.pt --data . --channels 7 --out u");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("channels 7 out of range 1..6"), std::string::npos) << r.out;
  EXPECT_FALSE(std::ifstream(dir_ + "/u/unit.json").good());
}

TEST_F(LearnedTest, CliAppliesTheInputScaleAndRefusesAModelNearChance) {
  // A tail that answers class 1 for [0, 1) inputs and class 0 once they are 255 times larger.
  SaveModule(dir_ + "/tail2.pt", R"(
def forward(self, f):
    m = f[:, 0].mean(dim=[1, 2]).unsqueeze(1)
    return torch.cat([m, 1.0 - m], 1)
)");
  const std::string pix = dir_ + "/pix";
  ASSERT_EQ(std::system(("mkdir '" + pix + "'").c_str()), 0);
  Tensor x = TinyInputs(120, 5);
  for (int64_t i = 0; i < x.num_elements(); ++i) x.data_as<float>()[i] *= 255;
  test::WriteFileBytes(pix + "/inputs.npy", WriteNpy(x.view()).value());
  test::WriteFileBytes(pix + "/labels.npy", test::IntegerNpy("<i8", std::vector<int64_t>(120, 1)));
  const std::string common =
      "train-bottleneck --head head.pt --tail tail2.pt --data pix --channels 2 --steps 2 "
      "--batch-size 16 --validation 100 --threads 1 -q ";
  CliRun r = RunCli(dir_, common + "--out u");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("the unmodified model reaches only 0.00% top-1"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("--input-scale 0.00392156862745098"), std::string::npos) << r.out;
  EXPECT_FALSE(std::ifstream(dir_ + "/u/unit.json").good());
  r = RunCli(dir_, common + "--input-scale 0.00392156862745098 --out u --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"accuracy_original\": 1.000000"), std::string::npos) << r.out;
  for (const char* bad : {"0", "-1", "inf"}) {
    r = RunCli(dir_, common + "--input-scale " + bad + " --out v");
    EXPECT_EQ(r.code, 1) << bad << ": " << r.out;
    EXPECT_NE(r.out.find("--input-scale must be > 0"), std::string::npos) << r.out;
  }
}

TEST_F(LearnedTest, TrainsThroughJpeg) {
  const std::vector<std::string> built = AvailableCodecs();
  if (std::find(built.begin(), built.end(), "jpeg") == built.end()) GTEST_SKIP() << "no jpeg";
  const std::string unit = dir_ + "/unit";
  BottleneckTrainOptions o = Options(unit);
  o.inner = "jpeg";
  o.quality = 60;
  o.stride = 1;  // a 2×4×4 code: the JPEG mosaic is 8×4
  Result<BottleneckTrainReport> r = TrainBottleneck(inputs_.view(), labels_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->unit.inner, "jpeg");
  EXPECT_EQ(r->unit.quality, 60);
  // Without --inner the stream uses the unit's inner codec and quality.
  Tensor f = Features(2);
  EncoderOptions eo;
  eo.codec = "learned";
  eo.unit = unit;
  Bytes code = encode(f.view(), eo).value();
  StreamInfo info = probe(code.data(), code.size()).value();
  bool saw_jpeg = false;
  for (const auto& [k, v] : info.frames[0].params) saw_jpeg |= k == "inner" && v == "jpeg";
  EXPECT_TRUE(saw_jpeg);
  DecoderOptions d;
  d.unit = unit;
  EXPECT_EQ(decode(code, d).value().shape(), f.shape());
}

// decode_batch restores a batch of learned streams in chunks of up to 64 samples per forward()
// of the restoration unit. libtorch (1.13) runs the 3×3 convolutions of one small sample on its
// native kernel and those of a batch on oneDNN, which round differently: every sample is within
// kBatchRestoreBound (relative to the sample's largest magnitude) of the per-stream decode, and
// the same whatever else is in its batch (docs/learned.md, "Servers: batched restoration").
TEST_F(LearnedTest, BatchedRestorationMatchesThePerStreamDecodeOnTheBundledUnit) {
  constexpr double kBatchRestoreBound = 1e-5;
  const std::vector<uint8_t> npy =
      test::ReadFileBytes(test::SourcePath("data/features/fmnist_s1_relu.npy"));
  const Tensor features = ReadNpy(npy.data(), npy.size()).value().tensor;
  ASSERT_EQ(features.shape(), (Shape{32, 64, 14, 14}));
  const int64_t e = 64 * 14 * 14, n = 70;  // two chunks: 64 and 6
  const size_t sample_bytes = static_cast<size_t>(e) * sizeof(float);
  for (const char* name : {"c8b2", "c32b2"}) {
    const std::string unit = test::SourcePath(std::string("data/units/fmnist_resnet_s1_") + name);
    EncoderOptions eo;
    eo.codec = "learned";
    eo.unit = unit;
    std::vector<Bytes> streams;
    for (int64_t i = 0; i < n; ++i) {
      const float* x = features.data_as<float>() + (i % 32) * e;
      streams.push_back(encode(TensorView::Contiguous(x, DType::kF32, {64, 14, 14}), eo).value());
    }
    streams[5][streams[5].size() - 9] ^= 1;  // corrupt: only that sample fails
    streams[6] =
        encode(TensorView::Contiguous(features.data(), DType::kF32, {64, 14, 14}), EncoderOptions{})
            .value();  // codec raw: decodes on its own
    std::vector<StreamRef> refs;
    for (const Bytes& b : streams) refs.push_back({b.data(), b.size()});
    DecoderOptions d;
    d.unit = unit;
    for (int threads : {1, 2}) {
      SetTorchThreads(threads);
      Tensor out = Tensor::Create(DType::kF32, {n, 64, 14, 14}).value();
      Result<std::vector<Status>> st = decode_batch(refs, &out, d);
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      // The same streams in batches of 10: each sample's bytes do not depend on its batch.
      Tensor tens = Tensor::Create(DType::kF32, {10, 64, 14, 14}).value();
      double worst = 0;
      int64_t identical = 0;
      for (int64_t i = 0; i < n; ++i) {
        const Status& s = (*st)[static_cast<size_t>(i)];
        const Result<Tensor> ref = decode(streams[static_cast<size_t>(i)], d);
        if (i % 10 == 0) {
          const std::vector<StreamRef> part(refs.begin() + i, refs.begin() + i + 10);
          ASSERT_TRUE(decode_batch(part, &tens, d).ok());
        }
        if (i == 5) {
          EXPECT_EQ(s.code(), StatusCode::kCorruptData) << s.ToString();
          EXPECT_EQ(s.message(), ref.status().message());
          continue;
        }
        ASSERT_TRUE(s.ok()) << i << ": " << s.ToString();
        ASSERT_TRUE(ref.ok());
        const float* got = out.data_as<float>() + i * e;
        EXPECT_EQ(std::memcmp(got, tens.data() + (i % 10) * sample_bytes, sample_bytes), 0)
            << name << " sample " << i << ", " << threads << " libtorch threads";
        identical += std::memcmp(got, ref->data(), sample_bytes) == 0 ? 1 : 0;
        double diff = 0, scale = 0;
        for (int64_t k = 0; k < e; ++k) {
          const double r = ref->data_as<float>()[k];
          diff = std::max(diff, std::abs(got[k] - r));
          scale = std::max(scale, std::abs(r));
        }
        worst = std::max(worst, diff / std::max(scale, 1.0));
      }
      EXPECT_LE(worst, kBatchRestoreBound) << name << ", " << threads << " libtorch threads";
      std::printf("%s, %d libtorch threads: %lld of %lld samples bit-identical, worst %.3g\n", name,
                  threads, static_cast<long long>(identical), static_cast<long long>(n - 1), worst);
    }
  }
  SetTorchThreads(0);
}

// ---- early exits ----

// A CSV's rows as column name -> value (empty trailing fields kept).
std::vector<std::map<std::string, std::string>> CsvTable(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::map<std::string, std::string>> rows;
  std::vector<std::string> names;
  std::string line;
  while (std::getline(f, line)) {
    std::vector<std::string> cells;
    size_t start = 0;
    for (;;) {
      const size_t comma = line.find(',', start);
      cells.push_back(line.substr(start, comma == std::string::npos ? comma : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (names.empty()) {
      names = cells;
      continue;
    }
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < names.size() && i < cells.size(); ++i) row[names[i]] = cells[i];
    rows.push_back(row);
  }
  return rows;
}

class ExitTest : public LearnedTest {
 protected:
  ExitTrainOptions ExitOptions(const std::string& unit) const {
    ExitTrainOptions e;
    e.unit_dir = unit;
    e.head_path = head_;
    e.tail_path = tail_;
    e.max_steps = 8;
    e.batch_size = 16;
    e.validation = 16;
    e.channels = 8;
    e.threads = 1;
    return e;
  }
  // inputs.npy and labels.npy in dir_ (the data folder bench and train-bottleneck take).
  void WriteDataFolder() const {
    test::WriteFileBytes(dir_ + "/inputs.npy", WriteNpy(inputs_.view()).value());
    test::WriteFileBytes(
        dir_ + "/labels.npy",
        test::IntegerNpy("<i8", std::vector<int64_t>(labels_.begin(), labels_.end())));
  }
};

// A unit without exit.pt has no exit; training one adds exit.pt without touching the unit (its
// files and hash), and the exit answers every sample with a class and a confidence.
TEST_F(ExitTest, ExitClassifierOnAndOff) {
  const std::string unit = dir_ + "/unit";
  ASSERT_TRUE(TrainBottleneck(inputs_.view(), labels_, Options(unit)).ok());
  LearnedUnitInfo before = ProbeLearnedUnit(unit).value();
  EXPECT_FALSE(before.has_exit);
  Result<LearnedExit> none = LearnedExit::Load(unit);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("exit.pt"), std::string::npos);
  const std::vector<uint8_t> reduce = test::ReadFileBytes(unit + "/reduce.pt");
  const std::vector<uint8_t> restore = test::ReadFileBytes(unit + "/restore.pt");

  Result<ExitTrainReport> r = TrainLearnedExit(inputs_.view(), labels_, ExitOptions(unit));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->steps, 8);
  EXPECT_EQ(r->validation_samples, 16);
  ASSERT_EQ(r->thresholds.size(), 5u);
  for (size_t i = 0; i + 1 < r->share.size(); ++i) EXPECT_GE(r->share[i], r->share[i + 1]);
  LearnedUnitInfo after = ProbeLearnedUnit(unit).value();
  EXPECT_TRUE(after.has_exit);
  EXPECT_EQ(after.hash, before.hash);
  EXPECT_EQ(test::ReadFileBytes(unit + "/reduce.pt"), reduce);
  EXPECT_EQ(test::ReadFileBytes(unit + "/restore.pt"), restore);
  std::ifstream j(unit + "/unit.json");
  std::stringstream js;
  js << j.rdbuf();
  EXPECT_NE(js.str().find("\"exit\""), std::string::npos) << js.str();
  EXPECT_NE(js.str().find("\"file\": \"exit.pt\""), std::string::npos) << js.str();
  EXPECT_NE(js.str().find(before.hash), std::string::npos);

  Result<LearnedExit> e = LearnedExit::Load(unit);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->num_classes(), 6);
  Tensor f = Features(20);
  Result<ExitAnswers> a = e->Run(f.view());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->classes.size(), 20u);
  ASSERT_EQ(a->confidence.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_GE(a->classes[i], 0);
    EXPECT_LT(a->classes[i], 6);
    EXPECT_GE(a->confidence[i], 1.0f / 6 - 1e-6f);
    EXPECT_LE(a->confidence[i], 1.0f);
  }
  // Features of another shape: a clear error.
  Tensor x = TinyInputs(2, 3);
  EXPECT_EQ(e->Run(x.view()).status().code(), StatusCode::kInvalidArgument);

  // The bench: the learned row, then a row per threshold; τ = 0 answers everything on the
  // device (0 bytes), τ above 1 nothing (the learned row's bytes and top-1).
  WriteDataFolder();
  BottleneckTrainOptions plain = Options(dir_ + "/plain");
  plain.bits = 2;  // a row of its own: "learned 2x2x2 b2"
  ASSERT_TRUE(TrainBottleneck(inputs_.view(), labels_, plain).ok());
  CliRun c = RunCli(dir_,
                    "bench --head head.pt --tail tail.pt --data . --codecs learned "
                    "--units unit,plain --exit-thresholds 0,0.5,1.01 --threads 1 --out out -q");
  ASSERT_EQ(c.code, 0) << c.out;
  const auto rows = CsvTable(dir_ + "/out/rate_accuracy.csv");
  std::map<std::string, std::map<std::string, std::string>> by;
  std::vector<std::string> order;
  for (const auto& row : rows) {
    order.push_back(row.at("codec") + " " + row.at("setting"));
    by[order.back()] = row;
  }
  const std::string learned = "learned 2x2x2 b3";
  ASSERT_TRUE(by.count(learned)) << c.out;
  const auto& l = by[learned];
  EXPECT_GT(std::stod(l.at("server_us_b1")), 0);
  EXPECT_GT(std::stod(l.at("server_us_b64")), 0);
  EXPECT_EQ(l.at("exit_threshold"), "");
  const auto it = std::find(order.begin(), order.end(), learned);
  ASSERT_LE(it + 4, order.end());
  EXPECT_EQ(*(it + 1), "learned-exit t0");
  EXPECT_EQ(*(it + 2), "learned-exit t0.5");
  EXPECT_EQ(*(it + 3), "learned-exit t1.01");
  const auto& t0 = by["learned-exit t0"];
  EXPECT_EQ(t0.at("device_share"), "100");
  EXPECT_EQ(std::stod(t0.at("bytes_per_sample")), 0);
  EXPECT_EQ(t0.at("server_us_b1"), "");
  const auto& t1 = by["learned-exit t1.01"];
  EXPECT_EQ(t1.at("device_share"), "0");
  EXPECT_EQ(t1.at("bytes_per_sample"), l.at("bytes_per_sample"));
  EXPECT_EQ(t1.at("top1"), l.at("top1"));
  EXPECT_EQ(t1.at("samples"), "96");
  // The unit without an exit: its learned row (with the server columns) and no exit rows.
  int learned_rows = 0, exit_rows = 0;
  for (const auto& row : rows) {
    learned_rows += row.at("codec") == "learned" ? 1 : 0;
    exit_rows += row.at("codec") == "learned-exit" ? 1 : 0;
    if (row.at("codec") == "learned") {
      EXPECT_NE(row.at("server_us_b64"), "");
    }
  }
  EXPECT_EQ(learned_rows, 2);
  EXPECT_EQ(exit_rows, 3);
  std::ifstream jf(dir_ + "/out/rate_accuracy.json");
  std::stringstream jj;
  jj << jf.rdbuf();
  EXPECT_NE(jj.str().find("\"device_share\": 100"), std::string::npos);
  EXPECT_NE(jj.str().find("\"server_us_b64\": "), std::string::npos);
  EXPECT_NE(c.out.find("device %"), std::string::npos) << c.out;
}

// train-bottleneck --exit trains the unit and an exit in one run; --exit-only adds one to an
// existing unit.
TEST_F(ExitTest, TrainsAnExitWithTheUnitAndForAnExistingUnit) {
  const std::string unit = dir_ + "/unit";
  BottleneckTrainOptions o = Options(unit);
  o.train_exit = true;
  o.exit_channels = 4;
  Result<BottleneckTrainReport> r = TrainBottleneck(inputs_.view(), labels_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->has_exit);
  EXPECT_EQ(r->exit.steps, 6);
  EXPECT_TRUE(ProbeLearnedUnit(unit).value().has_exit);
  EXPECT_TRUE(LearnedExit::Load(unit).ok());

  WriteDataFolder();
  CliRun c = RunCli(dir_,
                    "train-bottleneck --head head.pt --tail tail.pt --data . --channels 2 "
                    "--stride 2 --bits 2 --steps 4 --batch-size 16 --validation 16 --threads 1 "
                    "--exit --exit-channels 4 --out cli_unit --json");
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_NE(c.out.find("wrote cli_unit/exit.pt"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("\"exit\": {\"steps\": 4"), std::string::npos) << c.out;
  const std::string hash = ProbeLearnedUnit(dir_ + "/cli_unit").value().hash;
  c = RunCli(dir_,
             "train-bottleneck --head head.pt --tail tail.pt --data . --exit-only --unit cli_unit "
             "--steps 3 --batch-size 16 --validation 16 --threads 1 --exit-channels 4");
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_NE(c.out.find("answered on the device"), std::string::npos) << c.out;
  EXPECT_EQ(ProbeLearnedUnit(dir_ + "/cli_unit").value().hash, hash);
  {
    // The replaced exit's entry: one "exit" in unit.json, the unit's own entries kept.
    std::ifstream j(dir_ + "/cli_unit/unit.json");
    std::stringstream js;
    js << j.rdbuf();
    const std::string text = js.str();
    const size_t first = text.find("\"exit\":");
    ASSERT_NE(first, std::string::npos) << text;
    EXPECT_EQ(text.find("\"exit\":", first + 1), std::string::npos) << text;
    EXPECT_NE(text.find("\"steps\": 3"), std::string::npos) << text;
    EXPECT_NE(text.find("\"code_shape\""), std::string::npos) << text;
    EXPECT_EQ(text.back(), '\n');
  }
  // A jpeg unit's exit: the code before JPEG, the server's answers through the real codec.
  const std::vector<std::string> built = AvailableCodecs();
  if (std::find(built.begin(), built.end(), "jpeg") != built.end()) {
    BottleneckTrainOptions jo = Options(dir_ + "/jpeg_unit");
    jo.inner = "jpeg";
    jo.quality = 80;
    jo.train_exit = true;
    jo.exit_channels = 4;
    Result<BottleneckTrainReport> jr = TrainBottleneck(inputs_.view(), labels_, jo);
    ASSERT_TRUE(jr.ok()) << jr.status().ToString();
    EXPECT_TRUE(jr->has_exit);
    // The server's answers the exit learns from are the codec's: the unit's validation top-1.
    EXPECT_NEAR(jr->exit.server_accuracy, jr->accuracy_unit, 0.07);
    Result<LearnedExit> je = LearnedExit::Load(dir_ + "/jpeg_unit");
    ASSERT_TRUE(je.ok()) << je.status().ToString();
    Tensor f = Features(5);
    EXPECT_EQ(je->Run(f.view()).value().classes.size(), 5u);
  }
  // Usage errors.
  c = RunCli(dir_, "train-bottleneck --head head.pt --tail tail.pt --data . --exit-only");
  EXPECT_EQ(c.code, 1) << c.out;
  EXPECT_NE(c.out.find("--unit"), std::string::npos) << c.out;
  c = RunCli(dir_,
             "train-bottleneck --head head.pt --tail tail.pt --data . --exit-only --unit cli_unit "
             "--bits 4");
  EXPECT_EQ(c.code, 1) << c.out;
  c = RunCli(dir_, "train-bottleneck --head head.pt --tail tail.pt --data .");
  EXPECT_EQ(c.code, 1) << c.out;
  EXPECT_NE(c.out.find("--out"), std::string::npos) << c.out;
  // A bad exit setting is refused before the unit trains.
  c = RunCli(dir_,
             "train-bottleneck --head head.pt --tail tail.pt --data . --steps 2 --exit "
             "--exit-channels 0 --out never");
  EXPECT_EQ(c.code, 1) << c.out;
  EXPECT_NE(c.out.find("exit channels 0"), std::string::npos) << c.out;
  EXPECT_FALSE(std::ifstream(dir_ + "/never/reduce.pt").good());
  c = RunCli(dir_,
             "train-bottleneck --head head.pt --tail tail.pt --data . --exit-only --unit nowhere "
             "--steps 2");
  EXPECT_NE(c.code, 0) << c.out;
  EXPECT_NE(c.out.find("nowhere"), std::string::npos) << c.out;
}

// A corrupt exit.pt, one of another unit, or a TorchScript file that is not an exit: a clear
// error naming the file (exit 2 in the CLI), never a crash.
TEST_F(ExitTest, CorruptOrMismatchedExitIsRefused) {
  const std::string a = dir_ + "/a", b = dir_ + "/b";
  BottleneckTrainOptions o = Options(a);
  o.train_exit = true;
  ASSERT_TRUE(TrainBottleneck(inputs_.view(), labels_, o).ok());
  o = Options(b);
  o.seed = 5;
  ASSERT_TRUE(TrainBottleneck(inputs_.view(), labels_, o).ok());
  WriteDataFolder();

  auto expect_refused = [&](const std::string& what) {
    Result<LearnedExit> e = LearnedExit::Load(b);
    ASSERT_FALSE(e.ok()) << what;
    EXPECT_EQ(e.status().code(), StatusCode::kCorruptData) << what << ": " << e.status().ToString();
    EXPECT_NE(e.status().message().find(b + "/exit.pt"), std::string::npos)
        << what << ": " << e.status().ToString();
    CliRun c = RunCli(dir_,
                      "bench --head head.pt --tail tail.pt --data . --codecs learned --units b "
                      "--threads 1 --out out -q");
    EXPECT_EQ(c.code, 2) << what << ": " << c.out;
    EXPECT_NE(c.out.find("exit.pt"), std::string::npos) << what << ": " << c.out;
  };
  // Another unit's exit (same code shape, another hash).
  test::WriteFileBytes(b + "/exit.pt", test::ReadFileBytes(a + "/exit.pt"));
  expect_refused("another unit's exit");
  {
    Result<LearnedExit> e = LearnedExit::Load(b);
    EXPECT_NE(e.status().message().find("trained for unit"), std::string::npos)
        << e.status().ToString();
  }
  // Not TorchScript.
  test::WriteFileBytes(b + "/exit.pt", std::vector<uint8_t>{'n', 'o', 't', ' ', 'a', ' ', 'm'});
  expect_refused("garbage");
  // TorchScript, but not an exit.
  test::WriteFileBytes(b + "/exit.pt", test::ReadFileBytes(tail_));
  expect_refused("a tail");
  // Truncated.
  std::vector<uint8_t> cut = test::ReadFileBytes(a + "/exit.pt");
  cut.resize(cut.size() / 2);
  test::WriteFileBytes(b + "/exit.pt", cut);
  expect_refused("truncated");
}

}  // namespace
}  // namespace ftc

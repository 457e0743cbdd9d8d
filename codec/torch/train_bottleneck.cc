// Training a learned bottleneck (BottleNet-style) between the head and the tail of a split model,
// through the codec: `ftcodec train-bottleneck` and ftc::TrainBottleneck (docs/learned.md).
//
// The units are TorchScript modules defined here from TorchScript source (no Python needed):
//   reduce:  conv3×3 C->C' (stride 1 or 2) -> BatchNorm -> sigmoid           (on the device)
//   restore: [nearest upsample to H×W] -> conv3×3 C'->C -> BatchNorm -> ReLU -> conv3×3 C->C
// Training runs head (frozen) -> reduce -> inner codec -> restore -> tail (frozen unless
// fine-tuned). The inner codec is not differentiable: the forward pass uses its real output (the
// ans quantizer's levels, or a JPEG round trip through ftcodec's own jpeg codec) and the backward
// pass the identity (straight-through estimator). A learned per-channel entropy model (a mixture
// of logistics over the quantizer's levels) estimates the code's bits; with rate_weight > 0 the
// loss charges for them.
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/json_string.h"
#include "base/status_macros.h"
#include "codec/torch/bottleneck_model.h"
#include "codec/torch/learned_files.h"
#include "codec/torch/torch_util.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/torch.h"

namespace ftc {

using torch_internal::LoadModule;
using torch_internal::ShapeOf;
using torch_internal::Summarize;

namespace {

constexpr char kReduceSource[] = R"JIT(
def forward(self, x: Tensor) -> Tensor:
    x = (x - self.in_mean) / self.in_scale
    y = torch.conv2d(x, self.weight, self.bias, [self.stride, self.stride], [1, 1])
    y = torch.batch_norm(y, self.bn_weight, self.bn_bias, self.running_mean, self.running_var,
                         self.training, 0.1, 1e-5, False)
    return torch.sigmoid(y)
)JIT";

constexpr char kRestoreSource[] = R"JIT(
def forward(self, z: Tensor) -> Tensor:
    if self.upsample:
        z = torch.upsample_nearest2d(z, [self.out_h, self.out_w])
    y = torch.conv2d(z, self.weight1, self.bias1, [1, 1], [1, 1])
    y = torch.batch_norm(y, self.bn_weight, self.bn_bias, self.running_mean, self.running_var,
                         self.training, 0.1, 1e-5, False)
    y = torch.relu(y)
    y = torch.conv2d(y, self.weight2, self.bias2, [1, 1], [1, 1])
    return y * self.in_scale + self.in_mean
)JIT";

// The early exit (docs/learned.md, "Early exits"): the reduction unit's code, quantized as the
// ans inner codec does (levels > 1; jpeg units pass it as it is), through two 3×3 convolutions
// with ReLU, an adaptive average pool to at most 4×4 and a linear layer to K logits.
constexpr char kExitSource[] = R"JIT(
def forward(self, z: Tensor) -> Tensor:
    if self.levels > 1:
        m = float(self.levels - 1)
        z = torch.round(torch.clamp(z, 0.0, 1.0) * m) / m
    y = torch.relu(torch.conv2d(z, self.weight1, self.bias1, [1, 1], [1, 1]))
    y = torch.relu(torch.conv2d(y, self.weight2, self.bias2, [1, 1], [1, 1]))
    y = torch.adaptive_avg_pool2d(y, [self.pool_h, self.pool_w])
    return torch.linear(torch.flatten(y, 1), self.fc_weight, self.fc_bias)
)JIT";

// PyTorch's default Conv2d initialisation (kaiming_uniform with a = sqrt(5), i.e. weights and
// bias uniform in ±1/sqrt(fan_in)). GCC's sanitizer build sees a false "may be used
// uninitialized" in libtorch's optional<Generator> default argument of uniform_().
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
void AddConv(torch::jit::Module* m, const std::string& w, const std::string& b, int64_t out,
             int64_t in) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in * 9));
  m->register_parameter(w, torch::empty({out, in, 3, 3}).uniform_(-bound, bound).requires_grad_(),
                        false);
  m->register_parameter(b, torch::empty({out}).uniform_(-bound, bound).requires_grad_(), false);
}
void AddLinear(torch::jit::Module* m, int64_t out, int64_t in) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  m->register_parameter("fc_weight",
                        torch::empty({out, in}).uniform_(-bound, bound).requires_grad_(), false);
  m->register_parameter("fc_bias", torch::empty({out}).uniform_(-bound, bound).requires_grad_(),
                        false);
}
#pragma GCC diagnostic pop

void AddBatchNorm(torch::jit::Module* m, int64_t channels) {
  m->register_parameter("bn_weight", torch::ones({channels}).requires_grad_(), false);
  m->register_parameter("bn_bias", torch::zeros({channels}).requires_grad_(), false);
  m->register_buffer("running_mean", torch::zeros({channels}));
  m->register_buffer("running_var", torch::ones({channels}));
}

c10::IValue IntList(const SampleShape& s) { return c10::List<int64_t>({s.c, s.h, s.w}); }

std::string FormatDouble(double v, int precision = 6) {
  std::ostringstream o;
  o.precision(precision);
  o << v;
  return o.str();
}

std::string JsonShape(const SampleShape& s) {
  return "[" + std::to_string(s.c) + ", " + std::to_string(s.h) + ", " + std::to_string(s.w) + "]";
}

Status CheckOptions(const BottleneckTrainOptions& o) {
  if (o.head_path.empty() || o.tail_path.empty())
    return FTC_INVALID("a head and a tail are needed");
  if (o.out_dir.empty()) return FTC_INVALID("no output folder given");
  if (o.stride != 1 && o.stride != 2) return FTC_INVALID("stride %d: must be 1 or 2", o.stride);
  if (o.inner != "ans" && o.inner != "jpeg") {
    return FTC_INVALID("inner codec '%s': must be ans or jpeg", o.inner.c_str());
  }
  if (o.bits < 1 || o.bits > 8) return FTC_INVALID("bits %d out of range 1..8", o.bits);
  if (o.quality < 1 || o.quality > 100)
    return FTC_INVALID("quality %d out of range 1..100", o.quality);
  if (o.channels < 1) return FTC_INVALID("channels %d: must be at least 1", o.channels);
  if (o.epochs < 1 || o.epochs > 10000)
    return FTC_INVALID("epochs %d out of range 1..10000", o.epochs);
  if (o.max_steps < 0) return FTC_INVALID("steps must not be negative");
  if (o.batch_size < 2 || o.batch_size > 4096) {
    return FTC_INVALID("batch size %d out of range 2..4096", o.batch_size);
  }
  if (!(o.learning_rate > 0 && o.learning_rate < 10))
    return FTC_INVALID("learning rate out of range (0, 10)");
  if (!(o.rate_weight >= 0 && o.rate_weight < 1e6))
    return FTC_INVALID("rate weight out of range [0, 1e6)");
  if (o.validation < 0) return FTC_INVALID("validation count must not be negative");
  if (!(std::isfinite(o.input_scale) && o.input_scale > 0)) {
    return FTC_INVALID("input scale %g: expected a finite number > 0", o.input_scale);
  }
  if (!(o.distill_weight >= 0 && o.distill_weight < 1e6)) {
    return FTC_INVALID("distillation weight out of range [0, 1e6)");
  }
  // The exit's settings, checked before the unit trains for minutes.
  if (o.train_exit && (o.exit_epochs < 1 || o.exit_epochs > 10000)) {
    return FTC_INVALID("exit epochs %d out of range 1..10000", o.exit_epochs);
  }
  if (o.train_exit && (o.exit_channels < 1 || o.exit_channels > 1024)) {
    return FTC_INVALID("exit channels %d out of range 1..1024", o.exit_channels);
  }
  const std::vector<std::string> built = AvailableCodecs();
  if (std::find(built.begin(), built.end(), o.inner) == built.end()) {
    return Status(StatusCode::kNotBuiltIn,
                  "inner codec " + o.inner + " is not built into this ftcodec");
  }
  return Status::Ok();
}

Status CheckExitOptions(const ExitTrainOptions& o) {
  if (o.unit_dir.empty()) return FTC_INVALID("no unit folder given");
  if (o.epochs < 1 || o.epochs > 10000)
    return FTC_INVALID("exit epochs %d out of range 1..10000", o.epochs);
  if (o.max_steps < 0) return FTC_INVALID("steps must not be negative");
  if (o.batch_size < 2 || o.batch_size > 4096) {
    return FTC_INVALID("batch size %d out of range 2..4096", o.batch_size);
  }
  if (!(o.learning_rate > 0 && o.learning_rate < 10))
    return FTC_INVALID("learning rate out of range (0, 10)");
  if (o.channels < 1 || o.channels > 1024)
    return FTC_INVALID("exit channels %d out of range 1..1024", o.channels);
  if (!(o.distill_weight >= 0 && o.distill_weight < 1e6)) {
    return FTC_INVALID("distillation weight out of range [0, 1e6)");
  }
  if (o.validation < 0) return FTC_INVALID("validation count must not be negative");
  if (!(std::isfinite(o.input_scale) && o.input_scale > 0)) {
    return FTC_INVALID("input scale %g: expected a finite number > 0", o.input_scale);
  }
  return Status::Ok();
}

}  // namespace

// ---- BottleneckModel ----

Result<BottleneckModel> BottleneckModel::Create(const SampleShape& split, int channels, int stride,
                                                const std::string& inner, int bits, int quality,
                                                const at::Tensor& mean, const at::Tensor& scale) {
  if (channels < 1 || channels > split.c) {
    return FTC_INVALID("channels %d out of range 1..%lld (the split has %lld channels)", channels,
                       static_cast<long long>(split.c), static_cast<long long>(split.c));
  }
  BottleneckModel m;
  m.split = split;
  m.code = {channels, (split.h + stride - 1) / stride, (split.w + stride - 1) / stride};
  m.inner = inner;
  m.bits = bits;
  m.quality = quality;
  try {
    torch::jit::Module r("ftcodec_reduce");
    r.register_attribute("training", c10::BoolType::get(), true);
    r.register_attribute("stride", c10::IntType::get(), static_cast<int64_t>(stride));
    r.register_attribute("ftcodec_unit", c10::IntType::get(), static_cast<int64_t>(kUnitVersion));
    r.register_attribute("split_shape", c10::ListType::ofInts(), IntList(m.split));
    r.register_attribute("code_shape", c10::ListType::ofInts(), IntList(m.code));
    r.register_attribute("inner", c10::StringType::get(), inner);
    r.register_attribute("bits", c10::IntType::get(), static_cast<int64_t>(bits));
    r.register_attribute("quality", c10::IntType::get(), static_cast<int64_t>(quality));
    // The features' per-channel mean and scale: the units work on normalised features whatever
    // the head's scale, and restore maps back.
    const at::Tensor m0 = mean.defined() ? mean.reshape({1, split.c, 1, 1}).to(at::kFloat).clone()
                                         : torch::zeros({1, split.c, 1, 1});
    const at::Tensor s0 = scale.defined() ? scale.reshape({1, split.c, 1, 1}).to(at::kFloat).clone()
                                          : torch::ones({1, split.c, 1, 1});
    r.register_buffer("in_mean", m0);
    r.register_buffer("in_scale", s0);
    AddConv(&r, "weight", "bias", channels, split.c);
    AddBatchNorm(&r, channels);
    r.define(kReduceSource);

    torch::jit::Module s("ftcodec_restore");
    s.register_attribute("training", c10::BoolType::get(), true);
    s.register_attribute("upsample", c10::BoolType::get(), stride != 1);
    s.register_attribute("out_h", c10::IntType::get(), split.h);
    s.register_attribute("out_w", c10::IntType::get(), split.w);
    s.register_attribute("ftcodec_unit", c10::IntType::get(), static_cast<int64_t>(kUnitVersion));
    s.register_buffer("in_mean", m0.clone());
    s.register_buffer("in_scale", s0.clone());
    AddConv(&s, "weight1", "bias1", split.c, channels);
    AddBatchNorm(&s, split.c);
    AddConv(&s, "weight2", "bias2", split.c, split.c);
    s.define(kRestoreSource);
    m.reduce = std::move(r);
    m.restore = std::move(s);

    // Entropy model: per channel a mixture of kMixture logistics over level indices 0..M.
    const double levels = static_cast<double>(m.levels() - 1);
    m.em_logits = torch::zeros({channels, kMixture}).requires_grad_(true);
    m.em_means =
        (torch::linspace(0.0, levels, kMixture).repeat({channels, 1})).clone().requires_grad_(true);
    m.em_log_scales = torch::full({channels, kMixture}, std::log(std::max(1.0, levels / kMixture)))
                          .requires_grad_(true);
  } catch (const std::exception& e) {
    return FTC_INTERNAL("building the units: %s", Summarize(e).c_str());
  }
  return m;
}

int BottleneckModel::levels() const { return inner == "ans" ? (1 << bits) : 256; }

std::vector<at::Tensor> BottleneckModel::UnitParameters() const {
  std::vector<at::Tensor> out;
  for (const torch::jit::Module* m : {&reduce, &restore}) {
    for (const at::Tensor& p : m->parameters()) out.push_back(p);
  }
  return out;
}

std::vector<at::Tensor> BottleneckModel::EntropyParameters() const {
  return {em_logits, em_means, em_log_scales};
}

void BottleneckModel::Train(bool on) {
  reduce.train(on);
  restore.train(on);
}

at::Tensor BottleneckModel::Reduce(const at::Tensor& features) {
  return reduce.forward({features}).toTensor();
}

at::Tensor BottleneckModel::Restore(const at::Tensor& code) {
  return restore.forward({code}).toTensor();
}

Result<at::Tensor> BottleneckModel::CodecForward(const at::Tensor& z) const {
  if (inner == "ans") {
    // The ans quantizer on range [0,1] (docs/format.md, "Quantizer"): level round(z·M), value
    // level/M (ties aside, which have measure zero).
    const double m = static_cast<double>((1 << bits) - 1);
    return at::round(z.detach().clamp(0.0, 1.0) * m) / m;
  }
  // JPEG: a real round trip through ftcodec's jpeg codec, as the learned codec codes the code.
  at::Tensor zc = z.detach().to(at::kFloat).contiguous();
  FTC_ASSIGN_OR_RETURN(TensorView view, ViewOf(zc));
  EncoderOptions o = InnerOptions();
  FTC_ASSIGN_OR_RETURN(Bytes bytes, encode(view, o));
  FTC_ASSIGN_OR_RETURN(Tensor back, decode(bytes));
  at::Tensor t = ToTorch(std::move(back));
  return t.reshape(zc.sizes());
}

EncoderOptions BottleneckModel::InnerOptions() const {
  EncoderOptions o;
  o.codec = inner;
  o.clip.kind = ClipSpec::Kind::kRange;
  o.clip.a = 0.0;
  o.clip.b = 1.0;
  o.bits = bits;
  o.quality = quality;
  o.bit_depth = inner == "jpeg" ? 8 : 0;
  return o;
}

Result<at::Tensor> BottleneckModel::QuantizeSte(const at::Tensor& z) const {
  FTC_ASSIGN_OR_RETURN(at::Tensor q, CodecForward(z));
  return z + (q - z).detach();
}

at::Tensor BottleneckModel::RateBits(const at::Tensor& zq) const {
  const double m = static_cast<double>(levels() - 1);
  const int64_t c = code.c;
  at::Tensor y = (zq * m).unsqueeze(-1);  // N×C'×H'×W'×1, level indices
  at::Tensor mu = em_means.reshape({1, c, 1, 1, kMixture});
  at::Tensor inv_s = at::exp(-em_log_scales).reshape({1, c, 1, 1, kMixture});
  at::Tensor w = at::softmax(em_logits, 1).reshape({1, c, 1, 1, kMixture});
  at::Tensor upper = at::sigmoid((y + 0.5 - mu) * inv_s);
  at::Tensor lower = at::sigmoid((y - 0.5 - mu) * inv_s);
  // The first and the last level take the tails.
  upper = at::where(y > m - 0.5, at::ones_like(upper), upper);
  lower = at::where(y < 0.5, at::zeros_like(lower), lower);
  at::Tensor p = ((upper - lower) * w).sum(-1).clamp_min(1e-9);
  return -at::log2(p);  // N×C'×H'×W'
}

// ---- training ----

namespace {

struct Batch {
  at::Tensor x, y;  // y: int64 labels, or undefined
};

// KL divergence from the unmodified model's predicted distribution to the student's.
at::Tensor Distillation(const at::Tensor& logits, const at::Tensor& teacher) {
  at::Tensor p = at::softmax(teacher, 1);
  return (p * (at::log_softmax(teacher, 1) - at::log_softmax(logits, 1))).sum(1).mean();
}

// Cross-entropy against the labels plus `distill` × distillation, or distillation alone when
// there are no labels.
at::Tensor TaskLoss(const at::Tensor& logits, const Batch& b, const at::Tensor& teacher,
                    double distill) {
  if (!b.y.defined()) return Distillation(logits, teacher);
  at::Tensor ce = at::cross_entropy_loss(logits, b.y);
  return distill > 0 ? ce + distill * Distillation(logits, teacher) : ce;
}

Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) return Status(StatusCode::kIoError, path + ": cannot write");
  return Status::Ok();
}

std::string UnitJson(const BottleneckTrainOptions& o, const BottleneckTrainReport& r,
                     const BottleneckModel& m) {
  std::ostringstream j;
  j << "{\n";
  j << "  \"format\": \"ftcodec-unit\",\n  \"version\": " << kUnitVersion << ",\n";
  j << "  \"hash\": \"" << r.unit.hash << "\",\n";
  j << "  \"split_shape\": " << JsonShape(m.split) << ",\n";
  j << "  \"code_shape\": " << JsonShape(m.code) << ",\n";
  j << "  \"reduce\": \"" << kReduceFile << "\",\n  \"restore\": \"" << kRestoreFile << "\",\n";
  j << "  \"tail\": " << (o.finetune_tail ? std::string("\"") + kTailFile + "\"" : "null") << ",\n";
  j << "  \"inner\": \"" << m.inner << "\",\n";
  j << "  \"bits\": " << m.bits << ",\n  \"quality\": " << m.quality << ",\n";
  j << "  \"training\": {\n";
  j << "    \"head\": " << JsonString(o.head_path) << ",\n";
  j << "    \"tail\": " << JsonString(o.tail_path) << ",\n";
  j << "    \"channels\": " << o.channels << ", \"stride\": " << o.stride << ",\n";
  j << "    \"epochs\": " << o.epochs << ", \"epochs_run\": " << r.epochs_run
    << ", \"best_epoch\": " << r.best_epoch << ", \"steps\": " << r.steps
    << ", \"batch_size\": " << o.batch_size << ",\n";
  j << "    \"learning_rate\": " << FormatDouble(o.learning_rate)
    << ", \"rate_weight\": " << FormatDouble(o.rate_weight)
    << ", \"distill_weight\": " << FormatDouble(o.distill_weight) << ",\n";
  j << "    \"finetune_tail\": " << (o.finetune_tail ? "true" : "false") << ", \"seed\": " << o.seed
    << ",\n";
  j << "    \"train_samples\": " << r.train_samples
    << ", \"seconds\": " << FormatDouble(r.seconds, 4) << "\n  },\n";
  j << "  \"validation\": {\n";
  j << "    \"samples\": " << r.validation_samples << ",\n";
  j << "    \"accuracy_original\": " << FormatDouble(r.accuracy_original) << ",\n";
  j << "    \"accuracy_unit\": " << FormatDouble(r.accuracy_unit) << ",\n";
  j << "    \"agreement\": " << FormatDouble(r.agreement) << ",\n";
  j << "    \"bytes_per_sample\": " << FormatDouble(r.bytes_per_sample) << ",\n";
  j << "    \"model_bits_per_element\": " << FormatDouble(r.model_bits_per_element) << "\n  },\n";
  j << "  \"command\": " << JsonString(o.command) << "\n";
  j << "}\n";
  return j.str();
}

at::Tensor Logits(torch::jit::Module& m, const at::Tensor& x) { return m.forward({x}).toTensor(); }

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The tail's learning rate relative to the units' when it is fine-tuned.
constexpr double kTailLrScale = 0.1;

// The split model: the frozen head, the tail (trained too when it is fine-tuned) and an
// unmodified copy of the tail, the teacher (distillation, and the original's accuracy).
struct TrainingModules {
  torch::jit::Module head, tail, teacher;
};

// The inputs (f32, scaled by input_scale) and their labels (int64, or undefined): the first
// train_n samples train, the last val validate.
struct TrainingSet {
  at::Tensor x, y;
  int64_t train_n = 0, val = 0;
};

// The training and held-out counts of `inputs` (the last `validation` samples held out; 0 =
// min(5000, N/10)), once the labels (if any) match the samples.
Status SplitTrainingSet(const TensorView& inputs, const std::vector<int>& labels,
                        int64_t validation, TrainingSet* data) {
  const int64_t n = inputs.shape[0];
  if (!labels.empty() && static_cast<int64_t>(labels.size()) != n) {
    return FTC_INVALID("%zu labels for %lld samples", labels.size(), static_cast<long long>(n));
  }
  data->val = validation > 0 ? validation : std::min<int64_t>(5000, n / 10);
  data->train_n = n - data->val;
  if (data->val < 1 || data->train_n < 2) {
    return FTC_INVALID("%lld samples: too few to train (and hold out %lld for validation)",
                       static_cast<long long>(n), static_cast<long long>(data->val));
  }
  return Status::Ok();
}

// The output folder may be created, or replaced: only a unit folder (or an empty one) with
// --force, never an arbitrary directory.
Status CheckOutputFolder(const BottleneckTrainOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(o.out_dir, ec)) return Status::Ok();
  if (!o.overwrite) {
    return FTC_INVALID("%s already exists (use --force to replace it)", o.out_dir.c_str());
  }
  const fs::path d(o.out_dir);
  if (!fs::is_directory(d, ec) || !(fs::is_empty(d, ec) || fs::exists(d / kUnitJsonFile, ec) ||
                                    fs::exists(d / kReduceFile, ec))) {
    return FTC_INVALID("%s exists and is not a learned unit folder: not replacing it",
                       o.out_dir.c_str());
  }
  return Status::Ok();
}

// The split's shape, from the head on the first samples. With labels, also checks that they are
// classes of the tail (an index beyond its logits would only surface as a libtorch error in the
// middle of training) and that the unmodified model is above chance on held-out samples (inputs
// on the wrong scale, or a model that does not fit the data, would train for minutes towards a
// meaningless unit).
Result<SampleShape> ProbeSplit(TrainingModules& net, const TrainingSet& data,
                               const std::vector<int>& labels, const BottleneckTrainOptions& o) {
  torch::NoGradGuard ng;
  at::Tensor f = net.head.forward({data.x.slice(0, 0, 2)}).toTensor();
  if (f.dim() != 4) {
    return FTC_INVALID("%s gives %s features; a learned bottleneck needs N×C×H×W",
                       o.head_path.c_str(), ShapeOf(f).c_str());
  }
  const SampleShape split = {f.size(1), f.size(2), f.size(3)};
  if (labels.empty()) return split;
  const at::Tensor logits = Logits(net.teacher, f.to(at::kFloat));
  if (logits.dim() != 2 || logits.size(0) != f.size(0)) {
    return FTC_INVALID("%s: output must be N×K logits, got %s for features %s", o.tail_path.c_str(),
                       ShapeOf(logits).c_str(), ShapeOf(f).c_str());
  }
  FTC_RETURN_IF_ERROR(CheckClassLabels(labels, logits.size(1)).WithContext("labels"));
  const int64_t check = std::min<int64_t>(data.val, 1000);
  at::Tensor xs = data.x.slice(0, data.train_n, data.train_n + check);
  const at::Tensor pred =
      Logits(net.teacher, net.head.forward({xs}).toTensor().to(at::kFloat)).argmax(1);
  const at::Tensor y = data.y.slice(0, data.train_n, data.train_n + check);
  const double top1 =
      100.0 * static_cast<double>(pred.eq(y).sum().item<int64_t>()) / static_cast<double>(check);
  FTC_RETURN_IF_ERROR(CheckAboveChance(top1, logits.size(1), o.input_scale, check));
  return split;
}

// Freezes the head and the teacher (and the tail unless it is fine-tuned); Adam over the units
// and the entropy model, and over the tail at kTailLrScale of their rate when it is fine-tuned.
std::unique_ptr<torch::optim::Adam> MakeOptimizer(const BottleneckTrainOptions& o,
                                                  TrainingModules& net,
                                                  const BottleneckModel& model) {
  for (const at::Tensor& p : net.tail.parameters()) p.requires_grad_(o.finetune_tail);
  for (const at::Tensor& p : net.teacher.parameters()) p.requires_grad_(false);
  for (const at::Tensor& p : net.head.parameters()) p.requires_grad_(false);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  std::vector<at::Tensor> unit_params = model.UnitParameters();
  for (const at::Tensor& p : model.EntropyParameters()) unit_params.push_back(p);
  groups.emplace_back(unit_params, std::make_unique<torch::optim::AdamOptions>(o.learning_rate));
  std::vector<at::Tensor> tp;
  if (o.finetune_tail) {
    for (const at::Tensor& p : net.tail.parameters()) tp.push_back(p);
  }
  if (!tp.empty()) {
    groups.emplace_back(
        tp, std::make_unique<torch::optim::AdamOptions>(o.learning_rate * kTailLrScale));
  }
  return std::make_unique<torch::optim::Adam>(groups, torch::optim::AdamOptions(o.learning_rate));
}

// What one training step measured.
struct StepLosses {
  at::Tensor task, rate;  // the task loss and the code's bits per element
  double accuracy = 0;    // of the batch: against the labels, or the teacher without them
};

// One optimisation step on `batch` at learning rate lr (the tail's group at lr · kTailLrScale).
Result<StepLosses> TrainStep(const Batch& batch, double lr, const BottleneckTrainOptions& o,
                             TrainingModules& net, BottleneckModel* model,
                             torch::optim::Adam* adam) {
  at::Tensor f, t_logits;
  {
    torch::NoGradGuard ng;
    f = net.head.forward({batch.x}).toTensor().to(at::kFloat);
    if (!batch.y.defined() || o.distill_weight > 0) t_logits = Logits(net.teacher, f);
  }
  at::Tensor z = model->Reduce(f);
  FTC_ASSIGN_OR_RETURN(at::Tensor zq, model->QuantizeSte(z));
  at::Tensor logits = Logits(net.tail, model->Restore(zq));
  at::Tensor task = TaskLoss(logits, batch, t_logits, o.distill_weight);
  at::Tensor rate = model->RateBits(zq).mean();
  // The entropy model learns from the code as it is (detached); the units pay for bits only
  // with rate_weight > 0.
  at::Tensor em_fit = model->RateBits(zq.detach()).mean();
  at::Tensor loss = task + o.rate_weight * rate + em_fit;
  for (size_t g = 0; g < adam->param_groups().size(); ++g) {
    static_cast<torch::optim::AdamOptions&>(adam->param_groups()[g].options())
        .lr(g == 0 ? lr : lr * kTailLrScale);
  }
  adam->zero_grad();
  loss.backward();
  adam->step();
  StepLosses l;
  l.task = task;
  l.rate = rate;
  l.accuracy = batch.y.defined()
                   ? logits.argmax(1).eq(batch.y).to(at::kFloat).mean().item<double>()
                   : logits.argmax(1).eq(t_logits.argmax(1)).to(at::kFloat).mean().item<double>();
  return l;
}

// Epochs in a row without a better validation top-1 after which training stops.
constexpr int kPatience = 3;
// Held-out samples the per-epoch validation uses.
constexpr int64_t kEpochValidation = 2000;

// Top-1 (fraction) of the model with the units on up to kEpochValidation held-out samples,
// through the training path (the quantizer's forward pass): against the labels, or the teacher.
double EpochValidation(const TrainingSet& data, TrainingModules& net, BottleneckModel* model) {
  torch::NoGradGuard ng;
  const bool tail_training = net.tail.is_training();
  model->Train(false);
  net.tail.eval();
  const int64_t n = std::min(data.val, kEpochValidation);
  int64_t correct = 0;
  for (int64_t s = 0; s < n; s += 256) {
    const int64_t e = std::min(n, s + 256);
    at::Tensor x = data.x.slice(0, data.train_n + s, data.train_n + e);
    at::Tensor f = net.head.forward({x}).toTensor().to(at::kFloat);
    Result<at::Tensor> zq = model->CodecForward(model->Reduce(f));
    if (!zq.ok()) return 0;
    at::Tensor pred = Logits(net.tail, model->Restore(*zq)).argmax(1);
    at::Tensor want = data.y.defined() ? data.y.slice(0, data.train_n + s, data.train_n + e)
                                       : Logits(net.teacher, f).argmax(1);
    correct += pred.eq(want).sum().item<int64_t>();
  }
  model->Train(true);
  net.tail.train(tail_training);
  return n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0;
}

// Everything training changes: the units' parameters and buffers, the entropy model, the tail.
std::vector<at::Tensor> TrainedState(TrainingModules& net, BottleneckModel* model, bool tail) {
  std::vector<at::Tensor> v;
  for (torch::jit::Module* m : {&model->reduce, &model->restore}) {
    for (const at::Tensor& t : m->parameters()) v.push_back(t);
    for (const at::Tensor& t : m->buffers()) v.push_back(t);
  }
  for (const at::Tensor& t : model->EntropyParameters()) v.push_back(t);
  if (tail) {
    for (const at::Tensor& t : net.tail.parameters()) v.push_back(t);
    for (const at::Tensor& t : net.tail.buffers()) v.push_back(t);
  }
  return v;
}

std::vector<at::Tensor> Snapshot(const std::vector<at::Tensor>& state) {
  std::vector<at::Tensor> copy;
  for (const at::Tensor& t : state) copy.push_back(t.detach().clone());
  return copy;
}

void Restore(const std::vector<at::Tensor>& state, const std::vector<at::Tensor>& saved) {
  torch::NoGradGuard ng;
  for (size_t i = 0; i < state.size(); ++i) state[i].copy_(saved[i]);
}

// Trains the units (and the tail when it is fine-tuned) on the training samples: shuffled
// batches, cosine-decayed learning rate, progress after every step; after every epoch a
// validation on held-out samples keeps the best units and stops after kPatience epochs without
// a gain. Sets report->steps, epochs, best epoch and report->model_bits_per_element.
Status TrainLoop(const TrainingSet& data, const BottleneckTrainOptions& o, Clock::time_point t0,
                 const BottleneckProgressFn& progress, TrainingModules& net, BottleneckModel* model,
                 BottleneckTrainReport* report) {
  std::unique_ptr<torch::optim::Adam> adam = MakeOptimizer(o, net, *model);
  const int64_t bs = std::min<int64_t>(o.batch_size, data.train_n);
  const int64_t per_epoch = data.train_n / bs;  // whole batches (BatchNorm needs > 1 sample)
  int64_t total = per_epoch * o.epochs;
  if (o.max_steps > 0) total = std::min(total, o.max_steps);
  std::mt19937_64 rng(o.seed);
  std::vector<int64_t> order(static_cast<size_t>(data.train_n));
  BottleneckTrainProgress pr;
  pr.epochs = static_cast<int>((total + per_epoch - 1) / per_epoch);
  pr.steps = total;
  const double decay = 0.98;  // moving averages for the progress report
  double weight = 0;
  int64_t step = 0;
  const std::vector<at::Tensor> state = TrainedState(net, model, o.finetune_tail);
  std::vector<at::Tensor> best;
  double best_acc = -1;
  model->Train(true);
  for (int epoch = 1; step < total; ++epoch) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    at::Tensor perm = torch::tensor(order, torch::kInt64);
    for (int64_t b = 0; b < per_epoch && step < total; ++b, ++step) {
      at::Tensor idx = perm.slice(0, b * bs, (b + 1) * bs);
      Batch batch{data.x.index_select(0, idx),
                  data.y.defined() ? data.y.index_select(0, idx) : at::Tensor()};
      const double lr =
          0.5 * o.learning_rate *
          (1 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(total)));
      FTC_ASSIGN_OR_RETURN(StepLosses l, TrainStep(batch, lr, o, net, model, adam.get()));
      weight = decay * weight + (1 - decay);
      auto avg = [&](double old, double now) { return old + (1 - decay) * (now - old) / weight; };
      // Bias-corrected exponential moving averages.
      pr.loss = avg(pr.loss, (l.task + o.rate_weight * l.rate).item<double>());
      pr.task_loss = avg(pr.task_loss, l.task.item<double>());
      pr.bits_per_element = avg(pr.bits_per_element, l.rate.item<double>());
      pr.accuracy = avg(pr.accuracy, l.accuracy);
      pr.epoch = epoch;
      pr.step = step + 1;
      pr.seconds = SecondsSince(t0);
      if (!std::isfinite(pr.loss)) {
        return FTC_INVALID(
            "training diverged at step %lld (loss is not finite); try a smaller "
            "--lr",
            static_cast<long long>(step + 1));
      }
      if (progress) progress(pr);
    }
    // The epoch's validation: keep the best units, stop when they no longer improve.
    report->epochs_run = epoch;
    const double acc = EpochValidation(data, net, model);
    if (report->best_epoch == 0 || acc > best_acc) {
      best_acc = acc;
      report->best_epoch = epoch;
      best = Snapshot(state);
    } else if (epoch - report->best_epoch >= kPatience && step < total) {
      report->stopped_early = true;
      break;
    }
  }
  if (!best.empty() && report->best_epoch != report->epochs_run) Restore(state, best);
  report->steps = step;
  report->model_bits_per_element = pr.bits_per_element;
  model->Train(false);
  net.tail.eval();
  return Status::Ok();
}

// Writes the unit folder next to its destination, then moves it into place.
Status SaveUnitFolder(const BottleneckTrainOptions& o, const BottleneckModel& model,
                      TrainingModules& net) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path out(o.out_dir);
  const fs::path tmp = out.parent_path() / (out.filename().string() + ".tmp-ftcodec");
  fs::remove_all(tmp, ec);
  if (!fs::create_directories(tmp, ec) || ec) {
    return Status(StatusCode::kIoError, tmp.string() + ": cannot create (" + ec.message() + ")");
  }
  auto fail = [&](const Status& s) {
    fs::remove_all(tmp, ec);
    return s;
  };
  try {
    model.reduce.save((tmp / kReduceFile).string());
    model.restore.save((tmp / kRestoreFile).string());
    if (o.finetune_tail) net.tail.save((tmp / kTailFile).string());
  } catch (const std::exception& e) {
    return fail(Status(StatusCode::kIoError, "saving the units: " + Summarize(e)));
  }
  if (fs::exists(out, ec)) fs::remove_all(out, ec);
  fs::rename(tmp, out, ec);
  if (ec)
    return fail(
        Status(StatusCode::kIoError, out.string() + ": cannot create (" + ec.message() + ")"));
  return Status::Ok();
}

// Validation through the real codec on the held-out samples: head -> encode -> decode -> tail.
// Sets the report's accuracies, agreement and bytes per sample.
Status ValidateUnit(const TrainingSet& data, const std::vector<int>& labels,
                    const BottleneckTrainOptions& o, TrainingModules& net, BottleneckModel& model,
                    BottleneckTrainReport* report) {
  c10::InferenceMode im;
  EncoderOptions eo;
  eo.codec = "learned";
  eo.unit = o.out_dir;
  DecoderOptions dopt;
  dopt.unit = o.out_dir;
  int64_t correct_orig = 0, correct_unit = 0, correct_unq = 0, agree = 0, bytes = 0;
  const int64_t vb = 256;
  const int64_t n = data.train_n + data.val;
  for (int64_t s = data.train_n; s < n; s += vb) {
    const int64_t e = std::min(n, s + vb);
    at::Tensor x = data.x.slice(0, s, e);
    at::Tensor f = net.head.forward({x}).toTensor().to(at::kFloat).contiguous();
    at::Tensor orig = Logits(net.teacher, f).argmax(1);
    FTC_ASSIGN_OR_RETURN(TensorView fv, ViewOf(f));
    FTC_ASSIGN_OR_RETURN(Bytes code, encode(fv, eo));
    bytes += static_cast<int64_t>(code.size());
    FTC_ASSIGN_OR_RETURN(Tensor back, decode(code, dopt));
    at::Tensor pred = Logits(net.tail, ToTorch(std::move(back))).argmax(1);
    agree += pred.eq(orig).sum().item<int64_t>();
    at::Tensor unq = Logits(net.tail, model.Restore(model.Reduce(f))).argmax(1);
    if (!labels.empty()) {
      std::vector<int64_t> yl(labels.begin() + s, labels.begin() + e);
      at::Tensor y = torch::tensor(yl, torch::kInt64);
      correct_orig += orig.eq(y).sum().item<int64_t>();
      correct_unit += pred.eq(y).sum().item<int64_t>();
      correct_unq += unq.eq(y).sum().item<int64_t>();
    } else {
      correct_unq += unq.eq(orig).sum().item<int64_t>();
    }
  }
  report->accuracy_unquantized = static_cast<double>(correct_unq) / static_cast<double>(data.val);
  const double v = static_cast<double>(data.val);
  report->agreement = static_cast<double>(agree) / v;
  report->accuracy_original = labels.empty() ? 1.0 : static_cast<double>(correct_orig) / v;
  report->accuracy_unit =
      labels.empty() ? report->agreement : static_cast<double>(correct_unit) / v;
  report->bytes_per_sample = static_cast<double>(bytes) / v;
  return Status::Ok();
}

// What limits the unit, from the validation (docs/learned.md, "What limits a unit").
std::string LimitOf(const BottleneckTrainOptions& o, const BottleneckTrainReport& r) {
  const double drop = 100 * (r.accuracy_original - r.accuracy_unit);
  const double codec = 100 * (r.accuracy_unquantized - r.accuracy_unit);
  const double capacity = 100 * (r.accuracy_original - r.accuracy_unquantized);
  if (drop <= 0.5) return StrFormat("within 0.5 points of the unmodified model (%+.2f)", -drop);
  if (codec >= capacity) {
    return StrFormat(
        "the quantizer: the inner codec costs %.2f of the %.2f points (%.2f%% without it); try "
        "%s",
        codec, drop, 100 * r.accuracy_unquantized,
        o.inner == "ans" ? StrFormat("--bits %d", std::min(8, o.bits + 1)).c_str()
                         : StrFormat("--quality %d", std::min(100, o.quality + 15)).c_str());
  }
  // (The codec may even gain a little back: then all of the drop is the unit's.)
  const std::string lost =
      capacity >= drop
          ? StrFormat("all %.2f points are lost before quantization", drop)
          : StrFormat("%.2f of the %.2f points are lost before quantization", capacity, drop);
  return StrFormat("the unit's capacity: %s; try more --channels (%d now)%s, more --epochs%s",
                   lost.c_str(), o.channels, o.stride == 2 ? ", --stride 1" : "",
                   o.rate_weight > 0 ? " or a smaller --rate-weight" : "");
}

// The features' per-channel mean and standard deviation over up to 2,048 training samples
// (a channel of constant value gets scale 1).
void FeatureStats(TrainingModules& net, const TrainingSet& data, at::Tensor* mean,
                  at::Tensor* scale) {
  torch::NoGradGuard ng;
  const int64_t n = std::min<int64_t>(data.train_n, 2048);
  at::Tensor sum, sq;
  int64_t count = 0;
  for (int64_t s = 0; s < n; s += 256) {
    at::Tensor f =
        net.head.forward({data.x.slice(0, s, std::min(n, s + 256))}).toTensor().to(at::kDouble);
    at::Tensor fs = f.sum({0, 2, 3}), fq = (f * f).sum({0, 2, 3});
    sum = sum.defined() ? sum + fs : fs;
    sq = sq.defined() ? sq + fq : fq;
    count += f.size(0) * f.size(2) * f.size(3);
  }
  *mean = sum / static_cast<double>(count);
  at::Tensor var = (sq / static_cast<double>(count) - *mean * *mean).clamp_min(0);
  at::Tensor sd = var.sqrt();
  *scale = torch::where(sd > 1e-12, sd, torch::ones_like(sd)).to(at::kFloat);
  *mean = mean->to(at::kFloat);
}

// ---- early exits ----

// What the exit is trained for: the unit's reduction unit (frozen) and the server's path
// (the inner codec, restore, tail) that gives the answer it learns from.
struct ExitContext {
  torch::jit::Module* head = nullptr;
  torch::jit::Module* reduce = nullptr;
  torch::jit::Module* restore = nullptr;
  torch::jit::Module* tail = nullptr;  // the server's tail (the unit's tail.pt when it ships one)
  SampleShape code;
  std::string inner;
  int bits = 0;
  std::string unit_dir, unit_hash;
};

torch::jit::Module MakeExitModule(const ExitContext& c, int64_t classes, int channels) {
  torch::jit::Module e("ftcodec_exit");
  e.register_attribute("training", c10::BoolType::get(), false);
  e.register_attribute("ftcodec_exit", c10::IntType::get(), static_cast<int64_t>(kExitVersion));
  e.register_attribute("code_shape", c10::ListType::ofInts(), IntList(c.code));
  e.register_attribute("unit_hash", c10::StringType::get(), c.unit_hash);
  e.register_attribute("num_classes", c10::IntType::get(), classes);
  e.register_attribute("levels", c10::IntType::get(),
                       static_cast<int64_t>(c.inner == "ans" ? (1 << c.bits) : 0));
  const int64_t ph = std::min<int64_t>(c.code.h, 4), pw = std::min<int64_t>(c.code.w, 4);
  e.register_attribute("pool_h", c10::IntType::get(), ph);
  e.register_attribute("pool_w", c10::IntType::get(), pw);
  AddConv(&e, "weight1", "bias1", channels, c.code.c);
  AddConv(&e, "weight2", "bias2", channels, channels);
  AddLinear(&e, classes, channels * ph * pw);
  e.define(kExitSource);
  return e;
}

// The codes (reduce's output, not quantized: the exit quantizes) and the server's logits for
// every sample.
Status ExitInputs(const TrainingSet& data, ExitContext& c, at::Tensor* codes, at::Tensor* server) {
  // No gradients, but not inference mode: the codes take part in the exit's training.
  torch::NoGradGuard ng;
  const int64_t n = data.train_n + data.val;
  std::vector<at::Tensor> zs, ls;
  EncoderOptions eo;
  eo.codec = "learned";
  eo.unit = c.unit_dir;
  DecoderOptions dopt;
  dopt.unit = c.unit_dir;
  for (int64_t s = 0; s < n; s += 256) {
    const at::Tensor x = data.x.slice(0, s, std::min(n, s + 256));
    const at::Tensor f = c.head->forward({x}).toTensor().to(at::kFloat).contiguous();
    const at::Tensor z = c.reduce->forward({f}).toTensor().clamp(0.0, 1.0);
    at::Tensor restored;
    if (c.inner == "ans") {
      // The ans quantizer on [0,1] (what the codec does; BottleneckModel::CodecForward).
      const double m = static_cast<double>((1 << c.bits) - 1);
      restored = c.restore->forward({at::round(z * m) / m}).toTensor();
    } else {
      // jpeg: the real codec round trip.
      FTC_ASSIGN_OR_RETURN(TensorView fv, ViewOf(f));
      FTC_ASSIGN_OR_RETURN(Bytes code, encode(fv, eo));
      FTC_ASSIGN_OR_RETURN(Tensor back, decode(code, dopt));
      restored = ToTorch(std::move(back));
    }
    zs.push_back(z.clone());
    ls.push_back(c.tail->forward({restored}).toTensor().to(at::kFloat).clone());
  }
  *codes = at::cat(zs, 0);
  *server = at::cat(ls, 0);
  return Status::Ok();
}

const std::vector<double>& ExitReportThresholds() {
  static const std::vector<double> t = {0.5, 0.8, 0.9, 0.95, 0.99};
  return t;
}

// Trains exit.pt on the unit of `c` and writes it into the unit folder.
Result<ExitTrainReport> TrainExitImpl(const TrainingSet& data, ExitContext& c,
                                      const ExitTrainOptions& o, const ExitProgressFn& progress) {
  const Clock::time_point t0 = Clock::now();
  ExitTrainReport r;
  r.train_samples = data.train_n;
  r.validation_samples = data.val;
  at::Tensor codes, server;
  FTC_RETURN_IF_ERROR(ExitInputs(data, c, &codes, &server));
  if (server.dim() != 2 || server.size(0) != codes.size(0)) {
    return FTC_INVALID("the tail's output must be N×K logits, got %s", ShapeOf(server).c_str());
  }
  const int64_t classes = server.size(1);
  torch::manual_seed(o.seed);
  torch::jit::Module e = MakeExitModule(c, classes, o.channels);
  std::vector<at::Tensor> params;
  for (const at::Tensor& p : e.parameters()) params.push_back(p);
  torch::optim::Adam adam(params, torch::optim::AdamOptions(o.learning_rate));
  const int64_t bs = std::min<int64_t>(o.batch_size, data.train_n);
  const int64_t per_epoch = std::max<int64_t>(1, data.train_n / bs);
  int64_t total = per_epoch * o.epochs;
  if (o.max_steps > 0) total = std::min(total, o.max_steps);
  std::mt19937_64 rng(o.seed);
  std::vector<int64_t> order(static_cast<size_t>(data.train_n));
  int64_t step = 0;
  double avg = 0;
  while (step < total) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    const at::Tensor perm = torch::tensor(order, torch::kInt64);
    for (int64_t b = 0; b < per_epoch && step < total; ++b, ++step) {
      const at::Tensor idx = perm.slice(0, b * bs, (b + 1) * bs);
      const at::Tensor logits = e.forward({codes.index_select(0, idx)}).toTensor();
      const at::Tensor teacher = server.index_select(0, idx);
      at::Tensor loss;
      if (data.y.defined()) {
        loss = at::cross_entropy_loss(logits, data.y.index_select(0, idx));
        if (o.distill_weight > 0) loss = loss + o.distill_weight * Distillation(logits, teacher);
      } else {
        loss = Distillation(logits, teacher);
      }
      const double lr =
          0.5 * o.learning_rate *
          (1 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(total)));
      static_cast<torch::optim::AdamOptions&>(adam.param_groups()[0].options()).lr(lr);
      adam.zero_grad();
      loss.backward();
      adam.step();
      const double l = loss.item<double>();
      if (!std::isfinite(l)) {
        return FTC_INVALID("training the exit diverged at step %lld; try a smaller --lr",
                           static_cast<long long>(step + 1));
      }
      avg = step == 0 ? l : 0.98 * avg + 0.02 * l;
      if (progress) progress(step + 1, total, avg);
    }
  }
  r.steps = step;

  // Validation on the held-out samples.
  {
    torch::NoGradGuard ng;
    const int64_t s0 = data.train_n, n = data.val;
    const at::Tensor logits = e.forward({codes.slice(0, s0, s0 + n)}).toTensor();
    const std::tuple<at::Tensor, at::Tensor> best = at::softmax(logits, 1).max(1);
    const at::Tensor conf = std::get<0>(best), pred = std::get<1>(best);
    const at::Tensor spred = server.slice(0, s0, s0 + n).argmax(1);
    const at::Tensor want = data.y.defined() ? data.y.slice(0, s0, s0 + n) : spred;
    const double v = static_cast<double>(n);
    r.accuracy = pred.eq(want).sum().item<double>() / v;
    r.agreement = pred.eq(spred).sum().item<double>() / v;
    r.server_accuracy = spred.eq(want).sum().item<double>() / v;
    for (double t : ExitReportThresholds()) {
      const at::Tensor out = conf.ge(t);
      const at::Tensor answer = at::where(out, pred, spred);
      r.thresholds.push_back(t);
      r.share.push_back(out.sum().item<double>() / v);
      r.top1.push_back(answer.eq(want).sum().item<double>() / v);
    }
  }

  // exit.pt, written beside and moved into place.
  namespace fs = std::filesystem;
  const fs::path dst = fs::path(c.unit_dir) / kExitFile;
  const fs::path tmp = fs::path(c.unit_dir) / (std::string(kExitFile) + ".tmp-ftcodec");
  std::error_code ec;
  try {
    e.save(tmp.string());
  } catch (const std::exception& ex) {
    fs::remove(tmp, ec);
    return Status(StatusCode::kIoError, dst.string() + ": cannot write: " + Summarize(ex));
  }
  fs::rename(tmp, dst, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status(StatusCode::kIoError, dst.string() + ": cannot write (" + ec.message() + ")");
  }
  r.seconds = SecondsSince(t0);
  return r;
}

// Adds (or replaces) the "exit" entry of the folder's unit.json; a folder without one (a unit
// written by hand) gets none.
Status AddExitToUnitJson(const std::string& dir, const ExitTrainOptions& o,
                         const ExitTrainReport& r) {
  const std::string path = (std::filesystem::path(dir) / kUnitJsonFile).string();
  std::ifstream in(path);
  if (!in) return Status::Ok();
  std::stringstream text;
  text << in.rdbuf();
  in.close();
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return FTC_CORRUPT("%s: not JSON; exit.pt was written but not recorded", path.c_str());
  }
  nlohmann::ordered_json x;
  x["file"] = kExitFile;
  x["channels"] = o.channels;
  x["epochs"] = o.epochs;
  x["steps"] = r.steps;
  x["batch_size"] = o.batch_size;
  x["learning_rate"] = o.learning_rate;
  x["distill_weight"] = o.distill_weight;
  x["seed"] = o.seed;
  x["train_samples"] = r.train_samples;
  x["seconds"] = std::round(r.seconds * 10) / 10;
  nlohmann::ordered_json v;
  v["samples"] = r.validation_samples;
  v["accuracy"] = std::round(r.accuracy * 1e6) / 1e6;
  v["agreement"] = std::round(r.agreement * 1e6) / 1e6;
  v["server_accuracy"] = std::round(r.server_accuracy * 1e6) / 1e6;
  nlohmann::ordered_json curve = nlohmann::ordered_json::array();
  for (size_t i = 0; i < r.thresholds.size(); ++i) {
    curve.push_back({{"threshold", r.thresholds[i]},
                     {"device_share", std::round(r.share[i] * 1e6) / 1e6},
                     {"top1", std::round(r.top1[i] * 1e6) / 1e6}});
  }
  v["curve"] = curve;
  x["validation"] = v;
  x["command"] = o.command;
  if (j.contains("exit")) {
    // Replacing an exit: the whole file rewritten.
    j["exit"] = x;
    return WriteTextFile(path, j.dump(2) + "\n");
  }
  // Adding one: the entry appended, the rest of the file as it was.
  std::string out = text.str();
  out.erase(out.find_last_of('}'));
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  std::string entry = x.dump(2);
  for (size_t p = entry.find('\n'); p != std::string::npos; p = entry.find('\n', p + 1)) {
    entry.insert(p + 1, "  ");
  }
  out += ",\n  \"exit\": " + entry + "\n}\n";
  return WriteTextFile(path, out);
}

}  // namespace

Result<BottleneckTrainReport> TrainBottleneck(const TensorView& inputs,
                                              const std::vector<int>& labels,
                                              const BottleneckTrainOptions& o,
                                              const BottleneckProgressFn& progress) {
  FTC_RETURN_IF_ERROR(CheckOptions(o));
  FTC_RETURN_IF_ERROR(inputs.Validate());
  TrainingSet data;
  FTC_RETURN_IF_ERROR(SplitTrainingSet(inputs, labels, o.validation, &data));
  FTC_RETURN_IF_ERROR(CheckOutputFolder(o));
  SetTorchThreads(o.threads);
  torch::manual_seed(o.seed);
  const Clock::time_point t0 = Clock::now();

  TrainingModules net;
  FTC_ASSIGN_OR_RETURN(net.head, LoadModule(o.head_path));
  FTC_ASSIGN_OR_RETURN(net.tail, LoadModule(o.tail_path));
  FTC_ASSIGN_OR_RETURN(net.teacher, LoadModule(o.tail_path));
  FTC_ASSIGN_OR_RETURN(data.x, CopyToTorch(inputs));

  BottleneckTrainReport report;
  report.train_samples = data.train_n;
  report.validation_samples = data.val;
  BottleneckModel model;
  try {
    data.x = data.x.to(at::kFloat);
    if (o.input_scale != 1.0) data.x = data.x * o.input_scale;
    if (!labels.empty()) {
      data.y = torch::tensor(std::vector<int64_t>(labels.begin(), labels.end()), torch::kInt64);
    }
    FTC_ASSIGN_OR_RETURN(const SampleShape split, ProbeSplit(net, data, labels, o));
    at::Tensor mean, scale;
    FeatureStats(net, data, &mean, &scale);
    FTC_ASSIGN_OR_RETURN(model, BottleneckModel::Create(split, o.channels, o.stride, o.inner,
                                                        o.bits, o.quality, mean, scale));
    FTC_RETURN_IF_ERROR(TrainLoop(data, o, t0, progress, net, &model, &report));
  } catch (const std::exception& e) {
    return FTC_INTERNAL("training failed: %s", Summarize(e).c_str());
  }

  FTC_RETURN_IF_ERROR(SaveUnitFolder(o, model, net));
  Result<LearnedUnitInfo> info = ProbeLearnedUnit(o.out_dir);
  if (!info.ok()) return info.status().WithContext("reloading the trained unit");
  report.unit = *info;
  try {
    FTC_RETURN_IF_ERROR(ValidateUnit(data, labels, o, net, model, &report));
    if (!labels.empty()) report.limit = LimitOf(o, report);
  } catch (const std::exception& e) {
    return FTC_INTERNAL("validating the unit: %s", Summarize(e).c_str());
  }
  report.seconds = SecondsSince(t0);
  const std::filesystem::path out(o.out_dir);
  FTC_RETURN_IF_ERROR(WriteTextFile((out / kUnitJsonFile).string(), UnitJson(o, report, model)));
  if (o.train_exit) {
    ExitTrainOptions eo;
    eo.unit_dir = o.out_dir;
    eo.head_path = o.head_path;
    eo.tail_path = o.tail_path;
    eo.epochs = o.exit_epochs;
    eo.max_steps = o.max_steps;
    eo.batch_size = o.batch_size;
    eo.learning_rate = o.learning_rate;
    eo.channels = o.exit_channels;
    eo.distill_weight = o.distill_weight;
    eo.validation = data.val;
    eo.input_scale = o.input_scale;
    eo.seed = o.seed;
    eo.threads = o.threads;
    eo.command = o.command;
    FTC_RETURN_IF_ERROR(CheckExitOptions(eo));
    ExitContext ctx{&net.head,   &model.reduce, &model.restore, &net.tail,       model.code,
                    model.inner, model.bits,    o.out_dir,      report.unit.hash};
    Result<ExitTrainReport> er =
        CatchExceptions("training the exit", [&]() -> Result<ExitTrainReport> {
          try {
            return TrainExitImpl(data, ctx, eo, nullptr);
          } catch (const c10::Error& e) {
            return FTC_INTERNAL("training the exit failed: %s", Summarize(e).c_str());
          }
        });
    if (!er.ok()) return er.status();
    FTC_RETURN_IF_ERROR(AddExitToUnitJson(o.out_dir, eo, *er));
    report.has_exit = true;
    report.exit = *er;
  }
  return report;
}

Result<ExitTrainReport> TrainLearnedExit(const TensorView& inputs, const std::vector<int>& labels,
                                         const ExitTrainOptions& o,
                                         const ExitProgressFn& progress) {
  FTC_RETURN_IF_ERROR(CheckExitOptions(o));
  if (o.head_path.empty() || o.tail_path.empty()) {
    return FTC_INVALID("a head and a tail are needed");
  }
  FTC_RETURN_IF_ERROR(inputs.Validate());
  TrainingSet data;
  FTC_RETURN_IF_ERROR(SplitTrainingSet(inputs, labels, o.validation, &data));
  FTC_ASSIGN_OR_RETURN(LearnedUnitInfo info, ProbeLearnedUnit(o.unit_dir));
  SetTorchThreads(o.threads);
  const std::filesystem::path dir(o.unit_dir);
  torch::jit::Module head, reduce, restore, tail;
  FTC_ASSIGN_OR_RETURN(head, LoadModule(o.head_path));
  FTC_ASSIGN_OR_RETURN(reduce, LoadModule((dir / kReduceFile).string()));
  FTC_ASSIGN_OR_RETURN(restore, LoadModule((dir / kRestoreFile).string()));
  FTC_ASSIGN_OR_RETURN(tail, LoadModule(info.has_tail ? (dir / kTailFile).string() : o.tail_path));
  FTC_ASSIGN_OR_RETURN(data.x, CopyToTorch(inputs));
  ExitContext ctx{&head,
                  &reduce,
                  &restore,
                  &tail,
                  SampleShape{info.code_shape[0], info.code_shape[1], info.code_shape[2]},
                  info.inner,
                  info.bits,
                  o.unit_dir,
                  info.hash};
  Result<ExitTrainReport> r =
      CatchExceptions("training the exit", [&]() -> Result<ExitTrainReport> {
        try {
          data.x = data.x.to(at::kFloat);
          if (o.input_scale != 1.0) data.x = data.x * o.input_scale;
          if (!labels.empty()) {
            data.y =
                torch::tensor(std::vector<int64_t>(labels.begin(), labels.end()), torch::kInt64);
            torch::NoGradGuard ng;
            const at::Tensor f = head.forward({data.x.slice(0, 0, 1)}).toTensor();
            if (f.dim() != 4 || f.size(1) != info.split_shape[0] ||
                f.size(2) != info.split_shape[1] || f.size(3) != info.split_shape[2]) {
              return FTC_INVALID("%s gives %s features; the unit %s takes %s", o.head_path.c_str(),
                                 ShapeOf(f).c_str(), o.unit_dir.c_str(),
                                 ShapeToString(info.split_shape).c_str());
            }
            const at::Tensor l =
                tail.forward({restore.forward({reduce.forward({f.to(at::kFloat)}).toTensor()})
                                  .toTensor()})
                    .toTensor();
            if (l.dim() == 2) {
              FTC_RETURN_IF_ERROR(CheckClassLabels(labels, l.size(1)).WithContext("labels"));
            }
          }
          return TrainExitImpl(data, ctx, o, progress);
        } catch (const c10::Error& e) {
          return FTC_INTERNAL("training the exit failed: %s", Summarize(e).c_str());
        }
      });
  if (!r.ok()) return r.status();
  FTC_RETURN_IF_ERROR(AddExitToUnitJson(o.unit_dir, o, *r));
  return r;
}

}  // namespace ftc

// libtorch adapter: at::Tensor <-> TensorView, and SplitModel (a head/tail pair of TorchScript
// modules). The only translation unit of the library that includes the TorchScript headers
// (~15 s to compile): keep it that way.
#include <ATen/Parallel.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <torch/script.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/status_macros.h"
#include "codec/torch/torch_util.h"
#include "ftcodec/torch.h"

namespace ftc {
namespace {

std::optional<DType> DTypeOf(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return DType::kF32;
    case at::kHalf:
      return DType::kF16;
    case at::kBFloat16:
      return DType::kBF16;
    case at::kByte:
      return DType::kU8;
    default:
      return std::nullopt;
  }
}

at::ScalarType ScalarTypeOf(DType t) {
  switch (t) {
    case DType::kF32:
      return at::kFloat;
    case DType::kF16:
      return at::kHalf;
    case DType::kBF16:
      return at::kBFloat16;
    case DType::kU8:
      return at::kByte;
  }
  return at::kFloat;
}

}  // namespace

namespace torch_internal {

// libtorch's messages carry C++ backtraces and TorchScript tracebacks; keep the line that says
// what went wrong.
std::string Summarize(const std::exception& e) {
  std::string m;
  if (const auto* c10e = dynamic_cast<const c10::Error*>(&e)) {
    m = c10e->what_without_backtrace();
  } else {
    m = e.what();
  }
  const size_t rt = m.rfind("Error: ");
  if (m.find("Traceback of TorchScript") != std::string::npos && rt != std::string::npos) {
    m = m.substr(rt + 7);
  }
  while (!m.empty() && (m.front() == '\n' || m.front() == ' ')) m.erase(m.begin());
  const size_t nl = m.find('\n');
  if (nl != std::string::npos) m.resize(nl);
  if (m.size() > 300) m = m.substr(0, 297) + "...";
  return m;
}

std::string ShapeOf(const at::Tensor& t) {
  Shape s(t.sizes().begin(), t.sizes().end());
  return s.empty() ? std::string("scalar") : ShapeToString(s);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Result<std::vector<uint8_t>> ReadModelFile(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return Status(StatusCode::kIoError,
                  path + ": cannot open (missing or unreadable): " + std::strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return Status(StatusCode::kIoError, path + ": cannot read: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                                              : "not a regular file";
    return FTC_CORRUPT("%s: is %s, not a regular file (a TorchScript file is expected)",
                       path.c_str(), kind);
  }
  if (st.st_size > kMaxModelFileBytes) {
    close(fd);
    return FTC_LIMIT("%s: %lld bytes exceed the limit of %lld bytes for a TorchScript file",
                     path.c_str(), static_cast<long long>(st.st_size),
                     static_cast<long long>(kMaxModelFileBytes));
  }
  // The size fstat reported, and never more than the limit even if the file grows meanwhile.
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return Status(StatusCode::kIoError, path + ": read error: " + std::strerror(err));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  bytes.resize(got);
  return bytes;
}

Result<torch::jit::Module> LoadModuleFromBytes(const std::vector<uint8_t>& bytes,
                                               const std::string& path) {
  torch::jit::Module m;
  try {
    std::istringstream in(std::string(bytes.begin(), bytes.end()), std::ios::binary);
    m = torch::jit::load(in, c10::Device(c10::kCPU));
  } catch (const std::exception& e) {
    return FTC_CORRUPT(
        "%s: not a TorchScript file (save it with torch.jit.script(m).save() or "
        "torch.jit.trace(m, x).save()): %s",
        path.c_str(), Summarize(e).c_str());
  }
  if (!m.find_method("forward")) {
    return FTC_INVALID("%s: the TorchScript module has no forward() method", path.c_str());
  }
  m.eval();
  return m;
}

Result<torch::jit::Module> LoadModule(const std::string& path) {
  FTC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadModelFile(path));
  return LoadModuleFromBytes(bytes, path);
}

// Runs forward(x) and returns its tensor output; `what` names the file in errors.
Result<at::Tensor> Forward(const torch::jit::Module& m, const std::string& what,
                           const at::Tensor& x) {
  try {
    c10::InferenceMode inference;
    torch::jit::Module& mm = const_cast<torch::jit::Module&>(m);  // forward() is not const
    c10::IValue out = mm.forward({x});
    if (!out.isTensor()) {
      return FTC_INVALID("%s: forward() returned a %s, not a tensor", what.c_str(),
                         out.tagKind().c_str());
    }
    return out.toTensor();
  } catch (const std::exception& e) {
    return FTC_INVALID("%s: forward() failed on input %s %s: %s", what.c_str(), ShapeOf(x).c_str(),
                       std::string(c10::toString(x.scalar_type())).c_str(), Summarize(e).c_str());
  }
}

}  // namespace torch_internal

using torch_internal::BaseName;
using torch_internal::Forward;
using torch_internal::LoadModule;
using torch_internal::ShapeOf;
using torch_internal::Summarize;

// ---- at::Tensor <-> TensorView ----

Result<TensorView> ViewOf(const at::Tensor& t) {
  if (!t.defined()) return FTC_INVALID("torch tensor is undefined");
  if (!t.device().is_cpu()) {
    return FTC_INVALID("torch tensor is on %s: move it to the CPU first (t.cpu())",
                       t.device().str().c_str());
  }
  if (t.is_sparse() || t.is_quantized() || t.layout() != c10::kStrided) {
    return FTC_INVALID("torch tensor must be dense (strided layout)");
  }
  const std::optional<DType> dt = DTypeOf(t.scalar_type());
  if (!dt) {
    return FTC_INVALID("torch dtype %s is not supported (float32, float16, bfloat16, uint8)",
                       std::string(c10::toString(t.scalar_type())).c_str());
  }
  if (t.dim() < 1 || t.dim() > kMaxRank) {
    return FTC_INVALID("torch tensor of rank %d is not supported (1 to %d)",
                       static_cast<int>(t.dim()), kMaxRank);
  }
  if (t.numel() == 0) return FTC_INVALID("torch tensor %s is empty", ShapeOf(t).c_str());
  const Shape shape(t.sizes().begin(), t.sizes().end());
  const Shape strides(t.strides().begin(), t.strides().end());
  TensorView v = TensorView::Strided(t.data_ptr(), *dt, shape, strides);
  FTC_RETURN_IF_ERROR(v.Validate());
  return v;
}

Result<at::Tensor> AsTorch(const TensorView& view) {
  FTC_RETURN_IF_ERROR(view.Validate());
  try {
    const std::vector<int64_t> sizes(view.shape.begin(), view.shape.begin() + view.rank);
    const std::vector<int64_t> strides(view.strides.begin(), view.strides.begin() + view.rank);
    return at::from_blob(const_cast<void*>(view.data), sizes, strides,
                         at::TensorOptions().dtype(ScalarTypeOf(view.dtype)));
  } catch (const std::exception& e) {
    return FTC_INTERNAL("AsTorch: %s", Summarize(e).c_str());
  }
}

at::Tensor ToTorch(Tensor&& t) {
  auto* owned = new Tensor(std::move(t));
  std::vector<int64_t> sizes(owned->shape().begin(), owned->shape().end());
  const at::ScalarType st = ScalarTypeOf(owned->dtype());
  void* data = owned->data();
  return at::from_blob(
      data, sizes, [owned](void*) { delete owned; }, at::TensorOptions().dtype(st));
}

Result<at::Tensor> CopyToTorch(const TensorView& view) {
  FTC_ASSIGN_OR_RETURN(at::Tensor wrapped, AsTorch(view));
  return wrapped.contiguous().clone();
}

int DefaultTorchThreads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 2 : static_cast<int>(hw);
}

void SetTorchThreads(int n) { at::set_num_threads(n > 0 ? n : DefaultTorchThreads()); }

// ---- SplitModel ----

struct SplitModel::Impl {
  std::optional<torch::jit::Module> head;
  torch::jit::Module tail;
  std::string head_path, tail_path;
  double input_scale = 1.0;
  mutable Shape feature_shape;
  mutable int64_t num_classes = 0;
};

SplitModel::SplitModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SplitModel::SplitModel(SplitModel&&) noexcept = default;
SplitModel& SplitModel::operator=(SplitModel&&) noexcept = default;
SplitModel::~SplitModel() = default;

Result<SplitModel> SplitModel::Load(const std::string& head_path, const std::string& tail_path,
                                    const SplitModelOptions& options) {
  if (options.threads >= 0) SetTorchThreads(options.threads);
  auto impl = std::make_unique<Impl>();
  FTC_ASSIGN_OR_RETURN(impl->head, LoadModule(head_path));
  FTC_ASSIGN_OR_RETURN(impl->tail, LoadModule(tail_path));
  impl->head_path = head_path;
  impl->tail_path = tail_path;
  if (!(options.input_scale > 0 && std::isfinite(options.input_scale))) {
    return FTC_INVALID("input scale %g: expected a finite number > 0", options.input_scale);
  }
  impl->input_scale = options.input_scale;
  SplitModel m(std::move(impl));
  if (!options.probe_input_shape.empty()) {
    at::Tensor x;
    try {
      x = at::zeros(options.probe_input_shape, at::TensorOptions().dtype(at::kFloat));
    } catch (const std::exception& e) {
      return FTC_INVALID("bad probe input shape: %s", Summarize(e).c_str());
    }
    FTC_ASSIGN_OR_RETURN(at::Tensor f, m.RunHead(x));
    FTC_ASSIGN_OR_RETURN(at::Tensor logits, m.RunTail(f));
    (void)logits;
  }
  return m;
}

Result<SplitModel> SplitModel::LoadTail(const std::string& tail_path,
                                        const SplitModelOptions& options) {
  if (options.threads >= 0) SetTorchThreads(options.threads);
  auto impl = std::make_unique<Impl>();
  FTC_ASSIGN_OR_RETURN(impl->tail, LoadModule(tail_path));
  impl->tail_path = tail_path;
  return SplitModel(std::move(impl));
}

bool SplitModel::has_head() const { return impl_->head.has_value(); }
const std::string& SplitModel::head_path() const { return impl_->head_path; }
const std::string& SplitModel::tail_path() const { return impl_->tail_path; }
const Shape& SplitModel::feature_shape() const { return impl_->feature_shape; }
int64_t SplitModel::num_classes() const { return impl_->num_classes; }

Result<at::Tensor> SplitModel::RunHead(const at::Tensor& input) const {
  if (!impl_->head) return FTC_INVALID("this split model was loaded without a head");
  const std::string what = BaseName(impl_->head_path);
  at::Tensor scaled = input;
  if (impl_->input_scale != 1.0) {
    try {
      c10::InferenceMode inference;
      scaled = input.to(at::kFloat) * impl_->input_scale;
    } catch (const std::exception& e) {
      return FTC_INVALID("%s: cannot scale the input: %s", what.c_str(), Summarize(e).c_str());
    }
  }
  FTC_ASSIGN_OR_RETURN(at::Tensor f, Forward(*impl_->head, what, scaled));
  const int64_t n = input.dim() > 0 ? input.size(0) : -1;
  if (f.dim() < 2 || f.dim() > kMaxRank || f.size(0) != n) {
    return FTC_INVALID(
        "%s: output must be N×C×H×W features (rank 2 to 4, batch %lld first), "
        "got %s for input %s",
        what.c_str(), static_cast<long long>(n), ShapeOf(f).c_str(), ShapeOf(input).c_str());
  }
  if (!DTypeOf(f.scalar_type())) {
    return FTC_INVALID("%s: output dtype %s is not supported (float32, float16, bfloat16, uint8)",
                       what.c_str(), std::string(c10::toString(f.scalar_type())).c_str());
  }
  try {
    f = f.contiguous();
  } catch (const std::exception& e) {
    return FTC_INTERNAL("%s: %s", what.c_str(), Summarize(e).c_str());
  }
  impl_->feature_shape.assign(f.sizes().begin() + 1, f.sizes().end());
  return f;
}

Result<at::Tensor> SplitModel::RunTail(const at::Tensor& features) const {
  const std::string what = BaseName(impl_->tail_path);
  FTC_ASSIGN_OR_RETURN(at::Tensor logits, Forward(impl_->tail, what, features));
  const int64_t n = features.dim() > 0 ? features.size(0) : -1;
  if (logits.dim() != 2 || logits.size(0) != n || logits.size(1) < 1) {
    return FTC_INVALID("%s: output must be N×K logits (N = %lld), got %s for features %s",
                       what.c_str(), static_cast<long long>(n), ShapeOf(logits).c_str(),
                       ShapeOf(features).c_str());
  }
  if (!at::isFloatingType(logits.scalar_type())) {
    return FTC_INVALID("%s: logits must be floating point, got %s", what.c_str(),
                       std::string(c10::toString(logits.scalar_type())).c_str());
  }
  if (impl_->feature_shape.empty()) {
    impl_->feature_shape.assign(features.sizes().begin() + 1, features.sizes().end());
  }
  impl_->num_classes = logits.size(1);
  return logits;
}

Result<Tensor> SplitModel::Head(const TensorView& input) const {
  FTC_ASSIGN_OR_RETURN(at::Tensor x, AsTorch(input));
  try {
    if (x.scalar_type() != at::kFloat) x = x.to(at::kFloat);
  } catch (const std::exception& e) {
    return FTC_INTERNAL("Head: %s", Summarize(e).c_str());
  }
  FTC_ASSIGN_OR_RETURN(at::Tensor f, RunHead(x));
  FTC_ASSIGN_OR_RETURN(TensorView fv, ViewOf(f));
  return Tensor::CopyOf(fv);
}

Result<std::vector<double>> SplitModel::FeatureSensitivity(const TensorView& features,
                                                           const std::vector<int>& labels) const {
  const std::string what = BaseName(impl_->tail_path);
  if (features.rank < 2 || static_cast<size_t>(features.shape[0]) != labels.size()) {
    return FTC_INVALID("FeatureSensitivity: features must be N first with one label per sample");
  }
  FTC_ASSIGN_OR_RETURN(at::Tensor f, CopyToTorch(features));
  try {
    at::AutoGradMode grad_mode(true);
    at::Tensor x = f.to(at::kFloat).detach().requires_grad_(true);
    torch::jit::Module& tail = const_cast<torch::jit::Module&>(impl_->tail);
    at::Tensor logits = tail.forward({x}).toTensor();
    std::vector<int64_t> l(labels.begin(), labels.end());
    at::Tensor target = at::tensor(l, at::TensorOptions().dtype(at::kLong));
    at::Tensor loss = at::cross_entropy_loss(logits.to(at::kFloat), target, {}, at::Reduction::Sum);
    loss.backward();
    at::Tensor g = x.grad().pow(2);
    at::Tensor per = x.dim() == 4 ? g.mean({0, 2, 3}) : g.mean().reshape({1});
    per = per.to(at::kDouble).contiguous();
    const double* p = per.data_ptr<double>();
    return std::vector<double>(p, p + per.numel());
  } catch (const std::exception& e) {
    return FTC_INVALID("%s: gradient of the loss failed on features %s: %s", what.c_str(),
                       ShapeOf(f).c_str(), Summarize(e).c_str());
  }
}

Result<std::vector<int>> SplitModel::Classify(const TensorView& features) const {
  FTC_ASSIGN_OR_RETURN(at::Tensor f, AsTorch(features));
  FTC_ASSIGN_OR_RETURN(at::Tensor logits, RunTail(f));
  try {
    c10::InferenceMode inference;
    const at::Tensor arg = logits.argmax(1).to(at::kLong).contiguous();
    const int64_t* p = arg.data_ptr<int64_t>();
    return std::vector<int>(p, p + arg.numel());
  } catch (const std::exception& e) {
    return FTC_INTERNAL("Classify: %s", Summarize(e).c_str());
  }
}

Status CheckClassLabels(const std::vector<int>& labels, int64_t classes) {
  if (classes <= 0) return Status::Ok();
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= classes) {
      return FTC_CORRUPT("label %d at index %zu is outside the tail's %lld classes (0..%lld)",
                         labels[i], i, static_cast<long long>(classes),
                         static_cast<long long>(classes - 1));
    }
  }
  return Status::Ok();
}

Status CheckAboveChance(double top1, int64_t classes, double input_scale, int64_t samples) {
  if (samples < kChanceCheckSamples) return Status::Ok();
  const double chance = 100.0 / static_cast<double>(std::max<int64_t>(classes, 2));
  // Twice chance, but for few classes a tenth of the way from chance to 100% (2 classes: 55%).
  if (top1 >= std::min(2 * chance, chance + 0.1 * (100 - chance))) return Status::Ok();
  return FTC_CORRUPT(
      "the unmodified model reaches only %.2f%% top-1 on these samples (chance: %.1f%%): are the "
      "inputs on the scale the head expects? The input scale is %g; a head that expects pixels "
      "in [0, 1] needs --input-scale 0.00392156862745098 (1/255) for 0..255 pixels",
      top1, chance, input_scale);
}

}  // namespace ftc

// ftcodec — libtorch adapter (the optional `ftcodec_torch` component).
//
// The one public header that includes a third-party library: only those who link the
// `ftcodec_torch` CMake target include it. It includes <ATen/core/Tensor.h> only (~2 s to
// compile); the TorchScript machinery stays inside the library.
//
//   ftc::SplitModel m = ftc::SplitModel::Load("head.pt", "tail.pt").value();
//   at::Tensor feat = m.RunHead(images).value();                 // on the device
//   ftc::Bytes code = ftc::encode(ftc::ViewOf(feat).value(), opts).value();
//   ...                                                            // over the network
//   at::Tensor back = ftc::ToTorch(ftc::decode(code).value());    // on the server, zero-copy
//   at::Tensor logits = m.RunTail(back).value();
//
// No exception crosses these functions: libtorch's c10::Error becomes a Status.
#ifndef FTCODEC_TORCH_H_
#define FTCODEC_TORCH_H_

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace ftc {

// ---- at::Tensor <-> TensorView / Tensor ----

// A view of a CPU tensor's memory, without copying: f32 (at::kFloat), f16 (at::kHalf),
// bf16 (at::kBFloat16) or u8 (at::kByte), rank 1..4. Strides (and the storage offset) are passed
// through, so non-contiguous tensors (transposes, slices) are viewed as they are. Other dtypes,
// devices, ranks or empty tensors are kInvalidArgument. `t` must outlive the view.
Result<TensorView> ViewOf(const at::Tensor& t);

// A CPU at::Tensor over the view's memory, without copying (strides passed through). The caller
// keeps the memory alive for as long as the at::Tensor (and anything sharing its storage) lives.
Result<at::Tensor> AsTorch(const TensorView& view);
// Takes ownership of `t`'s buffer: zero-copy, the at::Tensor frees it.
at::Tensor ToTorch(Tensor&& t);
// A C-contiguous copy that libtorch owns.
Result<at::Tensor> CopyToTorch(const TensorView& view);

// torch::set_num_threads(n); n <= 0 means the hardware concurrency. Process-wide (libtorch's
// intra-op pool is global); Debian's libtorch runs on 1 thread unless told.
void SetTorchThreads(int n);
// The value SplitModelOptions::threads = 0 resolves to: std::thread::hardware_concurrency().
int DefaultTorchThreads();

// ---- split models ----

struct SplitModelOptions {
  // Intra-op threads for libtorch (SetTorchThreads); 0 = DefaultTorchThreads(), -1 = leave as is.
  int threads = 0;
  // If not empty, Load() runs the head on zeros of this shape (e.g. {1, 1, 28, 28}) and the tail
  // on the result, and rejects a pair whose outputs have the wrong rank or batch size.
  Shape probe_input_shape;
};

// A model cut in two TorchScript files (torch.jit.script/trace(...).save(...)):
//   head.pt: raw input -> features (preprocessing inside), output rank 2..4 with the batch first,
//   tail.pt: features -> N×K logits.
// Any pair of that shape works; ftcodec ships one (data/models). Run* use at::InferenceMode.
// Movable, not copyable. Running is const and may be called from one thread at a time.
class SplitModel {
 public:
  // Loads both halves. Errors name the file: kIoError (missing/unreadable), kCorruptData (not a
  // TorchScript archive), kInvalidArgument (no forward(), or wrong output shape when probed).
  static Result<SplitModel> Load(const std::string& head_path, const std::string& tail_path,
                                 const SplitModelOptions& options = {});
  // The tail alone (for features computed elsewhere); RunHead then fails.
  static Result<SplitModel> LoadTail(const std::string& tail_path,
                                     const SplitModelOptions& options = {});

  SplitModel(SplitModel&&) noexcept;
  SplitModel& operator=(SplitModel&&) noexcept;
  ~SplitModel();

  bool has_head() const;
  const std::string& head_path() const;
  const std::string& tail_path() const;
  // Per-sample feature shape (C,H,W…) seen when probing or on the last RunHead; empty if unknown.
  const Shape& feature_shape() const;

  // input -> features. The result is made contiguous (ready for ViewOf / encode).
  Result<at::Tensor> RunHead(const at::Tensor& input) const;
  // features -> N×K logits (float32). Checks the output is rank 2 with the input's batch size.
  Result<at::Tensor> RunTail(const at::Tensor& features) const;

  // libtorch-free conveniences (the view is wrapped without a copy; u8 input becomes float32).
  Result<Tensor> Head(const TensorView& input) const;
  // features -> the arg-max class of each sample's logits.
  Result<std::vector<int>> Classify(const TensorView& features) const;

 private:
  struct Impl;
  explicit SplitModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ftc

#endif  // FTCODEC_TORCH_H_

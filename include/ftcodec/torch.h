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

#include <functional>
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
  // The head's input is multiplied by this first (1 = as given). A head that expects pixels in
  // [0, 1] fed 0..255 IDX pixels needs 1/255: bench, tune and train-bottleneck take it as
  // --input-scale, and a bundled model's NAME.json records it ("input_scale").
  double input_scale = 1.0;
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
  // K of the N×K logits of the last RunTail (or of the probe): the tail's number of classes;
  // 0 before the tail has run.
  int64_t num_classes() const;

  // input -> features. The result is made contiguous (ready for ViewOf / encode).
  Result<at::Tensor> RunHead(const at::Tensor& input) const;
  // features -> N×K logits (float32). Checks the output is rank 2 with the input's batch size.
  Result<at::Tensor> RunTail(const at::Tensor& features) const;

  // How much the task loss depends on each channel of the features: the mean over samples and
  // positions of the squared gradient of the cross-entropy (with `labels`) with respect to the
  // features, per channel (dimension 1 of N×C×H×W features; one value for features of another
  // rank, whose samples are one channel). The first-order sensitivity that model-aware
  // quantization allocates steps by.
  Result<std::vector<double>> FeatureSensitivity(const TensorView& features,
                                                 const std::vector<int>& labels) const;

  // libtorch-free conveniences (the view is wrapped without a copy; u8 input becomes float32).
  Result<Tensor> Head(const TensorView& input) const;
  // features -> the arg-max class of each sample's logits.
  Result<std::vector<int>> Classify(const TensorView& features) const;

 private:
  struct Impl;
  explicit SplitModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Labels against a tail's `classes`: kCorruptData naming the first label outside [0, classes)
// and its index ("label 12 at index 3 is outside the tail's 10 classes (0..9)"). Checks nothing
// when `classes` <= 0 (not known).
Status CheckClassLabels(const std::vector<int>& labels, int64_t classes);

// Refuses (kCorruptData, exit 2) an unmodified model's top-1 near chance (below twice chance, or
// below a tenth of the way from chance to 100% when that is lower: 55% for 2 classes) on labelled
// samples — the usual sign of inputs on the wrong scale (a head that expects [0, 1]
// fed 0..255 pixels; an untrained model is refused too) — with the figure, the input scale used
// and the fix. Checks nothing below kChanceCheckSamples samples (too few to mean anything).
inline constexpr int64_t kChanceCheckSamples = 100;
Status CheckAboveChance(double top1_percent, int64_t classes, double input_scale, int64_t samples);

// ---- learned bottleneck units (codec `learned`; docs/learned.md) ----
//
// A unit folder holds reduce.pt (features C×H×W -> code C'×H'×W' in [0,1], run on the device),
// restore.pt (code -> features C×H×W, on the server), unit.json (a description for people and
// scripts), when training fine-tuned the tail, tail.pt, and when it trained an early exit,
// exit.pt (a classifier on the code, run on the device; not part of the unit's hash). Linking
// ftcodec_torch adds codec `learned` to the codec table: EncoderOptions{codec = "learned", unit =
// DIR}.

struct LearnedUnitInfo {
  std::string dir;
  std::string hash;   // XXH3-128 of reduce.pt and restore.pt, 32 hex digits (what frames record)
  Shape split_shape;  // C,H,W
  Shape code_shape;   // C',H',W'
  std::string inner;  // inner codec trained for: "ans" | "jpeg"
  int bits = 0;       // ans
  int quality = 0;    // jpeg
  bool has_tail = false;  // the folder ships a fine-tuned tail.pt to use instead of the original
  bool has_exit = false;  // the folder ships exit.pt, an early-exit classifier (LearnedExit)
};
// Loads the unit (checking that it is one) and describes it.
Result<LearnedUnitInfo> ProbeLearnedUnit(const std::string& dir);

// ---- early exits (docs/learned.md, "Early exits") ----
//
// exit.pt is a small classifier on a unit's code, run on the device after the reduction unit: a
// sample whose exit confidence (the largest softmax probability of its logits) is at least a
// threshold τ is answered on the device and not sent. It takes the reduction unit's output
// (N×C'×H'×W' in [0,1]) and quantizes it as the inner codec does (ans) before classifying, so
// the device's answer is the one for the code it would have sent.

struct ExitAnswers {
  std::vector<int> classes;       // per sample: the exit's arg-max class
  std::vector<float> confidence;  // per sample: its largest softmax probability, in [0, 1]
};

// A unit's early exit: its reduction unit and exit.pt. Movable, not copyable; Run may be called
// from one thread at a time.
class LearnedExit {
 public:
  // Loads DIR/exit.pt and checks it against the unit in DIR (loaded as ProbeLearnedUnit does).
  // Errors name the file: kInvalidArgument when the folder has no exit.pt; kCorruptData (CLI exit
  // 2) for a file that is not a TorchScript exit, an exit trained for another unit (its
  // `unit_hash` attribute), or one whose output on a zero code is not 1×K logits.
  static Result<LearnedExit> Load(const std::string& unit_dir);

  LearnedExit(LearnedExit&&) noexcept;
  LearnedExit& operator=(LearnedExit&&) noexcept;
  ~LearnedExit();

  const std::string& path() const;  // DIR/exit.pt
  int64_t num_classes() const;      // K
  // N×C×H×W features of the unit's split shape (f32, f16 or bf16, any strides) -> the reduction
  // unit and the exit, as one batch.
  Result<ExitAnswers> Run(const TensorView& features) const;

 private:
  struct Impl;
  explicit LearnedExit(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What training an exit measured on the held-out samples (docs/learned.md, "Early exits").
struct ExitTrainReport {
  int64_t steps = 0, train_samples = 0, validation_samples = 0;
  double seconds = 0;
  double accuracy = 0;         // the exit's top-1 (against the labels; without, the server's)
  double agreement = 0;        // fraction of samples where the exit and the server agree
  double server_accuracy = 0;  // top-1 of the server's answer (the unit's codec path, quantized)
  // Per threshold τ (0.5, 0.8, 0.9, 0.95, 0.99): the share of samples with confidence >= τ and
  // the top-1 (against the labels; without, the server's) of device answers for them and server
  // answers for the rest.
  std::vector<double> thresholds, share, top1;
};

struct ExitTrainOptions {
  std::string unit_dir;              // an existing unit folder; exit.pt is written into it
  std::string head_path, tail_path;  // the split model (the unit's tail.pt replaces the tail)
  int epochs = 10;                   // passes over the training samples
  int64_t max_steps = 0;             // > 0: stop after this many steps
  int batch_size = 64;
  double learning_rate = 2e-3;  // Adam, cosine-decayed to 0
  int channels = 32;            // width of the exit's two convolutions
  // loss = cross-entropy with the labels + distill_weight·KL(server's answer ‖ exit); without
  // labels the KL term alone.
  double distill_weight = 1.0;
  int64_t validation = 0;  // held-out samples (the last ones); 0 = min(5000, N/10)
  double input_scale = 1.0;
  uint64_t seed = 1;
  int threads = 0;
  std::string command;  // recorded in unit.json
};

struct BottleneckTrainOptions {
  std::string head_path, tail_path;  // the split model (any pair with N×C×H×W features)
  std::string out_dir;               // created; must not exist unless `overwrite`
  bool overwrite = false;
  int channels = 8;             // C' of the code, 1..C
  int stride = 1;               // 1 or 2 (halves H and W, rounding up)
  std::string inner = "ans";    // the inner codec the unit is trained through: "ans" | "jpeg"
  int bits = 2;                 // ans: 1..8
  int quality = 50;             // jpeg: 1..100
  int epochs = 2;               // passes over the training samples
  int64_t max_steps = 0;        // > 0: stop after this many steps
  int batch_size = 64;          // 2..4096
  double learning_rate = 2e-3;  // Adam, cosine-decayed to 0
  // λ of loss = task + λ·rate, rate = bits per code element under a learned per-channel entropy
  // model (a logistic mixture per channel). 0 trains for the task alone.
  double rate_weight = 0.0;
  // With labels: loss = cross-entropy + distill_weight·KL(unmodified model ‖ model with the
  // unit); on by default (1), which trains well across models. Without labels the task loss is
  // the KL term alone.
  double distill_weight = 1.0;
  bool finetune_tail = false;  // also train the tail (shipped as tail.pt in the unit folder)
  int64_t validation = 0;      // held-out samples (the last ones); 0 = min(5000, N/10)
  // The inputs are multiplied by this before the head (1/255 turns 0..255 pixels into the [0, 1]
  // most heads expect). With labels, training refuses (CheckAboveChance) inputs on which the
  // unmodified model is near chance, measured on the held-out samples before training starts.
  double input_scale = 1.0;
  uint64_t seed = 1;
  int threads = 0;      // libtorch threads; 0 = DefaultTorchThreads()
  std::string command;  // recorded in unit.json (how the unit was made)
  // Also train an early exit on the trained unit (exit.pt; ExitTrainOptions's defaults, with
  // these seed, threads, validation and distillation settings, max_steps and batch_size).
  bool train_exit = false;
  int exit_epochs = 10;
  int exit_channels = 32;
};

struct BottleneckTrainProgress {
  int epoch = 0, epochs = 0;       // 1-based
  int64_t step = 0, steps = 0;     // 1-based, steps in all
  double loss = 0, task_loss = 0;  // moving averages
  double bits_per_element = 0;     // entropy-model estimate (moving average)
  double accuracy = 0;             // training batches, moving average (0..1)
  double seconds = 0;
};

struct BottleneckTrainReport {
  LearnedUnitInfo unit;
  int64_t steps = 0, train_samples = 0, validation_samples = 0;
  double seconds = 0;
  // Measured on the validation samples through the real codec (encode + decode, whole frames).
  double accuracy_original = 0;       // the unmodified split model
  double accuracy_unit = 0;           // head -> learned codec -> tail
  double agreement = 0;               // fraction of samples where both predict the same class
  double bytes_per_sample = 0;        // mean .ftc frame size
  double model_bits_per_element = 0;  // the entropy model's estimate
  // The units without the inner codec (restore(reduce(x)), no quantization): what the unit's
  // capacity allows, so that accuracy_unquantized − accuracy_unit is the codec's cost.
  double accuracy_unquantized = 0;
  // Training keeps the units of the epoch with the best validation top-1 (measured after every
  // epoch on up to 2,000 held-out samples) and stops when 3 epochs in a row bring no gain.
  int epochs_run = 0;
  int best_epoch = 0;
  bool stopped_early = false;
  // What limits the unit, in words (the quantizer, the unit's capacity, or nothing: within 0.5
  // points), with the option to change; empty without labels.
  std::string limit;
  bool has_exit = false;  // train_exit: the exit's results
  ExitTrainReport exit;
};

// Trains a reduction and a restoration unit between the head and the tail of a split model,
// through the inner codec (straight-through estimator), and writes the unit folder.
// inputs: the head's input, N samples (batch first; any dtype, converted to f32).
// labels: N classes, or empty to distil from the unmodified model's predictions.
using BottleneckProgressFn = std::function<void(const BottleneckTrainProgress&)>;
Result<BottleneckTrainReport> TrainBottleneck(const TensorView& inputs,
                                              const std::vector<int>& labels,
                                              const BottleneckTrainOptions& options,
                                              const BottleneckProgressFn& progress = nullptr);

// Trains an early exit for an existing unit folder (its reduction unit frozen) and writes
// exit.pt into it, replacing one that is there, and adds an "exit" entry to its unit.json. The
// unit's files and hash are unchanged. inputs/labels as for TrainBottleneck.
using ExitProgressFn = std::function<void(int64_t step, int64_t steps, double loss)>;
Result<ExitTrainReport> TrainLearnedExit(const TensorView& inputs, const std::vector<int>& labels,
                                         const ExitTrainOptions& options,
                                         const ExitProgressFn& progress = nullptr);

}  // namespace ftc

#endif  // FTCODEC_TORCH_H_

// The rate-versus-accuracy core of `ftcodec bench`: code a batch of feature tensors one sample
// at a time with one codec setting, decode, run the tail, and count bytes, correct predictions
// and time. Plain functions over public-API types; the tail is any callable, so tests can check
// the bookkeeping without the CLI (and without libtorch).
#ifndef FTCODEC_BENCH_HARNESS_RATE_ACCURACY_H_
#define FTCODEC_BENCH_HARNESS_RATE_ACCURACY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"

namespace ftc::bench {

// Features (a batch, N first) -> the predicted class of each sample.
using FeatureClassifier = std::function<Result<std::vector<int>>(const TensorView& features)>;

// One point of the sweep.
struct SettingSpec {
  std::string codec;    // codec family for the summary: "raw", "ans", "jpeg", "hevc", "png"...
  std::string series;   // the plot curve it belongs to: "ans 3sigma", "anchors"
  std::string setting;  // the point on the curve: "b4", "f16", "q90"
  EncoderOptions options;
  bool anchor = false;      // a reference row (uncompressed, f16, cloud-only), marked on the plot
  bool cloud_only = false;  // codes the input image instead of the features (no codec run)
  // A tail to run instead of the model's (a learned unit trained with --finetune-tail ships one).
  std::string tail;
  // Codec learned: the unit folder when it ships an early exit (exit.pt); the bench then adds a
  // row per exit threshold after this setting's (docs/learned.md, "Early exits").
  std::string exit_unit;
  // An early-exit row: the threshold τ (negative: not an exit row).
  double exit_threshold = -1;
};

// Raw counts for one setting; Merge() adds the counts of another chunk of samples.
struct SettingTally {
  int64_t samples = 0;
  int64_t correct = 0;
  uint64_t bytes = 0;         // every byte of every per-sample stream, headers included
  double encode_seconds = 0;  // summed over samples
  double decode_seconds = 0;
  double squared_error = 0;            // sum over elements of (decoded - original)^2
  int64_t elements = 0;                // elements compared for squared_error
  std::vector<int> predictions;        // per sample, in order (kept for the caller's checks)
  std::vector<uint64_t> sample_bytes;  // per sample, in order: the stream's size

  void Merge(const SettingTally& other);
};

// Codes every sample of `features` (rank 2..4, N first) on its own (a batch of one: each stream
// carries its own container header), decodes it to f32, runs `tail` on the decoded batch and
// compares with `labels` (size N). The codec runs on one thread; timings are per call.
Result<SettingTally> EvaluateSetting(const TensorView& features, const std::vector<int>& labels,
                                     const FeatureClassifier& tail, const EncoderOptions& options);

// The options of an ans setting of the sweep: `variant` as in SweepConfig::clips
// (CLIP[/pc][/dzD]), `bits` 1..16.
Result<EncoderOptions> AnsSettingOptions(const std::string& variant, int bits);

// "ans 3sigma b4", "raw f16", "cloud-only png", "ans lossless": how a row is named for people.
std::string SettingLabel(const SettingSpec& spec);

// Per-setting results, as reported (CSV/JSON columns).
struct SettingMetrics {
  SettingSpec spec;
  int64_t samples = 0;
  double top1 = 0;         // percent
  double top1_drop = 0;    // percentage points below the uncompressed reference
  double top1_stderr = 0;  // percent: sqrt(p(1-p)/n)
  double bytes_per_sample = 0;
  double bits_per_element = 0;  // 8·bytes / feature elements per sample
  double ratio_vs_f32 = 0;      // feature f32 bytes / bytes
  double enc_us = 0;            // per sample; negative when not measured
  double dec_us = 0;
  double rmse = -1;  // feature RMSE after decoding; negative when not applicable
  // Early-exit rows: percent of samples answered on the device (negative: not an exit row).
  double device_share = -1;
  // Codec learned: the server's time per sample (decode + tail) when frames are decoded one at a
  // time (batch 1: decode and a tail run per frame) and 64 at a time (decode_batch of 64 frames
  // and one tail run); µs, negative when not measured.
  double server_us_b1 = -1;
  double server_us_b64 = -1;
};

// What the early exit and the server answered for each sample of a learned setting.
struct ExitTrace {
  std::vector<int> device_class;
  std::vector<float> confidence;
  std::vector<int> server_class;
  std::vector<uint64_t> bytes;  // the stream each sample sends when it is not answered
  std::vector<int> labels;
};

// The tally of a learned setting with an early exit at threshold `tau`: a sample whose
// confidence is >= tau is answered by the device (its class, 0 bytes), any other by the server
// (its class, its stream's bytes). Timings are not measured (zero).
SettingTally ExitTally(const ExitTrace& trace, double tau);
// The exit rows of a learned setting: one per threshold, codec "learned-exit", series
// "<the setting's label> exit", setting "t<τ>".
std::vector<SettingMetrics> ExitRows(const SettingSpec& learned, const ExitTrace& trace,
                                     const std::vector<double>& thresholds,
                                     int64_t elements_per_sample, double reference_top1);

// `reference_top1` is the uncompressed accuracy in percent.
SettingMetrics Finish(const SettingSpec& spec, const SettingTally& tally,
                      int64_t elements_per_sample, double reference_top1);

// Standard error of a proportion, in percent: 100·sqrt(p(1-p)/n).
double Top1StdErr(int64_t correct, int64_t n);

// The sweep: which settings `ftcodec bench` runs.
struct SweepConfig {
  std::vector<std::string> codecs;                // families to run; empty = every built-in codec
  std::vector<int> bits = {1, 2, 3, 4, 5, 6, 8};  // ans bit depths
  // ans variants, CLIP[/pc][/dzD]: a clipping range (none, 3sigma, p99.9, A:B), "/pc" for
  // per-channel ranges, "/dzD" for a dead zone D (0..0.5) — e.g. "3sigma/pc", "none/dz0.25".
  std::vector<std::string> clips = {"none", "6sigma", "3sigma", "3sigma/pc"};
  // jpeg and hevc clipping variants (their quantizer to 8/10-bit samples): "none" = min-max.
  std::vector<std::string> picture_clips = {"none", "3sigma"};
  std::vector<int> jpeg_qualities = {5, 10, 20, 30, 50, 70, 90};
  std::vector<int> hevc_qps = {22, 27, 32, 37, 42, 47};
  bool quick = false;  // fewer points; HEVC reduced to two QPs
  // Learned unit folders (codec learned): one point each, at the unit's trained inner setting.
  std::vector<std::string> units;
  // Early-exit thresholds for units that ship an exit (a row each; above 1 exits nothing).
  std::vector<double> exit_thresholds = {0.5, 0.7, 0.8, 0.9, 0.95, 0.99};
};

// Anchors first (uncompressed f32 is always row 0, then f16), then every codec's points.
// Codecs named in `config.codecs` that are unknown are an error; known but not built in are
// skipped with a note in `notes`.
Result<std::vector<SettingSpec>> BuildSweep(const SweepConfig& config,
                                            std::vector<std::string>* notes);

// Per codec family: the fewest bits per element within `max_drop` points of the reference.
struct BestSetting {
  std::string codec;
  double max_drop = 0;
  bool found = false;
  SettingMetrics metrics;  // valid when found
};
std::vector<BestSetting> BestWithin(const std::vector<SettingMetrics>& rows, double max_drop);

}  // namespace ftc::bench

#endif  // FTCODEC_BENCH_HARNESS_RATE_ACCURACY_H_

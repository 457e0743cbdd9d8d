// `ftcodec bench`: run a split model's tail on coded features over a data set and report rate
// versus accuracy for a sweep of codec settings, with the anchors (uncompressed f32 and f16
// features, and the cloud-only input image as PNG and JPEG) measured in the same run.
// This header is libtorch-free; the implementation links ftcodec_torch.
#ifndef FTCODEC_BENCH_HARNESS_BENCH_RUNNER_H_
#define FTCODEC_BENCH_HARNESS_BENCH_RUNNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/harness/loss_accuracy.h"
#include "bench/harness/rate_accuracy.h"
#include "ftcodec/npy.h"
#include "ftcodec/status.h"

namespace ftc::bench {

struct BenchConfig {
  // The model: --head/--tail files, or --model NAME[:SPLIT] for a bundled pair
  // (data/models/NAME_SPLIT_{head,tail}.pt).
  std::string head, tail, model;
  // Samples: `data_dir` with inputs.npy + labels.npy, or Fashion-MNIST IDX files of `split`
  // (gzipped or not; bench/harness/dataset.h) ...
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::string split = "test";
  // ... or features computed elsewhere (N×C×H×W .npy) with their labels (N integers, .npy).
  std::string features, labels;
  std::string out_dir = "ftcodec-bench";
  // Instead of a sweep: write the head's features of the samples and their labels as
  // `save_features`/features.npy (N×C×H×W f32) and labels.npy (N int32), the inputs a sender
  // codes (e.g. over RTP: docs/rtp.md) and `--features`/`--labels` read back.
  std::string save_features;
  int64_t limit = 0;  // samples (0 = all)
  int threads = 0;    // libtorch threads (0 = hardware concurrency)
  int chunk = 500;    // samples per head/tail batch
  // What the inputs are multiplied by before the head (1/255 turns 0..255 pixels into [0, 1]);
  // 0 = the bundled model's (NAME.json "input_scale"), else 1.
  double input_scale = 0;
  // Profiles (ftcodec tune) to measure as extra points, series "profile".
  std::vector<std::string> profiles;
  bool progress = true;  // progress bar on stderr
  std::string command;   // the command line, recorded in the JSON
  SweepConfig sweep;
  // Accuracy under packet loss (--loss): when `loss` is not empty the bench runs these loss
  // settings × concealment methods instead of the rate sweep and writes <out>/loss.*.
  std::vector<LossSetting> loss;
  std::vector<std::string> conceal;  // method names; empty = every method
  int loss_seeds = 3;
  int packet_size = 200;       // 64×14×14 at ans 4 bits: ~42 packets per sample
  int mtu_packet_size = 1200;  // contrast rows at an MTU-sized packet (0 = none)
  int frame_interleave = 8;    // PacketOptions::frame_interleave of the loss streams
  EncoderOptions loss_codec;   // default set by the CLI: ans 4 bits, 3sigma
};

// Where a bundled model's files are: NAME_SPLIT_head.pt and NAME_SPLIT_tail.pt in the first of
// $FTC_MODEL_DIR, <source>/data/models, <exe>/../data/models, <exe>/../share/ftcodec/models,
// ./data/models that has them. SPLIT defaults to "s1".
// NAME.json beside them may give "input_scale" (what raw 0..255 pixels are multiplied by before
// the head; 1 when absent).
struct ModelFiles {
  std::string head, tail, name;
  double input_scale = 1.0;
};
Result<ModelFiles> FindBundledModel(const std::string& name_split);
// The bundled learned units of a bundled model: the folders data/units/NAME_SPLIT_* beside its
// models folder, sorted by name (none is not an error).
std::vector<std::string> FindBundledUnits(const ModelFiles& model);

// A profile (ftcodec tune) as a point of the sweep, family and series "profile"; a profile made
// for other head/tail files (their hashes differ) adds a note, not an error.
Result<SettingSpec> ProfileSetting(const std::string& path, const std::string& head,
                                   const std::string& tail, std::vector<std::string>* notes);

// XXH3-128 of a file's bytes, 32 hex digits (profiles record the head's and tail's).
Result<std::string> FileHash(const std::string& path);

// "45s", "3m07s".
std::string FormatDuration(double seconds);

// Runs the whole benchmark and writes <out>/rate_accuracy.{csv,json,gp,png,svg}. Progress, the
// table and the summary go to stderr.
Status RunBench(const BenchConfig& config);

}  // namespace ftc::bench

#endif  // FTCODEC_BENCH_HARNESS_BENCH_RUNNER_H_

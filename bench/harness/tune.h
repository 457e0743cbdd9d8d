// `ftcodec tune`: finds the codec settings for one split model and writes them as a profile
// (docs/profiles.md). It calibrates on the training split (never the test split): runs the head,
// measures each channel's statistics and how much the tail's loss depends on it (the gradient),
// then searches plain settings (bits × clipping, as `bench` sweeps them) and model-aware plans
// (per-channel steps allocated by sensitivity, docs/format.md "Planned mode"), each measured
// through the real codec and the tail. This header is libtorch-free.
#ifndef FTCODEC_BENCH_HARNESS_TUNE_H_
#define FTCODEC_BENCH_HARNESS_TUNE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/profile.h"

namespace ftc::bench {

struct TuneConfig {
  // The model: --model NAME:SPLIT (bundled) or --head/--tail files.
  std::string head, tail, model;
  // Samples: inputs.npy + labels.npy, or IDX files of `split` (bench/harness/dataset.h).
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::string split = "train";  // calibration data; the test split is for measuring
  int64_t limit = 5000;         // calibration samples (0 = all)
  // What the inputs are multiplied by before the head (1/255 turns 0..255 pixels into [0, 1]);
  // 0 = the bundled model's (its NAME.json), else 1.
  double input_scale = 0;
  // The goal: the fewest bytes within `max_drop` points of the unmodified model's top-1, or the
  // best top-1 with every sample's frame at most `target_bytes`. Exactly one is set.
  double max_drop = -1;
  int64_t target_bytes = 0;
  std::string codec = "ans";  // ans (plain and planned settings) or jpeg (quality × clipping)
  int threads = 0;            // libtorch threads (0 = all cores)
  bool progress = true;       // a line per setting tried, on stderr
  std::string command;        // recorded in the profile
};

// One setting tried, as measured on the calibration samples.
struct TuneTrial {
  std::string label;  // "ans 3sigma b2", "plan g0.5 dz0.2 a0.31"
  EncoderOptions options;
  bool planned = false;
  double top1 = 0;   // percent
  double flips = 0;  // percent of samples whose prediction differs from the unmodified model's
  double bytes_per_sample = 0;
  double bits_per_element = 0;
};

struct TuneResult {
  Profile profile;
  double reference_top1 = 0;
  std::vector<TuneTrial> trials;
  bool have_plain = false;  // the best plain setting that met the goal
  TuneTrial best_plain;
};

// Runs the search and returns the profile (the CLI writes it). Progress and a summary go to
// stderr. Errors: kInvalidArgument (options, a model that does not load), kCorruptData (data the
// model cannot use: near-chance accuracy, a tail that refuses the head's output), kIoError.
Result<TuneResult> RunTune(const TuneConfig& config);

}  // namespace ftc::bench

#endif  // FTCODEC_BENCH_HARNESS_TUNE_H_

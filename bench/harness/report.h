// Outputs of `ftcodec bench`: the table (CSV, JSON), the summary lines and the plot (gnuplot).
#ifndef FTCODEC_BENCH_HARNESS_REPORT_H_
#define FTCODEC_BENCH_HARNESS_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/harness/rate_accuracy.h"
#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace ftc::bench {

struct BenchReport {
  std::vector<SettingMetrics> rows;
  double reference_top1 = 0;  // the uncompressed (raw f32) row
  int64_t samples = 0;
  Shape feature_shape;  // per sample
  int64_t elements_per_sample = 0;
  std::string model;  // "fmnist_resnet:s1" or "head.pt + tail.pt"
  std::string head_path, tail_path;
  std::string data;     // what the samples are ("Fashion-MNIST test ...", "F.npy")
  std::string command;  // the command line that produced it
  int torch_threads = 0;
  double seconds = 0;  // wall time of the run
  std::vector<std::string> notes;
};

// CSV columns: codec, setting, samples, top1, top1_drop, top1_stderr, bytes_per_sample,
// bits_per_element, ratio_vs_f32, enc_us, dec_us, series, anchor, feature_rmse, exit_threshold,
// device_share, server_us_b1, server_us_b64 (percent and percentage points; µs per sample; an
// empty field = not measured or not applicable: the exit columns are for early-exit rows, the
// server columns for codec learned).
std::string FormatCsv(const BenchReport& r);
std::string FormatJson(const BenchReport& r);
// A fixed-width table for the terminal.
std::string FormatTable(const BenchReport& r);
// Per codec: the fewest bits per element within 0.5 and 1.0 points of the uncompressed accuracy.
std::vector<std::string> SummaryLines(const BenchReport& r);

// Writes `<stem>.gp` (a self-contained gnuplot script with the data inline) and, when gnuplot is
// installed, runs it to make `<stem>.png` and `<stem>.svg`. Returns false when gnuplot is not
// installed (the script is still written), true when both images were made.
Result<bool> WritePlot(const BenchReport& r, const std::string& stem);
// Writes `<stem>.gp` holding `script` and, when gnuplot is installed, runs it; false when
// gnuplot is not installed (the script is still written).
Result<bool> RunGnuplotScript(const std::string& script, const std::string& stem);
// Writes `text` to `path` through `path`.tmp and a rename: no half-written report on failure.
Status WriteFileAtomically(const std::string& path, const std::string& text);
// `s` as a gnuplot single-quoted string.
std::string GpString(const std::string& s);
// The gnuplot script itself (for tests).
std::string GnuplotScript(const BenchReport& r, const std::string& png_path,
                          const std::string& svg_path);

}  // namespace ftc::bench

#endif  // FTCODEC_BENCH_HARNESS_REPORT_H_

// `ftcodec bench`: rate versus accuracy of every codec setting on a split model (see
// bench/harness/). Built in when libtorch is (the ftcodec_torch component); otherwise the command
// exists only to say so.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "tools/commands.h"
#ifdef FTC_HAVE_TORCH
#include "bench/harness/bench_runner.h"
#endif

namespace ftc::cli {
namespace {

#ifdef FTC_HAVE_TORCH
struct BenchArgs {
  bench::BenchConfig config;
  std::string codecs, bits, clips, picture_clips, qualities, qps, units, exit_thresholds;
  std::vector<std::string> loss;
  std::string conceal = "all", loss_codec = "ans:4:3sigma";
  bool no_progress = false;
};

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// "1,2,4" or "2-8" or "1-4,6,8".
Result<std::vector<int>> ParseIntList(const std::string& s, const char* flag, int lo, int hi) {
  std::vector<int> out;
  for (const std::string& item : SplitList(s)) {
    int a = 0, b = 0;
    char dash = 0, extra = 0;
    const int got = std::sscanf(item.c_str(), "%d%c%d%c", &a, &dash, &b, &extra);
    if (got == 1) {
      b = a;
    } else if (!(got == 3 && dash == '-')) {
      return Status(StatusCode::kInvalidArgument,
                    std::string(flag) + ": '" + item + "' is not a number or a range A-B");
    }
    if (a < lo || b > hi || a > b) {
      return Status(StatusCode::kInvalidArgument, std::string(flag) + ": '" + item + "' outside " +
                                                      std::to_string(lo) + ".." +
                                                      std::to_string(hi));
    }
    for (int v = a; v <= b; ++v) out.push_back(v);
  }
  if (out.empty()) return Status(StatusCode::kInvalidArgument, std::string(flag) + " is empty");
  return out;
}

int RunBench(BenchArgs& a, const CLI::App& cmd, const std::string& command_line) {
  const char* verb = "bench";
  bench::BenchConfig& c = a.config;
  c.command = command_line;
  c.progress = !a.no_progress;
  if (cmd.count("--features") != cmd.count("--labels")) {
    return Usage("--features and --labels go together", verb);
  }
  if (cmd.count("--features") && cmd.count("--data")) {
    return Usage("--data and --features exclude each other", verb);
  }
  if (int e = CheckSplitModelOptions(cmd, c.model, c.head, c.tail, c.input_scale,
                                     /*tail_alone_ok=*/true, verb)) {
    return e;
  }
  if (c.model.empty() && c.head.empty() && c.features.empty()) {
    return Usage("--head is needed to compute features (or give --features F.npy --labels L.npy)",
                 verb);
  }
  if (c.limit < 0) return Usage("--limit must be >= 0", verb);
  if (c.threads < 0 || c.threads > 256) return Usage("--threads must be 0..256", verb);
  if (!a.codecs.empty()) c.sweep.codecs = SplitList(a.codecs);
  if (!a.units.empty()) c.sweep.units = SplitList(a.units);
  c.sweep.quick = cmd.count("--quick") > 0;
  if (c.sweep.quick && !cmd.count("--bits")) c.sweep.bits = {1, 2, 3, 4, 6, 8};
  if (c.sweep.quick && !cmd.count("--clips")) c.sweep.clips = {"none", "6sigma", "3sigma"};
  if (c.sweep.quick && !cmd.count("--jpeg-quality")) c.sweep.jpeg_qualities = {10, 30, 50, 70, 90};
  if (cmd.count("--bits")) {
    Result<std::vector<int>> v = ParseIntList(a.bits, "--bits", 1, 16);
    if (!v.ok()) return Fail(v.status(), verb);
    c.sweep.bits = *v;
  }
  if (cmd.count("--clips")) {
    c.sweep.clips = SplitList(a.clips);
    if (c.sweep.clips.empty()) return Usage("--clips is empty", verb);
  }
  if (cmd.count("--picture-clips")) {
    c.sweep.picture_clips = SplitList(a.picture_clips);
    if (c.sweep.picture_clips.empty()) return Usage("--picture-clips is empty", verb);
  }
  if (cmd.count("--jpeg-quality")) {
    Result<std::vector<int>> v = ParseIntList(a.qualities, "--jpeg-quality", 1, 100);
    if (!v.ok()) return Fail(v.status(), verb);
    c.sweep.jpeg_qualities = *v;
  }
  if (cmd.count("--exit-thresholds")) {
    c.sweep.exit_thresholds.clear();
    for (const std::string& item : SplitList(a.exit_thresholds)) {
      char* end = nullptr;
      const double t = std::strtod(item.c_str(), &end);
      if (end == item.c_str() || *end != '\0' || !(t >= 0 && t <= 2)) {
        return Usage("--exit-thresholds: '" + item + "' is not a number in 0..2", verb);
      }
      c.sweep.exit_thresholds.push_back(t);
    }
    if (c.sweep.exit_thresholds.empty()) return Usage("--exit-thresholds is empty", verb);
  }
  if (cmd.count("--hevc-qp")) {
    Result<std::vector<int>> v = ParseIntList(a.qps, "--hevc-qp", 0, 51);
    if (!v.ok()) return Fail(v.status(), verb);
    c.sweep.hevc_qps = *v;
  }
  for (const std::string& spec : a.loss) {
    Result<std::vector<bench::LossSetting>> l = bench::ParseLossSpec(spec);
    if (!l.ok()) return Fail(l.status(), verb);
    c.loss.insert(c.loss.end(), l->begin(), l->end());
  }
  if (!c.loss.empty()) bench::AddReferenceScenario(&c.loss);
  if (c.loss.empty() &&
      (cmd.count("--conceal") || cmd.count("--loss-seeds") || cmd.count("--packet-size") ||
       cmd.count("--mtu-packet-size") || cmd.count("--loss-codec"))) {
    return Usage(
        "--conceal, --loss-seeds, --packet-size, --mtu-packet-size and --loss-codec go "
        "with --loss",
        verb);
  }
  if (!c.loss.empty()) {
    c.conceal.clear();
    if (a.conceal != "all") {
      for (const std::string& m : SplitList(a.conceal)) {
        Result<ConcealMethod> parsed = ParseConcealMethod(m);
        if (!parsed.ok()) return Fail(parsed.status().WithContext("--conceal"), verb);
        c.conceal.push_back(m);
      }
      if (c.conceal.empty()) return Usage("--conceal is empty", verb);
    }
    if (c.loss_seeds < 1 || c.loss_seeds > 1000) return Usage("--loss-seeds must be 1..1000", verb);
    if (c.packet_size < 64 || c.packet_size > 65535) {
      return Usage("--packet-size must be 64..65535", verb);
    }
    if (c.frame_interleave < 1 || c.frame_interleave > 256) {
      return Usage("--frame-interleave must be 1..256", verb);
    }
    if (c.mtu_packet_size != 0 && (c.mtu_packet_size < 64 || c.mtu_packet_size > 65535)) {
      return Usage("--mtu-packet-size must be 0 or 64..65535", verb);
    }
    Result<EncoderOptions> codec = bench::ParseLossCodec(a.loss_codec);
    if (!codec.ok()) return Fail(codec.status(), verb);
    c.loss_codec = *codec;
  }
  const Status s = bench::RunBench(c);
  if (!s.ok()) return Fail(s, verb);
  return 0;
}
#endif  // FTC_HAVE_TORCH

}  // namespace

Command AddBenchCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "bench", "Rate versus accuracy of every codec setting on a split model (needs libtorch)");
#ifdef FTC_HAVE_TORCH
  auto a = std::make_shared<BenchArgs>();
  bench::BenchConfig& c = a->config;
  AddSplitModelOptions(cmd, "fmnist_resnet:s1", &c.model, &c.head, &c.tail, &c.input_scale);
  cmd->add_option("--data", c.data_dir,
                  "samples: a folder with inputs.npy (N×C×H×W or N×H×W float32/uint8, what the "
                  "head takes) and labels.npy (N class indices, any integer dtype), or with "
                  "Fashion-MNIST IDX files (gzipped or not) of --split")
      ->capture_default_str();
  cmd->add_option("--split", c.split, "IDX data split: test | train (not used with inputs.npy)")
      ->capture_default_str();
  cmd->add_option("--features", c.features, "features computed elsewhere: N×C×H×W .npy");
  cmd->add_option("--save-features", c.save_features,
                  "instead of a sweep: write the head's features of the samples and their "
                  "labels to DIR/features.npy and DIR/labels.npy (what a device would send)");
  cmd->add_option("--labels", c.labels,
                  "labels for --features: N class indices (.npy of uint8, int32, int64 or any "
                  "integer dtype, or whole floats)");
  cmd->add_option("--out", c.out_dir, "output directory (CSV, JSON, plot)")->capture_default_str();
  cmd->add_option("--limit", c.limit, "use the first N samples (0 = all)")->capture_default_str();
  cmd->add_option("--threads", c.threads, "libtorch threads (0 = hardware concurrency)")
      ->capture_default_str();
  cmd->add_option("--batch", c.chunk, "samples per head/tail batch")->capture_default_str();
  std::string built;
  for (const std::string& name : AvailableCodecs()) built += (built.empty() ? "" : ",") + name;
  cmd->add_option("--codecs", a->codecs,
                  "codecs to sweep (default: all built in: " + built + "); the anchors always run");
  cmd->add_option("--bits", a->bits, "ans bit depths, e.g. 1-8 or 2,4,8 (default 1-6,8)");
  cmd->add_option(
      "--clips", a->clips,
      "ans variants CLIP[/pc][/dzD]: clipping range, '/pc' per channel, '/dzD' dead zone "
      "(default none,6sigma,3sigma,3sigma/pc)");
  cmd->add_option("--picture-clips", a->picture_clips,
                  "jpeg/hevc clipping variants (default none,3sigma)");
  cmd->add_option("--jpeg-quality", a->qualities, "jpeg qualities (default 5,10,20,30,50,70,90)");
  cmd->add_option("--hevc-qp", a->qps, "hevc QPs (default 22,27,32,37,42,47)");
  cmd->add_option("--profile", c.profiles,
                  "a profile made by `ftcodec tune` to measure as an extra point (repeatable)");
  cmd->add_option("--units", a->units,
                  "learned unit folders for codec learned (default with --model: the bundled "
                  "units data/units/NAME_SPLIT_*)");
  cmd->add_option("--exit-thresholds", a->exit_thresholds,
                  "for units that ship an early exit (exit.pt): the confidence thresholds τ, a "
                  "row each (a sample with confidence >= τ is answered on the device; above 1 "
                  "nothing is; default 0.5,0.7,0.8,0.9,0.95,0.99)");
  cmd->add_flag(
      "--quick",
      "fewer settings (bits 1-4,6,8; clips none,6sigma,3sigma; no bf16/lossless; two HEVC QPs)");
  cmd->add_option("--loss", a->loss,
                  "accuracy under packet loss instead of the rate sweep: iid:RATE[,RATE...] or "
                  "ge:RATE:BURST (repeatable; the DFTS2 reference ge:0.3:7 is always added); "
                  "writes loss.{csv,json,png,svg}");
  cmd->add_option("--conceal", a->conceal,
                  "with --loss: concealment methods, all | m1,m2 (zero, mean, linear, inpaint, "
                  "caltec, lowrank)")
      ->capture_default_str();
  cmd->add_option("--loss-seeds", c.loss_seeds, "with --loss: loss patterns per sample, averaged")
      ->capture_default_str();
  cmd->add_option("--packet-size", c.packet_size,
                  "with --loss: packet size in bytes (200: a 64x14x14 sample at ans 4 bits "
                  "spans ~42 packets)")
      ->capture_default_str();
  cmd->add_option("--mtu-packet-size", c.mtu_packet_size,
                  "with --loss: contrast rows at this packet size (0 = none)")
      ->capture_default_str();
  cmd->add_option("--frame-interleave", c.frame_interleave,
                  "with --loss: send the packets of K samples round robin (a burst of losses "
                  "spreads over K samples)")
      ->capture_default_str();
  cmd->add_option("--loss-codec", a->loss_codec, "with --loss: ans:BITS[:CLIP[/pc][/dzD]] or raw")
      ->capture_default_str();
  cmd->add_flag("-q,--quiet,--no-progress", a->no_progress, "no progress bar on stderr");
  cmd->add_flag("-v,--verbose", "accepted for symmetry: progress and a summary are the default");
  return {cmd, [a, cmd]() { return RunBench(*a, *cmd, CommandLine()); }};
#else
  return NotBuiltInCommand(cmd, "bench");
#endif
}

}  // namespace ftc::cli

// `ftcodec tune`: the codec settings for one split model, written as a profile
// (bench/harness/tune.h, docs/profiles.md). Built in when libtorch is; otherwise the command exists
// only to say so.
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "ftcodec/profile.h"
#include "tools/cli_io.h"
#include "tools/commands.h"
#ifdef FTC_HAVE_TORCH
#include "bench/harness/tune.h"
#endif

namespace ftc::cli {
namespace {

#ifdef FTC_HAVE_TORCH
struct TuneArgs {
  bench::TuneConfig config;
  std::string out;
  bool force = false, quiet = false;
};

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

int RunTuneCommand(TuneArgs& a, const CLI::App& cmd) {
  const char* verb = "tune";
  bench::TuneConfig& c = a.config;
  c.command = CommandLine();
  c.progress = !a.quiet;
  if (int e = CheckSplitModelOptions(cmd, c.model, c.head, c.tail, c.input_scale,
                                     /*tail_alone_ok=*/false, verb)) {
    return e;
  }
  if (cmd.count("--max-drop") == cmd.count("--target-bytes")) {
    return Usage("give one goal: --max-drop P (points of top-1) or --target-bytes N", verb);
  }
  if (cmd.count("--max-drop") && !(c.max_drop >= 0 && c.max_drop <= 100)) {
    return Usage("--max-drop must be 0..100 (percentage points)", verb);
  }
  if (c.limit < 0) return Usage("--limit must be >= 0", verb);
  if (c.threads < 0 || c.threads > 256) return Usage("--threads must be 0..256", verb);
  if (c.split == "test") {
    return Usage("tune calibrates on the train split; the test split is for measuring (bench)",
                 verb);
  }
  if (Exists(a.out) && !a.force) {
    return Usage("'" + a.out + "' exists (give -f/--force to replace it)", verb);
  }
  Result<bench::TuneResult> r = bench::RunTune(c);
  if (!r.ok()) return Fail(r.status(), verb);
  const std::string json = ProfileToJson(r->profile);
  if (Status s = WriteOutput(a.out, std::vector<uint8_t>(json.begin(), json.end())); !s.ok()) {
    return Fail(s, verb);
  }
  std::fprintf(stderr, "ftcodec tune: wrote %s\n", a.out.c_str());
  return 0;
}
#endif  // FTC_HAVE_TORCH

}  // namespace

Command AddTuneCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "tune", "Find the codec settings for a split model and write a profile (needs libtorch)");
#ifdef FTC_HAVE_TORCH
  auto a = std::make_shared<TuneArgs>();
  bench::TuneConfig& c = a->config;
  AddSplitModelOptions(cmd, "fmnist_mobilenet:s2", &c.model, &c.head, &c.tail, &c.input_scale);
  cmd->add_option("--data", c.data_dir,
                  "samples: a folder with inputs.npy (N×C×H×W or N×H×W float32/uint8, what the "
                  "head takes) and labels.npy (N class indices, any integer dtype), or with "
                  "Fashion-MNIST IDX files (gzipped or not) of --split")
      ->capture_default_str();
  cmd->add_option("--split", c.split, "IDX calibration split (train; not used with inputs.npy)")
      ->capture_default_str();
  cmd->add_option("--limit", c.limit, "calibration samples (0 = all)")->capture_default_str();
  cmd->add_option("--max-drop", c.max_drop,
                  "goal: the fewest bytes within P points of the unmodified top-1");
  cmd->add_option("--target-bytes", c.target_bytes,
                  "goal: the best top-1 with every sample at most N bytes")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--codec", c.codec, "ans (plain and per-channel plans) | jpeg")
      ->capture_default_str();
  cmd->add_option("--threads", c.threads, "libtorch threads (0 = hardware concurrency)")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "the profile to write (JSON)")->required();
  cmd->add_flag("-f,--force", a->force, "replace an existing --out");
  cmd->add_flag("-q,--quiet", a->quiet, "no line per setting tried");
  cmd->add_flag("-v,--verbose", "accepted for symmetry: progress and a summary are the default");
  return {cmd, [a, cmd]() { return RunTuneCommand(*a, *cmd); }};
#else
  return NotBuiltInCommand(cmd, "tune");
#endif
}

}  // namespace ftc::cli

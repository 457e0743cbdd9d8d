// `ftcodec train-bottleneck`: trains a learned bottleneck unit (codec `learned`) for a split
// model through the inner codec, and writes the unit folder (docs/learned.md). Built in when
// libtorch is; otherwise the command exists only to say so.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/status_macros.h"
#include "ftcodec/ftcodec.h"
#include "tools/commands.h"
#ifdef FTC_HAVE_TORCH
#include "bench/harness/bench_runner.h"
#include "bench/harness/dataset.h"
#include "ftcodec/torch.h"
#endif

namespace ftc::cli {
namespace {

#ifdef FTC_HAVE_TORCH
struct TrainArgs {
  BottleneckTrainOptions o;
  std::string model, data = "/usr/share/datasets/fashion-mnist";
  int64_t limit = 0;
  double input_scale = 0;  // not given: the bundled model's (NAME.json), else 1
  bool json = false, quiet = false;
  bool exit_only = false;  // --exit-only: train an exit for the existing unit --unit DIR
  std::string unit;
};

// A progress bar on a terminal (redrawn at most 5 times a second), otherwise a line every 10%.
class Progress {
 public:
  explicit Progress(bool quiet) : quiet_(quiet), tty_(isatty(2) != 0) {}
  void Update(const BottleneckTrainProgress& p) {
    if (quiet_) return;
    const bool last = p.step == p.steps;
    if (tty_) {
      if (!last && p.seconds - last_draw_ < 0.2) return;
      last_draw_ = p.seconds;
    } else {
      const int64_t tenth = p.steps * (printed_ + 1) / 10;
      if (!last && p.step < tenth) return;
      while (p.steps * (printed_ + 1) / 10 <= p.step && printed_ < 10) ++printed_;
    }
    const int width = 28;
    const int fill = static_cast<int>(width * p.step / std::max<int64_t>(1, p.steps));
    const double eta =
        p.step > 0 ? p.seconds * static_cast<double>(p.steps - p.step) / static_cast<double>(p.step)
                   : 0;
    std::fprintf(stderr,
                 "%s[%s%s] epoch %d/%d step %lld/%lld  loss %.3f  acc %.1f%%  %.3f bits/el  %s "
                 "(eta %s)%s",
                 tty_ ? "\r" : "", std::string(static_cast<size_t>(fill), '#').c_str(),
                 std::string(static_cast<size_t>(width - fill), '.').c_str(), p.epoch, p.epochs,
                 static_cast<long long>(p.step), static_cast<long long>(p.steps), p.task_loss,
                 100 * p.accuracy, p.bits_per_element, bench::FormatDuration(p.seconds).c_str(),
                 bench::FormatDuration(eta).c_str(), tty_ ? (last ? "\n" : "\033[K") : "\n");
    std::fflush(stderr);
  }

 private:
  bool quiet_, tty_;
  double last_draw_ = -1;
  int printed_ = 0;
};

std::string ExitJson(const ExitTrainReport& e) {
  std::string curve;
  for (size_t i = 0; i < e.thresholds.size(); ++i) {
    curve += StrFormat("%s{\"threshold\": %g, \"device_share\": %.6f, \"top1\": %.6f}",
                       i ? ", " : "", e.thresholds[i], e.share[i], e.top1[i]);
  }
  return StrFormat(
      "{\"steps\": %lld, \"seconds\": %.1f, \"validation_samples\": %lld, \"accuracy\": %.6f, "
      "\"agreement\": %.6f, \"server_accuracy\": %.6f, \"curve\": [%s]}",
      static_cast<long long>(e.steps), e.seconds, static_cast<long long>(e.validation_samples),
      e.accuracy, e.agreement, e.server_accuracy, curve.c_str());
}

void PrintExitReport(const std::string& dir, const ExitTrainReport& e) {
  std::fprintf(stderr,
               "wrote %s/exit.pt: %lld steps in %s; validation (%lld samples): exit top-1 "
               "%.2f%%, agrees with the server on %.2f%% (server top-1 %.2f%%)\n",
               dir.c_str(), static_cast<long long>(e.steps),
               bench::FormatDuration(e.seconds).c_str(),
               static_cast<long long>(e.validation_samples), 100 * e.accuracy, 100 * e.agreement,
               100 * e.server_accuracy);
  for (size_t i = 0; i < e.thresholds.size(); ++i) {
    std::fprintf(stderr,
                 "  exit at confidence >= %.2f: %.1f%% answered on the device, top-1 %.2f%%\n",
                 e.thresholds[i], 100 * e.share[i], 100 * e.top1[i]);
  }
}

// --exit-only: an exit for an existing unit folder, trained on the same data options.
int RunExitOnly(TrainArgs& a, const bench::DataDir& d, const std::string& data_description,
                const char* verb) {
  const BottleneckTrainOptions& o = a.o;
  ExitTrainOptions e;
  e.unit_dir = a.unit;
  e.head_path = o.head_path;
  e.tail_path = o.tail_path;
  e.epochs = o.exit_epochs;
  e.max_steps = o.max_steps;
  e.batch_size = o.batch_size;
  e.learning_rate = o.learning_rate;
  e.channels = o.exit_channels;
  e.distill_weight = o.distill_weight;
  e.validation = o.validation;
  e.input_scale = o.input_scale;
  e.seed = o.seed;
  e.threads = o.threads;
  e.command = o.command;
  if (!a.quiet) {
    std::fprintf(stderr,
                 "training an early exit for %s on %s (input scale %g): first the codes and the "
                 "server's answers of every sample\n",
                 a.unit.c_str(), data_description.c_str(), o.input_scale);
  }
  const bool tty = isatty(2) != 0;
  int64_t printed = 0;
  Result<ExitTrainReport> r =
      TrainLearnedExit(d.inputs.view(), d.labels, e, [&](int64_t step, int64_t steps, double loss) {
        if (a.quiet) return;
        if (!tty && step * 10 < steps * (printed + 1) && step != steps) return;
        ++printed;
        std::fprintf(stderr, "%sexit step %lld/%lld  loss %.4f%s", tty ? "\r" : "",
                     static_cast<long long>(step), static_cast<long long>(steps), loss,
                     tty && step != steps ? "\033[K" : "\n");
      });
  if (!r.ok()) return Fail(r.status(), verb);
  if (a.json) {
    std::printf("{\"unit\": %s, \"exit\": %s}\n", JsonString(a.unit).c_str(), ExitJson(*r).c_str());
  }
  if (!a.quiet) PrintExitReport(a.unit, *r);
  return 0;
}

int RunTrain(TrainArgs& a, const CLI::App& cmd, const std::string& command) {
  const char* verb = "train-bottleneck";
  BottleneckTrainOptions& o = a.o;
  if (int e = CheckSplitModelOptions(cmd, a.model, o.head_path, o.tail_path, a.input_scale,
                                     /*tail_alone_ok=*/false, verb)) {
    return e;
  }
  const bool scale_given = cmd.count("--input-scale") > 0;
  o.input_scale = scale_given ? a.input_scale : 1.0;
  if (!a.model.empty()) {
    Result<bench::ModelFiles> m = bench::FindBundledModel(a.model);
    if (!m.ok()) return Fail(m.status(), verb);
    o.head_path = m->head;
    o.tail_path = m->tail;
    if (!scale_given) o.input_scale = m->input_scale;
  }
  o.command = command;
  if (a.exit_only) {
    if (a.unit.empty())
      return Usage("--exit-only needs --unit DIR (the unit to add an exit to)", verb);
    if (!o.out_dir.empty()) {
      return Usage("--exit-only writes exit.pt into --unit DIR; --out is for training a unit",
                   verb);
    }
    if (cmd.count("--channels") || cmd.count("--stride") || cmd.count("--inner") ||
        cmd.count("--bits") || cmd.count("--quality") || cmd.count("--rate-weight") ||
        cmd.count("--finetune-tail") || cmd.count("--epochs") || cmd.count("--force")) {
      return Usage(
          "--exit-only trains an exit for an existing unit: --channels, --stride, --inner, "
          "--bits, --quality, --rate-weight, --finetune-tail, --epochs and --force do not apply "
          "(--exit-epochs and --exit-channels do)",
          verb);
    }
  } else {
    if (o.out_dir.empty()) return Usage("--out DIR is required (the unit folder to write)", verb);
    if (!a.unit.empty()) return Usage("--unit goes with --exit-only", verb);
  }
  // --data DIR: inputs.npy (+ labels.npy), or IDX files of the train split.
  Result<bench::DataDir> d = bench::LoadDataDir(a.data, "train", a.limit, false);
  if (!d.ok()) return Fail(d.status(), verb);
  const std::string data_description =
      d->description + (d->labels.empty() ? std::string(", no labels: distilling from the model")
                                          : ", labels " + d->labels_path);
  if (a.exit_only) return RunExitOnly(a, *d, data_description, verb);
  if (!a.quiet) {
    std::fprintf(stderr,
                 "training a %s unit: %d channels, stride %d, %s %s %d on %s (input scale %g)\n",
                 o.finetune_tail ? "bottleneck + tail" : "bottleneck", o.channels, o.stride,
                 o.inner.c_str(), o.inner == "ans" ? "bits" : "quality",
                 o.inner == "ans" ? o.bits : o.quality, data_description.c_str(), o.input_scale);
  }
  Progress progress(a.quiet);
  Result<BottleneckTrainReport> r =
      TrainBottleneck(d->inputs.view(), d->labels, o,
                      [&](const BottleneckTrainProgress& p) { progress.Update(p); });
  if (!r.ok()) return Fail(r.status(), verb);
  const double split_elems =
      static_cast<double>(r->unit.split_shape[0] * r->unit.split_shape[1] * r->unit.split_shape[2]);
  if (a.json) {
    std::printf(
        "{\"unit\": %s, \"hash\": \"%s\", \"steps\": %lld, \"seconds\": %.1f, "
        "\"validation_samples\": %lld, \"accuracy_original\": %.6f, \"accuracy_unit\": %.6f, "
        "\"agreement\": %.6f, \"bytes_per_sample\": %.3f, \"accuracy_unquantized\": %.6f, "
        "\"epochs_run\": %d, \"best_epoch\": %d, \"limit\": %s%s}\n",
        JsonString(o.out_dir).c_str(), r->unit.hash.c_str(), static_cast<long long>(r->steps),
        r->seconds, static_cast<long long>(r->validation_samples), r->accuracy_original,
        r->accuracy_unit, r->agreement, r->bytes_per_sample, r->accuracy_unquantized, r->epochs_run,
        r->best_epoch, JsonString(r->limit).c_str(),
        r->has_exit ? (", \"exit\": " + ExitJson(r->exit)).c_str() : "");
  }
  if (!a.quiet) {
    std::fprintf(stderr,
                 "wrote %s (unit %s): code %s, %lld steps in %s\n"
                 "validation (%lld samples, through the codec): top-1 %.2f%% (unmodified model "
                 "%.2f%%), %.1f bytes/sample with headers (%.4f bits per feature element, %.0fx "
                 "smaller than f32); the entropy model puts the code at %.3f bits/element\n",
                 o.out_dir.c_str(), r->unit.hash.c_str(), ShapeToString(r->unit.code_shape).c_str(),
                 static_cast<long long>(r->steps), bench::FormatDuration(r->seconds).c_str(),
                 static_cast<long long>(r->validation_samples), 100 * r->accuracy_unit,
                 100 * r->accuracy_original, r->bytes_per_sample,
                 8 * r->bytes_per_sample / split_elems, 4 * split_elems / r->bytes_per_sample,
                 r->model_bits_per_element);
    std::fprintf(stderr, "kept the units of epoch %d of %d%s; without the inner codec: %.2f%%\n",
                 r->best_epoch, r->epochs_run,
                 r->stopped_early ? " (stopped early: no gain in 3 epochs)" : "",
                 100 * r->accuracy_unquantized);
    if (!r->limit.empty()) std::fprintf(stderr, "what limits the unit: %s\n", r->limit.c_str());
    if (r->has_exit) PrintExitReport(o.out_dir, r->exit);
  }
  return 0;
}
#endif  // FTC_HAVE_TORCH

}  // namespace

Command AddTrainBottleneckCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "train-bottleneck",
      "Train a learned bottleneck unit (codec learned) for a split model (needs libtorch)");
#ifdef FTC_HAVE_TORCH
  auto a = std::make_shared<TrainArgs>();
  BottleneckTrainOptions& o = a->o;
  AddSplitModelOptions(cmd, "fmnist_resnet:s1", &a->model, &o.head_path, &o.tail_path,
                       &a->input_scale);
  cmd->add_option("--data", a->data,
                  "training data: a folder with inputs.npy (N×C×H×W or N×H×W float32/uint8, "
                  "what the head takes) and optionally labels.npy (N class indices, any integer "
                  "dtype; without them the unit learns to reproduce the model's predictions), "
                  "or with (Fashion-)MNIST IDX files (train split)")
      ->capture_default_str();
  cmd->add_option("--out", o.out_dir, "unit folder to write (required unless --exit-only)");
  cmd->add_flag("-f,--force", o.overwrite, "replace an existing unit folder");
  cmd->add_option("--channels", o.channels, "channels C' of the code")->capture_default_str();
  cmd->add_option("--stride", o.stride, "1, or 2 to halve the code's height and width")
      ->check(CLI::IsMember({1, 2}))
      ->capture_default_str();
  cmd->add_option("--inner", o.inner, "inner codec to train through: ans | jpeg")
      ->check(CLI::IsMember({"ans", "jpeg"}))
      ->capture_default_str();
  cmd->add_option("--bits", o.bits, "ans: quantizer bits 1..8")->capture_default_str();
  cmd->add_option("--quality", o.quality, "jpeg: quality 1..100")->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "passes over the training samples")->capture_default_str();
  cmd->add_option("--steps", o.max_steps, "stop after this many steps (0 = the epochs decide)")
      ->capture_default_str();
  cmd->add_option("--batch-size", o.batch_size, "samples per step")->capture_default_str();
  cmd->add_option("--lr", o.learning_rate, "Adam learning rate (cosine-decayed)")
      ->capture_default_str();
  cmd->add_option("--rate-weight", o.rate_weight,
                  "λ: loss = task + λ·(bits per code element under the learned entropy model)")
      ->capture_default_str();
  cmd->add_option("--distill", o.distill_weight,
                  "weight of distillation from the unmodified model, added to the labels' "
                  "cross-entropy (without labels the loss is distillation alone)")
      ->capture_default_str();
  cmd->add_flag("--finetune-tail", o.finetune_tail,
                "also train the tail; the unit folder then ships tail.pt, to be used instead");
  cmd->add_option("--limit", a->limit, "use the first N samples of the data (0 = all)")
      ->capture_default_str();
  cmd->add_option("--validation", o.validation,
                  "samples held out (the last ones) to measure the unit; 0 = min(5000, N/10)")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "random seed")->capture_default_str();
  cmd->add_option("--threads", o.threads, "libtorch threads (0 = hardware concurrency)")
      ->capture_default_str();
  cmd->add_flag("--exit", o.train_exit,
                "also train an early exit (exit.pt): a classifier on the code, run on the device, "
                "that answers a sample it is confident about instead of sending it");
  cmd->add_flag("--exit-only", a->exit_only,
                "train only an early exit for the existing unit --unit DIR (writes DIR/exit.pt; "
                "the unit and its hash are unchanged)");
  cmd->add_option("--unit", a->unit, "with --exit-only: the unit folder");
  cmd->add_option("--exit-epochs", o.exit_epochs,
                  "passes over the training samples for the exit (capped by --steps)")
      ->capture_default_str();
  cmd->add_option("--exit-channels", o.exit_channels, "width of the exit's two convolutions")
      ->capture_default_str();
  cmd->add_flag("--json", a->json, "print the result as JSON on stdout");
  cmd->add_flag("-q,--quiet", a->quiet, "no progress or summary on stderr");
  cmd->add_flag("-v,--verbose", "accepted for symmetry: progress and a summary are the default");
  return {cmd, [a, cmd]() { return RunTrain(*a, *cmd, CommandLine()); }};
#else
  return NotBuiltInCommand(cmd, "train-bottleneck");
#endif
}

}  // namespace ftc::cli

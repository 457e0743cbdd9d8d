#include "bench/harness/bench_runner.h"

#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "base/status_macros.h"
#include "bench/harness/cloud_only.h"
#include "bench/harness/dataset.h"
#include "bench/harness/report.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "ftcodec/profile.h"
#include "ftcodec/torch.h"

namespace ftc::bench {

std::string FormatDuration(double s) {
  char buf[32];
  if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0fs", s);
  }
  return buf;
}

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool IsFile(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string ExeDir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  const size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

Status MakeDirs(const std::string& dir) {
  std::string acc;
  size_t pos = 0;
  while (pos <= dir.size()) {
    const size_t next = dir.find('/', pos);
    acc = dir.substr(0, next == std::string::npos ? dir.size() : next);
    if (!acc.empty() && ::mkdir(acc.c_str(), 0777) != 0 && errno != EEXIST) {
      return Status(StatusCode::kIoError, acc + ": cannot create directory");
    }
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status(StatusCode::kIoError, dir + ": not a directory");
  }
  return Status::Ok();
}

// A progress bar on stderr, drawn once the run has taken more than two seconds; on a terminal it
// redraws in place, otherwise it prints a line every 10%.
class Progress {
 public:
  Progress(double total, bool enabled)
      : total_(std::max(total, 1.0)), enabled_(enabled), tty_(::isatty(2) != 0) {}
  ~Progress() { Done(); }

  void Add(double units, const std::string& what) {
    done_ += units;
    if (!enabled_) return;
    const double elapsed = Since(start_);
    if (elapsed < 2.0) return;
    const double frac = std::min(1.0, done_ / total_);
    const double left = frac > 0 ? elapsed * (1 - frac) / frac : 0;
    if (tty_) {
      if (Since(last_draw_) < 0.2 && frac < 1) return;
      last_draw_ = Clock::now();
      const int width = 30, fill = static_cast<int>(frac * width);
      std::string bar(static_cast<size_t>(fill), '=');
      if (fill < width) bar += '>' + std::string(static_cast<size_t>(width - fill - 1), ' ');
      std::fprintf(stderr, "\r  [%s] %3.0f%%  %-28.28s %8s left ", bar.c_str(), 100 * frac,
                   what.c_str(), FormatDuration(left).c_str());
      drawn_ = true;
    } else {
      const int step = static_cast<int>(frac * 10);
      if (step <= last_step_) return;
      last_step_ = step;
      std::fprintf(stderr, "ftcodec bench: %3.0f%% (%s elapsed, ~%s left)\n", 100 * frac,
                   FormatDuration(elapsed).c_str(), FormatDuration(left).c_str());
    }
  }
  void Done() {
    if (drawn_) std::fprintf(stderr, "\r%*s\r", 78, "");
    drawn_ = false;
  }

 private:
  double total_, done_ = 0;
  bool enabled_, tty_, drawn_ = false;
  int last_step_ = 0;
  Clock::time_point start_ = Clock::now(), last_draw_ = Clock::now();
};

struct Samples {
  Tensor inputs;             // --data: what the head takes, N first
  Tensor features;           // --features
  bool gray_images = false;  // the inputs are uint8 N×1×H×W (the cloud-only anchors code them)
  std::vector<int> labels;
  std::string labels_path;  // where the labels came from (errors name it)
  std::string description;
  int64_t count() const { return static_cast<int64_t>(labels.size()); }
  // The labels of samples [first, first + count).
  std::vector<int> ChunkLabels(int64_t first, int64_t count) const {
    return std::vector<int>(labels.begin() + first, labels.begin() + first + count);
  }
};

Result<Samples> LoadSamples(const BenchConfig& c) {
  Samples s;
  if (!c.features.empty()) {
    FTC_ASSIGN_OR_RETURN(NpyArray f, ReadNpyFile(c.features));
    if (f.tensor.dtype() == DType::kU8 || f.tensor.rank() < 2) {
      return Status(StatusCode::kInvalidArgument,
                    c.features + ": features must be float, N first (N×C×H×W), got " +
                        std::string(DTypeName(f.tensor.dtype())) + " " +
                        ShapeToString(f.tensor.shape()));
    }
    const int64_t n = f.tensor.shape()[0];
    FTC_ASSIGN_OR_RETURN(s.labels, ReadLabelsFile(c.labels, n));
    s.labels_path = c.labels;
    s.features = std::move(f.tensor);
    if (c.limit > 0 && c.limit < n) {
      FTC_ASSIGN_OR_RETURN(s.features, FirstSamples(std::move(s.features), c.limit));
      s.labels.resize(static_cast<size_t>(c.limit));
    }
    s.description = c.features + " (" + std::to_string(s.count()) + " samples), labels " + c.labels;
    return s;
  }
  // --data DIR: inputs.npy + labels.npy, or IDX files (dataset.h).
  FTC_ASSIGN_OR_RETURN(DataDir d,
                       LoadDataDir(c.data_dir, c.split, c.limit, /*labels_required=*/true));
  s.labels = std::move(d.labels);
  s.labels_path = d.labels_path;
  s.description = d.idx ? "Fashion-MNIST " + c.split + " split, first " +
                              std::to_string(s.count()) + " images (" + d.inputs_path + ")"
                        : d.description + ", labels " + d.labels_path;
  s.inputs = std::move(d.inputs);
  s.gray_images = IsGrayImages(s.inputs);
  return s;
}

// The features of samples [first, first + count): a copy of the given features (--features), or
// the head's output on the inputs.
Result<Tensor> ChunkFeatures(const Samples& samples, const SplitModel& model, bool features_mode,
                             int64_t first, int64_t count) {
  if (features_mode) return Tensor::CopyOf(BatchRows(samples.features.view(), first, count));
  return model.Head(BatchRows(samples.inputs.view(), first, count));
}

// What a `--loss` run measures, and its tallies, filled chunk by chunk: [packet size][loss
// setting][method], loss-free per packet size, and the uncompressed f32 reference.
struct LossRun {
  std::vector<ConcealMethod> methods;
  std::vector<int> sizes;  // the main packet size, then the contrast (MTU-sized) one
  size_t losses = 0;       // loss settings
  std::vector<LossTally> tallies, lossfree;
  int64_t ref_correct = 0;
  ConcealOptions conceal;  // altec's predictor

  size_t index(size_t si, size_t li, size_t mi) const {
    return (si * losses + li) * methods.size() + mi;
  }
};

// Interleaved packets of `size` bytes, as the loss bench sends them.
PacketOptions LossPacketOptions(int size, int frame_interleave) {
  PacketOptions p;
  p.interleave = true;
  p.packet_size = size;
  p.frame_interleave = frame_interleave;
  return p;
}

// The methods and packet sizes of a `--loss` run, with empty tallies; errors name the option.
Result<LossRun> PlanLossRun(const BenchConfig& c) {
  LossRun run;
  const std::vector<std::string> names = c.conceal.empty() ? ConcealMethodNames() : c.conceal;
  for (const std::string& name : names) {
    Result<ConcealMethod> m = ParseConcealMethod(name);
    if (!m.ok()) return m.status().WithContext("--conceal");
    run.methods.push_back(*m);
  }
  if (c.loss_seeds < 1) return Status(StatusCode::kInvalidArgument, "--loss-seeds must be >= 1");
  run.sizes = {c.packet_size};
  if (c.mtu_packet_size > 0 && c.mtu_packet_size != c.packet_size) {
    run.sizes.push_back(c.mtu_packet_size);
  }
  for (int size : run.sizes) {
    FTC_RETURN_IF_ERROR(
        LossPacketOptions(size, c.frame_interleave).Validate().WithContext("--packet-size"));
  }
  run.losses = c.loss.size();
  run.tallies.resize(run.sizes.size() * run.losses * run.methods.size());
  run.lossfree.resize(run.sizes.size());
  return run;
}

// The loss report's name of the codec: "ans 3sigma b4", "raw".
std::string LossCodecLabel(const EncoderOptions& codec) {
  SettingSpec spec{codec.codec, "", "", codec, false, false, {}, {}, -1};
  if (codec.codec == "ans") {
    spec.series = "ans " + codec.clip.ToString() + (codec.per_channel ? " per-channel" : "");
    spec.setting = "b" + std::to_string(codec.bits);
  } else {
    spec.series = codec.codec;
  }
  return SettingLabel(spec);
}

// One chunk of samples: the f32 reference, then every packet size × loss setting × concealment
// method (and each packet size loss-free).
Status AddLossChunk(const BenchConfig& c, const Samples& samples, const SplitModel& model,
                    bool features_mode, int64_t first, int64_t count, LossRun* run,
                    Progress* progress) {
  const std::vector<int> labels = samples.ChunkLabels(first, count);
  FTC_ASSIGN_OR_RETURN(Tensor features, ChunkFeatures(samples, model, features_mode, first, count));
  FTC_ASSIGN_OR_RETURN(std::vector<int> ref, model.Classify(features.view()));
  for (int64_t i = 0; i < count; ++i) run->ref_correct += ref[i] == labels[i] ? 1 : 0;
  const FeatureClassifier classify = [&](const TensorView& f) { return model.Classify(f); };
  LossSetting none;
  none.kind = "iid";
  none.label = "none";
  for (size_t si = 0; si < run->sizes.size(); ++si) {
    FTC_ASSIGN_OR_RETURN(PacketizedBatch batch,
                         PacketizeBatch(features.view(), c.loss_codec,
                                        LossPacketOptions(run->sizes[si], c.frame_interleave)));
    FTC_ASSIGN_OR_RETURN(
        LossTally lf, EvaluateLoss(batch, labels, classify, none, ConcealMethod::kZero, 1, first));
    run->lossfree[si].Merge(lf);
    progress->Add(static_cast<double>(count), "loss-free");
    for (size_t li = 0; li < run->losses; ++li) {
      for (size_t mi = 0; mi < run->methods.size(); ++mi) {
        const std::string what = c.loss[li].label + " " + ConcealMethodName(run->methods[mi]);
        Result<LossTally> t = EvaluateLoss(batch, labels, classify, c.loss[li], run->methods[mi],
                                           c.loss_seeds, first, run->conceal);
        if (!t.ok()) return t.status().WithContext(what);
        run->tallies[run->index(si, li, mi)].Merge(*t);
        progress->Add(static_cast<double>(count * c.loss_seeds), what);
      }
    }
  }
  return Status::Ok();
}

// The report's accuracies: the f32 reference, loss-free per packet size, and a row per packet
// size × loss setting × method.
void FinishLossReport(const BenchConfig& c, const LossRun& run, int64_t n, LossReport* report) {
  report->reference_top1 = 100.0 * static_cast<double>(run.ref_correct) / static_cast<double>(n);
  for (size_t si = 0; si < run.sizes.size(); ++si) {
    const double lf_top1 =
        100.0 * static_cast<double>(run.lossfree[si].correct) / static_cast<double>(n);
    report->lossfree_top1.emplace_back(run.sizes[si], lf_top1);
    for (size_t li = 0; li < run.losses; ++li) {
      for (size_t mi = 0; mi < run.methods.size(); ++mi) {
        report->rows.push_back(FinishLossRow(c.loss[li], run.sizes[si],
                                             ConcealMethodName(run.methods[mi]), c.loss_seeds,
                                             run.tallies[run.index(si, li, mi)], lf_top1));
      }
    }
  }
}

// Writes <out>/loss.{csv,json,gp,png,svg}; the table and the summary go to stderr.
Status WriteLossOutputs(const BenchConfig& c, const LossReport& report, int64_t n,
                        Clock::time_point start) {
  FTC_RETURN_IF_ERROR(MakeDirs(c.out_dir));
  const std::string stem = c.out_dir + "/loss";
  FTC_RETURN_IF_ERROR(WriteFileAtomically(stem + ".csv", FormatLossCsv(report)));
  FTC_RETURN_IF_ERROR(WriteFileAtomically(stem + ".json", FormatLossJson(report)));
  Result<bool> plotted = WriteLossPlot(report, stem);
  std::fprintf(stderr, "\n%s\n", FormatLossTable(report).c_str());
  std::fprintf(stderr, "ftcodec bench: uncompressed f32 top-1 %.2f%%; %s loss-free top-1",
               report.reference_top1, report.codec.c_str());
  for (const auto& [size, top1] : report.lossfree_top1) {
    std::fprintf(stderr, " %.2f%% (%d-byte packets)", top1, size);
  }
  std::fprintf(stderr, "\n");
  if (!plotted.ok()) {
    std::fprintf(stderr, "ftcodec bench: warning: %s\n", plotted.status().message().c_str());
  } else if (!*plotted) {
    std::fprintf(stderr, "ftcodec bench: warning: gnuplot is not installed: no plot (%s.gp)\n",
                 stem.c_str());
  }
  std::fprintf(stderr, "ftcodec bench: %lld samples in %s; wrote %s.csv, %s.json%s\n",
               static_cast<long long>(n), FormatDuration(Since(start)).c_str(), stem.c_str(),
               stem.c_str(),
               plotted.ok() && *plotted ? (", " + stem + ".png, " + stem + ".svg").c_str() : "");
  return Status::Ok();
}

// `--loss`: accuracy under packet loss for every loss setting × concealment method, at the main
// packet size and (contrast) an MTU-sized one; writes <out>/loss.{csv,json,gp,png,svg}.
// altec's predictor, when the methods include it: the first --profile's, else fitted on the
// head's features of up to 2,000 training images (IDX data). Without either, altec is dropped
// from the default methods (a note) and refused when asked for.
Status AddLossPredictor(const BenchConfig& c, const SplitModel& model, bool features_mode,
                        LossRun* run) {
  auto at = std::find(run->methods.begin(), run->methods.end(), ConcealMethod::kAltec);
  if (at == run->methods.end()) return Status::Ok();
  for (const std::string& path : c.profiles) {
    FTC_ASSIGN_OR_RETURN(Profile p, LoadProfile(path));
    if (p.conceal_predictor) {
      run->conceal.predictor = p.conceal_predictor;
      std::fprintf(stderr, "ftcodec bench: altec: the predictor of %s\n", path.c_str());
      return Status::Ok();
    }
  }
  Result<DataDir> train = Status(StatusCode::kInvalidArgument, "no input images");
  if (!features_mode) train = LoadDataDir(c.data_dir, "train", 2000, false);
  if (!train.ok() || !train->idx) {
    const char* why = "altec needs a predictor: --profile P (ftcodec tune) or IDX training data";
    if (!c.conceal.empty()) return Status(StatusCode::kInvalidArgument, why);
    std::fprintf(stderr, "ftcodec bench: note: %s; altec skipped\n", why);
    run->methods.erase(at);
    run->tallies.resize(run->sizes.size() * run->losses * run->methods.size());
    return Status::Ok();
  }
  FTC_ASSIGN_OR_RETURN(Tensor f, model.Head(train->inputs.view()));
  FTC_ASSIGN_OR_RETURN(run->conceal.predictor, FitLossPredictor(f.view()));
  std::fprintf(stderr, "ftcodec bench: altec: predictor fitted on %lld training images\n",
               static_cast<long long>(f.shape()[0]));
  return Status::Ok();
}

Status RunLossBench(const BenchConfig& c, const Samples& samples, const SplitModel& model,
                    bool features_mode, const std::string& model_name, Clock::time_point start) {
  FTC_ASSIGN_OR_RETURN(LossRun run, PlanLossRun(c));
  FTC_RETURN_IF_ERROR(AddLossPredictor(c, model, features_mode, &run));
  const int64_t n = samples.count();
  LossReport report;
  report.model = model_name;
  report.data = samples.description;
  report.command = c.command;
  report.samples = n;
  report.main_packet_size = c.packet_size;
  report.codec = LossCodecLabel(c.loss_codec);
  const size_t nl = run.losses, nm = run.methods.size();
  Progress progress(static_cast<double>(n) * static_cast<double>(run.sizes.size()) *
                        (1.0 + static_cast<double>(nl * nm * c.loss_seeds)),
                    c.progress);
  std::fprintf(stderr,
               "ftcodec bench: packet loss on %s, %s; %zu loss settings x %zu methods x %d "
               "seeds, packets of %d bytes (+%zu contrast size)\n",
               model_name.c_str(), samples.description.c_str(), nl, nm, c.loss_seeds, c.packet_size,
               run.sizes.size() - 1);
  for (int64_t first = 0; first < n; first += c.chunk) {
    const int64_t count = std::min<int64_t>(c.chunk, n - first);
    FTC_RETURN_IF_ERROR(
        AddLossChunk(c, samples, model, features_mode, first, count, &run, &progress));
  }
  progress.Done();
  FinishLossReport(c, run, n, &report);
  return WriteLossOutputs(c, report, n, start);
}

// The model's files as the options give them: --model NAME:SPLIT (a bundled pair, with its input
// scale and its learned units) or --head/--tail.
struct BenchModel {
  std::string head, tail;  // head is empty with --features: the head is not run
  std::string name;        // for the report
  double input_scale = 1.0;
  std::vector<std::string> bundled_units;
};

Result<BenchModel> ResolveModel(const BenchConfig& c, bool features_mode) {
  BenchModel m;
  m.head = c.head;
  m.tail = c.tail;
  m.input_scale = c.input_scale > 0 ? c.input_scale : 1.0;
  m.name = c.model;
  if (!c.model.empty()) {
    if (!c.head.empty() || !c.tail.empty()) {
      return Status(StatusCode::kInvalidArgument, "give --model or --head/--tail, not both");
    }
    FTC_ASSIGN_OR_RETURN(ModelFiles files, FindBundledModel(c.model));
    m.head = files.head;
    m.tail = files.tail;
    m.name = files.name;
    if (!(c.input_scale > 0)) m.input_scale = files.input_scale;
    if (c.sweep.units.empty()) m.bundled_units = FindBundledUnits(files);
  }
  if (m.tail.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "no model: give --model NAME:SPLIT or --tail "
                  "(and --head unless --features is given)");
  }
  if (!features_mode && m.head.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "--head is needed to compute features from --data (or give --features)");
  }
  if (m.name.empty()) m.name = features_mode ? m.tail : m.head + " + " + m.tail;
  if (features_mode) m.head.clear();  // the features are given: the head is not run
  return m;
}

// The split model (the tail alone with --features), probed with the shape of one input sample.
Result<SplitModel> LoadBenchModel(const BenchConfig& c, const BenchModel& m, const Samples& samples,
                                  bool features_mode) {
  SplitModelOptions mo;
  mo.threads = c.threads;
  mo.input_scale = m.input_scale;
  if (!features_mode) {
    mo.probe_input_shape = samples.inputs.shape();
    mo.probe_input_shape[0] = 1;
  }
  return features_mode ? SplitModel::LoadTail(m.tail, mo) : SplitModel::Load(m.head, m.tail, mo);
}

// The labels must be classes of the tail (a label beyond its logits would only count as wrong):
// the tail's class count is known from the probe, or from a run on one sample.
Status CheckTailClasses(const Samples& samples, const SplitModel& model, bool features_mode) {
  if (model.num_classes() == 0) {
    FTC_ASSIGN_OR_RETURN(Tensor f, ChunkFeatures(samples, model, features_mode, 0, 1));
    FTC_RETURN_IF_ERROR(model.Classify(f.view()).status());
  }
  const int classes = static_cast<int>(model.num_classes());
  return CheckClassLabels(samples.labels, classes).WithContext(samples.labels_path);
}

// The points of the sweep: BuildSweep's (a bundled model's learned units unless --units), then
// the profiles.
Result<std::vector<SettingSpec>> BenchSweep(const BenchConfig& c, const BenchModel& m,
                                            std::vector<std::string>* notes) {
  SweepConfig sweep_config = c.sweep;
  if (sweep_config.units.empty()) sweep_config.units = m.bundled_units;
  FTC_ASSIGN_OR_RETURN(std::vector<SettingSpec> sweep, BuildSweep(sweep_config, notes));
  for (const std::string& path : c.profiles) {
    FTC_ASSIGN_OR_RETURN(SettingSpec spec, ProfileSetting(path, m.head, m.tail, notes));
    sweep.push_back(std::move(spec));
  }
  return sweep;
}

// Cloud-only anchor state: the input image as PNG / JPEG.
struct CloudAnchor {
  SettingSpec spec;
  SettingTally tally;
};

// The cloud-only anchors: PNG, and JPEG when built with libjpeg-turbo, for inputs that are 8-bit
// grayscale images; otherwise a note says why there are none.
std::vector<CloudAnchor> CloudAnchors(const Samples& samples, bool features_mode,
                                      std::vector<std::string>* notes) {
  std::vector<CloudAnchor> cloud;
  if (!features_mode && samples.gray_images) {
    cloud.push_back(
        {SettingSpec{"cloud-only", "cloud-only", "png", {}, true, true, {}, {}, -1}, {}});
    if (HaveJpegAnchor()) {
      cloud.push_back(
          {SettingSpec{"cloud-only", "cloud-only", "jpeg-q90", {}, true, true, {}, {}, -1}, {}});
    } else {
      notes->push_back("cloud-only JPEG anchor skipped: built without libjpeg-turbo");
    }
  } else if (features_mode) {
    notes->push_back("cloud-only anchors skipped: --features gives no input images");
  } else {
    notes->push_back("cloud-only anchors skipped: the inputs are " +
                     std::string(DTypeName(samples.inputs.dtype())) + " " +
                     ShapeToString(samples.inputs.shape()) +
                     ", not 8-bit grayscale images (uint8 N×1×H×W)");
  }
  return cloud;
}

// Codes one h×w input image as PNG or JPEG and back into `decoded`, counting its bytes and time.
Status CodeCloudImage(bool jpeg, const uint8_t* px, int64_t h, int64_t w, uint8_t* decoded,
                      SettingTally* tally) {
  const Clock::time_point t0 = Clock::now();
  Result<std::vector<uint8_t>> code =
      jpeg ? EncodeJpegGray8(px, static_cast<int>(w), static_cast<int>(h), 90)
           : EncodePngGray8(px, static_cast<int>(w), static_cast<int>(h));
  const Clock::time_point t1 = Clock::now();
  if (!code.ok()) return code.status();
  Result<GrayImage> back = jpeg ? DecodeJpegGray8(code->data(), code->size())
                                : DecodePngGray8(code->data(), code->size());
  const Clock::time_point t2 = Clock::now();
  if (!back.ok()) return back.status();
  if (back->pixels.size() != static_cast<size_t>(h * w)) {
    return Status(StatusCode::kInternal, "cloud-only anchor: decoded image size differs");
  }
  if (!jpeg && std::memcmp(back->pixels.data(), px, static_cast<size_t>(h * w)) != 0) {
    return Status(StatusCode::kInternal, "PNG anchor: round trip is not lossless");
  }
  std::memcpy(decoded, back->pixels.data(), static_cast<size_t>(h * w));
  tally->bytes += code->size();
  tally->encode_seconds += std::chrono::duration<double>(t1 - t0).count();
  tally->decode_seconds += std::chrono::duration<double>(t2 - t1).count();
  return Status::Ok();
}

// One chunk of input images (uint8 N×1×H×W) through a cloud-only anchor, each image coded on its
// own.
Status AddCloudChunk(const TensorView& imgs, const std::vector<int>& labels,
                     const SplitModel& model, CloudAnchor* a) {
  const int64_t count = imgs.shape[0], h = imgs.shape[2], w = imgs.shape[3];
  const bool jpeg = a->spec.setting == "jpeg-q90";
  FTC_ASSIGN_OR_RETURN(Tensor decoded, Tensor::Create(DType::kU8, imgs.shape_vector()));
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t* px = static_cast<const uint8_t*>(imgs.data) + i * h * w;
    FTC_RETURN_IF_ERROR(CodeCloudImage(jpeg, px, h, w, decoded.data() + i * h * w, &a->tally));
  }
  a->tally.samples += count;
  if (jpeg) {
    // The server runs the whole model on the decoded (lossy) image.
    FTC_ASSIGN_OR_RETURN(Tensor f, model.Head(decoded.view()));
    FTC_ASSIGN_OR_RETURN(std::vector<int> pred, model.Classify(f.view()));
    for (int64_t i = 0; i < count; ++i) a->tally.correct += pred[i] == labels[i] ? 1 : 0;
  }
  return Status::Ok();
}

// What the rate sweep measures, and its tallies, filled chunk by chunk.
struct RateRun {
  std::vector<SettingSpec> sweep;
  std::vector<SettingTally> tallies;  // one per setting
  std::vector<std::string> failed;    // why a setting was left out
  std::vector<CloudAnchor> cloud;
  std::map<std::string, SplitModel> other_tails;  // fine-tuned tails of learned units
  int classes = 0;                                // the tail's
  double input_scale = 1.0;
  // Early exits: the exits of the units that ship one (by unit folder), what they and the server
  // answered per sample (by setting index), and the thresholds to report.
  std::map<std::string, LearnedExit> exit_models;
  std::map<size_t, ExitTrace> exits;
  std::vector<double> exit_thresholds;
  // Codec learned: the server's time per sample at batch 1 and 64 (µs), by setting index.
  std::map<size_t, std::pair<double, double>> server_us;
};

// Loads the early exit of every learned setting whose unit ships one: a broken exit.pt, or one
// with another number of classes than the tail, stops the bench (exit 2, naming the file).
Status LoadExits(RateRun* run) {
  for (const SettingSpec& spec : run->sweep) {
    if (spec.exit_unit.empty() || run->exit_models.count(spec.exit_unit)) continue;
    FTC_ASSIGN_OR_RETURN(LearnedExit e, LearnedExit::Load(spec.exit_unit));
    if (run->classes > 0 && e.num_classes() != run->classes) {
      return Status(StatusCode::kCorruptData,
                    e.path() + ": gives " + std::to_string(e.num_classes()) +
                        " classes, but the tail has " + std::to_string(run->classes));
    }
    run->exit_models.emplace(spec.exit_unit, std::move(e));
  }
  return Status::Ok();
}

// Frames decoded together by `decode_batch` for the server-time column.
constexpr int64_t kServerBatch = 64;

// The server's time per sample (decode + tail, µs) for a learned setting, on kServerBatch frames
// of the first samples (repeated when there are fewer): one decode and one tail run per frame,
// then one decode_batch of all of them and one tail run. Each way runs once unmeasured first.
Result<std::pair<double, double>> MeasureServerTime(const TensorView& features,
                                                    const SettingSpec& spec,
                                                    const FeatureClassifier& classify) {
  const int64_t have = std::min<int64_t>(features.shape[0], kServerBatch);
  EncoderOptions eo = spec.options;
  eo.threads = 1;
  DecoderOptions d;
  d.unit = spec.options.unit;
  d.dtype = DType::kF32;
  std::vector<Bytes> codes;
  for (int64_t i = 0; i < have; ++i) {
    FTC_ASSIGN_OR_RETURN(Bytes b, encode(BatchRows(features, i, 1), eo));
    codes.push_back(std::move(b));
  }
  std::vector<StreamRef> refs;
  for (int64_t i = 0; i < kServerBatch; ++i) {
    const Bytes& b = codes[static_cast<size_t>(i % have)];
    refs.push_back(StreamRef{b.data(), b.size()});
  }
  Shape one = features.shape_vector();
  one[0] = 1;
  auto run_one = [&](int64_t i) -> Status {
    FTC_ASSIGN_OR_RETURN(Tensor back, decode(codes[static_cast<size_t>(i % have)], d));
    const TensorView v = TensorView::Contiguous(back.data(), DType::kF32, one);
    return classify(v).status();
  };
  Shape batch = features.shape_vector();
  batch[0] = kServerBatch;
  FTC_ASSIGN_OR_RETURN(Tensor out, Tensor::Create(DType::kF32, batch));
  auto run_batch = [&]() -> Status {
    FTC_ASSIGN_OR_RETURN(std::vector<Status> st, decode_batch(refs, &out, d));
    for (const Status& x : st) FTC_RETURN_IF_ERROR(x);
    return classify(out.view()).status();
  };
  FTC_RETURN_IF_ERROR(run_one(0));
  Clock::time_point t0 = Clock::now();
  for (int64_t i = 0; i < kServerBatch; ++i) FTC_RETURN_IF_ERROR(run_one(i));
  const double b1 = 1e6 * Since(t0) / kServerBatch;
  FTC_RETURN_IF_ERROR(run_batch());
  t0 = Clock::now();
  FTC_RETURN_IF_ERROR(run_batch());
  const double b64 = 1e6 * Since(t0) / kServerBatch;
  return std::make_pair(b1, b64);
}

// The tail a setting is measured with: the model's, or (a learned unit's fine-tuned tail
// replaces the model's) the unit's, loaded once.
Result<FeatureClassifier> SettingClassifier(const SettingSpec& spec, const SplitModel& model,
                                            std::map<std::string, SplitModel>* other_tails) {
  if (spec.tail.empty()) {
    return FeatureClassifier([&model](const TensorView& f) { return model.Classify(f); });
  }
  auto it = other_tails->find(spec.tail);
  if (it == other_tails->end()) {
    SplitModelOptions to;
    to.threads = -1;
    FTC_ASSIGN_OR_RETURN(SplitModel t, SplitModel::LoadTail(spec.tail, to));
    it = other_tails->emplace(spec.tail, std::move(t)).first;
  }
  const SplitModel* other = &it->second;
  return FeatureClassifier([other](const TensorView& f) { return other->Classify(f); });
}

// One chunk's features through every setting of the sweep that has not failed yet.
Status EvaluateSweepChunk(const Tensor& features, const std::vector<int>& labels, int64_t first,
                          const SplitModel& model, RateRun* run, Progress* progress) {
  const int64_t count = static_cast<int64_t>(labels.size());
  for (size_t k = 0; k < run->sweep.size(); ++k) {
    const SettingSpec& spec = run->sweep[k];
    if (!run->failed[k].empty()) continue;
    FTC_ASSIGN_OR_RETURN(FeatureClassifier classify,
                         SettingClassifier(spec, model, &run->other_tails));
    Result<SettingTally> t = EvaluateSetting(features.view(), labels, classify, spec.options);
    if (!t.ok()) {
      // The reference row must work; another codec's failure is reported, not fatal.
      if (k == 0) return t.status().WithContext(spec.series + " " + spec.setting);
      run->failed[k] =
          spec.series + " " + spec.setting + " failed and is left out: " + t.status().ToString();
      progress->Done();
      std::fprintf(stderr, "ftcodec bench: warning: %s\n", run->failed[k].c_str());
      continue;
    }
    if (!spec.exit_unit.empty()) {
      // The device's answers (reduce + exit on the features) next to the server's.
      FTC_ASSIGN_OR_RETURN(ExitAnswers a, run->exit_models.at(spec.exit_unit).Run(features.view()));
      ExitTrace& e = run->exits[k];
      e.device_class.insert(e.device_class.end(), a.classes.begin(), a.classes.end());
      e.confidence.insert(e.confidence.end(), a.confidence.begin(), a.confidence.end());
      e.server_class.insert(e.server_class.end(), t->predictions.begin(), t->predictions.end());
      e.bytes.insert(e.bytes.end(), t->sample_bytes.begin(), t->sample_bytes.end());
      e.labels.insert(e.labels.end(), labels.begin(), labels.end());
    }
    if (first == 0 && spec.options.codec == "learned") {
      Result<std::pair<double, double>> us = MeasureServerTime(features.view(), spec, classify);
      if (!us.ok()) return us.status().WithContext(SettingLabel(spec) + ": server time");
      run->server_us[k] = *us;
    }
    t->predictions.clear();
    t->sample_bytes.clear();
    run->tallies[k].Merge(*t);
    if (k == 0 && first == 0 && count >= kChanceCheckSamples) {
      // Inputs on the wrong scale give near-chance accuracy: stop before the long sweep.
      FTC_RETURN_IF_ERROR(
          CheckAboveChance(100.0 * static_cast<double>(t->correct) / static_cast<double>(count),
                           run->classes, run->input_scale, count));
    }
    progress->Add(static_cast<double>(count), spec.series + " " + spec.setting);
  }
  return Status::Ok();
}

// One chunk of samples: the head (or the given features), the cloud-only anchors on the input
// images, then every setting of the sweep.
Status AddRateChunk(const Samples& samples, const SplitModel& model, bool features_mode,
                    int64_t first, int64_t count, RateRun* run, BenchReport* report,
                    Progress* progress) {
  const std::vector<int> labels = samples.ChunkLabels(first, count);
  FTC_ASSIGN_OR_RETURN(Tensor features, ChunkFeatures(samples, model, features_mode, first, count));
  if (!features_mode) {
    // Cloud-only anchors (8-bit grayscale images only): code each input image on its own.
    const TensorView imgs = BatchRows(samples.inputs.view(), first, count);
    for (CloudAnchor& a : run->cloud) {
      FTC_RETURN_IF_ERROR(AddCloudChunk(imgs, labels, model, &a));
      progress->Add(static_cast<double>(count), "cloud-only " + a.spec.setting);
    }
  }
  progress->Add(static_cast<double>(count), "head");
  if (report->feature_shape.empty()) {
    report->feature_shape.assign(features.shape().begin() + 1, features.shape().end());
    report->elements_per_sample = features.num_elements() / count;
  }
  return EvaluateSweepChunk(features, labels, first, model, run, progress);
}

// The report's rows: every setting that did not fail (a note says why one did), then the
// cloud-only anchors.
void FinishRateReport(int64_t n, RateRun* run, BenchReport* report) {
  // Row 0 is the uncompressed f32 anchor: the reference accuracy (lossless, so it is the full
  // model's accuracy on the original input).
  const SettingTally& reference = run->tallies[0];
  report->reference_top1 = 100.0 * static_cast<double>(reference.correct) / static_cast<double>(n);
  for (size_t k = 0; k < run->sweep.size(); ++k) {
    if (!run->failed[k].empty()) {
      report->notes.push_back(run->failed[k]);
      continue;
    }
    SettingMetrics m =
        Finish(run->sweep[k], run->tallies[k], report->elements_per_sample, report->reference_top1);
    auto us = run->server_us.find(k);
    if (us != run->server_us.end()) {
      m.server_us_b1 = us->second.first;
      m.server_us_b64 = us->second.second;
    }
    report->rows.push_back(m);
    // The early-exit rows right after their always-send row.
    auto e = run->exits.find(k);
    if (e != run->exits.end()) {
      for (const SettingMetrics& x :
           ExitRows(run->sweep[k], e->second, run->exit_thresholds, report->elements_per_sample,
                    report->reference_top1)) {
        report->rows.push_back(x);
      }
    }
  }
  for (CloudAnchor& a : run->cloud) {
    if (a.spec.setting == "png") a.tally.correct = reference.correct;  // lossless input
    SettingMetrics m = Finish(a.spec, a.tally, report->elements_per_sample, report->reference_top1);
    m.rmse = -1;
    report->rows.push_back(m);
  }
}

// Writes <out>/rate_accuracy.{csv,json,gp,png,svg}; the table and the summary go to stderr.
Status WriteRateOutputs(const BenchConfig& c, int64_t n, BenchReport* report) {
  FTC_RETURN_IF_ERROR(MakeDirs(c.out_dir));
  const std::string stem = c.out_dir + "/rate_accuracy";
  FTC_RETURN_IF_ERROR(WriteFileAtomically(stem + ".csv", FormatCsv(*report)));
  Result<bool> plotted = WritePlot(*report, stem);
  if (!plotted.ok()) {
    report->notes.push_back(plotted.status().message());
  } else if (!*plotted) {
    report->notes.push_back(
        "gnuplot is not installed (Debian: gnuplot-nox): no plot made; the "
        "script is " +
        stem + ".gp");
  }
  FTC_RETURN_IF_ERROR(WriteFileAtomically(stem + ".json", FormatJson(*report)));

  std::fprintf(stderr, "\n%s\n", FormatTable(*report).c_str());
  for (const std::string& line : SummaryLines(*report)) std::fprintf(stderr, "%s\n", line.c_str());
  if (!plotted.ok() || !*plotted) {
    std::fprintf(stderr, "ftcodec bench: warning: %s\n", report->notes.back().c_str());
  }
  std::fprintf(stderr, "ftcodec bench: %lld samples in %s; wrote %s.csv, %s.json",
               static_cast<long long>(n), FormatDuration(report->seconds).c_str(), stem.c_str(),
               stem.c_str());
  if (plotted.ok() && *plotted) {
    std::fprintf(stderr, ", %s.png, %s.svg", stem.c_str(), stem.c_str());
  }
  std::fprintf(stderr, "\n");
  return Status::Ok();
}

}  // namespace

Result<ModelFiles> FindBundledModel(const std::string& name_split) {
  std::string name = name_split, split = "s1";
  const size_t colon = name_split.find(':');
  if (colon != std::string::npos) {
    name = name_split.substr(0, colon);
    split = name_split.substr(colon + 1);
  }
  if (name.empty() || split.empty() || name.find('/') != std::string::npos) {
    return Status(StatusCode::kInvalidArgument,
                  "--model wants NAME:SPLIT, e.g. fmnist_resnet:s1 (got '" + name_split + "')");
  }
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("FTC_MODEL_DIR")) dirs.push_back(env);
#ifdef FTC_SOURCE_DIR
  dirs.push_back(std::string(FTC_SOURCE_DIR) + "/data/models");
#endif
  const std::string exe = ExeDir();
  dirs.push_back(exe + "/../data/models");
  dirs.push_back(exe + "/../share/ftcodec/models");
  dirs.push_back("data/models");
  const std::string stem = name + "_" + split;
  std::string tried;
  for (const std::string& d : dirs) {
    ModelFiles m{d + "/" + stem + "_head.pt", d + "/" + stem + "_tail.pt", name + ":" + split};
    if (IsFile(m.head) && IsFile(m.tail)) {
      const std::string meta = d + "/" + name + ".json";
      if (IsFile(meta)) {
        std::ifstream in(meta);
        nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded() || !j.is_object()) {
          return Status(StatusCode::kCorruptData, meta + ": not valid JSON");
        }
        if (j.contains("input_scale")) {
          if (!j["input_scale"].is_number() || !(j["input_scale"].get<double>() > 0)) {
            return Status(StatusCode::kCorruptData, meta + ": input_scale must be a number > 0");
          }
          m.input_scale = j["input_scale"].get<double>();
        }
      }
      return m;
    }
    tried += "\n  " + d;
  }
  return Status(StatusCode::kIoError, "bundled model '" + name + ":" + split + "' not found (" +
                                          stem + "_head.pt / _tail.pt) in:" + tried);
}

Result<SettingSpec> ProfileSetting(const std::string& path, const std::string& head,
                                   const std::string& tail, std::vector<std::string>* notes) {
  FTC_ASSIGN_OR_RETURN(Profile p, LoadProfile(path));
  for (const auto& [file, want] : {std::pair{head, p.head_hash}, std::pair{tail, p.tail_hash}}) {
    if (file.empty() || want.empty()) continue;
    FTC_ASSIGN_OR_RETURN(std::string have, FileHash(file));
    if (have != want) {
      notes->push_back("profile " + path + " was made for another model (" + file +
                       " differs from the file it was tuned with)");
    }
  }
  SettingSpec spec;
  spec.codec = "profile";  // its own family in the summary, beside the plain sweep's best
  spec.series = "profile";
  spec.setting = std::filesystem::path(path).stem().string();
  ApplyProfile(p, &spec.options);
  return spec;
}

Result<std::string> FileHash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kIoError, "cannot open '" + path + "'");
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  std::vector<char> buf(1 << 16);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
    XXH3_128bits_update(st, buf.data(), static_cast<size_t>(in.gcount()));
  }
  const XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  if (in.bad()) return Status(StatusCode::kIoError, "cannot read '" + path + "'");
  return StrFormat("%016llx%016llx", static_cast<unsigned long long>(h.high64),
                   static_cast<unsigned long long>(h.low64));
}

std::vector<std::string> FindBundledUnits(const ModelFiles& model) {
  namespace fs = std::filesystem;
  std::string stem = model.name;
  std::replace(stem.begin(), stem.end(), ':', '_');
  const fs::path units = fs::path(model.head).parent_path().parent_path() / "units";
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(units, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory(ec) && name.rfind(stem + "_", 0) == 0) out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// --save-features DIR: the head's features of every sample and the labels, as .npy files.
Status SaveFeatures(const BenchConfig& c, const Samples& samples, const SplitModel& model,
                    bool features_mode) {
  const int64_t n = samples.count();
  Tensor all;
  for (int64_t first = 0; first < n; first += c.chunk) {
    const int64_t count = std::min<int64_t>(c.chunk, n - first);
    FTC_ASSIGN_OR_RETURN(Tensor f, ChunkFeatures(samples, model, features_mode, first, count));
    if (f.dtype() != DType::kF32) f = f.ConvertTo(DType::kF32);
    if (first == 0) {
      Shape shape = f.shape();
      shape[0] = n;
      FTC_ASSIGN_OR_RETURN(all, Tensor::Create(DType::kF32, shape));
    }
    std::memcpy(all.data() + static_cast<size_t>(first) * (f.size_bytes() / count), f.data(),
                f.size_bytes());
  }
  // Labels as u8 when they fit (class indices), else as whole f32 values.
  const bool small = std::all_of(samples.labels.begin(), samples.labels.end(),
                                 [](int l) { return l >= 0 && l < 256; });
  std::vector<uint8_t> u8(samples.labels.begin(), samples.labels.end());
  std::vector<float> f32(samples.labels.begin(), samples.labels.end());
  std::error_code ec;
  std::filesystem::create_directories(c.save_features, ec);
  FTC_ASSIGN_OR_RETURN(Bytes fnpy, WriteNpy(all.view()));
  FTC_ASSIGN_OR_RETURN(Bytes lnpy,
                       WriteNpy(small ? TensorView::Contiguous(u8.data(), DType::kU8, {n})
                                      : TensorView::Contiguous(f32.data(), DType::kF32, {n})));
  FTC_RETURN_IF_ERROR(WriteFileAtomically(c.save_features + "/features.npy",
                                          std::string(fnpy.begin(), fnpy.end())));
  FTC_RETURN_IF_ERROR(
      WriteFileAtomically(c.save_features + "/labels.npy", std::string(lnpy.begin(), lnpy.end())));
  std::fprintf(stderr, "ftcodec bench: wrote %s/features.npy (%s) and labels.npy\n",
               c.save_features.c_str(), ShapeToString(all.shape()).c_str());
  return Status::Ok();
}

Status RunBench(const BenchConfig& c) {
  const Clock::time_point start = Clock::now();
  const bool features_mode = !c.features.empty();
  if (features_mode != !c.labels.empty()) {
    return Status(StatusCode::kInvalidArgument, "--features and --labels go together");
  }
  if (c.chunk < 1) return Status(StatusCode::kInvalidArgument, "chunk size must be >= 1");
  BenchReport report;
  report.command = c.command;
  FTC_ASSIGN_OR_RETURN(BenchModel m, ResolveModel(c, features_mode));
  report.model = m.name;

  // The samples (before the model: a missing data set is the more common mistake).
  FTC_ASSIGN_OR_RETURN(Samples samples, LoadSamples(c));
  const int64_t n = samples.count();
  if (n == 0) return Status(StatusCode::kInvalidArgument, "no samples");
  FTC_ASSIGN_OR_RETURN(SplitModel model, LoadBenchModel(c, m, samples, features_mode));
  report.head_path = m.head;
  report.tail_path = m.tail;
  report.torch_threads = c.threads > 0 ? c.threads : DefaultTorchThreads();
  report.data = samples.description;
  report.samples = n;
  FTC_RETURN_IF_ERROR(CheckTailClasses(samples, model, features_mode));
  if (!c.save_features.empty()) return SaveFeatures(c, samples, model, features_mode);
  if (!c.loss.empty()) {
    return RunLossBench(c, samples, model, features_mode, report.model, start);
  }

  RateRun run;
  FTC_ASSIGN_OR_RETURN(run.sweep, BenchSweep(c, m, &report.notes));
  run.tallies.resize(run.sweep.size());
  run.failed.resize(run.sweep.size());
  run.cloud = CloudAnchors(samples, features_mode, &report.notes);
  run.classes = static_cast<int>(model.num_classes());
  run.input_scale = m.input_scale;
  run.exit_thresholds = c.sweep.exit_thresholds;
  FTC_RETURN_IF_ERROR(LoadExits(&run));
  for (const std::string& note : report.notes) {
    std::fprintf(stderr, "ftcodec bench: note: %s\n", note.c_str());
  }

  const double per_chunk_units = static_cast<double>(run.sweep.size()) + 1.0 + run.cloud.size();
  Progress progress(per_chunk_units * static_cast<double>(n), c.progress);
  std::fprintf(stderr,
               "ftcodec bench: %s on %s; %zu settings + %zu cloud-only anchors, "
               "%d torch threads\n",
               report.model.c_str(), samples.description.c_str(), run.sweep.size(),
               run.cloud.size(), report.torch_threads);
  for (int64_t first = 0; first < n; first += c.chunk) {
    const int64_t count = std::min<int64_t>(c.chunk, n - first);
    FTC_RETURN_IF_ERROR(
        AddRateChunk(samples, model, features_mode, first, count, &run, &report, &progress));
  }
  progress.Done();
  FinishRateReport(n, &run, &report);
  report.seconds = Since(start);
  return WriteRateOutputs(c, n, &report);
}

}  // namespace ftc::bench

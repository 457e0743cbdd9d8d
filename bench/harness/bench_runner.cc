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

// Cloud-only anchor state: the input image as PNG / JPEG.
struct CloudAnchor {
  SettingSpec spec;
  SettingTally tally;
};

// `--loss`: accuracy under packet loss for every loss setting × concealment method, at the main
// packet size and (contrast) an MTU-sized one; writes <out>/loss.{csv,json,gp,png,svg}.
Status RunLossBench(const BenchConfig& c, const Samples& samples, SplitModel& model,
                    bool features_mode, const std::string& model_name, Clock::time_point start) {
  std::vector<ConcealMethod> methods;
  std::vector<std::string> names = c.conceal.empty() ? ConcealMethodNames() : c.conceal;
  for (const std::string& name : names) {
    Result<ConcealMethod> m = ParseConcealMethod(name);
    if (!m.ok()) return m.status().WithContext("--conceal");
    methods.push_back(*m);
  }
  if (c.loss_seeds < 1) return Status(StatusCode::kInvalidArgument, "--loss-seeds must be >= 1");
  std::vector<int> sizes = {c.packet_size};
  if (c.mtu_packet_size > 0 && c.mtu_packet_size != c.packet_size) {
    sizes.push_back(c.mtu_packet_size);
  }
  PacketOptions base_popts;
  base_popts.interleave = true;
  for (int size : sizes) {
    PacketOptions p = base_popts;
    p.packet_size = size;
    FTC_RETURN_IF_ERROR(p.Validate().WithContext("--packet-size"));
  }
  const int64_t n = samples.count();
  LossReport report;
  report.model = model_name;
  report.data = samples.description;
  report.command = c.command;
  report.samples = n;
  report.main_packet_size = c.packet_size;
  SettingSpec codec_spec{c.loss_codec.codec, "", "", c.loss_codec, false, false, {}};
  if (c.loss_codec.codec == "ans") {
    codec_spec.series =
        "ans " + c.loss_codec.clip.ToString() + (c.loss_codec.per_channel ? " per-channel" : "");
    codec_spec.setting = "b" + std::to_string(c.loss_codec.bits);
  } else {
    codec_spec.series = c.loss_codec.codec;
  }
  report.codec = SettingLabel(codec_spec);

  const FeatureClassifier classify = [&](const TensorView& f) { return model.Classify(f); };
  // Tallies: [size][loss][method]; loss-free per size; the f32 reference.
  const size_t nl = c.loss.size(), nm = methods.size();
  std::vector<LossTally> tallies(sizes.size() * nl * nm);
  std::vector<LossTally> lossfree(sizes.size());
  int64_t ref_correct = 0;
  LossSetting none;
  none.kind = "iid";
  none.label = "none";
  Progress progress(static_cast<double>(n) * static_cast<double>(sizes.size()) *
                        (1.0 + static_cast<double>(nl * nm * c.loss_seeds)),
                    c.progress);
  std::fprintf(stderr,
               "ftcodec bench: packet loss on %s, %s; %zu loss settings x %zu methods x %d "
               "seeds, packets of %d bytes (+%zu contrast size)\n",
               model_name.c_str(), samples.description.c_str(), nl, nm, c.loss_seeds, c.packet_size,
               sizes.size() - 1);
  for (int64_t first = 0; first < n; first += c.chunk) {
    const int64_t count = std::min<int64_t>(c.chunk, n - first);
    const std::vector<int> labels(samples.labels.begin() + first,
                                  samples.labels.begin() + first + count);
    Tensor features;
    if (features_mode) {
      FTC_ASSIGN_OR_RETURN(features,
                           Tensor::CopyOf(BatchRows(samples.features.view(), first, count)));
    } else {
      FTC_ASSIGN_OR_RETURN(features, model.Head(BatchRows(samples.inputs.view(), first, count)));
    }
    FTC_ASSIGN_OR_RETURN(std::vector<int> ref, model.Classify(features.view()));
    for (int64_t i = 0; i < count; ++i) ref_correct += ref[i] == labels[i] ? 1 : 0;
    for (size_t si = 0; si < sizes.size(); ++si) {
      PacketOptions popts = base_popts;
      popts.packet_size = sizes[si];
      FTC_ASSIGN_OR_RETURN(PacketizedBatch batch,
                           PacketizeBatch(features.view(), c.loss_codec, popts));
      FTC_ASSIGN_OR_RETURN(LossTally lf, EvaluateLoss(batch, labels, classify, none,
                                                      ConcealMethod::kZero, 1, first));
      lossfree[si].Merge(lf);
      progress.Add(static_cast<double>(count), "loss-free");
      for (size_t li = 0; li < nl; ++li) {
        for (size_t mi = 0; mi < nm; ++mi) {
          Result<LossTally> t =
              EvaluateLoss(batch, labels, classify, c.loss[li], methods[mi], c.loss_seeds, first);
          if (!t.ok()) {
            return t.status().WithContext(c.loss[li].label + " " + ConcealMethodName(methods[mi]));
          }
          tallies[(si * nl + li) * nm + mi].Merge(*t);
          progress.Add(static_cast<double>(count * c.loss_seeds),
                       c.loss[li].label + " " + ConcealMethodName(methods[mi]));
        }
      }
    }
  }
  progress.Done();
  report.reference_top1 = 100.0 * static_cast<double>(ref_correct) / static_cast<double>(n);
  for (size_t si = 0; si < sizes.size(); ++si) {
    const double lf_top1 =
        100.0 * static_cast<double>(lossfree[si].correct) / static_cast<double>(n);
    report.lossfree_top1.emplace_back(sizes[si], lf_top1);
    for (size_t li = 0; li < nl; ++li) {
      for (size_t mi = 0; mi < nm; ++mi) {
        report.rows.push_back(FinishLossRow(c.loss[li], sizes[si], ConcealMethodName(methods[mi]),
                                            c.loss_seeds, tallies[(si * nl + li) * nm + mi],
                                            lf_top1));
      }
    }
  }

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

Status RunBench(const BenchConfig& c) {
  const Clock::time_point start = Clock::now();
  const bool features_mode = !c.features.empty();
  if (features_mode != !c.labels.empty()) {
    return Status(StatusCode::kInvalidArgument, "--features and --labels go together");
  }
  if (c.chunk < 1) return Status(StatusCode::kInvalidArgument, "chunk size must be >= 1");
  BenchReport report;
  report.command = c.command;

  // The model.
  std::string head = c.head, tail = c.tail;
  std::vector<std::string> bundled_units;
  double input_scale = c.input_scale > 0 ? c.input_scale : 1.0;
  report.model = c.model;
  if (!c.model.empty()) {
    if (!c.head.empty() || !c.tail.empty()) {
      return Status(StatusCode::kInvalidArgument, "give --model or --head/--tail, not both");
    }
    FTC_ASSIGN_OR_RETURN(ModelFiles m, FindBundledModel(c.model));
    head = m.head;
    tail = m.tail;
    report.model = m.name;
    if (!(c.input_scale > 0)) input_scale = m.input_scale;
    if (c.sweep.units.empty()) bundled_units = FindBundledUnits(m);
  }
  if (tail.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "no model: give --model NAME:SPLIT or --tail "
                  "(and --head unless --features is given)");
  }
  if (!features_mode && head.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "--head is needed to compute features from --data (or give --features)");
  }
  if (report.model.empty()) {
    report.model = features_mode ? tail : head + " + " + tail;
  }
  if (features_mode) head.clear();  // the features are given: the head is not run

  // The samples (before the model: a missing data set is the more common mistake).
  FTC_ASSIGN_OR_RETURN(Samples samples, LoadSamples(c));
  const int64_t n = samples.count();
  if (n == 0) return Status(StatusCode::kInvalidArgument, "no samples");

  SplitModelOptions mo;
  mo.threads = c.threads;
  mo.input_scale = input_scale;
  if (!features_mode) {
    const Shape& s = samples.inputs.shape();
    mo.probe_input_shape = s;
    mo.probe_input_shape[0] = 1;
  }
  FTC_ASSIGN_OR_RETURN(SplitModel model, features_mode ? SplitModel::LoadTail(tail, mo)
                                                       : SplitModel::Load(head, tail, mo));
  report.head_path = head;
  report.tail_path = tail;
  report.torch_threads = c.threads > 0 ? c.threads : DefaultTorchThreads();
  report.data = samples.description;
  report.samples = n;
  // The labels must be classes of the tail (a label beyond its logits would only count as
  // wrong): the tail's class count is known from the probe, or from a run on one sample.
  if (model.num_classes() == 0) {
    const TensorView first = features_mode ? BatchRows(samples.features.view(), 0, 1)
                                           : BatchRows(samples.inputs.view(), 0, 1);
    FTC_ASSIGN_OR_RETURN(Tensor f, features_mode ? Tensor::CopyOf(first) : model.Head(first));
    FTC_RETURN_IF_ERROR(model.Classify(f.view()).status());
  }
  const int classes = static_cast<int>(model.num_classes());
  FTC_RETURN_IF_ERROR(CheckClassLabels(samples.labels, classes).WithContext(samples.labels_path));
  if (!c.loss.empty()) {
    return RunLossBench(c, samples, model, features_mode, report.model, start);
  }

  SweepConfig sweep_config = c.sweep;
  if (sweep_config.units.empty()) sweep_config.units = bundled_units;
  FTC_ASSIGN_OR_RETURN(std::vector<SettingSpec> sweep, BuildSweep(sweep_config, &report.notes));
  for (const std::string& path : c.profiles) {
    FTC_ASSIGN_OR_RETURN(SettingSpec spec, ProfileSetting(path, head, tail, &report.notes));
    sweep.push_back(std::move(spec));
  }
  std::vector<SettingTally> tallies(sweep.size());
  std::vector<std::string> failed(sweep.size());  // why a setting was left out

  std::vector<CloudAnchor> cloud;
  if (!features_mode && samples.gray_images) {
    cloud.push_back({SettingSpec{"cloud-only", "cloud-only", "png", {}, true, true, {}}, {}});
    if (HaveJpegAnchor()) {
      cloud.push_back(
          {SettingSpec{"cloud-only", "cloud-only", "jpeg-q90", {}, true, true, {}}, {}});
    } else {
      report.notes.push_back("cloud-only JPEG anchor skipped: built without libjpeg-turbo");
    }
  } else if (features_mode) {
    report.notes.push_back("cloud-only anchors skipped: --features gives no input images");
  } else {
    report.notes.push_back("cloud-only anchors skipped: the inputs are " +
                           std::string(DTypeName(samples.inputs.dtype())) + " " +
                           ShapeToString(samples.inputs.shape()) +
                           ", not 8-bit grayscale images (uint8 N×1×H×W)");
  }
  for (const std::string& note : report.notes) {
    std::fprintf(stderr, "ftcodec bench: note: %s\n", note.c_str());
  }

  const FeatureClassifier classify = [&](const TensorView& f) { return model.Classify(f); };
  std::map<std::string, SplitModel> other_tails;  // fine-tuned tails of learned units
  const double per_chunk_units = static_cast<double>(sweep.size()) + 1.0 + cloud.size();
  Progress progress(per_chunk_units * static_cast<double>(n), c.progress);
  std::fprintf(stderr,
               "ftcodec bench: %s on %s; %zu settings + %zu cloud-only anchors, "
               "%d torch threads\n",
               report.model.c_str(), samples.description.c_str(), sweep.size(), cloud.size(),
               report.torch_threads);

  for (int64_t first = 0; first < n; first += c.chunk) {
    const int64_t count = std::min<int64_t>(c.chunk, n - first);
    const std::vector<int> labels(samples.labels.begin() + first,
                                  samples.labels.begin() + first + count);
    Tensor features;
    if (features_mode) {
      FTC_ASSIGN_OR_RETURN(features,
                           Tensor::CopyOf(BatchRows(samples.features.view(), first, count)));
    } else {
      const TensorView imgs = BatchRows(samples.inputs.view(), first, count);
      FTC_ASSIGN_OR_RETURN(features, model.Head(imgs));
      // Cloud-only anchors (8-bit grayscale images only): code each input image on its own.
      const int64_t h = cloud.empty() ? 0 : imgs.shape[2], w = cloud.empty() ? 0 : imgs.shape[3];
      for (CloudAnchor& a : cloud) {
        const bool jpeg = a.spec.setting == "jpeg-q90";
        FTC_ASSIGN_OR_RETURN(Tensor decoded, Tensor::Create(DType::kU8, imgs.shape_vector()));
        for (int64_t i = 0; i < count; ++i) {
          const uint8_t* px = static_cast<const uint8_t*>(imgs.data) + i * h * w;
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
          std::memcpy(decoded.data() + i * h * w, back->pixels.data(), static_cast<size_t>(h * w));
          a.tally.bytes += code->size();
          a.tally.encode_seconds += std::chrono::duration<double>(t1 - t0).count();
          a.tally.decode_seconds += std::chrono::duration<double>(t2 - t1).count();
        }
        a.tally.samples += count;
        if (jpeg) {
          // The server runs the whole model on the decoded (lossy) image.
          FTC_ASSIGN_OR_RETURN(Tensor f, model.Head(decoded.view()));
          FTC_ASSIGN_OR_RETURN(std::vector<int> pred, model.Classify(f.view()));
          for (int64_t i = 0; i < count; ++i) a.tally.correct += pred[i] == labels[i] ? 1 : 0;
        }
        progress.Add(static_cast<double>(count), "cloud-only " + a.spec.setting);
      }
    }
    progress.Add(static_cast<double>(count), "head");
    if (report.feature_shape.empty()) {
      report.feature_shape.assign(features.shape().begin() + 1, features.shape().end());
      report.elements_per_sample = features.num_elements() / count;
    }
    for (size_t k = 0; k < sweep.size(); ++k) {
      const SettingSpec& spec = sweep[k];
      if (!failed[k].empty()) continue;
      FeatureClassifier spec_classify = classify;
      if (!spec.tail.empty()) {
        // A unit's fine-tuned tail replaces the model's for this setting.
        auto it = other_tails.find(spec.tail);
        if (it == other_tails.end()) {
          SplitModelOptions to;
          to.threads = -1;
          FTC_ASSIGN_OR_RETURN(SplitModel t, SplitModel::LoadTail(spec.tail, to));
          it = other_tails.emplace(spec.tail, std::move(t)).first;
        }
        const SplitModel* other = &it->second;
        spec_classify = [other](const TensorView& f) { return other->Classify(f); };
      }
      Result<SettingTally> t =
          EvaluateSetting(features.view(), labels, spec_classify, spec.options);
      if (!t.ok()) {
        // The reference row must work; another codec's failure is reported, not fatal.
        if (k == 0) return t.status().WithContext(spec.series + " " + spec.setting);
        failed[k] =
            spec.series + " " + spec.setting + " failed and is left out: " + t.status().ToString();
        progress.Done();
        std::fprintf(stderr, "ftcodec bench: warning: %s\n", failed[k].c_str());
        continue;
      }
      t->predictions.clear();
      tallies[k].Merge(*t);
      if (k == 0 && first == 0 && count >= kChanceCheckSamples) {
        // Inputs on the wrong scale give near-chance accuracy: stop before the long sweep.
        FTC_RETURN_IF_ERROR(
            CheckAboveChance(100.0 * static_cast<double>(t->correct) / static_cast<double>(count),
                             classes, input_scale, count));
      }
      progress.Add(static_cast<double>(count), spec.series + " " + spec.setting);
    }
  }
  progress.Done();

  // Row 0 is the uncompressed f32 anchor: the reference accuracy (lossless, so it is the full
  // model's accuracy on the original input).
  report.reference_top1 = 100.0 * static_cast<double>(tallies[0].correct) / static_cast<double>(n);
  for (size_t k = 0; k < sweep.size(); ++k) {
    if (!failed[k].empty()) {
      report.notes.push_back(failed[k]);
      continue;
    }
    report.rows.push_back(
        Finish(sweep[k], tallies[k], report.elements_per_sample, report.reference_top1));
  }
  for (CloudAnchor& a : cloud) {
    if (a.spec.setting == "png") a.tally.correct = tallies[0].correct;  // lossless input
    SettingMetrics m = Finish(a.spec, a.tally, report.elements_per_sample, report.reference_top1);
    m.rmse = -1;
    report.rows.push_back(m);
  }
  report.seconds = Since(start);

  // Outputs.
  FTC_RETURN_IF_ERROR(MakeDirs(c.out_dir));
  const std::string stem = c.out_dir + "/rate_accuracy";
  FTC_RETURN_IF_ERROR(WriteFileAtomically(stem + ".csv", FormatCsv(report)));
  Result<bool> plotted = WritePlot(report, stem);
  if (!plotted.ok()) {
    report.notes.push_back(plotted.status().message());
  } else if (!*plotted) {
    report.notes.push_back(
        "gnuplot is not installed (Debian: gnuplot-nox): no plot made; the "
        "script is " +
        stem + ".gp");
  }
  FTC_RETURN_IF_ERROR(WriteFileAtomically(stem + ".json", FormatJson(report)));

  std::fprintf(stderr, "\n%s\n", FormatTable(report).c_str());
  for (const std::string& line : SummaryLines(report)) std::fprintf(stderr, "%s\n", line.c_str());
  if (!plotted.ok() || !*plotted) {
    std::fprintf(stderr, "ftcodec bench: warning: %s\n", report.notes.back().c_str());
  }
  std::fprintf(stderr, "ftcodec bench: %lld samples in %s; wrote %s.csv, %s.json",
               static_cast<long long>(n), FormatDuration(report.seconds).c_str(), stem.c_str(),
               stem.c_str());
  if (plotted.ok() && *plotted) {
    std::fprintf(stderr, ", %s.png, %s.svg", stem.c_str(), stem.c_str());
  }
  std::fprintf(stderr, "\n");
  return Status::Ok();
}

}  // namespace ftc::bench

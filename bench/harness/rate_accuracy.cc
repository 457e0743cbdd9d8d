#include "bench/harness/rate_accuracy.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <utility>

#include "base/status_macros.h"
#include "bench/harness/dataset.h"
#include "ftcodec/torch.h"

namespace ftc::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct AnsVariant {
  ClipSpec clip;
  bool per_channel = false;
  double deadzone = 0;
  std::string series;  // "ans 3sigma per-channel dz0.25"
};

// CLIP[/pc][/dzD]: "3sigma", "3sigma/pc", "none/dz0.25".
Result<AnsVariant> ParseAnsVariant(const std::string& text) {
  AnsVariant v;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  Result<ClipSpec> clip = ClipSpec::Parse(parts[0]);
  if (!clip.ok()) return clip.status().WithContext("ans variant '" + text + "'");
  v.clip = *clip;
  v.series = "ans " + clip->ToString();
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p == "pc") {
      v.per_channel = true;
      v.series += " per-channel";
      continue;
    }
    char* end = nullptr;
    const double dz = p.size() > 2 && p.compare(0, 2, "dz") == 0 ? std::strtod(&p[2], &end) : -1;
    if (end == nullptr || *end != '\0' || !(dz >= 0 && dz <= 0.5)) {
      return Status(StatusCode::kInvalidArgument,
                    "ans variant '" + text + "': '" + p +
                        "' is neither 'pc' (per-channel) nor 'dzD' (dead zone D in 0..0.5)");
    }
    v.deadzone = dz;
    v.series += " " + p;
  }
  return v;
}

}  // namespace

Result<EncoderOptions> AnsSettingOptions(const std::string& variant, int bits) {
  FTC_ASSIGN_OR_RETURN(AnsVariant v, ParseAnsVariant(variant));
  EncoderOptions o;
  o.codec = "ans";
  o.bits = bits;
  o.clip = v.clip;
  o.per_channel = v.per_channel;
  o.deadzone = v.deadzone;
  FTC_RETURN_IF_ERROR(o.Validate());
  return o;
}

void SettingTally::Merge(const SettingTally& o) {
  samples += o.samples;
  correct += o.correct;
  bytes += o.bytes;
  encode_seconds += o.encode_seconds;
  decode_seconds += o.decode_seconds;
  squared_error += o.squared_error;
  elements += o.elements;
  predictions.insert(predictions.end(), o.predictions.begin(), o.predictions.end());
  sample_bytes.insert(sample_bytes.end(), o.sample_bytes.begin(), o.sample_bytes.end());
}

SettingTally ExitTally(const ExitTrace& e, double tau) {
  SettingTally t;
  const size_t n = e.labels.size();
  t.samples = static_cast<int64_t>(n);
  for (size_t i = 0; i < n; ++i) {
    const bool device = static_cast<double>(e.confidence[i]) >= tau;
    const int answer = device ? e.device_class[i] : e.server_class[i];
    t.correct += answer == e.labels[i] ? 1 : 0;
    const uint64_t b = device ? 0 : e.bytes[i];
    t.bytes += b;
    t.sample_bytes.push_back(b);
    t.predictions.push_back(answer);
  }
  return t;
}

std::vector<SettingMetrics> ExitRows(const SettingSpec& learned, const ExitTrace& trace,
                                     const std::vector<double>& thresholds,
                                     int64_t elements_per_sample, double reference_top1) {
  std::vector<SettingMetrics> rows;
  for (double tau : thresholds) {
    SettingSpec s = learned;
    s.codec = "learned-exit";
    s.series = SettingLabel(learned) + " exit";
    char name[32];
    std::snprintf(name, sizeof(name), "t%g", tau);
    s.setting = name;
    s.exit_threshold = tau;
    const SettingTally t = ExitTally(trace, tau);
    SettingMetrics m = Finish(s, t, elements_per_sample, reference_top1);
    m.enc_us = m.dec_us = -1;
    m.rmse = -1;
    int64_t device = 0;
    for (uint64_t b : t.sample_bytes) device += b == 0 ? 1 : 0;
    // A sent stream is never 0 bytes: the count of zeros is the count answered on the device.
    m.device_share = t.samples > 0 ? 100.0 * static_cast<double>(device) / t.samples : 0;
    rows.push_back(m);
  }
  return rows;
}

Result<SettingTally> EvaluateSetting(const TensorView& features, const std::vector<int>& labels,
                                     const FeatureClassifier& tail, const EncoderOptions& options) {
  FTC_RETURN_IF_ERROR(features.Validate());
  if (features.rank < 2) {
    return Status(StatusCode::kInvalidArgument, "features must have a batch dimension first");
  }
  const int64_t n = features.shape[0];
  if (static_cast<int64_t>(labels.size()) != n) {
    return Status(StatusCode::kInvalidArgument, "features hold " + std::to_string(n) +
                                                    " samples but there are " +
                                                    std::to_string(labels.size()) + " labels");
  }
  EncoderOptions opts = options;
  opts.threads = 1;
  DecoderOptions dopts;
  dopts.unit = options.unit;  // codec learned: the same unit decodes
  dopts.plan = options.plan;  // ans planned mode: the same plan decodes
  dopts.dtype = DType::kF32;
  Shape batch_shape = features.shape_vector();
  FTC_ASSIGN_OR_RETURN(Tensor decoded_batch, Tensor::Create(DType::kF32, batch_shape));
  const int64_t per_sample = features.num_elements() / n;
  std::vector<float> original(static_cast<size_t>(per_sample));

  SettingTally t;
  for (int64_t i = 0; i < n; ++i) {
    const TensorView sample = BatchRows(features, i, 1);
    const Clock::time_point t0 = Clock::now();
    Result<Bytes> code = encode(sample, opts);
    const Clock::time_point t1 = Clock::now();
    if (!code.ok()) return code.status().WithContext("sample " + std::to_string(i));
    Result<Tensor> back = decode(*code, dopts);
    const Clock::time_point t2 = Clock::now();
    if (!back.ok()) return back.status().WithContext("sample " + std::to_string(i));
    if (back->num_elements() != per_sample) {
      return Status(StatusCode::kInternal, "decoded sample has the wrong size");
    }
    t.bytes += code->size();
    t.sample_bytes.push_back(code->size());
    t.encode_seconds += Seconds(t0, t1);
    t.decode_seconds += Seconds(t1, t2);
    float* dst = decoded_batch.data_as<float>() + i * per_sample;
    std::memcpy(dst, back->data(), static_cast<size_t>(per_sample) * sizeof(float));
    GatherF32(sample, 0, per_sample, original.data());
    double se = 0;
    for (int64_t k = 0; k < per_sample; ++k) {
      const double d = static_cast<double>(dst[k]) - static_cast<double>(original[k]);
      se += d * d;
    }
    t.squared_error += se;
    t.elements += per_sample;
  }
  FTC_ASSIGN_OR_RETURN(std::vector<int> pred, tail(decoded_batch.view()));
  if (static_cast<int64_t>(pred.size()) != n) {
    return Status(StatusCode::kInvalidArgument, "the tail returned " + std::to_string(pred.size()) +
                                                    " predictions for " + std::to_string(n) +
                                                    " samples");
  }
  t.samples = n;
  for (int64_t i = 0; i < n; ++i) t.correct += pred[i] == labels[i] ? 1 : 0;
  t.predictions = std::move(pred);
  return t;
}

std::string SettingLabel(const SettingSpec& s) {
  if (s.series == "anchors" || s.cloud_only) return s.codec + " " + s.setting;
  const std::string& x = s.series;
  if (x.size() >= s.setting.size() &&
      x.compare(x.size() - s.setting.size(), std::string::npos, s.setting) == 0) {
    return x;  // "ans lossless", not "ans lossless lossless"
  }
  return x + " " + s.setting;
}

double Top1StdErr(int64_t correct, int64_t n) {
  if (n <= 0) return 0;
  const double p = static_cast<double>(correct) / static_cast<double>(n);
  return 100.0 * std::sqrt(p * (1 - p) / static_cast<double>(n));
}

SettingMetrics Finish(const SettingSpec& spec, const SettingTally& t, int64_t elements_per_sample,
                      double reference_top1) {
  SettingMetrics m;
  m.spec = spec;
  m.samples = t.samples;
  if (t.samples > 0) {
    const double n = static_cast<double>(t.samples);
    m.top1 = 100.0 * static_cast<double>(t.correct) / n;
    m.top1_stderr = Top1StdErr(t.correct, t.samples);
    m.bytes_per_sample = static_cast<double>(t.bytes) / n;
    m.enc_us = 1e6 * t.encode_seconds / n;
    m.dec_us = 1e6 * t.decode_seconds / n;
  }
  m.top1_drop = reference_top1 - m.top1;
  if (elements_per_sample > 0) {
    m.bits_per_element = 8.0 * m.bytes_per_sample / static_cast<double>(elements_per_sample);
  }
  if (m.bytes_per_sample > 0) {
    m.ratio_vs_f32 = 4.0 * static_cast<double>(elements_per_sample) / m.bytes_per_sample;
  }
  if (t.elements > 0) m.rmse = std::sqrt(t.squared_error / static_cast<double>(t.elements));
  return m;
}

namespace {

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

void Note(std::vector<std::string>* notes, const std::string& note) {
  if (notes) notes->push_back(note);
}

// Every codec --codecs names must be known (built in or not).
Status CheckKnownCodecs(const std::vector<std::string>& codecs,
                        const std::vector<std::string>& built) {
  for (const std::string& name : codecs) {
    if (!IsKnownCodec(name)) {
      std::string list;
      for (const std::string& b : built) list += (list.empty() ? "" : ", ") + b;
      return Status(StatusCode::kInvalidArgument,
                    "unknown codec '" + name + "' in --codecs (built in: " + list + ")");
    }
  }
  return Status::Ok();
}

// The anchors, always run whatever --codecs says: uncompressed f32 (row 0), then f16.
void AddAnchors(std::vector<SettingSpec>* out) {
  SettingSpec s{"raw", "anchors", "f32", {}, true, false, {}, {}, -1};
  s.options.codec = "raw";
  s.options.store_dtype = DType::kF32;
  out->push_back(s);
  s.setting = "f16";
  s.options.store_dtype = DType::kF16;
  out->push_back(s);
}

// ans: lossless (not with --quick), then a series per variant with a point per bit depth.
Status AddAnsSettings(const SweepConfig& c, std::vector<SettingSpec>* out) {
  if (!c.quick) {
    SettingSpec s{"ans", "ans lossless", "lossless", {}, false, false, {}, {}, -1};
    s.options.codec = "ans";
    s.options.lossless = true;
    out->push_back(s);
  }
  std::set<std::string> seen;
  for (const std::string& variant : c.clips) {
    FTC_ASSIGN_OR_RETURN(AnsVariant v, ParseAnsVariant(variant));
    if (!seen.insert(v.series).second) continue;
    for (int b : c.bits) {
      SettingSpec s{"ans", v.series, "b" + std::to_string(b), {}, false, false, {}, {}, -1};
      s.options.codec = "ans";
      s.options.bits = b;
      s.options.clip = v.clip;
      s.options.per_channel = v.per_channel;
      s.options.deadzone = v.deadzone;
      FTC_RETURN_IF_ERROR(
          s.options.Validate().WithContext("ans setting " + v.series + " " + s.setting));
      out->push_back(s);
    }
  }
  return Status::Ok();
}

// The clipping variants of the picture codecs, each with its series suffix ("" for none).
using PictureClips = std::vector<std::pair<std::string, ClipSpec>>;

Result<PictureClips> ParsePictureClips(const std::vector<std::string>& texts) {
  PictureClips clips;
  for (const std::string& text : texts) {
    Result<ClipSpec> spec = ClipSpec::Parse(text);
    if (!spec.ok()) return spec.status().WithContext("picture clip '" + text + "'");
    clips.emplace_back(spec->kind == ClipSpec::Kind::kNone ? "" : " " + spec->ToString(), *spec);
  }
  return clips;
}

// A picture codec: one series per clipping variant, a point per value of its knob ("q" 90,
// "qp" 32), which set(options, value) sets.
template <typename SetKnob>
void AddPictureSeries(const std::string& codec, const std::string& knob,
                      const std::vector<int>& values, const PictureClips& clips, SetKnob set,
                      std::vector<SettingSpec>* out) {
  for (const auto& [suffix, clip] : clips) {
    for (int v : values) {
      SettingSpec s{codec, codec + suffix, knob + std::to_string(v), {}, false, false, {}, {}, -1};
      s.options.codec = codec;
      s.options.clip = clip;
      set(s.options, v);
      out->push_back(s);
    }
  }
}

// hevc's QPs; with --quick only two of them (all-intra HEVC is slow on small mosaics).
std::vector<int> HevcQps(const SweepConfig& c, std::vector<std::string>* notes) {
  std::vector<int> qps = c.hevc_qps;
  if (c.quick && qps.size() > 2) {
    qps = {qps[qps.size() / 2 - 1], qps[qps.size() - 1]};
    Note(notes, "hevc: --quick runs only QP " + std::to_string(qps[0]) + " and " +
                    std::to_string(qps[1]) + " (all-intra HEVC is slow on small mosaics)");
  }
  return qps;
}

// learned: a point per unit folder, at the unit's trained inner setting (and with its
// fine-tuned tail when it ships one).
Status AddLearnedSettings(const SweepConfig& c, std::vector<std::string>* notes,
                          std::vector<SettingSpec>* out) {
  if (c.units.empty()) {
    Note(notes, "learned: no unit folders (--units DIR,...; bundled units are found for --model)");
  }
  for (const std::string& dir : c.units) {
    Result<LearnedUnitInfo> u = ProbeLearnedUnit(dir);
    if (!u.ok()) return u.status().WithContext("--units");
    const bool ans = u->inner == "ans";
    SettingSpec s{"learned", ans ? "learned" : "learned jpeg", "", {}, false, false, {}, {}, -1};
    s.setting = std::to_string(u->code_shape[0]) + "x" + std::to_string(u->code_shape[1]) + "x" +
                std::to_string(u->code_shape[2]) +
                (ans ? " b" + std::to_string(u->bits) : " q" + std::to_string(u->quality)) +
                (u->has_tail ? " +tail" : "");
    s.options.codec = "learned";
    s.options.unit = dir;
    if (u->has_tail) s.tail = dir + "/tail.pt";
    if (u->has_exit) s.exit_unit = dir;
    out->push_back(s);
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<SettingSpec>> BuildSweep(const SweepConfig& c, std::vector<std::string>* notes) {
  const std::vector<std::string> built = AvailableCodecs();
  const std::vector<std::string> codecs = c.codecs.empty() ? built : c.codecs;
  FTC_RETURN_IF_ERROR(CheckKnownCodecs(codecs, built));
  auto wanted_and_built = [&](const std::string& name) {
    return Contains(codecs, name) && Contains(built, name);
  };

  std::vector<SettingSpec> out;
  AddAnchors(&out);
  for (const std::string& name : codecs) {
    if (!Contains(built, name)) {
      Note(notes, "codec '" + name + "' is not built into this ftcodec: skipped");
    }
  }
  if (Contains(codecs, "raw") && !c.quick) {
    SettingSpec s{"raw", "raw", "bf16", {}, false, false, {}, {}, -1};
    s.options.codec = "raw";
    s.options.store_dtype = DType::kBF16;
    out.push_back(s);
  }
  if (wanted_and_built("ans")) FTC_RETURN_IF_ERROR(AddAnsSettings(c, &out));
  FTC_ASSIGN_OR_RETURN(const PictureClips picture_clips, ParsePictureClips(c.picture_clips));
  if (wanted_and_built("jpeg")) {
    const auto set_quality = [](EncoderOptions& o, int q) { o.quality = q; };
    AddPictureSeries("jpeg", "q", c.jpeg_qualities, picture_clips, set_quality, &out);
  }
  if (wanted_and_built("hevc")) {
    const auto set_qp = [](EncoderOptions& o, int qp) { o.qp = qp; };
    AddPictureSeries("hevc", "qp", HevcQps(c, notes), picture_clips, set_qp, &out);
  }
  if (wanted_and_built("learned")) FTC_RETURN_IF_ERROR(AddLearnedSettings(c, notes, &out));
  for (const std::string& name : codecs) {
    if (Contains(built, name) && name != "raw" && name != "ans" && name != "jpeg" &&
        name != "hevc" && name != "learned") {
      Note(notes, "codec '" + name + "' has no sweep in ftcodec bench yet: skipped");
    }
  }
  return out;
}

std::vector<BestSetting> BestWithin(const std::vector<SettingMetrics>& rows, double max_drop) {
  std::vector<BestSetting> out;
  for (const SettingMetrics& m : rows) {
    if (m.spec.cloud_only || m.samples == 0) continue;
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const BestSetting& b) { return b.codec == m.spec.codec; });
    if (it == out.end()) {
      out.push_back(BestSetting{m.spec.codec, max_drop, false, {}});
      it = out.end() - 1;
    }
    // Small tolerance: a drop of exactly 0.5 points must count as "within 0.5".
    if (m.top1_drop <= max_drop + 1e-9 &&
        (!it->found || m.bits_per_element < it->metrics.bits_per_element)) {
      it->found = true;
      it->metrics = m;
    }
  }
  return out;
}

}  // namespace ftc::bench

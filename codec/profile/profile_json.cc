// Profiles as JSON (docs/profiles.md): a strict reader (every field checked, unknown keys
// refused, errors name the field) and a writer whose output the reader takes back exactly.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/status_macros.h"
#include "codec/core/codec.h"
#include "ftcodec/packet.h"
#include "ftcodec/profile.h"

namespace ftc {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxProfileBytes = size_t{64} << 20;
constexpr int kMaxDepth = 16;

// Nesting depth of a JSON text (brackets outside strings): refused before parsing, so hostile
// input cannot make the parser or the destructor recurse deeply.
int NestingDepth(const std::string& text) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char ch : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (ch == '\\')
        escaped = true;
      else if (ch == '"')
        in_string = false;
      continue;
    }
    if (ch == '"')
      in_string = true;
    else if (ch == '[' || ch == '{')
      max_depth = std::max(max_depth, ++depth);
    else if (ch == ']' || ch == '}')
      --depth;
  }
  return max_depth;
}

Status FieldError(const std::string& field, const std::string& what) {
  return Status(StatusCode::kCorruptData, "profile: " + field + ": " + what);
}

// Typed getters over one JSON object; each names the field in its error.
class ObjectReader {
 public:
  ObjectReader(const Json& j, std::string path) : j_(j), path_(std::move(path)) {}

  Status CheckKeys(std::initializer_list<const char*> allowed) const {
    return CheckKeys(std::vector<std::string>(allowed.begin(), allowed.end()));
  }
  Status CheckKeys(const std::vector<std::string>& allowed) const {
    if (!j_.is_object()) return FieldError(Where(""), "expected an object");
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      bool ok = false;
      for (const std::string& a : allowed) ok = ok || it.key() == a;
      if (!ok) return FieldError(Where(it.key()), "unknown field");
    }
    return Status::Ok();
  }
  bool Has(const char* key) const { return j_.contains(key); }
  const Json& At(const char* key) const { return j_.at(key); }
  std::string Where(const std::string& key) const {
    if (key.empty()) return path_.empty() ? "(top level)" : path_;
    return path_.empty() ? key : path_ + "." + key;
  }

  Status Number(const char* key, double* out, bool required = true) const {
    if (!Has(key)) return required ? FieldError(Where(key), "missing") : Status::Ok();
    const Json& v = j_.at(key);
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      return FieldError(Where(key), "expected a finite number");
    }
    *out = v.get<double>();
    return Status::Ok();
  }
  Status Integer(const char* key, int64_t lo, int64_t hi, int64_t* out,
                 bool required = true) const {
    if (!Has(key)) return required ? FieldError(Where(key), "missing") : Status::Ok();
    const Json& v = j_.at(key);
    if (!v.is_number_integer()) return FieldError(Where(key), "expected an integer");
    const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}
                          ? INT64_MAX
                          : v.get<int64_t>();
    if (x < lo || x > hi) {
      return FieldError(Where(key),
                        StrFormat("%lld out of range %lld..%lld", static_cast<long long>(x),
                                  static_cast<long long>(lo), static_cast<long long>(hi)));
    }
    *out = x;
    return Status::Ok();
  }
  Status String(const char* key, std::string* out, bool required = true) const {
    if (!Has(key)) return required ? FieldError(Where(key), "missing") : Status::Ok();
    const Json& v = j_.at(key);
    if (!v.is_string()) return FieldError(Where(key), "expected a string");
    *out = v.get<std::string>();
    if (out->size() > 4096) return FieldError(Where(key), "longer than 4096 bytes");
    return Status::Ok();
  }
  Status Bool(const char* key, bool* out) const {
    if (!Has(key)) return Status::Ok();
    const Json& v = j_.at(key);
    if (!v.is_boolean()) return FieldError(Where(key), "expected true or false");
    *out = v.get<bool>();
    return Status::Ok();
  }

 private:
  const Json& j_;
  std::string path_;
};

// An f32 stored as a JSON number: the number must be exactly representable... or round to an f32
// that writes back the same: any finite double in the f32 range is accepted and rounded.
Status ToF32(double d, const std::string& field, float* out) {
  if (!(std::fabs(d) <= 3.4028234663852886e38)) return FieldError(field, "outside the f32 range");
  *out = static_cast<float>(d);
  return Status::Ok();
}

Status ParseChannel(const Json& j, size_t c, ChannelQuant* ch) {
  const std::string path = StrFormat("plan.channels[%zu]", c);
  ObjectReader r(j, path);
  FTC_RETURN_IF_ERROR(r.CheckKeys({"kind", "step", "offset", "clip"}));
  std::string kind;
  FTC_RETURN_IF_ERROR(r.String("kind", &kind));
  if (kind == "dropped")
    ch->kind = ChannelKind::kDropped;
  else if (kind == "nonneg")
    ch->kind = ChannelKind::kNonNegative;
  else if (kind == "signed")
    ch->kind = ChannelKind::kSigned;
  else if (kind == "nonpos")
    ch->kind = ChannelKind::kNonPositive;
  else
    return FieldError(r.Where("kind"), "expected dropped, nonneg, signed or nonpos");
  double step = 0, offset = 0;
  FTC_RETURN_IF_ERROR(r.Number("step", &step));
  FTC_RETURN_IF_ERROR(r.Number("offset", &offset));
  FTC_RETURN_IF_ERROR(ToF32(step, r.Where("step"), &ch->step));
  FTC_RETURN_IF_ERROR(ToF32(offset, r.Where("offset"), &ch->offset));
  if (r.Has("clip")) {
    const Json& clip = r.At("clip");
    if (!clip.is_array() || clip.size() != 2 || !clip[0].is_number() || !clip[1].is_number()) {
      return FieldError(r.Where("clip"), "expected [lo, hi]");
    }
    FTC_RETURN_IF_ERROR(ToF32(clip[0].get<double>(), r.Where("clip"), &ch->clip_lo));
    FTC_RETURN_IF_ERROR(ToF32(clip[1].get<double>(), r.Where("clip"), &ch->clip_hi));
  }
  return Status::Ok();
}

Result<std::shared_ptr<const QuantPlan>> ParsePlan(const Json& j) {
  ObjectReader r(j, "plan");
  FTC_RETURN_IF_ERROR(r.CheckKeys({"id", "channels"}));
  std::string id;  // optional (a hand-written plan); when present it must match the channels
  FTC_RETURN_IF_ERROR(r.String("id", &id, false));
  if (!r.Has("channels") || !r.At("channels").is_array()) {
    return FieldError("plan.channels", "expected an array");
  }
  const Json& channels = r.At("channels");
  auto plan = std::make_shared<QuantPlan>();
  plan->channels.resize(channels.size());
  for (size_t c = 0; c < channels.size(); ++c) {
    FTC_RETURN_IF_ERROR(ParseChannel(channels[c], c, &plan->channels[c]));
  }
  Status valid = plan->Validate();
  if (!valid.ok()) return Status(StatusCode::kCorruptData, "profile: " + valid.message());
  const std::string actual = PlanIdHex(plan->Id());
  if (!id.empty() && id != actual) {
    return FieldError("plan.id", "is " + id.substr(0, 32) + " but the channels hash to " + actual +
                                     " (the plan was edited or damaged)");
  }
  return std::shared_ptr<const QuantPlan>(std::move(plan));
}

Status ParseSettings(const Json& j, EncoderOptions* o) {
  ObjectReader r(j, "settings");
  FTC_RETURN_IF_ERROR(r.CheckKeys({"codec", "bits", "clip", "per_channel", "deadzone", "band_rows",
                                   "quality", "target_bytes"}));
  FTC_RETURN_IF_ERROR(r.String("codec", &o->codec));
  if (!CodecTakes(o->codec, kCodecInProfiles)) {
    return FieldError("settings.codec", "'" + o->codec.substr(0, 40) + "': expected " +
                                            CodecNamesWith(kCodecInProfiles, "or"));
  }
  int64_t v = 0;
  v = o->bits;
  FTC_RETURN_IF_ERROR(r.Integer("bits", 1, 16, &v, false));
  o->bits = static_cast<int>(v);
  v = o->band_rows;
  FTC_RETURN_IF_ERROR(r.Integer("band_rows", 0, 65535, &v, false));
  o->band_rows = static_cast<int>(v);
  v = o->quality;
  FTC_RETURN_IF_ERROR(r.Integer("quality", 1, 100, &v, false));
  o->quality = static_cast<int>(v);
  FTC_RETURN_IF_ERROR(r.Bool("per_channel", &o->per_channel));
  FTC_RETURN_IF_ERROR(r.Integer("target_bytes", 0, int64_t{1} << 40, &o->target_bytes, false));
  double dz = o->deadzone;
  FTC_RETURN_IF_ERROR(r.Number("deadzone", &dz, false));
  if (!(dz >= 0 && dz <= 0.5)) return FieldError("settings.deadzone", "out of range 0..0.5");
  o->deadzone = dz;
  if (r.Has("clip")) {
    std::string clip;
    FTC_RETURN_IF_ERROR(r.String("clip", &clip));
    Result<ClipSpec> spec = ClipSpec::Parse(clip);
    if (!spec.ok()) return FieldError("settings.clip", spec.status().message());
    o->clip = *spec;
  }
  return Status::Ok();
}

// A JSON array of finite numbers (as f32) or of channel indices, naming `field` in errors.
Status F32Array(const Json& j, const std::string& field, std::vector<float>* out) {
  if (!j.is_array()) return FieldError(field, "expected an array of numbers");
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_number() || !std::isfinite(j[i].get<double>())) {
      return FieldError(StrFormat("%s[%zu]", field.c_str(), i), "expected a finite number");
    }
    float v = 0;
    FTC_RETURN_IF_ERROR(ToF32(j[i].get<double>(), field, &v));
    out->push_back(v);
  }
  return Status::Ok();
}

Status PredictorChannel(const Json& j, size_t c, ConcealPredictor::Channel* ch) {
  ObjectReader r(j, StrFormat("conceal_predictor.channels[%zu]", c));
  FTC_RETURN_IF_ERROR(r.CheckKeys({"bias", "up", "down", "lo", "hi", "sources", "weights"}));
  const std::pair<const char*, float*> scalars[] = {
      {"bias", &ch->bias}, {"up", &ch->up}, {"down", &ch->down}, {"lo", &ch->lo}, {"hi", &ch->hi}};
  for (const auto& [key, out] : scalars) {
    double v = 0;
    FTC_RETURN_IF_ERROR(r.Number(key, &v));
    FTC_RETURN_IF_ERROR(ToF32(v, r.Where(key), out));
  }
  if (!r.Has("sources") || !r.At("sources").is_array() ||
      r.At("sources").size() > ConcealPredictor::kMaxSources) {
    return FieldError(r.Where("sources"), StrFormat("expected an array of at most %d channels",
                                                    ConcealPredictor::kMaxSources));
  }
  for (const Json& s : r.At("sources")) {
    if (!s.is_number_integer() || s.get<int64_t>() < 0 || s.get<int64_t>() >= (1 << 24)) {
      return FieldError(r.Where("sources"), "expected channel indices");
    }
    ch->sources.push_back(static_cast<int32_t>(s.get<int64_t>()));
  }
  if (!r.Has("weights")) return FieldError(r.Where("weights"), "missing");
  return F32Array(r.At("weights"), r.Where("weights"), &ch->weights);
}

Result<std::shared_ptr<const ConcealPredictor>> ParsePredictor(const Json& j) {
  ObjectReader r(j, "conceal_predictor");
  FTC_RETURN_IF_ERROR(r.CheckKeys({"channels"}));
  if (!r.Has("channels") || !r.At("channels").is_array()) {
    return FieldError("conceal_predictor.channels", "expected an array");
  }
  const Json& channels = r.At("channels");
  auto p = std::make_shared<ConcealPredictor>();
  p->channels.resize(channels.size());
  for (size_t c = 0; c < channels.size(); ++c) {
    FTC_RETURN_IF_ERROR(PredictorChannel(channels[c], c, &p->channels[c]));
  }
  Status valid = p->Validate();
  if (!valid.ok()) return Status(StatusCode::kCorruptData, "profile: " + valid.message());
  return std::shared_ptr<const ConcealPredictor>(std::move(p));
}

Status ParseCalibration(const Json& j, ProfileCalibration* c) {
  ObjectReader r(j, "calibration");
  FTC_RETURN_IF_ERROR(
      r.CheckKeys({"data", "samples", "top1_uncompressed", "top1", "bytes_per_sample",
                   "bits_per_element", "max_drop", "target_bytes"}));
  FTC_RETURN_IF_ERROR(r.String("data", &c->data, false));
  FTC_RETURN_IF_ERROR(r.Integer("samples", 0, INT64_MAX, &c->samples, false));
  FTC_RETURN_IF_ERROR(r.Number("top1_uncompressed", &c->top1_uncompressed, false));
  FTC_RETURN_IF_ERROR(r.Number("top1", &c->top1, false));
  FTC_RETURN_IF_ERROR(r.Number("bytes_per_sample", &c->bytes_per_sample, false));
  FTC_RETURN_IF_ERROR(r.Number("bits_per_element", &c->bits_per_element, false));
  FTC_RETURN_IF_ERROR(r.Number("max_drop", &c->max_drop, false));
  FTC_RETURN_IF_ERROR(r.Integer("target_bytes", 0, INT64_MAX, &c->target_bytes, false));
  return Status::Ok();
}

Status ParseShape(const Json& j, Shape* shape) {
  if (!j.is_array() || j.empty() || j.size() > 3) {
    return FieldError("sample_shape", "expected 1 to 3 dimensions, e.g. [64, 14, 14]");
  }
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_number_integer() || j[i].get<int64_t>() < 1 || j[i].get<int64_t>() > 0x7FFFFFFF) {
      return FieldError(StrFormat("sample_shape[%zu]", i), "expected an integer 1..2^31-1");
    }
    shape->push_back(j[i].get<int64_t>());
  }
  return Status::Ok();
}

Status ParseTop(const Json& j, Profile* p) {
  ObjectReader r(j, "");
  if (!j.is_object()) return FieldError("(top level)", "expected an object");
  int64_t version = 0;
  if (!r.Has("ftcodec_profile")) {
    return FieldError("ftcodec_profile", "missing (not an ftcodec profile)");
  }
  FTC_RETURN_IF_ERROR(r.Integer("ftcodec_profile", 0, INT64_MAX, &version));
  if (version < 1 || version > Profile::kVersion) {
    return Status(StatusCode::kUnsupported,
                  StrFormat("profile: ftcodec_profile: version %lld is not supported (this build "
                            "reads versions 1 to %d)",
                            static_cast<long long>(version), Profile::kVersion));
  }
  p->version = static_cast<int>(version);
  std::vector<std::string> keys = {"ftcodec_profile", "model",        "head_hash", "tail_hash",
                                   "input_scale",     "sample_shape", "settings",  "plan",
                                   "calibration",     "command"};
  if (version >= 2) keys.push_back("conceal");
  if (version >= 3) keys.push_back("conceal_predictor");
  FTC_RETURN_IF_ERROR(r.CheckKeys(keys));
  if (r.Has("conceal_predictor")) {
    FTC_ASSIGN_OR_RETURN(p->conceal_predictor, ParsePredictor(r.At("conceal_predictor")));
  }
  if (r.Has("conceal")) {
    FTC_RETURN_IF_ERROR(r.String("conceal", &p->conceal));
    Result<ConcealMethod> m = ParseConcealMethod(p->conceal);
    if (!m.ok()) return FieldError("conceal", m.status().message());
  }
  FTC_RETURN_IF_ERROR(r.String("model", &p->model, false));
  FTC_RETURN_IF_ERROR(r.String("head_hash", &p->head_hash, false));
  FTC_RETURN_IF_ERROR(r.String("tail_hash", &p->tail_hash, false));
  FTC_RETURN_IF_ERROR(r.String("command", &p->command, false));
  FTC_RETURN_IF_ERROR(r.Number("input_scale", &p->input_scale, false));
  if (!r.Has("sample_shape")) return FieldError("sample_shape", "missing");
  FTC_RETURN_IF_ERROR(ParseShape(r.At("sample_shape"), &p->sample_shape));
  if (!r.Has("settings")) return FieldError("settings", "missing");
  FTC_RETURN_IF_ERROR(ParseSettings(r.At("settings"), &p->settings));
  if (r.Has("plan") && !r.At("plan").is_null()) {
    FTC_ASSIGN_OR_RETURN(p->plan, ParsePlan(r.At("plan")));
  }
  if (r.Has("calibration"))
    FTC_RETURN_IF_ERROR(ParseCalibration(r.At("calibration"), &p->calibration));
  return p->Validate();
}

// Shortest decimal that reads back as the same f32.
Json F32Json(float v) {
  char buf[32];
  for (int digits = 6; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return Json(std::strtod(buf, nullptr));
}

Json PredictorJson(const ConcealPredictor& p) {
  Json channels = Json::array();
  for (const ConcealPredictor::Channel& ch : p.channels) {
    Json weights = Json::array();
    for (float w : ch.weights) weights.push_back(F32Json(w));
    channels.push_back(Json{{"bias", F32Json(ch.bias)},
                            {"up", F32Json(ch.up)},
                            {"down", F32Json(ch.down)},
                            {"lo", F32Json(ch.lo)},
                            {"hi", F32Json(ch.hi)},
                            {"sources", ch.sources},
                            {"weights", weights}});
  }
  return Json{{"channels", channels}};
}

}  // namespace

Status Profile::Validate() const {
  if (!(std::isfinite(input_scale) && input_scale > 0)) {
    return FieldError("input_scale", "expected a finite number > 0");
  }
  if (sample_shape.empty() || sample_shape.size() > 3) {
    return FieldError("sample_shape", "expected 1 to 3 dimensions");
  }
  // A sample no decoder would accept under the default limits (DecoderLimits): refused here, so
  // nothing downstream multiplies or allocates from an absurd shape.
  int64_t elements = 1;
  for (int64_t d : sample_shape) {
    if (d < 1 || d > DecoderLimits().max_sample_elements ||
        elements > DecoderLimits().max_sample_elements / d) {
      return FieldError("sample_shape",
                        StrFormat("more than the decoder's limit of %lld elements per sample",
                                  static_cast<long long>(DecoderLimits().max_sample_elements)));
    }
    elements *= d;
  }
  if (plan && CodecTakes(settings.codec, kCodecTakesPlan)) {
    const int64_t c = sample_shape.size() == 3 ? sample_shape[0] : 1;
    if (static_cast<int64_t>(plan->channels.size()) != c) {
      return FieldError("plan.channels",
                        StrFormat("has %zu channels but sample_shape has %lld",
                                  plan->channels.size(), static_cast<long long>(c)));
    }
  } else if (plan) {
    return FieldError("plan", "a plan needs settings.codec ans");
  }
  if (conceal_predictor) {
    const int64_t c = sample_shape.size() == 3 ? sample_shape[0] : 1;
    if (static_cast<int64_t>(conceal_predictor->channels.size()) != c) {
      return FieldError("conceal_predictor.channels",
                        StrFormat("has %zu channels but sample_shape has %lld",
                                  conceal_predictor->channels.size(), static_cast<long long>(c)));
    }
  }
  if (conceal == "altec" && !conceal_predictor) {
    return FieldError("conceal", "altec needs a conceal_predictor");
  }
  return Status::Ok();
}

Result<Profile> ParseProfile(const std::string& text) {
  if (text.size() > kMaxProfileBytes) return FTC_LIMIT("profile: larger than 64 MiB");
  if (NestingDepth(text) > kMaxDepth) {
    return FTC_CORRUPT("profile: nested more than %d levels deep", kMaxDepth);
  }
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return FTC_CORRUPT("profile: not valid JSON");
  Profile p;
  try {
    FTC_RETURN_IF_ERROR(ParseTop(j, &p));
  } catch (const std::exception& e) {  // defensive: every access above is type-checked first
    return FTC_CORRUPT("profile: %s", e.what());
  }
  return p;
}

Result<Profile> LoadProfile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kIoError, "cannot open profile '" + path + "'");
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxProfileBytes) {
      return Status(StatusCode::kLimitExceeded, "profile '" + path + "' is larger than 64 MiB");
    }
  }
  if (in.bad()) return Status(StatusCode::kIoError, "cannot read profile '" + path + "'");
  Result<Profile> p = ParseProfile(text);
  if (!p.ok()) return p.status().WithContext(path);
  return p;
}

std::string ProfileToJson(const Profile& p) {
  Json j = Json::object();
  // The oldest version that holds it.
  j["ftcodec_profile"] = p.conceal_predictor ? 3 : p.conceal.empty() ? 1 : 2;
  j["model"] = p.model;
  if (!p.head_hash.empty()) j["head_hash"] = p.head_hash;
  if (!p.tail_hash.empty()) j["tail_hash"] = p.tail_hash;
  j["input_scale"] = p.input_scale;
  j["sample_shape"] = p.sample_shape;
  Json s = Json::object();
  s["codec"] = p.settings.codec;
  s["bits"] = p.settings.bits;
  s["clip"] = p.settings.clip.ToString();
  s["per_channel"] = p.settings.per_channel;
  s["deadzone"] = p.settings.deadzone;
  s["band_rows"] = p.settings.band_rows;
  if (CodecTakes(p.settings.codec, kCodecTakesQuality)) s["quality"] = p.settings.quality;
  if (p.settings.target_bytes > 0) s["target_bytes"] = p.settings.target_bytes;
  j["settings"] = s;
  if (p.plan) {
    Json channels = Json::array();
    for (const ChannelQuant& ch : p.plan->channels) {
      Json c = Json::object();
      c["kind"] = ChannelKindName(ch.kind);
      c["step"] = F32Json(ch.step);
      c["offset"] = F32Json(ch.offset);
      if (std::isfinite(ch.clip_lo) && std::isfinite(ch.clip_hi)) {
        c["clip"] = Json::array({F32Json(ch.clip_lo), F32Json(ch.clip_hi)});
      }
      channels.push_back(c);
    }
    j["plan"] = Json{{"id", PlanIdHex(p.plan->Id())}, {"channels", channels}};
  }
  const ProfileCalibration& c = p.calibration;
  j["calibration"] = Json{{"data", c.data},
                          {"samples", c.samples},
                          {"top1_uncompressed", c.top1_uncompressed},
                          {"top1", c.top1},
                          {"bytes_per_sample", c.bytes_per_sample},
                          {"bits_per_element", c.bits_per_element},
                          {"max_drop", c.max_drop},
                          {"target_bytes", c.target_bytes}};
  if (!p.conceal.empty()) j["conceal"] = p.conceal;
  if (p.conceal_predictor) j["conceal_predictor"] = PredictorJson(*p.conceal_predictor);
  j["command"] = p.command;
  // Invalid UTF-8 in a string (a file name) is replaced, so the output is always valid JSON.
  return j.dump(1, ' ', false, Json::error_handler_t::replace) + "\n";
}

void ApplyProfile(const Profile& p, EncoderOptions* o) {
  o->codec = p.settings.codec;
  o->bits = p.settings.bits;
  o->clip = p.settings.clip;
  o->per_channel = p.settings.per_channel;
  o->deadzone = p.settings.deadzone;
  o->band_rows = p.settings.band_rows;
  o->quality = p.settings.quality;
  o->target_bytes = p.settings.target_bytes;
  o->plan = p.plan;
}

}  // namespace ftc

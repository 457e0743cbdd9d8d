// Learned bottleneck units on libtorch: loading a unit folder, its content hash, and running the
// reduction and restoration units for codec `learned` (codec/learned). Registers the loader with
// the codec table at start-up (see learned_register.cc for why that object is always linked).
#include "codec/learned/learned_unit.h"

#include <sys/stat.h>
#include <xxhash.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "base/status_macros.h"
#include "codec/torch/learned_files.h"
#include "codec/torch/torch_util.h"
#include "ftcodec/torch.h"

namespace ftc {
namespace {

using torch_internal::Forward;
using torch_internal::LoadModuleFromBytes;
using torch_internal::ReadModelFile;
using torch_internal::ShapeOf;
using torch_internal::Summarize;

std::string JoinPath(const std::string& dir, const char* name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

// The most elements a unit's feature or code shape may have: the unit is run once on a zero
// sample of its feature shape when it is loaded.
constexpr int64_t kMaxUnitSampleElements = int64_t{1} << 24;

std::string SampleShapeString(const SampleShape& s) { return ShapeToString({s.c, s.h, s.w}); }

// A list-of-3-positive-ints attribute of the reduction unit.
Result<SampleShape> ShapeAttribute(const torch::jit::Module& m, const char* name,
                                   const std::string& what) {
  if (!m.hasattr(name))
    return FTC_CORRUPT("%s: no '%s' attribute (not an ftcodec unit)", what.c_str(), name);
  c10::IValue v = m.attr(name);
  if (!v.isIntList())
    return FTC_CORRUPT("%s: attribute '%s' is not a list of ints", what.c_str(), name);
  std::vector<int64_t> d = v.toIntVector();
  if (d.size() != 3)
    return FTC_CORRUPT("%s: attribute '%s' must have 3 entries (C,H,W)", what.c_str(), name);
  for (int64_t x : d) {
    if (x < 1 || x > (int64_t{1} << 20)) {
      return FTC_CORRUPT("%s: attribute '%s' has a dimension out of range", what.c_str(), name);
    }
  }
  SampleShape s{d[0], d[1], d[2]};
  // Checked before anything of this shape is allocated or run.
  if (s.elements() > kMaxUnitSampleElements) {
    return FTC_LIMIT(
        "%s: attribute '%s' is %lldx%lldx%lld, more than the %lld elements a unit "
        "may take or give",
        what.c_str(), name, static_cast<long long>(s.c), static_cast<long long>(s.h),
        static_cast<long long>(s.w), static_cast<long long>(kMaxUnitSampleElements));
  }
  return s;
}

Result<int64_t> IntAttribute(const torch::jit::Module& m, const char* name,
                             const std::string& what) {
  if (!m.hasattr(name))
    return FTC_CORRUPT("%s: no '%s' attribute (not an ftcodec unit)", what.c_str(), name);
  c10::IValue v = m.attr(name);
  if (!v.isInt()) return FTC_CORRUPT("%s: attribute '%s' is not an int", what.c_str(), name);
  return v.toInt();
}

// True if `path` is a regular file (following symlinks), without reading it.
bool IsRegularFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

class TorchLearnedUnit final : public LearnedUnitHandle {
 public:
  // A unit folder is untrusted input: regular files of bounded size, read once (the modules are
  // loaded from the bytes that were hashed), shapes checked before anything runs; every error
  // names the file.
  static Result<std::shared_ptr<TorchLearnedUnit>> Load(const std::string& dir) {
    auto u = std::shared_ptr<TorchLearnedUnit>(new TorchLearnedUnit());
    u->dir_ = dir;
    const std::string reduce_path = JoinPath(dir, kReduceFile);
    const std::string restore_path = JoinPath(dir, kRestoreFile);
    // A folder that exists but lacks one of the two files is a broken unit (data), not an I/O
    // problem; a folder that does not exist is (ReadModelFile's kIoError).
    struct stat dst;
    if (stat(dir.c_str(), &dst) == 0 && S_ISDIR(dst.st_mode)) {
      for (const std::string* path : {&reduce_path, &restore_path}) {
        struct stat fst;
        if (lstat(path->c_str(), &fst) != 0 && errno == ENOENT) {
          return FTC_CORRUPT("%s: missing (a unit folder holds %s and %s)", path->c_str(),
                             kReduceFile, kRestoreFile);
        }
      }
    }
    FTC_ASSIGN_OR_RETURN(std::vector<uint8_t> reduce_bytes, ReadModelFile(reduce_path));
    FTC_ASSIGN_OR_RETURN(std::vector<uint8_t> restore_bytes, ReadModelFile(restore_path));
    u->hash_ = HashUnitFiles(reduce_bytes, restore_bytes);
    FTC_ASSIGN_OR_RETURN(u->reduce_, LoadModuleFromBytes(reduce_bytes, reduce_path));
    FTC_ASSIGN_OR_RETURN(u->restore_, LoadModuleFromBytes(restore_bytes, restore_path));
    const torch::jit::Module& r = u->reduce_;
    FTC_ASSIGN_OR_RETURN(int64_t version, IntAttribute(r, "ftcodec_unit", reduce_path));
    if (version != kUnitVersion) {
      return FTC_UNSUPPORTED("%s: unit version %lld; this ftcodec reads version %d",
                             reduce_path.c_str(), static_cast<long long>(version), kUnitVersion);
    }
    FTC_ASSIGN_OR_RETURN(u->split_, ShapeAttribute(r, "split_shape", reduce_path));
    FTC_ASSIGN_OR_RETURN(u->code_, ShapeAttribute(r, "code_shape", reduce_path));
    if (!r.hasattr("inner") || !r.attr("inner").isString()) {
      return FTC_CORRUPT("%s: no string attribute 'inner'", reduce_path.c_str());
    }
    u->inner_ = r.attr("inner").toStringRef();
    if (u->inner_ != "ans" && u->inner_ != "jpeg") {
      return FTC_CORRUPT("%s: inner codec '%s' (expected ans or jpeg)", reduce_path.c_str(),
                         u->inner_.c_str());
    }
    FTC_ASSIGN_OR_RETURN(int64_t bits, IntAttribute(r, "bits", reduce_path));
    FTC_ASSIGN_OR_RETURN(int64_t quality, IntAttribute(r, "quality", reduce_path));
    if (bits < 1 || bits > 16 || quality < 1 || quality > 100) {
      return FTC_CORRUPT("%s: bits %lld or quality %lld out of range", reduce_path.c_str(),
                         static_cast<long long>(bits), static_cast<long long>(quality));
    }
    u->bits_ = static_cast<int>(bits);
    u->quality_ = static_cast<int>(quality);
    // The two files must fit together: run them once on zeros. A unit that fails here is a
    // broken unit folder (bad data), whatever the reason.
    try {
      at::Tensor zeros = at::zeros({1, u->split_.c, u->split_.h, u->split_.w});
      Result<at::Tensor> code = u->RunChecked(u->reduce_, kReduceFile, zeros, u->code_);
      Status s = code.status();
      if (s.ok()) s = u->RunChecked(u->restore_, kRestoreFile, *code, u->split_).status();
      if (!s.ok()) {
        return Status(StatusCode::kCorruptData,
                      dir + ": " + kReduceFile + " and " + kRestoreFile +
                          " do not work together as a unit: " + s.message());
      }
    } catch (const std::exception& e) {
      return FTC_CORRUPT("%s: %s", dir.c_str(), Summarize(e).c_str());
    }
    u->has_tail_ = IsRegularFile(JoinPath(dir, kTailFile));
    return u;
  }

  const UnitHash& hash() const override { return hash_; }
  SampleShape split_shape() const override { return split_; }
  SampleShape code_shape() const override { return code_; }
  const std::string& inner() const override { return inner_; }
  int bits() const override { return bits_; }
  int quality() const override { return quality_; }
  const std::string& dir() const { return dir_; }
  bool has_tail() const { return has_tail_; }

  // The reduction unit on an N×C×H×W f32 batch: N×C'×H'×W' codes clamped to [0,1].
  Result<at::Tensor> ReduceBatch(const at::Tensor& x) const {
    FTC_ASSIGN_OR_RETURN(at::Tensor y, RunChecked(reduce_, kReduceFile, x, code_));
    return y.clamp(0.0, 1.0);
  }

  Status Reduce(const TensorView& sample, Tensor* code) const override {
    return Run(reduce_, kReduceFile, sample, split_, code_, true, code);
  }
  Status Restore(const TensorView& code, Tensor* features) const override {
    return Run(restore_, kRestoreFile, code, code_, split_, false, features);
  }
  // One forward() over the n codes, read in place (no copy of the input).
  Status RestoreBatch(const float* codes, int64_t n, float* features) const override {
    if (n < 1) return Status::Ok();
    try {
      const at::Tensor x = at::from_blob(const_cast<float*>(codes), {n, code_.c, code_.h, code_.w},
                                         at::TensorOptions().dtype(at::kFloat));
      FTC_ASSIGN_OR_RETURN(at::Tensor y, RunChecked(restore_, kRestoreFile, x, split_));
      std::memcpy(features, y.data_ptr<float>(),
                  static_cast<size_t>(n * split_.elements()) * sizeof(float));
    } catch (const std::exception& e) {
      return FTC_INTERNAL("%s: %s", JoinPath(dir_, kRestoreFile).c_str(), Summarize(e).c_str());
    }
    return Status::Ok();
  }

 private:
  TorchLearnedUnit() = default;

  // forward() on an N×C×H×W batch; checks the output is N×`want`.
  Result<at::Tensor> RunChecked(const torch::jit::Module& m, const char* file, const at::Tensor& x,
                                const SampleShape& want) const {
    Result<at::Tensor> y = [&] {
      std::lock_guard<std::mutex> lock(mu_);
      return Forward(m, JoinPath(dir_, file), x);
    }();
    if (!y.ok()) return y.status();
    const at::Tensor& t = *y;
    const int64_t n = x.size(0);
    if (t.dim() != 4 || t.size(0) != n || t.size(1) != want.c || t.size(2) != want.h ||
        t.size(3) != want.w) {
      return FTC_CORRUPT("%s: output is %s, expected %lld×%s", JoinPath(dir_, file).c_str(),
                         ShapeOf(t).c_str(), static_cast<long long>(n),
                         SampleShapeString(want).c_str());
    }
    return t.to(at::kFloat).contiguous();
  }

  Status Run(const torch::jit::Module& m, const char* file, const TensorView& in,
             const SampleShape& in_shape, const SampleShape& out_shape, bool clamp01,
             Tensor* out) const {
    if (in.rank != 3 || in.shape[0] != in_shape.c || in.shape[1] != in_shape.h ||
        in.shape[2] != in_shape.w) {
      return FTC_INVALID("%s: expects a %s sample, got %s", JoinPath(dir_, file).c_str(),
                         SampleShapeString(in_shape).c_str(),
                         ShapeToString(in.shape_vector()).c_str());
    }
    FTC_ASSIGN_OR_RETURN(at::Tensor x, CopyToTorch(in));
    at::Tensor y;
    try {
      x = x.to(at::kFloat).unsqueeze(0);
      FTC_ASSIGN_OR_RETURN(y, RunChecked(m, file, x, out_shape));
      if (clamp01) y = y.clamp(0.0, 1.0);
    } catch (const std::exception& e) {
      return FTC_INTERNAL("%s: %s", JoinPath(dir_, file).c_str(), Summarize(e).c_str());
    }
    FTC_ASSIGN_OR_RETURN(*out,
                         Tensor::Create(DType::kF32, {out_shape.c, out_shape.h, out_shape.w}));
    std::memcpy(out->data(), y.data_ptr<float>(), out->size_bytes());
    return Status::Ok();
  }

  std::string dir_;
  UnitHash hash_{};
  SampleShape split_, code_;
  std::string inner_;
  int bits_ = 0, quality_ = 0;
  bool has_tail_ = false;
  torch::jit::Module reduce_, restore_;
  mutable std::mutex mu_;  // one forward() at a time per unit
};

// (size, mtime) of a file, to notice a unit folder rewritten while the process runs.
std::pair<int64_t, int64_t> FileStamp(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return {-1, -1};
  return {static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

struct CacheEntry {
  std::vector<std::pair<int64_t, int64_t>> stamps;
  std::shared_ptr<TorchLearnedUnit> unit;
};

Result<std::shared_ptr<TorchLearnedUnit>> LoadCached(const std::string& dir) {
  if (dir.empty()) return FTC_INVALID("no learned unit folder given");
  static std::mutex mu;
  static std::map<std::string, CacheEntry> cache;
  char resolved[PATH_MAX];
  const std::string key = realpath(dir.c_str(), resolved) ? std::string(resolved) : dir;
  const std::vector<std::pair<int64_t, int64_t>> stamps = {FileStamp(JoinPath(key, kReduceFile)),
                                                           FileStamp(JoinPath(key, kRestoreFile)),
                                                           FileStamp(JoinPath(key, kTailFile))};
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end() && it->second.stamps == stamps) return it->second.unit;
  FTC_ASSIGN_OR_RETURN(std::shared_ptr<TorchLearnedUnit> unit, CatchExceptions("learned unit", [&] {
                         return TorchLearnedUnit::Load(dir);
                       }));
  cache[key] = CacheEntry{stamps, unit};
  return unit;
}

Result<std::shared_ptr<const LearnedUnitHandle>> LoadUnitForCodec(const std::string& dir) {
  FTC_ASSIGN_OR_RETURN(std::shared_ptr<TorchLearnedUnit> unit, LoadCached(dir));
  return std::shared_ptr<const LearnedUnitHandle>(std::move(unit));
}

}  // namespace

UnitHash HashUnitFiles(const std::vector<uint8_t>& reduce, const std::vector<uint8_t>& restore) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  static const char kDomain[] = "ftcodec-unit";
  XXH3_128bits_update(st, kDomain, sizeof(kDomain));  // with its NUL
  for (const std::vector<uint8_t>* f : {&reduce, &restore}) {
    uint8_t len[8];
    const uint64_t n = f->size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
    XXH3_128bits_update(st, len, sizeof(len));
    XXH3_128bits_update(st, f->data(), f->size());
  }
  const XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, h);
  UnitHash out;
  std::memcpy(out.data(), c.digest, out.size());
  return out;
}

bool RegisterTorchLearnedUnits() {
  RegisterLearnedUnitLoader(&LoadUnitForCodec);
  return true;
}

Result<LearnedUnitInfo> ProbeLearnedUnit(const std::string& dir) {
  FTC_ASSIGN_OR_RETURN(std::shared_ptr<TorchLearnedUnit> u, LoadCached(dir));
  LearnedUnitInfo info;
  info.dir = dir;
  info.hash = UnitHashHex(u->hash());
  info.split_shape = {u->split_shape().c, u->split_shape().h, u->split_shape().w};
  info.code_shape = {u->code_shape().c, u->code_shape().h, u->code_shape().w};
  info.inner = u->inner();
  info.bits = u->bits();
  info.quality = u->quality();
  info.has_tail = u->has_tail();
  info.has_exit = IsRegularFile(JoinPath(dir, kExitFile));
  return info;
}

// ---- early exits ----

struct LearnedExit::Impl {
  std::shared_ptr<TorchLearnedUnit> unit;
  torch::jit::Module exit;
  std::string path;
  int64_t classes = 0;
};

LearnedExit::LearnedExit(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LearnedExit::LearnedExit(LearnedExit&&) noexcept = default;
LearnedExit& LearnedExit::operator=(LearnedExit&&) noexcept = default;
LearnedExit::~LearnedExit() = default;
const std::string& LearnedExit::path() const { return impl_->path; }
int64_t LearnedExit::num_classes() const { return impl_->classes; }

Result<LearnedExit> LearnedExit::Load(const std::string& dir) {
  auto impl = std::make_unique<Impl>();
  FTC_ASSIGN_OR_RETURN(impl->unit, LoadCached(dir));
  impl->path = JoinPath(dir, kExitFile);
  const std::string& path = impl->path;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0 && errno == ENOENT) {
    return FTC_INVALID(
        "%s: the unit has no early exit (train one with `ftcodec train-bottleneck "
        "--exit-only --unit %s`)",
        path.c_str(), dir.c_str());
  }
  FTC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadModelFile(path));
  Result<torch::jit::Module> loaded = LoadModuleFromBytes(bytes, path);
  if (!loaded.ok()) {
    // Any file that is not a usable TorchScript module is a broken unit folder (bad data).
    return Status(StatusCode::kCorruptData, loaded.status().message());
  }
  impl->exit = std::move(*loaded);
  const torch::jit::Module& m = impl->exit;
  const TorchLearnedUnit& u = *impl->unit;
  return CatchExceptions("early exit", [&]() -> Result<LearnedExit> {
    if (!m.hasattr("ftcodec_exit")) {
      return FTC_CORRUPT("%s: no 'ftcodec_exit' attribute (not an ftcodec early exit)",
                         path.c_str());
    }
    FTC_ASSIGN_OR_RETURN(int64_t version, IntAttribute(m, "ftcodec_exit", path));
    if (version != kExitVersion) {
      return FTC_UNSUPPORTED("%s: exit version %lld; this ftcodec reads version %d", path.c_str(),
                             static_cast<long long>(version), kExitVersion);
    }
    FTC_ASSIGN_OR_RETURN(SampleShape code, ShapeAttribute(m, "code_shape", path));
    if (code.c != u.code_shape().c || code.h != u.code_shape().h || code.w != u.code_shape().w) {
      return FTC_CORRUPT("%s: made for a %s code, but the unit's code is %s", path.c_str(),
                         SampleShapeString(code).c_str(),
                         SampleShapeString(u.code_shape()).c_str());
    }
    if (!m.hasattr("unit_hash") || !m.attr("unit_hash").isString()) {
      return FTC_CORRUPT("%s: no string attribute 'unit_hash'", path.c_str());
    }
    const std::string want = UnitHashHex(u.hash());
    if (m.attr("unit_hash").toStringRef() != want) {
      return FTC_CORRUPT("%s: trained for unit %s, but the folder's unit is %s", path.c_str(),
                         m.attr("unit_hash").toStringRef().c_str(), want.c_str());
    }
    FTC_ASSIGN_OR_RETURN(int64_t classes, IntAttribute(m, "num_classes", path));
    if (classes < 1 || classes > (int64_t{1} << 20)) {
      return FTC_CORRUPT("%s: num_classes %lld out of range", path.c_str(),
                         static_cast<long long>(classes));
    }
    impl->classes = classes;
    // It must run on a zero code and give 1×K logits.
    Result<at::Tensor> y = Forward(m, path, at::zeros({1, code.c, code.h, code.w}));
    if (!y.ok()) {
      return Status(StatusCode::kCorruptData,
                    path + ": does not run on the unit's code: " + y.status().message());
    }
    if (y->dim() != 2 || y->size(0) != 1 || y->size(1) != classes) {
      return FTC_CORRUPT("%s: output is %s on one code, expected 1×%lld logits", path.c_str(),
                         ShapeOf(*y).c_str(), static_cast<long long>(classes));
    }
    return LearnedExit(std::move(impl));
  });
}

Result<ExitAnswers> LearnedExit::Run(const TensorView& features) const {
  FTC_RETURN_IF_ERROR(features.Validate());
  const SampleShape split = impl_->unit->split_shape();
  if (features.rank != 4 || features.shape[1] != split.c || features.shape[2] != split.h ||
      features.shape[3] != split.w) {
    return FTC_INVALID("%s: expects N×%s features, got %s", impl_->path.c_str(),
                       SampleShapeString(split).c_str(),
                       ShapeToString(features.shape_vector()).c_str());
  }
  FTC_ASSIGN_OR_RETURN(at::Tensor all, AsTorch(features));
  const int64_t n = features.shape[0];
  ExitAnswers out;
  out.classes.reserve(static_cast<size_t>(n));
  out.confidence.reserve(static_cast<size_t>(n));
  return CatchExceptions("early exit", [&]() -> Result<ExitAnswers> {
    constexpr int64_t kChunk = 256;
    for (int64_t s = 0; s < n; s += kChunk) {
      const at::Tensor x = all.slice(0, s, std::min(n, s + kChunk)).to(at::kFloat).contiguous();
      FTC_ASSIGN_OR_RETURN(at::Tensor z, impl_->unit->ReduceBatch(x));
      FTC_ASSIGN_OR_RETURN(at::Tensor logits, Forward(impl_->exit, impl_->path, z));
      if (logits.dim() != 2 || logits.size(0) != x.size(0) || logits.size(1) != impl_->classes) {
        return FTC_CORRUPT("%s: output is %s, expected %lld×%lld logits", impl_->path.c_str(),
                           ShapeOf(logits).c_str(), static_cast<long long>(x.size(0)),
                           static_cast<long long>(impl_->classes));
      }
      const at::Tensor p = at::softmax(logits.to(at::kFloat), 1);
      const std::tuple<at::Tensor, at::Tensor> best = p.max(1);
      const at::Tensor conf = std::get<0>(best).contiguous();
      const at::Tensor cls = std::get<1>(best).to(at::kLong).contiguous();
      const float* c = conf.data_ptr<float>();
      const int64_t* k = cls.data_ptr<int64_t>();
      for (int64_t i = 0; i < x.size(0); ++i) {
        // A NaN confidence (a broken exit) never exits.
        out.confidence.push_back(std::isnan(c[i]) ? 0.0f : c[i]);
        out.classes.push_back(static_cast<int>(k[i]));
      }
    }
    return std::move(out);
  });
}

}  // namespace ftc

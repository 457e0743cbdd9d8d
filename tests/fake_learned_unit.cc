// A fake learned unit loader for the core tests (no libtorch): see fake_learned_unit.h.
#include "tests/fake_learned_unit.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace ftc::test {
namespace {

float Squash(float v) { return v / (1.0f + std::fabs(v)) * 0.5f + 0.5f; }
float Unsquash(float z) {
  const float u = std::clamp(2.0f * (z - 0.5f), -0.999f, 0.999f);
  return u / (1.0f - std::fabs(u));
}

uint64_t Fnv1a(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (char ch : s) {
    h ^= static_cast<uint8_t>(ch);
    h *= 1099511628211ull;
  }
  return h;
}

class FakeUnit : public LearnedUnitHandle {
 public:
  // The hash depends on the name up to a '+': "unitA+wide" is unit A's hash with other shapes.
  FakeUnit(const std::string& name, SampleShape split, std::string inner, int bits, int quality)
      : split_(split), inner_(std::move(inner)), bits_(bits), quality_(quality) {
    const std::string base = name.substr(0, name.find('+'));
    const uint64_t a = Fnv1a(base, 1), b = Fnv1a(base, 2);
    for (int i = 0; i < 8; ++i) {
      hash_[static_cast<size_t>(i)] = static_cast<uint8_t>(a >> (8 * i));
      hash_[static_cast<size_t>(8 + i)] = static_cast<uint8_t>(b >> (8 * i));
    }
    code_ = {split.c / 2, split.h / 2, split.w / 2};
  }
  const UnitHash& hash() const override { return hash_; }
  SampleShape split_shape() const override { return split_; }
  SampleShape code_shape() const override { return code_; }
  const std::string& inner() const override { return inner_; }
  int bits() const override { return bits_; }
  int quality() const override { return quality_; }

  Status Reduce(const TensorView& sample, Tensor* code) const override {
    if (sample.rank != 3 || sample.shape[0] != split_.c || sample.shape[1] != split_.h ||
        sample.shape[2] != split_.w || sample.dtype == DType::kU8) {
      return Status(StatusCode::kInvalidArgument, "fake unit: bad sample");
    }
    Result<Tensor> t = Tensor::Create(DType::kF32, {code_.c, code_.h, code_.w});
    if (!t.ok()) return t.status();
    float* out = t->data_as<float>();
    for (int64_t c = 0; c < code_.c; ++c) {
      for (int64_t y = 0; y < code_.h; ++y) {
        for (int64_t x = 0; x < code_.w; ++x) {
          float sum = 0;
          for (int64_t dy = 0; dy < 2; ++dy) {
            for (int64_t dx = 0; dx < 2; ++dx) {
              sum += LoadAsFloat(sample, (c * split_.h + 2 * y + dy) * split_.w + 2 * x + dx);
            }
          }
          out[(c * code_.h + y) * code_.w + x] = Squash(0.25f * sum);
        }
      }
    }
    *code = std::move(t).value();
    return Status::Ok();
  }

  Status Restore(const TensorView& code, Tensor* features) const override {
    if (code.rank != 3 || code.dtype != DType::kF32 || code.shape[0] != code_.c ||
        code.shape[1] != code_.h || code.shape[2] != code_.w) {
      return Status(StatusCode::kInvalidArgument, "fake unit: bad code");
    }
    Result<Tensor> t = Tensor::Create(DType::kF32, {split_.c, split_.h, split_.w});
    if (!t.ok()) return t.status();
    float* out = t->data_as<float>();
    for (int64_t c = 0; c < split_.c; ++c) {
      for (int64_t y = 0; y < split_.h; ++y) {
        for (int64_t x = 0; x < split_.w; ++x) {
          const int64_t i = ((c % code_.c) * code_.h + std::min(y / 2, code_.h - 1)) * code_.w +
                            std::min(x / 2, code_.w - 1);
          out[(c * split_.h + y) * split_.w + x] =
              Unsquash(LoadAsFloat(code, i)) * (c < code_.c ? 1.0f : 0.5f);
        }
      }
    }
    *features = std::move(t).value();
    return Status::Ok();
  }

 private:
  UnitHash hash_{};
  SampleShape split_, code_;
  std::string inner_;
  int bits_, quality_;
};

}  // namespace

// unitA, unitB: ans at 5 bits; unitJ: jpeg at quality 80; unitL: 16×24×20 at ans 6 bits;
// "+wide": features 8×8×10 (unitL: 16×24×22); anything else is missing.
Result<std::shared_ptr<const LearnedUnitHandle>> FakeLoader(const std::string& dir) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const LearnedUnitHandle>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(dir);
  if (it != cache.end()) return it->second;
  const std::string base = dir.substr(0, dir.find('+'));
  const bool wide = dir.find("+wide") != std::string::npos;
  SampleShape split{kFakeC, kFakeH, wide ? 10 : kFakeW};
  if (base == "unitL") split = {kFakeLargeC, kFakeLargeH, wide ? 22 : kFakeLargeW};
  std::shared_ptr<const LearnedUnitHandle> unit;
  if (base == "unitA" || base == "unitB") {
    unit = std::make_shared<FakeUnit>(dir, split, "ans", 5, 90);
  } else if (base == "unitL") {
    unit = std::make_shared<FakeUnit>(dir, split, "ans", 6, 90);
  } else if (base == "unitJ") {
    unit = std::make_shared<FakeUnit>(dir, split, "jpeg", 4, 80);
  } else {
    return Status(StatusCode::kIoError, dir + ": no such learned unit");
  }
  cache[dir] = unit;
  return unit;
}

std::shared_ptr<const LearnedUnitHandle> FakeUnitFor(const std::string& dir) {
  return FakeLoader(dir).value();
}

}  // namespace ftc::test

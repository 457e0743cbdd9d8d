// Codec `learned` (docs/format.md, "Codec `learned`"): what its encoder (enc_learned.cc) and
// decoder (dec_learned.cc) share. Running the units needs a loader
// (codec/learned/learned_unit.h); everything else here is torch-free.
#include "codec/learned/learned_codec.h"

#include <cstring>
#include <memory>
#include <string>

#include "base/status_macros.h"

namespace ftc {

Status LearnedUnitHandle::RestoreBatch(const float* codes, int64_t n, float* features) const {
  const SampleShape code = code_shape(), split = split_shape();
  for (int64_t i = 0; i < n; ++i) {
    Tensor one;
    FTC_RETURN_IF_ERROR(Restore(
        TensorView::Contiguous(codes + i * code.elements(), DType::kF32, {code.c, code.h, code.w}),
        &one));
    if (one.dtype() != DType::kF32 || one.num_elements() != split.elements()) {
      return FTC_INTERNAL("the restoration unit gave a %s %s tensor, expected f32 %lld elements",
                          DTypeName(one.dtype()), ShapeToString(one.shape()).c_str(),
                          static_cast<long long>(split.elements()));
    }
    std::memcpy(features + i * split.elements(), one.data(), one.size_bytes());
  }
  return Status::Ok();
}

namespace learned {

std::string ShapeText(const SampleShape& s) {
  return StrFormat("%lldx%lldx%lld", static_cast<long long>(s.c), static_cast<long long>(s.h),
                   static_cast<long long>(s.w));
}

bool SameShape(const SampleShape& a, const SampleShape& b) {
  return a.c == b.c && a.h == b.h && a.w == b.w;
}

Result<UnitPtr> LoadUnit(const std::string& dir) {
  const LearnedUnitLoader loader = GetLearnedUnitLoader();
  if (!loader) {
    return Status(StatusCode::kNotBuiltIn,
                  "codec 'learned' is not built into this ftcodec (no learned unit loader)");
  }
  FTC_ASSIGN_OR_RETURN(UnitPtr unit, loader(dir));
  if (!unit) return FTC_INTERNAL("the learned unit loader returned no unit for %s", dir.c_str());
  return unit;
}

}  // namespace learned
}  // namespace ftc

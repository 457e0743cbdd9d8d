// Codec `learned` (docs/format.md, "Codec `learned`"): what its encoder (enc_learned.cc) and
// decoder (dec_learned.cc) share. Running the units needs a loader
// (codec/learned/learned_unit.h); everything else here is torch-free.
#include "codec/learned/learned_codec.h"

#include <memory>
#include <string>

#include "base/status_macros.h"

namespace ftc {
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

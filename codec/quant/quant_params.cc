// ValidateQuantParams: what the encoder (enc_quant_range.cc) and the decoders share.
#include <cmath>

#include "base/status_macros.h"
#include "codec/quant/quant.h"

namespace ftc {

Status ValidateQuantParams(const QuantParams& p) {
  if (p.bits < kMinQuantBits || p.bits > kMaxQuantBits) {
    return FTC_INVALID("quantizer bits %d out of range %d..%d", p.bits, kMinQuantBits,
                       kMaxQuantBits);
  }
  if (!std::isfinite(p.lo) || !std::isfinite(p.hi)) {
    return FTC_INVALID("quantizer range [%g, %g] is not finite", p.lo, p.hi);
  }
  if (!(p.lo <= p.hi)) {
    return FTC_INVALID("quantizer range [%g, %g] has lo > hi", p.lo, p.hi);
  }
  if (!std::isfinite(p.hi - p.lo)) {
    return FTC_INVALID("quantizer range [%g, %g] is too wide: hi - lo overflows f32", p.lo, p.hi);
  }
  if (!(p.rounding >= 0.0f && p.rounding <= 0.5f)) {
    return FTC_INVALID("quantizer rounding %g out of range 0..0.5", p.rounding);
  }
  return Status::Ok();
}

}  // namespace ftc

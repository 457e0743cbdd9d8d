// The planned mode's quantizer (docs/format.md, "Planned mode"), encoder side.
#include <algorithm>
#include <cmath>

#include "codec/quant/planned_quant.h"

namespace ftc {
namespace {

// Level -> symbol and back (docs/format.md, "Planned mode").
inline uint16_t SymbolOf(int32_t k, ChannelKind kind) {
  switch (kind) {
    case ChannelKind::kNonNegative:
      return static_cast<uint16_t>(k);
    case ChannelKind::kNonPositive:
      return static_cast<uint16_t>(-k);
    default:
      return static_cast<uint16_t>(k >= 0 ? 2 * k : -2 * k - 1);
  }
}

}  // namespace

uint16_t QuantizePlanned(const float* x, size_t n, const ChannelQuant& ch, float step,
                         float rounding, uint16_t* symbols) {
  uint16_t max_symbol = 0;
  const bool clamp_lo = ch.kind == ChannelKind::kNonNegative;
  const bool clamp_hi = ch.kind == ChannelKind::kNonPositive;
  for (size_t i = 0; i < n; ++i) {
    const float y = std::min(std::max(x[i], ch.clip_lo), ch.clip_hi);
    const float t = (y - ch.offset) / step;
    const float a = std::fabs(t) + rounding;
    const int32_t m = a >= static_cast<float>(kMaxPlannedLevel)
                          ? kMaxPlannedLevel
                          : static_cast<int32_t>(std::floor(a));
    int32_t k = t >= 0 ? m : -m;
    if (clamp_lo) k = std::max(k, 0);
    if (clamp_hi) k = std::min(k, 0);
    const uint16_t v = SymbolOf(k, ch.kind);
    symbols[i] = v;
    max_symbol = std::max(max_symbol, v);
  }
  return max_symbol;
}

}  // namespace ftc

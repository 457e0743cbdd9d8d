#include "codec/quant/planned_quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ftc {
namespace {

float FromBits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof(f));
  return f;
}

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

inline int32_t LevelOf(uint16_t v, ChannelKind kind) {
  switch (kind) {
    case ChannelKind::kNonNegative:
      return v;
    case ChannelKind::kNonPositive:
      return -static_cast<int32_t>(v);
    default:
      return (v & 1) ? -static_cast<int32_t>((v + 1) >> 1) : static_cast<int32_t>(v >> 1);
  }
}

}  // namespace

float PlannedStep(float step, int shift) {
  static const float kFraction[4] = {FromBits(0x3f800000), FromBits(0x3f9837f0),
                                     FromBits(0x3fb504f3), FromBits(0x3fd744fd)};
  const float scaled = step * kFraction[shift & 3];
  return std::ldexp(scaled, shift >> 2);
}

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

void DequantizePlanned(const uint16_t* symbols, size_t n, ChannelKind kind, float step,
                       float offset, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const float level = static_cast<float>(LevelOf(symbols[i], kind));
    const float scaled = level * step;
    out[i] = offset + scaled;
  }
}

}  // namespace ftc

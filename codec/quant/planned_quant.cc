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

// Symbol -> level (docs/format.md, "Planned mode"; enc_planned_quant.cc has the inverse).
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

void DequantizePlanned(const uint16_t* symbols, size_t n, ChannelKind kind, float step,
                       float offset, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const float level = static_cast<float>(LevelOf(symbols[i], kind));
    const float scaled = level * step;
    out[i] = offset + scaled;
  }
}

}  // namespace ftc

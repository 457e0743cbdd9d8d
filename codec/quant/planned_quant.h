// The planned-mode quantizer of codec `ans` (docs/format.md, "Planned mode"): per channel a step,
// an offset and a kind (ftcodec/profile.h); levels k are signed integers, mapped to symbols by
// the channel's kind.
//
// READ ME FIRST
// - Both directions are normative: the decoder's output bits and the encoder's bytes must be the
//   same on every platform. Plain f32 arithmetic in the written order, -ffp-contract=off.
// - A frame scales every step by 2^(shift/4) (rate control); PlannedStep computes that exactly.
#ifndef FTCODEC_CODEC_QUANT_PLANNED_QUANT_H_
#define FTCODEC_CODEC_QUANT_PLANNED_QUANT_H_

#include <cstddef>
#include <cstdint>

#include "ftcodec/profile.h"

namespace ftc {

inline constexpr int kMaxStepShift = 63;
inline constexpr int32_t kMaxPlannedLevel = 32767;

// ldexp(fl(step * F[shift mod 4]), shift div 4), F = f32(2^0, 2^0.25, 2^0.5, 2^0.75).
float PlannedStep(float step, int shift);

// Symbols of n elements of one coded channel (kind != kDropped): x clamped to the channel's clip
// range, then t = (x - offset) / step, |k| = min(floor(|t| + rounding), 32767), sign of t,
// clamped to the kind's sign, then zig-zag (signed) or |k|. x must be finite. Returns the
// largest symbol written (0 if n == 0).
uint16_t QuantizePlanned(const float* x, size_t n, const ChannelQuant& channel, float step,
                         float rounding, uint16_t* symbols);

// out[i] = offset + f32(k) * step, k from symbols[i] by the channel kind (not kDropped).
void DequantizePlanned(const uint16_t* symbols, size_t n, ChannelKind kind, float step,
                       float offset, float* out);

}  // namespace ftc

#endif  // FTCODEC_CODEC_QUANT_PLANNED_QUANT_H_

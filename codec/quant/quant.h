// Uniform scalar quantizer of the quantizing codecs (`--codec ans`): f32 <-> uint16 levels.
//
// READ ME FIRST
// - The dequantizer is part of the bitstream contract (docs/format.md): every decoder, on every
//   SIMD target, must compute the same f32 bits. Quantize is bit-exact across targets too, so
//   the same input gives the same bytes everywhere. Both are defined by the scalar reference
//   functions below: plain f32 arithmetic in the written order, no fused multiply-add (the
//   build uses -ffp-contract=off), IEEE denormals (no flush-to-zero).
// - Per-channel quantization is the caller's loop: one QuantParams per contiguous channel.
// - The SIMD kernels (enc_quantize.cc, dec_dequantize.cc) use Highway dynamic dispatch.
#ifndef FTCODEC_CODEC_QUANT_QUANT_H_
#define FTCODEC_CODEC_QUANT_QUANT_H_

#include <cstddef>
#include <cstdint>

#include "ftcodec/ftcodec.h"
#include "ftcodec/status.h"

namespace ftc {

inline constexpr int kMinQuantBits = 1;
inline constexpr int kMaxQuantBits = 16;

struct QuantParams {
  float lo = 0;  // reconstruction range [lo, hi]: both finite, lo <= hi, hi - lo finite in f32
  float hi = 0;
  int bits = 4;  // 1..16; L = 2^bits levels, 0..L-1
  // 0..0.5: offset added before flooring. 0.5 = round to the nearest level (mid-point
  // thresholds); smaller values widen the zero bin of the lowest level (dead zone).
  float rounding = 0.5f;
};

// Ok, or kInvalidArgument naming the bad field. Decoders call it on parameters read from a
// stream (and report kCorruptData) before Dequantize.
Status ValidateQuantParams(const QuantParams& p);

// Largest level L-1 = 2^bits - 1.
inline uint32_t QuantMaxLevel(int bits) { return (uint32_t{1} << bits) - 1; }

// q[i] = clamp(floor((x[i] - lo) * scale + rounding), 0, L-1), scale = float(L-1) / (hi - lo),
// each operation rounded to f32. NaN input (and any NaN intermediate, e.g. 0 * inf when hi - lo
// is so small that scale overflows) gives 0; +inf gives L-1, -inf gives 0. hi == lo gives all
// zeros. `p` must be valid (ValidateQuantParams). q must hold n values; x and q may not overlap.
void Quantize(const float* x, size_t n, const QuantParams& p, uint16_t* q);

// out[i] = lo + float(min(q[i], L-1)) * step, step = (hi - lo) / float(L-1), each operation
// rounded to f32 (hi == lo gives lo). Levels above L-1 (never produced by Quantize) are clamped,
// so the output lies in [lo, hi] up to f32 rounding. `p` must be valid.
void Dequantize(const uint16_t* q, size_t n, const QuantParams& p, float* out);

// Exact minimum and maximum of x[0..n). Returns false if any value is NaN or +-inf (min/max are
// then unspecified). A zero result is always +0 (never -0: which zero SIMD min/max picks
// depends on lane order). n == 0 gives min = max = 0.
bool FiniteMinMax(const float* x, size_t n, float* min, float* max);

// The quantizer range for a clip spec (see ClipSpec):
// - kNone: [min, max] of x.
// - kRange: [a, b] rounded to f32; needs a < b (also after rounding), both finite.
// - kSigma: mean -+ K*sigma (K = a > 0), population sigma, in double, summed in index order
//   (two passes), intersected with [min, max] in double, then rounded to f32.
// - kPercentile: P = a in (50, 100]. With the values sorted ascending s[0..n) and the nearest
//   rank k = max(1, ceil(P * n / 100)) (double arithmetic), hi = s[k-1] and lo = s[n-k]: the
//   k-th smallest and the k-th largest value (a symmetric pair of order statistics; P = 100
//   gives [min, max]).
// n == 0 gives [0, 0] for the data-driven kinds. NaN or inf anywhere in x is kInvalidArgument
// for every kind. The result is valid (ValidateQuantParams) and deterministic.
Result<QuantParams> ComputeQuantRange(const float* x, size_t n, const ClipSpec& clip, int bits,
                                      float rounding);
// What an encoder reports when ComputeQuantRange(x, n, clip, ...) failed with `error`: finite
// data whose range overflows f32 (hi - lo > FLT_MAX, e.g. values spanning ±3e38) is bad input
// data (kUnsupported, like NaN or Inf); any other error is returned as it is.
Status QuantRangeError(const Status& error, const float* x, size_t n, const ClipSpec& clip);

// Scalar definitions of Quantize / Dequantize (the specification the SIMD kernels match bit for
// bit); exported for tests and benchmarks.
void QuantizeReference(const float* x, size_t n, const QuantParams& p, uint16_t* q);
void DequantizeReference(const uint16_t* q, size_t n, const QuantParams& p, float* out);

// The Highway target (HWY_AVX2, ...) the Quantize / Dequantize kernels dispatch to right now
// (tests use it to check that every target really ran).
int64_t QuantizeDispatchTargetForTest();
int64_t DequantizeDispatchTargetForTest();

}  // namespace ftc

#endif  // FTCODEC_CODEC_QUANT_QUANT_H_

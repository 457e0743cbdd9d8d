// The SIMD kernel of the symbol segment encoder (bitstream/enc_rans.cc hands it the groups it
// applies to): 4, 8, 16 or 32 lanes over bands of one shape, any alphabet, escapes included.
// Highway, dynamic dispatch; byte-identical with the scalar encoder on every target
// (tests/rans_test.cc). The format: docs/format.md, "Symbol segment".
#ifndef FTCODEC_BITSTREAM_ENC_RANS_SIMD_H_
#define FTCODEC_BITSTREAM_ENC_RANS_SIMD_H_

#include <cstddef>
#include <cstdint>

namespace ftc::rans {

// One token of one context as the SIMD encoder wants it. The rANS step x -> (x / f) * 2^P +
// x % f + start is computed as x + bias + q * (2^P - f) with q = floor(x / f) by multiplication
// (Granlund and Montgomery, "Division by invariant integers using multiplication", fig. 4.1):
//   t = (x * magic) >> 32,  q = (t + ((x - t) >> 1)) >> shift,
// exact for every 32-bit x; f = 1 uses magic = 2^32 - 1 (q = x - 1) and bias = start + 2^P - 1.
struct EncEntry {
  uint32_t magic;
  uint32_t packed;  // f (bits 0..11, <= 2^11), bias (12..23, < 2^12), shift (24..27, <= 10)
};

EncEntry MakeEncEntry(uint32_t start, uint32_t freq, int precision);

// entries[j] = table[context * T + token] for symbol j of `count` with fine context pair
// pairs[j] = 16 * left + top (see enc_rans.cc): context = left_x_top[left] + top_class[top]
// (16 bytes each: class(left) × top classes, class(top)), T = num_tokens.
void ContextTokenEntries(const uint8_t* pairs, const uint8_t* tokens, size_t count,
                         const uint8_t* left_x_top, const uint8_t* top_class, uint32_t num_tokens,
                         const uint64_t* table, uint64_t* entries);

// out[s * lanes + i] = in[i * steps + s] for s < steps, i < lanes (4, 8, 16 or 32): a group's
// band-major values in the kernel's lane-major order.
void LaneMajor(const uint64_t* in, size_t steps, int lanes, uint64_t* out);

// `steps` steps of a group of `lanes` bands (4, 8, 16 or 32) of `steps` symbols each, encoded in
// reverse (step steps - 1 first; in a step, the escapes' raw bits of lanes lanes - 1 .. 0, then
// their tokens, as the scalar encoder does). For lane i's symbol s:
//   entries[s * lanes + i]: its token's EncEntry (in its context) as magic | packed << 32;
//   raw[i * steps + s]: an escape's raw bits | (their count << 16), 0 for a symbol without raw
//        bits (only read if `escapes`).
// lanes * steps < 2^31. states[0 .. lanes) are updated; words are written downwards from *wp
// (which moves); up to 32 bytes below the last word written may be overwritten (the buffer must
// have that slack).
struct SimdEncodeSteps {
  const uint64_t* entries;
  const uint32_t* raw;
  size_t steps;
  int lanes;
  int precision;
  bool escapes;
};
void EncodeStepsSimd(const SimdEncodeSteps& job, uint32_t* states, uint8_t** wp);

// HWY_TARGET of the kernel that dynamic dispatch picks (tests force each target in turn).
int64_t EncodeStepsSimdTargetForTest();

}  // namespace ftc::rans

#endif  // FTCODEC_BITSTREAM_ENC_RANS_SIMD_H_

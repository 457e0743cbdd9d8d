// The SIMD kernel of the symbol segment decoder (bitstream/dec_rans.cc hands it the groups it
// applies to): N >= 8 lanes over bands of one shape, any token count, with or without escapes.
// Highway, dynamic dispatch; bit-exact with the scalar reference on every target
// (tests/rans_test.cc).
#ifndef FTCODEC_BITSTREAM_DEC_RANS_SIMD_H_
#define FTCODEC_BITSTREAM_DEC_RANS_SIMD_H_

#include <cstddef>
#include <cstdint>

namespace ftc::rans {

// A group of `lanes` bands of `rows` × `width` symbols, decoded into the lane-major token buffer
// tokens[(y * width + col) * lanes + lane].
struct SimdGroup {
  const uint32_t* entries;  // entries[(context << precision) + slot], packed as in dec_rans.cc
  const uint8_t* cls_left;  // 16 bytes: class(left token) × top classes, for tokens 0..15
  const uint8_t* cls_top;   // 16 bytes: class(top token)
  // More than 16 tokens: the same for tokens 0..255 (else null).
  const uint32_t* wide_left;
  const uint32_t* wide_top;
  // With escapes (tokens >= 2^direct_bits): the symbols, lane-major like the tokens (else null).
  uint16_t* symbols;
  int direct_bits;
  int msb_bits;
  int precision;
  int lanes;  // 8, 16 or 32
  uint32_t width;
  uint32_t rows;
};

// Decodes rows y0, y0 + 1, ... of the group while the words surely suffice for a row: *p must have
// at least 4 * width * lanes + 64 readable bytes (zero padding) beyond `end` (the end of the real
// words). Stops before a row that starts past `end` (the words ran out: the caller reports it).
// states[0 .. lanes) are the lanes' states (updated); *flags gets the OR of every table entry
// used. Returns the first row it did not decode.
uint32_t DecodeRowsSimd(const SimdGroup& group, uint32_t y0, uint32_t* states, uint8_t* tokens,
                        const uint8_t** p, const uint8_t* end, uint32_t* flags);

// out[i][k] = tokens[k * lanes + i] for k < count and i < lanes (8, 16 or 32): the lane-major
// tokens copied out to the lanes' bands.
void DeinterleaveTokens(const uint8_t* tokens, size_t count, int lanes, uint16_t* const* out);
// The same for lane-major symbols.
void DeinterleaveSymbols(const uint16_t* symbols, size_t count, int lanes, uint16_t* const* out);

// HWY_TARGET of the kernel that dynamic dispatch picks (tests force each target in turn).
int64_t DecodeRowsSimdTargetForTest();

}  // namespace ftc::rans

#endif  // FTCODEC_BITSTREAM_DEC_RANS_SIMD_H_

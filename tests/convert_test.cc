// The bulk dtype conversions (base/convert.h): on every compiled SIMD target, bit for bit the
// scalar F32ToF16 / F16ToF32 / F32ToBF16 / BF16ToF32 — every one of the 65,536 16-bit values,
// and f32 values covering every sign and exponent with the mantissa bits that decide rounding
// (all low 13 bits for f16, all low 16 for bf16), plus random ones; any length and offset.
//
// As in tests/quant_test.cc, hwy::TestWithParamTarget forces dynamic dispatch to one target and
// the test checks that the library ran it.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/convert_test.cc"
#include "base/convert.h"

#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/tests/test_util-inl.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "ftcodec/tensor.h"
#include "gtest/gtest.h"

#ifndef FTCODEC_TESTS_CONVERT_TEST_HELPERS_
#define FTCODEC_TESTS_CONVERT_TEST_HELPERS_
namespace ftc {
namespace convert_test {

inline float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// f32 bit patterns: each sign and exponent, with every combination of the `low` lowest mantissa
// bits under a few fixed high parts, and random patterns.
inline std::vector<float> F32Cases(int low) {
  std::vector<float> v;
  std::mt19937 rng(7);
  for (uint32_t se = 0; se < 512; ++se) {
    for (uint32_t high : {0u, 1u, 0x2Au, 0x3FFu >> (low - 13)}) {
      const uint32_t top = (high << low) & 0x7FFFFFu;
      for (uint32_t m = 0; m < (1u << low); m += (low > 13 ? 7 : 1)) {
        v.push_back(FromBits((se << 23) | top | m));
      }
    }
  }
  for (int i = 0; i < (1 << 18); ++i) v.push_back(FromBits(static_cast<uint32_t>(rng())));
  return v;
}

}  // namespace convert_test
}  // namespace ftc
#endif  // FTCODEC_TESTS_CONVERT_TEST_HELPERS_

HWY_BEFORE_NAMESPACE();
namespace ftc::HWY_NAMESPACE {

namespace ct = ::ftc::convert_test;

void TestFromF32MatchesScalar() {
  ASSERT_EQ(ConvertDispatchTargetForTest(), HWY_TARGET) << hwy::TargetName(HWY_TARGET);
  for (const bool bf16 : {false, true}) {
    const std::vector<float> in = ct::F32Cases(bf16 ? 16 : 13);
    // An odd offset and length: unaligned input and output, and a scalar tail.
    const size_t n = in.size() - 3;
    std::vector<uint8_t> out(2 * n + 1);
    (bf16 ? ConvertF32ToBF16 : ConvertF32ToF16)(in.data() + 1, n, out.data() + 1);
    for (size_t i = 0; i < n; ++i) {
      const uint16_t want = bf16 ? F32ToBF16(in[i + 1]) : F32ToF16(in[i + 1]);
      uint16_t got;
      std::memcpy(&got, out.data() + 1 + 2 * i, 2);
      if (got != want) {
        ADD_FAILURE() << hwy::TargetName(HWY_TARGET) << (bf16 ? " bf16" : " f16") << " of 0x"
                      << std::hex << ct::Bits(in[i + 1]) << ": got 0x" << got << ", want 0x"
                      << want;
        return;
      }
    }
  }
}

void TestToF32MatchesScalar() {
  ASSERT_EQ(ConvertDispatchTargetForTest(), HWY_TARGET) << hwy::TargetName(HWY_TARGET);
  std::vector<uint8_t> in(2 * 65536 + 1);
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t v = static_cast<uint16_t>(h);
    std::memcpy(in.data() + 1 + 2 * h, &v, 2);
  }
  for (const bool bf16 : {false, true}) {
    std::vector<float> out(65536);
    (bf16 ? ConvertBF16ToF32 : ConvertF16ToF32)(in.data() + 1, 65536, out.data());
    for (uint32_t h = 0; h < 65536; ++h) {
      const float want =
          bf16 ? BF16ToF32(static_cast<uint16_t>(h)) : F16ToF32(static_cast<uint16_t>(h));
      if (ct::Bits(out[h]) != ct::Bits(want)) {
        ADD_FAILURE() << hwy::TargetName(HWY_TARGET) << (bf16 ? " bf16 0x" : " f16 0x") << std::hex
                      << h << ": got 0x" << ct::Bits(out[h]) << ", want 0x" << ct::Bits(want);
        return;
      }
    }
  }
  // Lengths around the vector size.
  for (size_t n = 0; n < 70; ++n) {
    std::vector<float> out(n + 1, -1.0f);
    ConvertF16ToF32(in.data() + 1 + 2 * 15360, n, out.data());
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(ct::Bits(out[i]), ct::Bits(F16ToF32(static_cast<uint16_t>(15360 + i))));
    }
    EXPECT_EQ(out[n], -1.0f) << "wrote past the end";
  }
}

}  // namespace ftc::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <hwy/tests/hwy_gtest.h>

namespace ftc {

HWY_BEFORE_TEST(ConvertTargetTest);
HWY_EXPORT_AND_TEST_P(ConvertTargetTest, TestFromF32MatchesScalar);
HWY_EXPORT_AND_TEST_P(ConvertTargetTest, TestToF32MatchesScalar);

}  // namespace ftc

#endif  // HWY_ONCE

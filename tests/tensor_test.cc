#include "ftcodec/tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace ftc {
namespace {

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(HalfTest, EveryF16ValueRoundTripsThroughF32Exactly) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = F16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(f)))) << h;
      continue;
    }
    EXPECT_EQ(F32ToF16(f), h) << "half 0x" << std::hex << h;
  }
}

TEST(HalfTest, KnownValues) {
  EXPECT_EQ(F32ToF16(1.0f), 0x3C00);
  EXPECT_EQ(F32ToF16(-2.0f), 0xC000);
  EXPECT_EQ(F32ToF16(65504.0f), 0x7BFF);
  EXPECT_EQ(F32ToF16(65520.0f), 0x7C00);  // halfway to 65536: ties to even -> Inf
  EXPECT_EQ(F32ToF16(65519.0f), 0x7BFF);
  EXPECT_EQ(F32ToF16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(F32ToF16(5.9604644775390625e-8f), 0x0001);   // smallest subnormal
  EXPECT_EQ(F32ToF16(2.98023223876953125e-8f), 0x0000);  // half of it: tie to even 0
  EXPECT_EQ(F32ToF16(4.470348358154297e-8f), 0x0001);    // 0.75 ulp rounds up
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
  EXPECT_EQ(F16ToF32(0x3555), 0.333251953125f);
}

TEST(HalfTest, RoundsToNearestEvenBetweenNormals) {
  // 1 + 2^-11 is exactly between 1 and 1 + 2^-10: ties to even (1.0).
  EXPECT_EQ(F32ToF16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  // 1 + 3·2^-11 is between 1+2^-10 (odd) and 1+2^-9 (even): rounds up to even.
  EXPECT_EQ(F32ToF16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  // Slightly above the tie rounds up.
  EXPECT_EQ(F32ToF16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3C01);
}

TEST(HalfTest, NanStaysNan) {
  EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(std::nanf("")))));
  EXPECT_TRUE(std::isnan(BF16ToF32(F32ToBF16(std::nanf("")))));
  // A signalling NaN whose payload sits in the low bits must not become Inf.
  EXPECT_TRUE(std::isnan(BF16ToF32(F32ToBF16(FromBits(0x7F800001u)))));
  EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(FromBits(0x7F800001u)))));
}

TEST(BF16Test, EveryBF16ValueRoundTrips) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const float f = BF16ToF32(static_cast<uint16_t>(b));
    if (std::isnan(f)) continue;
    EXPECT_EQ(F32ToBF16(f), b);
  }
}

TEST(BF16Test, RoundsToNearestEven) {
  EXPECT_EQ(F32ToBF16(FromBits(0x3F808000u)), 0x3F80);  // tie, even below
  EXPECT_EQ(F32ToBF16(FromBits(0x3F818000u)), 0x3F82);  // tie, even above
  EXPECT_EQ(F32ToBF16(FromBits(0x3F808001u)), 0x3F81);  // above tie
  EXPECT_EQ(F32ToBF16(FromBits(0x7F7FFFFFu)), 0x7F80);  // max float rounds to Inf
  EXPECT_EQ(Bits(BF16ToF32(0x3F80)), 0x3F800000u);
}

TEST(TensorTest, CreateRejectsBadShapes) {
  EXPECT_FALSE(Tensor::Create(DType::kF32, {}).ok());
  EXPECT_FALSE(Tensor::Create(DType::kF32, {1, 2, 3, 4, 5}).ok());
  Result<Tensor> zero = Tensor::Create(DType::kF32, {3, 0});
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("dimension 1 is 0"), std::string::npos);
  EXPECT_EQ(Tensor::Create(DType::kF32, {int64_t{1} << 30, int64_t{1} << 20}).status().code(),
            StatusCode::kLimitExceeded);
}

TEST(TensorTest, CopyOfStridedViewCompacts) {
  // A 3x4 matrix viewed transposed (4x3, strides 1,4).
  float m[12];
  for (int i = 0; i < 12; ++i) m[i] = static_cast<float>(i);
  TensorView v = TensorView::Strided(m, DType::kF32, {4, 3}, {1, 4});
  ASSERT_TRUE(v.Validate().ok());
  EXPECT_FALSE(v.is_contiguous());
  Result<Tensor> t = Tensor::CopyOf(v);
  ASSERT_TRUE(t.ok());
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 3; ++c) EXPECT_EQ(t->data_as<float>()[r * 3 + c], m[c * 4 + r]);
  }
}

TEST(TensorTest, ConvertToAndBack) {
  Result<Tensor> t = Tensor::Create(DType::kF32, {5});
  ASSERT_TRUE(t.ok());
  const float vals[5] = {0.5f, -1.25f, 300.7f, 1e-3f, -0.0f};
  std::memcpy(t->data(), vals, sizeof(vals));
  Tensor h = t->ConvertTo(DType::kF16);
  Tensor back = h.ConvertTo(DType::kF32);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(back.data_as<float>()[i], F16ToF32(F32ToF16(vals[i])));
  }
  Tensor u = t->ConvertTo(DType::kU8);
  EXPECT_EQ(u.data_as<uint8_t>()[0], 0);    // 0.5 rounds to even 0
  EXPECT_EQ(u.data_as<uint8_t>()[1], 0);    // saturates
  EXPECT_EQ(u.data_as<uint8_t>()[2], 255);  // saturates
}

TEST(TensorTest, ViewValidateNamesProblem) {
  float x = 0;
  TensorView v = TensorView::Contiguous(&x, DType::kF32, {1, 2, 3, 4, 5});
  EXPECT_NE(v.Validate().message().find("rank"), std::string::npos);
  TensorView n = TensorView::Contiguous(nullptr, DType::kF32, {2});
  EXPECT_NE(n.Validate().message().find("null"), std::string::npos);
}

}  // namespace
}  // namespace ftc

// Codec `ans`: quantized round trips within half a step, lossless byte-exactness, corrupt frames.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "base/byte_io.h"
#include "bitstream/frame.h"
#include "codec/quant/quant.h"
#include "ftcodec/ftcodec.h"

namespace ftc {
namespace {

// Post-ReLU-like data: ~45% zeros, a heavy tail.
Tensor ReluTensor(const Shape& shape, uint32_t seed) {
  Tensor t = Tensor::Create(DType::kF32, shape).value();
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  float* p = t.data_as<float>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const float v = g(rng) + 0.3f * std::sin(0.05f * static_cast<float>(i));
    p[i] = v > 0.1f ? v * v : 0.0f;
  }
  return t;
}

EncoderOptions Ans(int bits, const std::string& clip = "none", bool per_channel = false) {
  EncoderOptions o;
  o.codec = "ans";
  o.bits = bits;
  o.clip = ClipSpec::Parse(clip).value();
  o.per_channel = per_channel;
  return o;
}

// Checks |x - x̂| <= step/2 inside [lo, hi] and x̂ = clamp(x) ± step/2 outside, per range.
void ExpectWithinHalfStep(const Tensor& in, const Tensor& out, const EncoderOptions& o,
                          const Shape& sample_shape) {
  const int64_t e = sample_shape[0] * sample_shape[1] * sample_shape[2];
  const int64_t n = in.num_elements() / e;
  const int64_t groups = o.per_channel ? sample_shape[0] : 1;
  const int64_t per = e / groups;
  for (int64_t s = 0; s < n; ++s) {
    for (int64_t g = 0; g < groups; ++g) {
      const float* x = in.data_as<float>() + s * e + g * per;
      const float* y = out.data_as<float>() + s * e + g * per;
      QuantParams qp = ComputeQuantRange(x, static_cast<size_t>(per), o.clip, o.bits, 0.5f).value();
      const double step = (static_cast<double>(qp.hi) - qp.lo) / ((1 << o.bits) - 1);
      const double tol =
          step / 2 * (1 + 1e-5) + 1e-6 * std::max(std::fabs(qp.lo), std::fabs(qp.hi));
      for (int64_t i = 0; i < per; ++i) {
        const double clamped = std::min<double>(std::max<double>(x[i], qp.lo), qp.hi);
        ASSERT_LE(std::fabs(clamped - y[i]), tol)
            << "sample " << s << " group " << g << " element " << i << " x=" << x[i];
      }
    }
  }
}

struct AnsCase {
  Shape shape;
  int bits;
  std::string clip;
  bool per_channel;
};

class AnsRoundTripTest : public ::testing::TestWithParam<AnsCase> {};

TEST_P(AnsRoundTripTest, WithinHalfAStep) {
  const AnsCase& c = GetParam();
  Tensor t = ReluTensor(c.shape, 11);
  EncoderOptions o = Ans(c.bits, c.clip, c.per_channel);
  Result<Bytes> code = encode(t.view(), o);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  Result<Tensor> back = decode(*code);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->shape(), c.shape);
  Shape sample = c.shape.size() == 4   ? Shape{c.shape[1], c.shape[2], c.shape[3]}
                 : c.shape.size() == 3 ? c.shape
                 : c.shape.size() == 2 ? Shape{1, c.shape[0], c.shape[1]}
                                       : Shape{1, 1, c.shape[0]};
  ExpectWithinHalfStep(t, *back, o, sample);
  // Deterministic, and independent of threads.
  o.threads = 3;
  EXPECT_EQ(encode(t.view(), o).value(), *code);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AnsRoundTripTest,
    ::testing::Values(
        AnsCase{{2, 64, 14, 14}, 4, "none", false}, AnsCase{{2, 64, 14, 14}, 2, "3sigma", false},
        AnsCase{{3, 1, 9, 13}, 4, "none", false},  // C=1, odd H/W
        AnsCase{{1, 5, 7, 3}, 8, "p99.9", true}, AnsCase{{2, 3, 1, 1}, 1, "none", false},
        AnsCase{{1, 7, 5, 11}, 12, "none", true}, AnsCase{{1, 2, 4, 4}, 16, "none", false},
        AnsCase{{5, 17, 19}, 3, "0:2", false}, AnsCase{{9, 31}, 6, "2.5sigma", true},
        AnsCase{{1000}, 5, "none", false}));

TEST(AnsCodecTest, SignedDataAndFixedClipRange) {
  Tensor t = Tensor::Create(DType::kF32, {1, 4, 6, 6}).value();
  std::mt19937 rng(2);
  std::normal_distribution<float> g(0.0f, 2.0f);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data_as<float>()[i] = g(rng);
  EncoderOptions o = Ans(4, "-1.5:4");
  Tensor back = decode(encode(t.view(), o).value()).value();
  ExpectWithinHalfStep(t, back, o, {4, 6, 6});
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    EXPECT_GE(back.data_as<float>()[i], -1.5f);
    EXPECT_LE(back.data_as<float>()[i], 4.0f);
  }
}

TEST(AnsCodecTest, ZerosStayExactlyZeroWithMinMaxRange) {
  Tensor t = ReluTensor({1, 8, 10, 10}, 5);
  Tensor back = decode(encode(t.view(), Ans(3)).value()).value();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if (t.data_as<float>()[i] == 0.0f) {
      ASSERT_EQ(back.data_as<float>()[i], 0.0f);
    }
  }
}

TEST(AnsCodecTest, BandsDecodeToTheSameValues) {
  Tensor t = ReluTensor({2, 6, 13, 9}, 8);
  EncoderOptions o = Ans(4);
  Tensor whole = decode(encode(t.view(), o).value()).value();
  for (int rows : {1, 2, 5, 12, 13, 100}) {
    o.band_rows = rows;
    Bytes code = encode(t.view(), o).value();
    Tensor banded = decode(code).value();
    EXPECT_EQ(std::memcmp(banded.data(), whole.data(), whole.size_bytes()), 0) << rows;
  }
}

TEST(AnsCodecTest, ConstantAndTinyTensors) {
  Tensor t = Tensor::Create(DType::kF32, {1, 3, 64, 64}).value();  // all zeros
  for (int bits : {1, 4, 16}) {
    Bytes code = encode(t.view(), Ans(bits)).value();
    Tensor back = decode(code).value();
    EXPECT_EQ(std::memcmp(back.data(), t.data(), t.size_bytes()), 0);
  }
  float one = 3.5f;
  Tensor b = decode(encode(TensorView::Contiguous(&one, DType::kF32, {1}), Ans(4)).value()).value();
  EXPECT_EQ(b.data_as<float>()[0], 3.5f);
}

TEST(AnsCodecTest, SmallerThanRawOnSparseData) {
  Tensor t = ReluTensor({1, 64, 14, 14}, 3);
  const size_t raw = encode(t.view(), EncoderOptions()).value().size();
  const size_t ans4 = encode(t.view(), Ans(4)).value().size();
  EXPECT_LT(ans4 * 8, raw);  // well under 4 bits per element
}

TEST(AnsCodecTest, HalfInputsDecodeToTheirDType) {
  Tensor t = ReluTensor({1, 3, 5, 5}, 4).ConvertTo(DType::kF16);
  Tensor back = decode(encode(t.view(), Ans(8)).value()).value();
  EXPECT_EQ(back.dtype(), DType::kF16);
}

TEST(AnsCodecTest, NonFiniteInputIsRejectedByLossyMode) {
  Tensor t = ReluTensor({1, 2, 3, 3}, 1);
  t.data_as<float>()[5] = std::numeric_limits<float>::quiet_NaN();
  Result<Bytes> r = encode(t.view(), Ans(4));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("NaN or Inf"), std::string::npos);
  t.data_as<float>()[5] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(encode(t.view(), Ans(4)).ok());
}

class AnsLosslessTest : public ::testing::TestWithParam<DType> {};

TEST_P(AnsLosslessTest, ByteExactIncludingSpecials) {
  const DType d = GetParam();
  Tensor f = ReluTensor({2, 5, 7, 9}, 6);
  // Sprinkle NaN, ±Inf, denormals, -0.
  float* p = f.data_as<float>();
  p[0] = std::numeric_limits<float>::quiet_NaN();
  p[1] = std::numeric_limits<float>::infinity();
  p[2] = -std::numeric_limits<float>::infinity();
  p[3] = 1e-40f;
  p[4] = -0.0f;
  p[5] = 6e-8f;
  Tensor t = f.ConvertTo(d);
  // And random bit patterns in the second sample.
  std::mt19937 rng(9);
  const size_t half = t.size_bytes() / 2;
  for (size_t i = half; i < t.size_bytes(); ++i) t.data()[i] = static_cast<uint8_t>(rng());
  EncoderOptions o;
  o.codec = "ans";
  o.lossless = true;
  for (int rows : {0, 3}) {
    o.band_rows = rows;
    Bytes code = encode(t.view(), o).value();
    Tensor back = decode(code).value();
    ASSERT_EQ(back.dtype(), d);
    EXPECT_EQ(std::memcmp(back.data(), t.data(), t.size_bytes()), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(DTypes, AnsLosslessTest,
                         ::testing::Values(DType::kF32, DType::kF16, DType::kBF16, DType::kU8));

TEST(AnsCodecTest, LosslessShrinksSparseFloats) {
  Tensor t = ReluTensor({1, 64, 14, 14}, 3);
  EncoderOptions o;
  o.codec = "ans";
  o.lossless = true;
  EXPECT_LT(encode(t.view(), o).value().size(), t.size_bytes() * 3 / 4);
}

TEST(AnsCodecTest, OptionErrors) {
  Tensor t = ReluTensor({1, 2, 3, 3}, 1);
  EncoderOptions o = Ans(4);
  o.store_dtype = DType::kF16;
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
  o = Ans(17);
  EXPECT_NE(encode(t.view(), o).status().message().find("bits 17"), std::string::npos);
  o = Ans(4, "3sigma");
  o.lossless = true;
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
  o = Ans(4);
  o.deadzone = 0.7;
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
}

TEST(AnsCodecTest, DeadZoneShrinksTheCode) {
  Tensor t = ReluTensor({1, 32, 14, 14}, 12);
  EncoderOptions o = Ans(4);
  const size_t plain = encode(t.view(), o).value().size();
  o.deadzone = 0.25;
  const size_t dz = encode(t.view(), o).value().size();
  EXPECT_LT(dz, plain);
  Result<StreamInfo> info = probe(encode(t.view(), o).value());
  ASSERT_TRUE(info.ok());
  bool found = false;
  for (const auto& kv : info->frames[0].params)
    found |= kv.first == "rounding" && kv.second == "64/256";
  EXPECT_TRUE(found);
}

// ---------- corrupt ans frames (valid checksums, bad contents) ----------

Bytes Reframe(const Bytes& good, const std::vector<uint8_t>& params,
              const std::vector<Section>& sections) {
  Result<ParsedFrame> f = ParseFrame(good.data(), good.size(), kMaxSampleElements);
  EXPECT_TRUE(f.ok());
  FrameHeader h = f->header;
  h.params = params;
  Bytes out;
  EXPECT_TRUE(WriteFrame(h, sections, &out).ok());
  return out;
}

std::vector<Section> SectionsOf(const Bytes& good) {
  ParsedFrame f = ParseFrame(good.data(), good.size(), kMaxSampleElements).value();
  std::vector<Section> s;
  for (const SectionRef& r : f.sections) s.push_back({r.kind, Bytes(r.data, r.data + r.size)});
  return s;
}

void ExpectDecodeError(const Bytes& b, const std::string& needle) {
  Result<Tensor> t = decode(b);
  ASSERT_FALSE(t.ok()) << "expected: " << needle;
  EXPECT_EQ(t.status().code(), StatusCode::kCorruptData) << t.status().ToString();
  EXPECT_NE(t.status().message().find(needle), std::string::npos) << t.status().ToString();
}

TEST(AnsCorruptTest, BadParametersAndSections) {
  Tensor t = ReluTensor({1, 4, 6, 6}, 2);
  const Bytes good = encode(t.view(), Ans(4)).value();
  const ParsedFrame pf = ParseFrame(good.data(), good.size(), kMaxSampleElements).value();
  const std::vector<uint8_t> params = pf.header.params;  // mode, bits, flags, rounding, band_rows
  const std::vector<Section> secs = SectionsOf(good);
  ASSERT_EQ(params.size(), 5u);

  auto with = [&](size_t i, uint8_t v) {
    std::vector<uint8_t> p = params;
    p[i] = v;
    return p;
  };
  ExpectDecodeError(Reframe(good, with(0, 7), secs), "invalid mode 7");
  ExpectDecodeError(Reframe(good, with(1, 0), secs), "invalid bit depth 0");
  ExpectDecodeError(Reframe(good, with(1, 17), secs), "invalid bit depth 17");
  ExpectDecodeError(Reframe(good, with(2, 0x80), secs), "reserved flag bits");
  ExpectDecodeError(Reframe(good, with(3, 200), secs), "rounding offset");
  ExpectDecodeError(Reframe(good, with(4, 6), secs), "band rows 6 must be 0 or below the height 6");
  std::vector<uint8_t> longer = params;
  longer.push_back(0);
  ExpectDecodeError(Reframe(good, longer, secs), "unexpected parameter bytes");
  ExpectDecodeError(Reframe(good, with(2, 0x01), secs), "ranges section is 8 bytes, expected 32");
  ExpectDecodeError(Reframe(good, params, {secs[1], secs[0]}), "expected a ranges section");

  std::vector<Section> bad_range = secs;
  Bytes r;
  ByteWriter w(&r);
  w.F32(2.0f);
  w.F32(1.0f);  // lo > hi
  bad_range[0].payload = r;
  ExpectDecodeError(Reframe(good, params, bad_range), "range 0 is invalid");
  r.clear();
  w.F32(std::numeric_limits<float>::quiet_NaN());
  w.F32(1.0f);
  bad_range[0].payload = r;
  ExpectDecodeError(Reframe(good, params, bad_range), "range 0 is invalid");

  // A wrong bit depth in the parameters desynchronises the symbol segment: detected.
  Result<Tensor> wrong = decode(Reframe(good, with(1, 5), secs));
  EXPECT_FALSE(wrong.ok());
  // Truncated symbol data.
  std::vector<Section> cut = secs;
  cut[1].payload.resize(cut[1].payload.size() / 2);
  Result<Tensor> c = decode(Reframe(good, params, cut));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("ans: symbols"), std::string::npos) << c.status().ToString();
}

TEST(AnsCorruptTest, EveryTruncationAndBitFlipFails) {
  Tensor t = ReluTensor({2, 3, 5, 5}, 4);
  const Bytes good = encode(t.view(), Ans(4, "3sigma")).value();
  for (size_t n = 0; n < good.size(); ++n) {
    ASSERT_FALSE(decode(Bytes(good.begin(), good.begin() + n)).ok()) << n;
  }
  for (size_t i = 0; i < good.size(); i += 3) {
    Bytes bad = good;
    bad[i] ^= 0x04;
    EXPECT_FALSE(decode(bad).ok()) << i;
  }
}

TEST(AnsCodecTest, InfoShowsQuantizerAndCoder) {
  Tensor t = ReluTensor({1, 4, 6, 6}, 2);
  StreamInfo info = probe(encode(t.view(), Ans(3, "p99", true)).value()).value();
  const auto& p = info.frames[0].params;
  auto get = [&](const std::string& k) {
    for (const auto& kv : p) {
      if (kv.first == k) return kv.second;
    }
    return std::string();
  };
  EXPECT_EQ(get("bits"), "3");
  EXPECT_EQ(get("clip"), "percentile");
  EXPECT_NE(get("ranges").find("per-channel (4)"), std::string::npos);
  ASSERT_EQ(info.frames[0].sections.size(), 2u);
  EXPECT_EQ(info.frames[0].sections[1].kind, "symbols");
}

}  // namespace
}  // namespace ftc

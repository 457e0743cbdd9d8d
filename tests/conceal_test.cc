// Concealment methods on synthetic tensors: each must beat `zero`; received values are kept.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codec/conceal/conceal_internal.h"
#include "ftcodec/packet.h"

namespace ftc {
namespace {

constexpr int kC = 16, kH = 16, kW = 16, kBandRows = 4;

// Smooth channels that are gains and offsets of a few shared patterns (inter-channel
// correlated, approximately low rank), plus a little noise.
std::vector<float> Synthetic(int c, int h, int w, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<float> x(static_cast<size_t>(c) * h * w);
  for (int ch = 0; ch < c; ++ch) {
    const double g1 = 1.5 + u(rng), g2 = 0.7 * u(rng), off = 2.0 + u(rng);
    for (int y = 0; y < h; ++y) {
      for (int xx = 0; xx < w; ++xx) {
        const double p1 = std::sin(0.3 * y + 0.2) * std::cos(0.22 * xx);
        const double p2 = std::cos(0.17 * (y - xx));
        x[(static_cast<size_t>(ch) * h + y) * w + xx] =
            static_cast<float>(g1 * p1 + g2 * p2 + off + 0.01 * u(rng));
      }
    }
  }
  return x;
}

// Loses about a quarter of the bands of kBandRows rows, scattered, never a whole channel.
std::vector<uint8_t> BandLoss(int c, int h, int w, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> lost(static_cast<size_t>(c) * h * w, 0);
  const int bands = h / kBandRows;
  for (int ch = 0; ch < c; ++ch) {
    for (int b = 0; b < bands; ++b) {
      if (rng() % 4 != 0) continue;
      for (int y = b * kBandRows; y < (b + 1) * kBandRows; ++y) {
        for (int xx = 0; xx < w; ++xx) lost[(static_cast<size_t>(ch) * h + y) * w + xx] = 1;
      }
    }
  }
  return lost;
}

double LostMse(const std::vector<float>& a, const std::vector<float>& b,
               const std::vector<uint8_t>& lost) {
  double s = 0;
  int64_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!lost[i]) continue;
    s += (a[i] - b[i]) * static_cast<double>(a[i] - b[i]);
    ++n;
  }
  return n ? s / static_cast<double>(n) : 0;
}

double ConcealMse(ConcealMethod m, const std::vector<float>& truth,
                  const std::vector<uint8_t>& lost, int c, int h, int w,
                  std::shared_ptr<const ConcealPredictor> predictor = nullptr) {
  std::vector<float> x = truth;
  for (size_t i = 0; i < x.size(); ++i) {
    if (lost[i]) x[i] = 1e6f;  // must be overwritten
  }
  ConcealOptions o;
  o.band_rows = kBandRows;
  o.predictor = std::move(predictor);
  EXPECT_TRUE(conceal_sample(x.data(), lost.data(), c, h, w, m, o).ok());
  for (size_t i = 0; i < x.size(); ++i) {
    if (!lost[i]) {
      EXPECT_EQ(x[i], truth[i]) << "received element changed";
    }
    EXPECT_TRUE(std::isfinite(x[i]));
  }
  return LostMse(x, truth, lost);
}

TEST(ConcealTest, EveryMethodBeatsZero) {
  const std::vector<ConcealMethod> methods = {ConcealMethod::kMean, ConcealMethod::kLinear,
                                              ConcealMethod::kInpaint, ConcealMethod::kCaltec,
                                              ConcealMethod::kLowRank};
  for (unsigned seed = 1; seed <= 4; ++seed) {
    const std::vector<float> truth = Synthetic(kC, kH, kW, seed);
    const std::vector<uint8_t> lost = BandLoss(kC, kH, kW, seed + 100);
    const double zero = ConcealMse(ConcealMethod::kZero, truth, lost, kC, kH, kW);
    const double mean = ConcealMse(ConcealMethod::kMean, truth, lost, kC, kH, kW);
    for (ConcealMethod m : methods) {
      const double mse = ConcealMse(m, truth, lost, kC, kH, kW);
      SCOPED_TRACE(std::string(ConcealMethodName(m)) + " seed " + std::to_string(seed));
      EXPECT_LT(mse, zero);
      // Inpainting and the inter-channel methods also beat the channel mean. (linear need not:
      // it copies the nearest row into a lost top or bottom band.)
      if (m != ConcealMethod::kMean && m != ConcealMethod::kLinear) {
        EXPECT_LT(mse, mean);
      }
    }
  }
}

TEST(ConcealTest, InterChannelMethodsUseOtherChannels) {
  // Exactly correlated channels (gain and offset of one pattern): caltec and lowrank recover a
  // lost band that spatial interpolation cannot (a non-smooth pattern).
  const int c = 8, h = 12, w = 10;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> pattern(static_cast<size_t>(h) * w);
  for (float& v : pattern) v = u(rng);
  std::vector<float> truth(static_cast<size_t>(c) * h * w);
  for (int ch = 0; ch < c; ++ch) {
    const float g = 1 + 0.5f * ch, o = 0.25f * ch;
    for (int i = 0; i < h * w; ++i) truth[static_cast<size_t>(ch * h * w + i)] = g * pattern[i] + o;
  }
  std::vector<uint8_t> lost(truth.size(), 0);
  for (int i = 4 * w; i < 8 * w; ++i)
    lost[static_cast<size_t>(2 * h * w + i)] = 1;  // ch 2, rows 4..7
  ConcealOptions o;
  o.band_rows = 4;
  std::vector<float> x = truth;
  ASSERT_TRUE(conceal_sample(x.data(), lost.data(), c, h, w, ConcealMethod::kCaltec, o).ok());
  EXPECT_LT(LostMse(x, truth, lost), 1e-8);
  const double inpaint = ConcealMse(ConcealMethod::kInpaint, truth, lost, c, h, w);
  const double lowrank = ConcealMse(ConcealMethod::kLowRank, truth, lost, c, h, w);
  EXPECT_LT(lowrank, 0.1 * inpaint);
}

// Samples of one "model": every channel a fixed gain and offset of two shared patterns (the
// same for every sample) whose phases vary from sample to sample, plus a little noise.
std::vector<float> ModelSample(int c, int h, int w, unsigned sample_seed) {
  std::mt19937 model(7), rng(sample_seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const double a = 3 * u(rng), b = 3 * u(rng);
  std::vector<float> x(static_cast<size_t>(c) * h * w);
  for (int ch = 0; ch < c; ++ch) {
    const double g1 = 1.5 + u(model), g2 = u(model), off = 2.0 + u(model);
    for (int y = 0; y < h; ++y) {
      for (int xx = 0; xx < w; ++xx) {
        const double p1 = std::sin(0.9 * y + a) * std::cos(0.7 * xx + b);
        const double p2 = std::cos(1.1 * (y - xx) + b);
        x[(static_cast<size_t>(ch) * h + y) * w + xx] =
            static_cast<float>(g1 * p1 + g2 * p2 + off + 0.01 * u(rng));
      }
    }
  }
  return x;
}

// ALTeC with a predictor fitted on other samples of the same "model" beats zero fill, the
// channel mean and linear interpolation (the patterns are not smooth along H, so the other
// channels carry what the rows above and below cannot).
TEST(ConcealTest, AltecFittedPredictorBeatsTheTrainingFreeMethods) {
  const int n = 40;
  std::vector<float> train;
  for (int i = 0; i < n; ++i) {
    const std::vector<float> s = ModelSample(kC, kH, kW, 1000 + i);
    train.insert(train.end(), s.begin(), s.end());
  }
  Result<ConcealPredictor> fit =
      fit_conceal_predictor(TensorView::Contiguous(train.data(), DType::kF32, {n, kC, kH, kW}));
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  ASSERT_TRUE(fit->Validate().ok());
  ASSERT_EQ(fit->channels.size(), static_cast<size_t>(kC));
  EXPECT_EQ(fit->channels[0].sources.size(), 15u);  // min(32, C - 1)
  auto pred = std::make_shared<const ConcealPredictor>(std::move(*fit));
  for (unsigned seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::vector<float> truth = ModelSample(kC, kH, kW, seed);
    const std::vector<uint8_t> lost = BandLoss(kC, kH, kW, seed + 100);
    const double altec = ConcealMse(ConcealMethod::kAltec, truth, lost, kC, kH, kW, pred);
    EXPECT_LT(altec, ConcealMse(ConcealMethod::kZero, truth, lost, kC, kH, kW));
    EXPECT_LT(altec, ConcealMse(ConcealMethod::kMean, truth, lost, kC, kH, kW));
    EXPECT_LT(altec, 0.5 * ConcealMse(ConcealMethod::kLinear, truth, lost, kC, kH, kW));
  }
  // The same fit from the same features (deterministic).
  Result<ConcealPredictor> again =
      fit_conceal_predictor(TensorView::Contiguous(train.data(), DType::kF32, {n, kC, kH, kW}));
  ASSERT_TRUE(again.ok());
  for (int ch = 0; ch < kC; ++ch) {
    EXPECT_EQ(again->channels[ch].weights, pred->channels[ch].weights);
    EXPECT_EQ(again->channels[ch].bias, pred->channels[ch].bias);
  }
  // Its work is bounded by the mask: passes × lost × (3 + sources).
  const std::vector<uint8_t> lost = BandLoss(kC, kH, kW, 5);
  ConcealOptions o;
  o.predictor = pred;
  const int64_t lost_n = std::count(lost.begin(), lost.end(), 1);
  EXPECT_EQ(estimate_conceal_work(lost.data(), kC, kH, kW, ConcealMethod::kAltec, o),
            2 * lost_n * (3 + 15));
}

TEST(ConcealTest, AltecNeedsAPredictorOfTheSamplesChannels) {
  std::vector<float> x(2 * 3 * 4, 1.0f);
  std::vector<uint8_t> lost(x.size(), 0);
  lost[5] = 1;
  Status s = conceal_sample(x.data(), lost.data(), 2, 3, 4, ConcealMethod::kAltec);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("predictor"), std::string::npos) << s.ToString();
  auto pred = std::make_shared<ConcealPredictor>();
  pred->channels.resize(3);
  ConcealOptions o;
  o.predictor = pred;
  s = conceal_sample(x.data(), lost.data(), 2, 3, 4, ConcealMethod::kAltec, o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("3 channels"), std::string::npos) << s.ToString();
  pred->channels.resize(2);
  pred->channels[1].sources = {1};  // itself
  pred->channels[1].weights = {1.0f};
  s = conceal_sample(x.data(), lost.data(), 2, 3, 4, ConcealMethod::kAltec, o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("channel 1"), std::string::npos) << s.ToString();
  EXPECT_EQ(
      fit_conceal_predictor(TensorView::Contiguous(x.data(), DType::kF32, {24})).status().code(),
      StatusCode::kInvalidArgument);
}

TEST(ConcealTest, EmptyChannelsAndEdges) {
  const int c = 3, h = 6, w = 5;
  std::vector<float> x(static_cast<size_t>(c) * h * w, 0.0f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7);
  std::vector<uint8_t> lost(x.size(), 0);
  for (int i = 0; i < h * w; ++i) lost[static_cast<size_t>(h * w + i)] = 1;  // channel 1: all lost
  double mean = 0;
  int n = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!lost[i]) mean += x[i], ++n;
  }
  mean /= n;
  for (ConcealMethod m : {ConcealMethod::kZero, ConcealMethod::kMean, ConcealMethod::kLinear,
                          ConcealMethod::kInpaint, ConcealMethod::kCaltec}) {
    std::vector<float> y = x;
    ASSERT_TRUE(conceal_sample(y.data(), lost.data(), c, h, w, m).ok());
    for (int i = 0; i < h * w; ++i) {
      EXPECT_NEAR(y[static_cast<size_t>(h * w + i)], m == ConcealMethod::kZero ? 0.0 : mean, 1e-5)
          << ConcealMethodName(m);
    }
  }
  // Everything lost: the mean of nothing is 0. One element: lowrank falls back gracefully.
  std::vector<uint8_t> all(x.size(), 1);
  for (ConcealMethod m :
       {ConcealMethod::kInpaint, ConcealMethod::kLowRank, ConcealMethod::kCaltec}) {
    std::vector<float> y = x;
    ASSERT_TRUE(conceal_sample(y.data(), all.data(), c, h, w, m).ok());
    for (float v : y) EXPECT_EQ(v, 0.0f);
  }
  float one = 5;
  const uint8_t one_lost = 1;
  EXPECT_TRUE(conceal_sample(&one, &one_lost, 1, 1, 1, ConcealMethod::kLowRank).ok());
  // Linear: top rows lost copy the first received row; interior rows interpolate.
  std::vector<float> col = {0, 0, 2, 0, 6, 0};
  std::vector<uint8_t> cl = {1, 1, 0, 1, 0, 1};
  ASSERT_TRUE(conceal_sample(col.data(), cl.data(), 1, 6, 1, ConcealMethod::kLinear).ok());
  EXPECT_EQ(col, (std::vector<float>{2, 2, 2, 4, 6, 6}));
  EXPECT_FALSE(conceal_sample(col.data(), cl.data(), 0, 6, 1, ConcealMethod::kLinear).ok());
}

TEST(ConcealTest, InpaintSolvesLaplace) {
  // A harmonic function (x² − y²) is reproduced from its boundary when the interior is lost.
  const int h = 12, w = 12;
  std::vector<float> truth(static_cast<size_t>(h) * w);
  std::vector<uint8_t> lost(truth.size(), 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      truth[static_cast<size_t>(y * w + x)] =
          static_cast<float>((x - 5.5) * (x - 5.5) - (y - 5.5) * (y - 5.5));
      lost[static_cast<size_t>(y * w + x)] = y > 0 && y < h - 1 && x > 0 && x < w - 1;
    }
  }
  EXPECT_LT(ConcealMse(ConcealMethod::kInpaint, truth, lost, 1, h, w), 1e-6);
}

TEST(ConcealTest, JacobiEigenDecomposes) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int n : {1, 2, 5, 17}) {
    std::vector<double> b(static_cast<size_t>(n) * n), a(b.size(), 0.0);
    for (double& v : b) v = u(rng);
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        for (int k = 0; k < n; ++k) a[i * n + j] += b[i * n + k] * b[j * n + k];
      }
    }
    std::vector<double> work = a, values, vectors(a.size(), 0.0);
    for (int i = 0; i < n; ++i) vectors[i * n + i] = 1;
    conceal::JacobiEigen(&work, n, &values, &vectors, 50);
    // A v_k = λ_k v_k and V orthonormal.
    for (int k = 0; k < n; ++k) {
      EXPECT_GE(values[k], -1e-9);
      for (int i = 0; i < n; ++i) {
        double av = 0;
        for (int j = 0; j < n; ++j) av += a[i * n + j] * vectors[j * n + k];
        EXPECT_NEAR(av, values[k] * vectors[i * n + k], 1e-9);
      }
      for (int l = 0; l < n; ++l) {
        double d = 0;
        for (int i = 0; i < n; ++i) d += vectors[i * n + k] * vectors[i * n + l];
        EXPECT_NEAR(d, k == l ? 1.0 : 0.0, 1e-9);
      }
    }
  }
}

TEST(ConcealTest, MethodNames) {
  for (const std::string& name : ConcealMethodNames()) {
    Result<ConcealMethod> m = ParseConcealMethod(name);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(name, ConcealMethodName(*m));
  }
  EXPECT_EQ(ConcealMethodNames().size(), 7u);
  EXPECT_FALSE(ParseConcealMethod("telea").ok());
}

}  // namespace
}  // namespace ftc

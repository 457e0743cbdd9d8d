// Determinism: the same input and options give the same bytes on every run, thread count and
// SIMD target this CPU can run (docs/format.md: "Deterministic"), and decoding is identical too.
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cstring>
#include <vector>

#include "codec/quant/quant.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "tests/test_util.h"

namespace ftc {
namespace {

Tensor RealFeatures(const std::string& name, int64_t samples) {
  std::vector<uint8_t> b = test::ReadFileBytes(test::SourcePath("data/features/" + name + ".npy"));
  Tensor t = ReadNpy(b.data(), b.size()).value().tensor;
  Shape s = t.shape();
  const int64_t per = t.num_elements() / s[0];
  s[0] = samples;
  Tensor out = Tensor::Create(t.dtype(), s).value();
  std::memcpy(out.data(), t.data(), static_cast<size_t>(per * samples) * DTypeSize(t.dtype()));
  return out;
}

std::vector<EncoderOptions> Settings() {
  std::vector<EncoderOptions> all;
  for (int bits : {2, 4, 8}) {
    for (const char* clip : {"none", "3sigma", "p99.9"}) {
      for (bool pc : {false, true}) {
        EncoderOptions o;
        o.codec = "ans";
        o.bits = bits;
        o.clip = ClipSpec::Parse(clip).value();
        o.per_channel = pc;
        all.push_back(o);
      }
    }
  }
  EncoderOptions dz;
  dz.codec = "ans";
  dz.deadzone = 0.2;
  dz.band_rows = 3;
  all.push_back(dz);
  EncoderOptions ll;
  ll.codec = "ans";
  ll.lossless = true;
  all.push_back(ll);
  return all;
}

TEST(DeterminismTest, EverySimdTargetGivesTheSameBytes) {
  const Tensor relu = RealFeatures("fmnist_s1_relu", 2);
  const Tensor bn = RealFeatures("fmnist_s1_bn", 2);
  std::vector<Bytes> baseline;
  std::vector<Tensor> decoded;
  for (const EncoderOptions& o : Settings()) {
    for (const Tensor* t : {&relu, &bn}) {
      baseline.push_back(encode(t->view(), o).value());
      decoded.push_back(decode(baseline.back()).value());
    }
  }
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  ASSERT_GE(targets.size(), 1u);
  for (int64_t target : targets) {
    SCOPED_TRACE(hwy::TargetName(target));
    hwy::SetSupportedTargetsForTest(target);
    size_t k = 0;
    for (const EncoderOptions& o : Settings()) {
      for (const Tensor* t : {&relu, &bn}) {
        EXPECT_EQ(encode(t->view(), o).value(), baseline[k]) << "setting " << k;
        Tensor d = decode(baseline[k]).value();
        EXPECT_EQ(std::memcmp(d.data(), decoded[k].data(), d.size_bytes()), 0) << "setting " << k;
        ++k;
      }
    }
    EXPECT_EQ(QuantizeDispatchTargetForTest(), target) << "the quantizer did not run on it";
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST(DeterminismTest, ThreadsAndRepeatsGiveTheSameBytes) {
  const Tensor relu = RealFeatures("fmnist_s1_relu", 8);
  for (const EncoderOptions& base : Settings()) {
    EncoderOptions o = base;
    const Bytes one = encode(relu.view(), o).value();
    EXPECT_EQ(encode(relu.view(), o).value(), one);
    o.threads = 4;
    EXPECT_EQ(encode(relu.view(), o).value(), one);
    DecoderOptions d;
    d.threads = 3;
    Tensor a = decode(one).value(), b = decode(one, d).value();
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size_bytes()), 0);
  }
}

}  // namespace
}  // namespace ftc

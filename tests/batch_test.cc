// decode_batch: many streams into one caller-allocated tensor, per-stream errors, executors, and
// codec learned's batched restoration (on the fake units of tests/fake_learned_unit.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "codec/learned/learned_unit.h"
#include "ftcodec/ftcodec.h"
#include "tests/fake_learned_unit.h"

namespace ftc {
namespace {

constexpr int64_t kC = 6, kH = 5, kW = 7;

std::vector<float> Sample(int seed, int64_t elements = kC * kH * kW) {
  std::vector<float> x(static_cast<size_t>(elements));
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = std::max(0.0f, std::sin(0.37f * static_cast<float>(i) + static_cast<float>(seed)));
  }
  return x;
}

Bytes Encode(const std::vector<float>& x, const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  EXPECT_EQ(static_cast<int64_t>(x.size()), n);
  EncoderOptions o;
  o.codec = "ans";
  o.bits = 4;
  Result<Bytes> b = encode(TensorView::Contiguous(x.data(), DType::kF32, shape), o);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? *b : Bytes();
}

// Runs the tasks on the calling thread, last first, and counts them.
class ReverseExecutor : public Executor {
 public:
  void Run(int64_t count, const std::function<void(int64_t)>& task) override {
    for (int64_t i = count - 1; i >= 0; --i) {
      task(i);
      ++calls;
    }
  }
  int64_t calls = 0;
};

TEST(BatchTest, DecodesEveryStreamIntoItsSampleAndIsolatesFailures) {
  std::vector<Bytes> streams;
  for (int s = 0; s < 5; ++s) {
    // Rank 3 and rank 4 with one sample both hold one C×H×W sample.
    streams.push_back(Encode(Sample(s), s % 2 ? Shape{kC, kH, kW} : Shape{1, kC, kH, kW}));
  }
  Bytes corrupt = streams[1];
  corrupt[corrupt.size() / 2] ^= 0x40;
  streams.push_back(corrupt);  // 5: corrupt
  streams.push_back(
      Encode(Sample(9, kC * (kH + 1) * (kW - 1)), Shape{kC, kH + 1, kW - 1}));  // 6: another shape
  std::vector<StreamRef> refs;
  for (const Bytes& b : streams) refs.push_back({b.data(), b.size()});
  for (DType dtype : {DType::kF32, DType::kF16}) {
    Tensor out = Tensor::Create(dtype, {7, kC, kH, kW}).value();
    std::memset(out.data(), 0x5a, out.size_bytes());  // no stale byte may survive
    for (int threads : {1, 2}) {
      DecoderOptions o;
      o.threads = threads;
      Result<std::vector<Status>> st = decode_batch(refs, &out, o);
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      ASSERT_EQ(st->size(), 7u);
      const size_t sample_bytes = out.size_bytes() / 7;
      for (size_t i = 0; i < 5; ++i) {
        ASSERT_TRUE((*st)[i].ok()) << i << ": " << (*st)[i].ToString();
        DecoderOptions one;
        one.dtype = dtype;
        const Tensor ref = decode(streams[i], one).value();
        EXPECT_EQ(std::memcmp(out.data() + i * sample_bytes, ref.data(), sample_bytes), 0) << i;
      }
      EXPECT_EQ((*st)[5].code(), StatusCode::kCorruptData) << (*st)[5].ToString();
      EXPECT_EQ((*st)[6].code(), StatusCode::kInvalidArgument) << (*st)[6].ToString();
      EXPECT_NE((*st)[6].message().find("6x6x6"), std::string::npos) << (*st)[6].message();
      for (size_t i = 5; i < 7; ++i) {
        const uint8_t* p = out.data() + i * sample_bytes;
        for (size_t k = 0; k < sample_bytes; ++k) ASSERT_EQ(p[k], 0) << "sample " << i;
      }
    }
  }
}

TEST(BatchTest, RunsOnTheCallersExecutor) {
  std::vector<Bytes> streams;
  std::vector<StreamRef> refs;
  for (int s = 0; s < 4; ++s) streams.push_back(Encode(Sample(s), {kC, kH, kW}));
  for (const Bytes& b : streams) refs.push_back({b.data(), b.size()});
  Tensor a = Tensor::Create(DType::kF32, {4, kC, kH, kW}).value();
  Tensor b = Tensor::Create(DType::kF32, {4, kC, kH, kW}).value();
  ReverseExecutor mine;
  ASSERT_TRUE(decode_batch(refs, &a, {}, &mine).ok());
  EXPECT_EQ(mine.calls, 4);
  std::unique_ptr<Executor> pool = MakeThreadExecutor(2);
  Result<std::vector<Status>> st = decode_batch(refs, &b, {}, pool.get());
  ASSERT_TRUE(st.ok());
  for (const Status& s : *st) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size_bytes()), 0);
}

TEST(BatchTest, RefusesAnUnusableOutput) {
  const Bytes s = Encode(Sample(0), {kC, kH, kW});
  const std::vector<StreamRef> refs = {{s.data(), s.size()}};
  Tensor rank3 = Tensor::Create(DType::kF32, {kC, kH, kW}).value();
  EXPECT_EQ(decode_batch(refs, &rank3).status().code(), StatusCode::kInvalidArgument);
  Tensor two = Tensor::Create(DType::kF32, {2, kC, kH, kW}).value();
  EXPECT_EQ(decode_batch(refs, &two).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(decode_batch(refs, nullptr).status().code(), StatusCode::kInvalidArgument);
  DecoderOptions bad;
  bad.threads = 0;
  Tensor one = Tensor::Create(DType::kF32, {1, kC, kH, kW}).value();
  EXPECT_EQ(decode_batch(refs, &one, bad).status().code(), StatusCode::kInvalidArgument);
}

// A fake unit ("count:unitA": unitA of tests/fake_learned_unit.h) that counts its batched
// restorations and can be told to fail them.
class CountingUnit : public LearnedUnitHandle {
 public:
  explicit CountingUnit(std::shared_ptr<const LearnedUnitHandle> unit) : unit_(std::move(unit)) {}
  const UnitHash& hash() const override { return unit_->hash(); }
  SampleShape split_shape() const override { return unit_->split_shape(); }
  SampleShape code_shape() const override { return unit_->code_shape(); }
  const std::string& inner() const override { return unit_->inner(); }
  int bits() const override { return unit_->bits(); }
  int quality() const override { return unit_->quality(); }
  Status Reduce(const TensorView& sample, Tensor* code) const override {
    return unit_->Reduce(sample, code);
  }
  Status Restore(const TensorView& code, Tensor* features) const override {
    return unit_->Restore(code, features);
  }
  Status RestoreBatch(const float* codes, int64_t n, float* features) const override {
    ++calls;
    samples += n;
    largest = std::max<int64_t>(largest, n);
    if (fail) return Status(StatusCode::kInternal, "told to fail");
    return unit_->RestoreBatch(codes, n, features);
  }

  static std::atomic<int64_t> calls, samples, largest;
  static std::atomic<bool> fail;

 private:
  std::shared_ptr<const LearnedUnitHandle> unit_;
};
std::atomic<int64_t> CountingUnit::calls{0}, CountingUnit::samples{0}, CountingUnit::largest{0};
std::atomic<bool> CountingUnit::fail{false};

Result<std::shared_ptr<const LearnedUnitHandle>> CountingLoader(const std::string& dir) {
  if (dir == "count:unitA") {
    static const std::shared_ptr<const LearnedUnitHandle> unit =
        std::make_shared<CountingUnit>(test::FakeUnitFor("unitA"));
    return unit;
  }
  return test::FakeLoader(dir);
}

class LearnedBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterLearnedUnitLoader(&CountingLoader);
    CountingUnit::calls = 0;
    CountingUnit::samples = 0;
    CountingUnit::largest = 0;
    CountingUnit::fail = false;
  }
  void TearDown() override {
    CountingUnit::fail = false;
    RegisterLearnedUnitLoader(&test::FakeLoader);
  }
};

constexpr int64_t kFC = test::kFakeC, kFH = test::kFakeH, kFW = test::kFakeW;

Bytes EncodeLearned(const std::string& unit, int seed, const Shape& shape = {kFC, kFH, kFW}) {
  const std::vector<float> x = Sample(seed, shape[0] * shape[1] * shape[2]);
  EncoderOptions o;
  o.codec = "learned";
  o.unit = unit;
  Result<Bytes> b = encode(TensorView::Contiguous(x.data(), DType::kF32, shape), o);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? *b : Bytes();
}

// Every sample of a batch of learned streams, restored in chunks, is the per-stream decode's,
// in every output dtype and with the executor on 1 or 2 threads; streams the batched path does
// not take (another unit, another codec, another shape, corrupt) decode on their own.
TEST_F(LearnedBatchTest, RestoresLearnedFramesTogetherAsDecodeDoesOneByOne) {
  const std::string unit = "count:unitA";
  std::vector<Bytes> streams;
  std::vector<StatusCode> want(150, StatusCode::kOk);
  for (int s = 0; s < 150; ++s) streams.push_back(EncodeLearned(unit, s));
  streams[3] = EncodeLearned("unitB", 3);  // another unit: refused as by decode
  want[3] = StatusCode::kUnsupported;
  streams[70] = Encode(Sample(70, kFC * kFH * kFW), {kFC, kFH, kFW});  // codec ans: decodes
  streams[71][streams[71].size() / 2] ^= 0x20;                         // corrupt
  want[71] = StatusCode::kCorruptData;
  streams[72] = EncodeLearned("unitA+wide", 72, {kFC, kFH, 10});  // another shape
  want[72] = StatusCode::kUnsupported;
  streams[73].resize(streams[73].size() - 1);  // truncated
  want[73] = StatusCode::kCorruptData;
  std::vector<StreamRef> refs;
  for (const Bytes& b : streams) refs.push_back({b.data(), b.size()});
  const int64_t n = static_cast<int64_t>(streams.size());
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (int threads : {1, 2}) {
      CountingUnit::calls = 0;
      CountingUnit::samples = 0;
      Tensor out = Tensor::Create(dtype, {n, kFC, kFH, kFW}).value();
      std::memset(out.data(), 0x5a, out.size_bytes());
      DecoderOptions o;
      o.unit = unit;
      o.threads = threads;
      Result<std::vector<Status>> st = decode_batch(refs, &out, o);
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      const size_t sample_bytes = out.size_bytes() / static_cast<size_t>(n);
      for (size_t i = 0; i < streams.size(); ++i) {
        const uint8_t* got = out.data() + i * sample_bytes;
        ASSERT_EQ((*st)[i].code(), want[i]) << i << ": " << (*st)[i].ToString();
        if (want[i] != StatusCode::kOk) {
          DecoderOptions one = o;
          one.threads = 1;
          EXPECT_EQ((*st)[i].message(), decode(streams[i], one).status().message()) << i;
          for (size_t k = 0; k < sample_bytes; ++k) ASSERT_EQ(got[k], 0) << "sample " << i;
          continue;
        }
        DecoderOptions one = o;
        one.dtype = dtype;
        one.threads = 1;
        const Tensor ref = decode(streams[i], one).value();
        ASSERT_EQ(ref.size_bytes(), sample_bytes);
        EXPECT_EQ(std::memcmp(got, ref.data(), sample_bytes), 0) << "sample " << i;
      }
      // 145 learned streams of the unit, in chunks of at most 64 and near-equal size.
      EXPECT_EQ(CountingUnit::samples.load(), 145);
      EXPECT_EQ(CountingUnit::calls.load(), 3);
      EXPECT_EQ(CountingUnit::largest.load(), 49);
    }
  }
}

TEST_F(LearnedBatchTest, AUnitFailingOnABatchFallsBackToOneStreamAtATime) {
  std::vector<Bytes> streams;
  for (int s = 0; s < 5; ++s) streams.push_back(EncodeLearned("count:unitA", s));
  std::vector<StreamRef> refs;
  for (const Bytes& b : streams) refs.push_back({b.data(), b.size()});
  Tensor out = Tensor::Create(DType::kF32, {5, kFC, kFH, kFW}).value();
  DecoderOptions o;
  o.unit = "count:unitA";
  CountingUnit::fail = true;
  Result<std::vector<Status>> st = decode_batch(refs, &out, o);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(CountingUnit::calls.load(), 1);
  const size_t sample_bytes = out.size_bytes() / 5;
  for (size_t i = 0; i < 5; ++i) {
    ASSERT_TRUE((*st)[i].ok()) << (*st)[i].ToString();
    const Tensor ref = decode(streams[i], o).value();
    EXPECT_EQ(std::memcmp(out.data() + i * sample_bytes, ref.data(), sample_bytes), 0) << i;
  }
}

TEST_F(LearnedBatchTest, WithoutAUnitEveryLearnedStreamFailsAsDecodeDoes) {
  const Bytes s = EncodeLearned("count:unitA", 0);
  const std::vector<StreamRef> refs = {{s.data(), s.size()}, {s.data(), s.size()}};
  Tensor out = Tensor::Create(DType::kF32, {2, kFC, kFH, kFW}).value();
  for (const char* dir : {"", "no-such-unit"}) {
    DecoderOptions o;
    o.unit = dir;
    Result<std::vector<Status>> st = decode_batch(refs, &out, o);
    ASSERT_TRUE(st.ok());
    for (const Status& one : *st) {
      EXPECT_FALSE(one.ok());
      EXPECT_EQ(one.message(), decode(s, o).status().message());
    }
  }
  EXPECT_EQ(CountingUnit::calls.load(), 0);
}

}  // namespace
}  // namespace ftc

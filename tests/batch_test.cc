// decode_batch: many streams into one caller-allocated tensor, per-stream errors, executors.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "ftcodec/ftcodec.h"

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

}  // namespace
}  // namespace ftc

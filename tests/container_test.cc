// Container (frame) tests: raw round trips, corrupt input, limits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "base/byte_io.h"
#include "base/crc32c.h"
#include "bitstream/frame.h"
#include "ftcodec/ftcodec.h"

namespace ftc {
namespace {

Tensor RandomTensor(DType dtype, const Shape& shape, uint32_t seed) {
  Tensor t = Tensor::Create(dtype, shape).value();
  std::mt19937 rng(seed);
  for (size_t i = 0; i < t.size_bytes(); ++i) t.data()[i] = static_cast<uint8_t>(rng());
  return t;
}

void ExpectError(const Bytes& bytes, StatusCode code, const std::string& needle) {
  Result<Tensor> t = decode(bytes);
  ASSERT_FALSE(t.ok()) << "expected an error containing '" << needle << "'";
  EXPECT_EQ(t.status().code(), code) << t.status().ToString();
  EXPECT_NE(t.status().message().find(needle), std::string::npos) << t.status().ToString();
}

TEST(Crc32cTest, StandardCheckValue) {
  const char* s = "123456789";
  EXPECT_EQ(Crc32c(reinterpret_cast<const uint8_t*>(s), 9), 0xE3069283u);
  // Extend is associative over splits.
  const uint32_t part = Crc32c(reinterpret_cast<const uint8_t*>(s), 4);
  EXPECT_EQ(Crc32cExtend(part, reinterpret_cast<const uint8_t*>(s) + 4, 5), 0xE3069283u);
}

struct RoundTripCase {
  DType dtype;
  Shape shape;
};

class RawRoundTripTest : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(RawRoundTripTest, ByteExact) {
  const RoundTripCase& c = GetParam();
  Tensor t = RandomTensor(c.dtype, c.shape, 7);  // random bits: NaNs, Infs, denormals included
  EncoderOptions o;
  Result<Bytes> code = encode(t.view(), o);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  Result<Tensor> back = decode(*code);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->dtype(), c.dtype);
  EXPECT_EQ(back->shape(), c.shape);
  ASSERT_EQ(back->size_bytes(), t.size_bytes());
  EXPECT_EQ(std::memcmp(back->data(), t.data(), t.size_bytes()), 0);
  // One frame per sample.
  Result<StreamInfo> info = probe(*code);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->frames.size(), c.shape.size() == 4 ? static_cast<size_t>(c.shape[0]) : 1u);
  EXPECT_EQ(info->total_size, code->size());
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, RawRoundTripTest,
    ::testing::Values(
        RoundTripCase{DType::kF32, {1, 1, 1, 1}}, RoundTripCase{DType::kF32, {3, 1, 5, 7}},
        RoundTripCase{DType::kF32, {2, 64, 14, 14}}, RoundTripCase{DType::kF16, {4, 3, 9, 11}},
        RoundTripCase{DType::kBF16, {2, 5, 3, 3}}, RoundTripCase{DType::kU8, {3, 2, 7, 5}},
        RoundTripCase{DType::kF32, {7, 13, 17}}, RoundTripCase{DType::kF16, {1, 9, 1}},
        RoundTripCase{DType::kU8, {31, 3}}, RoundTripCase{DType::kBF16, {1, 1}},
        RoundTripCase{DType::kF32, {1}}, RoundTripCase{DType::kF16, {1001}}));

TEST(RawCodecTest, NonContiguousViewsRoundTrip) {
  // A 2x3x4x5 tensor seen with its channel and width axes permuted (N,W,H,C order in memory).
  Tensor base = RandomTensor(DType::kF32, {2, 5, 4, 3}, 3);
  TensorView v = TensorView::Strided(base.data(), DType::kF32, {2, 3, 4, 5}, {60, 1, 3, 12});
  ASSERT_TRUE(v.Validate().ok());
  Result<Bytes> code = encode(v, EncoderOptions());
  ASSERT_TRUE(code.ok());
  Result<Tensor> back = decode(*code);
  ASSERT_TRUE(back.ok());
  Tensor expect = Tensor::CopyOf(v).value();
  EXPECT_EQ(std::memcmp(back->data(), expect.data(), expect.size_bytes()), 0);
  // Every other row of a matrix.
  Tensor m = RandomTensor(DType::kF16, {6, 4}, 4);
  TensorView rows = TensorView::Strided(m.data(), DType::kF16, {3, 4}, {8, 1});
  Result<Tensor> rb = decode(encode(rows, EncoderOptions()).value());
  ASSERT_TRUE(rb.ok());
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(std::memcmp(rb->data() + r * 8, m.data() + r * 16, 8), 0);
  }
}

TEST(RawCodecTest, StoredDTypeConversionAndDecodeDType) {
  Tensor t = Tensor::Create(DType::kF32, {1, 2, 2, 2}).value();
  const float vals[8] = {
      1.0f, -2.5f, 1e-8f, 70000.f, 0.1f, std::numeric_limits<float>::infinity(), -0.0f, 3.14159f};
  std::memcpy(t.data(), vals, sizeof(vals));
  EncoderOptions o;
  o.store_dtype = DType::kF16;
  Bytes code = encode(t.view(), o).value();
  Tensor back = decode(code).value();
  ASSERT_EQ(back.dtype(), DType::kF32);  // restores the original dtype
  for (int i = 0; i < 8; ++i) {
    const float want = F16ToF32(F32ToF16(vals[i]));
    EXPECT_EQ(std::memcmp(&back.data_as<float>()[i], &want, 4), 0) << i;
  }
  DecoderOptions d;
  d.dtype = DType::kBF16;
  Tensor b = decode(code, d).value();
  EXPECT_EQ(b.dtype(), DType::kBF16);
  EXPECT_EQ(b.data_as<uint16_t>()[0], F32ToBF16(1.0f));
  // Float input can't be stored as u8.
  o.store_dtype = DType::kU8;
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
}

TEST(RawCodecTest, RawFrameOverheadIsSmall) {
  Tensor t = RandomTensor(DType::kF32, {1, 64, 14, 14}, 1);
  Bytes code = encode(t.view(), EncoderOptions()).value();
  EXPECT_LE(code.size(), t.size_bytes() + 40);
}

// ---------- corrupt input ----------

Bytes SmallFrame() {
  Tensor t = RandomTensor(DType::kF32, {2, 2, 3, 3}, 9);
  return encode(t.view(), EncoderOptions()).value();
}

// Header length of frames made by MakeHeader (all varints one byte): magic..params.
size_t HeaderLen(const Bytes& b) { return 10 + b[7] + 3 + 1; }  // rank at byte 7; raw params = 1

void FixHeaderCrc(Bytes* b) {
  const size_t n = HeaderLen(*b);
  const uint32_t crc = Crc32c(b->data(), n);
  for (int i = 0; i < 4; ++i) (*b)[n + i] = static_cast<uint8_t>(crc >> (8 * i));
}

TEST(CorruptInputTest, EveryTruncationIsAnError) {
  const Bytes good = SmallFrame();
  for (size_t n = 0; n < good.size(); ++n) {
    Bytes cut(good.begin(), good.begin() + n);
    Result<Tensor> t = decode(cut);
    ASSERT_FALSE(t.ok()) << "truncated to " << n;
    EXPECT_EQ(t.status().code() == StatusCode::kCorruptData ||
                  t.status().code() == StatusCode::kLimitExceeded,
              true)
        << t.status().ToString();
  }
}

TEST(CorruptInputTest, EveryBitFlipIsDetected) {
  const Bytes good = SmallFrame();
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bad = good;
      bad[i] ^= static_cast<uint8_t>(1 << bit);
      EXPECT_FALSE(decode(bad).ok()) << "flip at byte " << i << " bit " << bit;
    }
  }
}

TEST(CorruptInputTest, WrongMagic) {
  Bytes b = SmallFrame();
  b[1] = 'X';
  ExpectError(b, StatusCode::kCorruptData, "wrong magic number");
}

TEST(CorruptInputTest, UnsupportedVersion) {
  Bytes b = SmallFrame();
  b[4] = 4;
  FixHeaderCrc(&b);
  ExpectError(b, StatusCode::kUnsupported,
              "unsupported format version 4 (this build reads version 3)");
  b[4] = 0;
  FixHeaderCrc(&b);
  ExpectError(b, StatusCode::kUnsupported, "unsupported format version 0");
}

// Versions 1 and 2 were development formats with another symbol segment: refused with a clear
// error, whatever the codec.
TEST(CorruptInputTest, EarlierDevelopmentVersionsAreRefused) {
  for (uint8_t v : {1, 2}) {
    Bytes b = SmallFrame();
    b[4] = v;
    FixHeaderCrc(&b);
    ExpectError(b, StatusCode::kUnsupported, "an earlier development format");
  }
}

TEST(CorruptInputTest, ReservedFlagBits) {
  Bytes b = SmallFrame();
  b[5] = 0x10;
  FixHeaderCrc(&b);
  ExpectError(b, StatusCode::kCorruptData, "reserved flag bits are set");
}

TEST(CorruptInputTest, HeaderChecksum) {
  Bytes b = SmallFrame();
  b[10] ^= 1;  // a shape byte
  ExpectError(b, StatusCode::kCorruptData, "header checksum mismatch");
}

TEST(CorruptInputTest, SectionChecksum) {
  Bytes b = SmallFrame();
  b[HeaderLen(b) + 4 + 3] ^= 0x80;  // inside the first section's payload
  ExpectError(b, StatusCode::kCorruptData, "section 0: checksum mismatch");
}

TEST(CorruptInputTest, TrailingGarbage) {
  Bytes b = SmallFrame();
  b.push_back(0);
  ExpectError(b, StatusCode::kCorruptData, "trailing bytes after the last frame");
  Bytes c = SmallFrame();
  const Bytes single = encode(RandomTensor(DType::kF32, {3}, 1).view(), EncoderOptions()).value();
  c.insert(c.end(), single.begin(), single.end());
  ExpectError(c, StatusCode::kCorruptData, "trailing bytes");
}

TEST(CorruptInputTest, MissingFrame) {
  Bytes b = SmallFrame();
  Result<StreamInfo> info = probe(b);
  ASSERT_TRUE(info.ok());
  b.resize(info->frames[0].size);
  ExpectError(b, StatusCode::kCorruptData, "truncated: 1 of 2 frames present");
}

TEST(CorruptInputTest, EmptyInput) {
  ExpectError(Bytes(), StatusCode::kCorruptData, "empty input");
}

// Builds a frame by hand: raw codec, given shape, payload of `payload` bytes.
Bytes HandMadeFrame(const Shape& shape, size_t payload, uint64_t section_len_override = 0) {
  Bytes out;
  ByteWriter w(&out);
  w.Bytes(kFrameMagic, 4);
  w.U8(kFormatVersion);
  w.U8(0);
  w.U8(0);  // f32
  w.U8(static_cast<uint8_t>(shape.size()));
  w.U8(0);  // raw
  w.U8(1);
  for (int64_t d : shape) w.Varint(static_cast<uint64_t>(d));
  w.Varint(0);
  w.Varint(shape.size() == 4 ? static_cast<uint64_t>(shape[0]) : 1);
  w.Varint(1);
  w.U8(0);  // stored f32
  w.U32(Crc32c(out.data(), out.size()));
  const size_t s = out.size();
  w.U8(1);
  w.Varint(section_len_override ? section_len_override : payload);
  Bytes zeros(payload, 0);
  w.Bytes(zeros.data(), zeros.size());
  w.U32(Crc32c(out.data() + s, out.size() - s));
  return out;
}

TEST(CorruptInputTest, HandMadeFrameIsValid) {
  Result<Tensor> t = decode(HandMadeFrame({2, 3}, 24));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
}

TEST(CorruptInputTest, AbsurdShapes) {
  ExpectError(HandMadeFrame({int64_t{1} << 20, int64_t{1} << 20}, 4), StatusCode::kLimitExceeded,
              "exceeds the decoder's limit");
  ExpectError(HandMadeFrame({int64_t{1} << 30, int64_t{1} << 30, 4}, 4), StatusCode::kLimitExceeded,
              "more than 2^40 elements");
  ExpectError(HandMadeFrame({3, 0, 2}, 0), StatusCode::kCorruptData, "dimension 1 is 0");
  ExpectError(HandMadeFrame({int64_t{1} << 32}, 4), StatusCode::kLimitExceeded, "above the limit");
}

TEST(CorruptInputTest, ExpansionLimitStopsTinyFilesClaimingBigTensors) {
  // 2^24 elements claimed by a ~30-byte frame: refused before any allocation.
  ExpectError(HandMadeFrame({4096, 4096}, 4), StatusCode::kLimitExceeded, "expansion limit");
}

TEST(CorruptInputTest, DecoderMemoryCap) {
  Tensor t = RandomTensor(DType::kF32, {1, 4, 16, 16}, 2);
  Bytes code = encode(t.view(), EncoderOptions()).value();
  DecoderOptions o;
  o.max_frame_elements = 1000;
  Result<Tensor> r = decode(code, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  EXPECT_NE(r.status().message().find("limit of 1000"), std::string::npos);
}

TEST(CorruptInputTest, LengthPastTheEnd) {
  ExpectError(HandMadeFrame({2, 3}, 24, 1000), StatusCode::kCorruptData, "runs past the end");
}

TEST(CorruptInputTest, RawSectionSizeMismatch) {
  ExpectError(HandMadeFrame({2, 3}, 20), StatusCode::kCorruptData,
              "data section is 20 bytes, the shape needs 24");
}

TEST(EncodeTest, RejectsBadOptionsAndTensors) {
  Tensor t = RandomTensor(DType::kF32, {2, 2}, 1);
  EncoderOptions o;
  o.codec = "nope";
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
  o.codec = "learned";  // known to the format; built only once a unit loader is registered
  const std::vector<std::string> built = AvailableCodecs();
  if (std::find(built.begin(), built.end(), "learned") == built.end()) {
    EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kNotBuiltIn);
  } else {
    EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);  // no unit
  }
  o = EncoderOptions();
  o.threads = 0;
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
  float x[4] = {};
  TensorView v = TensorView::Contiguous(x, DType::kF32, {2, 0, 2});
  Result<Bytes> r = encode(v, EncoderOptions());
  EXPECT_NE(r.status().message().find("dimension 1 is 0"), std::string::npos);
}

TEST(EncodeTest, ThreadsDoNotChangeBytes) {
  Tensor t = RandomTensor(DType::kF32, {9, 3, 5, 5}, 5);
  EncoderOptions o;
  Bytes one = encode(t.view(), o).value();
  o.threads = 4;
  EXPECT_EQ(encode(t.view(), o).value(), one);
  DecoderOptions d;
  d.threads = 3;
  Tensor back = decode(one, d).value();
  EXPECT_EQ(std::memcmp(back.data(), t.data(), t.size_bytes()), 0);
}

TEST(EncodeTest, PaddingKeepsExpansionLimit) {
  // Frames are padded so the decoder's expansion limit always holds for what the encoder wrote.
  FrameHeader h;
  h.shape = {1, 1, 256, 1024};  // 2^18 elements
  h.batch_count = 1;
  h.params = {0};
  Bytes out;
  ASSERT_TRUE(WriteFrame(h, {Section{1, Bytes(8, 0)}}, &out).ok());
  EXPECT_GE(static_cast<int64_t>(out.size()) * kExpansionRatio + kExpansionSlack, int64_t{1} << 18);
  Result<ParsedFrame> f = ParseFrame(out.data(), out.size(), kMaxSampleElements);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->sections.size(), 1u);
  EXPECT_EQ(f->size, out.size());
}

}  // namespace
}  // namespace ftc

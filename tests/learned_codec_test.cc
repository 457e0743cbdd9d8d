// Codec `learned` without libtorch: a fake unit loader (tests/fake_learned_unit.h: 2×2 average
// pooling of the first C' channels squashed into [0, 1]; restoration by the inverse squash and
// nearest upsampling) drives the torch-free codec: round trips against a manual inner-codec
// round trip, determinism, batches, inner jpeg, unit mismatch, option checks, corrupt parameters
// and sections, probe. Packet mode: tests/learned_packet_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bitstream/frame.h"
#include "codec/learned/learned_params.h"
#include "codec/learned/learned_unit.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "tests/fake_learned_unit.h"

namespace ftc {
namespace {

// Features C×H×W = 8×8×6 -> code 4×4×3 (tests/fake_learned_unit.h).
constexpr int64_t kC = test::kFakeC, kH = test::kFakeH, kW = test::kFakeW;
using test::FakeLoader;

std::shared_ptr<const LearnedUnitHandle> Unit(const std::string& dir) {
  return test::FakeUnitFor(dir);
}

class LearnedCodecTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterLearnedUnitLoader(&FakeLoader); }
};

Tensor Features(const Shape& shape, uint32_t seed) {
  Tensor t = Tensor::Create(DType::kF32, shape).value();
  float* p = t.data_as<float>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    p[i] = 2.0f * std::sin(0.37f * static_cast<float>(i) + static_cast<float>(seed)) +
           0.5f * std::cos(0.05f * static_cast<float>(i * seed));
  }
  return t;
}

EncoderOptions Learned(const std::string& unit, const std::string& inner = "") {
  EncoderOptions o;
  o.codec = "learned";
  o.unit = unit;
  o.inner = inner;
  return o;
}

DecoderOptions WithUnit(const std::string& unit) {
  DecoderOptions d;
  d.unit = unit;
  return d;
}

// What decoding must give for one sample: Restore(inner codec round trip of Reduce(sample)).
Tensor Expected(const std::string& dir, const TensorView& sample, const EncoderOptions& inner) {
  std::shared_ptr<const LearnedUnitHandle> u = Unit(dir);
  Tensor code;
  EXPECT_TRUE(u->Reduce(sample, &code).ok());
  Tensor q = decode(encode(code.view(), inner).value()).value();
  Tensor out;
  EXPECT_TRUE(u->Restore(q.view(), &out).ok());
  return out;
}

EncoderOptions InnerAns(int bits) {
  EncoderOptions o;
  o.codec = "ans";
  o.bits = bits;
  o.clip = ClipSpec::Parse("0:1").value();
  return o;
}

bool SameFloats(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.size_bytes() == b.size_bytes() &&
         std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

// A frame rebuilt (fresh checksums) after `edit` changes its header or sections.
Bytes Rebuild(const Bytes& frame,
              const std::function<void(FrameHeader*, std::vector<Section>*)>& edit) {
  Result<ParsedFrame> f = ParseFrame(frame.data(), frame.size(), kMaxSampleElements);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  FrameHeader h = f->header;
  std::vector<Section> sections;
  for (const SectionRef& s : f->sections) {
    sections.push_back(Section{s.kind, std::vector<uint8_t>(s.data, s.data + s.size)});
  }
  edit(&h, &sections);
  Bytes out;
  EXPECT_TRUE(WriteFrame(h, sections, &out).ok());
  return out;
}

void ExpectDecodeError(const Bytes& bytes, StatusCode code, const std::string& needle,
                       const std::string& unit = "unitA") {
  Result<Tensor> t = decode(bytes, WithUnit(unit));
  ASSERT_FALSE(t.ok()) << "expected an error containing '" << needle << "'";
  EXPECT_EQ(t.status().code(), code) << t.status().ToString();
  EXPECT_NE(t.status().message().find(needle), std::string::npos) << t.status().ToString();
}

TEST(LearnedNotBuiltTest, UnknownWithoutLoader) {
  // Tests run one per process under ctest; in a whole-binary run a loader may be registered.
  if (GetLearnedUnitLoader()) GTEST_SKIP() << "a learned unit loader is already registered";
  const std::vector<std::string> built = AvailableCodecs();
  EXPECT_EQ(std::find(built.begin(), built.end(), "learned"), built.end());
  EXPECT_TRUE(IsKnownCodec("learned"));
  EncoderOptions o = Learned("unitA");
  EXPECT_EQ(o.Validate().code(), StatusCode::kNotBuiltIn);
  // A frame of codec 4 (its contents do not matter: the codec is looked up first).
  FrameHeader h;
  h.shape = {kC, kH, kW};
  h.codec_id = learned::kCodecId;
  h.params.assign(31, 0);
  Bytes frame;
  ASSERT_TRUE(WriteFrame(h, {Section{17, {1, 2, 3}}}, &frame).ok());
  Result<Tensor> t = decode(frame);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kNotBuiltIn);
  EXPECT_NE(t.status().message().find(
                "the stream uses codec 'learned', which is not built into this ftcodec"),
            std::string::npos)
      << t.status().ToString();
}

TEST_F(LearnedCodecTest, RegistrationAddsTheCodecOnce) {
  RegisterLearnedUnitLoader(&FakeLoader);  // idempotent
  const std::vector<std::string> built = AvailableCodecs();
  EXPECT_EQ(std::count(built.begin(), built.end(), "learned"), 1);
  EXPECT_EQ(built.back(), "learned");
  EXPECT_EQ(GetLearnedUnitLoader(), &FakeLoader);
}

TEST(LearnedParamsTest, HashHex) {
  UnitHash h{};
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i * 17);
  EXPECT_EQ(UnitHashHex(h), "00112233445566778899aabbccddeeff");
}

TEST(LearnedParamsTest, WriteParseRoundTrip) {
  learned::LearnedParams p;
  for (size_t i = 0; i < p.unit_hash.size(); ++i) p.unit_hash[i] = static_cast<uint8_t>(i + 1);
  p.inner_id = learned::kInnerJpeg;
  p.code = {16, 7, 7};
  p.inner_params = {9, 8, 7};
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(learned::WriteLearnedParams(p, &bytes).ok());
  ASSERT_EQ(bytes.size(), learned::kFixedParamsSize + 3);
  EXPECT_EQ(bytes[16], 2);   // Inner_Codec_Id
  EXPECT_EQ(bytes[17], 16);  // Code_C, little-endian
  EXPECT_EQ(bytes[29], 3);   // Inner_Params_Size
  Result<learned::LearnedParams> q = learned::ParseLearnedParams(bytes.data(), bytes.size());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->unit_hash, p.unit_hash);
  EXPECT_EQ(q->inner_id, p.inner_id);
  EXPECT_EQ(q->code.c, 16);
  EXPECT_EQ(q->code.h, 7);
  EXPECT_EQ(q->code.w, 7);
  EXPECT_EQ(q->inner_params, p.inner_params);
  // Invalid params are not written.
  p.code.h = 0;
  EXPECT_EQ(learned::WriteLearnedParams(p, &bytes).code(), StatusCode::kInternal);
}

TEST(LearnedParamsTest, RejectsBadParams) {
  learned::LearnedParams p;
  p.inner_id = learned::kInnerAns;
  p.code = {4, 4, 3};
  p.inner_params = {0, 5, 2, 128, 0};
  std::vector<uint8_t> good;
  ASSERT_TRUE(learned::WriteLearnedParams(p, &good).ok());
  auto expect = [](std::vector<uint8_t> b, const std::string& needle) {
    Result<learned::LearnedParams> r = learned::ParseLearnedParams(b.data(), b.size());
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruptData);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().ToString();
  };
  expect(std::vector<uint8_t>(good.begin(), good.begin() + 30), "at least 31 needed");
  expect({}, "at least 31 needed");
  std::vector<uint8_t> b = good;
  b[16] = 0;
  expect(b, "invalid inner codec id 0");
  b[16] = 3;
  expect(b, "invalid inner codec id 3");
  b = good;
  std::memset(&b[21], 0, 4);  // Code_H = 0
  expect(b, "Code_H 0 out of range");
  b = good;
  std::memset(&b[17], 0xFF, 4);  // Code_C = 2^32 - 1
  expect(b, "Code_C 4294967295 out of range");
  b = good;
  const uint8_t big[4] = {0x00, 0x00, 0x01, 0x00};  // 65536
  std::memcpy(&b[17], big, 4);
  std::memcpy(&b[21], big, 4);
  expect(b, "more than 2^28 elements");
  b = good;
  b[29] = 6;  // one more inner byte than present
  expect(b, "inner parameters of 6 bytes, but only 5 bytes follow");
  b = good;
  b[29] = 0xFF;
  b[30] = 0xFF;
  expect(b, "exceed the limit");
  b = good;
  b.push_back(0);
  expect(b, "1 unexpected bytes after the inner parameters");
}

TEST(LearnedParamsTest, SectionNames) {
  EXPECT_STREQ(learned::LearnedSectionName(17), "ans.ranges");
  EXPECT_STREQ(learned::LearnedSectionName(18), "ans.symbols");
  EXPECT_STREQ(learned::LearnedSectionName(19), "ans.plane");
  EXPECT_STREQ(learned::LearnedSectionName(33), "jpeg.ranges");
  EXPECT_STREQ(learned::LearnedSectionName(34), "jpeg.order");
  EXPECT_STREQ(learned::LearnedSectionName(35), "jpeg.picture");
  for (int k : {0, 1, 2, 3, 16, 20, 32, 36, 49, 255}) {
    EXPECT_EQ(learned::LearnedSectionName(static_cast<uint8_t>(k)), nullptr) << k;
  }
}

TEST_F(LearnedCodecTest, RoundTripMatchesInnerAnsRoundTrip) {
  const Tensor t = Features({kC, kH, kW}, 3);
  Result<Bytes> code = encode(t.view(), Learned("unitA"));
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  Result<Bytes> again = encode(t.view(), Learned("unitA"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*code, *again);
  Result<Tensor> back = decode(*code, WithUnit("unitA"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  Result<Tensor> twice = decode(*code, WithUnit("unitA"));
  ASSERT_TRUE(twice.ok());
  EXPECT_TRUE(SameFloats(*back, *twice));
  EXPECT_EQ(back->shape(), t.shape());
  EXPECT_EQ(back->dtype(), DType::kF32);
  // The unit was trained for ans at 5 bits: that is what codes the code.
  EXPECT_TRUE(SameFloats(*back, Expected("unitA", t.view(), InnerAns(5))));

  // The frame carries exactly what an ans frame of the code would: its params and sections.
  Tensor c;
  ASSERT_TRUE(Unit("unitA")->Reduce(t.view(), &c).ok());
  const Bytes ans = encode(c.view(), InnerAns(5)).value();
  const ParsedFrame lf = ParseFrame(code->data(), code->size(), kMaxSampleElements).value();
  const ParsedFrame af = ParseFrame(ans.data(), ans.size(), kMaxSampleElements).value();
  const learned::LearnedParams p =
      learned::ParseLearnedParams(lf.header.params.data(), lf.header.params.size()).value();
  EXPECT_EQ(p.unit_hash, Unit("unitA")->hash());
  EXPECT_EQ(p.inner_id, learned::kInnerAns);
  EXPECT_EQ(p.code.c, 4);
  EXPECT_EQ(p.code.h, 4);
  EXPECT_EQ(p.code.w, 3);
  EXPECT_EQ(p.inner_params, af.header.params);
  ASSERT_EQ(lf.sections.size(), af.sections.size());
  for (size_t k = 0; k < lf.sections.size(); ++k) {
    EXPECT_EQ(lf.sections[k].kind, 16 + af.sections[k].kind);
    ASSERT_EQ(lf.sections[k].size, af.sections[k].size);
    EXPECT_EQ(std::memcmp(lf.sections[k].data, af.sections[k].data, af.sections[k].size), 0);
  }
}

TEST_F(LearnedCodecTest, InnerAnsBitsOverrideTheUnit) {
  const Tensor t = Features({kC, kH, kW}, 4);
  EncoderOptions o = Learned("unitA", "ans");
  o.bits = 2;
  const Bytes two = encode(t.view(), o).value();
  o.bits = 9;
  const Bytes nine = encode(t.view(), o).value();
  EXPECT_LT(two.size(), nine.size());
  EXPECT_TRUE(
      SameFloats(decode(two, WithUnit("unitA")).value(), Expected("unitA", t.view(), InnerAns(2))));
  EXPECT_TRUE(SameFloats(decode(nine, WithUnit("unitA")).value(),
                         Expected("unitA", t.view(), InnerAns(9))));
  // Without --inner, bits is ignored: the unit's 5 bits apply.
  EncoderOptions d = Learned("unitA");
  d.bits = 2;
  EXPECT_EQ(encode(t.view(), d).value(), encode(t.view(), Learned("unitA")).value());
}

TEST_F(LearnedCodecTest, BatchIsOneFramePerSample) {
  const Tensor t = Features({3, kC, kH, kW}, 5);
  EncoderOptions o = Learned("unitA");
  const Bytes code = encode(t.view(), o).value();
  o.threads = 3;
  EXPECT_EQ(encode(t.view(), o).value(), code);
  const Tensor back = decode(code, WithUnit("unitA")).value();
  EXPECT_EQ(back.shape(), t.shape());
  const StreamInfo info = probe(code).value();
  ASSERT_EQ(info.frames.size(), 3u);
  const size_t per = static_cast<size_t>(kC * kH * kW);
  for (int64_t n = 0; n < 3; ++n) {
    const TensorView s = TensorView::Contiguous(t.data_as<float>() + n * static_cast<int64_t>(per),
                                                DType::kF32, {kC, kH, kW});
    const Tensor want = Expected("unitA", s, InnerAns(5));
    EXPECT_EQ(std::memcmp(back.data_as<float>() + n * static_cast<int64_t>(per), want.data(),
                          want.size_bytes()),
              0)
        << "sample " << n;
  }
}

TEST_F(LearnedCodecTest, HalfPrecisionInputKeepsItsDtype) {
  const Tensor t = Features({2, kC, kH, kW}, 6).ConvertTo(DType::kF16);
  const Bytes code = encode(t.view(), Learned("unitA")).value();
  const Tensor back = decode(code, WithUnit("unitA")).value();
  EXPECT_EQ(back.dtype(), DType::kF16);
  DecoderOptions d = WithUnit("unitA");
  d.dtype = DType::kF32;
  const Tensor f32 = decode(code, d).value();
  EXPECT_TRUE(SameFloats(f32.ConvertTo(DType::kF16), back));
  // u8 features are refused.
  const Tensor u8 = Tensor::Create(DType::kU8, {kC, kH, kW}).value();
  Result<Bytes> r = encode(u8.view(), Learned("unitA"));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("not u8"), std::string::npos) << r.status().ToString();
}

#ifdef FTC_HAVE_JPEG
TEST_F(LearnedCodecTest, InnerJpeg) {
  const Tensor t = Features({2, kC, kH, kW}, 7);
  EncoderOptions jo;
  jo.codec = "jpeg";
  jo.quality = 80;
  jo.clip = ClipSpec::Parse("0:1").value();
  // unitJ was trained for jpeg at quality 80.
  const Bytes code = encode(t.view(), Learned("unitJ")).value();
  const Tensor back = decode(code, WithUnit("unitJ")).value();
  EXPECT_EQ(back.shape(), t.shape());
  const size_t per = static_cast<size_t>(kC * kH * kW);
  for (int64_t n = 0; n < 2; ++n) {
    const TensorView s = TensorView::Contiguous(t.data_as<float>() + n * static_cast<int64_t>(per),
                                                DType::kF32, {kC, kH, kW});
    const Tensor want = Expected("unitJ", s, jo);
    EXPECT_EQ(std::memcmp(back.data_as<float>() + n * static_cast<int64_t>(per), want.data(),
                          want.size_bytes()),
              0);
  }
  const StreamInfo info = probe(code).value();
  const FrameInfo& f = info.frames[0];
  ASSERT_EQ(f.sections.size(), 2u);
  EXPECT_EQ(f.sections[0].kind, "jpeg.ranges");
  EXPECT_EQ(f.sections[1].kind, "jpeg.picture");
  bool quality = false;
  for (const auto& [k, v] : f.params) quality = quality || (k == "jpeg.quality" && v == "80");
  EXPECT_TRUE(quality);
  // --inner jpeg on an ans unit, at another quality.
  EncoderOptions o = Learned("unitA", "jpeg");
  o.quality = 30;
  jo.quality = 30;
  const Tensor one = Features({kC, kH, kW}, 8);
  EXPECT_TRUE(SameFloats(decode(encode(one.view(), o).value(), WithUnit("unitA")).value(),
                         Expected("unitA", one.view(), jo)));
}
#else
TEST_F(LearnedCodecTest, InnerJpegNotBuiltIn) {
  const Tensor t = Features({kC, kH, kW}, 7);
  for (const EncoderOptions& o : {Learned("unitA", "jpeg"), Learned("unitJ")}) {
    Result<Bytes> r = encode(t.view(), o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kNotBuiltIn) << r.status().ToString();
    EXPECT_NE(r.status().message().find("learned: inner codec"), std::string::npos);
  }
}
#endif

TEST_F(LearnedCodecTest, DecodingNeedsTheSameUnit) {
  const Tensor t = Features({kC, kH, kW}, 9);
  const Bytes code = encode(t.view(), Learned("unitA")).value();
  const std::string a = UnitHashHex(Unit("unitA")->hash());
  const std::string b = UnitHashHex(Unit("unitB")->hash());
  ASSERT_NE(a, b);
  Result<Tensor> r = decode(code, WithUnit("unitB"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("unit mismatch"), std::string::npos);
  EXPECT_NE(r.status().message().find(a), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find(b), std::string::npos) << r.status().ToString();
  // No unit given.
  r = decode(code);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("learned unit " + a), std::string::npos);
  EXPECT_NE(r.status().message().find("needs --unit DIR"), std::string::npos);
  // A unit that cannot be loaded.
  EXPECT_EQ(decode(code, WithUnit("missing")).status().code(), StatusCode::kIoError);
  // The same hash with other shapes.
  r = decode(code, WithUnit("unitA+wide"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("8x8x10 features"), std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("the stream has 8x8x6 features"), std::string::npos);
}

TEST_F(LearnedCodecTest, EncoderOptionChecks) {
  const Tensor t = Features({kC, kH, kW}, 10);
  auto expect = [&](const EncoderOptions& o, StatusCode code, const std::string& needle) {
    Result<Bytes> r = encode(t.view(), o);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().ToString();
  };
  expect(Learned(""), StatusCode::kInvalidArgument, "codec learned needs --unit DIR");
  expect(Learned("unitA", "zip"), StatusCode::kInvalidArgument, "inner codec 'zip'");
  expect(Learned("missing"), StatusCode::kIoError, "missing");
  EncoderOptions o = Learned("unitA");
  o.clip = ClipSpec::Parse("3sigma").value();
  expect(o, StatusCode::kInvalidArgument, "fixed range [0, 1]");
  o = Learned("unitA");
  o.lossless = true;
  expect(o, StatusCode::kInvalidArgument, "no lossless mode");
  o = Learned("unitA");
  o.band_rows = 2;
  expect(o, StatusCode::kInvalidArgument, "--band-rows");
  o = Learned("unitA");
  o.sequence = true;
  expect(o, StatusCode::kInvalidArgument, "sequence");
  o = Learned("unitA");
  o.store_dtype = DType::kF16;
  expect(o, StatusCode::kInvalidArgument, "--dtype");
  // unit / inner with another codec.
  EncoderOptions a;
  a.codec = "ans";
  a.unit = "unitA";
  expect(a, StatusCode::kInvalidArgument, "unit");
  a.unit.clear();
  a.inner = "ans";
  expect(a, StatusCode::kInvalidArgument, "inner");
  // Features of another shape.
  const Tensor small = Features({kC, 4, kW}, 11);
  Result<Bytes> r = encode(small.view(), Learned("unitA"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("unit unitA expects features of shape 8x8x6 per sample, "
                                      "got 8x4x6"),
            std::string::npos)
      << r.status().ToString();
}

TEST_F(LearnedCodecTest, ProbeDescribesTheFrame) {
  const Tensor t = Features({2, kC, kH, kW}, 12);
  const Bytes code = encode(t.view(), Learned("unitA")).value();
  Result<StreamInfo> info = probe(code);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  const FrameInfo& f = info->frames[0];
  EXPECT_EQ(f.codec, "learned");
  EXPECT_EQ(f.sample_shape, (Shape{kC, kH, kW}));
  std::map<std::string, std::string> params(f.params.begin(), f.params.end());
  EXPECT_EQ(params["unit"], UnitHashHex(Unit("unitA")->hash()));
  EXPECT_EQ(params["inner"], "ans");
  EXPECT_EQ(params["code_shape"], "4x4x3");
  EXPECT_EQ(params["ans.bits"], "5");
  EXPECT_EQ(params["ans.mode"], "quantized");
  EXPECT_EQ(params["ans.range"], "[0, 1]");
  ASSERT_EQ(f.sections.size(), 2u);
  EXPECT_EQ(f.sections[0].kind, "ans.ranges");
  EXPECT_EQ(f.sections[1].kind, "ans.symbols");
}

TEST_F(LearnedCodecTest, CorruptFramesAreRejected) {
  const Tensor t = Features({kC, kH, kW}, 13);
  const Bytes good = encode(t.view(), Learned("unitA")).value();
  ASSERT_TRUE(
      decode(Rebuild(good, [](FrameHeader*, std::vector<Section>*) {}), WithUnit("unitA")).ok());
  auto params = [&](const std::function<void(std::vector<uint8_t>*)>& edit) {
    return Rebuild(good, [&](FrameHeader* h, std::vector<Section>*) { edit(&h->params); });
  };
  ExpectDecodeError(params([](std::vector<uint8_t>* p) { p->resize(20); }),
                    StatusCode::kCorruptData, "learned: codec parameters are 20 bytes");
  ExpectDecodeError(params([](std::vector<uint8_t>* p) { (*p)[16] = 7; }), StatusCode::kCorruptData,
                    "invalid inner codec id 7");
  ExpectDecodeError(params([](std::vector<uint8_t>* p) { std::memset(p->data() + 25, 0, 4); }),
                    StatusCode::kCorruptData, "Code_W 0 out of range");
  ExpectDecodeError(
      params([](std::vector<uint8_t>* p) { (*p)[29] = static_cast<uint8_t>((*p)[29] + 1); }),
      StatusCode::kCorruptData, "but only");
  ExpectDecodeError(params([](std::vector<uint8_t>* p) { p->push_back(0); }),
                    StatusCode::kCorruptData, "1 unexpected bytes after the inner parameters");
  // A section of the other inner codec, and a kind no inner codec has.
  ExpectDecodeError(Rebuild(good, [](FrameHeader*, std::vector<Section>* s) { (*s)[0].kind = 33; }),
                    StatusCode::kCorruptData,
                    "section 0 has kind 33, not a section of inner codec ans");
  ExpectDecodeError(Rebuild(good, [](FrameHeader*, std::vector<Section>* s) { (*s)[1].kind = 16; }),
                    StatusCode::kCorruptData, "section 1 has kind 16");
  // Inner params the inner codec rejects (ans Bits = 0), and inner sections out of order.
  ExpectDecodeError(params([](std::vector<uint8_t>* p) { (*p)[32] = 0; }), StatusCode::kCorruptData,
                    "learned: ");
  ExpectDecodeError(
      Rebuild(good, [](FrameHeader*, std::vector<Section>* s) { std::swap((*s)[0], (*s)[1]); }),
      StatusCode::kCorruptData, "learned: ans: expected a ranges section and a symbols section");
  // The frame's code shape disagrees with the unit: unsupported, not corrupt.
  ExpectDecodeError(params([](std::vector<uint8_t>* p) { (*p)[17] = 5; }), StatusCode::kUnsupported,
                    "a 5x4x3 code");
  // A u8 learned frame.
  ExpectDecodeError(
      Rebuild(good, [](FrameHeader* h, std::vector<Section>*) { h->dtype = DType::kU8; }),
      StatusCode::kCorruptData, "u8");
  // Probe checks the same things.
  Result<StreamInfo> info = probe(params([](std::vector<uint8_t>* p) { (*p)[16] = 7; }));
  EXPECT_EQ(info.status().code(), StatusCode::kCorruptData);
}

}  // namespace
}  // namespace ftc

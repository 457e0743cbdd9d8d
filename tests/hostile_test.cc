// Decoders under hostile input (issue 17): packet streams that claim more than
// their bytes carry must fail with a specific error before anything large is
// allocated or computed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "bitstream/packet.h"
#include "codec/packet/packet_parse.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "tests/hostile_inputs.h"
#include "tests/test_util.h"

namespace ftc {
namespace {

// The committed copies under tests/data/hostile/ are the generator's bytes.
// With FTC_WRITE_HOSTILE=1 the test rewrites them instead.
TEST(HostileInputsTest, CommittedFilesMatchTheGenerator) {
  const bool write = std::getenv("FTC_WRITE_HOSTILE") != nullptr;
  for (const test::HostileInput& h : test::AllHostileInputs()) {
    SCOPED_TRACE(h.name);
    const std::string path = test::SourcePath("tests/data/hostile/" + h.name);
    if (write) test::WriteFileBytes(path, h.bytes);
    EXPECT_EQ(test::ReadFileBytes(path), h.bytes);
    EXPECT_LT(h.bytes.size(), 200u);
  }
}

}  // namespace
}  // namespace ftc

namespace ftc {
namespace {

// The packets of a hostile .ftcp file: its parameter set, then its data packet.
std::vector<Bytes> PacketsOf(const std::vector<uint8_t>& file) {
  PacketStreamContents c = ReadPacketStream(file.data(), file.size());
  EXPECT_EQ(c.packets.size(), 2u);
  return c.packets;
}

// Pushes a file's packets: the first failure, or Ok.
Status PushAll(Decoder& d, const std::vector<uint8_t>& file) {
  Status first;
  for (const Bytes& p : PacketsOf(file)) {
    Status s = d.push(p);
    if (first.ok()) first = s;
  }
  return first;
}

// The file's data packet parsed with its parameter set (the parameter set's error if it fails).
Result<ParsedPacket> ParseFile(const std::vector<uint8_t>& file, const DecoderLimits& limits) {
  const std::vector<Bytes> packets = PacketsOf(file);
  Result<ParsedParameterSet> ps =
      ParseCodecParameterSet(packets[0].data(), packets[0].size(), limits);
  if (!ps.ok()) return ps.status();
  return ParseDataPacket(packets[1].data(), packets[1].size(), *ps, limits);
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(HostileTest, HugeSampleIsRefusedBeforeAnything) {
  const std::vector<uint8_t> p = test::HugeSampleStream().bytes;
  Decoder d;
  Status s = PushAll(d, p);
  EXPECT_EQ(s.code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(Contains(s.message(),
                       "1 bands of up to 268435456 elements in 38 bytes exceed the "
                       "decoder's expansion limit"))
      << s.message();
  EXPECT_EQ(d.stats().corrupt, 1u);
  EXPECT_EQ(d.stats().over_limit, 1u);
  EXPECT_EQ(d.stats().parameter_sets, 1u);
  Result<DecodedTensor> r = d.finish();
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(Contains(r.status().message(), "no data packet arrived")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "packet 2 was dropped")) << r.status().message();
}

TEST(HostileTest, HugeBandCountsAreRefusedBeforeTheBandsAreListed) {
  for (const test::HostileInput& h :
       {test::HugeBandCountStream(), test::InterleavedHugeBandCountStream()}) {
    SCOPED_TRACE(h.name);
    const std::vector<uint8_t> p = h.bytes;
    Result<ParsedPacket> parsed = ParseFile(p, DecoderLimits());
    EXPECT_EQ(parsed.status().code(), StatusCode::kLimitExceeded);
    EXPECT_EQ(parsed.status().message(),
              "parameter set: 268435456 bands per sample exceed the decoder's limit of 16777216");
    Decoder d;
    EXPECT_EQ(PushAll(d, p).code(), StatusCode::kLimitExceeded);
    EXPECT_EQ(d.finish().status().code(), StatusCode::kLimitExceeded);
    // With more bands allowed, the expansion limit still holds.
    DecoderLimits l;
    l.max_bands = int64_t{1} << 30;
    parsed = ParseFile(p, l);
    EXPECT_EQ(parsed.status().code(), StatusCode::kLimitExceeded);
    EXPECT_TRUE(Contains(parsed.status().message(), "268435456 bands of up to 1 elements"))
        << parsed.status().message();
  }
}

TEST(HostileTest, HugeFrameCountFailsInFinishBeforeAllocating) {
  const std::vector<uint8_t> p = test::HugeFrameCountStream().bytes;
  Decoder d;
  ASSERT_TRUE(PushAll(d, p).ok());  // one sample of one element: a fine packet
  Result<DecodedTensor> r = d.finish(ConcealMethod::kCaltec);
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(Contains(r.status().message(),
                       "a tensor of 268435456 elements (268435456 samples of 1) is more than the "
                       "38 bytes of its 1 accepted packets can describe"))
      << r.status().message();
  // An explicit element cap below the tensor gives the cap's message.
  PacketDecoderOptions o;
  o.limits = DecoderLimits::ForElements(1000);
  Decoder e(o);
  ASSERT_TRUE(PushAll(e, p).ok());
  r = e.finish();
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(Contains(r.status().message(),
                       "the tensor of 268435456 elements exceeds the "
                       "decoder's limit of 1000 elements"))
      << r.status().message();
}

TEST(HostileTest, ProbeReportsPacketsBeyondTheLimits) {
  // Each file alone: its data packet's verdict.
  std::vector<PacketInfo> info;
  for (const test::HostileInput& h : test::AllHostileInputs()) {
    const std::vector<PacketInfo> both = ProbePackets(PacketsOf(h.bytes));
    ASSERT_EQ(both.size(), 2u);
    info.push_back(both[1]);
  }
  ASSERT_EQ(info.size(), 6u);
  EXPECT_FALSE(info[0].valid);  // huge sample
  EXPECT_TRUE(Contains(info[0].error, "expansion limit")) << info[0].error;
  EXPECT_FALSE(info[1].valid);  // huge band counts
  EXPECT_FALSE(info[2].valid);
  EXPECT_TRUE(info[3].valid);   // huge frame count: the packet itself is fine
  EXPECT_FALSE(info[4].valid);  // caltec bomb: 2^20 bands of 16 elements
  EXPECT_TRUE(info[5].valid);   // caltec work: within the element limits
  // Raised limits accept the 2^28-element sample.
  const std::vector<PacketInfo> raised = ProbePackets(PacketsOf(test::HugeSampleStream().bytes),
                                                      DecoderLimits::ForElements(int64_t{1} << 28));
  EXPECT_TRUE(raised[1].valid) << raised[1].error;
}

TEST(HostileTest, ConcealmentWorkIsEstimatedAndBounded) {
  const std::vector<uint8_t> p = test::CaltecWorkStream().bytes;
  Decoder d;
  ASSERT_TRUE(PushAll(d, p).ok());
  Result<DecodedTensor> r = d.finish(ConcealMethod::kCaltec);
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(Contains(r.status().message(),
                       "concealing 786432 lost elements in 1 samples by caltec would take about "))
      << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "DecoderLimits::max_conceal_work"));
  // Cheaper methods fit the same budget.
  for (ConcealMethod m : {ConcealMethod::kZero, ConcealMethod::kMean, ConcealMethod::kLinear,
                          ConcealMethod::kInpaint}) {
    r = d.finish(m);
    ASSERT_TRUE(r.ok()) << ConcealMethodName(m) << ": " << r.status().ToString();
    EXPECT_EQ(r->mask.lost_count, 786432);
  }
  // A larger budget lets caltec run.
  PacketDecoderOptions o;
  o.limits.max_conceal_work = int64_t{4} << 30;
  Decoder e(o);
  ASSERT_TRUE(PushAll(e, p).ok());
  EXPECT_TRUE(e.finish(ConcealMethod::kCaltec).ok());
}

TEST(HostileTest, ConcealWorkEstimates) {
  // 64 channels of 16×16, the top half of every channel lost.
  const int64_t c = 64, h = 16, w = 16;
  std::vector<uint8_t> lost(static_cast<size_t>(c * h * w), 0);
  for (int64_t ch = 0; ch < c; ++ch) {
    std::fill(lost.begin() + ch * h * w, lost.begin() + ch * h * w + 8 * w, 1);
  }
  const uint8_t* m = lost.data();
  for (ConcealMethod k : {ConcealMethod::kZero, ConcealMethod::kMean, ConcealMethod::kLinear}) {
    EXPECT_EQ(estimate_conceal_work(m, c, h, w, k), 0);
  }
  // inpaint: 128 holes per channel, at most 4·16+100 = 164 sweeps.
  EXPECT_EQ(estimate_conceal_work(m, c, h, w, ConcealMethod::kInpaint), 64 * 128 * 164);
  ConcealOptions co;
  co.band_rows = 8;  // bands of 8 rows: one lost band per channel, 63 candidates
  EXPECT_EQ(estimate_conceal_work(m, c, h, w, ConcealMethod::kCaltec, co),
            64 * (63 + 2) * 3 * 128 + 64 * 128 * 164);
  EXPECT_GT(estimate_conceal_work(m, c, h, w, ConcealMethod::kLowRank),
            estimate_conceal_work(m, c, h, w, ConcealMethod::kInpaint));
  // Nothing lost, or channels that received nothing (filled with a mean): no work.
  std::vector<uint8_t> none(lost.size(), 0), all(lost.size(), 1);
  EXPECT_EQ(estimate_conceal_work(none.data(), c, h, w, ConcealMethod::kCaltec), 0);
  EXPECT_EQ(estimate_conceal_work(all.data(), c, h, w, ConcealMethod::kInpaint), 0);
  // inpaint is capped per channel (2^26 updates) and per sample (2^28, or one sweep).
  // One 4096×4096 channel with one received pixel: 2^26 / (2^24 − 1) = 4 sweeps.
  const int64_t big = 4096;
  std::vector<uint8_t> one(static_cast<size_t>(big * big), 1);
  one[0] = 0;
  EXPECT_EQ(estimate_conceal_work(one.data(), 1, big, big, ConcealMethod::kInpaint),
            4 * (big * big - 1));
  // 64 channels of 1024×1024, one received pixel each: 64 sweeps per channel would be 2^32
  // updates; the sample allows 2^28.
  std::vector<uint8_t> many(static_cast<size_t>(64) << 20, 1);
  for (int64_t ch = 0; ch < 64; ++ch) many[static_cast<size_t>(ch) << 20] = 0;
  EXPECT_EQ(estimate_conceal_work(many.data(), 64, 1024, 1024, ConcealMethod::kInpaint),
            int64_t{1} << 28);
}

TEST(HostileTest, LargeConstantTensorsNeedRaisedLimits) {
  // 2 × 2^20 zeros in a 60-byte packet: honest, but beyond the default expansion limit.
  const std::vector<uint8_t> file = test::AnsZerosStream({2048, 1024}, 0, false, 1, 1);
  const std::vector<uint8_t> p = file;
  Decoder d;
  EXPECT_EQ(PushAll(d, p).code(), StatusCode::kLimitExceeded);
  PacketDecoderOptions o;
  o.limits = DecoderLimits::ForElements(int64_t{1} << 21);
  Decoder e(o);
  ASSERT_TRUE(PushAll(e, p).ok());
  Result<DecodedTensor> r = e.finish();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tensor.num_elements(), int64_t{1} << 21);
  EXPECT_EQ(r->tensor.data_as<float>()[12345], 0.0f);
  // One element fewer allowed: refused.
  o.limits = DecoderLimits::ForElements((int64_t{1} << 21) - 1);
  Decoder f(o);
  EXPECT_EQ(PushAll(f, p).code(), StatusCode::kLimitExceeded);
}

TEST(HostileTest, LimitsValidateAndApplyToFrames) {
  DecoderLimits l;
  EXPECT_TRUE(l.Validate().ok());
  l.max_sample_elements = 0;
  EXPECT_EQ(l.Validate().message(),
            "DecoderLimits::max_sample_elements 0 out of range 1..268435456");
  l = DecoderLimits::ForElements(int64_t{1} << 30);
  EXPECT_TRUE(l.Validate().ok());
  EXPECT_EQ(l.max_sample_elements, int64_t{1} << 28);
  EXPECT_EQ(l.max_tensor_elements, int64_t{1} << 30);
  EXPECT_EQ(l.expansion_ratio, 0);
  // Invalid limits: every push and finish fails with the reason.
  PacketDecoderOptions bad;
  bad.limits.expansion_ratio = -1;
  Decoder d(bad);
  EXPECT_EQ(PushAll(d, test::HugeFrameCountStream().bytes).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d.finish().status().code(), StatusCode::kInvalidArgument);

  // .ftc: the tensor and output caps are checked before the tensor is allocated.
  Tensor t = Tensor::Create(DType::kF32, {4, 3, 5, 7}).value();
  const Bytes code = encode(t.view(), EncoderOptions()).value();
  DecoderOptions o;
  o.limits.max_tensor_elements = 419;
  Result<Tensor> r = decode(code, o);
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(Contains(r.status().message(),
                       "the tensor of 420 elements exceeds the decoder's "
                       "limit of 419 elements"))
      << r.status().message();
  o.limits.max_tensor_elements = 420;
  o.limits.max_output_bytes = 420 * 2;
  o.dtype = DType::kF16;
  EXPECT_TRUE(decode(code, o).ok());
  o.dtype = DType::kF32;
  EXPECT_EQ(decode(code, o).status().code(), StatusCode::kLimitExceeded);
  o.limits = DecoderLimits();
  o.limits.max_sample_elements = 104;
  EXPECT_EQ(decode(code, o).status().code(), StatusCode::kLimitExceeded);
  EXPECT_EQ(probe(code.data(), code.size(), o.limits).status().code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(probe(code.data(), code.size(), DecoderLimits()).ok());
}

}  // namespace
}  // namespace ftc

namespace ftc {
namespace {

TEST(HostileTest, FiniteDataWhoseRangeOverflowsIsBadData) {
  Tensor t = Tensor::Create(DType::kF32, {1, 2, 3, 4}).value();
  float* x = t.data_as<float>();
  for (int i = 0; i < 24; ++i) x[i] = i % 2 ? 3e38f : -3e38f;
  std::vector<std::string> codecs = {"ans"};
  for (const std::string& c : AvailableCodecs()) {
    if (c == "jpeg" || c == "hevc") codecs.push_back(c);
  }
  for (const std::string& codec : codecs) {
    SCOPED_TRACE(codec);
    EncoderOptions o;
    o.codec = codec;
    Result<Bytes> r = encode(t.view(), o);
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
    EXPECT_TRUE(Contains(r.status().message(),
                         "input values span [-3e+38, 3e+38]: the "
                         "quantizer's range (max - min) overflows f32"))
        << r.status().message();
  }
  EncoderOptions o;
  o.codec = "ans";
  EXPECT_EQ(encode_packets(t.view(), o, PacketOptions()).status().code(), StatusCode::kUnsupported);
  // A fixed clip range keeps such data codable; per-channel ranges do not help here.
  o.clip = ClipSpec::Parse("-1:1").value();
  EXPECT_TRUE(encode(t.view(), o).ok());
  // A clip range that itself overflows is an option error.
  o.clip = ClipSpec::Parse("-3e38:3e38").value();
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
}

TEST(HostileTest, ErrorsQuoteAtMost80BytesOfABadToken) {
  const std::string token(100000, 'x');
  Result<std::vector<uint8_t>> trace = ParseLossTrace("0 1 " + token + " 0");
  ASSERT_FALSE(trace.ok());
  EXPECT_EQ(trace.status().message(), "loss trace entry 3 is '" + std::string(80, 'x') +
                                          "... (100000 bytes)', expected 0 or 1");
  Result<ConcealMethod> m = ParseConcealMethod(token + "\n");
  EXPECT_LT(m.status().message().size(), 200u);
  EXPECT_EQ(ParseConcealMethod("in\x01paint").status().message(),
            "unknown concealment method 'in\\x01paint' (zero, mean, linear, inpaint, caltec, "
            "lowrank, altec)");
  EXPECT_LT(ParseDType(token).status().message().size(), 200u);
  EXPECT_LT(ClipSpec::Parse(token).status().message().size(), 200u);
}

}  // namespace
}  // namespace ftc

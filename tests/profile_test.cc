// Profiles, the planned mode of codec ans and rate control (docs/format.md "Planned mode",
// docs/profiles.md).
#include "ftcodec/profile.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bitstream/frame.h"
#include "codec/quant/planned_quant.h"
#include "ftcodec/ftcodec.h"
#include "tests/test_util.h"

namespace ftc {
namespace {

std::shared_ptr<const QuantPlan> MakePlan(std::vector<ChannelQuant> channels) {
  auto p = std::make_shared<QuantPlan>();
  p->channels = std::move(channels);
  return p;
}

ChannelQuant Ch(ChannelKind kind, float step, float offset = 0) {
  ChannelQuant c;
  c.kind = kind;
  c.step = step;
  c.offset = offset;
  return c;
}

// A C×H×W sample: channel c has values of a kind that suits channel c % 3 (post-ReLU, signed,
// non-positive), seeded.
std::vector<float> MakeSample(int c, int h, int w, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(c * h * w));
  for (int k = 0; k < c; ++k) {
    for (int i = 0; i < h * w; ++i) {
      float v = normal(rng) * (1.0f + 0.1f * static_cast<float>(k));
      if (k % 3 == 0) v = std::max(v, 0.0f);
      if (k % 3 == 2) v = -std::fabs(v);
      x[static_cast<size_t>(k * h * w + i)] = v;
    }
  }
  return x;
}

TEST(PlannedQuantTest, StepShiftScalesByQuarterPowersOfTwo) {
  EXPECT_EQ(PlannedStep(0.5f, 0), 0.5f);
  EXPECT_EQ(PlannedStep(0.5f, 4), 1.0f);
  EXPECT_EQ(PlannedStep(0.5f, 8), 2.0f);
  EXPECT_FLOAT_EQ(PlannedStep(1.0f, 2), std::sqrt(2.0f));
  EXPECT_EQ(PlannedStep(1.0f, 1), 1.1892070770263672f);  // f32 bits 0x3f9837f0
  EXPECT_EQ(PlannedStep(1.0f, 63), std::ldexp(1.6817928552627563f, 15));
}

TEST(PlannedQuantTest, GoldenLevelsAndSymbols) {
  // step 1, offset 0, mid-point rounding: signed zig-zag symbols.
  const float x[] = {0.0f, 0.49f, 0.5f, -0.5f, -0.51f, 1.49f, -2.6f, 1e9f};
  uint16_t v[8];
  ChannelQuant s = Ch(ChannelKind::kSigned, 1.0f);
  EXPECT_EQ(QuantizePlanned(x, 8, s, 1.0f, 0.5f, v), 65534);
  const uint16_t want[] = {0, 0, 2, 1, 1, 2, 5, 65534};  // k = 0 0 1 -1 -1 1 -3 32767
  for (int i = 0; i < 8; ++i) EXPECT_EQ(v[i], want[i]) << i;
  float out[8];
  DequantizePlanned(v, 8, ChannelKind::kSigned, 1.0f, 0.0f, out);
  const float back[] = {0, 0, 1, -1, -1, 1, -3, 32767};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], back[i]) << i;
  // Non-negative: negatives clamp to level 0; dead zone 0.25 (rounding 0.25).
  ChannelQuant nn = Ch(ChannelKind::kNonNegative, 0.5f, 0.0f);
  const float y[] = {-3.0f, 0.3f, 0.4f, 0.9f, 1.0f};
  EXPECT_EQ(QuantizePlanned(y, 5, nn, 0.5f, 0.25f, v), 2);
  const uint16_t want_nn[] = {0, 0, 1, 2, 2};  // t + 0.25 = -, 0.85, 1.05, 2.05, 2.25
  for (int i = 0; i < 5; ++i) EXPECT_EQ(v[i], want_nn[i]) << i;
  // Non-positive with an offset: x̂ = offset - v * step.
  ChannelQuant np = Ch(ChannelKind::kNonPositive, 0.25f, 1.0f);
  const float z[] = {1.0f, 0.5f, 2.0f};
  QuantizePlanned(z, 3, np, 0.25f, 0.5f, v);
  EXPECT_EQ(v[0], 0);
  EXPECT_EQ(v[1], 2);
  EXPECT_EQ(v[2], 0);  // above the offset: clamped to level 0
  DequantizePlanned(v, 3, ChannelKind::kNonPositive, 0.25f, 1.0f, out);
  EXPECT_EQ(out[1], 0.5f);
}

TEST(PlannedQuantTest, ErrorBoundedByHalfStepInsideTheClip) {
  const std::vector<float> x = MakeSample(1, 64, 64, 3);
  ChannelQuant s = Ch(ChannelKind::kSigned, 0.037f, 0.01f);
  std::vector<uint16_t> v(x.size());
  std::vector<float> y(x.size());
  QuantizePlanned(x.data(), x.size(), s, 0.037f, 0.5f, v.data());
  DequantizePlanned(v.data(), v.size(), ChannelKind::kSigned, 0.037f, 0.01f, y.data());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_LE(std::fabs(x[i] - y[i]), 0.0185f + 1e-6f) << i;
}

TEST(QuantPlanTest, ValidateNamesTheBadChannel) {
  EXPECT_TRUE(MakePlan({Ch(ChannelKind::kSigned, 0.5f)})->Validate().ok());
  Status s = MakePlan({Ch(ChannelKind::kSigned, 0.5f), Ch(ChannelKind::kSigned, 0.0f)})->Validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("channel 1"), std::string::npos) << s.message();
  EXPECT_FALSE(MakePlan({Ch(ChannelKind::kDropped, 0.0f)})->Validate().ok());  // all dropped
  EXPECT_FALSE(MakePlan({Ch(ChannelKind::kDropped, 1.0f)})->Validate().ok());  // step must be 0
  EXPECT_FALSE(MakePlan({Ch(ChannelKind::kSigned, std::ldexp(1.0f, 81))})->Validate().ok());
  EXPECT_FALSE(MakePlan({Ch(ChannelKind::kSigned, 1.0f, NAN)})->Validate().ok());
  EXPECT_FALSE(MakePlan({})->Validate().ok());
}

TEST(QuantPlanTest, IdDependsOnEveryDecodingField) {
  const uint64_t id = MakePlan({Ch(ChannelKind::kSigned, 0.5f, 0.0f)})->Id();
  EXPECT_EQ(id, MakePlan({Ch(ChannelKind::kSigned, 0.5f, 0.0f)})->Id());
  EXPECT_NE(id, MakePlan({Ch(ChannelKind::kNonNegative, 0.5f, 0.0f)})->Id());
  EXPECT_NE(id, MakePlan({Ch(ChannelKind::kSigned, 0.25f, 0.0f)})->Id());
  EXPECT_NE(id, MakePlan({Ch(ChannelKind::kSigned, 0.5f, 1.0f)})->Id());
  // The clip range is an encoder choice: not part of the id.
  ChannelQuant clipped = Ch(ChannelKind::kSigned, 0.5f, 0.0f);
  clipped.clip_lo = -1;
  clipped.clip_hi = 1;
  EXPECT_EQ(id, MakePlan({clipped})->Id());
  EXPECT_EQ(PlanIdHex(0x0123456789abcdefull), "0123456789abcdef");
}

Profile MakeProfile() {
  Profile p;
  p.model = "test:s1";
  p.head_hash = "00112233445566778899aabbccddeeff";
  p.input_scale = 1.0 / 255;
  p.sample_shape = {3, 4, 5};
  p.settings.codec = "ans";
  p.settings.bits = 3;
  p.settings.clip = ClipSpec::Parse("3sigma").value();
  p.settings.deadzone = 0.125;
  ChannelQuant a = Ch(ChannelKind::kNonNegative, 0.1f, 0.0f);
  a.clip_lo = 0;
  a.clip_hi = 6.5f;
  p.plan = MakePlan(
      {a, Ch(ChannelKind::kDropped, 0.0f, 0.3f), Ch(ChannelKind::kSigned, 1e-7f, -2.5e-3f)});
  p.calibration.samples = 2000;
  p.calibration.top1 = 91.25;
  p.calibration.bytes_per_sample = 812.5;
  p.command = "ftcodec tune --model test:s1";
  return p;
}

TEST(ProfileTest, JsonRoundTripIsExact) {
  const Profile p = MakeProfile();
  const std::string json = ProfileToJson(p);
  Result<Profile> q = ParseProfile(json);
  ASSERT_TRUE(q.ok()) << q.status().ToString() << "\n" << json;
  EXPECT_EQ(q->model, p.model);
  EXPECT_EQ(q->head_hash, p.head_hash);
  EXPECT_EQ(q->input_scale, p.input_scale);
  EXPECT_EQ(q->sample_shape, p.sample_shape);
  EXPECT_EQ(q->settings.bits, 3);
  EXPECT_EQ(q->settings.clip.ToString(), "3sigma");
  EXPECT_EQ(q->settings.deadzone, 0.125);
  ASSERT_TRUE(q->plan);
  EXPECT_EQ(q->plan->Id(), p.plan->Id());
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_EQ(q->plan->channels[c].step, p.plan->channels[c].step);
    EXPECT_EQ(q->plan->channels[c].offset, p.plan->channels[c].offset);
    EXPECT_EQ(q->plan->channels[c].kind, p.plan->channels[c].kind);
  }
  EXPECT_EQ(q->plan->channels[0].clip_hi, 6.5f);
  EXPECT_TRUE(std::isinf(q->plan->channels[2].clip_hi));
  EXPECT_EQ(q->calibration.samples, 2000);
  EXPECT_EQ(q->calibration.top1, 91.25);
  EXPECT_EQ(ProfileToJson(*q), json);  // writing again gives the same text
}

// A profile with a concealment method is written as version 2 and reads back; one without stays
// version 1 (older readers still take it); the method must be one ftcodec knows, and version 1
// has no such field.
TEST(ProfileTest, ConcealmentMethodRoundTripsInVersion2) {
  Profile p = MakeProfile();
  EXPECT_NE(ProfileToJson(p).find("\"ftcodec_profile\": 1,"), std::string::npos);
  EXPECT_EQ(ProfileToJson(p).find("conceal"), std::string::npos);
  p.conceal = "zero";
  const std::string json = ProfileToJson(p);
  EXPECT_NE(json.find("\"ftcodec_profile\": 2,"), std::string::npos) << json;
  Result<Profile> q = ParseProfile(json);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->conceal, "zero");
  EXPECT_EQ(q->version, 2);
  EXPECT_EQ(ProfileToJson(*q), json);
  const size_t at = json.find("\"zero\"");
  ASSERT_NE(at, std::string::npos);
  std::string bad = json;
  bad.replace(at, 6, "\"blur\"");
  Result<Profile> r = ParseProfile(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(r.status().message().find("conceal"), std::string::npos) << r.status().ToString();
  std::string v1 = json;
  v1.replace(v1.find("\"ftcodec_profile\": 2"), 20, "\"ftcodec_profile\": 1");
  r = ParseProfile(v1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("conceal"), std::string::npos) << r.status().ToString();
}

// Replaces the first occurrence of `from` in the profile's JSON.
std::string Edit(const std::string& json, const std::string& from, const std::string& to) {
  std::string s = json;
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

void ExpectRejected(const std::string& json, StatusCode code, const std::string& field) {
  Result<Profile> p = ParseProfile(json);
  ASSERT_FALSE(p.ok()) << "accepted:\n" << json;
  EXPECT_EQ(p.status().code(), code) << p.status().ToString();
  EXPECT_NE(p.status().message().find(field), std::string::npos) << p.status().ToString();
}

// ALTeC's fitted predictor round-trips exactly through the profile (version 3); a version-2
// profile cannot hold one, and a predictor that does not fit the sample shape or names a bad
// source is refused by name.
TEST(ProfileTest, FittedPredictorRoundTripsInVersion3) {
  Profile p = MakeProfile();
  auto pred = std::make_shared<ConcealPredictor>();
  pred->channels.resize(3);
  pred->channels[0] = {0.125f, 0.3f, 0.29999998f, {1, 2}, {1e-7f, -2.5f}, 0.0f, 6.5f};
  pred->channels[1] = {-1.0f / 3, 0.0f, 0.0f, {}, {}, -1.0f, 1.0f};
  pred->channels[2] = {3.1415927f, 0.5f, 0.25f, {0}, {0.1f}, -7.0f, 7.0f};
  p.conceal_predictor = pred;
  p.conceal = "altec";
  const std::string json = ProfileToJson(p);
  EXPECT_NE(json.find("\"ftcodec_profile\": 3,"), std::string::npos) << json;
  Result<Profile> q = ParseProfile(json);
  ASSERT_TRUE(q.ok()) << q.status().ToString() << "\n" << json;
  EXPECT_EQ(q->version, 3);
  EXPECT_EQ(q->conceal, "altec");
  ASSERT_TRUE(q->conceal_predictor);
  ASSERT_EQ(q->conceal_predictor->channels.size(), 3u);
  for (size_t c = 0; c < 3; ++c) {
    const ConcealPredictor::Channel& a = pred->channels[c];
    const ConcealPredictor::Channel& b = q->conceal_predictor->channels[c];
    EXPECT_EQ(a.bias, b.bias);
    EXPECT_EQ(a.up, b.up);
    EXPECT_EQ(a.down, b.down);
    EXPECT_EQ(a.lo, b.lo);
    EXPECT_EQ(a.hi, b.hi);
    EXPECT_EQ(a.sources, b.sources);
    EXPECT_EQ(a.weights, b.weights);  // bit-exact floats
  }
  EXPECT_EQ(ProfileToJson(*q), json);
  // Version 2 has no such field.
  ExpectRejected(Edit(json, "\"ftcodec_profile\": 3", "\"ftcodec_profile\": 2"),
                 StatusCode::kCorruptData, "conceal_predictor");
  // A channel may not be its own source; sources must be channels of the sample.
  auto with_channel2 = [&](std::vector<int32_t> sources, std::vector<float> weights) {
    auto bad = std::make_shared<ConcealPredictor>(*pred);
    bad->channels[2].sources = std::move(sources);
    bad->channels[2].weights = std::move(weights);
    Profile b = p;
    b.conceal_predictor = bad;
    return ProfileToJson(b);
  };
  ExpectRejected(with_channel2({2}, {0.1f}), StatusCode::kCorruptData, "channel 2");
  ExpectRejected(with_channel2({7}, {0.1f}), StatusCode::kCorruptData, "channel 2");
  ExpectRejected(with_channel2({0}, {}), StatusCode::kCorruptData, "channel 2");
  ExpectRejected(with_channel2({0, 0}, {0.1f, 0.2f}), StatusCode::kCorruptData, "channel 2");
  // Fitted on 3 channels: a sample of 4 does not match.
  Profile wider = p;
  wider.plan = nullptr;
  wider.sample_shape = {4, 4, 5};
  ExpectRejected(ProfileToJson(wider), StatusCode::kCorruptData, "conceal_predictor");
  // altec needs the predictor.
  Profile bare = MakeProfile();
  bare.conceal = "altec";
  ExpectRejected(ProfileToJson(bare), StatusCode::kCorruptData, "conceal");
}

TEST(ProfileTest, CorruptFieldsAreRejectedByName) {
  const std::string json = ProfileToJson(MakeProfile());
  ExpectRejected("{", StatusCode::kCorruptData, "not valid JSON");
  ExpectRejected("[1, 2]", StatusCode::kCorruptData, "expected an object");
  ExpectRejected(Edit(json, "\"ftcodec_profile\": 1", "\"ftcodec_profile\": 7"),
                 StatusCode::kUnsupported, "version 7");
  ExpectRejected(Edit(json, "\"ftcodec_profile\": 1,", ""), StatusCode::kCorruptData,
                 "ftcodec_profile");
  ExpectRejected(Edit(json, "\"bits\": 3", "\"bits\": 17"), StatusCode::kCorruptData,
                 "settings.bits");
  ExpectRejected(Edit(json, "\"bits\": 3", "\"bits\": \"3\""), StatusCode::kCorruptData,
                 "settings.bits");
  ExpectRejected(Edit(json, "\"clip\": \"3sigma\"", "\"clip\": \"3 sigmas\""),
                 StatusCode::kCorruptData, "settings.clip");
  ExpectRejected(Edit(json, "\"codec\": \"ans\"", "\"codec\": \"zip\""), StatusCode::kCorruptData,
                 "settings.codec");
  ExpectRejected(Edit(json, "\"deadzone\": 0.125", "\"deadzone\": 0.7"), StatusCode::kCorruptData,
                 "settings.deadzone");
  ExpectRejected(Edit(json, "\"model\"", "\"modle\""), StatusCode::kCorruptData, "modle");
  ExpectRejected(Edit(json, "\"kind\": \"dropped\"", "\"kind\": \"gone\""),
                 StatusCode::kCorruptData, "plan.channels[1].kind");
  ExpectRejected(Edit(json, "\"step\": 0.1", "\"step\": -0.1"), StatusCode::kCorruptData,
                 "channel 0");
  ExpectRejected(Edit(json, "\"step\": 0.1", "\"step\": 0.2"), StatusCode::kCorruptData,
                 "plan.id");  // edited after the id was written
  ExpectRejected(Edit(json, "\"step\": 0.1", "\"step\": 1e300"), StatusCode::kCorruptData,
                 "plan.channels[0].step");
  ExpectRejected(Edit(json, "\"sample_shape\": [\n  3,", "\"sample_shape\": [\n  4,"),
                 StatusCode::kCorruptData, "plan.channels");  // 3 channels for 4
  ExpectRejected(Edit(json, "\"sample_shape\": [\n  3,", "\"sample_shape\": [\n  0,"),
                 StatusCode::kCorruptData, "sample_shape[0]");
  // Each dimension is valid, the sample is beyond the decoder's limit (3 x 2^31-1 x 5).
  ExpectRejected(
      Edit(json, "\"sample_shape\": [\n  3,\n  4,", "\"sample_shape\": [\n  3,\n  2147483647,"),
      StatusCode::kCorruptData, "limit of 268435456 elements per sample");
  Profile negative = MakeProfile();
  negative.input_scale = -1;
  ExpectRejected(ProfileToJson(negative), StatusCode::kCorruptData, "input_scale");
  ExpectRejected(std::string(100, '[') + std::string(100, ']'), StatusCode::kCorruptData, "nested");
}

TEST(ProfileTest, LoadNamesTheFile) {
  Result<Profile> p = LoadProfile("/nonexistent/p.json");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kIoError);
  EXPECT_NE(p.status().message().find("/nonexistent/p.json"), std::string::npos);
  const std::string dir = test::MakeTempDir();
  const std::string bad = dir + "/bad.json";
  const std::string text = "{\"ftcodec_profile\": 1}";
  test::WriteFileBytes(bad, std::vector<uint8_t>(text.begin(), text.end()));
  p = LoadProfile(bad);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("bad.json"), std::string::npos);
  EXPECT_NE(p.status().message().find("sample_shape"), std::string::npos);
}

TEST(PlannedModeTest, RoundTripWithThePlanAndRefusalsWithout) {
  const int c = 6, h = 5, w = 7;
  std::vector<float> x = MakeSample(c, h, w, 11);
  std::vector<ChannelQuant> ch;
  for (int k = 0; k < c; ++k) {
    ch.push_back(Ch(k % 3 == 0   ? ChannelKind::kNonNegative
                    : k % 3 == 1 ? ChannelKind::kSigned
                                 : ChannelKind::kNonPositive,
                    0.05f * static_cast<float>(k + 1)));
  }
  ch[4] = Ch(ChannelKind::kDropped, 0.0f, -0.75f);
  auto plan = MakePlan(ch);
  EncoderOptions o;
  o.codec = "ans";
  o.plan = plan;
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {c, h, w});
  Result<Bytes> code = encode(v, o);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ((*code)[4], kFormatVersion);

  DecoderOptions d;
  Result<Tensor> none = decode(*code, d);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find(PlanIdHex(plan->Id())), std::string::npos);

  d.plan = MakePlan({Ch(ChannelKind::kSigned, 1.0f)});
  Result<Tensor> other = decode(*code, d);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(other.status().message().find("plan mismatch"), std::string::npos);

  d.plan = plan;
  Result<Tensor> back = decode(*code, d);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const float* y = back->data_as<float>();
  for (int k = 0; k < c; ++k) {
    for (int i = 0; i < h * w; ++i) {
      const size_t at = static_cast<size_t>(k * h * w + i);
      if (k == 4) {
        ASSERT_EQ(y[at], -0.75f);
      } else {
        ASSERT_LE(std::fabs(y[at] - x[at]), ch[static_cast<size_t>(k)].step / 2 + 1e-6f)
            << k << " " << i;
      }
    }
  }
  Result<StreamInfo> info = probe(*code);
  ASSERT_TRUE(info.ok());
  bool named = false;
  for (const auto& kv : info->frames[0].params) named = named || kv.second == PlanIdHex(plan->Id());
  EXPECT_TRUE(named);

  // A plan for another channel count is refused by the encoder.
  EncoderOptions wrong = o;
  wrong.plan = MakePlan({Ch(ChannelKind::kSigned, 1.0f)});
  Result<Bytes> refused = encode(v, wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("1 channels but the sample has 6"), std::string::npos)
      << refused.status().ToString();
}

TEST(PlannedModeTest, CorruptParametersAreRejected) {
  std::vector<float> x = MakeSample(2, 3, 4, 5);
  EncoderOptions o;
  o.codec = "ans";
  o.plan = MakePlan({Ch(ChannelKind::kSigned, 0.1f), Ch(ChannelKind::kSigned, 0.2f)});
  Result<Bytes> code = encode(TensorView::Contiguous(x.data(), DType::kF32, {2, 3, 4}), o);
  ASSERT_TRUE(code.ok());
  Result<ParsedFrame> f = ParseFrame(code->data(), code->size(), kMaxSampleElements);
  ASSERT_TRUE(f.ok());
  // Codec_Params: Mode, Bits, Rounding, Step_Shift, Plan_Id (8), Band_Rows.
  ASSERT_EQ(f->header.params.size(), 13u);
  struct Case {
    size_t at;
    uint8_t value;
    const char* want;
  } cases[] = {{1, 0, "bit depth"},   {1, 17, "bit depth"},       {2, 129, "rounding"},
               {3, 64, "step shift"}, {5, 0xA5, "plan mismatch"}, {12, 3, "band rows"}};
  for (const Case& c : cases) {
    FrameHeader h = f->header;
    h.params[c.at] = c.value;
    std::vector<Section> sections;
    for (const SectionRef& r : f->sections) sections.push_back({r.kind, {r.data, r.data + r.size}});
    Bytes bad;
    ASSERT_TRUE(WriteFrame(h, sections, &bad).ok());
    DecoderOptions d;
    d.plan = o.plan;
    Result<Tensor> t = decode(bad, d);
    ASSERT_FALSE(t.ok()) << c.want;
    EXPECT_NE(t.status().message().find(c.want), std::string::npos) << t.status().ToString();
  }
  // Params that end early or run on.
  for (size_t n : {size_t{4}, size_t{12}, size_t{14}}) {
    FrameHeader h = f->header;
    h.params.resize(n, 0);
    std::vector<Section> sections;
    for (const SectionRef& r : f->sections) sections.push_back({r.kind, {r.data, r.data + r.size}});
    Bytes bad;
    ASSERT_TRUE(WriteFrame(h, sections, &bad).ok());
    DecoderOptions d;
    d.plan = o.plan;
    EXPECT_EQ(decode(bad, d).status().code(), StatusCode::kCorruptData) << n;
  }
  // The header checksum covers the version.
  Bytes v1 = *code;
  v1[4] = 1;
  Result<ParsedFrame> parsed = ParseFrame(v1.data(), v1.size(), kMaxSampleElements);
  ASSERT_FALSE(parsed.ok());  // the header checksum covers the version
  FrameHeader h = f->header;
  std::vector<Section> sections;
  for (const SectionRef& r : f->sections) sections.push_back({r.kind, {r.data, r.data + r.size}});
  Bytes rewritten;
  ASSERT_TRUE(WriteFrame(h, sections, &rewritten).ok());
  EXPECT_EQ(rewritten, *code);
}

TEST(PlannedModeTest, OptionsThatCannotApplyAreRefused) {
  EncoderOptions o;
  o.codec = "ans";
  o.plan = MakePlan({Ch(ChannelKind::kSigned, 0.1f)});
  EXPECT_TRUE(o.Validate().ok());
  o.lossless = true;
  EXPECT_EQ(o.Validate().code(), StatusCode::kInvalidArgument);
  o.lossless = false;
  o.step_shift = 64;
  EXPECT_EQ(o.Validate().code(), StatusCode::kInvalidArgument);
  o.step_shift = 0;
  o.codec = "raw";
  EXPECT_EQ(o.Validate().code(), StatusCode::kInvalidArgument);
  EncoderOptions r;
  r.codec = "raw";
  r.target_bytes = 100;
  EXPECT_EQ(r.Validate().code(), StatusCode::kInvalidArgument);
  r.codec = "ans";
  r.target_bytes = -1;
  EXPECT_EQ(r.Validate().code(), StatusCode::kInvalidArgument);
}

// Frame sizes of a .ftc byte string.
std::vector<uint64_t> FrameSizes(const Bytes& code) {
  std::vector<uint64_t> sizes;
  Result<StreamInfo> info = probe(code);
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  if (info.ok()) {
    for (const FrameInfo& f : info->frames) sizes.push_back(f.size);
  }
  return sizes;
}

TEST(RateControlTest, TargetIsNeverExceededAndIsTheFinestThatFits) {
  const int n = 12, c = 8, h = 14, w = 14;
  std::vector<float> x;
  for (int i = 0; i < n; ++i) {
    std::vector<float> s = MakeSample(c, h, w, 100 + static_cast<uint32_t>(i));
    x.insert(x.end(), s.begin(), s.end());
  }
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {n, c, h, w});
  for (int64_t target : {300, 500, 900, 1500}) {
    SCOPED_TRACE(target);
    EncoderOptions o;
    o.codec = "ans";
    o.bits = 8;
    o.target_bytes = target;
    Result<Bytes> code = encode(v, o);
    ASSERT_TRUE(code.ok()) << code.status().ToString();
    const std::vector<uint64_t> sizes = FrameSizes(*code);
    ASSERT_EQ(sizes.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      ASSERT_LE(sizes[static_cast<size_t>(i)], static_cast<uint64_t>(target)) << "sample " << i;
      // One more bit would not have fitted (the finest setting that fits was taken).
      Result<StreamInfo> info = probe(*code);
      int bits = 0;
      for (const auto& kv : info->frames[static_cast<size_t>(i)].params) {
        if (kv.first == "bits") bits = std::stoi(kv.second);
      }
      ASSERT_GE(bits, 1);
      if (bits < 8) {
        EncoderOptions finer = o;
        finer.target_bytes = 0;
        finer.bits = bits + 1;
        Result<Bytes> one =
            encode(TensorView::Contiguous(x.data() + static_cast<size_t>(i * c * h * w),
                                          DType::kF32, {c, h, w}),
                   finer);
        ASSERT_TRUE(one.ok());
        EXPECT_GT(one->size(), static_cast<size_t>(target));
      }
    }
  }
  // Planned mode: the step shift grows until the frame fits.
  std::vector<ChannelQuant> ch(c, Ch(ChannelKind::kSigned, 0.01f));
  EncoderOptions p;
  p.codec = "ans";
  p.plan = MakePlan(ch);
  p.target_bytes = 400;
  Result<Bytes> code = encode(v, p);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  for (uint64_t s : FrameSizes(*code)) EXPECT_LE(s, 400u);
  DecoderOptions d;
  d.plan = p.plan;
  EXPECT_TRUE(decode(*code, d).ok());
}

TEST(RateControlTest, UnreachableTargetNamesTheSmallestSize) {
  std::vector<float> x = MakeSample(8, 14, 14, 1);
  EncoderOptions o;
  o.codec = "ans";
  o.bits = 4;
  o.target_bytes = 20;
  Result<Bytes> code = encode(TensorView::Contiguous(x.data(), DType::kF32, {8, 14, 14}), o);
  ASSERT_FALSE(code.ok());
  EXPECT_EQ(code.status().code(), StatusCode::kLimitExceeded);
  EXPECT_NE(code.status().message().find("cannot be met"), std::string::npos);
  EXPECT_NE(code.status().message().find("1 bit) takes"), std::string::npos)
      << code.status().ToString();
}

}  // namespace
}  // namespace ftc

// Live streams (docs/format.md, "Live streams"): LivePacketEncoder and LiveDecoder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/crc32c.h"
#include "bitstream/packet.h"
#include "codec/packet/packet_parse.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "tests/packet_test_util.h"

namespace ftc {
namespace {

constexpr int kC = 8, kH = 6, kW = 7;
constexpr size_t kE = size_t{kC} * kH * kW;

// Sample `s` of a smooth post-ReLU-like stream (each sample different).
std::vector<float> Sample(int s, int c = kC, int h = kH, int w = kW) {
  std::mt19937 rng(static_cast<unsigned>(s + 1));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(c) * h * w);
  const float phase = 0.3f * static_cast<float>(s);
  for (int ch = 0; ch < c; ++ch) {
    const float gain = 1.0f + 0.5f * u(rng), offset = 0.3f * u(rng);
    for (int y = 0; y < h; ++y) {
      for (int xx = 0; xx < w; ++xx) {
        const float v = gain * std::sin(0.5f * y + phase + ch) * std::cos(0.3f * xx) + offset;
        x[(static_cast<size_t>(ch) * h + y) * w + xx] = std::max(v, 0.0f);
      }
    }
  }
  return x;
}

TensorView View(const std::vector<float>& x, int c = kC, int h = kH, int w = kW) {
  return TensorView::Contiguous(x.data(), DType::kF32, {c, h, w});
}

EncoderOptions Ans4() {
  EncoderOptions o;
  o.codec = "ans";
  o.bits = 4;
  return o;
}

PacketOptions Small(int packet_size = 96) {
  PacketOptions p;
  p.packet_size = packet_size;
  return p;
}

// The packets of samples 0..n-1, one vector per sample.
std::vector<std::vector<Bytes>> EncodeLive(int n, const EncoderOptions& o, const PacketOptions& p,
                                           LivePacketEncoder* enc = nullptr) {
  LivePacketEncoder local(o, p);
  if (enc == nullptr) enc = &local;
  std::vector<std::vector<Bytes>> out;
  for (int s = 0; s < n; ++s) {
    const std::vector<float> x = Sample(s);
    Result<std::vector<Bytes>> r = enc->encode(View(x));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    out.push_back(r.ok() ? *r : std::vector<Bytes>{});
  }
  return out;
}

// The loss-free reference of sample s: its .ftc decode with the same options.
std::vector<float> Reference(int s, const EncoderOptions& o) {
  const std::vector<float> x = Sample(s);
  Result<Bytes> code = encode(View(x), o);
  EXPECT_TRUE(code.ok());
  Result<Tensor> t = decode(*code);
  EXPECT_TRUE(t.ok());
  return std::vector<float>(t->data_as<float>(), t->data_as<float>() + kE);
}

std::vector<float> Values(const LiveSample& s) {
  return std::vector<float>(s.tensor.data_as<float>(),
                            s.tensor.data_as<float>() + s.tensor.num_elements());
}

std::vector<LiveSample> PopAll(LiveDecoder* d) {
  std::vector<LiveSample> out;
  while (std::optional<LiveSample> s = d->pop()) out.push_back(std::move(*s));
  return out;
}

TEST(LiveStreamTest, LossFreeSamplesEqualTheirFrameDecodeInOrderAsTheyArrive) {
  const EncoderOptions o = Ans4();
  const std::vector<std::vector<Bytes>> packets = EncodeLive(5, o, Small());
  LiveDecoder d;
  std::vector<LiveSample> got;
  for (const std::vector<Bytes>& sample : packets) {
    ASSERT_GE(DataPackets(sample).size(), 2u);  // several packets per sample
    for (const Bytes& p : sample) ASSERT_TRUE(d.push(p).ok());
    // A complete sample is ready at once, without waiting for the next one.
    for (LiveSample& s : PopAll(&d)) got.push_back(std::move(s));
    EXPECT_EQ(got.size(), static_cast<size_t>(&sample - packets.data() + 1));
  }
  ASSERT_EQ(got.size(), 5u);
  for (int s = 0; s < 5; ++s) {
    EXPECT_EQ(got[s].frame_index, static_cast<uint32_t>(s));
    EXPECT_FALSE(got[s].lost);
    EXPECT_EQ(got[s].mask.lost_count, 0);
    EXPECT_EQ(got[s].tensor.shape(), (Shape{kC, kH, kW}));
    EXPECT_EQ(Values(got[s]), Reference(s, o)) << "sample " << s;
  }
  EXPECT_EQ(d.stats().samples_complete, 5u);
  EXPECT_EQ(d.stats().packets_missing, 0u);
}

TEST(LiveStreamTest, ParameterSetFirstAndEveryIntervalOverTheWholeStream) {
  PacketOptions p = Small();
  p.parameter_set_interval = 5;
  const std::vector<std::vector<Bytes>> packets = EncodeLive(4, Ans4(), p);
  std::vector<Bytes> all;
  for (const auto& s : packets) all.insert(all.end(), s.begin(), s.end());
  ASSERT_TRUE(IsParameterSetPacket(all[0].data(), all[0].size()));
  size_t data = 0;
  for (size_t k = 0; k < all.size(); ++k) {
    const bool ps = IsParameterSetPacket(all[k].data(), all[k].size());
    EXPECT_EQ(ps, IsParameterSet(all[k]));
    if (ps) {
      EXPECT_EQ(all[k], all[0]);
      ASSERT_LT(k + 1, all.size());
      EXPECT_EQ(data % 5, 0u) << "a parameter set before data packet " << data;
    } else {
      ++data;
    }
  }
  EXPECT_EQ(std::count_if(all.begin(), all.end(), IsParameterSet), (data + 4) / 5);
}

TEST(LiveStreamTest, StreamIdIsTheCallersOrDeterministicFromTheFirstSample) {
  PacketOptions p = Small();
  const auto a = EncodeLive(2, Ans4(), p), b = EncodeLive(2, Ans4(), p);
  EXPECT_EQ(a, b);
  LivePacketEncoder e(Ans4(), p);
  EncodeLive(1, Ans4(), p, &e);
  Result<PacketHead> h = ParsePacketHead(a[0][0].data(), a[0][0].size());
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->stream_id, e.stream_id());
  EXPECT_NE(e.stream_id(), 0u);
  EXPECT_EQ(e.parameter_set(), a[0][0]);
  p.stream_id = 0x12345678u;
  const auto c = EncodeLive(1, Ans4(), p);
  for (const Bytes& q : c[0]) {
    Result<PacketHead> hc = ParsePacketHead(q.data(), q.size());
    ASSERT_TRUE(hc.ok());
    EXPECT_EQ(hc->stream_id, 0x12345678u);
  }
}

TEST(LiveStreamTest, RefusesAnotherShapeOrSeveralSamplesAndChangesNothing) {
  LivePacketEncoder e(Ans4(), Small());
  EncodeLive(1, Ans4(), Small(), &e);
  const std::vector<float> other = Sample(0, kC, kH + 1, kW);
  Result<std::vector<Bytes>> r = e.encode(View(other, kC, kH + 1, kW));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("8x7x7"), std::string::npos) << r.status().ToString();
  std::vector<float> two(2 * kE, 1.0f);
  r = e.encode(TensorView::Contiguous(two.data(), DType::kF32, {2, kC, kH, kW}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(e.samples(), 1);
  // A rank-4 tensor of one sample is that sample.
  const std::vector<float> x = Sample(1);
  r = e.encode(TensorView::Contiguous(x.data(), DType::kF32, {1, kC, kH, kW}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(e.samples(), 2);
}

TEST(LiveStreamTest, LostPacketsAreConcealedAndAWhollyLostSampleRepeatsThePrevious) {
  const EncoderOptions o = Ans4();
  const auto packets = EncodeLive(5, o, Small());
  for (ConcealMethod m : {ConcealMethod::kLinear, ConcealMethod::kZero}) {
    LiveDecoderOptions lo;
    lo.conceal = m;
    LiveDecoder d(lo);
    for (int s = 0; s < 5; ++s) {
      const std::vector<Bytes> data = DataPackets(packets[s]);
      for (size_t k = 0; k < packets[s].size(); ++k) {
        const Bytes& q = packets[s][k];
        const bool drop = (s == 1 && q == data.back()) || (s == 2 && !IsParameterSet(q));
        if (!drop) {
          ASSERT_TRUE(d.push(q).ok());
        }
      }
    }
    // Sample 4 is complete; 1 and 2 became ready when later samples arrived.
    std::vector<LiveSample> got = PopAll(&d);
    ASSERT_EQ(got.size(), 5u);
    EXPECT_GT(got[1].mask.lost_count, 0);
    EXPECT_FALSE(got[1].lost);
    EXPECT_EQ(got[1].packets_received + 1, got[1].packets_expected);
    EXPECT_TRUE(got[2].lost);
    EXPECT_EQ(got[2].mask.lost_count, static_cast<int64_t>(kE));
    if (m == ConcealMethod::kZero) {
      EXPECT_EQ(Values(got[2]), std::vector<float>(kE, 0.0f));
    } else {
      EXPECT_EQ(Values(got[2]), Values(got[1]));
    }
    // Received elements are exact.
    const std::vector<float> ref = Reference(1, o), v = Values(got[1]);
    for (size_t i = 0; i < kE; ++i) {
      if (!got[1].mask.lost[i]) {
        EXPECT_EQ(v[i], ref[i]);
      }
    }
    EXPECT_EQ(Values(got[3]), Reference(3, o));
    const LiveStats& st = d.stats();
    EXPECT_EQ(st.samples, 5u);
    EXPECT_EQ(st.samples_lost, 1u);
    EXPECT_EQ(st.samples_partial, 1u);
    EXPECT_EQ(st.samples_complete, 3u);
    EXPECT_EQ(st.packets_missing, 1u);
  }
}

TEST(LiveStreamTest, AnIncompleteSampleWaitsForTheReorderDepthOrAFlush) {
  const auto packets = EncodeLive(3, Ans4(), Small());
  LiveDecoderOptions lo;
  lo.reorder = 2;
  LiveDecoder d(lo);
  // Sample 0 without its last packet.
  for (size_t k = 0; k + 1 < packets[0].size(); ++k) ASSERT_TRUE(d.push(packets[0][k]).ok());
  EXPECT_FALSE(d.pop());
  for (const Bytes& q : packets[1]) ASSERT_TRUE(d.push(q).ok());
  EXPECT_FALSE(d.pop()) << "sample 1 is within the reorder depth of 2";
  // The missing packet arrives late but before sample 0 was given out: used.
  ASSERT_TRUE(d.push(packets[0].back()).ok());
  std::vector<LiveSample> got = PopAll(&d);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].mask.lost_count, 0);
  // Sample 2 without its first data packet: ready only on flush.
  const std::vector<Bytes> data2 = DataPackets(packets[2]);
  for (size_t k = 1; k < data2.size(); ++k) ASSERT_TRUE(d.push(data2[k]).ok());
  EXPECT_FALSE(d.pop());
  d.flush();
  got = PopAll(&d);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].frame_index, 2u);
  EXPECT_GT(got[0].mask.lost_count, 0);
  // A packet of a sample given out already is late: dropped and counted.
  Status late = d.push(data2[0]);
  EXPECT_EQ(late.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(late.message().find("late"), std::string::npos) << late.ToString();
  EXPECT_EQ(d.stats().late, 1u);
  EXPECT_FALSE(d.pop());
}

TEST(LiveStreamTest, FlushBeforeGivesOutTheLostSamplesBeforeIt) {
  const auto packets = EncodeLive(2, Ans4(), Small());
  LiveDecoder d;
  for (const Bytes& q : packets[0]) ASSERT_TRUE(d.push(q).ok());
  ASSERT_EQ(PopAll(&d).size(), 1u);
  EXPECT_EQ(d.next_frame(), std::optional<uint32_t>(1));
  d.flush_before(4);  // the transport says samples 1..3 are lost
  std::vector<LiveSample> got = PopAll(&d);
  ASSERT_EQ(got.size(), 3u);
  for (const LiveSample& s : got) EXPECT_TRUE(s.lost);
  EXPECT_EQ(got.back().frame_index, 3u);
  EXPECT_EQ(d.next_frame(), std::optional<uint32_t>(4));
}

TEST(LiveStreamTest, ASenderThatStartsAgainIsFollowedAndAStaleOneIsLate) {
  PacketOptions p = Small();
  p.stream_id = 7;
  const auto first = EncodeLive(200, Ans4(), p);
  LiveDecoder d;
  for (const auto& s : first) {
    for (const Bytes& q : s) ASSERT_TRUE(d.push(q).ok());
  }
  EXPECT_EQ(PopAll(&d).size(), 200u);
  // The same stream id from sample 0 again, far behind sample 200: a restart.
  const auto again = EncodeLive(3, Ans4(), p);
  for (const auto& s : again) {
    for (const Bytes& q : s) ASSERT_TRUE(d.push(q).ok());
  }
  std::vector<LiveSample> got = PopAll(&d);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].frame_index, 0u);
  EXPECT_EQ(Values(got[2]), Reference(2, Ans4()));
  // Another shape under a new stream mid-stream (same id, its samples 0..2 again): now late.
  LivePacketEncoder other(Ans4(), p);
  const std::vector<float> x = Sample(0, kC, kH + 2, kW);
  Result<std::vector<Bytes>> r = other.encode(View(x, kC, kH + 2, kW));
  ASSERT_TRUE(r.ok());
  for (const Bytes& q : *r) d.push(q).IgnoreError();
  EXPECT_FALSE(d.pop());
  const LiveStats& st = d.stats();
  EXPECT_GT(st.late + st.packets.inconsistent + st.packets.corrupt, 0u);
  EXPECT_EQ(st.samples, 203u);
}

TEST(LiveStreamTest, RefusesAStreamThatIsNotLive) {
  const std::vector<float> x = Sample(0);
  Result<std::vector<Bytes>> packets = encode_packets(View(x), Ans4(), Small());
  ASSERT_TRUE(packets.ok());
  LiveDecoder d;
  Status s = d.push((*packets)[0]);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("not a live stream"), std::string::npos) << s.ToString();
  for (const Bytes& q : *packets) d.push(q).IgnoreError();
  d.flush();
  EXPECT_FALSE(d.pop());
}

TEST(LiveStreamTest, ABatchDecoderDecodesALiveStreamIntoItsSamples) {
  const EncoderOptions o = Ans4();
  const auto packets = EncodeLive(4, o, Small());
  Decoder d;
  // Samples 1..3 only (a receiver that joined late).
  for (int s = 0; s < 4; ++s) {
    for (const Bytes& q : packets[s]) {
      if (s > 0 || IsParameterSet(q)) {
        ASSERT_TRUE(d.push(q).ok());
      }
    }
  }
  Result<DecodedTensor> t = d.finish();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->tensor.shape(), (Shape{3, kC, kH, kW}));
  EXPECT_EQ(t->stats.frames, 3u);
  for (int s = 1; s < 4; ++s) {
    const float* v = t->tensor.data_as<float>() + (s - 1) * kE;
    EXPECT_EQ(std::vector<float>(v, v + kE), Reference(s, o));
  }
}

TEST(LiveStreamTest, LiveDecoderOptionsAreChecked) {
  LiveDecoderOptions lo;
  lo.reorder = 0;
  LiveDecoder d(lo);
  const auto packets = EncodeLive(1, Ans4(), Small());
  EXPECT_EQ(d.push(packets[0][0]).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(d.pop());
}

TEST(LiveStreamTest, ASampleWhoseBandsNoLongerFitStartsANewParameterSet) {
  // Contiguous layout: whole channels fit the smooth first sample; the noisy second needs
  // smaller bands, so it goes under Set_Id 1 with its own band rows.
  constexpr int c = 2, h = 8, w = 32;
  std::vector<float> smooth(c * h * w), noisy(c * h * w);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (size_t i = 0; i < smooth.size(); ++i) {
    smooth[i] = (i % w) < 2 ? 1.0f : 0.0f;
    noisy[i] = u(rng);
  }
  EncoderOptions o = Ans4();
  o.bits = 8;
  PacketOptions p = Small(200);
  p.interleave = false;
  LivePacketEncoder e(o, p);
  LiveDecoder d;
  std::vector<LiveSample> got;
  std::vector<uint8_t> set_ids;
  for (const std::vector<float>* x : {&smooth, &noisy, &noisy}) {
    Result<std::vector<Bytes>> r = e.encode(View(*x, c, h, w));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const Bytes& q : *r) {
      Result<PacketHead> head = ParsePacketHead(q.data(), q.size());
      ASSERT_TRUE(head.ok());
      set_ids.push_back(head->set_id);
      ASSERT_TRUE(d.push(q).ok());
    }
    for (LiveSample& s : PopAll(&d)) got.push_back(std::move(s));
  }
  EXPECT_EQ(set_ids.front(), 0);
  EXPECT_EQ(set_ids.back(), 1);
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const std::vector<float>& x = i == 0 ? smooth : noisy;
    Tensor ref = decode(encode(View(x, c, h, w), o).value()).value();
    EXPECT_EQ(Values(got[i]),
              std::vector<float>(ref.data_as<float>(), ref.data_as<float>() + ref.num_elements()))
        << "sample " << i;
  }
}

TEST(LiveStreamTest, ALiveParameterSetOfRankFourIsCorrupt) {
  // Frame_Count 0 describes one sample (rank 1 to 3); a rank-4 shape with it is malformed.
  PacketHeader h;
  h.shape = {2, 4, 8, 8};
  h.frame_count = 0;
  h.params = {0};  // raw, f32
  Bytes b;
  WriteParameterSet(h, &b);
  Result<ParsedParameterSet> r = ParseCodecParameterSet(b.data(), b.size(), DecoderLimits());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(r.status().message().find("live stream (frame count 0) of rank 4"), std::string::npos)
      << r.status().ToString();
  // The same sample shape at rank 3 is a valid live parameter set.
  h.shape = {4, 8, 8};
  b.clear();
  WriteParameterSet(h, &b);
  r = ParseCodecParameterSet(b.data(), b.size(), DecoderLimits());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->header.live());
  LiveDecoder d;
  EXPECT_TRUE(d.push(b).ok());
}

TEST(LiveStreamTest, PacketsOfVersion3AreAnEarlierDevelopmentFormat) {
  const auto packets = EncodeLive(1, Ans4(), Small());
  Bytes p = packets[0][0];
  ASSERT_EQ(p[2], 4);
  p[2] = 3;
  const uint32_t crc = Crc32c(p.data(), p.size() - 4);
  for (int i = 0; i < 4; ++i) p[p.size() - 4 + i] = static_cast<uint8_t>(crc >> (8 * i));
  Result<PacketHead> h = ParsePacketHead(p.data(), p.size());
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(h.status().message().find("earlier development format"), std::string::npos)
      << h.status().ToString();
}

}  // namespace
}  // namespace ftc

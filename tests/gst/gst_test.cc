// The GStreamer plugin (gst/, docs/rtp.md) end to end: RTP over 127.0.0.1 against the library's
// own encode and decode, under loss, with many senders, and with hostile input.
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "gst/ftc_server.h"
#include "gst/rtp_ftc.h"
#include "tests/gst/gst_test_util.h"
#include "tests/test_util.h"

namespace ftc::test {
namespace {

constexpr uint32_t kStreamId = 0x51a7e001;
constexpr const char* kRtpCaps =
    "application/x-rtp,media=application,encoding-name=X-FTC,clock-rate=90000";

EncoderOptions Ans4() {
  EncoderOptions o;
  o.codec = "ans";
  o.bits = 4;
  return o;
}

PacketOptions Popts(uint32_t id, int packet_size = 1200, int ps_interval = 64) {
  PacketOptions p;
  p.stream_id = id;
  p.packet_size = packet_size;
  p.parameter_set_interval = ps_interval;
  return p;
}

bool SameFloats(const Tensor& a, const Tensor& b) {
  return a.dtype() == DType::kF32 && b.dtype() == DType::kF32 && a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

// The first n samples of t.
Tensor Head(const Tensor& t, int64_t n) {
  Shape s = t.shape();
  s[0] = n;
  Tensor h = *Tensor::Create(t.dtype(), s);
  std::memcpy(h.data(), t.data(), h.size_bytes());
  return h;
}

double RelativeError(const Tensor& got, const Tensor& want) {
  double num = 0, den = 0;
  const float* g = got.data_as<float>();
  const float* w = want.data_as<float>();
  for (int64_t i = 0; i < want.num_elements(); ++i) {
    num += (g[i] - w[i]) * double(g[i] - w[i]);
    den += w[i] * double(w[i]);
  }
  return std::sqrt(num / den);
}

class GstRtp : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(gst_element_factory_find("ftcenc"), nullptr)
        << "the ftcodec plugin does not load from GST_PLUGIN_PATH";
    dir_ = MakeTempDir();
  }
  void TearDown() override {
    for (GstElement* p : pipelines_) Dispose(p);
  }
  GstElement* Make(const std::string& d) {
    std::string error;
    GstElement* p = Launch(d, &error);
    EXPECT_NE(p, nullptr) << d << ": " << error;
    if (p) pipelines_.push_back(p);
    return p;
  }
  std::string dir_;
  std::vector<GstElement*> pipelines_;
};

// Sender and receiver over UDP on 127.0.0.1; the receiver stops by itself after num-samples.
TEST_F(GstRtp, LossFreeStreamEqualsLibraryDecode) {
  const Tensor a = ReluFeatures(50, 16, 8, 8, 1);
  WriteNpyFile(dir_ + "/a.npy", a);
  const int port = FreeUdpPort();
  ASSERT_GT(port, 0);
  GstElement* rx =
      Make("udpsrc address=127.0.0.1 port=" + std::to_string(port) + " caps=\"" + kRtpCaps +
           "\" ! rtpjitterbuffer ! rtpftcdepay ! ftcdec name=dec ! ftcnpysink location=" + dir_ +
           "/r.npy num-samples=50");
  GstElement* tx =
      Make("ftcnpysrc location=" + dir_ +
           "/a.npy rate=200 ! ftcenc codec=ans bits=4 stream-id=" + std::to_string(kStreamId) +
           " ! rtpftcpay ! udpsink host=127.0.0.1 port=" + std::to_string(port));
  ASSERT_TRUE(rx && tx);
  ASSERT_TRUE(Play(rx));
  ASSERT_TRUE(Play(tx));
  std::vector<int> eos;
  std::string error;
  ASSERT_TRUE(RunPipelines(
      {rx, tx}, [&] { return !eos.empty() && eos[0] > 0; }, Clock::now() + std::chrono::seconds(30),
      &error, &eos))
      << error;
  const Tensor r = ReadNpyFile(dir_ + "/r.npy");
  const Tensor want = LiveDecode(Flatten(LiveEncode(a, Ans4(), Popts(kStreamId))));
  ASSERT_EQ(want.shape(), (Shape{50, 16, 8, 8}));
  EXPECT_TRUE(SameFloats(r, want)) << "received " << ShapeToString(r.shape());
  // The quantizer's error only.
  EXPECT_LT(RelativeError(r, a), 0.1);
  GstElement* dec = gst_bin_get_by_name(GST_BIN(rx), "dec");
  GstStructure* st = nullptr;
  g_object_get(dec, "stats", &st, nullptr);
  gst_object_unref(dec);
  ASSERT_NE(st, nullptr);
  guint id = 0;
  EXPECT_TRUE(gst_structure_get_uint(st, "stream-id", &id));
  EXPECT_EQ(id, kStreamId);
  gst_structure_free(st);
}

// ftcenc's buffers are LivePacketEncoder's packets: one per buffer, the sample's timestamps,
// MARKER on each sample's last, HEADER on parameter sets.
TEST_F(GstRtp, EncoderBuffersAreTheLibraryPackets) {
  const Tensor a = ReluFeatures(12, 16, 8, 8, 2);
  WriteNpyFile(dir_ + "/a.npy", a);
  GstElement* p = Make("ftcnpysrc location=" + dir_ +
                       "/a.npy rate=1000 ! ftcenc codec=ans bits=4 packet-size=200 "
                       "parameter-set-interval=5 stream-id=7 ! appsink name=out sync=false");
  ASSERT_TRUE(p);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(p), "out");
  ASSERT_TRUE(Play(p));
  std::vector<GstBuffer*> got;
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND)) {
    got.push_back(gst_buffer_ref(gst_sample_get_buffer(s)));
    gst_sample_unref(s);
  }
  gst_object_unref(sink);
  const std::vector<std::vector<Bytes>> want = LiveEncode(a, Ans4(), Popts(7, 200, 5));
  ASSERT_EQ(want.size(), 12u);
  size_t k = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    size_t data_packets = 0;
    for (const Bytes& q : want[i]) data_packets += !IsParameterSetPacket(q.data(), q.size());
    ASSERT_GE(data_packets, 2u) << "a sample fits one packet: the test wants several";
    for (size_t j = 0; j < want[i].size(); ++j, ++k) {
      ASSERT_LT(k, got.size());
      GstBuffer* b = got[k];
      GstMapInfo m;
      ASSERT_TRUE(gst_buffer_map(b, &m, GST_MAP_READ));
      EXPECT_EQ(Bytes(m.data, m.data + m.size), want[i][j]) << "sample " << i << " packet " << j;
      gst_buffer_unmap(b, &m);
      // A live source: PTS i / rate after the running time of the first sample.
      EXPECT_EQ(GST_BUFFER_PTS(b) - GST_BUFFER_PTS(got[0]),
                gst_util_uint64_scale(i, GST_SECOND, 1000));
      EXPECT_EQ(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_MARKER), j + 1 == want[i].size());
      EXPECT_EQ(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_HEADER),
                IsParameterSetPacket(want[i][j].data(), want[i][j].size()));
    }
  }
  EXPECT_EQ(k, got.size());
  for (GstBuffer* b : got) gst_buffer_unref(b);
}

// netsim drops 10 % of the RTP packets before the jitter buffer (latency 50 ms, do-lost): every
// sample still comes out (in Frame_Index order, GST_BUFFER_OFFSET), concealed, close to the
// original, and the statistics count the loss. (netsim 1.22 has no seed: the loss pattern
// differs from run to run. The stream has about 210 packets, 4 per sample: "no packet lost"
// has a probability of 0.9^210, about 10^-10; a sample wholly lost, 10^-4 per sample, is given
// out as lost and still checked.)
TEST_F(GstRtp, LossUnderNetsimIsConcealedAndCounted) {
  const Tensor a = ReluFeatures(52, 16, 8, 8, 3);  // 2 more than checked: a lost tail shows
  WriteNpyFile(dir_ + "/a.npy", a);
  const int port = FreeUdpPort();
  GstElement* rx =
      Make("udpsrc address=127.0.0.1 port=" + std::to_string(port) + " caps=\"" + kRtpCaps +
           "\" ! netsim drop-probability=0.1 ! rtpjitterbuffer latency=50 "
           "do-lost=true ! rtpftcdepay ! ftcdec name=dec stats-interval=1 ! "
           "appsink name=out sync=false");
  GstElement* tx = Make("ftcnpysrc location=" + dir_ +
                        "/a.npy rate=200 ! ftcenc codec=ans bits=4 packet-size=120 "
                        "parameter-set-interval=8 stream-id=" +
                        std::to_string(kStreamId) +
                        " ! rtpftcpay ! udpsink host=127.0.0.1 port=" + std::to_string(port));
  ASSERT_TRUE(rx && tx);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(rx), "out");
  // The losses the jitter buffer reports reach ftcdec as GAP events (through rtpftcdepay).
  std::atomic<int> gaps{0};
  GstElement* dec_element = gst_bin_get_by_name(GST_BIN(rx), "dec");
  GstPad* dec_sink = gst_element_get_static_pad(dec_element, "sink");
  gst_pad_add_probe(
      dec_sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      [](GstPad*, GstPadProbeInfo* info, gpointer n) {
        if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_GAP) {
          ++*static_cast<std::atomic<int>*>(n);
        }
        return GST_PAD_PROBE_OK;
      },
      &gaps, nullptr);
  gst_object_unref(dec_sink);
  gst_object_unref(dec_element);
  ASSERT_TRUE(Play(rx));
  ASSERT_TRUE(Play(tx));
  const size_t sample_bytes = 16 * 8 * 8 * sizeof(float);
  Tensor r = *Tensor::Create(DType::kF32, {52, 16, 8, 8});
  std::vector<int> seen(52, 0);
  int stats_messages = 0, samples = 0, concealed = 0;
  const auto pull = [&] {
    while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 0)) {
      GstBuffer* b = gst_sample_get_buffer(s);
      const guint64 i = GST_BUFFER_OFFSET(b);
      ++samples;
      concealed += GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_CORRUPTED);
      if (i < 52 && gst_buffer_get_size(b) == sample_bytes) {
        ++seen[i];
        gst_buffer_extract(b, 0, r.data() + i * sample_bytes, sample_bytes);
      }
      gst_sample_unref(s);
    }
  };
  const auto count_stats = [&](GstMessage* m) {
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT &&
        gst_structure_has_name(gst_message_get_structure(m), "ftcdec-stats")) {
      ++stats_messages;
    }
  };
  std::vector<int> eos;
  std::string error;
  // Until the sender ended and the receiver gave out sample 49 (a later sample's packet makes
  // it ready); a receiver still short of it then gets EOS (ftcdec flushes).
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  ASSERT_TRUE(RunPipelines(
                  {rx, tx},
                  [&] {
                    pull();
                    return !eos.empty() && eos[1] > 0 && seen[49];
                  },
                  std::min(deadline, Clock::now() + std::chrono::seconds(5)), &error, &eos,
                  count_stats) ||
              error == "deadline passed")
      << error;
  gst_element_send_event(rx, gst_event_new_eos());
  ASSERT_TRUE(RunPipelines(
      {rx},
      [&] {
        pull();
        return gst_app_sink_is_eos(GST_APP_SINK(sink));
      },
      deadline, &error, nullptr, count_stats))
      << error;
  pull();
  gst_object_unref(sink);
  GstBus* bus = gst_element_get_bus(rx);
  while (GstMessage* m = gst_bus_pop(bus)) {  // the messages posted before EOS reached appsink
    count_stats(m);
    gst_message_unref(m);
  }
  gst_object_unref(bus);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen[i], 1) << "sample " << i;
  GstElement* dec = gst_bin_get_by_name(GST_BIN(rx), "dec");
  GstStructure* st = nullptr;
  g_object_get(dec, "stats", &st, nullptr);
  gst_object_unref(dec);
  ASSERT_NE(st, nullptr);
  guint64 missing = 0, partial = 0, given = 0, expected = 0;
  EXPECT_TRUE(gst_structure_get_uint64(st, "packets-missing", &missing));
  EXPECT_TRUE(gst_structure_get_uint64(st, "packets-expected", &expected));
  EXPECT_TRUE(gst_structure_get_uint64(st, "samples-partial", &partial));
  EXPECT_TRUE(gst_structure_get_uint64(st, "samples", &given));
  gst_structure_free(st);
  EXPECT_EQ(given, static_cast<guint64>(samples));
  EXPECT_GT(missing, 0u);
  EXPECT_GT(partial, 0u);
  EXPECT_GT(gaps.load(), 0);
  EXPECT_EQ(static_cast<guint64>(concealed), partial);  // flagged GST_BUFFER_FLAG_CORRUPTED
  EXPECT_GE(stats_messages, samples);                   // one per sample, and one at EOS
  const Tensor lossless =
      Head(LiveDecode(Flatten(LiveEncode(a, Ans4(), Popts(kStreamId, 120, 8)))), 50);
  const Tensor got = Head(r, 50);
  EXPECT_FALSE(SameFloats(got, lossless)) << "nothing was concealed";
  const Tensor original = Head(a, 50);
  std::printf(
      "netsim: %llu of %llu packets missing, %llu samples concealed; relative error "
      "%.4f (without loss %.4f)\n",
      static_cast<unsigned long long>(missing), static_cast<unsigned long long>(expected),
      static_cast<unsigned long long>(partial), RelativeError(got, original),
      RelativeError(lossless, original));
  EXPECT_LT(RelativeError(got, original), 0.35);
  EXPECT_LT(RelativeError(lossless, original), 0.1);
}

// Eight senders (eight pipelines in this process, each its own SSRC, stream id and data) into
// one receiver port: the server (gst/ftc_server.h, what examples/gst_server runs) gives every
// stream its own branch, and every stream equals the library's decode of its sender's packets.
TEST_F(GstRtp, EightSendersIntoOneReceiver) {
  constexpr int kSenders = 8;
  constexpr int kSamples = 30;
  const int port = FreeUdpPort();
  gst::ServerOptions o;
  o.port = port;
  o.out_dir = dir_;
  o.latency_ms = 100;
  std::string error;
  std::unique_ptr<gst::Server> server = gst::Server::Start(o, &error);
  ASSERT_TRUE(server) << error;
  std::vector<Tensor> data;
  std::vector<GstElement*> senders;
  for (int i = 0; i < kSenders; ++i) {
    data.push_back(ReluFeatures(kSamples, 16, 8, 8, 100 + i));
    const std::string file = dir_ + "/a" + std::to_string(i) + ".npy";
    WriteNpyFile(file, data.back());
    senders.push_back(
        Make("ftcnpysrc location=" + file + " rate=100 ! ftcenc codec=ans bits=4 stream-id=" +
             std::to_string(1000 + i) + " ! rtpftcpay ssrc=" + std::to_string(0x100 + i) +
             " ! udpsink host=127.0.0.1 port=" + std::to_string(port)));
    ASSERT_TRUE(senders.back());
  }
  for (GstElement* s : senders) ASSERT_TRUE(Play(s));
  std::vector<int> eos;
  ASSERT_TRUE(RunPipelines(
      senders,
      [&] {
        return !server->Poll() ||
               (server->streams() == kSenders && server->min_samples() >= kSamples);
      },
      Clock::now() + std::chrono::seconds(30), &error, &eos))
      << error << "; streams " << server->streams() << ", fewest samples " << server->min_samples();
  ASSERT_EQ(server->error(), "");
  ASSERT_TRUE(server->Stop(Clock::now() + std::chrono::seconds(10))) << server->error();
  const std::vector<gst::StreamReport> reports = server->Reports();
  ASSERT_EQ(reports.size(), size_t{kSenders});
  for (const gst::StreamReport& r : reports) {
    const int i = static_cast<int>(r.ssrc) - 0x100;
    ASSERT_TRUE(i >= 0 && i < kSenders) << r.ssrc;
    EXPECT_EQ(r.stream_id, 1000u + i);
    EXPECT_EQ(r.samples, uint64_t{kSamples});
    EXPECT_EQ(r.samples_complete, uint64_t{kSamples});
    EXPECT_EQ(r.packets_late, 0u);
    const Tensor got = ReadNpyFile(r.file);
    const Tensor want = LiveDecode(Flatten(LiveEncode(data[i], Ans4(), Popts(1000 + i))));
    EXPECT_TRUE(SameFloats(got, want)) << "stream " << i << ": " << ShapeToString(got.shape());
  }
}

// appsrc ! rtpftcdepay ! ftcdec: garbage, truncated RTP, another payload type, payloads that
// are no ftcodec packet, corrupt packets and a second stream with the same stream id and
// another shape between the packets of a valid stream. Nothing is fatal: the valid stream's
// samples all come out, and the counters count what was dropped.
TEST_F(GstRtp, HostileRtpIsDroppedAndCounted) {
  GstElement* p = Make(std::string("appsrc name=in is-live=false format=time caps=\"") + kRtpCaps +
                       ",payload=96\" ! rtpftcdepay name=depay ! ftcdec name=dec "
                       "stats-interval=0 ! appsink name=out sync=false");
  ASSERT_TRUE(p);
  const Tensor a = ReluFeatures(20, 16, 8, 8, 4);
  const Tensor other = ReluFeatures(20, 8, 4, 4, 5);
  const std::vector<std::vector<Bytes>> good = LiveEncode(a, Ans4(), Popts(kStreamId, 300));
  const std::vector<std::vector<Bytes>> bad = LiveEncode(other, Ans4(), Popts(kStreamId, 300));
  ASSERT_EQ(good.size(), 20u);
  GstElement* src = gst_bin_get_by_name(GST_BIN(p), "in");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(p), "out");
  ASSERT_TRUE(Play(p));
  uint16_t seq = 0;
  uint64_t rng = 99;
  int expect_dropped = 0;
  const auto push = [&](std::vector<uint8_t> bytes, GstClockTime pts) {
    GstBuffer* b = gst_buffer_new_allocate(nullptr, bytes.size(), nullptr);
    gst_buffer_fill(b, 0, bytes.data(), bytes.size());
    GST_BUFFER_PTS(b) = pts;
    ASSERT_EQ(gst_app_src_push_buffer(GST_APP_SRC(src), b), GST_FLOW_OK);
  };
  const auto rtp = [&](const Bytes& payload, bool marker, uint8_t pt, uint32_t ts) {
    return rtp::WriteRtpPacket(pt, marker, seq++, ts, 0x1234, payload.data(), payload.size());
  };
  for (size_t i = 0; i < good.size(); ++i) {
    const GstClockTime pts = i * GST_SECOND / 50;
    const uint32_t ts = static_cast<uint32_t>(i * 1800);
    for (size_t j = 0; j < good[i].size(); ++j) {
      push(rtp(good[i][j], j + 1 == good[i].size(), 96, ts), pts);
    }
    // Random bytes: not RTP (version), or RTP whose payload is not an ftcodec packet.
    std::vector<uint8_t> junk(40 + i * 7);
    for (uint8_t& x : junk)
      x = static_cast<uint8_t>((rng = rng * 6364136223846793005ull + 1) >> 56);
    junk[0] = static_cast<uint8_t>((junk[0] & 0x3f) | (i % 2 ? 0x40 : 0x80));  // version 1 or 2
    junk[1] = 96;
    push(junk, pts);
    ++expect_dropped;
    // Truncated RTP (shorter than its header) and a truncated payload (checksum fails).
    push({0x80, 0x60, 0x00}, pts);
    ++expect_dropped;
    Bytes cut = good[i].back();  // a data packet
    cut.resize(std::max<size_t>(rtp::kMinFtcPayload, cut.size() / 2));
    push(rtp(cut, false, 96, ts), pts);
    // Another payload type.
    push(rtp(good[i][0], false, 97, ts), pts);
    ++expect_dropped;
    // An older packet format version.
    Bytes old = good[i][0];
    old[2] = 3;
    push(rtp(old, false, 96, ts), pts);
    ++expect_dropped;
    // The other stream (its parameter set first), same stream id, another shape, from sample 5.
    if (i >= 5) {
      for (const Bytes& q : bad[i - 5])
        push(rtp(q, false, 96, ts), pts);  // its parameter set first
    }
  }
  ASSERT_EQ(gst_app_src_end_of_stream(GST_APP_SRC(src)), GST_FLOW_OK);
  // The valid stream's samples, exactly as the library decodes its packets alone.
  const Tensor want = LiveDecode(Flatten(good));
  ASSERT_EQ(want.shape(), (Shape{20, 16, 8, 8}));
  const size_t sample_bytes = 16 * 8 * 8 * sizeof(float);
  int samples = 0;
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND)) {
    GstBuffer* b = gst_sample_get_buffer(s);
    EXPECT_EQ(gst_buffer_get_size(b), sample_bytes);
    if (samples < 20 && gst_buffer_get_size(b) == sample_bytes) {
      EXPECT_EQ(gst_buffer_memcmp(b, 0, want.data() + samples * sample_bytes, sample_bytes), 0)
          << "sample " << samples;
    }
    ++samples;
    gst_sample_unref(s);
  }
  EXPECT_EQ(samples, 20);
  std::vector<int> eos;
  std::string error;
  EXPECT_TRUE(RunPipelines(
      {p}, [&] { return !eos.empty() && eos[0] > 0; }, Clock::now() + std::chrono::seconds(10),
      &error, &eos))
      << error;
  GstElement* depay = gst_bin_get_by_name(GST_BIN(p), "depay");
  GstElement* dec = gst_bin_get_by_name(GST_BIN(p), "dec");
  guint64 dropped = 0;
  g_object_get(depay, "dropped", &dropped, nullptr);
  EXPECT_EQ(dropped, static_cast<guint64>(expect_dropped));
  GstStructure* st = nullptr;
  g_object_get(dec, "stats", &st, nullptr);
  ASSERT_NE(st, nullptr);
  guint64 corrupt = 0, complete = 0, n = 0;
  gst_structure_get_uint64(st, "packets-corrupt", &corrupt);
  gst_structure_get_uint64(st, "samples-complete", &complete);
  gst_structure_get_uint64(st, "samples", &n);
  gchar* text = gst_structure_to_string(st);
  std::printf("%s\n", text);
  g_free(text);
  EXPECT_EQ(n, 20u);
  EXPECT_EQ(complete, 20u);
  // The truncated payloads (20) and the other stream's data packets (15), which do not decode
  // with this stream's parameter set.
  EXPECT_GE(corrupt, 35u);
  gst_structure_free(st);
  for (GstElement* e : {src, sink, depay, dec}) gst_object_unref(e);
}

// Pushes the samples of `t` (N × sample, f32) with PTS i · period into appsrc "in" of `p`
// (not live) and returns every buffer appsink "out" gets until EOS.
std::vector<GstBuffer*> PushAndCollect(GstElement* p, const Tensor& t, GstClockTime period) {
  GstElement* src = gst_bin_get_by_name(GST_BIN(p), "in");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(p), "out");
  std::vector<GstBuffer*> out;
  if (!Play(p)) return out;
  const size_t bytes = t.size_bytes() / static_cast<size_t>(t.shape()[0]);
  for (int64_t i = 0; i < t.shape()[0]; ++i) {
    GstBuffer* b = gst_buffer_new_allocate(nullptr, bytes, nullptr);
    gst_buffer_fill(b, 0, t.data() + static_cast<size_t>(i) * bytes, bytes);
    GST_BUFFER_PTS(b) = static_cast<GstClockTime>(i) * period;
    GST_BUFFER_DURATION(b) = period;
    gst_app_src_push_buffer(GST_APP_SRC(src), b);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND)) {
    out.push_back(gst_buffer_ref(gst_sample_get_buffer(s)));
    gst_sample_unref(s);
  }
  gst_object_unref(src);
  gst_object_unref(sink);
  return out;
}

Bytes BufferBytes(GstBuffer* b) {
  Bytes v(gst_buffer_get_size(b));
  gst_buffer_extract(b, 0, v.data(), v.size());
  return v;
}

// NNStreamer's other/tensors (dimensions innermost first) code the same packets as the
// C:H:W sample they describe.
TEST_F(GstRtp, EncoderTakesNnstreamerTensors) {
  const Tensor a = ReluFeatures(3, 16, 8, 6, 7);
  GstElement* p = Make(
      "appsrc name=in format=time caps=\"other/tensors,format=static,num_tensors=1,"
      "types=float32,dimensions=6:8:16:1,framerate=30/1\" ! ftcenc stream-id=9 ! appsink "
      "name=out sync=false");
  ASSERT_TRUE(p);
  std::vector<GstBuffer*> got = PushAndCollect(p, a, GST_SECOND / 30);
  const std::vector<Bytes> want = Flatten(LiveEncode(a, Ans4(), Popts(9)));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(BufferBytes(got[i]), want[i]) << i;
  for (GstBuffer* b : got) gst_buffer_unref(b);
}

// rtpftcpay sends the stream's parameter set again once config-interval seconds of stream time
// passed (here 3 s of samples at 10/s: at 0 s from the encoder, then at 1 s and 2 s), and never
// with config-interval=0; the marker bit ends each sample; RTP timestamps are 90 kHz.
TEST_F(GstRtp, PayloaderRepeatsTheParameterSetEveryConfigInterval) {
  const Tensor a = ReluFeatures(30, 4, 4, 4, 8);  // one data packet per sample
  for (int interval : {1, 0}) {
    GstElement* p = Make(
        "appsrc name=in format=time caps=\"application/x-ftc-tensor,type=float32,dims=4:4:4\" "
        "! ftcenc ! rtpftcpay config-interval=" +
        std::to_string(interval) + " ! appsink name=out sync=false");
    ASSERT_TRUE(p);
    std::vector<GstBuffer*> got = PushAndCollect(p, a, GST_SECOND / 10);
    int parameter_sets = 0, markers = 0;
    std::vector<uint32_t> data_ts;
    for (GstBuffer* b : got) {
      const Bytes bytes = BufferBytes(b);
      Result<rtp::RtpPacket> r = rtp::ParseRtpPacket(bytes.data(), bytes.size());
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->payload_type, 96);
      if (IsParameterSetPacket(r->payload, r->payload_size)) {
        ++parameter_sets;
      } else {
        data_ts.push_back(r->timestamp);
      }
      markers += r->marker;
      gst_buffer_unref(b);
    }
    EXPECT_EQ(parameter_sets, interval == 1 ? 3 : 1) << "config-interval=" << interval;
    EXPECT_EQ(markers, 30);
    ASSERT_EQ(data_ts.size(), 30u);
    for (size_t i = 1; i < data_ts.size(); ++i) EXPECT_EQ(data_ts[i] - data_ts[i - 1], 9000u);
  }
}

// A sender that starts again (a new LivePacketEncoder, frame indices from 0, long after the
// old ones) is followed: its samples come out with their own timestamps after the old ones.
// With stream-id set, another stream's packets are foreign and nothing of it comes out.
TEST_F(GstRtp, DecoderFollowsASenderThatStartedAgain) {
  const Tensor a = ReluFeatures(200, 2, 4, 4, 9);
  const Tensor b = ReluFeatures(10, 2, 4, 4, 10);
  const std::vector<Bytes> first = Flatten(LiveEncode(a, Ans4(), Popts(5)));
  const std::vector<Bytes> again = Flatten(LiveEncode(b, Ans4(), Popts(5)));
  const std::vector<Bytes> other = Flatten(LiveEncode(b, Ans4(), Popts(6)));
  GstElement* p = Make(
      "appsrc name=in format=time caps=application/x-ftc-packets ! ftcdec name=dec stream-id=5 "
      "stats-interval=0 ! appsink name=out sync=false");
  ASSERT_TRUE(p);
  GstElement* src = gst_bin_get_by_name(GST_BIN(p), "in");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(p), "out");
  ASSERT_TRUE(Play(p));
  const auto push = [&](const std::vector<Bytes>& packets, GstClockTime t0) {
    GstClockTime pts = t0;
    for (const Bytes& q : packets) {
      GstBuffer* buf = gst_buffer_new_allocate(nullptr, q.size(), nullptr);
      gst_buffer_fill(buf, 0, q.data(), q.size());
      GST_BUFFER_PTS(buf) = pts;
      if (!IsParameterSetPacket(q.data(), q.size())) pts += GST_SECOND / 10;  // one per sample
      gst_app_src_push_buffer(GST_APP_SRC(src), buf);
    }
  };
  push(first, 0);
  push(other, 0);  // foreign: dropped
  push(again, 100 * GST_SECOND);
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  std::vector<GstClockTime> pts;
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND)) {
    pts.push_back(GST_BUFFER_PTS(gst_sample_get_buffer(s)));
    gst_sample_unref(s);
  }
  ASSERT_EQ(first.size() - 4, 200u) << "one data packet per sample (and 4 parameter sets)";
  ASSERT_EQ(pts.size(), 210u);
  for (size_t i = 0; i < 200; ++i) EXPECT_EQ(pts[i], i * (GST_SECOND / 10)) << i;
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(pts[200 + i], 100 * GST_SECOND + i * (GST_SECOND / 10));
  GstElement* dec = gst_bin_get_by_name(GST_BIN(p), "dec");
  GstStructure* st = nullptr;
  g_object_get(dec, "stats", &st, nullptr);
  guint64 foreign = 0;
  gst_structure_get_uint64(st, "packets-foreign", &foreign);
  EXPECT_EQ(foreign, other.size());
  gst_structure_free(st);
  for (GstElement* e : {src, sink, dec}) gst_object_unref(e);
}

// ftcnpysrc ! ftcnpysink copies an .npy sample by sample, in its dtype (f32, f16, u8);
// ftcnpysink writes at EOS when num-samples is 0.
TEST_F(GstRtp, NpySourceToNpySinkKeepsEveryDtype) {
  const Tensor f32 = ReluFeatures(5, 3, 4, 2, 11);
  for (DType t : {DType::kF32, DType::kF16, DType::kU8}) {
    const Tensor in = t == DType::kF32 ? f32 : f32.ConvertTo(t);
    const std::string name = dir_ + "/in_" + DTypeName(t) + ".npy";
    const std::string out = dir_ + "/out_" + DTypeName(t) + ".npy";
    WriteNpyFile(name, in);
    GstElement* p = Make("ftcnpysrc location=" + name + " rate=1000 ! ftcnpysink location=" + out);
    ASSERT_TRUE(p);
    ASSERT_TRUE(Play(p));
    std::vector<int> eos;
    std::string error;
    ASSERT_TRUE(RunPipelines(
        {p}, [&] { return !eos.empty() && eos[0] > 0; }, Clock::now() + std::chrono::seconds(10),
        &error, &eos))
        << error;
    const Tensor back = ReadNpyFile(out);
    EXPECT_EQ(back.dtype(), t);
    EXPECT_EQ(back.shape(), in.shape());
    EXPECT_EQ(back.size_bytes(), in.size_bytes());
    EXPECT_EQ(std::memcmp(back.data(), in.data(), std::min(back.size_bytes(), in.size_bytes())), 0)
        << DTypeName(t);
  }
}

// Options the library refuses stop the pipeline with the library's message.
TEST_F(GstRtp, BadEncoderOptionsAreAnErrorWithTheLibrarysMessage) {
  const Tensor a = ReluFeatures(2, 4, 4, 4, 6);
  WriteNpyFile(dir_ + "/a.npy", a);
  GstElement* p =
      Make("ftcnpysrc location=" + dir_ + "/a.npy ! ftcenc codec=ans clip=bogus ! fakesink");
  ASSERT_TRUE(p);
  gst_element_set_state(p, GST_STATE_PLAYING);
  std::string error;
  EXPECT_FALSE(RunPipelines(
      {p}, [] { return false; }, Clock::now() + std::chrono::seconds(10), &error));
  EXPECT_NE(error.find("clip"), std::string::npos) << error;
  EXPECT_NE(error.find("bogus"), std::string::npos) << error;
}

}  // namespace
}  // namespace ftc::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // The build's plugin and only the system plugins the tests use (tests/gst/CMakeLists.txt),
  // a registry in the build tree (not ~/.cache), scanned in this process.
  setenv("GST_PLUGIN_PATH", FTC_GST_PLUGIN_DIR ":" FTC_GST_USED_SYSTEM_PLUGINS, 1);
  setenv("GST_PLUGIN_SYSTEM_PATH_1_0", "", 1);
  setenv("GST_REGISTRY", FTC_GST_REGISTRY, 1);
  setenv("GST_REGISTRY_FORK", "no", 1);
  // Listing the tests (gtest_discover_tests at build time) needs no registry.
  if (::testing::GTEST_FLAG(list_tests)) return RUN_ALL_TESTS();
  gst_init(&argc, &argv);
  const int rc = RUN_ALL_TESTS();
  gst_deinit();  // frees what GStreamer holds (registry, plugins) before LeakSanitizer looks
  return rc;
}

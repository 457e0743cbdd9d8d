// Packet mode: packet format, packetizer, receiver (reorder, duplicates, corruption, loss).
#include "bitstream/packet.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/status_macros.h"
#include "codec/packet/packet_parse.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "tests/packet_test_util.h"

namespace ftc {
namespace {

// A smooth N×C×H×W tensor whose channels are correlated (gain and offset of shared patterns),
// about half zeros after a ReLU-like cut when `relu`.
std::vector<float> SmoothTensor(int n, int c, int h, int w, bool relu = false, int seed = 1) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n) * c * h * w);
  for (int s = 0; s < n; ++s) {
    const float phase = u(rng) * 3.0f;
    for (int ch = 0; ch < c; ++ch) {
      const float gain = 1.0f + u(rng), offset = u(rng), mix = u(rng);
      for (int y = 0; y < h; ++y) {
        for (int xx = 0; xx < w; ++xx) {
          const float a = std::sin(0.35f * y + phase) * std::cos(0.25f * xx);
          const float b = std::cos(0.2f * (y + xx) - phase);
          float v = gain * (a + mix * b) + offset + 0.02f * u(rng);
          if (relu) v = std::max(v, 0.0f);
          x[((static_cast<size_t>(s) * c + ch) * h + y) * w + xx] = v;
        }
      }
    }
  }
  return x;
}

EncoderOptions AnsOptions(int bits = 4, bool per_channel = false) {
  EncoderOptions o;
  o.codec = "ans";
  o.bits = bits;
  o.per_channel = per_channel;
  return o;
}

// The loss-free reference: the .ftc decode of the same tensor and options.
Tensor Reference(const TensorView& v, const EncoderOptions& o) {
  Result<Bytes> code = encode(v, o);
  EXPECT_TRUE(code.ok()) << code.status().ToString();
  Result<Tensor> t = decode(*code);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

Result<DecodedTensor> DecodeAll(const std::vector<Bytes>& packets,
                                ConcealMethod m = ConcealMethod::kZero) {
  Decoder d;
  for (const Bytes& p : packets) {
    Status s = d.push(p);
    if (!s.ok()) return s;
  }
  return d.finish(m);
}

bool SameBytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && a.size_bytes() == b.size_bytes() &&
         std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

struct Config {
  const char* name;
  EncoderOptions options;
  bool interleave;
};

std::vector<Config> Configs() {
  EncoderOptions raw;
  raw.codec = "raw";
  EncoderOptions raw16 = raw;
  raw16.store_dtype = DType::kF16;
  EncoderOptions lossless = AnsOptions();
  lossless.lossless = true;
  return {{"ans4", AnsOptions(4), false},
          {"ans4_interleave", AnsOptions(4), true},
          {"ans6_per_channel", AnsOptions(6, true), false},
          {"ans3_per_channel_interleave", AnsOptions(3, true), true},
          {"ans12", AnsOptions(12), true},
          {"raw", raw, false},
          {"raw_f16_interleave", raw16, true},
          {"lossless", lossless, false},
          {"lossless_interleave", lossless, true}};
}

TEST(PacketTest, AllPacketsDecodeLikeTheFrameFormat) {
  const Shape shape = {3, 8, 14, 14};
  const std::vector<float> x = SmoothTensor(3, 8, 14, 14, true);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, shape);
  for (const Config& c : Configs()) {
    SCOPED_TRACE(c.name);
    PacketOptions po;
    po.packet_size = 160;
    po.interleave = c.interleave;
    Result<std::vector<Bytes>> packets = encode_packets(v, c.options, po);
    ASSERT_TRUE(packets.ok()) << packets.status().ToString();
    EXPECT_GT(packets->size(), 6u);
    Result<DecodedTensor> d = DecodeAll(*packets);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_TRUE(SameBytes(d->tensor, Reference(v, c.options)));
    EXPECT_EQ(d->mask.lost_count, 0);
    EXPECT_EQ(d->stats.accepted, DataPackets(*packets).size());
    EXPECT_GE(d->stats.parameter_sets, 1u);
    EXPECT_EQ(d->stats.frames_complete, 3u);
    EXPECT_EQ(d->stats.packets_missing, 0u);
  }
}

TEST(PacketTest, EveryPacketFitsTheSize) {
  const std::vector<float> x = SmoothTensor(2, 16, 20, 24, true);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {2, 16, 20, 24});
  for (int size : {96, 128, 200, 333, 576, 1200, 1500, 9000}) {
    for (bool interleave : {false, true}) {
      SCOPED_TRACE(std::to_string(size) + (interleave ? " interleaved" : ""));
      PacketOptions po;
      po.packet_size = size;
      po.interleave = interleave;
      Result<std::vector<Bytes>> packets = encode_packets(v, AnsOptions(8), po);
      ASSERT_TRUE(packets.ok()) << packets.status().ToString();
      size_t total = 0;
      for (const Bytes& p : *packets) EXPECT_LE(p.size(), static_cast<size_t>(size));
      const std::vector<Bytes> data = DataPackets(*packets);
      for (const Bytes& p : data) total += p.size();
      // Data packets are filled: on average well above half the size (unless everything fits in
      // one per sample).
      if (data.size() > 2) {
        EXPECT_GT(total, data.size() * static_cast<size_t>(size) / 2);
      }
      Result<DecodedTensor> d = DecodeAll(*packets);
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      EXPECT_TRUE(SameBytes(d->tensor, Reference(v, AnsOptions(8))));
    }
  }
}

TEST(PacketTest, BandThatCannotFitIsAClearError) {
  const std::vector<float> x = SmoothTensor(1, 4, 16, 400);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {1, 4, 16, 400});
  EncoderOptions o = AnsOptions(8);
  o.band_rows = 8;
  PacketOptions po;
  po.packet_size = 200;
  po.auto_band_rows = false;
  Result<std::vector<Bytes>> r = encode_packets(v, o, po);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("--band-rows 1"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("--packet-size"), std::string::npos);
  // Automatic band rows go down to one row; a row of 400 values still does not fit.
  po.auto_band_rows = true;
  r = encode_packets(v, o, po);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("larger --packet-size"), std::string::npos)
      << r.status().message();
  // Packet sizes out of range.
  po.packet_size = 63;
  EXPECT_EQ(encode_packets(v, o, po).status().code(), StatusCode::kInvalidArgument);
  po.packet_size = 65536;
  EXPECT_EQ(encode_packets(v, o, po).status().code(), StatusCode::kInvalidArgument);
}

TEST(PacketTest, PictureCodecsAreNotPacketized) {
  const std::vector<float> x = SmoothTensor(1, 4, 8, 8);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {1, 4, 8, 8});
  for (const std::string& codec : AvailableCodecs()) {
    if (codec == "ans" || codec == "raw" || codec == "learned") continue;  // learned: its tests
    EncoderOptions o;
    o.codec = codec;
    Result<std::vector<Bytes>> r = encode_packets(v, o, PacketOptions());
    ASSERT_FALSE(r.ok()) << codec;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("cannot be packetized"), std::string::npos);
  }
}

// Any single packet alone gives exactly its region; the mask says the rest is lost.
TEST(PacketTest, EachPacketDecodesAlone) {
  const Shape shape = {2, 6, 12, 10};
  const std::vector<float> x = SmoothTensor(2, 6, 12, 10, true);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, shape);
  for (const Config& c : Configs()) {
    SCOPED_TRACE(c.name);
    PacketOptions po;
    po.packet_size = 200;
    po.interleave = c.interleave;
    Result<std::vector<Bytes>> packets = encode_packets(v, c.options, po);
    ASSERT_TRUE(packets.ok()) << packets.status().ToString();
    const Tensor ref = Reference(v, c.options);
    const int64_t total = ref.num_elements();
    int64_t covered = 0;
    const std::vector<Bytes> data = DataPackets(*packets);
    const Bytes ps = FirstParameterSet(*packets);
    for (size_t k = 0; k < data.size(); ++k) {
      Decoder d;
      ASSERT_TRUE(d.push(data[k]).ok());  // held until its parameter set arrives
      ASSERT_TRUE(d.push(ps).ok());
      Result<DecodedTensor> r = d.finish(ConcealMethod::kInpaint);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      const LossMask& m = r->mask;
      ASSERT_EQ(m.lost.size(), static_cast<size_t>(total));
      const size_t es = DTypeSize(ref.dtype());
      int64_t got = 0;
      for (int64_t i = 0; i < total; ++i) {
        if (m.lost[static_cast<size_t>(i)]) continue;
        ++got;
        ASSERT_EQ(std::memcmp(r->tensor.data() + i * es, ref.data() + i * es, es), 0)
            << "packet " << k << " element " << i;
      }
      EXPECT_GT(got, 0);
      EXPECT_EQ(m.lost_count, total - got);
      EXPECT_EQ(r->stats.frames_lost, 1u);  // the other sample
      covered += got;
      if (c.interleave) {
        // Within one channel, a received band's neighbours came in other packets (rows above
        // and below are lost), when the frame has 3 packets or more.
        const ParsedPacket p =
            ParseCodecPacket(data[k].data(), data[k].size(), *packets, 1 << 20).value();
        if (p.header.packet_count > 2) {
          for (uint32_t b : p.bands) {
            const uint32_t j = b % p.layout.per_channel;
            if (j + 1 < p.layout.per_channel) {
              EXPECT_TRUE(std::find(p.bands.begin(), p.bands.end(), b + 1) == p.bands.end());
            }
          }
        }
      }
    }
    EXPECT_EQ(covered, total);  // the packets partition the tensor
  }
}

TEST(PacketTest, ReorderedAndDuplicatedPacketsGiveTheSameTensor) {
  const std::vector<float> x = SmoothTensor(3, 8, 14, 14, true);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {3, 8, 14, 14});
  PacketOptions po;
  po.packet_size = 300;
  po.interleave = true;
  std::vector<Bytes> packets = encode_packets(v, AnsOptions(), po).value();
  const Tensor ref = DecodeAll(packets)->tensor;
  std::vector<Bytes> shuffled = packets;
  std::mt19937 rng(42);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  Decoder d;
  for (const Bytes& p : shuffled) ASSERT_TRUE(d.push(p).ok());
  const std::vector<Bytes> data = DataPackets(packets);
  for (size_t i = 0; i < data.size(); i += 2) ASSERT_TRUE(d.push(data[i]).ok());
  Result<DecodedTensor> r = d.finish();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(SameBytes(r->tensor, ref));
  EXPECT_EQ(r->stats.duplicates, (data.size() + 1) / 2);
  EXPECT_EQ(r->stats.accepted, data.size());
  EXPECT_EQ(r->stats.parameter_sets, packets.size() - data.size());
  EXPECT_EQ(r->mask.lost_count, 0);
}

TEST(PacketTest, CorruptPacketsAreDroppedAndCounted) {
  const std::vector<float> x = SmoothTensor(2, 8, 14, 14);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {2, 8, 14, 14});
  PacketOptions po;
  po.packet_size = 300;
  std::vector<Bytes> packets = encode_packets(v, AnsOptions(), po).value();
  ASSERT_GE(packets.size(), 4u);
  // The victim: the second data packet.
  size_t victim = 0;
  for (size_t i = 0, seen = 0; i < packets.size(); ++i) {
    if (!IsParameterSet(packets[i]) && seen++ == 1) victim = i;
  }
  ASSERT_GT(victim, 0u);
  // Reference: the same stream with the victim lost.
  Decoder lossy;
  for (size_t i = 0; i < packets.size(); ++i) {
    if (i != victim) {
      ASSERT_TRUE(lossy.push(packets[i]).ok());
    }
  }
  const DecodedTensor want = lossy.finish(ConcealMethod::kLinear).value();
  EXPECT_GT(want.mask.lost_count, 0);

  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    Decoder d;
    Bytes bad = packets[victim];
    switch (trial % 3) {
      case 0:
        bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
        break;
      case 1:
        bad.resize(rng() % bad.size());
        break;
      default:
        bad.push_back(0);
        break;
    }
    for (size_t i = 0; i < packets.size(); ++i) {
      Status s = d.push(i == victim ? bad : packets[i]);
      EXPECT_EQ(s.ok(), i != victim) << s.ToString();
    }
    EXPECT_EQ(d.stats().corrupt, 1u);
    Result<DecodedTensor> r = d.finish(ConcealMethod::kLinear);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(SameBytes(r->tensor, want.tensor));
    EXPECT_EQ(r->mask.lost, want.mask.lost);
  }
}

TEST(PacketTest, ForeignAndInconsistentPacketsAreRejected) {
  const std::vector<float> x = SmoothTensor(1, 8, 14, 14);
  const std::vector<float> y = SmoothTensor(1, 8, 14, 14, false, 2);
  const TensorView vx = TensorView::Contiguous(x.data(), DType::kF32, {1, 8, 14, 14});
  const TensorView vy = TensorView::Contiguous(y.data(), DType::kF32, {1, 8, 14, 14});
  PacketOptions po;
  po.packet_size = 300;
  const std::vector<Bytes> px = encode_packets(vx, AnsOptions(), po).value();
  const std::vector<Bytes> py = encode_packets(vy, AnsOptions(), po).value();
  // Default stream ids are content hashes: different tensors, different streams.
  EXPECT_NE(ParsePacketHead(px[0].data(), px[0].size())->stream_id,
            ParsePacketHead(py[0].data(), py[0].size())->stream_id);
  Decoder d;
  for (const Bytes& p : px) ASSERT_TRUE(d.push(p).ok());
  for (const Bytes& p : py) {
    Status s = d.push(p);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("different stream"), std::string::npos);
  }
  EXPECT_EQ(d.stats().foreign, py.size());
  EXPECT_TRUE(SameBytes(d.finish()->tensor, Reference(vx, AnsOptions())));

  // Same stream id, different content: a conflicting packet of the same index, and a packet
  // disagreeing with the stream's parameters.
  po.stream_id = 77;
  const std::vector<Bytes> qx = encode_packets(vx, AnsOptions(), po).value();
  const std::vector<Bytes> qy = encode_packets(vy, AnsOptions(), po).value();
  const std::vector<Bytes> qz = encode_packets(vx, AnsOptions(5), po).value();
  EXPECT_EQ(ParsePacketHead(qx[0].data(), qx[0].size())->stream_id, 77u);
  Decoder e;
  for (const Bytes& p : qx) ASSERT_TRUE(e.push(p).ok());
  // Packet 0 of frame 0 again, with other contents; a parameter set with other parameters.
  EXPECT_EQ(e.push(DataPackets(qy)[0]).code(), StatusCode::kCorruptData);
  EXPECT_EQ(e.push(FirstParameterSet(qz)).code(), StatusCode::kCorruptData);
  EXPECT_EQ(e.stats().inconsistent, 2u);
  EXPECT_EQ(e.stats().accepted, DataPackets(qx).size());
  // A decoder told to expect another stream rejects everything else.
  PacketDecoderOptions only;
  only.stream_id = 5;
  Decoder f(only);
  EXPECT_EQ(f.push(qx[0]).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(f.finish().ok());
}

TEST(PacketTest, LostFramesAndLostEverything) {
  const std::vector<float> x = SmoothTensor(3, 4, 10, 10);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {3, 4, 10, 10});
  PacketOptions po;
  po.packet_size = 200;
  const std::vector<Bytes> packets = encode_packets(v, AnsOptions(), po).value();
  // Nothing arrived: the shape is unknown.
  Decoder none;
  Result<DecodedTensor> r = none.finish();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(r.status().message().find("no packet"), std::string::npos);
  // Only garbage arrived.
  Decoder garbage;
  const uint8_t junk[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_FALSE(garbage.push(junk, sizeof(junk)).ok());
  EXPECT_FALSE(garbage.finish().ok());
  // Sample 1 lost entirely: concealed with the mean of samples 0 and 2 (zero: with 0).
  Decoder d;
  for (const Bytes& p : packets) {
    if (IsParameterSet(p) ||
        ParseCodecPacket(p.data(), p.size(), packets, 1 << 20)->header.frame_index != 1) {
      ASSERT_TRUE(d.push(p).ok());
    }
  }
  const Tensor ref = Reference(v, AnsOptions());
  for (ConcealMethod m : {ConcealMethod::kZero, ConcealMethod::kInpaint}) {
    r = d.finish(m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->stats.frames, 3u);
    EXPECT_EQ(r->stats.frames_lost, 1u);
    EXPECT_EQ(r->stats.frames_complete, 2u);
    EXPECT_EQ(r->mask.lost_count, 400);
    const float* t = r->tensor.data_as<float>();
    const float* f = ref.data_as<float>();
    for (int i = 0; i < 400; ++i) {
      EXPECT_EQ(t[i], f[i]);
      EXPECT_EQ(t[800 + i], f[800 + i]);
      EXPECT_TRUE(r->mask.lost[400 + i]);
      const float want = m == ConcealMethod::kZero ? 0.0f : (f[i] + f[800 + i]) / 2;
      EXPECT_NEAR(t[400 + i], want, 1e-5);
    }
  }
}

TEST(PacketTest, DeterministicAndDtypes) {
  const std::vector<float> x = SmoothTensor(2, 5, 9, 11, true);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {2, 5, 9, 11});
  PacketOptions po;
  po.packet_size = 150;
  po.interleave = true;
  EncoderOptions o = AnsOptions();
  o.threads = 1;
  const std::vector<Bytes> a = encode_packets(v, o, po).value();
  o.threads = 4;
  const std::vector<Bytes> b = encode_packets(v, o, po).value();
  EXPECT_EQ(a, b);
  // f16 input, rank 3 and rank 2 tensors; output dtype option.
  std::vector<uint16_t> h(x.size() / 2);
  for (size_t i = 0; i < h.size(); ++i) h[i] = F32ToF16(x[i]);
  for (const Shape& shape : {Shape{5, 9, 11}, Shape{45, 11}}) {
    const TensorView hv = TensorView::Contiguous(h.data(), DType::kF16, shape);
    for (const Config& c : Configs()) {
      if (c.options.store_dtype) continue;
      SCOPED_TRACE(std::string(c.name) + " " + ShapeToString(shape));
      po.interleave = c.interleave;
      Result<std::vector<Bytes>> p = encode_packets(hv, c.options, po);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      Result<DecodedTensor> r = DecodeAll(*p);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->tensor.dtype(), DType::kF16);
      EXPECT_TRUE(SameBytes(r->tensor, Reference(hv, c.options)));
      PacketDecoderOptions f32;
      f32.dtype = DType::kF32;
      Decoder d(f32);
      for (const Bytes& q : *p) ASSERT_TRUE(d.push(q).ok());
      EXPECT_EQ(d.finish()->tensor.dtype(), DType::kF32);
    }
  }
}

TEST(PacketTest, SinkAndStreamFile) {
  const std::vector<float> x = SmoothTensor(2, 4, 8, 8);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {2, 4, 8, 8});
  std::vector<Bytes> sunk;
  ASSERT_TRUE(encode_packets(v, AnsOptions(), [&](const uint8_t* p, size_t n) {
                sunk.emplace_back(p, p + n);
              }).ok());
  EXPECT_EQ(sunk, encode_packets(v, AnsOptions(), PacketOptions()).value());
  const Bytes file = WritePacketStream(sunk).value();
  EXPECT_TRUE(IsPacketStream(file.data(), file.size()));
  PacketStreamContents c = ReadPacketStream(file.data(), file.size());
  EXPECT_EQ(c.packets, sunk);
  EXPECT_EQ(c.damaged_bytes, 0u);
  // A .ftc is not a packet stream; a broken tail is reported.
  const Bytes ftc = encode(v, AnsOptions()).value();
  EXPECT_FALSE(IsPacketStream(ftc.data(), ftc.size()));
  Bytes broken = file;
  broken.push_back(9);
  broken.push_back(9);
  c = ReadPacketStream(broken.data(), broken.size());
  EXPECT_EQ(c.packets, sunk);
  EXPECT_EQ(c.damaged_bytes, 2u);
  EXPECT_FALSE(WritePacketStream({Bytes()}).ok());
}

TEST(PacketTest, InterleaveSlotsArePermutationsAndInvertible) {
  for (uint32_t p = 1; p <= 40; ++p) {
    const uint32_t s = InterleaveStride(p);
    for (uint32_t total : {p, p + 1, 3 * p + 2, 7 * p}) {
      std::vector<int> seen(total, 0);
      for (uint32_t k = 0; k < p; ++k) {
        for (uint32_t b : InterleavedBands(k, p, total)) {
          ASSERT_LT(b, total);
          EXPECT_EQ(InterleaveSlot(b, p, s), k);
          ++seen[b];
        }
      }
      for (int n : seen) EXPECT_EQ(n, 1);
    }
  }
  EXPECT_EQ(InterleaveStride(1), 1u);
  EXPECT_EQ(InterleaveStride(2), 1u);
  EXPECT_EQ(InterleaveStride(10), 7u);  // round(6.18) = 6, gcd(6, 10) = 2, gcd(7, 10) = 1
}

// The default layout is built for concealment: one row per band, interleaved, so that no lost
// packet takes a whole channel (2 or more packets), nor two neighbouring rows of one (3 or more:
// every lost row keeps its received rows above and below), nor more than 2·ceil(H/P) of a
// channel's H rows; and a lost packet's rows are spread over many channels.
TEST(PacketTest, DefaultLayoutLeavesEveryLostRowReceivedNeighbours) {
  struct Case {
    int c, h, w, packet_size;
  };
  for (const Case& k : {Case{64, 14, 14, 300}, Case{64, 14, 14, 120}, Case{8, 7, 7, 64},
                        Case{16, 5, 9, 100}, Case{3, 28, 28, 200}, Case{32, 7, 7, 150}}) {
    SCOPED_TRACE(StrFormat("%dx%dx%d, packets of %d bytes", k.c, k.h, k.w, k.packet_size));
    const std::vector<float> x = SmoothTensor(1, k.c, k.h, k.w, true);
    const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {k.c, k.h, k.w});
    PacketOptions popts;  // the defaults, but for the size
    popts.packet_size = k.packet_size;
    Result<std::vector<Bytes>> packets = encode_packets(v, AnsOptions(4), popts);
    ASSERT_TRUE(packets.ok()) << packets.status().ToString();
    const std::vector<Bytes> data = DataPackets(*packets);
    const uint32_t p = static_cast<uint32_t>(data.size());
    ASSERT_GE(p, 2u);
    std::vector<uint32_t> channels_of_packet(p);
    for (const Bytes& b : data) {
      Result<ParsedPacket> parsed =
          ParseCodecPacket(b.data(), b.size(), *packets, kMaxSampleElements);
      ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
      const PacketHeader& h = parsed->header;
      EXPECT_TRUE(h.interleaved());
      EXPECT_EQ(h.band_rows, 1u);
      // Rows of each channel this packet carries.
      std::vector<std::vector<uint32_t>> rows(static_cast<size_t>(k.c));
      for (uint32_t band : parsed->bands) {
        rows[parsed->layout.channel(band)].push_back(parsed->layout.first_row(band));
      }
      const uint32_t bound = 2 * ((static_cast<uint32_t>(k.h) + p - 1) / p);
      for (int c = 0; c < k.c; ++c) {
        const std::vector<uint32_t>& r = rows[static_cast<size_t>(c)];
        EXPECT_LT(r.size(), static_cast<size_t>(k.h))
            << "packet " << h.packet_index << " holds all of channel " << c;
        EXPECT_LE(r.size(), bound) << "packet " << h.packet_index << ", channel " << c;
        for (size_t i = 1; i < r.size() && p >= 3; ++i) {
          EXPECT_NE(r[i], r[i - 1] + 1) << "packet " << h.packet_index << " holds rows " << r[i - 1]
                                        << " and " << r[i] << " of channel " << c;
        }
        channels_of_packet[h.packet_index] += r.empty() ? 0 : 1;
      }
    }
    // Spread: every packet carries rows of at least min(C, bands per packet) channels.
    for (uint32_t k2 = 0; k2 < p; ++k2) {
      const uint32_t bands = InterleavedBandCount(k2, p, static_cast<uint32_t>(k.c * k.h));
      EXPECT_GE(channels_of_packet[k2], std::min<uint32_t>(static_cast<uint32_t>(k.c), bands) / 2)
          << "packet " << k2;
    }
  }
}

TEST(PacketTest, ParserRejectsHostileHeaders) {
  const std::vector<float> x = SmoothTensor(1, 4, 8, 8);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {1, 4, 8, 8});
  const std::vector<Bytes> stream = encode_packets(v, AnsOptions(), PacketOptions()).value();
  const Bytes ps = FirstParameterSet(stream);
  const Bytes good = DataPackets(stream)[0];
  ASSERT_TRUE(ParseCodecPacket(good.data(), good.size(), stream, 1 << 20).ok());
  DecoderLimits limits;
  ASSERT_TRUE(ParseCodecParameterSet(ps.data(), ps.size(), limits).ok());
  // Every truncation fails; every single-byte change fails (the checksum), in either kind.
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(ParseCodecPacket(good.data(), n, stream, 1 << 20).ok());
  for (size_t i = 0; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x40;
    EXPECT_FALSE(ParseCodecPacket(bad.data(), bad.size(), stream, 1 << 20).ok()) << i;
  }
  for (size_t n = 0; n < ps.size(); ++n)
    EXPECT_FALSE(ParseCodecParameterSet(ps.data(), n, limits).ok());
  for (size_t i = 0; i < ps.size(); ++i) {
    Bytes bad = ps;
    bad[i] ^= 0x40;
    EXPECT_FALSE(ParseCodecParameterSet(bad.data(), bad.size(), limits).ok()) << i;
  }
  // A well-formed parameter set claiming a huge sample hits the limit before any allocation.
  PacketHeader h;
  h.shape = {1, 1 << 20, 1 << 10, 1 << 10};
  h.frame_count = 1;
  h.params = {0};
  Bytes huge;
  WriteParameterSet(h, &huge);
  Result<ParsedParameterSet> r = ParseCodecParameterSet(huge.data(), huge.size(), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  Decoder d;
  EXPECT_EQ(d.push(huge).code(), StatusCode::kLimitExceeded);
  // Reserved flags, wrong version, unknown codec, unknown kind.
  PacketHeader k;
  k.shape = {4, 8, 8};
  k.params = {0};
  for (int field = 0; field < 4; ++field) {
    PacketHeader m = k;
    if (field == 0) m.flags = 0x80;
    if (field == 2) m.codec_id = 2;
    Bytes b;
    WriteParameterSet(m, &b);
    if (field == 1) b[2] = 2;  // an earlier development version
    if (field == 3) b[kPacketKindOffset] = 7;
    SetPacketStreamId(0, &b);  // recomputes the checksum
    EXPECT_FALSE(ParseCodecParameterSet(b.data(), b.size(), limits).ok()) << field;
  }
  // A packet of an earlier development format names it.
  Bytes old = {0x89, 'F', 'T', 'P', 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  Status s = d.push(old);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("an earlier development format"), std::string::npos) << s.message();
}

// The parameter set travels in copies: any one of them decodes the stream; with none, the data
// packets wait and finish() says why.
TEST(PacketTest, ParameterSetLossAndRepetition) {
  const std::vector<float> x = SmoothTensor(3, 8, 14, 14, true);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {3, 8, 14, 14});
  PacketOptions po;
  po.packet_size = 200;
  const std::vector<Bytes> packets = encode_packets(v, AnsOptions(), po).value();
  const std::vector<Bytes> data = DataPackets(packets);
  std::vector<size_t> copies;
  for (size_t i = 0; i < packets.size(); ++i) {
    if (IsParameterSet(packets[i])) copies.push_back(i);
  }
  ASSERT_EQ(copies.size(), 3u);  // fewer than 64 data packets: the 3 spread copies
  EXPECT_EQ(copies[0], 0u);
  EXPECT_GT(copies[1], copies[0] + 1);
  EXPECT_GT(copies[2], copies[1] + 1);
  const Tensor ref = Reference(v, AnsOptions());
  // Every copy but one lost, in turn: the same tensor.
  for (size_t keep : copies) {
    Decoder d;
    for (size_t i = 0; i < packets.size(); ++i) {
      if (IsParameterSet(packets[i]) && i != keep) continue;
      ASSERT_TRUE(d.push(packets[i]).ok());
    }
    Result<DecodedTensor> r = d.finish();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(SameBytes(r->tensor, ref));
    EXPECT_EQ(r->stats.parameter_sets, 1u);
    EXPECT_EQ(r->stats.waiting, 0u);
    EXPECT_EQ(r->stats.accepted, data.size());
  }
  // Every copy lost: nothing decodes, and the error says what is missing.
  Decoder none;
  for (const Bytes& p : data) ASSERT_TRUE(none.push(p).ok());
  EXPECT_EQ(none.stats().waiting, data.size());
  Result<DecodedTensor> r = none.finish();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(r.status().message().find("no parameter set arrived"), std::string::npos)
      << r.status().message();
  // Only the parameter set: the shape is known, but no data arrived.
  Decoder only;
  ASSERT_TRUE(only.push(packets[0]).ok());
  r = only.finish();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no data packet arrived"), std::string::npos);
  // The interval: a copy before every 4th data packet (and no minimum of copies).
  po.parameter_set_interval = 4;
  po.parameter_sets = 1;
  const std::vector<Bytes> dense = encode_packets(v, AnsOptions(), po).value();
  EXPECT_EQ(dense.size() - data.size(), (data.size() + 3) / 4);
  for (size_t i = 0, seen = 0; i < dense.size(); ++i) {
    if (IsParameterSet(dense[i])) {
      EXPECT_EQ(seen % 4, 0u) << i;
    } else {
      ++seen;
    }
  }
  po.parameter_set_interval = 0;
  EXPECT_EQ(encode_packets(v, AnsOptions(), po).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ftc

namespace ftc {
namespace {

TEST(PacketTest, TheStreamMostPacketsAgreeOnIsDecoded) {
  const std::vector<float> x = SmoothTensor(1, 8, 14, 14);
  const std::vector<float> y = SmoothTensor(2, 4, 6, 6, false, 3);
  const TensorView vx = TensorView::Contiguous(x.data(), DType::kF32, {1, 8, 14, 14});
  const TensorView vy = TensorView::Contiguous(y.data(), DType::kF32, {2, 4, 6, 6});
  PacketOptions po;
  po.packet_size = 150;
  const std::vector<Bytes> px = encode_packets(vx, AnsOptions(), po).value();
  const std::vector<Bytes> py = encode_packets(vy, AnsOptions(), po).value();
  ASSERT_GE(px.size(), 3u);
  const uint32_t id_x = ParsePacketHead(px[0].data(), px[0].size())->stream_id;
  const uint32_t id_y = ParsePacketHead(py[0].data(), py[0].size())->stream_id;
  ASSERT_NE(id_x, id_y);
  // A stale parameter set and data packet of stream y first: y leads until stream x has more
  // data packets.
  Decoder d;
  ASSERT_TRUE(d.push(py[0]).ok());
  ASSERT_TRUE(d.push(py[1]).ok());
  Status s = d.push(px[0]);  // x's parameter set: y still leads
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("different stream"), std::string::npos) << s.message();
  s = d.push(px[1]);  // a tie: the earlier stream leads
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  for (size_t i = 2; i < px.size(); ++i) {
    // (Copies of x's parameter set are foreign while y still leads.)
    Status st = d.push(px[i]);
    if (!IsParameterSet(px[i])) {
      EXPECT_TRUE(st.ok()) << i << ": " << st.ToString();
    }
  }
  EXPECT_EQ(d.stats().accepted, DataPackets(px).size());
  EXPECT_EQ(d.stats().foreign, 2u);
  EXPECT_EQ(d.stats().stream_id, id_x);
  Result<DecodedTensor> r = d.finish();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(SameBytes(r->tensor, Reference(vx, AnsOptions())));
  EXPECT_EQ(r->mask.lost_count, 0);
  EXPECT_EQ(r->stats.stream_id, id_x);
  EXPECT_EQ(r->stats.other_streams, 1u);
  EXPECT_EQ(r->stats.other_stream_ids, std::vector<uint32_t>{id_y});
  const PacketStats& st = r->stats;
  EXPECT_EQ(st.accepted + st.duplicates + st.corrupt + st.foreign + st.inconsistent +
                st.parameter_sets + st.waiting,
            st.pushed);
  // The stream id option picks the other one.
  PacketDecoderOptions only_y;
  only_y.stream_id = id_y;
  Decoder e(only_y);
  EXPECT_TRUE(e.push(py[0]).ok());
  EXPECT_TRUE(e.push(py[1]).ok());
  for (const Bytes& p : px) EXPECT_EQ(e.push(p).code(), StatusCode::kInvalidArgument);
  r = e.finish(ConcealMethod::kZero);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tensor.shape(), (Shape{2, 4, 6, 6}));
  EXPECT_EQ(r->stats.foreign, px.size());
}

TEST(PacketTest, PacketsOfOneFrameMustCarryTheSameRanges) {
  // Two tensors with the same Stream_Id and options: their packets agree on every stream-wide
  // field, but the quantizer ranges of a frame differ.
  for (bool per_channel : {false, true}) {
    SCOPED_TRACE(per_channel ? "per channel" : "per frame");
    const std::vector<float> x = SmoothTensor(1, 6, 10, 10);
    std::vector<float> y = x;
    for (float& v : y) v *= 2;
    const TensorView vx = TensorView::Contiguous(x.data(), DType::kF32, {1, 6, 10, 10});
    const TensorView vy = TensorView::Contiguous(y.data(), DType::kF32, {1, 6, 10, 10});
    PacketOptions po;
    po.packet_size = 150;
    po.stream_id = 42;
    po.interleave = true;
    const EncoderOptions o = AnsOptions(4, per_channel);
    const std::vector<Bytes> px = encode_packets(vx, o, po).value();
    const std::vector<Bytes> py = encode_packets(vy, o, po).value();
    ASSERT_EQ(px.size(), py.size());
    ASSERT_GE(px.size(), 2u);
    Decoder d;
    const std::vector<Bytes> dx = DataPackets(px), dy = DataPackets(py);
    ASSERT_TRUE(d.push(px[0]).ok());  // the parameter set (the same in both streams)
    ASSERT_TRUE(d.push(dx[0]).ok());  // frame 0, packet 0
    Status s = d.push(dy[1]);         // a packet index not yet received, from the other tensor
    EXPECT_EQ(s.code(), StatusCode::kCorruptData);
    EXPECT_NE(s.message().find(per_channel ? "its quantizer range of channel"
                                           : "its quantizer range differs"),
              std::string::npos)
        << s.message();
    EXPECT_EQ(d.stats().inconsistent, 1u);
    EXPECT_EQ(d.stats().accepted, 1u);
    for (size_t i = 1; i < dx.size(); ++i) EXPECT_TRUE(d.push(dx[i]).ok());
    EXPECT_TRUE(SameBytes(d.finish()->tensor, Reference(vx, o)));
  }
}

}  // namespace
}  // namespace ftc

namespace ftc {
namespace {

// ans streams share one symbol model through the parameter set; other codecs carry none; a
// damaged model fails the parameter set, not the decoder.
TEST(PacketTest, TheParameterSetCarriesTheSharedSymbolModel) {
  const std::vector<float> x = SmoothTensor(6, 8, 14, 14, true);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {6, 8, 14, 14});
  PacketOptions po;
  po.packet_size = 300;
  const DecoderLimits limits;
  struct Case {
    const char* name;
    EncoderOptions options;
    bool model;
  };
  EncoderOptions raw;
  raw.codec = "raw";
  EncoderOptions lossless = AnsOptions();
  lossless.lossless = true;
  for (const Case& c : {Case{"ans", AnsOptions(), true}, Case{"raw", raw, false},
                        Case{"lossless", lossless, false}}) {
    SCOPED_TRACE(c.name);
    const std::vector<Bytes> packets = encode_packets(v, c.options, po).value();
    const Bytes ps = FirstParameterSet(packets);
    Result<ParsedParameterSet> parsed = ParseCodecParameterSet(ps.data(), ps.size(), limits);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(!parsed->header.shared_model.empty(), c.model);
    EXPECT_TRUE(SameBytes(DecodeAll(packets)->tensor, Reference(v, c.options)));
    if (!c.model) continue;
    // A model with a changed table: the parameter set is refused as corrupt, its data packets
    // then wait for a good one.
    PacketHeader h = parsed->header;
    h.shared_model.push_back(0x55);
    Bytes bad;
    WriteParameterSet(h, &bad);
    Decoder d;
    Status s = d.push(bad);
    EXPECT_EQ(s.code(), StatusCode::kCorruptData);
    EXPECT_NE(s.message().find("symbol model"), std::string::npos) << s.message();
    for (const Bytes& p : DataPackets(packets)) EXPECT_TRUE(d.push(p).ok());
    EXPECT_EQ(d.stats().waiting, DataPackets(packets).size());
    EXPECT_TRUE(d.push(ps).ok());
    EXPECT_EQ(d.stats().waiting, 0u);
    EXPECT_EQ(d.stats().accepted, DataPackets(packets).size());
    EXPECT_TRUE(SameBytes(d.finish()->tensor, Reference(v, c.options)));
    // The model of another stream: its data packets do not decode (a table they need is
    // missing or their words end wrongly) and are dropped as corrupt.
    const std::vector<float> y = SmoothTensor(6, 8, 14, 14, false, 9);
    const TensorView vy = TensorView::Contiguous(y.data(), DType::kF32, {6, 8, 14, 14});
    const std::vector<Bytes> other = encode_packets(vy, c.options, po).value();
    PacketHeader g = parsed->header;
    g.shared_model = ParseCodecParameterSet(FirstParameterSet(other).data(),
                                            FirstParameterSet(other).size(), limits)
                         ->header.shared_model;
    if (g.shared_model == h.shared_model) continue;
    Bytes swapped;
    WriteParameterSet(g, &swapped);
    Decoder e;
    ASSERT_TRUE(e.push(swapped).ok());
    uint64_t dropped = 0;
    for (const Bytes& p : DataPackets(packets)) dropped += e.push(p).ok() ? 0 : 1;
    EXPECT_EQ(e.stats().corrupt, dropped);
  }
}

}  // namespace
}  // namespace ftc

namespace ftc {
namespace {

// Frame interleaving changes only the sending order: packets of K frames round robin.
TEST(PacketTest, FrameInterleaveSpreadsFramesInTheSendingOrder) {
  const std::vector<float> x = SmoothTensor(5, 8, 14, 14, true);
  const TensorView v = TensorView::Contiguous(x.data(), DType::kF32, {5, 8, 14, 14});
  PacketOptions po;
  po.packet_size = 200;
  po.stream_id = 7;
  EXPECT_EQ(po.frame_interleave, 8);  // the default
  po.frame_interleave = 1;
  const std::vector<Bytes> plain = encode_packets(v, AnsOptions(), po).value();
  po.frame_interleave = 3;
  const std::vector<Bytes> spread = encode_packets(v, AnsOptions(), po).value();
  std::vector<Bytes> a = DataPackets(plain), b = DataPackets(spread);
  ASSERT_EQ(a.size(), b.size());
  std::vector<uint32_t> frames;
  for (const Bytes& p : b) {
    frames.push_back(ParseCodecPacket(p.data(), p.size(), spread, 1 << 20)->header.frame_index);
  }
  EXPECT_EQ(std::vector<uint32_t>(frames.begin(), frames.begin() + 6),
            (std::vector<uint32_t>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(frames.back(), 4u);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);  // the same packets
  EXPECT_TRUE(SameBytes(DecodeAll(spread)->tensor, Reference(v, AnsOptions())));
  po.frame_interleave = 0;
  EXPECT_EQ(encode_packets(v, AnsOptions(), po).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ftc

namespace ftc {
namespace {

// Data packets whose parameter set never comes are held up to 64 MiB; beyond, they are dropped
// as over a limit, and finish() says what is missing.
TEST(PacketTest, HeldPacketsAreBounded) {
  PacketHeader h;
  h.stream_id = 9;
  h.flags = kPacketFlagInterleaved;
  Bytes p;
  WritePacket(h, {Section{2, std::vector<uint8_t>(65000, 7)}}, &p);
  const uint64_t fit = (uint64_t{64} << 20) / p.size();
  Decoder d;
  for (uint64_t i = 0; i < fit; ++i) ASSERT_TRUE(d.push(p).ok()) << i;
  EXPECT_EQ(d.stats().waiting, fit);
  Status s = d.push(p);
  EXPECT_EQ(s.code(), StatusCode::kLimitExceeded);
  EXPECT_NE(s.message().find("wait for their parameter sets"), std::string::npos) << s.message();
  EXPECT_EQ(d.stats().over_limit, 1u);
  EXPECT_EQ(d.stats().waiting, fit);
  Result<DecodedTensor> r = d.finish();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no parameter set arrived"), std::string::npos);
}

}  // namespace
}  // namespace ftc

// Packet mode of codec `learned` (docs/format.md, "Learned packets") with the fake unit loader of
// tests/fake_learned_unit.h: every packet -> the frame-mode decode bit for bit; packets carry what
// ans packets of the code would; any order and duplicates; losses concealed on the code and
// restored (checked against a manual conceal_sample on the code); unit checks in finish();
// inner jpeg refused; corrupt learned packets dropped; probe; no loader.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bitstream/packet.h"
#include "codec/learned/learned_params.h"
#include "codec/learned/learned_unit.h"
#include "codec/packet/packet_parse.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "tests/fake_learned_unit.h"
#include "tests/packet_test_util.h"

namespace ftc {
namespace {

// unitL: features 16×24×20 -> code 8×12×10, trained for ans at 6 bits.
constexpr int64_t kC = test::kFakeLargeC, kH = test::kFakeLargeH, kW = test::kFakeLargeW;
constexpr int64_t kCc = kC / 2, kHc = kH / 2, kWc = kW / 2;

class LearnedPacketTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterLearnedUnitLoader(&test::FakeLoader); }
};

Tensor Features(const Shape& shape, uint32_t seed) {
  Tensor t = Tensor::Create(DType::kF32, shape).value();
  float* p = t.data_as<float>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    p[i] = 2.0f * std::sin(0.013f * static_cast<float>(i) + static_cast<float>(seed)) +
           0.7f * std::cos(0.002f * static_cast<float>(i * seed));
  }
  return t;
}

EncoderOptions Learned(const std::string& unit, const std::string& inner = "", int bits = 4) {
  EncoderOptions o;
  o.codec = "learned";
  o.unit = unit;
  o.inner = inner;
  o.bits = bits;
  return o;
}

PacketOptions Small(bool interleave = false, int size = 200) {
  PacketOptions po;
  po.packet_size = size;
  po.interleave = interleave;
  return po;
}

PacketDecoderOptions WithUnit(const std::string& unit) {
  PacketDecoderOptions o;
  o.unit = unit;
  return o;
}

bool SameBytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.size_bytes() == b.size_bytes() &&
         std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

Result<DecodedTensor> DecodeAll(const std::vector<Bytes>& packets, const std::string& unit,
                                ConcealMethod m = ConcealMethod::kInpaint) {
  Decoder d(WithUnit(unit));
  for (const Bytes& p : packets) {
    Status s = d.push(p);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return d.finish(m);
}

// A data packet of `stream`, parsed with the stream's parameter set.
ParsedPacket Parse(const Bytes& p, const std::vector<Bytes>& stream) {
  Result<ParsedPacket> r = ParseCodecPacket(p.data(), p.size(), stream, kMaxSampleElements);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ParsedPacket{};
}

// A data packet of `stream` and its parameter set, rebuilt (fresh checksums) after `edit`
// changes the header (the parameter set's fields, or the packet's) or the packet's sections:
// {parameter set, data packet}.
std::vector<Bytes> Rebuild(const std::vector<Bytes>& stream, const Bytes& packet,
                           const std::function<void(PacketHeader*, std::vector<Section>*)>& edit) {
  const ParsedPacket p = Parse(packet, stream);
  PacketHeader h = p.header;
  std::vector<Section> sections;
  for (const SectionRef& s : p.sections) {
    sections.push_back(Section{s.kind, std::vector<uint8_t>(s.data, s.data + s.size)});
  }
  edit(&h, &sections);
  Bytes ps, out;
  WriteParameterSet(h, &ps);
  WritePacket(h, sections, &out);
  return {ps, out};
}

// The f32 codes Reduce gives for the samples of `t`, round-tripped through an inner ans frame
// at `bits` — the values a packet carries (N×C'×H'×W').
std::vector<float> DequantizedCodes(const Tensor& t, const std::string& unit, int bits) {
  std::shared_ptr<const LearnedUnitHandle> u = test::FakeUnitFor(unit);
  const int64_t n = t.rank() == 4 ? t.shape()[0] : 1;
  const SampleShape cs = u->code_shape();
  std::vector<float> out;
  EncoderOptions inner;
  inner.codec = "ans";
  inner.bits = bits;
  inner.clip = ClipSpec::Parse("0:1").value();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t e = u->split_shape().elements();
    const TensorView s =
        TensorView::Contiguous(t.data_as<float>() + i * e, DType::kF32,
                               {u->split_shape().c, u->split_shape().h, u->split_shape().w});
    Tensor code;
    EXPECT_TRUE(u->Reduce(s, &code).ok());
    const Tensor q = decode(encode(code.view(), inner).value()).value();
    EXPECT_EQ(q.num_elements(), cs.elements());
    out.insert(out.end(), q.data_as<float>(), q.data_as<float>() + q.num_elements());
  }
  return out;
}

// Restores N codes (C'×H'×W' each) with `unit`: an N×C×H×W f32 tensor.
Tensor RestoreAll(const std::vector<float>& codes, const std::string& unit, int64_t n) {
  std::shared_ptr<const LearnedUnitHandle> u = test::FakeUnitFor(unit);
  const SampleShape cs = u->code_shape(), fs = u->split_shape();
  Tensor out = Tensor::Create(DType::kF32, {n, fs.c, fs.h, fs.w}).value();
  for (int64_t i = 0; i < n; ++i) {
    const TensorView c =
        TensorView::Contiguous(codes.data() + i * cs.elements(), DType::kF32, {cs.c, cs.h, cs.w});
    Tensor f;
    EXPECT_TRUE(u->Restore(c, &f).ok());
    std::memcpy(out.data_as<float>() + i * fs.elements(), f.data(), f.size_bytes());
  }
  return out;
}

TEST_F(LearnedPacketTest, AllPacketsGiveTheFrameModeDecode) {
  const Tensor t = Features({3, kC, kH, kW}, 1);
  for (const EncoderOptions& o : {Learned("unitL"), Learned("unitL", "ans", 3)}) {
    DecoderOptions fd;
    fd.unit = "unitL";
    const Tensor frame_mode = decode(encode(t.view(), o).value(), fd).value();
    for (bool interleave : {false, true}) {
      Result<std::vector<Bytes>> packets = encode_packets(t.view(), o, Small(interleave));
      ASSERT_TRUE(packets.ok()) << packets.status().ToString();
      EXPECT_GT(packets->size(), 3u);  // several packets per frame
      for (const Bytes& p : *packets) EXPECT_LE(p.size(), 200u);
      EXPECT_EQ(encode_packets(t.view(), o, Small(interleave)).value(), *packets);
      Result<DecodedTensor> r = DecodeAll(*packets, "unitL");
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_TRUE(SameBytes(r->tensor, frame_mode)) << "interleave " << interleave;
      EXPECT_EQ(r->tensor.shape(), t.shape());
      EXPECT_EQ(r->mask.shape, (Shape{3, kCc, kHc, kWc}));
      EXPECT_EQ(r->mask.lost_count, 0);
      EXPECT_EQ(r->stats.elements, 3 * kCc * kHc * kWc);  // code elements
      EXPECT_EQ(r->stats.lost_elements, 0);
      EXPECT_EQ(r->stats.frames_complete, 3u);
      // Threads do not change the packets.
      EncoderOptions threaded = o;
      threaded.threads = 3;
      EXPECT_EQ(encode_packets(t.view(), threaded, Small(interleave)).value(), *packets);
    }
  }
}

TEST_F(LearnedPacketTest, HalfPrecisionAndRank3) {
  const Tensor h = Features({2, kC, kH, kW}, 2).ConvertTo(DType::kF16);
  DecoderOptions fd;
  fd.unit = "unitL";
  const Tensor frame_mode = decode(encode(h.view(), Learned("unitL")).value(), fd).value();
  Result<DecodedTensor> r =
      DecodeAll(encode_packets(h.view(), Learned("unitL"), Small()).value(), "unitL");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tensor.dtype(), DType::kF16);
  EXPECT_TRUE(SameBytes(r->tensor, frame_mode));
  // One sample of rank 3: the mask is one code.
  const Tensor one = Features({kC, kH, kW}, 3);
  r = DecodeAll(encode_packets(one.view(), Learned("unitL"), Small()).value(), "unitL");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tensor.shape(), (Shape{kC, kH, kW}));
  EXPECT_EQ(r->mask.shape, (Shape{kCc, kHc, kWc}));
  EXPECT_TRUE(
      SameBytes(r->tensor, decode(encode(one.view(), Learned("unitL")).value(), fd).value()));
}

// With one packet per frame, a learned packet carries exactly what the ans packet of the code
// carries: the ans parameters inside the learned ones, the same section payloads, kinds + 16.
TEST_F(LearnedPacketTest, PacketsCarryTheAnsPacketsOfTheCode) {
  const Tensor t = Features({kC, kH, kW}, 4);
  PacketOptions po;
  po.packet_size = 65535;
  po.auto_band_rows = false;
  const std::vector<Bytes> lp = encode_packets(t.view(), Learned("unitL"), po).value();
  Tensor code;
  ASSERT_TRUE(test::FakeUnitFor("unitL")->Reduce(t.view(), &code).ok());
  EncoderOptions ao;
  ao.codec = "ans";
  ao.bits = 6;
  ao.clip = ClipSpec::Parse("0:1").value();
  const std::vector<Bytes> ap = encode_packets(code.view(), ao, po).value();
  ASSERT_EQ(lp.size(), 2u);  // a parameter set and one data packet
  ASSERT_EQ(ap.size(), 2u);
  const ParsedPacket l = Parse(lp[1], lp), a = Parse(ap[1], ap);
  EXPECT_EQ(l.header.codec_id, learned::kCodecId);
  EXPECT_EQ(l.header.shape, (Shape{kC, kH, kW}));
  EXPECT_EQ(l.sample.c, kC);
  EXPECT_EQ(l.coded.c, kCc);
  EXPECT_EQ(l.coded.h, kHc);
  EXPECT_EQ(l.coded.w, kWc);
  EXPECT_EQ(l.bands, a.bands);
  const learned::LearnedParams p =
      learned::ParseLearnedParams(l.header.params.data(), l.header.params.size()).value();
  EXPECT_EQ(p.unit_hash, test::FakeUnitFor("unitL")->hash());
  EXPECT_EQ(p.inner_id, learned::kInnerAns);
  EXPECT_EQ(p.inner_params, a.header.params);
  ASSERT_EQ(l.sections.size(), a.sections.size());
  for (size_t k = 0; k < l.sections.size(); ++k) {
    EXPECT_EQ(l.sections[k].kind, 16 + a.sections[k].kind);
    ASSERT_EQ(l.sections[k].size, a.sections[k].size);
    EXPECT_EQ(std::memcmp(l.sections[k].data, a.sections[k].data, a.sections[k].size), 0);
  }
  // --band-rows (auto off) counts rows of the code; the frame codec refuses it.
  EncoderOptions rows = Learned("unitL");
  rows.band_rows = 5;
  po.packet_size = 200;
  const std::vector<Bytes> rp = encode_packets(t.view(), rows, po).value();
  const Bytes rp0 = DataPackets(rp)[0];
  EXPECT_EQ(Parse(rp0, rp).header.band_rows, 5u);
  EXPECT_EQ(Parse(rp0, rp).layout.total, static_cast<uint32_t>(kCc * 3));  // 12 rows: 5, 5, 2
  EXPECT_EQ(encode(t.view(), rows).status().code(), StatusCode::kInvalidArgument);
  // Auto band rows work on the code: at most H' - 1.
  const std::vector<Bytes> tiny =
      encode_packets(t.view(), Learned("unitL"), Small(false, 96)).value();
  for (const Bytes& b : DataPackets(tiny)) {
    EXPECT_LT(Parse(b, tiny).header.band_rows, static_cast<uint32_t>(kHc));
  }
}

TEST_F(LearnedPacketTest, AnyOrderAndDuplicates) {
  const Tensor t = Features({2, kC, kH, kW}, 5);
  const std::vector<Bytes> packets =
      encode_packets(t.view(), Learned("unitL"), Small(true)).value();
  const Tensor want = DecodeAll(packets, "unitL").value().tensor;
  std::vector<Bytes> shuffled = packets;
  shuffled.insert(shuffled.end(), packets.begin(), packets.begin() + 3);
  std::mt19937 rng(7);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  Decoder d(WithUnit("unitL"));
  for (const Bytes& p : shuffled) EXPECT_TRUE(d.push(p).ok());
  uint64_t data_copies = 0;
  for (size_t i = 0; i < 3; ++i) data_copies += IsParameterSet(packets[i]) ? 0 : 1;
  EXPECT_EQ(d.stats().duplicates, data_copies);
  EXPECT_EQ(d.stats().accepted, DataPackets(packets).size());
  Result<DecodedTensor> r = d.finish();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(SameBytes(r->tensor, want));
  // finish() is repeatable.
  EXPECT_TRUE(SameBytes(d.finish().value().tensor, want));
}

// Lost packets: the mask marks the code elements of their bands; the decode is the restoration
// of the code concealed like any ans code; a frame with no packet gets the mean code.
TEST_F(LearnedPacketTest, LossIsConcealedOnTheCodeThenRestored) {
  const int64_t n = 3;
  const Tensor t = Features({n, kC, kH, kW}, 6);
  const std::vector<Bytes> packets = encode_packets(t.view(), Learned("unitL"), Small()).value();
  const int64_t ec = kCc * kHc * kWc;
  // Drop every third packet of frame 0, the second packet of frame 1, all of frame 2.
  std::vector<Bytes> kept;
  std::vector<uint8_t> lost(static_cast<size_t>(n * ec), 0);
  uint32_t band_rows = 0;
  int index0 = 0;
  for (const Bytes& b : packets) {
    if (IsParameterSet(b)) {
      kept.push_back(b);
      continue;
    }
    const ParsedPacket p = Parse(b, packets);
    band_rows = p.header.band_rows;
    const uint32_t f = p.header.frame_index;
    const bool drop =
        (f == 0 && index0++ % 3 == 0) || (f == 1 && p.header.packet_index == 1) || f == 2;
    if (!drop) {
      kept.push_back(b);
      continue;
    }
    for (uint32_t band : p.bands) {
      uint8_t* m = lost.data() + f * ec + p.layout.offset(band);
      std::fill(m, m + p.layout.elements(band), 1);
    }
  }
  ASSERT_LT(kept.size(), packets.size());
  const std::vector<float> codes = DequantizedCodes(t, "unitL", 6);
  for (ConcealMethod m : {ConcealMethod::kZero, ConcealMethod::kMean, ConcealMethod::kInpaint,
                          ConcealMethod::kCaltec}) {
    Result<DecodedTensor> r = DecodeAll(kept, "unitL", m);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->tensor.shape(), t.shape());
    EXPECT_EQ(r->mask.shape, (Shape{n, kCc, kHc, kWc}));
    EXPECT_EQ(r->mask.lost, lost);
    EXPECT_EQ(r->stats.frames_lost, 1u);
    EXPECT_EQ(r->stats.frames_partial, 2u);
    EXPECT_EQ(r->stats.elements, n * ec);
    EXPECT_EQ(r->stats.lost_elements, r->mask.lost_count);
    EXPECT_GT(r->mask.lost_count, ec);
    // Manually: the received code values, concealed per frame, the mean code for frame 2.
    std::vector<float> x = codes;
    ConcealOptions co;
    co.band_rows = band_rows == 0 ? static_cast<int>(kHc) : static_cast<int>(band_rows);
    for (int64_t i = 0; i < 2; ++i) {
      float* v = x.data() + i * ec;
      const uint8_t* l = lost.data() + i * ec;
      for (int64_t j = 0; j < ec; ++j) {
        if (l[j]) v[j] = 0;
      }
      ASSERT_TRUE(conceal_sample(v, l, kCc, kHc, kWc, m, co).ok());
    }
    for (int64_t j = 0; j < ec; ++j) {
      const double mean = (static_cast<double>(x[static_cast<size_t>(j)]) +
                           static_cast<double>(x[static_cast<size_t>(ec + j)])) /
                          2.0;
      x[static_cast<size_t>(2 * ec + j)] =
          m == ConcealMethod::kZero ? 0.0f : static_cast<float>(mean);
    }
    EXPECT_TRUE(SameBytes(r->tensor, RestoreAll(x, "unitL", n))) << ConcealMethodName(m);
  }
  // DecodeAfterLoss passes the unit through.
  LossModel none;
  Result<DecodedTensor> all =
      DecodeAfterLoss(packets, none, 1, ConcealMethod::kInpaint, WithUnit("unitL"));
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_TRUE(SameBytes(all->tensor, RestoreAll(codes, "unitL", n)));
}

TEST_F(LearnedPacketTest, FinishNeedsTheSameUnit) {
  const Tensor t = Features({kC, kH, kW}, 8);
  const std::vector<Bytes> packets = encode_packets(t.view(), Learned("unitL"), Small()).value();
  const std::string l = UnitHashHex(test::FakeUnitFor("unitL")->hash());
  const std::string a = UnitHashHex(test::FakeUnitFor("unitA")->hash());
  auto finish = [&](const std::string& unit) {
    Decoder d(WithUnit(unit));
    for (const Bytes& p : packets) EXPECT_TRUE(d.push(p).ok());  // push needs no unit
    return d.finish();
  };
  Result<DecodedTensor> r = finish("unitA");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("unit mismatch"), std::string::npos);
  EXPECT_NE(r.status().message().find(l), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find(a), std::string::npos) << r.status().ToString();
  r = finish("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("--unit"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find(l), std::string::npos) << r.status().ToString();
  EXPECT_EQ(finish("missing").status().code(), StatusCode::kIoError);
  // unitL's hash with other shapes.
  r = finish("unitL+wide");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("the stream has 16x24x20 features and a 8x12x10 code"),
            std::string::npos)
      << r.status().ToString();
}

TEST_F(LearnedPacketTest, InnerJpegIsRefused) {
  const Tensor t = Features({kC, kH, kW}, 9);
  const Tensor s = Features({test::kFakeC, test::kFakeH, test::kFakeW}, 9);
  for (const EncoderOptions& o : {Learned("unitL", "jpeg"), Learned("unitJ")}) {
    Result<std::vector<Bytes>> r =
        encode_packets(o.unit == "unitJ" ? s.view() : t.view(), o, Small());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    EXPECT_NE(r.status().message().find("packet mode needs --inner ans"), std::string::npos)
        << r.status().ToString();
  }
  // A unit trained for jpeg, coded with --inner ans --bits 4 in packets: as in frame mode.
  const EncoderOptions o = Learned("unitJ", "ans", 4);
  DecoderOptions fd;
  fd.unit = "unitJ";
  Result<DecodedTensor> r = DecodeAll(encode_packets(s.view(), o, Small()).value(), "unitJ");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(SameBytes(r->tensor, decode(encode(s.view(), o).value(), fd).value()));
  // Other option checks of the codec still apply; features of another shape are refused.
  EncoderOptions bad = Learned("unitL");
  bad.clip = ClipSpec::Parse("3sigma").value();
  EXPECT_EQ(encode_packets(t.view(), bad, Small()).status().code(), StatusCode::kInvalidArgument);
  Result<std::vector<Bytes>> shape = encode_packets(s.view(), Learned("unitL"), Small());
  EXPECT_EQ(shape.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(shape.status().message().find("expects features of shape 16x24x20"), std::string::npos)
      << shape.status().ToString();
  EXPECT_EQ(encode_packets(t.view(), Learned(""), Small()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(LearnedPacketTest, CorruptLearnedPacketsAreDropped) {
  const Tensor t = Features({2, kC, kH, kW}, 10);
  const std::vector<Bytes> packets = encode_packets(t.view(), Learned("unitL"), Small()).value();
  const Bytes ps = FirstParameterSet(packets);
  const Bytes good = DataPackets(packets)[0];
  {
    Decoder d(WithUnit("unitL"));
    ASSERT_TRUE(d.push(ps).ok());
    ASSERT_TRUE(d.push(good).ok());
  }
  // The first failure of pushing `b` (a data packet after the stream's parameter set, or a
  // rebuilt pair) must be corrupt data naming `needle`, and nothing accepted.
  auto expect_corrupt_all = [&](const std::vector<Bytes>& b, const std::string& needle) {
    Decoder d(WithUnit("unitL"));
    Status first;
    for (const Bytes& p : b) {
      Status s = d.push(p);
      if (first.ok()) first = s;
    }
    EXPECT_EQ(first.code(), StatusCode::kCorruptData) << needle << ": " << first.ToString();
    EXPECT_NE(first.message().find(needle), std::string::npos) << first.ToString();
    EXPECT_EQ(d.stats().corrupt, 1u);
    EXPECT_EQ(d.stats().accepted, 0u);
  };
  auto expect_corrupt = [&](const Bytes& b, const std::string& needle) {
    expect_corrupt_all({ps, b}, needle);
  };
  auto params = [&](const std::function<void(std::vector<uint8_t>*)>& edit) {
    return Rebuild(packets, good,
                   [&](PacketHeader* h, std::vector<Section>*) { edit(&h->params); });
  };
  // Every flipped byte fails the checksum.
  for (size_t i = 0; i < good.size(); i += 7) {
    Bytes b = good;
    b[i] ^= 0x10;
    expect_corrupt(b, "");
  }
  expect_corrupt_all(params([](std::vector<uint8_t>* p) { (*p)[16] = learned::kInnerJpeg; }),
                     "inner codec jpeg");
  expect_corrupt_all(params([](std::vector<uint8_t>* p) { (*p)[16] = 9; }), "invalid inner codec");
  expect_corrupt_all(params([](std::vector<uint8_t>* p) { p->resize(20); }), "at least 31 needed");
  expect_corrupt_all(params([](std::vector<uint8_t>* p) { p->push_back(0); }), "unexpected bytes");
  expect_corrupt_all(params([](std::vector<uint8_t>* p) { std::memset(p->data() + 21, 0, 4); }),
                     "Code_H 0");
  // Inner ans parameters: Bits 0; Band_Rows other than the packet's.
  expect_corrupt_all(params([](std::vector<uint8_t>* p) { (*p)[32] = 0; }), "invalid bit depth");
  const uint8_t rows = Parse(good, packets).header.band_rows == 3 ? 4 : 3;
  expect_corrupt_all(params([&](std::vector<uint8_t>* p) { p->back() = rows; }), "band rows");
  // A u8 learned stream; band rows for the features' height, not the code's.
  expect_corrupt_all(
      Rebuild(packets, good, [](PacketHeader* h, std::vector<Section>*) { h->dtype = DType::kU8; }),
      "u8");
  expect_corrupt_all(Rebuild(packets, good,
                             [](PacketHeader* h, std::vector<Section>*) {
                               h->band_rows = static_cast<uint32_t>(kHc + 2);
                             }),
                     "of the code");
  // Plain ans section kinds, or jpeg's, are not learned ans sections.
  expect_corrupt_all(Rebuild(packets, good,
                             [](PacketHeader*, std::vector<Section>* s) {
                               for (Section& x : *s) x.kind = static_cast<uint8_t>(x.kind - 16);
                             }),
                     "expected a ranges section and a symbols section");
  expect_corrupt_all(
      Rebuild(packets, good, [](PacketHeader*, std::vector<Section>* s) { (*s)[0].kind = 33; }),
      "expected a ranges section");
  // After a good packet, a parameter set naming another unit disagrees with the stream.
  Decoder d(WithUnit("unitL"));
  ASSERT_TRUE(d.push(ps).ok());
  ASSERT_TRUE(d.push(good).ok());
  const Bytes other = params([](std::vector<uint8_t>* p) { (*p)[0] ^= 1; })[0];
  EXPECT_EQ(d.push(other).code(), StatusCode::kCorruptData);
  EXPECT_EQ(d.stats().inconsistent, 1u);
  for (const Bytes& p : packets) EXPECT_TRUE(d.push(p).ok());
  EXPECT_TRUE(d.finish().ok());
}

TEST_F(LearnedPacketTest, ProbeDescribesLearnedPackets) {
  const Tensor t = Features({2, kC, kH, kW}, 11);
  const std::vector<Bytes> packets = encode_packets(t.view(), Learned("unitL"), Small()).value();
  const std::vector<PacketInfo> info = ProbePackets(packets);
  ASSERT_EQ(info.size(), packets.size());
  for (const PacketInfo& p : info) {
    ASSERT_TRUE(p.valid) << p.error;
    EXPECT_EQ(p.codec, "learned");
    EXPECT_EQ(p.shape, t.shape());
    EXPECT_EQ(p.unit, UnitHashHex(test::FakeUnitFor("unitL")->hash()));
    EXPECT_EQ(p.inner, "ans");
    EXPECT_EQ(p.code_shape, (Shape{kCc, kHc, kWc}));
    EXPECT_LT(p.band_rows, static_cast<uint32_t>(kHc));
  }
  // Other codecs leave the learned fields empty.
  EncoderOptions ao;
  ao.codec = "ans";
  const PacketInfo a = ProbePackets(encode_packets(t.view(), ao, Small()).value())[0];
  EXPECT_TRUE(a.unit.empty());
  EXPECT_TRUE(a.inner.empty());
  EXPECT_TRUE(a.code_shape.empty());
}

// Learned packets made without a loader: the ans packets of a code, rewritten as learned packets
// of 8×8×6 features (docs/format.md, "Learned packets"). Parsing and push() need no loader;
// finish() does.
TEST(LearnedPacketNoLoaderTest, PushWorksFinishIsNotBuiltIn) {
  if (GetLearnedUnitLoader()) GTEST_SKIP() << "a learned unit loader is already registered";
  Tensor code = Tensor::Create(DType::kF32, {4, 4, 3}).value();
  for (int64_t i = 0; i < code.num_elements(); ++i) {
    code.data_as<float>()[i] = static_cast<float>(i % 7) / 7.0f;
  }
  EncoderOptions ao;
  ao.codec = "ans";
  ao.bits = 5;
  ao.clip = ClipSpec::Parse("0:1").value();
  PacketOptions po;
  po.auto_band_rows = false;
  po.stream_id = 5;
  const std::vector<Bytes> ans = encode_packets(code.view(), ao, po).value();
  ASSERT_EQ(ans.size(), 2u);  // the parameter set and one data packet
  const std::vector<Bytes> lp = Rebuild(ans, ans[1], [](PacketHeader* h, std::vector<Section>* s) {
    learned::LearnedParams p;
    p.unit_hash.fill(0xAB);
    p.inner_id = learned::kInnerAns;
    p.code = {4, 4, 3};
    p.inner_params = h->params;
    h->params.clear();
    ASSERT_TRUE(learned::WriteLearnedParams(p, &h->params).ok());
    h->codec_id = learned::kCodecId;
    h->shape = {test::kFakeC, test::kFakeH, test::kFakeW};
    for (Section& x : *s) x.kind = static_cast<uint8_t>(x.kind + 16);
  });
  const ParsedPacket parsed = Parse(lp[1], lp);
  EXPECT_EQ(parsed.coded.elements(), 48);
  Decoder d;
  EXPECT_TRUE(d.push(lp[0]).ok());
  EXPECT_TRUE(d.push(lp[1]).ok());
  Result<DecodedTensor> r = d.finish();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotBuiltIn);
  EXPECT_NE(r.status().message().find("codec 'learned', which is not built into this ftcodec"),
            std::string::npos)
      << r.status().ToString();
  const std::vector<PacketInfo> info = ProbePackets(lp);
  ASSERT_TRUE(info[1].valid) << info[1].error;
  std::string hex;
  for (int i = 0; i < 16; ++i) hex += "ab";
  EXPECT_EQ(info[1].unit, hex);
  EXPECT_EQ(info[1].code_shape, (Shape{4, 4, 3}));
}

}  // namespace
}  // namespace ftc

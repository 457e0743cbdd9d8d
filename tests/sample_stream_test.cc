// Sample streams (.ftcs): every codec round-trips to exactly what its frames decode to, with a
// few bytes of framing per record; a corrupt or truncated record fails naming its index while
// the others still decode; hostile headers and records are refused before anything large is
// allocated.
#include "ftcodec/sample_stream.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "base/byte_io.h"
#include "base/crc32c.h"
#include "bitstream/sample_stream.h"
#include "codec/learned/learned_unit.h"
#include "ftcodec/ftcodec.h"
#include "tests/fake_learned_unit.h"

namespace ftc {
namespace {

Tensor Features(const Shape& shape, uint32_t seed) {
  Tensor t = Tensor::Create(DType::kF32, shape).value();
  float* p = t.data_as<float>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const float v = 2.0f * std::sin(0.37f * static_cast<float>(i) + static_cast<float>(seed)) +
                    0.5f * std::cos(0.05f * static_cast<float>(i * seed));
    p[i] = std::max(0.0f, v);  // post-ReLU
  }
  return t;
}

EncoderOptions Codec(const std::string& codec) {
  EncoderOptions o;
  o.codec = codec;
  o.bits = 4;
  o.clip = ClipSpec::Parse("3sigma").value();
  return o;
}

// Each sample coded alone as a frame (what the stream's records stand for), decoded and
// stacked; *bytes: the frames' total size; *frames: their probes.
Tensor PerSampleFrames(const EncoderOptions& o, const Tensor& x, const DecoderOptions& d,
                       size_t* bytes, std::vector<FrameInfo>* frames) {
  const int64_t n = x.shape()[0];
  const size_t per = x.size_bytes() / static_cast<size_t>(n);
  Tensor out;
  *bytes = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Shape ss(x.shape().begin() + 1, x.shape().end());
    const TensorView one =
        TensorView::Contiguous(x.data() + static_cast<size_t>(i) * per, x.dtype(), ss);
    Bytes f = encode(one, o).value();
    *bytes += f.size();
    frames->push_back(probe(f).value().frames[0]);
    Tensor t = decode(f, d).value();
    if (i == 0) {
      Shape all = t.shape();
      all.insert(all.begin(), n);
      out = Tensor::Create(t.dtype(), all).value();
    }
    std::memcpy(out.data() + static_cast<size_t>(i) * t.size_bytes(), t.data(), t.size_bytes());
  }
  return out;
}

// The sample stream decodes to exactly what its samples' frames decode to, and is smaller.
void ExpectRoundTrip(const EncoderOptions& o, const Tensor& x, const DecoderOptions& d = {}) {
  Result<Bytes> s = encode_sample_stream(x.view(), o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Result<Tensor> from_stream = decode_sample_stream(s->data(), s->size(), d);
  ASSERT_TRUE(from_stream.ok()) << from_stream.status().ToString();
  size_t frame_bytes = 0;
  std::vector<FrameInfo> frames;
  const Tensor from_frames = PerSampleFrames(o, x, d, &frame_bytes, &frames);
  ASSERT_EQ(from_stream->shape(), from_frames.shape());
  EXPECT_EQ(std::memcmp(from_stream->data(), from_frames.data(), from_frames.size_bytes()), 0);
  // Framing: every record's size minus its sections' payloads.
  Result<SampleStreamInfo> info = probe_sample_stream(s->data(), s->size());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(info->record_sizes.size(), frames.size());
  for (size_t k = 0; k < info->record_sizes.size(); ++k) {
    uint64_t payload = 0, sections = 0;
    for (const SectionInfo& sec : frames[k].sections) {
      if (sec.kind != "padding") payload += sec.size, ++sections;
    }
    // Codecs whose parameters every sample shares, with one or two sections (raw, ans,
    // learned): at most 8 bytes of framing. (jpeg and hevc records carry their per-sample
    // packing parameters.)
    if (sections <= 2 && o.codec != "jpeg" && o.codec != "hevc" && o.target_bytes == 0) {
      EXPECT_LE(info->record_sizes[k], payload + 8) << "record " << k;
    }
  }
  EXPECT_LT(s->size(), frame_bytes);
}

TEST(SampleStreamTest, EveryCodecRoundTripsToItsFrames) {
  const Tensor x = Features({5, 16, 14, 14}, 3);
  for (const std::string& codec : AvailableCodecs()) {
    if (codec == "learned") continue;  // below, with a fake unit
    SCOPED_TRACE(codec);
    EncoderOptions o = Codec(codec);
    if (codec == "raw") o.clip = ClipSpec();
    if (codec == "hevc") o.bit_depth = 8;
    ExpectRoundTrip(o, x);
  }
  EncoderOptions lossless = Codec("ans");
  lossless.lossless = true;
  lossless.clip = ClipSpec();
  ExpectRoundTrip(lossless, x);
  EncoderOptions f16 = Codec("raw");
  f16.clip = ClipSpec();
  f16.store_dtype = DType::kF16;
  ExpectRoundTrip(f16, x);
}

TEST(SampleStreamTest, LearnedStreamsKeepTheUnitHashInTheHeader) {
  RegisterLearnedUnitLoader(&test::FakeLoader);
  const Tensor x = Features({4, test::kFakeC, test::kFakeH, test::kFakeW}, 5);
  EncoderOptions o;
  o.codec = "learned";
  o.unit = "unitA";
  DecoderOptions d;
  d.unit = "unitA";
  ExpectRoundTrip(o, x, d);
  // Every record shares the header's parameters (the unit hash among them).
  Result<Bytes> s = encode_sample_stream(x.view(), o);
  ASSERT_TRUE(s.ok());
  Result<Bytes> f = encode(x.view(), o);
  ASSERT_TRUE(f.ok());
  EXPECT_LT(s->size() + 3 * 16, f->size());
}

// Rate control may choose other bits for some samples: those records carry their own codec
// parameters, and everything still decodes exactly.
TEST(SampleStreamTest, RecordsWithTheirOwnParameters) {
  // Samples 0-2 smooth, 3-5 noise (which needs more bytes at the same bits).
  Tensor x = Features({6, 8, 10, 10}, 7);
  float* p = x.data_as<float>();
  uint32_t r = 12345;
  for (int64_t i = 3 * 800; i < 6 * 800; ++i) {
    r = r * 1664525u + 1013904223u;
    p[i] = static_cast<float>(r >> 8) / static_cast<float>(1 << 24);
  }
  EncoderOptions o = Codec("ans");
  o.bits = 8;
  o.target_bytes = 180;
  ExpectRoundTrip(o, x);
  // Some records do carry their own parameters.
  const Bytes b = encode_sample_stream(x.view(), o).value();
  size_t at = 0;
  const SampleStreamHeader h =
      ParseSampleStreamHeader(b.data(), b.size(), kMaxSampleElements, &at).value();
  int own = 0;
  while (at < b.size()) {
    size_t used = 0;
    own += ParseSampleRecord(h, b.data() + at, b.size() - at, &used).value().own_params ? 1 : 0;
    at += used;
  }
  EXPECT_GT(own, 0);
  EXPECT_LT(own, 6);
}

struct Stream {
  Bytes bytes;
  size_t header = 0;
  std::vector<size_t> starts, sizes;
};

Stream MakeStream() {
  Stream s;
  s.bytes = encode_sample_stream(Features({5, 8, 7, 9}, 11).view(), Codec("ans")).value();
  SampleStreamInfo info = probe_sample_stream(s.bytes.data(), s.bytes.size()).value();
  s.header = info.header_size;
  size_t at = s.header;
  for (uint64_t n : info.record_sizes) {
    s.starts.push_back(at);
    s.sizes.push_back(n);
    at += n;
  }
  return s;
}

TEST(SampleStreamTest, ACorruptRecordFailsAloneNamingItsIndex) {
  const Stream s = MakeStream();
  const Tensor all = decode_sample_stream(s.bytes.data(), s.bytes.size()).value();
  const size_t sample_bytes = all.size_bytes() / 5;
  Bytes bad = s.bytes;
  bad[s.starts[2] + s.sizes[2] / 2] ^= 0x40;
  Result<Tensor> whole = decode_sample_stream(bad.data(), bad.size());
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(whole.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(whole.status().message().find("record 2"), std::string::npos)
      << whole.status().ToString();
  // Record by record: 0, 1, 3 and 4 decode to what the intact stream gives; 2 fails and is
  // skipped by its length.
  SampleStreamDecoder dec;
  Result<size_t> at = dec.read_header(bad.data(), bad.size());
  ASSERT_TRUE(at.ok());
  size_t offset = *at;
  for (int k = 0; k < 5; ++k) {
    size_t used = 0;
    Result<Tensor> t = dec.read_record(bad.data() + offset, bad.size() - offset, &used);
    ASSERT_EQ(used, s.sizes[static_cast<size_t>(k)]);
    offset += used;
    if (k == 2) {
      ASSERT_FALSE(t.ok());
      EXPECT_NE(t.status().message().find("record 2: record checksum mismatch"), std::string::npos)
          << t.status().ToString();
      continue;
    }
    ASSERT_TRUE(t.ok()) << k << ": " << t.status().ToString();
    EXPECT_EQ(std::memcmp(t->data(), all.data() + k * sample_bytes, sample_bytes), 0) << k;
  }
  EXPECT_EQ(dec.records(), 5);
  // A truncated last record names its index; the ones before decode.
  Bytes cut(s.bytes.begin(), s.bytes.end() - 3);
  whole = decode_sample_stream(cut.data(), cut.size());
  ASSERT_FALSE(whole.ok());
  EXPECT_NE(whole.status().message().find("record 4: truncated record"), std::string::npos)
      << whole.status().ToString();
}

TEST(SampleStreamTest, BadHeadersAndStreamsAreRefused) {
  const Stream s = MakeStream();
  auto expect = [](const Bytes& b, StatusCode code, const std::string& what) {
    Result<Tensor> t = decode_sample_stream(b.data(), b.size());
    ASSERT_FALSE(t.ok()) << what;
    EXPECT_EQ(t.status().code(), code) << t.status().ToString();
    EXPECT_NE(t.status().message().find(what), std::string::npos) << t.status().ToString();
  };
  // No record: nothing to decode.
  expect(Bytes(s.bytes.begin(), s.bytes.begin() + static_cast<long>(s.header)),
         StatusCode::kCorruptData, "no record");
  Bytes b = s.bytes;
  b[4] = 1;  // another stream version
  expect(b, StatusCode::kUnsupported, "version 1");
  b = s.bytes;
  b[8] ^= 1;  // the codec id, under the header checksum
  expect(b, StatusCode::kCorruptData, "checksum");
  b = Bytes(s.bytes.begin(), s.bytes.begin() + 7);
  expect(b, StatusCode::kCorruptData, "truncated");
  // A hostile header: a sample of 2^27 elements, and records of a few bytes each. The expansion
  // bound refuses the first record before anything is decoded or allocated.
  Bytes h;
  ByteWriter w(&h);
  const uint8_t magic[4] = {0x89, 'F', 'T', 'S'};
  w.Bytes(magic, 4);
  for (uint8_t v : {2, 0, 0, 3, 0, 1, 1}) w.U8(v);  // version, flags, f32, rank 3, raw, 1 section
  for (uint64_t d : {128, 1024, 1024}) w.Varint(d);
  w.Varint(1);
  w.U8(0);  // raw: Stored_DType f32
  w.U32(Crc32c(h.data(), h.size()));
  const size_t record = h.size();
  w.Varint(5 * 4);  // 5 bytes: one payload byte and the checksum
  w.U8(0);
  w.U32(Crc32c(h.data() + record, h.size() - record));
  expect(h, StatusCode::kLimitExceeded, "record 0: the stream's 134217728 elements exceed");
  // The header's sample is checked against the decoder's limits before any record.
  DecoderOptions small;
  small.max_frame_elements = 100;
  Result<Tensor> t = decode_sample_stream(s.bytes.data(), s.bytes.size(), small);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kLimitExceeded);
}

TEST(SampleStreamTest, EncoderRefusesAnotherShapeAndSequences) {
  SampleStreamEncoder enc(Codec("ans"));
  const Tensor a = Features({8, 7, 9}, 1), b = Features({8, 7, 8}, 1);
  Result<Bytes> first = enc.encode(a.view());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(std::memcmp(first->data(),
                        "\x89"
                        "FTS",
                        4),
            0);
  Result<Bytes> second = enc.encode(b.view());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(second.status().message().find("sample 1 is f32 8x7x8"), std::string::npos)
      << second.status().ToString();
  Result<Bytes> third = enc.encode(a.view());  // the failed call changed nothing
  ASSERT_TRUE(third.ok());
  EXPECT_NE(std::memcmp(third->data(),
                        "\x89"
                        "FTS",
                        4),
            0);  // a record, no header
  EXPECT_EQ(enc.samples(), 2);
  const Tensor batch = Features({2, 8, 7, 9}, 1);
  EXPECT_EQ(enc.encode(batch.view()).status().code(), StatusCode::kInvalidArgument);
  EncoderOptions seq = Codec("hevc");
  seq.sequence = true;
  EXPECT_FALSE(encode_sample_stream(batch.view(), seq).ok());
}

}  // namespace
}  // namespace ftc

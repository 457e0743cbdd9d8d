// Codec `jpeg`: round trips on real features (PSNR thresholds from docs/benchmarks.md), odd
// shapes, determinism, option checks, `ftcodec info`, and corrupt JPEG payloads inside frames
// whose checksums are valid.
#ifdef FTC_HAVE_JPEG

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bitstream/frame.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "tests/test_util.h"

namespace ftc {
namespace {

Tensor LoadNpy(const std::string& path) {
  const std::vector<uint8_t> bytes = test::ReadFileBytes(path);
  Result<NpyArray> a = ReadNpy(bytes.data(), bytes.size());
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return a.ok() ? a->tensor.ConvertTo(DType::kF32) : Tensor();
}

Tensor Features() { return LoadNpy(test::SourcePath("data/features/fmnist_s1_relu.npy")); }

// Feature PSNR: peak = max - min of the original tensor.
double Psnr(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.num_elements(), b.num_elements());
  const float* x = a.data_as<float>();
  const float* y = b.data_as<float>();
  double se = 0, lo = 1e30, hi = -1e30;
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    se += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    lo = std::min(lo, static_cast<double>(x[i]));
    hi = std::max(hi, static_cast<double>(x[i]));
  }
  const double mse = se / static_cast<double>(a.num_elements());
  return mse == 0 ? 999.0 : 10 * std::log10((hi - lo) * (hi - lo) / mse);
}

// The first n samples of a rank-4 tensor.
Tensor FirstSamples(const Tensor& t, int64_t n) {
  Shape s = t.shape();
  s[0] = n;
  Tensor out = Tensor::Create(DType::kF32, s).value();
  std::memcpy(out.data(), t.data(), out.size_bytes());
  return out;
}

Tensor Smooth(const Shape& shape, uint32_t seed) {
  Tensor t = Tensor::Create(DType::kF32, shape).value();
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  float* p = t.data_as<float>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    p[i] = std::sin(0.21f * static_cast<float>(i % 53)) + noise(rng);
  }
  return t;
}

EncoderOptions Jpeg(int quality) {
  EncoderOptions o;
  o.codec = "jpeg";
  o.quality = quality;
  return o;
}

TEST(JpegCodecTest, RealFeaturesRoundTrip) {
  // Measured on all 32 samples (docs/benchmarks.md): q90 40.6 dB at 4.20 bits/element, q50
  // 30.8 dB at 1.91. Thresholds leave ~2 dB and ~10% of margin.
  const Tensor t = FirstSamples(Features(), 8);
  for (const auto& [quality, min_psnr, max_bpe] :
       {std::tuple<int, double, double>{90, 38.0, 4.7}, {50, 28.5, 2.2}}) {
    SCOPED_TRACE(quality);
    Result<Bytes> code = encode(t.view(), Jpeg(quality));
    ASSERT_TRUE(code.ok()) << code.status().ToString();
    const double bpe =
        8.0 * static_cast<double>(code->size()) / static_cast<double>(t.num_elements());
    EXPECT_LT(bpe, max_bpe);
    Result<Tensor> back = decode(*code);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->shape(), t.shape());
    EXPECT_EQ(back->dtype(), DType::kF32);
    EXPECT_GT(Psnr(t, *back), min_psnr);
  }
}

TEST(JpegCodecTest, EncodingTwiceGivesIdenticalBytes) {
  const Tensor t = FirstSamples(Features(), 4);
  EncoderOptions o = Jpeg(80);
  o.per_channel = true;
  o.reorder_channels = true;
  Result<Bytes> a = encode(t.view(), o);
  o.threads = 3;
  Result<Bytes> b = encode(t.view(), o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(JpegCodecTest, OddShapesRanksAndDtypes) {
  struct Case {
    Shape shape;
    DType dtype;
  };
  for (const Case& c :
       {Case{{13, 5, 7}, DType::kF32}, Case{{1, 1, 1}, DType::kF32},
        Case{{3, 17, 2, 3}, DType::kF32}, Case{{9, 11}, DType::kF32}, Case{{101}, DType::kF32},
        Case{{2, 7, 3, 3}, DType::kF16}, Case{{97, 2, 1}, DType::kBF16}}) {
    SCOPED_TRACE(ShapeToString(c.shape));
    Tensor t = Smooth(c.shape, 3).ConvertTo(c.dtype);
    for (int variant = 0; variant < 3; ++variant) {
      EncoderOptions o = Jpeg(100);
      o.per_channel = variant == 1;
      o.reorder_channels = variant == 2;
      Result<Bytes> code = encode(t.view(), o);
      ASSERT_TRUE(code.ok()) << code.status().ToString();
      Result<Tensor> back = decode(*code);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(back->shape(), t.shape());
      EXPECT_EQ(back->dtype(), c.dtype);  // the original dtype is restored
      if (t.num_elements() > 1) {
        EXPECT_GT(Psnr(t.ConvertTo(DType::kF32), back->ConvertTo(DType::kF32)), 35.0);
      }
    }
  }
  // u8 input and a constant tensor.
  Tensor u8 = Tensor::Create(DType::kU8, {4, 6, 6}).value();
  for (size_t i = 0; i < u8.size_bytes(); ++i) u8.data()[i] = static_cast<uint8_t>(i * 7);
  Result<Bytes> code = encode(u8.view(), Jpeg(95));
  ASSERT_TRUE(code.ok());
  ASSERT_TRUE(decode(*code).ok());
  Tensor flat = Tensor::Create(DType::kF32, {5, 4, 4}).value();
  for (int64_t i = 0; i < flat.num_elements(); ++i) flat.data_as<float>()[i] = -2.5f;
  code = encode(flat.view(), Jpeg(10));
  ASSERT_TRUE(code.ok());
  Result<Tensor> back = decode(*code);
  ASSERT_TRUE(back.ok());
  for (int64_t i = 0; i < flat.num_elements(); ++i) EXPECT_EQ(back->data_as<float>()[i], -2.5f);
}

TEST(JpegCodecTest, RejectsOptionsItCannotHonour) {
  const Tensor t = Smooth({4, 4, 4}, 1);
  EncoderOptions o = Jpeg(90);
  o.layout = "frames";
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
  o = Jpeg(90);
  o.bit_depth = 10;
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
  o = Jpeg(90);
  o.sequence = true;
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
  o = Jpeg(0);
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
  o = Jpeg(101);
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
  o = Jpeg(90);
  o.lossless = true;
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
  o = Jpeg(90);
  o.store_dtype = DType::kF16;
  EXPECT_EQ(encode(t.view(), o).status().code(), StatusCode::kInvalidArgument);
  Tensor nan = Smooth({4, 4, 4}, 1);
  nan.data_as<float>()[5] = std::nanf("");
  EXPECT_EQ(encode(nan.view(), Jpeg(90)).status().code(), StatusCode::kUnsupported);
  // A mosaic wider than libjpeg's 65500 samples: 1 channel of 1 x 70000.
  Tensor wide = Smooth({1, 1, 70000}, 1);
  Result<Bytes> w = encode(wide.view(), Jpeg(90));
  EXPECT_EQ(w.status().code(), StatusCode::kLimitExceeded) << w.status().ToString();
}

TEST(JpegCodecTest, ProbeShowsGridRangeAndQuality) {
  const Tensor t = FirstSamples(Features(), 1);
  Result<Bytes> code = encode(t.view(), Jpeg(90));
  ASSERT_TRUE(code.ok());
  Result<StreamInfo> info = probe(*code);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  const FrameInfo& f = info->frames[0];
  EXPECT_EQ(f.codec, "jpeg");
  auto param = [&](const std::string& key) {
    for (const auto& [k, v] : f.params) {
      if (k == key) return v;
    }
    return std::string("<missing>");
  };
  EXPECT_EQ(param("quality"), "90");
  EXPECT_EQ(param("layout"), "mosaic");
  EXPECT_EQ(param("grid"), "8x8 tiles of 14x14 (FCM divisor rule)");
  EXPECT_EQ(param("pictures"), "1 of 112x112");
  EXPECT_EQ(param("bits"), "8");
  EXPECT_EQ(param("range").rfind("[0, ", 0), 0u) << param("range");  // post-ReLU: min 0
  ASSERT_EQ(f.sections.size(), 2u);
  EXPECT_EQ(f.sections[0].kind, "ranges");
  EXPECT_EQ(f.sections[1].kind, "jpeg");

  // 13 channels: the padded near-square grid, said so.
  code = encode(Smooth({13, 3, 3}, 2).view(), Jpeg(90));
  ASSERT_TRUE(code.ok());
  info = probe(*code);
  ASSERT_TRUE(info.ok());
  bool found = false;
  for (const auto& [k, v] : info->frames[0].params) {
    if (k == "grid") {
      EXPECT_EQ(v, "3x5 tiles of 3x3 (padded near-square rule)");
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

// Rebuilds `good` (one frame) with its last section's payload replaced; checksums stay valid.
Bytes WithPayload(const Bytes& good, const std::vector<uint8_t>& payload) {
  Result<ParsedFrame> f = ParseFrame(good.data(), good.size(), int64_t{1} << 28);
  EXPECT_TRUE(f.ok());
  std::vector<Section> sections;
  for (const SectionRef& s : f->sections) {
    sections.push_back(Section{s.kind, std::vector<uint8_t>(s.data, s.data + s.size)});
  }
  sections.back().payload = payload;
  Bytes out;
  EXPECT_TRUE(WriteFrame(f->header, sections, &out).ok());
  return out;
}

std::vector<uint8_t> PayloadOf(const Bytes& frame) {
  Result<ParsedFrame> f = ParseFrame(frame.data(), frame.size(), int64_t{1} << 28);
  EXPECT_TRUE(f.ok());
  const SectionRef& s = f->sections.back();
  return std::vector<uint8_t>(s.data, s.data + s.size);
}

void ExpectCorrupt(const Bytes& bytes, const std::string& needle) {
  Result<Tensor> t = decode(bytes);
  ASSERT_FALSE(t.ok()) << "decoded a corrupt payload (" << needle << ")";
  EXPECT_EQ(t.status().code(), StatusCode::kCorruptData) << t.status().ToString();
  EXPECT_NE(t.status().message().find(needle), std::string::npos) << t.status().ToString();
}

TEST(JpegCorruptTest, DamagedPayloadsAreCorruptDataNeverACrash) {
  const Tensor t = FirstSamples(Features(), 1);
  Result<Bytes> good = encode(t.view(), Jpeg(75));
  ASSERT_TRUE(good.ok());
  const std::vector<uint8_t> jpeg = PayloadOf(*good);
  ASSERT_GT(jpeg.size(), 200u);
  ASSERT_TRUE(decode(WithPayload(*good, jpeg)).ok());  // the rebuild itself is faithful

  ExpectCorrupt(WithPayload(*good, {}), "jpeg: bad JPEG header");
  // Every truncation: the header is incomplete or the entropy-coded data ends early.
  for (size_t n = 1; n < jpeg.size(); n += std::max<size_t>(1, n / 7)) {
    SCOPED_TRACE(n);
    ExpectCorrupt(WithPayload(*good, std::vector<uint8_t>(jpeg.begin(), jpeg.begin() + n)),
                  "jpeg: ");
  }
  std::vector<uint8_t> bad = jpeg;
  bad[1] = 0x00;  // SOI marker
  ExpectCorrupt(WithPayload(*good, bad), "jpeg: bad JPEG header");

  // A valid JPEG of another size (the frame's parameters imply 112 x 112).
  Result<Bytes> other = encode(Smooth({64, 7, 7}, 1).view(), Jpeg(75));
  ASSERT_TRUE(other.ok());
  ExpectCorrupt(WithPayload(*good, PayloadOf(*other)),
                "jpeg: the JPEG is 56x56, the frame's parameters need 112x112");

  // Random damage anywhere in the payload: decoded (JPEG has no checksum of its own) or
  // reported as corrupt data, never a crash.
  std::mt19937 rng(7);
  int errors = 0;
  for (int trial = 0; trial < 300; ++trial) {
    bad = jpeg;
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < flips; ++k)
      bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    Result<Tensor> r = decode(WithPayload(*good, bad));
    if (!r.ok()) {
      ++errors;
      EXPECT_EQ(r.status().code(), StatusCode::kCorruptData) << r.status().ToString();
    } else {
      EXPECT_EQ(r->num_elements(), t.num_elements());
    }
  }
  EXPECT_GT(errors, 0);
}

// ---- the CLI ----

class JpegCliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::MakeTempDir(); }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  // Runs the CLI; returns the exit code, stdout in *out and stderr in *err.
  int Run(const std::string& args, std::string* out = nullptr, std::string* err = nullptr) {
    const std::string o = Path("out.txt"), e = Path("err.txt");
    const int rc = std::system(
        (std::string(FTC_CLI_PATH) + " " + args + " >'" + o + "' 2>'" + e + "'").c_str());
    auto read = [](const std::string& p) {
      std::ifstream in(p);
      return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    };
    if (out) *out = read(o);
    if (err) *err = read(e);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string dir_;
};

TEST_F(JpegCliTest, EncodeDecodeInfo) {
  const std::string in = test::SourcePath("data/features/fmnist_s1_relu.npy");
  std::string out, err;
  ASSERT_EQ(Run("enc '" + in + "' '" + Path("x.ftc") + "' --codec jpeg --quality 90", &out, &err),
            0)
      << err;
  EXPECT_NE(err.find("codec jpeg"), std::string::npos) << err;
  ASSERT_EQ(Run("dec '" + Path("x.ftc") + "' '" + Path("y.npy") + "'"), 0);
  // 40.6 dB measured on these 32 samples (docs/benchmarks.md).
  EXPECT_GT(Psnr(Features(), LoadNpy(Path("y.npy"))), 38.0);
  ASSERT_EQ(Run("info '" + Path("x.ftc") + "'", &out, &err), 0) << err;
  EXPECT_NE(out.find("codec jpeg"), std::string::npos) << out;
  EXPECT_NE(out.find("quality=90"), std::string::npos) << out;
  EXPECT_NE(out.find("grid=8x8 tiles of 14x14 (FCM divisor rule)"), std::string::npos) << out;
  EXPECT_NE(out.find("range=[0, "), std::string::npos) << out;

  // Flags of other codecs are usage errors; --clip and --per-channel apply to jpeg.
  EXPECT_EQ(Run("enc '" + in + "' '" + Path("z.ftc") + "' --codec jpeg --qp 20", &out, &err), 1);
  EXPECT_NE(err.find("--qp applies to --codec hevc only"), std::string::npos) << err;
  EXPECT_EQ(
      Run("enc '" + in + "' '" + Path("z.ftc") + "' --codec jpeg --layout frames", &out, &err), 1);
  EXPECT_EQ(Run("enc '" + in + "' '" + Path("z.ftc") + "' --codec raw --quality 20", &out, &err),
            1);
  EXPECT_NE(err.find("--quality applies to --codec jpeg only"), std::string::npos) << err;
  EXPECT_EQ(Run("enc '" + in + "' '" + Path("z.ftc") + "' --codec raw --clip 3sigma", &out, &err),
            1);
  EXPECT_NE(err.find("--clip applies to --codec ans, jpeg, hevc"), std::string::npos) << err;
  EXPECT_EQ(Run("enc '" + in + "' '" + Path("z.ftc") +
                "' --codec jpeg --quality 60 --clip 3sigma --per-channel --reorder"),
            0);
  EXPECT_EQ(Run("enc '" + in + "' '" + Path("z.ftc") + "' --codec jpeg --quality 0"), 1);

  // A damaged payload with valid checksums: exit 2 and a message naming the problem.
  const Bytes good = test::ReadFileBytes(Path("x.ftc"));
  Result<ParsedFrame> f0 = ParseFrame(good.data(), good.size(), int64_t{1} << 28);
  ASSERT_TRUE(f0.ok());
  Bytes first(good.begin(), good.begin() + static_cast<ptrdiff_t>(f0->size));
  std::vector<uint8_t> jpeg = PayloadOf(first);
  jpeg.resize(jpeg.size() / 2);
  Bytes bad = WithPayload(first, jpeg);
  bad.insert(bad.end(), good.begin() + static_cast<ptrdiff_t>(f0->size), good.end());
  test::WriteFileBytes(Path("bad.ftc"), bad);
  EXPECT_EQ(Run("dec '" + Path("bad.ftc") + "' '" + Path("b.npy") + "'", &out, &err), 2);
  EXPECT_NE(err.find("frame 0: jpeg: corrupt JPEG data"), std::string::npos) << err;
}

}  // namespace
}  // namespace ftc

#endif  // FTC_HAVE_JPEG

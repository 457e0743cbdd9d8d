// Packing of feature channels into pictures (codec/pack): the FCM grid rule, exact
// invertibility of every layout (prime C, C = 1, odd H and W), the similarity order, and the
// packed-frame layer (range mapping, ranges and order sections) with an identity "codec".
#include "codec/pack/pack.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "bitstream/frame.h"
#include "codec/pack/packed_frame.h"
#include "codec/quant/quant.h"

namespace ftc {
namespace {

TEST(ChannelGridTest, FcmDivisorRule) {
  struct Case {
    int64_t c, rows, cols;
  };
  for (const Case& k : {Case{64, 8, 8}, Case{128, 8, 16}, Case{96, 8, 12}, Case{256, 16, 16},
                        Case{512, 16, 32}, Case{1, 1, 1}, Case{2, 1, 2}, Case{4, 2, 2},
                        Case{6, 2, 3}, Case{8, 2, 4}, Case{12, 3, 4}, Case{24, 4, 6}}) {
    const ChannelGrid g = ChooseGrid(k.c);
    EXPECT_EQ(g.rule, GridRule::kDivisor) << k.c;
    EXPECT_EQ(g.rows, k.rows) << k.c;
    EXPECT_EQ(g.cols, k.cols) << k.c;
  }
}

TEST(ChannelGridTest, FarFromSquarePadsToNearSquare) {
  struct Case {
    int64_t c, rows, cols;
  };
  // 13 = 1×13, 5 = 1×5, 7 = 1×7, 17 = 1×17, 22 = 2×11, 34 = 2×17: all wider than 4:1.
  for (const Case& k : {Case{13, 3, 5}, Case{5, 2, 3}, Case{7, 2, 4}, Case{17, 4, 5},
                        Case{22, 4, 6}, Case{34, 5, 7}, Case{97, 9, 11}}) {
    const ChannelGrid g = ChooseGrid(k.c);
    EXPECT_EQ(g.rule, GridRule::kPaddedSquare) << k.c;
    EXPECT_EQ(g.rows, k.rows) << k.c;
    EXPECT_EQ(g.cols, k.cols) << k.c;
  }
  // 3 = 1×3 and 10 = 2×5 are within 4:1 and keep the divisor grid.
  EXPECT_EQ(ChooseGrid(3).rule, GridRule::kDivisor);
  EXPECT_EQ(ChooseGrid(10).rule, GridRule::kDivisor);
  EXPECT_EQ(ChooseGrid(10).cols, 5);
}

TEST(ChannelGridTest, EveryGridHoldsTheChannelsWithoutAnEmptyRow) {
  for (int64_t c = 1; c <= 5000; ++c) {
    for (GridRule rule : {GridRule::kDivisor, GridRule::kPaddedSquare}) {
      const ChannelGrid g = GridForRule(c, rule);
      ASSERT_GE(g.tiles(), c) << c;
      ASSERT_LT((g.rows - 1) * g.cols, c) << c;  // the last row has a channel
      ASSERT_LE(g.rows, g.cols) << c;
      if (rule == GridRule::kDivisor) {
        ASSERT_EQ(g.tiles(), c) << c;
      }
    }
    const ChannelGrid chosen = ChooseGrid(c);
    ASSERT_LE(chosen.cols, kMaxGridAspect * chosen.rows) << c;
  }
}

TEST(ChannelGridTest, IntegerSqrt) {
  for (int64_t v = 0; v < 100000; ++v) {
    const int64_t r = IntegerSqrt(v);
    ASSERT_LE(r * r, v);
    ASSERT_GT((r + 1) * (r + 1), v);
  }
  EXPECT_EQ(IntegerSqrt((int64_t{1} << 62) - 1), (int64_t{1} << 31) - 1);
  EXPECT_EQ(IntegerSqrt(int64_t{1} << 62), int64_t{1} << 31);
}

std::vector<uint16_t> RandomLevels(size_t n, uint32_t seed, uint16_t max) {
  std::mt19937 rng(seed);
  std::vector<uint16_t> v(n);
  for (uint16_t& x : v) x = static_cast<uint16_t>(rng() % (max + 1u));
  return v;
}

std::vector<uint32_t> RandomOrder(int64_t c, uint32_t seed) {
  std::vector<uint32_t> order(static_cast<size_t>(c));
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), std::mt19937(seed));
  return order;
}

TEST(MosaicTest, PackThenUnpackIsExact) {
  for (int64_t c : {1, 2, 3, 5, 7, 13, 17, 64, 96}) {
    for (int64_t h : {1, 3, 7, 14}) {
      for (int64_t w : {1, 5, 9, 14}) {
        for (int64_t block : {8, 16}) {
          for (bool reorder : {false, true}) {
            SCOPED_TRACE(testing::Message() << c << "x" << h << "x" << w << " block " << block
                                            << (reorder ? " reordered" : ""));
            const MosaicGeometry g = MakeMosaicGeometry(c, h, w, ChooseGrid(c), block, 32, 16);
            ASSERT_EQ(g.width % block, 0);
            ASSERT_EQ(g.height % block, 0);
            ASSERT_GE(g.width, std::max<int64_t>(32, g.grid.cols * w));
            ASSERT_GE(g.height, std::max<int64_t>(16, g.grid.rows * h));
            const std::vector<uint16_t> levels =
                RandomLevels(static_cast<size_t>(c * h * w), static_cast<uint32_t>(c * h + w), 255);
            const std::vector<uint32_t> order = RandomOrder(c, 3);
            const uint32_t* ord = reorder ? order.data() : nullptr;
            const ptrdiff_t stride = g.width + 3;  // a stride wider than the picture
            std::vector<uint8_t> picture(static_cast<size_t>(g.height * stride), 0xEE);
            PackMosaic<uint16_t, uint8_t>(levels.data(), ord, g, 77, picture.data(), stride);
            // Tile k holds channel order[k]; empty tiles hold the fill value.
            for (int64_t k = 0; k < g.grid.tiles(); ++k) {
              const int64_t y0 = (k / g.grid.cols) * h, x0 = (k % g.grid.cols) * w;
              const int64_t ch = k < c ? (ord ? ord[k] : k) : -1;
              for (int64_t y = 0; y < h; ++y) {
                for (int64_t x = 0; x < w; ++x) {
                  const uint8_t got = picture[static_cast<size_t>((y0 + y) * stride + x0 + x)];
                  const int want = ch < 0 ? 77 : levels[static_cast<size_t>((ch * h + y) * w + x)];
                  ASSERT_EQ(got, want) << "tile " << k;
                }
              }
            }
            // Padding replicates the last column, then the last row.
            const int64_t cw = g.grid.cols * w, chh = g.grid.rows * h;
            for (int64_t y = 0; y < g.height; ++y) {
              for (int64_t x = 0; x < g.width; ++x) {
                const int64_t sy = std::min(y, chh - 1), sx = std::min(x, cw - 1);
                ASSERT_EQ(picture[static_cast<size_t>(y * stride + x)],
                          picture[static_cast<size_t>(sy * stride + sx)]);
              }
            }
            std::vector<uint16_t> back(levels.size(), 0xFFFF);
            UnpackMosaic<uint8_t, uint16_t>(picture.data(), stride, ord, g, back.data());
            ASSERT_EQ(back, levels);
          }
        }
      }
    }
  }
}

TEST(MosaicTest, FloatMosaicRoundTrip) {
  const int64_t c = 11, h = 3, w = 5;
  const MosaicGeometry g = MakeMosaicGeometry(c, h, w, ChooseGrid(c), 8, 8, 8);
  std::vector<float> planes(static_cast<size_t>(c * h * w));
  for (size_t i = 0; i < planes.size(); ++i) planes[i] = std::sin(static_cast<float>(i)) * 1e3f;
  std::vector<float> picture(static_cast<size_t>(g.width * g.height));
  PackMosaic<float, float>(planes.data(), nullptr, g, 0.0f, picture.data(), g.width);
  std::vector<float> back(planes.size());
  UnpackMosaic<float, float>(picture.data(), g.width, nullptr, g, back.data());
  EXPECT_EQ(back, planes);
}

TEST(FramesLayoutTest, PadThenCropIsExact) {
  for (int64_t h : {1, 2, 7, 14, 17}) {
    for (int64_t w : {1, 3, 8, 13}) {
      const int64_t ph = PaddedPictureSize(h, 8, 16), pw = PaddedPictureSize(w, 8, 16);
      const std::vector<uint16_t> plane = RandomLevels(static_cast<size_t>(h * w), 9, 1023);
      std::vector<uint16_t> picture(static_cast<size_t>(ph * pw));
      PadPlane<uint16_t, uint16_t>(plane.data(), h, w, ph, pw, picture.data(), pw);
      for (int64_t y = 0; y < ph; ++y) {
        for (int64_t x = 0; x < pw; ++x) {
          ASSERT_EQ(picture[static_cast<size_t>(y * pw + x)],
                    plane[static_cast<size_t>(std::min(y, h - 1) * w + std::min(x, w - 1))]);
        }
      }
      std::vector<uint16_t> back(plane.size());
      CropPlane<uint16_t, uint16_t>(picture.data(), pw, h, w, back.data());
      ASSERT_EQ(back, plane);
    }
  }
  EXPECT_EQ(PaddedPictureSize(14, 8, 16), 16);
  EXPECT_EQ(PaddedPictureSize(112, 8, 16), 112);
  EXPECT_EQ(PaddedPictureSize(113, 8, 16), 120);
  EXPECT_EQ(PaddedPictureSize(3, 8, 8), 8);
}

TEST(SimilarityOrderTest, IsAPermutationThatChainsSimilarChannels) {
  // Channels c and c + 8 are the same pattern with a small offset; patterns differ a lot.
  const int64_t c = 16, h = 9, w = 7;
  std::vector<uint16_t> levels(static_cast<size_t>(c * h * w));
  for (int64_t k = 0; k < c; ++k) {
    for (int64_t i = 0; i < h * w; ++i) {
      const int64_t pattern = k % 8;
      levels[static_cast<size_t>(k * h * w + i)] =
          static_cast<uint16_t>(pattern * 100 + (i * (pattern + 1)) % 50 + (k >= 8 ? 1 : 0));
    }
  }
  const std::vector<uint32_t> order = SimilarityOrder(levels.data(), 1, c, h, w);
  ASSERT_EQ(order.size(), static_cast<size_t>(c));
  EXPECT_TRUE(IsPermutation(order.data(), order.size()));
  EXPECT_EQ(order[0], 0u);
  // Every twin pair sits side by side in the chain.
  for (size_t k = 0; k < order.size(); k += 2) {
    EXPECT_EQ(order[k] % 8, order[k + 1] % 8) << "position " << k;
  }
  EXPECT_EQ(SimilarityOrder(levels.data(), 1, c, h, w), order);  // deterministic
  // One channel, and tiny planes.
  EXPECT_EQ(SimilarityOrder(levels.data(), 1, 1, h, w), std::vector<uint32_t>{0});
  EXPECT_TRUE(IsPermutation(SimilarityOrder(levels.data(), 2, 5, 1, 1).data(), 5));
}

TEST(SimilarityOrderTest, IsPermutation) {
  const uint32_t good[] = {2, 0, 1}, dup[] = {0, 0, 1}, big[] = {0, 3, 1};
  EXPECT_TRUE(IsPermutation(good, 3));
  EXPECT_FALSE(IsPermutation(dup, 3));
  EXPECT_FALSE(IsPermutation(big, 3));
  EXPECT_TRUE(IsPermutation(good, 0));
}

// ---- the packed-frame layer through an identity "codec" ----

// Encodes `view` with PackedSamples, moves every picture through Render -> Accept unchanged,
// and decodes. Returns the decoded tensor; also checks it is exactly the quantizer's output.
Tensor PackedRoundTrip(const TensorView& view, const EncoderOptions& o, PackLayout layout, int bits,
                       const PictureLimits& limits) {
  std::vector<uint8_t> params;
  std::vector<Section> sections;
  Result<PackedSamples> packed =
      PackedSamples::Create(view, o, layout, bits, limits, &params, &sections);
  EXPECT_TRUE(packed.ok()) << packed.status().ToString();
  if (!packed.ok()) return Tensor();
  Section picture_section;
  picture_section.kind = kPackPictureSection;
  sections.push_back(picture_section);

  ParsedFrame f;
  f.header.shape = view.shape_vector();
  f.header.params = params;
  const bool batch = view.rank == 4;
  f.sample = batch ? SampleShape{view.shape[1], view.shape[2], view.shape[3]}
                   : SampleShape{view.shape[0], view.shape[1], view.shape[2]};
  f.header.sample_count = batch ? static_cast<uint32_t>(view.shape[0]) : 1;
  f.header.multi_sample = batch;
  for (const Section& s : sections)
    f.sections.push_back({s.kind, s.payload.data(), s.payload.size()});

  ByteReader r(params.data(), params.size());
  Result<PackParams> p = PackedPictures::ParseParams(&r, f.sample);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(r.remaining(), 0u);
  Result<PackedPictures> pictures = PackedPictures::Create(f, *p, limits);
  EXPECT_TRUE(pictures.ok()) << pictures.status().ToString();
  if (!pictures.ok()) return Tensor();
  const PackGeometry& g = packed->geometry();
  EXPECT_EQ(pictures->geometry().width, g.width);
  EXPECT_EQ(pictures->geometry().pictures, g.pictures);
  std::vector<uint16_t> pixels(static_cast<size_t>(g.width * g.height));
  for (int64_t i = 0; i < g.pictures; ++i) {
    packed->Render<uint16_t>(i, pixels.data(), g.width);
    for (uint16_t v : pixels) EXPECT_LE(v, QuantMaxLevel(bits));
    pictures->Accept<uint16_t>(i, pixels.data(), g.width);
  }
  Tensor out;
  Status s = pictures->Finish(&out);
  EXPECT_TRUE(s.ok()) << s.ToString();

  // Reference: quantize/dequantize each range group directly.
  const int64_t n = view.num_elements();
  std::vector<float> x(static_cast<size_t>(n));
  GatherF32(view, 0, n, x.data());
  const int64_t samples = batch ? view.shape[0] : 1;
  const int64_t groups = samples * (o.per_channel ? f.sample.c : 1);
  const size_t per = static_cast<size_t>(n / groups);
  std::vector<uint16_t> q(per);
  std::vector<float> ref(per);
  for (int64_t k = 0; k < groups; ++k) {
    const QuantParams qp = ComputeQuantRange(x.data() + k * per, per, o.clip, bits, 0.5f).value();
    Quantize(x.data() + k * per, per, qp, q.data());
    Dequantize(q.data(), per, qp, ref.data());
    EXPECT_EQ(0, std::memcmp(ref.data(), out.data_as<float>() + k * per, per * sizeof(float)))
        << "group " << k;
  }
  return out;
}

PictureLimits TestLimits(bool frames) {
  PictureLimits l;
  l.codec = "test";
  l.block = 8;
  l.min_width = frames ? 32 : 8;
  l.min_height = frames ? 16 : 8;
  l.max_side = 4096;
  l.frames_layout = frames;
  l.bits_8 = l.bits_10 = true;
  return l;
}

Tensor SmoothTensor(const Shape& shape, uint32_t seed) {
  Tensor t = Tensor::Create(DType::kF32, shape).value();
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  float* p = t.data_as<float>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    p[i] = std::max(0.0f, std::sin(0.37f * static_cast<float>(i % 97)) * 2.0f + noise(rng));
  }
  return t;
}

TEST(PackedFrameTest, EveryLayoutIsExactlyInvertible) {
  struct Case {
    Shape shape;
  };
  for (const Shape& shape : {Shape{13, 5, 7}, Shape{1, 3, 3}, Shape{64, 14, 14}, Shape{17, 1, 9},
                             Shape{3, 4, 13, 11}, Shape{2, 1, 1, 1}}) {
    for (PackLayout layout : {PackLayout::kMosaic, PackLayout::kFrames}) {
      for (int bits : {8, 10}) {
        for (int variant = 0; variant < 4; ++variant) {
          EncoderOptions o;
          o.per_channel = variant & 1;
          o.reorder_channels = variant & 2;
          if (variant == 3) o.clip = ClipSpec::Parse("2sigma").value();
          SCOPED_TRACE(testing::Message()
                       << ShapeToString(shape) << " layout " << static_cast<int>(layout) << " bits "
                       << bits << " variant " << variant);
          Tensor t = SmoothTensor(shape, static_cast<uint32_t>(variant + bits));
          Tensor out =
              PackedRoundTrip(t.view(), o, layout, bits, TestLimits(layout == PackLayout::kFrames));
          Shape want = shape;
          if (shape.size() == 4 && shape[0] == 1) want.erase(want.begin());
          EXPECT_EQ(out.shape(), want);
        }
      }
    }
  }
}

TEST(PackedFrameTest, ParamsBytesAndDescribe) {
  Tensor t = SmoothTensor({13, 3, 3}, 5);
  EncoderOptions o;
  o.reorder_channels = true;
  std::vector<uint8_t> params;
  std::vector<Section> sections;
  Result<PackedSamples> packed = PackedSamples::Create(t.view(), o, PackLayout::kMosaic, 8,
                                                       TestLimits(false), &params, &sections);
  ASSERT_TRUE(packed.ok());
  // Layout 0, rule 1 (13 is prime), 3 rows, 5 cols, flags = reordered, 8 bits.
  EXPECT_EQ(params, (std::vector<uint8_t>{0, 1, 3, 5, kPackFlagReordered, 8}));
  ASSERT_EQ(sections.size(), 2u);
  EXPECT_EQ(sections[0].kind, kPackRangesSection);
  EXPECT_EQ(sections[0].payload.size(), 8u);
  EXPECT_EQ(sections[1].kind, kPackOrderSection);
  EXPECT_EQ(sections[1].payload.size(), 13u);  // 13 one-byte varints
  EXPECT_EQ(packed->geometry().width, 16);     // 5 × 3 = 15 -> 16
  EXPECT_EQ(packed->geometry().height, 16);    // 3 × 3 = 9 -> 16
}

TEST(PackedFrameTest, RejectsBadParamsAndSections) {
  const SampleShape s{13, 3, 3};
  auto parse = [&](std::vector<uint8_t> bytes) {
    ByteReader r(bytes.data(), bytes.size());
    return PackedPictures::ParseParams(&r, s).status();
  };
  EXPECT_TRUE(parse({0, 1, 3, 5, 0, 8}).ok());
  EXPECT_NE(parse({0, 0, 3, 5, 0, 8}).message().find("does not match the rule"), std::string::npos);
  EXPECT_NE(parse({0, 1, 5, 3, 0, 8}).message().find("does not match the rule"), std::string::npos);
  EXPECT_NE(parse({2, 1, 3, 5, 0, 8}).message().find("invalid layout"), std::string::npos);
  EXPECT_NE(parse({0, 2, 3, 5, 0, 8}).message().find("invalid grid rule"), std::string::npos);
  EXPECT_NE(parse({0, 1, 3, 5, 0x10, 8}).message().find("reserved"), std::string::npos);
  EXPECT_NE(parse({0, 1, 3, 5, 0}).message().find("truncated"), std::string::npos);
  EXPECT_NE(parse({1, 1, 1, 1, 0, 8}).message().find("no grid rule"), std::string::npos);
  EXPECT_TRUE(parse({1, 0, 1, 1, 0, 8}).ok());
  EXPECT_EQ(parse({0, 0, 3, 5, 0, 8}).code(), StatusCode::kCorruptData);

  // Sections: a bad order (not a permutation), a wrong-sized range section, NaN range.
  Tensor t = SmoothTensor({13, 3, 3}, 5);
  EncoderOptions o;
  o.reorder_channels = true;
  std::vector<uint8_t> params;
  std::vector<Section> sections;
  ASSERT_TRUE(PackedSamples::Create(t.view(), o, PackLayout::kMosaic, 8, TestLimits(false), &params,
                                    &sections)
                  .ok());
  sections.push_back(Section{kPackPictureSection, {}});
  auto create = [&](std::vector<Section> secs) {
    ParsedFrame f;
    f.header.shape = {13, 3, 3};
    f.header.params = params;
    f.sample = s;
    for (const Section& x : secs)
      f.sections.push_back({x.kind, x.payload.data(), x.payload.size()});
    ByteReader r(params.data(), params.size());
    PackParams p = PackedPictures::ParseParams(&r, s).value();
    return PackedPictures::Create(f, p, TestLimits(false)).status();
  };
  EXPECT_TRUE(create(sections).ok());
  std::vector<Section> bad = sections;
  bad[1].payload[0] = bad[1].payload[1];
  EXPECT_NE(create(bad).message().find("not a permutation"), std::string::npos);
  bad = sections;
  bad[1].payload[0] = 13;
  EXPECT_NE(create(bad).message().find("names channel 13"), std::string::npos);
  bad = sections;
  bad[1].payload.push_back(0);
  EXPECT_NE(create(bad).message().find("after the channel order"), std::string::npos);
  bad = sections;
  bad[0].payload.pop_back();
  EXPECT_NE(create(bad).message().find("ranges section"), std::string::npos);
  bad = sections;
  bad[0].payload[3] = 0x7F;  // lo = NaN
  bad[0].payload[2] = 0xC0;
  EXPECT_NE(create(bad).message().find("range 0 is invalid"), std::string::npos);
  bad = sections;
  bad.erase(bad.begin() + 1);
  EXPECT_NE(create(bad).message().find("expected sections"), std::string::npos);
}

TEST(PackedFrameTest, NonFiniteInputIsUnsupported) {
  Tensor t = SmoothTensor({2, 3, 3}, 1);
  t.data_as<float>()[4] = std::nanf("");
  std::vector<uint8_t> params;
  std::vector<Section> sections;
  EXPECT_EQ(PackedSamples::Create(t.view(), EncoderOptions(), PackLayout::kMosaic, 8,
                                  TestLimits(false), &params, &sections)
                .status()
                .code(),
            StatusCode::kUnsupported);
}

TEST(PackedFrameTest, PictureSizeLimit) {
  PictureLimits l = TestLimits(true);
  l.max_side = 64;
  PackParams p;
  p.grid = ChooseGrid(64);
  EXPECT_TRUE(MakePackGeometry(p, SampleShape{64, 8, 8}, 1, l).ok());  // 64 × 64
  Result<PackGeometry> big = MakePackGeometry(p, SampleShape{64, 9, 8}, 1, l);
  EXPECT_EQ(big.status().code(), StatusCode::kLimitExceeded);
  EXPECT_NE(big.status().message().find("--layout frames"), std::string::npos);
  p.layout = PackLayout::kFrames;
  p.grid = ChannelGrid{};
  EXPECT_TRUE(MakePackGeometry(p, SampleShape{64, 9, 8}, 3, l).ok());
  EXPECT_EQ(MakePackGeometry(p, SampleShape{64, 9, 8}, 3, l)->pictures, 192);
}

}  // namespace
}  // namespace ftc

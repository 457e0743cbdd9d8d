// Rate-distortion and speed of the feature codecs on the same real tensors: ans (the built-in
// baseline) against jpeg and hevc, each sample coded alone (one frame per sample), plus hevc
// --sequence for reference. Prints markdown tables (docs/benchmarks.md, "Image and video
// codecs").
//
//   codecs_bench [--data fmnist_s1_relu[,fmnist_s2_relu,...]] [--repeat N] [--quick]
//
// Per configuration: bits per element (whole frames, container included), feature MSE and PSNR
// (peak = max - min of the tensor), encode and decode time per sample (best of N runs of all
// samples), and the share of that time spent packing (range mapping + tiling, measured by
// running the codec/pack stage alone on the same samples) against the whole codec.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_data.h"
#include "bitstream/frame.h"
#include "codec/pack/packed_frame.h"
#include "ftcodec/ftcodec.h"

namespace ftc {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Best wall time of `repeat` runs of fn.
double BestOf(int repeat, const std::function<void()>& fn) {
  double best = 1e30;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = Clock::now();
    fn();
    best = std::min(best, Seconds(t0, Clock::now()));
  }
  return best;
}

TensorView SampleView(const Tensor& t, int64_t n) {
  const Shape& s = t.shape();
  const int64_t e = s[1] * s[2] * s[3];
  return TensorView::Contiguous(t.data_as<float>() + n * e, DType::kF32, {s[1], s[2], s[3]});
}

struct Row {
  std::string codec, setting;
  double bpe = 0, mse = 0, psnr = 0;
  double enc_us = 0, dec_us = 0;        // per sample
  double pack_enc = -1, pack_dec = -1;  // share of encode / decode time spent packing
};

void Die(const Status& s, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

// Time of the codec/pack stage alone for options `o` (per sample, best of `repeat`):
// encoder side PackedSamples::Create + Render of every picture; decoder side Accept of every
// picture + Finish (dequantize).
void PackTimes(const Tensor& t, const EncoderOptions& o, int repeat, bool sequence, double* enc_us,
               double* dec_us) {
  const int64_t n = t.shape()[0];
  const bool hevc = o.codec == "hevc";
  PictureLimits l;
  l.codec = o.codec.c_str();
  l.block = 8;
  l.min_width = hevc ? 32 : 8;
  l.min_height = hevc ? 16 : 8;
  l.max_side = 1 << 16;
  l.frames_layout = l.bits_8 = l.bits_10 = true;
  const int bits = hevc ? (o.bit_depth ? o.bit_depth : 10) : 8;
  const PackLayout layout = o.layout == "frames" ? PackLayout::kFrames : PackLayout::kMosaic;
  const int64_t units = sequence ? 1 : n;
  std::vector<std::vector<uint8_t>> params(static_cast<size_t>(units));
  std::vector<std::vector<Section>> sections(static_cast<size_t>(units));
  std::vector<std::vector<uint16_t>> pictures(static_cast<size_t>(units));
  auto view = [&](int64_t i) { return sequence ? t.view() : SampleView(t, i); };
  *enc_us = 1e6 / static_cast<double>(n) * BestOf(repeat, [&] {
              for (int64_t i = 0; i < units; ++i) {
                params[i].clear();
                sections[i].clear();
                Result<PackedSamples> p =
                    PackedSamples::Create(view(i), o, layout, bits, l, &params[i], &sections[i]);
                if (!p.ok()) Die(p.status(), "pack");
                const PackGeometry& g = p->geometry();
                pictures[i].resize(static_cast<size_t>(g.pictures * g.width * g.height));
                for (int64_t k = 0; k < g.pictures; ++k) {
                  if (bits == 8) {
                    // The 8-bit codecs render bytes; time the same conversion.
                    p->Render<uint8_t>(
                        k, reinterpret_cast<uint8_t*>(pictures[i].data()) + k * g.width * g.height,
                        g.width);
                  } else {
                    p->Render<uint16_t>(k, pictures[i].data() + k * g.width * g.height, g.width);
                  }
                }
              }
            });
  *dec_us =
      1e6 / static_cast<double>(n) * BestOf(repeat, [&] {
        for (int64_t i = 0; i < units; ++i) {
          sections[i].push_back(Section{kPackPictureSection, {}});
          ParsedFrame f;
          const TensorView v = view(i);
          f.header.shape = v.shape_vector();
          f.header.params = params[i];
          f.sample = sequence ? SampleShape{v.shape[1], v.shape[2], v.shape[3]}
                              : SampleShape{v.shape[0], v.shape[1], v.shape[2]};
          f.header.sample_count = sequence ? static_cast<uint32_t>(n) : 1;
          for (const Section& s : sections[i])
            f.sections.push_back({s.kind, s.payload.data(), s.payload.size()});
          ByteReader r(params[i].data(), params[i].size());
          Result<PackParams> pp = PackedPictures::ParseParams(&r, f.sample);
          if (!pp.ok()) Die(pp.status(), "unpack");
          Result<PackedPictures> pics = PackedPictures::Create(f, *pp, l);
          if (!pics.ok()) Die(pics.status(), "unpack");
          const PackGeometry& g = pics->geometry();
          for (int64_t k = 0; k < g.pictures; ++k) {
            if (bits == 8) {
              pics->Accept<uint8_t>(
                  k, reinterpret_cast<const uint8_t*>(pictures[i].data()) + k * g.width * g.height,
                  g.width);
            } else {
              pics->Accept<uint16_t>(k, pictures[i].data() + k * g.width * g.height, g.width);
            }
          }
          Tensor out;
          if (Status s = pics->Finish(&out); !s.ok()) Die(s, "unpack");
          sections[i].pop_back();
        }
      });
}

Row Measure(const Tensor& t, const EncoderOptions& o, const std::string& setting, int repeat,
            bool sequence) {
  const int64_t n = t.shape()[0];
  const int64_t e = t.num_elements() / n;
  std::vector<Bytes> codes(static_cast<size_t>(sequence ? 1 : n));
  Row row;
  row.codec = o.codec + (sequence ? " --sequence" : "");
  row.setting = setting;
  const double enc = BestOf(repeat, [&] {
    for (size_t i = 0; i < codes.size(); ++i) {
      Result<Bytes> b = encode(sequence ? t.view() : SampleView(t, static_cast<int64_t>(i)), o);
      if (!b.ok()) Die(b.status(), row.codec + " " + setting);
      codes[i] = std::move(b).value();
    }
  });
  std::vector<Tensor> decoded(codes.size());
  const double dec = BestOf(repeat, [&] {
    for (size_t i = 0; i < codes.size(); ++i) {
      Result<Tensor> d = decode(codes[i]);
      if (!d.ok()) Die(d.status(), row.codec + " " + setting + " decode");
      decoded[i] = std::move(d).value();
    }
  });
  size_t bytes = 0;
  for (const Bytes& b : codes) bytes += b.size();
  double se = 0, lo = 1e30, hi = -1e30;
  const float* x = t.data_as<float>();
  for (size_t i = 0; i < codes.size(); ++i) {
    const float* y = decoded[i].data_as<float>();
    const int64_t count = decoded[i].num_elements();
    const float* xi = x + static_cast<int64_t>(i) * e;
    for (int64_t j = 0; j < count; ++j) {
      const double d = static_cast<double>(xi[j]) - y[j];
      se += d * d;
    }
  }
  for (int64_t j = 0; j < t.num_elements(); ++j) {
    lo = std::min(lo, static_cast<double>(x[j]));
    hi = std::max(hi, static_cast<double>(x[j]));
  }
  row.bpe = 8.0 * static_cast<double>(bytes) / static_cast<double>(t.num_elements());
  row.mse = se / static_cast<double>(t.num_elements());
  row.psnr = 10.0 * std::log10((hi - lo) * (hi - lo) / row.mse);
  row.enc_us = 1e6 * enc / static_cast<double>(n);
  row.dec_us = 1e6 * dec / static_cast<double>(n);
  if (o.codec == "jpeg" || o.codec == "hevc") {
    double pe, pd;
    PackTimes(t, o, repeat, sequence, &pe, &pd);
    row.pack_enc = pe / row.enc_us;
    row.pack_dec = pd / row.dec_us;
  }
  return row;
}

void Print(const std::vector<Row>& rows, const Row& baseline) {
  std::printf(
      "| codec | setting | bits/elem | MSE | PSNR dB | enc us/sample | dec us/sample | "
      "enc time vs ans-4 | pack share enc / dec |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    char pack[64] = "-";
    if (r.pack_enc >= 0) {
      std::snprintf(pack, sizeof(pack), "%.1f%% / %.1f%%", 100 * r.pack_enc, 100 * r.pack_dec);
    }
    std::printf("| %s | %s | %.3f | %.4g | %.2f | %.0f | %.0f | %.1fx | %s |\n", r.codec.c_str(),
                r.setting.c_str(), r.bpe, r.mse, r.psnr, r.enc_us, r.dec_us,
                r.enc_us / baseline.enc_us, pack);
  }
}

// Every configuration on one tensor; `baseline` gets the ans 4-bit row.
std::vector<Row> MeasureAll(const Tensor& t, int repeat, bool quick, Row* baseline) {
  std::vector<Row> rows;
  EncoderOptions o;
  o.codec = "ans";
  o.clip = ClipSpec::Parse("3sigma").value();
  for (int bits = 2; bits <= 8; ++bits) {
    if (quick && bits % 2) continue;
    o.bits = bits;
    rows.push_back(Measure(t, o, "bits " + std::to_string(bits) + ", clip 3sigma", repeat, false));
    if (bits == 4) *baseline = rows.back();
  }
  o = EncoderOptions();
  o.codec = "jpeg";
  for (int q : {10, 30, 50, 70, 80, 90, 95}) {
    if (quick && q != 50 && q != 90) continue;
    o.quality = q;
    rows.push_back(Measure(t, o, "quality " + std::to_string(q), repeat, false));
  }
  o.quality = 70;
  o.per_channel = true;
  rows.push_back(Measure(t, o, "quality 70, per-channel", repeat, false));
  o.per_channel = false;
  o.reorder_channels = true;
  rows.push_back(Measure(t, o, "quality 70, reorder", repeat, false));
  for (const std::string layout : {"mosaic", "frames"}) {
    for (int qp : {17, 22, 27, 32, 37, 42}) {
      if (quick && qp != 22 && qp != 32) continue;
      o = EncoderOptions();
      o.codec = "hevc";
      o.layout = layout;
      o.qp = qp;
      rows.push_back(
          Measure(t, o, layout + ", qp " + std::to_string(qp) + ", 10-bit", repeat, false));
    }
  }
  o = EncoderOptions();
  o.codec = "hevc";
  o.qp = 32;
  for (int bits : {8}) {
    o.bit_depth = bits;
    rows.push_back(Measure(t, o, "mosaic, qp 32, 8-bit", repeat, false));
    o.layout = "frames";
    rows.push_back(Measure(t, o, "frames, qp 32, 8-bit", repeat, false));
    o.layout = "mosaic";
  }
  o.bit_depth = 0;
  o.preset = "fast";
  rows.push_back(Measure(t, o, "mosaic, qp 32, 10-bit, preset fast", repeat, false));
  o.layout = "frames";
  rows.push_back(Measure(t, o, "frames, qp 32, 10-bit, preset fast", repeat, false));
  o.preset = "ultrafast";
  o.reorder_channels = true;
  rows.push_back(Measure(t, o, "frames, qp 32, 10-bit, reorder", repeat, false));
  o.reorder_channels = false;
  o.sequence = true;
  for (const std::string layout : {"mosaic", "frames"}) {
    for (int qp : {22, 27, 32, 37}) {
      if (quick && qp != 32) continue;
      o.layout = layout;
      o.qp = qp;
      rows.push_back(
          Measure(t, o, layout + ", qp " + std::to_string(qp) + ", 10-bit", repeat, true));
    }
  }
  return rows;
}

int Main(int argc, char** argv) {
  std::vector<std::string> datasets = {"fmnist_s1_relu"};
  int repeat = 3;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) {
      datasets.clear();
      std::string list = argv[++i];
      for (size_t p = 0; p <= list.size();) {
        const size_t q = std::min(list.find(',', p), list.size());
        datasets.push_back(list.substr(p, q - p));
        p = q + 1;
      }
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--quick") {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: codecs_bench [--data a,b] [--repeat N] [--quick]\n");
      return 1;
    }
  }
  for (const std::string& name : datasets) {
    const Tensor t = bench::LoadFeatures(name);
    std::printf("\n### %s (%s, each sample coded alone unless --sequence)\n\n", name.c_str(),
                ShapeToString(t.shape()).c_str());
    Row baseline;
    const std::vector<Row> rows = MeasureAll(t, repeat, quick, &baseline);
    Print(rows, baseline);
  }
  return 0;
}

}  // namespace
}  // namespace ftc

int main(int argc, char** argv) { return ftc::Main(argc, argv); }

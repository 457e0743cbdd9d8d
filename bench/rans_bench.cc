// The `ans` entropy coder (bitstream/symbol_coder.h) against zstd on real feature tensors.
//
// Every sample (C×H×W) of data/features/<name>.npy is quantized alone (per-sample range) and
// coded ALONE as one segment whose bands are its channels — the way the codec sends one sample.
// zstd gets the same indices as bytes (bits <= 8) or little-endian uint16.
//
// Reported per configuration:
//  * Google Benchmark timings: ans encode/decode, zstd -1 compress/decompress, in symbols/s
//    (items_per_second; one symbol = one byte for zstd at <= 8 bits);
//  * counters: bits/element of ans, zstd -19 and zstd -1, the ans/zstd-19 size ratio, the
//    model's ideal code length and the coded size's gap to it;
//  * after the benchmarks, a summary table whose speed ratios come from interleaved rounds
//    (ans and zstd alternate, best of 5, thread CPU time), so a busy machine affects both sides
//    alike: ans encode against zstd -1 compression, ans decode (and the scalar reference decoder)
//    against zstd -1 decompression of the same indices, and the whole ftc::decode of the sample's
//    frame (`--codec ans` with the same bits and clipping: parsing, checksums, symbols,
//    dequantization to f32) against the same zstd -1 decompression. --no_summary skips it.
//  * --lanes=N (4, 8, 16, 32) forces the segments' lane count (default: the encoder's choice by
//    size); the frames of the full decode always use the encoder's choice.
//
//   build/bench/rans_bench --benchmark_repetitions=3
//   build/bench/rans_bench --benchmark_filter=none         (the summary only)
#include <benchmark/benchmark.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "bench/bench_data.h"
#include "bitstream/symbol_coder.h"
#include "ftcodec/ftcodec.h"

namespace ftc {
namespace {

struct Config {
  const char* data;
  int bits;
  bool sigma3;  // range = mean -+ 3 sigma within [min, max]; else [min, max]
  const char* name;
};

const Config kConfigs[] = {
    {"fmnist_s1_relu", 2, true, "s1_relu/2bit_3sigma"},
    {"fmnist_s1_relu", 4, false, "s1_relu/4bit_minmax"},
    {"fmnist_s1_relu", 8, false, "s1_relu/8bit_minmax"},
    {"fmnist_s2_relu", 2, true, "s2_relu/2bit_3sigma"},
    {"fmnist_s2_relu", 4, false, "s2_relu/4bit_minmax"},
    {"fmnist_s1_bn", 2, true, "s1_bn/2bit_3sigma"},
    {"fmnist_s1_bn", 4, false, "s1_bn/4bit_minmax"},
    {"fmnist_s1_bn", 8, false, "s1_bn/8bit_minmax"},
};

// The project's quantizer definition (scalar): range per sample; L = 2^bits;
// scale = (L-1)/(hi-lo) in f32; q = clamp(floor((x-lo)*scale + 0.5f), 0, L-1).
void QuantizeSample(const float* x, size_t n, int bits, bool sigma3, uint16_t* q) {
  float mn = x[0], mx = x[0];
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
    sum += x[i];
  }
  double lo = mn, hi = mx;
  if (sigma3) {
    const double mean = sum / n;
    double var = 0;
    for (size_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
    const double sd = std::sqrt(var / n);
    lo = std::max(lo, mean - 3 * sd);
    hi = std::min(hi, mean + 3 * sd);
  }
  const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
  const float levels = static_cast<float>((1 << bits) - 1);
  const float scale = fhi > flo ? levels / (fhi - flo) : 0.0f;
  for (size_t i = 0; i < n; ++i) {
    const float v = std::floor((x[i] - flo) * scale + 0.5f);
    q[i] = static_cast<uint16_t>(std::min(std::max(v, 0.0f), levels));
  }
}

int g_lanes = 0;  // --lanes

struct Prepared {
  std::vector<BandShape> bands;
  int lanes = 0;
  size_t per_sample = 0;
  std::vector<std::vector<uint16_t>> symbols;
  std::vector<std::vector<uint8_t>> zstd_input;  // bytes (<= 8 bits) or LE uint16
  std::vector<std::vector<uint8_t>> ans;         // encoded segments
  std::vector<std::vector<uint8_t>> zstd1;       // zstd -1 frames
  std::vector<Bytes> frames;                     // ftc::encode of each sample (codec ans)
  double ans_bits = 0, ideal_bits = 0, model_bits = 0, zstd1_bits = 0, zstd19_bits = 0;
  double elements = 0;
};

Prepared& Get(int index) {
  static Prepared cache[sizeof(kConfigs) / sizeof(kConfigs[0])];
  Prepared& p = cache[index];
  if (!p.symbols.empty()) return p;
  const Config& c = kConfigs[index];
  const Tensor t = bench::LoadFeatures(c.data);
  const Shape& s = t.shape();  // N, C, H, W
  const size_t n = static_cast<size_t>(s[0]);
  p.per_sample = static_cast<size_t>(s[1] * s[2] * s[3]);
  p.bands.assign(static_cast<size_t>(s[1]),
                 BandShape{static_cast<uint32_t>(s[2]), static_cast<uint32_t>(s[3])});
  const float* x = t.data_as<float>();
  std::vector<uint8_t> buf(ZSTD_compressBound(p.per_sample * 2));
  for (size_t i = 0; i < n; ++i) {
    std::vector<uint16_t> q(p.per_sample);
    QuantizeSample(x + i * p.per_sample, p.per_sample, c.bits, c.sigma3, q.data());
    std::vector<uint8_t> z;
    for (uint16_t v : q) {
      z.push_back(static_cast<uint8_t>(v));
      if (c.bits > 8) z.push_back(static_cast<uint8_t>(v >> 8));
    }
    SymbolSegmentStats st;
    std::vector<uint8_t> seg;
    SymbolSegmentOptions so;
    so.lanes = g_lanes;
    const Status status = EncodeSymbolSegment(q.data(), p.bands, c.bits, &seg, &st, so);
    p.lanes = st.lanes;
    if (!status.ok()) {
      std::fprintf(stderr, "encode: %s\n", status.ToString().c_str());
      std::exit(1);
    }
    std::vector<uint16_t> back(p.per_sample);
    if (!DecodeSymbolSegment(seg.data(), seg.size(), p.bands, c.bits, back.data()).ok() ||
        back != q) {
      std::fprintf(stderr, "%s: round trip failed on sample %zu\n", c.name, i);
      std::exit(1);
    }
    p.ans_bits += 8.0 * seg.size();
    p.ideal_bits += st.ideal_data_bits + st.model_bits;
    p.model_bits += st.model_bits;
    const size_t z1 = ZSTD_compress(buf.data(), buf.size(), z.data(), z.size(), 1);
    p.zstd1.emplace_back(buf.begin(), buf.begin() + z1);
    p.zstd1_bits += 8.0 * z1;
    p.zstd19_bits += 8.0 * ZSTD_compress(buf.data(), buf.size(), z.data(), z.size(), 19);
    EncoderOptions eo;
    eo.codec = "ans";
    eo.bits = c.bits;
    if (c.sigma3) eo.clip = ClipSpec{ClipSpec::Kind::kSigma, 3, 0};
    const TensorView sample =
        TensorView::Contiguous(x + i * p.per_sample, DType::kF32, {s[1], s[2], s[3]});
    Result<Bytes> frame = encode(sample, eo);
    if (!frame.ok()) {
      std::fprintf(stderr, "ftc::encode: %s\n", frame.status().ToString().c_str());
      std::exit(1);
    }
    p.frames.push_back(std::move(*frame));
    p.symbols.push_back(std::move(q));
    p.zstd_input.push_back(std::move(z));
    p.ans.push_back(std::move(seg));
  }
  p.elements = static_cast<double>(n * p.per_sample);
  return p;
}

void SizeCounters(benchmark::State& state, const Prepared& p) {
  state.counters["ans_b/e"] = p.ans_bits / p.elements;
  state.counters["zstd19_b/e"] = p.zstd19_bits / p.elements;
  state.counters["zstd1_b/e"] = p.zstd1_bits / p.elements;
  state.counters["ans/zstd19"] = p.ans_bits / p.zstd19_bits;
  state.counters["ideal_b/e"] = p.ideal_bits / p.elements;
  state.counters["model_b/e"] = p.model_bits / p.elements;
  state.counters["gap_%"] = 100.0 * (p.ans_bits / p.ideal_bits - 1);
}

void BM_AnsEncode(benchmark::State& state) {
  const Prepared& p = Get(static_cast<int>(state.range(0)));
  const int bits = kConfigs[state.range(0)].bits;
  std::vector<uint8_t> out;
  out.reserve(p.per_sample * 2);
  for (auto _ : state) {
    for (const auto& q : p.symbols) {
      out.clear();
      benchmark::DoNotOptimize(EncodeSymbolSegment(q.data(), p.bands, bits, &out).ok());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p.elements));
  SizeCounters(state, p);
}

void BM_AnsDecode(benchmark::State& state) {
  const Prepared& p = Get(static_cast<int>(state.range(0)));
  const int bits = kConfigs[state.range(0)].bits;
  std::vector<uint16_t> out(p.per_sample);
  for (auto _ : state) {
    for (const auto& seg : p.ans) {
      benchmark::DoNotOptimize(
          DecodeSymbolSegment(seg.data(), seg.size(), p.bands, bits, out.data()).ok());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p.elements));
}

void BM_Zstd1Compress(benchmark::State& state) {
  const Prepared& p = Get(static_cast<int>(state.range(0)));
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  std::vector<uint8_t> buf(ZSTD_compressBound(p.per_sample * 2));
  for (auto _ : state) {
    for (const auto& z : p.zstd_input) {
      benchmark::DoNotOptimize(
          ZSTD_compressCCtx(cctx, buf.data(), buf.size(), z.data(), z.size(), 1));
    }
  }
  ZSTD_freeCCtx(cctx);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p.elements));
}

void BM_Zstd1Decompress(benchmark::State& state) {
  const Prepared& p = Get(static_cast<int>(state.range(0)));
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  std::vector<uint8_t> buf(p.per_sample * 2);
  for (auto _ : state) {
    for (const auto& z : p.zstd1) {
      benchmark::DoNotOptimize(
          ZSTD_decompressDCtx(dctx, buf.data(), buf.size(), z.data(), z.size()));
    }
  }
  ZSTD_freeDCtx(dctx);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p.elements));
}

// Thread CPU seconds: on a shared machine this counts only the time this thread ran.
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// CPU seconds for one pass of `f` over all samples (repeated for at least 20 ms).
template <typename F>
double PassSeconds(F f) {
  int reps = 0;
  const double t0 = CpuSeconds();
  double s = 0;
  do {
    f();
    ++reps;
    s = CpuSeconds() - t0;
  } while (s < 0.02);
  return s / reps;
}

void PrintSummary() {
  std::printf(
      "\nSummary (per-sample segments; speeds in M symbols/s of thread CPU time, best of 5\n"
      "interleaved rounds)\n"
      "%-20s %7s %7s %7s %7s %7s %6s %5s | %6s %6s %5s | %6s %6s %6s %5s %5s | %6s %5s\n",
      "config", "ans", "ideal", "zstd19", "zstd1", "ans/z19", "gap%", "lanes", "enc", "z1_cmp",
      "ratio", "dec", "ref", "z1_dec", "ratio", "ref_r", "f32", "ratio");
  for (size_t i = 0; i < sizeof(kConfigs) / sizeof(kConfigs[0]); ++i) {
    const Prepared& p = Get(static_cast<int>(i));
    const int bits = kConfigs[i].bits;
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_DCtx* dctx = ZSTD_createDCtx();
    std::vector<uint8_t> out, zbuf(ZSTD_compressBound(p.per_sample * 2));
    std::vector<uint16_t> dec(p.per_sample);
    SymbolSegmentOptions so;
    so.lanes = g_lanes;
    double enc = 1e9, dec_s = 1e9, ref_s = 1e9, full_s = 1e9, zc = 1e9, zd = 1e9;
    for (int round = 0; round < 5; ++round) {
      enc = std::min(enc, PassSeconds([&] {
                       for (const auto& q : p.symbols) {
                         out.clear();
                         (void)EncodeSymbolSegment(q.data(), p.bands, bits, &out, nullptr, so);
                       }
                     }));
      zc = std::min(zc, PassSeconds([&] {
                      for (const auto& z : p.zstd_input) {
                        ZSTD_compressCCtx(cctx, zbuf.data(), zbuf.size(), z.data(), z.size(), 1);
                      }
                    }));
      dec_s = std::min(dec_s, PassSeconds([&] {
                         for (const auto& s : p.ans) {
                           (void)DecodeSymbolSegment(s.data(), s.size(), p.bands, bits, dec.data());
                         }
                       }));
      zd = std::min(zd, PassSeconds([&] {
                      for (const auto& z : p.zstd1) {
                        ZSTD_decompressDCtx(dctx, zbuf.data(), zbuf.size(), z.data(), z.size());
                      }
                    }));
      ref_s = std::min(ref_s, PassSeconds([&] {
                         for (const auto& s : p.ans) {
                           (void)DecodeSymbolSegmentReference(s.data(), s.size(), p.bands, bits,
                                                              dec.data());
                         }
                       }));
      full_s = std::min(full_s, PassSeconds([&] {
                          for (const auto& f : p.frames) {
                            benchmark::DoNotOptimize(decode(f).ok());
                          }
                        }));
    }
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
    const double m = p.elements / 1e6;
    std::printf(
        "%-20s %7.4f %7.4f %7.4f %7.4f %7.3f %6.2f %5d | %6.0f %6.0f %5.2f | %6.0f %6.0f %6.0f "
        "%5.2f %5.2f | %6.0f %5.2f\n",
        kConfigs[i].name, p.ans_bits / p.elements, p.ideal_bits / p.elements,
        p.zstd19_bits / p.elements, p.zstd1_bits / p.elements, p.ans_bits / p.zstd19_bits,
        100.0 * (p.ans_bits / p.ideal_bits - 1), p.lanes, m / enc, m / zc, zc / enc, m / dec_s,
        m / ref_s, m / zd, zd / dec_s, zd / ref_s, m / full_s, zd / full_s);
  }
  std::printf(
      "(sizes in bits/element; ideal = model's ideal code length + table cost; gap = "
      "ans/ideal - 1;\n ratio = ans speed / zstd -1 speed; dec = DecodeSymbolSegment, ref = the "
      "scalar reference\n decoder (ref_r its ratio), f32 = ftc::decode of the sample's frame to "
      "f32)\n");
}

void RegisterAll() {
  for (size_t i = 0; i < sizeof(kConfigs) / sizeof(kConfigs[0]); ++i) {
    const std::string n = kConfigs[i].name;
    const int64_t a = static_cast<int64_t>(i);
    benchmark::RegisterBenchmark(("ans_encode/" + n).c_str(), BM_AnsEncode)->Arg(a);
    benchmark::RegisterBenchmark(("zstd1_compress/" + n).c_str(), BM_Zstd1Compress)->Arg(a);
    benchmark::RegisterBenchmark(("ans_decode/" + n).c_str(), BM_AnsDecode)->Arg(a);
    benchmark::RegisterBenchmark(("zstd1_decompress/" + n).c_str(), BM_Zstd1Decompress)->Arg(a);
  }
}

}  // namespace
}  // namespace ftc

int main(int argc, char** argv) {
  bool summary = true;
  for (int i = 1; i < argc;) {
    const bool no_summary = std::strcmp(argv[i], "--no_summary") == 0;
    const bool lanes = std::strncmp(argv[i], "--lanes=", 8) == 0;
    if (!no_summary && !lanes) {
      ++i;
      continue;
    }
    if (no_summary) summary = false;
    if (lanes) ftc::g_lanes = std::atoi(argv[i] + 8);
    for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
    --argc;
  }
  ftc::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (summary) ftc::PrintSummary();
  return 0;
}

// Quantizer throughput against memcpy of the same megabyte, measured in the same run.
//
//   quant_bench [--benchmark_repetitions=5] [--disable_avx3]
//
// Data: 1 MiB of f32 (262,144 values) of real post-ReLU activations (data/features/
// fmnist_s1_relu.npy, repeated or truncated). Quantize reads that MiB (and writes 512 KiB of
// levels); Dequantize writes it (from 512 KiB of levels). Each is compared with memcpy of 1 MiB
// and with the scalar reference loop; the ratios are printed after the table (best run of each).

#include <benchmark/benchmark.h>
#include <hwy/targets.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_data.h"
#include "codec/quant/quant.h"
#include "ftcodec/ftcodec.h"

namespace ftc {
namespace {

constexpr size_t kValues = 262144;  // 1 MiB of f32
constexpr size_t kBytes = kValues * sizeof(float);

const std::vector<float>& Features() {
  static const std::vector<float> values = [] {
    const Tensor t = bench::LoadFeatures("fmnist_s1_relu");
    const float* src = t.data_as<float>();
    const size_t count = t.size_bytes() / sizeof(float);
    std::vector<float> v(kValues);
    for (size_t i = 0; i < kValues; ++i) v[i] = src[i % count];
    return v;
  }();
  return values;
}

QuantParams Params() {
  const std::vector<float>& x = Features();
  Result<QuantParams> p = ComputeQuantRange(x.data(), x.size(), ClipSpec{}, 4, 0.5f);
  if (!p.ok()) {
    std::fprintf(stderr, "%s\n", p.status().ToString().c_str());
    std::exit(1);
  }
  return *p;
}

std::vector<uint16_t> Levels() {
  std::vector<uint16_t> q(kValues);
  Quantize(Features().data(), kValues, Params(), q.data());
  return q;
}

void BM_Memcpy(benchmark::State& state) {
  const std::vector<float>& x = Features();
  std::vector<float> out(kValues);
  for (auto _ : state) {
    std::memcpy(out.data(), x.data(), kBytes);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBytes));
}
BENCHMARK(BM_Memcpy);

// A quantizer or dequantizer (or its scalar reference) over the MiB: fn(in, kValues, params, out)
// from `in` (features or levels) into kValues of Out.
template <class Out, class In, class Fn>
void QuantizerLoop(benchmark::State& state, const std::vector<In>& in, Fn fn) {
  const QuantParams p = Params();
  std::vector<Out> out(kValues);
  for (auto _ : state) {
    fn(in.data(), kValues, p, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBytes));
}

void BM_Quantize(benchmark::State& state) { QuantizerLoop<uint16_t>(state, Features(), Quantize); }
BENCHMARK(BM_Quantize);

void BM_QuantizeReference(benchmark::State& state) {
  QuantizerLoop<uint16_t>(state, Features(), QuantizeReference);
}
BENCHMARK(BM_QuantizeReference);

void BM_Dequantize(benchmark::State& state) { QuantizerLoop<float>(state, Levels(), Dequantize); }
BENCHMARK(BM_Dequantize);

void BM_DequantizeReference(benchmark::State& state) {
  QuantizerLoop<float>(state, Levels(), DequantizeReference);
}
BENCHMARK(BM_DequantizeReference);

void BM_FiniteMinMax(benchmark::State& state) {
  const std::vector<float>& x = Features();
  for (auto _ : state) {
    float mn, mx;
    benchmark::DoNotOptimize(FiniteMinMax(x.data(), kValues, &mn, &mx));
    benchmark::DoNotOptimize(mn);
    benchmark::DoNotOptimize(mx);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBytes));
}
BENCHMARK(BM_FiniteMinMax);

// Paired measurement, robust on a busy machine: every iteration times memcpy of the MiB and then
// `fn` on the same data, back to back; the counter is 100 * best memcpy time / best fn time.
template <class Fn>
void PairedWithMemcpy(benchmark::State& state, Fn fn) {
  const std::vector<float>& x = Features();
  std::vector<float> copy(kValues);
  double best_memcpy = std::numeric_limits<double>::infinity(), best_fn = best_memcpy;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    std::memcpy(copy.data(), x.data(), kBytes);
    benchmark::DoNotOptimize(copy.data());
    benchmark::ClobberMemory();
    const auto t1 = std::chrono::steady_clock::now();
    fn();
    benchmark::ClobberMemory();
    const auto t2 = std::chrono::steady_clock::now();
    best_memcpy = std::min(best_memcpy, std::chrono::duration<double>(t1 - t0).count());
    best_fn = std::min(best_fn, std::chrono::duration<double>(t2 - t1).count());
  }
  state.counters["pct_of_memcpy"] = 100.0 * best_memcpy / best_fn;
}

void BM_PairedQuantize(benchmark::State& state) {
  const QuantParams p = Params();
  std::vector<uint16_t> q(kValues);
  PairedWithMemcpy(state, [&] {
    Quantize(Features().data(), kValues, p, q.data());
    benchmark::DoNotOptimize(q.data());
  });
}
BENCHMARK(BM_PairedQuantize);

void BM_PairedDequantize(benchmark::State& state) {
  const QuantParams p = Params();
  const std::vector<uint16_t> q = Levels();
  std::vector<float> out(kValues);
  PairedWithMemcpy(state, [&] {
    Dequantize(q.data(), kValues, p, out.data());
    benchmark::DoNotOptimize(out.data());
  });
}
BENCHMARK(BM_PairedDequantize);

// Codec raw through ftc::encode / ftc::decode: the MiB as one 64×64×64 frame, stored as f32 (a
// copy) or f16 (a conversion); the f16/f32 time ratio is the cost of the conversion.
void RawCode(benchmark::State& state, DType stored, bool decode_side) {
  EncoderOptions o;
  o.codec = "raw";
  o.store_dtype = stored;
  const TensorView v = TensorView::Contiguous(Features().data(), DType::kF32, {64, 64, 64});
  const Bytes frame = encode(v, o).value();
  DecoderOptions d;
  d.dtype = DType::kF32;
  PairedWithMemcpy(state, [&] {
    if (decode_side) {
      Result<Tensor> t = decode(frame, d);
      benchmark::DoNotOptimize(t->data());
    } else {
      Result<Bytes> b = encode(v, o);
      benchmark::DoNotOptimize(b->data());
    }
  });
}
void BM_PairedRawEncodeF32(benchmark::State& state) { RawCode(state, DType::kF32, false); }
void BM_PairedRawEncodeF16(benchmark::State& state) { RawCode(state, DType::kF16, false); }
void BM_PairedRawEncodeBF16(benchmark::State& state) { RawCode(state, DType::kBF16, false); }
void BM_PairedRawDecodeF32(benchmark::State& state) { RawCode(state, DType::kF32, true); }
void BM_PairedRawDecodeF16(benchmark::State& state) { RawCode(state, DType::kF16, true); }
BENCHMARK(BM_PairedRawEncodeF32);
BENCHMARK(BM_PairedRawEncodeF16);
BENCHMARK(BM_PairedRawEncodeBF16);
BENCHMARK(BM_PairedRawDecodeF32);
BENCHMARK(BM_PairedRawDecodeF16);

// Console output plus the best time of every benchmark, for the ratios printed at the end.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      const std::string name = run.benchmark_name();
      auto pct = run.counters.find("pct_of_memcpy");
      if (pct != run.counters.end()) {
        double& best = paired_[name];
        best = std::max(best, static_cast<double>(pct->second));
      }
      auto it = best_.try_emplace(name, std::numeric_limits<double>::infinity()).first;
      it->second = std::min(it->second, run.GetAdjustedRealTime());
    }
  }

  void PrintRatios() const {
    auto time_of = [&](const char* name) {
      auto it = best_.find(name);
      return it == best_.end() ? 0.0 : it->second;
    };
    std::printf(
        "\nBandwidth relative to memcpy of the same 1 MiB (target for Quantize: "
        ">= 50%%)\n");
    for (const auto& [name, pct] : paired_) {
      std::printf("  %-24s %6.1f%%   (paired, best of interleaved runs)\n", name.c_str(), pct);
    }
    auto paired = [&](const char* name) {
      auto it = paired_.find(name);
      return it == paired_.end() ? 0.0 : it->second;
    };
    for (const char* side : {"Encode", "Decode"}) {
      const double f32 = paired(("BM_PairedRaw" + std::string(side) + "F32").c_str());
      const double f16 = paired(("BM_PairedRaw" + std::string(side) + "F16").c_str());
      if (f32 > 0 && f16 > 0) {
        std::printf("  raw %s f16 / f32 time:      %.2fx (goal <= 1.5x)\n", side, f32 / f16);
      }
    }
    const double memcpy_time = time_of("BM_Memcpy");
    if (memcpy_time <= 0) return;
    for (const char* name : {"BM_Quantize", "BM_QuantizeReference", "BM_Dequantize",
                             "BM_DequantizeReference", "BM_FiniteMinMax"}) {
      const double t = time_of(name);
      if (t > 0) std::printf("  %-24s %6.1f%%   (separate runs)\n", name, 100.0 * memcpy_time / t);
    }
    const double q = time_of("BM_Quantize"), qr = time_of("BM_QuantizeReference");
    const double d = time_of("BM_Dequantize"), dr = time_of("BM_DequantizeReference");
    if (q > 0 && qr > 0) std::printf("  Quantize speed-up over scalar:   %.1fx\n", qr / q);
    if (d > 0 && dr > 0) std::printf("  Dequantize speed-up over scalar: %.1fx\n", dr / d);
    std::printf("  (dispatch target: %s)\n", hwy::TargetName(QuantizeDispatchTargetForTest()));
  }

 private:
  std::map<std::string, double> best_;    // seconds per iteration, best run
  std::map<std::string, double> paired_;  // pct_of_memcpy, best run
};

}  // namespace
}  // namespace ftc

int main(int argc, char** argv) {
  // --disable_avx3: measure the AVX2 kernels on a CPU that also has AVX-512.
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--disable_avx3") == 0) {
      hwy::DisableTargets(HWY_AVX3 | HWY_AVX3_DL);
      std::copy(argv + i + 1, argv + argc, argv + i);
      --argc;
      break;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ftc::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  benchmark::Shutdown();
  return 0;
}

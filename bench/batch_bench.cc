// The server side of split inference: decode_batch of many one-sample streams into one
// preallocated N×C×H×W f32 tensor.
//
// 1. ans 4 bits, 3σ, of the bundled 64×14×14 post-ReLU features, each sample its own stream, on
//    1 and 2 threads of the library's executor. Baseline in the same run: zstd -1 decompressing
//    each sample's 4-bit quantization indices (one byte each), one thread. Prints samples per
//    second, per core, the thread scaling and the ratio to zstd (docs/benchmarks.md, "Server
//    decode").
// 2. With libtorch: codec learned, each bundled unit of data/units (64×14×14 features), server
//    time per sample — decoding (inner code and restoration) and the unit's tail — one `decode`
//    call per sample (the baseline), decode_batch of 1 stream and of 64 streams per call (the
//    executor on 2 threads, libtorch on --torch-threads), and whether batch 64 gives exactly
//    the bytes of the per-sample decode (docs/benchmarks.md, "Batched restoration").
//
//   batch_bench [--samples N] [--repeat R] [--learned-samples M] [--torch-threads T]
//               [--units DIR,DIR...]
// --samples 0 or --learned-samples 0 skips that part.
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_data.h"
#include "codec/quant/quant.h"
#include "ftcodec/ftcodec.h"
#ifdef FTC_HAVE_TORCH
#include "ftcodec/torch.h"
#endif

namespace ftc {
namespace {

using Clock = std::chrono::steady_clock;

double BestOf(int repeat, const std::function<void()>& fn) {
  double best = 1e30;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = Clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

void Check(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

void AnsServer(const Tensor& features, int64_t n, int repeat) {
  const Shape& fs = features.shape();
  const int64_t have = fs[0], e = fs[1] * fs[2] * fs[3];
  EncoderOptions o;
  o.codec = "ans";
  o.bits = 4;
  o.clip = ClipSpec::Parse("3sigma").value();
  // Every sample its own stream (the bundled samples, repeated up to n).
  std::vector<Bytes> streams(static_cast<size_t>(n));
  std::vector<std::vector<uint8_t>> zstd_frames(static_cast<size_t>(n));
  size_t stream_bytes = 0, zstd_bytes = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* x = features.data_as<float>() + (i % have) * e;
    Result<Bytes> b = encode(TensorView::Contiguous(x, DType::kF32, {fs[1], fs[2], fs[3]}), o);
    Check(b.status(), "encode");
    streams[static_cast<size_t>(i)] = std::move(*b);
    stream_bytes += streams[static_cast<size_t>(i)].size();
    // The baseline's input: the same 4-bit indices, one byte each, zstd -1.
    QuantParams q = ComputeQuantRange(x, static_cast<size_t>(e), o.clip, 4, 0.5f).value();
    std::vector<uint16_t> idx(static_cast<size_t>(e));
    Quantize(x, static_cast<size_t>(e), q, idx.data());
    std::vector<uint8_t> bytes(idx.begin(), idx.end());
    std::vector<uint8_t>& z = zstd_frames[static_cast<size_t>(i)];
    z.resize(ZSTD_compressBound(bytes.size()));
    z.resize(ZSTD_compress(z.data(), z.size(), bytes.data(), bytes.size(), 1));
    zstd_bytes += z.size();
  }
  std::vector<StreamRef> refs;
  for (const Bytes& b : streams) refs.push_back({b.data(), b.size()});
  Tensor out = Tensor::Create(DType::kF32, {n, fs[1], fs[2], fs[3]}).value();
  double seconds[2] = {0, 0};
  for (int threads : {1, 2}) {
    std::unique_ptr<Executor> pool = MakeThreadExecutor(threads);
    seconds[threads - 1] = BestOf(repeat, [&] {
      Result<std::vector<Status>> st = decode_batch(refs, &out, {}, pool.get());
      Check(st.status(), "decode_batch");
      for (const Status& s : *st) Check(s, "decode_batch stream");
    });
  }
  std::vector<uint8_t> plain(static_cast<size_t>(e));
  const double zstd_seconds = BestOf(repeat, [&] {
    for (const std::vector<uint8_t>& z : zstd_frames) {
      if (ZSTD_decompress(plain.data(), plain.size(), z.data(), z.size()) != plain.size()) {
        std::fprintf(stderr, "zstd: bad frame\n");
        std::exit(1);
      }
    }
  });
  const double per_core_1 = static_cast<double>(n) / seconds[0];
  const double per_sec_2 = static_cast<double>(n) / seconds[1];
  const double zstd_rate = static_cast<double>(n) / zstd_seconds;
  std::printf(
      "| samples | bytes/sample (ans, zstd -1 of indices) | decode_batch, 1 thread | "
      "2 threads | scaling 1 -> 2 | zstd -1 decompress, 1 thread | ans decode / zstd |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  std::printf(
      "| %lld x %lldx%lldx%lld | %.0f, %.0f | %.0f samples/s | %.0f samples/s | %.2fx | "
      "%.0f samples/s | %.2fx |\n",
      static_cast<long long>(n), static_cast<long long>(fs[1]), static_cast<long long>(fs[2]),
      static_cast<long long>(fs[3]), static_cast<double>(stream_bytes) / static_cast<double>(n),
      static_cast<double>(zstd_bytes) / static_cast<double>(n), per_core_1, per_sec_2,
      per_sec_2 / per_core_1, zstd_rate, per_core_1 / zstd_rate);
}

#ifdef FTC_HAVE_TORCH
double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Wall-clock and process CPU seconds (every thread) of fn(), each the median of `repeat` runs.
// On a machine shared with other jobs the CPU time is the steadier figure: core-seconds spent.
struct Timing {
  double wall = 0, cpu = 0;
};
Timing MedianOf(int repeat, const std::function<void()>& fn) {
  std::vector<double> wall, cpu;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = Clock::now();
    const double c0 = CpuSeconds();
    fn();
    cpu.push_back(CpuSeconds() - c0);
    wall.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return {Median(wall), Median(cpu)};
}

// decode_batch of streams [first, first + count) into `out` (count samples).
void DecodeBatch(const std::vector<StreamRef>& refs, size_t first, size_t count,
                 const DecoderOptions& o, Executor* executor, Tensor* out) {
  const std::vector<StreamRef> part(refs.begin() + static_cast<std::ptrdiff_t>(first),
                                    refs.begin() + static_cast<std::ptrdiff_t>(first + count));
  Result<std::vector<Status>> st = decode_batch(part, out, o, executor);
  Check(st.status(), "decode_batch");
  for (const Status& s : *st) Check(s, "decode_batch stream");
}

std::string StrCell(double wall_ms, double cpu_ms) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3f (%.3f)", wall_ms, cpu_ms);
  return buf;
}

void LearnedServer(const Tensor& features, const std::vector<std::string>& units, int64_t n,
                   int repeat, int torch_threads) {
  SetTorchThreads(torch_threads);
  const Shape& fs = features.shape();
  const int64_t have = fs[0], e = fs[1] * fs[2] * fs[3];
  const size_t sample_bytes = static_cast<size_t>(e) * sizeof(float);
  std::unique_ptr<Executor> pool = MakeThreadExecutor(2);
  std::printf(
      "\nms per sample, wall clock (process CPU time, all threads)\n"
      "| unit | samples | decode, 1 call per sample | decode_batch, batch 1 | batch 64 | "
      "speed-up | tail, batch 1 | batch 64 | server (decode + tail), batch 1 | batch 64 | "
      "batch 64 = per-sample decode |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const std::string& dir : units) {
    EncoderOptions eo;
    eo.codec = "learned";
    eo.unit = dir;
    std::vector<Bytes> streams(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const float* x = features.data_as<float>() + (i % have) * e;
      Result<Bytes> b = encode(TensorView::Contiguous(x, DType::kF32, {fs[1], fs[2], fs[3]}), eo);
      Check(b.status(), "encode learned");
      streams[static_cast<size_t>(i)] = std::move(*b);
    }
    std::vector<StreamRef> refs;
    for (const Bytes& b : streams) refs.push_back({b.data(), b.size()});
    DecoderOptions o;
    o.unit = dir;
    Result<SplitModel> tail = SplitModel::LoadTail(dir + "/tail.pt", {-1, {}, 1.0});
    Check(tail.status(), "tail");
    Tensor per_sample = Tensor::Create(DType::kF32, {n, fs[1], fs[2], fs[3]}).value();
    Tensor batched = Tensor::Create(DType::kF32, {n, fs[1], fs[2], fs[3]}).value();
    Tensor one = Tensor::Create(DType::kF32, {1, fs[1], fs[2], fs[3]}).value();
    Tensor chunk = Tensor::Create(DType::kF32, {64, fs[1], fs[2], fs[3]}).value();
    // Warm-up: loads the unit, and the first forward() of a shape is slower.
    DecodeBatch(refs, 0, 1, o, pool.get(), &one);
    DecodeBatch(refs, 0, 64, o, pool.get(), &chunk);
    const Timing decode_1call = MedianOf(repeat, [&] {
      for (int64_t i = 0; i < n; ++i) {
        Result<Tensor> t = decode(streams[static_cast<size_t>(i)], o);
        Check(t.status(), "decode");
        std::memcpy(per_sample.data() + static_cast<size_t>(i) * sample_bytes, t->data(),
                    sample_bytes);
      }
    });
    const Timing batch1 = MedianOf(repeat, [&] {
      for (int64_t i = 0; i < n; ++i)
        DecodeBatch(refs, static_cast<size_t>(i), 1, o, pool.get(), &one);
    });
    const Timing batch64 = MedianOf(repeat, [&] {
      for (int64_t i = 0; i + 64 <= n; i += 64) {
        DecodeBatch(refs, static_cast<size_t>(i), 64, o, pool.get(), &chunk);
        std::memcpy(batched.data() + static_cast<size_t>(i) * sample_bytes, chunk.data(),
                    64 * sample_bytes);
      }
    });
    const Timing tail1 = MedianOf(repeat, [&] {
      for (int64_t i = 0; i < n; ++i) {
        const float* x = per_sample.data_as<float>() + i * e;
        Check(tail->Classify(TensorView::Contiguous(x, DType::kF32, {1, fs[1], fs[2], fs[3]}))
                  .status(),
              "tail");
      }
    });
    const Timing tail64 = MedianOf(repeat, [&] {
      for (int64_t i = 0; i + 64 <= n; i += 64) {
        const float* x = per_sample.data_as<float>() + i * e;
        Check(tail->Classify(TensorView::Contiguous(x, DType::kF32, {64, fs[1], fs[2], fs[3]}))
                  .status(),
              "tail");
      }
    });
    const int64_t n64 = n / 64 * 64;
    const size_t compared = static_cast<size_t>(n64) * sample_bytes;
    double max_diff = 0;
    for (int64_t k = 0; k < n64 * e; ++k) {
      const double d = std::abs(static_cast<double>(per_sample.data_as<float>()[k]) -
                                static_cast<double>(batched.data_as<float>()[k]));
      max_diff = std::max(max_diff, d);
    }
    const bool same = std::memcmp(per_sample.data(), batched.data(), compared) == 0;
    const double ms = 1e3 / static_cast<double>(n), ms64 = 1e3 / static_cast<double>(n64);
    const std::string name = dir.substr(dir.find_last_of('/') + 1);
    // "wall (CPU)" in ms per sample.
    const auto cell = [](const Timing& t, double per) {
      return StrCell(t.wall * per, t.cpu * per);
    };
    std::printf("| %s | %lld | %s | %s | %s | %.1fx | %s | %s | %s | %s | %s |\n", name.c_str(),
                static_cast<long long>(n), cell(decode_1call, ms).c_str(), cell(batch1, ms).c_str(),
                cell(batch64, ms64).c_str(), (decode_1call.wall * ms) / (batch64.wall * ms64),
                cell(tail1, ms).c_str(), cell(tail64, ms64).c_str(),
                cell({batch1.wall + tail1.wall, batch1.cpu + tail1.cpu}, ms).c_str(),
                cell({batch64.wall + tail64.wall, batch64.cpu + tail64.cpu}, ms64).c_str(),
                same ? "bytes identical" : ("max |diff| " + std::to_string(max_diff)).c_str());
  }
}
#endif

int Main(int argc, char** argv) {
  int64_t n = 2048, learned_n = 256;
  int repeat = 5, torch_threads = 2;
  std::vector<std::string> units;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--samples") {
      n = std::atoll(argv[i + 1]);
    } else if (flag == "--repeat") {
      repeat = std::atoi(argv[i + 1]);
    } else if (flag == "--learned-samples") {
      learned_n = std::atoll(argv[i + 1]);
    } else if (flag == "--torch-threads") {
      torch_threads = std::atoi(argv[i + 1]);
    } else if (flag == "--units") {
      const std::string list = argv[i + 1];
      for (size_t a = 0; a <= list.size();) {
        const size_t b = std::min(list.find(',', a), list.size());
        if (b > a) units.push_back(list.substr(a, b - a));
        a = b + 1;
      }
    } else {
      std::fprintf(stderr,
                   "usage: batch_bench [--samples N] [--repeat R] [--learned-samples M] "
                   "[--torch-threads T] [--units DIR,...]\n");
      return 2;
    }
  }
  const Tensor features = bench::LoadFeatures("fmnist_s1_relu");
  if (n > 0) AnsServer(features, n, repeat);
#ifdef FTC_HAVE_TORCH
  if (units.empty()) {
    for (const char* u : {"c4b2", "c8b2", "c16b2", "c32b2"}) {
      units.push_back(std::string(FTC_SOURCE_DIR) + "/data/units/fmnist_resnet_s1_" + u);
    }
  }
  if (learned_n >= 64) LearnedServer(features, units, learned_n, repeat, torch_threads);
#else
  (void)learned_n;
  (void)torch_threads;
  if (!units.empty()) std::fprintf(stderr, "batch_bench: built without libtorch: no learned\n");
#endif
  return 0;
}

}  // namespace
}  // namespace ftc

int main(int argc, char** argv) { return ftc::Main(argc, argv); }

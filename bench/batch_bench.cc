// The server side of split inference: decode_batch of many one-sample streams (ans 4 bits, 3σ;
// the bundled 64×14×14 post-ReLU features, each sample its own stream) into one preallocated
// N×C×H×W f32 tensor, on 1 and 2 threads of the library's executor. Baseline in the same run:
// zstd -1 decompressing each sample's 4-bit quantization indices (one byte each), one thread.
// Prints samples per second, per core, the thread scaling and the ratio to zstd
// (docs/benchmarks.md, "Server decode").
//
//   batch_bench [--samples N] [--repeat R]
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_data.h"
#include "codec/quant/quant.h"
#include "ftcodec/ftcodec.h"

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

int Main(int argc, char** argv) {
  int64_t n = 2048;
  int repeat = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--samples") {
      n = std::atoll(argv[i + 1]);
    } else if (flag == "--repeat") {
      repeat = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: batch_bench [--samples N] [--repeat R]\n");
      return 2;
    }
  }
  const Tensor features = bench::LoadFeatures("fmnist_s1_relu");
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
  return 0;
}

}  // namespace
}  // namespace ftc

int main(int argc, char** argv) { return ftc::Main(argc, argv); }

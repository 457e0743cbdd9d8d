// decode_batch and the library's executor (include/ftcodec/ftcodec.h, "Servers").
#include <cstring>
#include <memory>
#include <vector>

#include "base/parallel.h"
#include "base/status_macros.h"
#include "codec/learned/learned_batch.h"
#include "ftcodec/ftcodec.h"

namespace ftc {
namespace {

class ThreadExecutor : public Executor {
 public:
  explicit ThreadExecutor(int threads) : threads_(threads) {}
  void Run(int64_t count, const std::function<void(int64_t)>& task) override {
    ParallelFor(count, threads_, [&](int64_t i) {
      task(i);
      return Status::Ok();
    }).IgnoreError();
  }

 private:
  int threads_;
};

// One stream into `dst` (one sample of `out`'s shape and dtype).
Status DecodeInto(const StreamRef& stream, const Shape& sample, const DecoderOptions& options,
                  uint8_t* dst, size_t bytes) {
  if (stream.data == nullptr && stream.size > 0) return FTC_INVALID("null stream data");
  FTC_ASSIGN_OR_RETURN(Tensor t, decode(stream.data, stream.size, options));
  Shape got = t.shape();
  if (got.size() == 4 && got[0] == 1) got.erase(got.begin());
  if (got != sample) {
    return FTC_INVALID("the stream holds a %s tensor, the batch takes samples of %s",
                       ShapeToString(t.shape()).c_str(), ShapeToString(sample).c_str());
  }
  if (t.size_bytes() != bytes) return FTC_INTERNAL("decoded sample of %zu bytes", t.size_bytes());
  std::memcpy(dst, t.data(), bytes);
  return Status::Ok();
}

}  // namespace

std::unique_ptr<Executor> MakeThreadExecutor(int threads) {
  return std::make_unique<ThreadExecutor>(threads < 1 ? 1 : threads);
}

Result<std::vector<Status>> decode_batch(const std::vector<StreamRef>& streams, Tensor* out,
                                         const DecoderOptions& options, Executor* executor) {
  if (out == nullptr) return FTC_INVALID("decode_batch: no output tensor");
  const Shape& shape = out->shape();
  if (shape.size() != 4 || shape[0] != static_cast<int64_t>(streams.size())) {
    return FTC_INVALID("decode_batch: the output is %s; it must be N×C×H×W with N = %zu streams",
                       ShapeToString(shape).c_str(), streams.size());
  }
  DecoderOptions one = options;
  one.threads = 1;  // each stream on one thread of the executor
  one.dtype = out->dtype();
  FTC_RETURN_IF_ERROR(one.limits.Validate());
  const Shape sample(shape.begin() + 1, shape.end());
  const size_t bytes = streams.empty() ? 0 : out->size_bytes() / streams.size();
  std::unique_ptr<Executor> own;
  if (executor == nullptr) {
    if (options.threads < 1 || options.threads > 256) {
      return FTC_INVALID("threads %d out of range 1..256", options.threads);
    }
    own = MakeThreadExecutor(options.threads);
    executor = own.get();
  }
  std::vector<Status> status(streams.size());
  uint8_t* base = out->data();
  const auto decode_one = [&](size_t k) {
    uint8_t* dst = base + k * bytes;
    status[k] = CatchExceptions("decode_batch",
                                [&] { return DecodeInto(streams[k], sample, one, dst, bytes); });
    if (!status[k].ok()) std::memset(dst, 0, bytes);
  };
  // Codec learned: the streams' codes are decoded on the executor and restored together, a
  // chunk of samples per forward() of the restoration unit (codec/learned/learned_batch.h);
  // every other stream, and any learned stream that path does not take, decodes on its own.
  std::unique_ptr<learned::BatchRestorer> restorer;
  try {
    if (!streams.empty()) {
      restorer = learned::BatchRestorer::Open(one, SampleShape{sample[0], sample[1], sample[2]},
                                              streams.size());
    }
  } catch (...) {
    restorer.reset();  // out of memory: every stream on its own
  }
  executor->Run(static_cast<int64_t>(streams.size()), [&](int64_t i) {
    const size_t k = static_cast<size_t>(i);
    bool taken = false;
    try {
      taken = restorer && restorer->DecodeCode(k, streams[k]);
    } catch (...) {
      taken = false;
    }
    if (!taken) decode_one(k);
  });
  if (restorer) {
    const std::vector<size_t> failed = restorer->RestoreInto(out, bytes);
    executor->Run(static_cast<int64_t>(failed.size()),
                  [&](int64_t j) { decode_one(failed[static_cast<size_t>(j)]); });
  }
  return status;
}

}  // namespace ftc

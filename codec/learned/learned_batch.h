// decode_batch's path for codec `learned` (codec/core/dec_batch.cc): the inner codes of many
// one-sample learned streams are decoded on the executor's threads, then restored a chunk of
// samples at a time (one forward() of the restoration unit per chunk instead of one per sample).
//
// The path only ever takes streams it can decode completely: a stream that is not one whole
// learned frame of the batch's unit and sample shape, or whose inner code fails to decode, is
// left to the ordinary per-stream decode, which then gives exactly the error `decode` gives.
// A batch runs libtorch's batch kernels (oneDNN for the bundled units' 3×3 convolutions, where one
// small sample runs on the native kernel): a sample may differ from `decode`'s by float rounding,
// within 1e-5 of its largest magnitude (docs/learned.md, "Servers: batched restoration").
#ifndef FTCODEC_CODEC_LEARNED_LEARNED_BATCH_H_
#define FTCODEC_CODEC_LEARNED_LEARNED_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "codec/learned/learned_codec.h"
#include "ftcodec/ftcodec.h"

namespace ftc::learned {

// Samples restored per forward() of the restoration unit: bounds the unit's activations (64
// samples of 64×14×14 f32 are 3.2 MB per layer) while amortising the per-call cost.
inline constexpr int64_t kRestoreChunk = 64;

class BatchRestorer {
 public:
  // For `streams` samples of shape `sample` decoded with `options` (threads 1, dtype set to the
  // output's): nullptr when nothing can be restored together — no unit folder, no loader, options
  // that `decode` refuses, a unit that does not load or is for another sample shape. Every
  // stream then decodes on its own, with its own error.
  static std::unique_ptr<BatchRestorer> Open(const DecoderOptions& options,
                                             const SampleShape& sample, size_t streams);

  // Decodes stream `i`'s code and keeps it for RestoreInto: true if the stream is one whole
  // learned frame of this unit and the batch's sample shape and its code decoded; false
  // otherwise (decode the stream on its own). Any number of threads at once, each its own `i`.
  bool DecodeCode(size_t i, const StreamRef& stream);

  // Restores every kept code into its sample of `out` (N samples of the batch's shape, out's
  // dtype, `sample_bytes` each), at most kRestoreChunk samples per forward(). Returns the streams
  // whose chunk the unit failed on (decode them on their own); runs on the calling thread, with
  // libtorch's intra-op threads.
  std::vector<size_t> RestoreInto(Tensor* out, size_t sample_bytes);

 private:
  BatchRestorer() = default;
  // Restores the codes of streams ids[0..k) into `out`; false if the unit failed.
  bool RestoreChunk(const size_t* ids, size_t k, Tensor* out, size_t sample_bytes);

  DecoderOptions options_;
  SampleShape sample_;
  UnitPtr unit_;
  std::vector<Tensor> codes_;  // per stream: its f32 code (when kept_)
  std::vector<char> kept_;     // per stream: DecodeCode took it (char: one byte per thread)
};

}  // namespace ftc::learned

#endif  // FTCODEC_CODEC_LEARNED_LEARNED_BATCH_H_

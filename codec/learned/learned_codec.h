// Codec `learned`: the steps its encoder (enc_learned.cc) and decoder (dec_learned.cc), frames
// and packets, share — loading a unit, the inner codec's options, reduction and restoration with
// their checks (docs/format.md, "Codec `learned`" and "Learned packets"). Torch-free: the units run
// through the registered loader (codec/learned/learned_unit.h).
#ifndef FTCODEC_CODEC_LEARNED_LEARNED_CODEC_H_
#define FTCODEC_CODEC_LEARNED_LEARNED_CODEC_H_

#include <cstdint>
#include <memory>
#include <string>

#include "codec/core/codec.h"
#include "codec/learned/learned_params.h"
#include "codec/learned/learned_unit.h"

namespace ftc::learned {

using UnitPtr = std::shared_ptr<const LearnedUnitHandle>;

// "8x4x4".
std::string ShapeText(const SampleShape& s);
bool SameShape(const SampleShape& a, const SampleShape& b);

// The registered loader's unit for `dir`: kNotBuiltIn without a loader, else the loader's result.
Result<UnitPtr> LoadUnit(const std::string& dir);

// The inner codec an encode uses: options.inner, or the one the unit was trained for.
std::string InnerName(const EncoderOptions& options, const LearnedUnitHandle& unit);

// The inner codec and its options for one encode (--inner, or what the unit was trained for):
// the code's fixed range [0, 1], one range, mid-point rounding, whole-channel bands; bits (ans)
// or quality (jpeg) from the options with --inner, else the unit's.
struct InnerSetting {
  const CodecEncoder* codec = nullptr;
  uint8_t id = 0;  // kInnerAns or kInnerJpeg
  EncoderOptions options;
};
Result<InnerSetting> ResolveInner(const EncoderOptions& options, const LearnedUnitHandle& unit);

// Runs the reduction unit (loaded from `dir`) on a rank-3 sample: kInvalidArgument if the sample
// is not the unit's split shape; the code is f32 of the unit's code shape (kInternal otherwise).
Status ReduceSample(const LearnedUnitHandle& unit, const std::string& dir, const TensorView& sample,
                    Tensor* code);

// The decoder's unit for a stream with parameters `p` and samples `sample`: kInvalidArgument if
// `dir` is empty (naming --unit and the stream's unit hash), the loader's errors, kUnsupported
// for a different unit ("unit mismatch: ...", both hashes) or other shapes.
Result<UnitPtr> UnitForStream(const std::string& dir, const LearnedParams& p,
                              const SampleShape& sample);

// Runs the restoration unit on a rank-3 f32 code: the f32 features, shaped `sample`
// (kInternal if the unit gives something else).
Status RestoreCode(const LearnedUnitHandle& unit, const std::string& dir, const TensorView& code,
                   const SampleShape& sample, Tensor* features);

}  // namespace ftc::learned

#endif  // FTCODEC_CODEC_LEARNED_LEARNED_CODEC_H_

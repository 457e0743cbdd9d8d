// The learned codec's view of a learned bottleneck unit (docs/format.md, "Codec `learned`").
//
// The codec itself (container parameters, hash check, the inner codec) is torch-free and lives
// in the core library. Running the units needs libtorch: the `ftcodec_torch` component registers
// a loader at start-up (codec/torch/learned_unit.cc), and only then is `learned` in the codec
// table. Tests may register their own loader.
#ifndef FTCODEC_CODEC_LEARNED_LEARNED_UNIT_H_
#define FTCODEC_CODEC_LEARNED_LEARNED_UNIT_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "bitstream/frame.h"
#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace ftc {

using UnitHash = std::array<uint8_t, 16>;  // XXH3-128, canonical (big-endian) byte order

// A loaded unit: a reduction unit (features C×H×W -> code C'×H'×W' in [0,1]) and its
// restoration unit (code -> features C×H×W). Immutable; Reduce/Restore may be called from
// several threads at once.
class LearnedUnitHandle {
 public:
  virtual ~LearnedUnitHandle() = default;
  // Content hash of the unit (both TorchScript files); what a frame records.
  virtual const UnitHash& hash() const = 0;
  virtual SampleShape split_shape() const = 0;  // C,H,W the reduction unit takes
  virtual SampleShape code_shape() const = 0;   // C',H',W' it gives
  // The inner codec the unit was trained for ("ans" or "jpeg") and its setting.
  virtual const std::string& inner() const = 0;
  virtual int bits() const = 0;     // ans
  virtual int quality() const = 0;  // jpeg
  // sample: rank 3 (C,H,W) of split_shape(), any float dtype/strides -> f32 code_shape() tensor
  // with values in [0,1].
  virtual Status Reduce(const TensorView& sample, Tensor* code) const = 0;
  // code: rank 3 f32 of code_shape() -> f32 tensor of split_shape().
  virtual Status Restore(const TensorView& code, Tensor* features) const = 0;
  // `n` codes (n consecutive f32 code_shape() samples) -> `n` consecutive f32 split_shape()
  // samples in `features`: what Restore gives for each code. A unit that can runs them as one
  // batch (the libtorch unit: one forward() over n×C'×H'×W'); this default calls Restore n times.
  virtual Status RestoreBatch(const float* codes, int64_t n, float* features) const;
};

// Loads (or returns a cached) unit from a unit directory. Errors: kIoError (missing files),
// kCorruptData (not a unit), kInvalidArgument.
using LearnedUnitLoader =
    Result<std::shared_ptr<const LearnedUnitHandle>> (*)(const std::string& dir);

// Installs the loader and adds codec `learned` to the codec table. Idempotent; call before any
// encode/decode (static initialisation or the start of main).
void RegisterLearnedUnitLoader(LearnedUnitLoader loader);
// The registered loader, or nullptr.
LearnedUnitLoader GetLearnedUnitLoader();

// "0123…ef": 32 lowercase hex digits.
std::string UnitHashHex(const UnitHash& h);

}  // namespace ftc

#endif  // FTCODEC_CODEC_LEARNED_LEARNED_UNIT_H_

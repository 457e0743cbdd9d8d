// The trainable learned bottleneck: reduction and restoration units (TorchScript modules built
// from source), the straight-through path through the inner codec, and the entropy model.
// Internal to ftcodec_torch (train_bottleneck.cc) and its tests; includes the TorchScript headers.
#ifndef FTCODEC_CODEC_TORCH_BOTTLENECK_MODEL_H_
#define FTCODEC_CODEC_TORCH_BOTTLENECK_MODEL_H_

#include <torch/script.h>

#include <string>
#include <vector>

#include "bitstream/frame.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/status.h"

namespace ftc {

struct BottleneckModel {
  static constexpr int kMixture = 4;  // logistics per channel in the entropy model

  // Fresh units (PyTorch's default initialisation; seed with torch::manual_seed) for features of
  // shape `split`: code channels `channels`, stride 1 or 2. `mean` and `scale` (C values, or
  // undefined for 0 and 1) normalise the features: reduce works on (x − mean) / scale, and
  // restore's output is mapped back (× scale + mean), so that the units see features of unit
  // scale whatever the head's.
  static Result<BottleneckModel> Create(const SampleShape& split, int channels, int stride,
                                        const std::string& inner, int bits, int quality,
                                        const at::Tensor& mean = at::Tensor(),
                                        const at::Tensor& scale = at::Tensor());

  SampleShape split, code;
  std::string inner;  // "ans" | "jpeg"
  int bits = 2, quality = 50;
  torch::jit::Module reduce, restore;
  at::Tensor em_logits, em_means, em_log_scales;  // C'×kMixture each

  int levels() const;  // quantizer levels of the code: 2^bits (ans), 256 (jpeg)
  std::vector<at::Tensor> UnitParameters() const;
  std::vector<at::Tensor> EntropyParameters() const;
  void Train(bool on);  // BatchNorm statistics: batch (on) or running (off)

  at::Tensor Reduce(const at::Tensor& features);  // N×C×H×W -> N×C'×H'×W' in (0,1)
  at::Tensor Restore(const at::Tensor& code);     // N×C'×H'×W' -> N×C×H×W
  // What the inner codec makes of the code (no gradient): ans levels or a JPEG round trip.
  Result<at::Tensor> CodecForward(const at::Tensor& z) const;
  // CodecForward in the forward pass, the identity in the backward pass.
  Result<at::Tensor> QuantizeSte(const at::Tensor& z) const;
  // Bits of each element of a coded tensor (values on the quantizer's levels) under the
  // entropy model; differentiable in the code and in the model's parameters.
  at::Tensor RateBits(const at::Tensor& zq) const;
  // The inner codec's options, as codec `learned` sets them.
  EncoderOptions InnerOptions() const;
};

}  // namespace ftc

#endif  // FTCODEC_CODEC_TORCH_BOTTLENECK_MODEL_H_

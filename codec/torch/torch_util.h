// Helpers shared by the libtorch translation units of ftcodec_torch (torch_adapter.cc,
// learned_unit.cc, train_bottleneck.cc). Includes the TorchScript headers: never include it from
// a public header or from code outside codec/torch.
#ifndef FTCODEC_CODEC_TORCH_TORCH_UTIL_H_
#define FTCODEC_CODEC_TORCH_TORCH_UTIL_H_

#include <torch/script.h>

#include <exception>
#include <string>

#include "ftcodec/status.h"

namespace ftc::torch_internal {

// The line of a libtorch exception that says what went wrong (no backtraces).
std::string Summarize(const std::exception& e);
// "1×64×14×14".
std::string ShapeOf(const at::Tensor& t);
std::string BaseName(const std::string& path);
// Loads a TorchScript file on the CPU in eval mode; errors name the file.
Result<torch::jit::Module> LoadModule(const std::string& path);
// forward(x) in inference mode, returning its tensor output; `what` names the file in errors.
Result<at::Tensor> Forward(const torch::jit::Module& m, const std::string& what,
                           const at::Tensor& x);

}  // namespace ftc::torch_internal

#endif  // FTCODEC_CODEC_TORCH_TORCH_UTIL_H_

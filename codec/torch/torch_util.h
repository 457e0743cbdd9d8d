// Helpers shared by the libtorch translation units of ftcodec_torch (torch_adapter.cc,
// learned_unit.cc, train_bottleneck.cc). Includes the TorchScript headers: never include it from
// a public header or from code outside codec/torch.
#ifndef FTCODEC_CODEC_TORCH_TORCH_UTIL_H_
#define FTCODEC_CODEC_TORCH_TORCH_UTIL_H_

#include <torch/script.h>

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "ftcodec/status.h"

namespace ftc::torch_internal {

// The line of a libtorch exception that says what went wrong (no backtraces).
std::string Summarize(const std::exception& e);
// "1×64×14×14".
std::string ShapeOf(const at::Tensor& t);
std::string BaseName(const std::string& path);
// The largest TorchScript file ftcodec reads (a unit or model file is a few MB).
inline constexpr int64_t kMaxModelFileBytes = int64_t{1} << 28;
// Reads a model file as untrusted input: a regular file only (kCorruptData for a directory,
// device or FIFO, also behind a symlink), at most kMaxModelFileBytes (kLimitExceeded, checked
// before reading), kIoError if it is missing or unreadable. Errors name the file.
Result<std::vector<uint8_t>> ReadModelFile(const std::string& path);
// Loads a TorchScript module from a file's bytes (`path` names it in errors) on the CPU in eval
// mode.
Result<torch::jit::Module> LoadModuleFromBytes(const std::vector<uint8_t>& bytes,
                                               const std::string& path);
// ReadModelFile, then LoadModuleFromBytes.
Result<torch::jit::Module> LoadModule(const std::string& path);
// forward(x) in inference mode, returning its tensor output; `what` names the file in errors.
Result<at::Tensor> Forward(const torch::jit::Module& m, const std::string& what,
                           const at::Tensor& x);

}  // namespace ftc::torch_internal

#endif  // FTCODEC_CODEC_TORCH_TORCH_UTIL_H_

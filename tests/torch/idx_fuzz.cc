// Fuzz target: the IDX parser of `ftcodec bench --data` (bench/harness/fmnist_idx.h). Built with
// the libtorch component (tests/torch/CMakeLists.txt); a corpus runner under ctest otherwise.
#include <cstdint>
#include <cstdlib>

#include "bench/harness/fmnist_idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ftc::Result<ftc::Tensor> t = ftc::bench::ParseIdx(data, size, "fuzz input");
  if (t.ok() && t->size_bytes() > size) std::abort();  // the data must have been in the input
  return 0;
}

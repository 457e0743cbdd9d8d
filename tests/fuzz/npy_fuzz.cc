// Fuzz target for the .npy readers. Any input must give an error or a tensor, never a crash; a
// tensor must survive WriteNpy -> ReadNpy unchanged (bit for bit), and writing it again must give
// the same bytes (the writer is deterministic).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ftcodec/npy.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "npy_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ftc::NpyLimits limits;
  limits.max_elements = int64_t{1} << 24;  // keep the fuzzer's memory use bounded
  // The integer reader (labels) shares the header parser: the same header gives the same shape.
  auto ints = ftc::ReadNpyIntegers(data, size, limits);
  Check(ints.ok() || !ints.status().message().empty(), "integer reader: error without a message");
  if (ints.ok()) {
    int64_t n = 1;
    for (int64_t d : ints->shape) n *= d;
    Check(static_cast<int64_t>(ints->values.size()) == n, "integer reader: count != shape");
  }
  auto first = ftc::ReadNpy(data, size, limits);
  if (!first.ok()) {
    Check(!first.status().message().empty(), "error without a message");
    return 0;
  }
  const ftc::Tensor& t = first->tensor;
  auto bytes = ftc::WriteNpy(t.view());
  Check(bytes.ok(), "WriteNpy failed on a tensor ReadNpy produced");
  auto second = ftc::ReadNpy(bytes->data(), bytes->size(), limits);
  Check(second.ok(), "ReadNpy failed on WriteNpy output");
  const ftc::Tensor& u = second->tensor;
  Check(u.dtype() == t.dtype(), "dtype changed in the round trip");
  Check(u.shape() == t.shape(), "shape changed in the round trip");
  Check(u.size_bytes() == t.size_bytes() && std::memcmp(u.data(), t.data(), t.size_bytes()) == 0,
        "data changed in the round trip");
  Check(!second->converted_from_f64 && !second->was_fortran_order, "flags set on our own output");
  auto again = ftc::WriteNpy(u.view());
  Check(again.ok() && *again == *bytes, "WriteNpy is not deterministic");
  return 0;
}

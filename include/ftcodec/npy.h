// ftcodec — NumPy .npy reading and writing.
#ifndef FTCODEC_NPY_H_
#define FTCODEC_NPY_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace ftc {

struct NpyArray {
  Tensor tensor;
  bool converted_from_f64 = false;  // the file held <f8/>f8, converted to f32 (rounded)
  bool was_fortran_order = false;   // the file was Fortran-ordered (now C order)
};

// Limits applied before any allocation.
struct NpyLimits {
  int64_t max_elements = int64_t{1} << 32;
  size_t max_header_bytes = 1 << 20;
};

// Parses .npy bytes: versions 1.0/2.0/3.0; dtypes <f2 <f4 <f8 >f2 >f4 >f8 |u1 (also "<u1",
// ">u1"); C or Fortran order (converted to C order); rank 1..4 with every dimension >= 1 (0-d and
// empty arrays are refused). f2 stays f16 bit for bit, f8 is rounded to f32. The data must be
// exactly as long as the shape says. Errors (kCorruptData, kUnsupported, kLimitExceeded) name
// the problem, e.g. "npy: unsupported dtype '<c8' (complex)".
Result<NpyArray> ReadNpy(const uint8_t* data, size_t size, const NpyLimits& limits = {});

// Integers from a .npy (class labels, indices), in C order.
struct NpyIntegers {
  std::vector<int64_t> values;
  Shape shape;
};

// Parses a .npy of integers: dtypes i1 i2 i4 i8 u1 u2 u4 u8 in either byte order, or floats (f2
// f4 f8) that hold whole numbers; C or Fortran order; rank 1..4, as ReadNpy. A value that is not
// a whole number, or a u8 value above 2^63 - 1, is kCorruptData naming it and its index.
Result<NpyIntegers> ReadNpyIntegers(const uint8_t* data, size_t size, const NpyLimits& limits = {});

// Writes a C-ordered .npy (version 1.0, or 2.0 when the header needs it) in the tensor's dtype;
// bf16 has no NumPy dtype and is written as <f4.
Result<std::vector<uint8_t>> WriteNpy(const TensorView& view);

}  // namespace ftc

#endif  // FTCODEC_NPY_H_

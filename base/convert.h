// Bulk dtype conversions of contiguous arrays: the hot loops of raw coding, GatherF32 and
// Tensor::ConvertTo. Highway (dynamic dispatch, base/convert.cc); element for element the same
// as F32ToF16 / F16ToF32 / F32ToBF16 / BF16ToF32 (include/ftcodec/tensor.h) on every target;
// pointers need no alignment (16-bit values are read and written little-endian, as stored).
#ifndef FTCODEC_BASE_CONVERT_H_
#define FTCODEC_BASE_CONVERT_H_

#include <cstddef>
#include <cstdint>

namespace ftc {

void ConvertF32ToF16(const float* in, size_t n, uint8_t* out);
void ConvertF32ToBF16(const float* in, size_t n, uint8_t* out);
void ConvertF16ToF32(const uint8_t* in, size_t n, float* out);
void ConvertBF16ToF32(const uint8_t* in, size_t n, float* out);
// The target the conversions dispatch to (tests).
int64_t ConvertDispatchTargetForTest();

}  // namespace ftc

#endif  // FTCODEC_BASE_CONVERT_H_

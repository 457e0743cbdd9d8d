// ftcodec — tensors: the owning Tensor and the non-owning, possibly strided TensorView.
// Layout conventions: 4-D is N,C,H,W; 3-D is C,H,W; 2-D is H,W; 1-D is W.
#ifndef FTCODEC_TENSOR_H_
#define FTCODEC_TENSOR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ftcodec/status.h"

namespace ftc {

enum class DType : uint8_t { kF32 = 0, kF16 = 1, kBF16 = 2, kU8 = 3 };

constexpr int kMaxRank = 4;

size_t DTypeSize(DType t);
const char* DTypeName(DType t);  // "f32", "f16", "bf16", "u8"
// Parses "f32" | "f16" | "bf16" | "u8".
Result<DType> ParseDType(const std::string& name);

// IEEE binary16 / bfloat16 conversions. From f32 they round to nearest, ties to even; values
// representable in the target are converted exactly; NaN stays NaN (quiet), Inf stays Inf.
uint16_t F32ToF16(float f);
float F16ToF32(uint16_t h);
uint16_t F32ToBF16(float f);
float BF16ToF32(uint16_t b);

using Shape = std::vector<int64_t>;
std::string ShapeToString(const Shape& shape);  // "2x64x14x14"

// A non-owning view of a tensor. Strides are in elements (not bytes) and may be any
// non-negative values (zero strides broadcast). The viewed memory must outlive the view.
struct TensorView {
  const void* data = nullptr;
  DType dtype = DType::kF32;
  int rank = 0;
  std::array<int64_t, kMaxRank> shape{};
  std::array<int64_t, kMaxRank> strides{};  // elements

  // A C-contiguous view of `shape`.
  static TensorView Contiguous(const void* data, DType dtype, const Shape& shape);
  // A view with explicit strides (in elements).
  static TensorView Strided(const void* data, DType dtype, const Shape& shape,
                            const Shape& strides);

  int64_t num_elements() const;
  bool is_contiguous() const;
  Shape shape_vector() const { return Shape(shape.begin(), shape.begin() + rank); }
  // Checks rank 1..4, non-negative dims and strides, no element count overflow.
  Status Validate() const;
  // Byte address of the element at a flat C-order index (honours strides).
  const uint8_t* element_ptr(int64_t flat_index) const;
};

// An owning, C-contiguous tensor.
class Tensor {
 public:
  Tensor() = default;
  // Allocates a zero-filled tensor; validates rank and sizes.
  static Result<Tensor> Create(DType dtype, const Shape& shape);
  // Copies (and compacts) any view.
  static Result<Tensor> CopyOf(const TensorView& view);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t num_elements() const;
  size_t size_bytes() const { return bytes_.size(); }
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  template <typename T>
  T* data_as() {
    return reinterpret_cast<T*>(bytes_.data());
  }
  template <typename T>
  const T* data_as() const {
    return reinterpret_cast<const T*>(bytes_.data());
  }
  TensorView view() const;
  // Converts to another dtype: f32/f16/bf16 among themselves round to nearest even;
  // to u8 rounds to nearest and saturates to [0, 255] (NaN -> 0).
  Tensor ConvertTo(DType to) const;
  // Same data, new shape with the same element count.
  Status Reshape(const Shape& shape);

 private:
  DType dtype_ = DType::kF32;
  Shape shape_;
  std::vector<uint8_t> bytes_;
};

// Reads element `i` (flat C-order index into the view) as float.
float LoadAsFloat(const TensorView& v, int64_t i);
// Copies `count` elements starting at flat C-order index `first` of `v` into `out` as f32.
void GatherF32(const TensorView& v, int64_t first, int64_t count, float* out);

}  // namespace ftc

#endif  // FTCODEC_TENSOR_H_

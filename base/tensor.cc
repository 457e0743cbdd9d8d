#include "ftcodec/tensor.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "base/convert.h"
#include "base/status_macros.h"

namespace ftc {

size_t DTypeSize(DType t) {
  switch (t) {
    case DType::kF32:
      return 4;
    case DType::kF16:
      return 2;
    case DType::kBF16:
      return 2;
    case DType::kU8:
      return 1;
  }
  return 0;
}

const char* DTypeName(DType t) {
  switch (t) {
    case DType::kF32:
      return "f32";
    case DType::kF16:
      return "f16";
    case DType::kBF16:
      return "bf16";
    case DType::kU8:
      return "u8";
  }
  return "?";
}

Result<DType> ParseDType(const std::string& name) {
  if (name == "f32") return DType::kF32;
  if (name == "f16") return DType::kF16;
  if (name == "bf16") return DType::kBF16;
  if (name == "u8") return DType::kU8;
  return FTC_INVALID("unknown dtype '%s' (expected f32, f16, bf16 or u8)",
                     ErrorToken(name).c_str());
}

static uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
static float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t F32ToF16(float f) {
  const uint32_t x = FloatBits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // Inf or NaN
    if (abs == 0x7F800000u) return static_cast<uint16_t>(sign | 0x7C00u);
    // NaN: keep the top payload bits, force quiet.
    return static_cast<uint16_t>(sign | 0x7E00u | ((abs >> 13) & 0x3FFu));
  }
  if (abs >= 0x477FF000u) {  // >= 65520: rounds to Inf
    return static_cast<uint16_t>(sign | 0x7C00u);
  }
  if (abs < 0x38800000u) {  // below the smallest normal half (2^-14): subnormal or zero
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // < 2^-25: rounds to 0 (ties too)
    const uint32_t exp = abs >> 23;
    const uint32_t mant = (abs & 0x7FFFFFu) | 0x800000u;
    const uint32_t shift = 126 - exp;  // mant * 2^(exp-150) / 2^-24 = mant >> (126 - exp)
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  // Normal: rebias exponent (127 -> 15) and round the mantissa to 10 bits, ties to even.
  uint32_t h = ((abs - 0x38000000u) >> 13);
  const uint32_t rem = abs & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // carry may bump the exponent: fine
  return static_cast<uint16_t>(sign | h);
}

float F16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (exp == 0) {
    if (mant == 0) return BitsFloat(sign);
    // Subnormal: value = mant * 2^-24, exactly representable in f32.
    float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  if (exp == 31) return BitsFloat(sign | 0x7F800000u | (mant << 13));
  return BitsFloat(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t F32ToBF16(float f) {
  const uint32_t x = FloatBits(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) {  // NaN: keep sign and top payload, force quiet
    return static_cast<uint16_t>((x >> 16) | 0x0040u);
  }
  const uint32_t lsb = (x >> 16) & 1u;
  return static_cast<uint16_t>((x + 0x7FFFu + lsb) >> 16);
}

float BF16ToF32(uint16_t b) { return BitsFloat(static_cast<uint32_t>(b) << 16); }

std::string ShapeToString(const Shape& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

TensorView TensorView::Contiguous(const void* data, DType dtype, const Shape& shape) {
  TensorView v;
  v.data = data;
  v.dtype = dtype;
  v.rank = static_cast<int>(shape.size() > kMaxRank ? kMaxRank + 1 : shape.size());
  if (v.rank > kMaxRank) return v;  // Validate() reports it
  int64_t stride = 1;
  for (int i = v.rank - 1; i >= 0; --i) {
    v.shape[i] = shape[i];
    v.strides[i] = stride;
    stride *= shape[i] > 0 ? shape[i] : 1;
  }
  return v;
}

TensorView TensorView::Strided(const void* data, DType dtype, const Shape& shape,
                               const Shape& strides) {
  TensorView v = Contiguous(data, dtype, shape);
  if (v.rank <= kMaxRank && strides.size() == shape.size()) {
    for (int i = 0; i < v.rank; ++i) v.strides[i] = strides[i];
  } else {
    v.strides[0] = -1;  // Validate() reports the mismatch
  }
  return v;
}

int64_t TensorView::num_elements() const {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) n *= shape[i];
  return n;
}

bool TensorView::is_contiguous() const {
  int64_t stride = 1;
  for (int i = rank - 1; i >= 0; --i) {
    if (shape[i] != 1 && strides[i] != stride) return false;
    stride *= shape[i];
  }
  return true;
}

Status TensorView::Validate() const {
  if (rank < 1 || rank > kMaxRank) {
    return FTC_INVALID("tensor rank %d is not supported (1 to %d)", rank, kMaxRank);
  }
  if (data == nullptr) return FTC_INVALID("tensor data pointer is null");
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) {
    if (shape[i] <= 0) {
      return FTC_INVALID("tensor dimension %d is %lld: every dimension must be >= 1", i,
                         static_cast<long long>(shape[i]));
    }
    if (strides[i] < 0) return FTC_INVALID("tensor stride %d is negative or missing", i);
    if (n > (int64_t{1} << 48) / shape[i]) {
      return FTC_LIMIT("tensor of shape %s has too many elements",
                       ShapeToString(shape_vector()).c_str());
    }
    n *= shape[i];
  }
  return Status::Ok();
}

const uint8_t* TensorView::element_ptr(int64_t flat_index) const {
  int64_t offset = 0;
  for (int i = rank - 1; i >= 0; --i) {
    const int64_t idx = flat_index % shape[i];
    flat_index /= shape[i];
    offset += idx * strides[i];
  }
  return static_cast<const uint8_t*>(data) + offset * static_cast<int64_t>(DTypeSize(dtype));
}

Result<Tensor> Tensor::Create(DType dtype, const Shape& shape) {
  if (shape.empty() || shape.size() > static_cast<size_t>(kMaxRank)) {
    return FTC_INVALID("tensor rank %zu is not supported (1 to %d)", shape.size(), kMaxRank);
  }
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] <= 0) {
      return FTC_INVALID("tensor dimension %zu is %lld: every dimension must be >= 1", i,
                         static_cast<long long>(shape[i]));
    }
    if (n > (int64_t{1} << 40) / shape[i]) {
      return FTC_LIMIT("tensor of shape %s has too many elements", ShapeToString(shape).c_str());
    }
    n *= shape[i];
  }
  return CatchExceptions("tensor", [&]() -> Result<Tensor> {
    Tensor t;
    t.dtype_ = dtype;
    t.shape_ = shape;
    t.bytes_.assign(static_cast<size_t>(n) * DTypeSize(dtype), 0);
    return t;
  });
}

Result<Tensor> Tensor::CopyOf(const TensorView& view) {
  FTC_RETURN_IF_ERROR(view.Validate());
  FTC_ASSIGN_OR_RETURN(Tensor t, Create(view.dtype, view.shape_vector()));
  const size_t es = DTypeSize(view.dtype);
  if (view.is_contiguous()) {
    std::memcpy(t.bytes_.data(), view.data, t.bytes_.size());
    return t;
  }
  // Walk the innermost dimension as a run.
  const int r = view.rank;
  const int64_t inner = view.shape[r - 1];
  const int64_t outer = view.num_elements() / inner;
  uint8_t* dst = t.bytes_.data();
  for (int64_t o = 0; o < outer; ++o) {
    const uint8_t* src = view.element_ptr(o * inner);
    const int64_t step = view.strides[r - 1] * static_cast<int64_t>(es);
    for (int64_t i = 0; i < inner; ++i) {
      std::memcpy(dst, src + i * step, es);
      dst += es;
    }
  }
  return t;
}

int64_t Tensor::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return shape_.empty() ? 0 : n;
}

TensorView Tensor::view() const { return TensorView::Contiguous(bytes_.data(), dtype_, shape_); }

Status Tensor::Reshape(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (shape.empty() || shape.size() > static_cast<size_t>(kMaxRank) || n != num_elements()) {
    return FTC_INVALID("cannot reshape %s to %s", ShapeToString(shape_).c_str(),
                       ShapeToString(shape).c_str());
  }
  shape_ = shape;
  return Status::Ok();
}

float LoadAsFloat(const TensorView& v, int64_t i) {
  const uint8_t* p = v.element_ptr(i);
  switch (v.dtype) {
    case DType::kF32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case DType::kF16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return F16ToF32(h);
    }
    case DType::kBF16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return BF16ToF32(h);
    }
    case DType::kU8:
      return static_cast<float>(*p);
  }
  return 0.0f;
}

void GatherF32(const TensorView& v, int64_t first, int64_t count, float* out) {
  if (v.is_contiguous()) {
    const uint8_t* p = static_cast<const uint8_t*>(v.data) + first * DTypeSize(v.dtype);
    const size_t n = static_cast<size_t>(count);
    switch (v.dtype) {
      case DType::kF32:
        std::memcpy(out, p, n * 4);
        return;
      case DType::kF16:
        ConvertF16ToF32(p, n, out);
        return;
      case DType::kBF16:
        ConvertBF16ToF32(p, n, out);
        return;
      case DType::kU8:
        break;
    }
  }
  for (int64_t i = 0; i < count; ++i) out[i] = LoadAsFloat(v, first + i);
}

static void StoreFromFloat(DType t, float f, uint8_t* p) {
  switch (t) {
    case DType::kF32:
      std::memcpy(p, &f, 4);
      break;
    case DType::kF16: {
      uint16_t h = F32ToF16(f);
      std::memcpy(p, &h, 2);
      break;
    }
    case DType::kBF16: {
      uint16_t h = F32ToBF16(f);
      std::memcpy(p, &h, 2);
      break;
    }
    case DType::kU8: {
      float r = std::nearbyint(f);
      *p = std::isnan(f) ? 0 : r <= 0.0f ? 0 : r >= 255.0f ? 255 : static_cast<uint8_t>(r);
      break;
    }
  }
}

Tensor Tensor::ConvertTo(DType to) const {
  if (to == dtype_) return *this;
  Tensor out;
  out.dtype_ = to;
  out.shape_ = shape_;
  const int64_t n = num_elements();
  out.bytes_.resize(static_cast<size_t>(n) * DTypeSize(to));
  const size_t count = static_cast<size_t>(n);
  // The common conversions in one tight loop each.
  if (dtype_ == DType::kF32 && (to == DType::kF16 || to == DType::kBF16)) {
    (to == DType::kF16 ? ConvertF32ToF16 : ConvertF32ToBF16)(data_as<float>(), count,
                                                             out.bytes_.data());
    return out;
  }
  if (to == DType::kF32 && (dtype_ == DType::kF16 || dtype_ == DType::kBF16)) {
    (dtype_ == DType::kF16 ? ConvertF16ToF32 : ConvertBF16ToF32)(bytes_.data(), count,
                                                                 out.data_as<float>());
    return out;
  }
  const TensorView v = view();
  const size_t es = DTypeSize(to);
  for (int64_t i = 0; i < n; ++i) StoreFromFloat(to, LoadAsFloat(v, i), &out.bytes_[i * es]);
  return out;
}

}  // namespace ftc

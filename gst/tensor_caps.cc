#include "gst/tensor_caps.h"

#include <cstdlib>
#include <sstream>
#include <vector>

namespace ftc::gst {
namespace {

Status Invalid(const std::string& m) { return Status(StatusCode::kInvalidArgument, m); }

Result<std::vector<int64_t>> SplitDims(const std::string& dims) {
  std::vector<int64_t> out;
  size_t start = 0;
  while (true) {
    const size_t colon = dims.find(':', start);
    const std::string part = dims.substr(start, colon == std::string::npos ? colon : colon - start);
    if (part.empty() || part.size() > 10 ||
        part.find_first_not_of("0123456789") != std::string::npos) {
      return Invalid("dims '" + dims + "': '" + part + "' is not a dimension");
    }
    const int64_t v = std::strtoll(part.c_str(), nullptr, 10);
    if (v < 1 || v > 0x7fffffff) {
      return Invalid("dims '" + dims + "': dimension " + part + " is not 1 to 2^31 - 1");
    }
    out.push_back(v);
    if (colon == std::string::npos) break;
    start = colon + 1;
    if (out.size() > 16) return Invalid("dims '" + dims + "': too many dimensions");
  }
  return out;
}

Result<Shape> SampleShape(std::vector<int64_t> dims, const std::string& text) {
  while (dims.size() > 3 && dims.front() == 1) dims.erase(dims.begin());
  if (dims.size() > 3) {
    return Invalid("dims '" + text + "': a sample has at most 3 dimensions (C:H:W)");
  }
  int64_t n = 1;
  for (int64_t d : dims) {
    if (n > (int64_t{1} << 40) / d) return Invalid("dims '" + text + "': too many elements");
    n *= d;
  }
  return Shape(dims.begin(), dims.end());
}

}  // namespace

size_t SampleFormat::bytes() const {
  size_t n = DTypeSize(dtype);
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

const char* TypeName(DType t) {
  switch (t) {
    case DType::kF32:
      return "float32";
    case DType::kF16:
      return "float16";
    case DType::kU8:
      return "uint8";
    default:
      return "bfloat16";
  }
}

Result<DType> ParseTypeName(const std::string& name) {
  if (name == "float32") return DType::kF32;
  if (name == "float16") return DType::kF16;
  if (name == "uint8") return DType::kU8;
  return Invalid("type '" + name + "' is not float32, float16 or uint8");
}

Result<Shape> ParseDims(const std::string& dims) {
  Result<std::vector<int64_t>> d = SplitDims(dims);
  if (!d.ok()) return d.status();
  return SampleShape(std::move(d).value(), dims);
}

std::string DimsString(const Shape& shape) {
  std::ostringstream s;
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ":" : "") << shape[i];
  return s.str();
}

Result<Shape> ParseNnsDims(const std::string& dims) {
  Result<std::vector<int64_t>> d = SplitDims(dims);
  if (!d.ok()) return d.status();
  std::vector<int64_t> outer_first(d->rbegin(), d->rend());
  return SampleShape(std::move(outer_first), dims);
}

Result<SampleFormat> ParseSampleCaps(const GstCaps* caps) {
  if (caps == nullptr || gst_caps_get_size(caps) != 1) return Invalid("caps are not fixed");
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  SampleFormat f;
  if (gst_structure_has_name(s, FTC_TENSOR_CAPS_NAME)) {
    const char* type = gst_structure_get_string(s, "type");
    const char* dims = gst_structure_get_string(s, "dims");
    if (type == nullptr || dims == nullptr) {
      return Invalid(FTC_TENSOR_CAPS_NAME " caps need the string fields type and dims");
    }
    Result<DType> t = ParseTypeName(type);
    if (!t.ok()) return t.status();
    Result<Shape> shape = ParseDims(dims);
    if (!shape.ok()) return shape.status();
    f.dtype = *t;
    f.shape = *shape;
    return f;
  }
  if (gst_structure_has_name(s, "other/tensors")) {
    const char* format = gst_structure_get_string(s, "format");
    int num = 0;
    const char* types = gst_structure_get_string(s, "types");
    const char* dims = gst_structure_get_string(s, "dimensions");
    if (format == nullptr || std::string(format) != "static") {
      return Invalid("other/tensors caps: only format=static is supported");
    }
    if (!gst_structure_get_int(s, "num_tensors", &num) || num != 1) {
      return Invalid("other/tensors caps: num_tensors must be 1");
    }
    if (types == nullptr || std::string(types) != "float32") {
      return Invalid("other/tensors caps: types must be float32");
    }
    if (dims == nullptr) return Invalid("other/tensors caps: no dimensions");
    Result<Shape> shape = ParseNnsDims(dims);
    if (!shape.ok()) return shape.status();
    f.dtype = DType::kF32;
    f.shape = *shape;
    return f;
  }
  return Invalid(std::string("unexpected caps ") + gst_structure_get_name(s));
}

GstCaps* MakeTensorCaps(const SampleFormat& format, int rate_n, int rate_d) {
  GstCaps* caps =
      gst_caps_new_simple(FTC_TENSOR_CAPS_NAME, "type", G_TYPE_STRING, TypeName(format.dtype),
                          "dims", G_TYPE_STRING, DimsString(format.shape).c_str(), nullptr);
  if (rate_n > 0) {
    gst_caps_set_simple(caps, "framerate", GST_TYPE_FRACTION, rate_n, rate_d, nullptr);
  }
  return caps;
}

}  // namespace ftc::gst

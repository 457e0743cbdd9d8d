// The tensor media types of the GStreamer elements (docs/rtp.md, "Elements"):
//   application/x-ftc-tensor, type=(string){float32,float16,uint8}, dims=(string)"C:H:W"
// (one sample per buffer, dims outermost first, colon separated, C order), and NNStreamer's
//   other/tensors, format=static, num_tensors=1, types=float32, dimensions=W:H:C:1
// (dims innermost first).
#ifndef FTCODEC_GST_TENSOR_CAPS_H_
#define FTCODEC_GST_TENSOR_CAPS_H_

#include <gst/gst.h>

#include <string>

#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace ftc::gst {

#define FTC_TENSOR_CAPS_NAME "application/x-ftc-tensor"
#define FTC_PACKETS_CAPS_NAME "application/x-ftc-packets"

// One sample's type and shape.
struct SampleFormat {
  DType dtype = DType::kF32;
  Shape shape;  // rank 1..3
  size_t bytes() const;
  bool operator==(const SampleFormat& o) const { return dtype == o.dtype && shape == o.shape; }
};

// "float32", "float16", "uint8" (bf16 has no name here).
const char* TypeName(DType t);
Result<DType> ParseTypeName(const std::string& name);
// "64:14:14" <-> {64, 14, 14}: 1 to 3 dims (a 4th outermost dim of 1 is dropped), each 1 to
// 2^31 − 1.
Result<Shape> ParseDims(const std::string& dims);
std::string DimsString(const Shape& shape);
// NNStreamer's innermost-first dimensions ("14:14:64:1") to a sample shape ({64, 14, 14}):
// leading (outermost) dims of 1 are dropped down to 3 dims.
Result<Shape> ParseNnsDims(const std::string& dims);

// Reads either media type; kInvalidArgument naming what is wrong.
Result<SampleFormat> ParseSampleCaps(const GstCaps* caps);
// application/x-ftc-tensor caps of a format; framerate when rate_n > 0.
GstCaps* MakeTensorCaps(const SampleFormat& format, int rate_n, int rate_d);

}  // namespace ftc::gst

#endif  // FTCODEC_GST_TENSOR_CAPS_H_

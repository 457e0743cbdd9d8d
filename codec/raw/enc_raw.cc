// Codec `raw` (docs/format.md, "Codec raw"), encoder half: the sample's elements,
// uncompressed, in the input dtype or a requested float dtype.
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "base/convert.h"
#include "base/status_macros.h"
#include "codec/core/codec.h"

namespace ftc {
namespace {

constexpr uint8_t kDataSection = 1;  // docs/format.md, "Codec raw"

DType StoredDType(const EncoderOptions& o, DType input) {
  return o.store_dtype ? *o.store_dtype : input;
}

Status RawCheckOptions(const EncoderOptions& o, DType input) {
  const DType stored = StoredDType(o, input);
  if (stored == DType::kU8 && input != DType::kU8) {
    return FTC_INVALID("--dtype u8 cannot store a %s tensor (u8 is only kept for u8 input)",
                       DTypeName(input));
  }
  return Status::Ok();
}

void StoreElement(DType to, const uint8_t* src, DType from, uint8_t* dst) {
  if (to == from) {
    std::memcpy(dst, src, DTypeSize(to));
    return;
  }
  float f;
  switch (from) {
    case DType::kF32:
      std::memcpy(&f, src, 4);
      break;
    case DType::kF16:
      f = F16ToF32(static_cast<uint16_t>(src[0] | (src[1] << 8)));
      break;
    case DType::kBF16:
      f = BF16ToF32(static_cast<uint16_t>(src[0] | (src[1] << 8)));
      break;
    case DType::kU8:
      f = static_cast<float>(src[0]);
      break;
  }
  switch (to) {
    case DType::kF32:
      std::memcpy(dst, &f, 4);
      break;
    case DType::kF16: {
      uint16_t h = F32ToF16(f);
      std::memcpy(dst, &h, 2);
      break;
    }
    case DType::kBF16: {
      uint16_t h = F32ToBF16(f);
      std::memcpy(dst, &h, 2);
      break;
    }
    case DType::kU8:
      dst[0] = src[0];
      break;  // only u8 -> u8, handled above
  }
}

Status RawEncode(const TensorView& sample, const EncoderOptions& o, CodecEncodeOutput* out) {
  const DType stored = StoredDType(o, sample.dtype);
  out->params = {static_cast<uint8_t>(stored)};
  Section s;
  s.kind = kDataSection;
  const int64_t n = sample.num_elements();
  const size_t es = DTypeSize(stored);
  s.payload.resize(static_cast<size_t>(n) * es);
  // Host byte order is little-endian on every supported platform (checked at build time).
  if (stored == sample.dtype && sample.is_contiguous()) {
    std::memcpy(s.payload.data(), sample.data, s.payload.size());
  } else if (sample.dtype == DType::kF32 && sample.is_contiguous() &&
             (stored == DType::kF16 || stored == DType::kBF16)) {
    (stored == DType::kF16 ? ConvertF32ToF16 : ConvertF32ToBF16)(
        static_cast<const float*>(sample.data), static_cast<size_t>(n), s.payload.data());
  } else {
    for (int64_t i = 0; i < n; ++i) {
      StoreElement(stored, sample.element_ptr(i), sample.dtype, &s.payload[i * es]);
    }
  }
  out->sections.push_back(std::move(s));
  return Status::Ok();
}

// Packet mode: a band is its elements as stored, a packet's data section the bands in order.
class RawBandSample : public BandSample {
 public:
  RawBandSample(DType stored, std::vector<uint8_t> bytes)
      : stored_(stored), bytes_(std::move(bytes)) {}
  Status WriteParams(uint32_t, std::vector<uint8_t>* out) const override {
    *out = {static_cast<uint8_t>(stored_)};
    return Status::Ok();
  }
  Status CodeBands(const BandLayout& layout, const std::vector<uint32_t>& bands,
                   const SymbolModel* /*shared*/, std::vector<Section>* out) const override {
    const size_t es = DTypeSize(stored_);
    Section s;
    s.kind = kDataSection;
    for (uint32_t b : bands) {
      const uint8_t* p = bytes_.data() + static_cast<size_t>(layout.offset(b)) * es;
      s.payload.insert(s.payload.end(), p, p + static_cast<size_t>(layout.elements(b)) * es);
    }
    out->assign(1, std::move(s));
    return Status::Ok();
  }

 private:
  DType stored_;
  std::vector<uint8_t> bytes_;  // every element in C order, as stored
};

class RawBandEncoder : public BandEncoder {
 public:
  explicit RawBandEncoder(const EncoderOptions& o) : options_(o) {}
  SampleShape Coded(const SampleShape& sample) const override { return sample; }
  Result<std::unique_ptr<BandSample>> Prepare(const TensorView& sample) const override {
    CodecEncodeOutput out;
    FTC_RETURN_IF_ERROR(RawEncode(sample, options_, &out));
    return std::unique_ptr<BandSample>(
        new RawBandSample(static_cast<DType>(out.params[0]), std::move(out.sections[0].payload)));
  }

 private:
  EncoderOptions options_;
};

Result<std::unique_ptr<BandEncoder>> RawBandEncoderFor(const EncoderOptions& o, DType input) {
  FTC_RETURN_IF_ERROR(RawCheckOptions(o, input));
  return std::unique_ptr<BandEncoder>(new RawBandEncoder(o));
}

}  // namespace

extern const CodecEncoder kRawEncoder = {
    0, "raw", RawCheckOptions, RawEncode, RawBandEncoderFor, nullptr};

}  // namespace ftc

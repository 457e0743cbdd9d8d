// Codec `raw` (docs/format.md, "Codec raw"), decoder half.
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "base/status_macros.h"
#include "codec/core/codec.h"

namespace ftc {
namespace {

constexpr uint8_t kDataSection = 1;  // docs/format.md, "Codec raw"

Result<DType> ParseParams(const ParsedFrame& f) {
  if (f.header.params.size() != 1) {
    return FTC_CORRUPT("raw: codec parameters are %zu bytes, expected 1", f.header.params.size());
  }
  const uint8_t stored = f.header.params[0];
  if (stored > static_cast<uint8_t>(DType::kU8)) {
    return FTC_CORRUPT("raw: invalid stored dtype code %u", stored);
  }
  if (stored == static_cast<uint8_t>(DType::kU8) && f.header.dtype != DType::kU8) {
    return FTC_CORRUPT("raw: u8 storage of a %s tensor is not allowed", DTypeName(f.header.dtype));
  }
  if (f.sections.size() != 1 || f.sections[0].kind != kDataSection) {
    return FTC_CORRUPT("raw: expected exactly one data section");
  }
  const DType t = static_cast<DType>(stored);
  const uint64_t want = static_cast<uint64_t>(f.sample.elements()) * DTypeSize(t);
  if (f.sections[0].size != want) {
    return FTC_CORRUPT("raw: data section is %zu bytes, the shape needs %llu", f.sections[0].size,
                       static_cast<unsigned long long>(want));
  }
  return t;
}

Status RawDecode(const ParsedFrame& f, const DecoderOptions&, Tensor* out) {
  FTC_ASSIGN_OR_RETURN(DType stored, ParseParams(f));
  FTC_ASSIGN_OR_RETURN(*out, Tensor::Create(stored, {f.sample.c, f.sample.h, f.sample.w}));
  std::memcpy(out->data(), f.sections[0].data, f.sections[0].size);
  return Status::Ok();
}

Status RawDescribe(const ParsedFrame& f, ParamList* out) {
  FTC_ASSIGN_OR_RETURN(DType stored, ParseParams(f));
  out->emplace_back("stored_dtype", DTypeName(stored));
  return Status::Ok();
}

const char* RawSectionName(uint8_t kind) { return kind == kDataSection ? "data" : nullptr; }

class RawBandDecoder : public BandDecoder {
 public:
  explicit RawBandDecoder(DType stored) : stored_(stored) {}
  Status DecodeBands(const BandLayout& layout, const std::vector<uint32_t>& bands,
                     const std::vector<SectionRef>& sections, DecodedBands* out) const override {
    int64_t elements = 0;
    for (uint32_t b : bands) elements += layout.elements(b);
    const size_t es = DTypeSize(stored_);
    if (sections.size() != 1 || sections[0].kind != kDataSection ||
        sections[0].size != static_cast<size_t>(elements) * es) {
      return FTC_CORRUPT("raw data section missing or of the wrong size");
    }
    out->values.resize(static_cast<size_t>(elements));
    GatherF32(TensorView::Contiguous(sections[0].data, stored_, {elements}), 0, elements,
              out->values.data());
    return Status::Ok();
  }

 private:
  DType stored_;
};

Result<std::unique_ptr<BandDecoder>> RawBandDecoderFor(const BandStream& s) {
  if (s.params.size() != 1 || s.params[0] > static_cast<uint8_t>(DType::kU8)) {
    return FTC_CORRUPT("invalid raw codec parameters");
  }
  if (!s.shared_model.empty())
    return FTC_CORRUPT("raw: a stream of raw packets has no symbol model");
  const DType stored = static_cast<DType>(s.params[0]);
  if (stored == DType::kU8 && s.dtype != DType::kU8) {
    return FTC_CORRUPT("raw u8 storage of a %s tensor", DTypeName(s.dtype));
  }
  return std::unique_ptr<BandDecoder>(new RawBandDecoder(stored));
}

}  // namespace

extern const CodecDecoder kRawDecoder = {0,
                                         "raw",
                                         RawDecode,
                                         RawDescribe,
                                         RawSectionName,
                                         PacketSampleIsTheSample,
                                         RawBandDecoderFor,
                                         nullptr,
                                         false};

}  // namespace ftc

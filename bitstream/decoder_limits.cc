// DecoderLimits (include/ftcodec/ftcodec.h) and the checks the decoders share.
#include "bitstream/decoder_limits.h"

#include <algorithm>

#include "base/status_macros.h"
#include "bitstream/frame.h"

namespace ftc {
namespace {

constexpr int64_t kMaxOutputBytesLimit = int64_t{1} << 42;
constexpr int64_t kMaxExpansionRatio = int64_t{1} << 20;
constexpr int64_t kMaxBandsLimit = (int64_t{1} << 31) - 1;
// The automatic concealment budget: 2^31 operations (about a second) plus 2^20 per accepted
// byte.
constexpr int64_t kConcealWorkSlack = int64_t{1} << 31;
constexpr int64_t kConcealWorkPerByte = int64_t{1} << 20;

Status Range(const char* name, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi) {
    return FTC_INVALID("DecoderLimits::%s %lld out of range %lld..%lld", name,
                       static_cast<long long>(v), static_cast<long long>(lo),
                       static_cast<long long>(hi));
  }
  return Status::Ok();
}

// a + b·c, saturating at INT64_MAX (all non-negative).
int64_t SaturatingMulAdd(int64_t a, int64_t b, int64_t c) {
  const int64_t max = INT64_MAX;
  if (b != 0 && c > (max - a) / b) return max;
  return a + b * c;
}

}  // namespace

Status DecoderLimits::Validate() const {
  FTC_RETURN_IF_ERROR(Range("max_sample_elements", max_sample_elements, 1, kMaxSampleElements));
  FTC_RETURN_IF_ERROR(Range("max_tensor_elements", max_tensor_elements, 1, kMaxTensorElements));
  FTC_RETURN_IF_ERROR(Range("max_bands", max_bands, 1, kMaxBandsLimit));
  FTC_RETURN_IF_ERROR(Range("max_output_bytes", max_output_bytes, 1, kMaxOutputBytesLimit));
  FTC_RETURN_IF_ERROR(Range("expansion_ratio", expansion_ratio, 0, kMaxExpansionRatio));
  FTC_RETURN_IF_ERROR(Range("expansion_slack", expansion_slack, 0, kMaxTensorElements));
  FTC_RETURN_IF_ERROR(Range("max_conceal_work", max_conceal_work, 0, INT64_MAX));
  return Status::Ok();
}

DecoderLimits DecoderLimits::ForElements(int64_t elements) {
  const int64_t n = std::clamp<int64_t>(elements, 1, kMaxTensorElements);
  DecoderLimits l;
  l.max_sample_elements = std::min(n, kMaxSampleElements);
  l.max_tensor_elements = n;
  l.max_bands = std::min(n, kMaxBandsLimit);
  l.max_output_bytes = std::min(4 * n, kMaxOutputBytesLimit);
  l.expansion_ratio = 0;
  return l;
}

int64_t ExpansionAllowance(const DecoderLimits& limits, uint64_t bytes) {
  if (limits.expansion_ratio == 0) return INT64_MAX;
  const int64_t b = static_cast<int64_t>(std::min<uint64_t>(bytes, uint64_t{1} << 50));
  return SaturatingMulAdd(limits.expansion_slack, limits.expansion_ratio, b);
}

int64_t ConcealWorkAllowance(const DecoderLimits& limits, uint64_t bytes) {
  if (limits.max_conceal_work > 0) return limits.max_conceal_work;
  const int64_t b = static_cast<int64_t>(std::min<uint64_t>(bytes, uint64_t{1} << 40));
  return SaturatingMulAdd(kConcealWorkSlack, kConcealWorkPerByte, b);
}

Status CheckOutputSize(const DecoderLimits& limits, int64_t elements, size_t element_size,
                       const char* what) {
  if (elements > limits.max_tensor_elements) {
    return FTC_LIMIT(
        "%s of %lld elements exceeds the decoder's limit of %lld elements "
        "(DecoderLimits::max_tensor_elements; ftcodec --max-elements)",
        what, static_cast<long long>(elements), static_cast<long long>(limits.max_tensor_elements));
  }
  const int64_t bytes = elements * static_cast<int64_t>(element_size);
  if (bytes > limits.max_output_bytes) {
    return FTC_LIMIT(
        "%s of %lld bytes exceeds the decoder's limit of %lld bytes "
        "(DecoderLimits::max_output_bytes; ftcodec --max-elements)",
        what, static_cast<long long>(bytes), static_cast<long long>(limits.max_output_bytes));
  }
  return Status::Ok();
}

}  // namespace ftc

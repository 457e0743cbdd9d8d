// Checks against DecoderLimits (include/ftcodec/ftcodec.h) that the frame and packet decoders
// share (docs/format.md, "Decoder limits").
#ifndef FTCODEC_BITSTREAM_DECODER_LIMITS_H_
#define FTCODEC_BITSTREAM_DECODER_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "ftcodec/ftcodec.h"

namespace ftc {

// Elements (and bands) that `bytes` bytes of packets may describe: expansion_slack +
// expansion_ratio × bytes, or INT64_MAX with the expansion bound off.
int64_t ExpansionAllowance(const DecoderLimits& limits, uint64_t bytes);
// The concealment budget of a stream whose accepted packets hold `bytes` bytes.
int64_t ConcealWorkAllowance(const DecoderLimits& limits, uint64_t bytes);
// kLimitExceeded if a decoded tensor of `elements` elements of `element_size` bytes exceeds
// max_tensor_elements or max_output_bytes; `what` names it ("a tensor").
Status CheckOutputSize(const DecoderLimits& limits, int64_t elements, size_t element_size,
                       const char* what);

}  // namespace ftc

#endif  // FTCODEC_BITSTREAM_DECODER_LIMITS_H_

// Entry points of codec `ans` shared by its encoder (enc_ans.cc) and decoder (dec_ans.cc).
#ifndef FTCODEC_CODEC_ANS_ANS_INTERNAL_H_
#define FTCODEC_CODEC_ANS_ANS_INTERNAL_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "codec/ans/ans_common.h"
#include "codec/core/codec.h"
#include "codec/quant/quant.h"

namespace ftc::ans {

Status EncodeSample(const TensorView& sample, const EncoderOptions& o, CodecEncodeOutput* out);
Status DecodeSample(const ParsedFrame& frame, const DecoderOptions& options, Tensor* out);
Status DescribeFrame(const ParsedFrame& frame, ParamList* out);

// The decoder half of packet mode (codec/core/band_codec.h): checks the stream's parameters.
Result<std::unique_ptr<BandDecoder>> NewBandDecoder(const BandStream& stream);

// The channels that `bands` (increasing) touch, increasing and without repeats: the channels
// whose ranges a per-channel packet carries.
std::vector<uint32_t> ChannelsOfBands(const BandLayout& layout, const std::vector<uint32_t>& bands);

// What EncodeSample entropy-codes, for coders of subsets of bands.
struct SamplePlanes {
  AnsParams params;                 // band_rows from the options (0 = whole channels)
  std::vector<QuantParams> ranges;  // quantized mode: 1 range, or C with per-channel ranges
  int alphabet_bits = 0;            // Bits (quantized) or 8 (lossless planes)
  // Quantized: one plane of indices; lossless: size(Stored_DType) byte planes, most significant
  // first. Each holds the sample's C·H·W symbols in C order.
  std::vector<std::vector<uint16_t>> planes;
};
// Quantizes a rank-3 (C,H,W) sample, or splits it into byte planes, exactly as EncodeSample.
Status MakeSamplePlanes(const TensorView& sample, const EncoderOptions& options, SamplePlanes* out);
// Lossless mode, decoder side: element i (0 <= i < n) of the stored dtype from byte planes[k][i]
// (most significant plane first); writes n elements of `width` bytes to `out`.
void JoinLosslessPlanes(const std::vector<const uint16_t*>& planes, int width, int64_t n,
                        uint8_t* out);

}  // namespace ftc::ans

#endif  // FTCODEC_CODEC_ANS_ANS_INTERNAL_H_

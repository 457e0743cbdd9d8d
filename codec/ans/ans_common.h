// Codec `ans` (docs/format.md, "Codec ans"): shared parameter layout of the encoder and decoder.
//
// Quantized mode: per frame (or per channel) uniform quantizer (codec/quant) -> indices ->
// context-modelled rANS symbol segment (bitstream/symbol_coder.h) over bands of rows.
// Lossless mode: each element's bits rotated left by one (exponent bits together), split into
// byte planes, each plane coded as a symbol segment of 8-bit symbols with the same bands.
#ifndef FTCODEC_CODEC_ANS_ANS_COMMON_H_
#define FTCODEC_CODEC_ANS_ANS_COMMON_H_

#include <cstdint>
#include <vector>

#include "bitstream/frame.h"
#include "bitstream/symbol_coder.h"
#include "codec/core/codec.h"
#include "ftcodec/ftcodec.h"

namespace ftc::ans {

// kPlanned: per-channel steps from a plan named by its id (docs/format.md, "Planned mode").
enum class Mode : uint8_t { kQuantized = 0, kLossless = 1, kPlanned = 2 };

// Section kinds.
constexpr uint8_t kRangesSection = 1;
constexpr uint8_t kSymbolsSection = 2;
constexpr uint8_t kPlaneSection = 3;

// Flags of the quantized mode.
constexpr uint8_t kFlagPerChannel = 0x01;
constexpr uint8_t kFlagClipShift = 1;  // bits 1-2: ClipSpec::Kind used to choose the ranges
constexpr uint8_t kFlagClipMask = 0x06;

struct AnsParams {
  Mode mode = Mode::kQuantized;
  // Quantized mode.
  int bits = 4;
  uint8_t flags = 0;
  uint8_t rounding_q = 128;  // rounding offset = rounding_q / 256, 0..128
  // Lossless mode.
  DType stored = DType::kF32;
  // Planned mode (also uses bits and rounding_q).
  uint8_t step_shift = 0;
  uint64_t plan_id = 0;
  // Both: rows per band, 0 = a whole channel.
  uint32_t band_rows = 0;

  bool per_channel() const { return flags & kFlagPerChannel; }
  float rounding() const { return static_cast<float>(rounding_q) / 256.0f; }
};

void WriteParams(const AnsParams& p, std::vector<uint8_t>* out);
// Parses and validates Codec_Params against the sample shape and original dtype. The planned
// mode is valid only where `allow_planned` (frames of format version 2 and later; not packets).
Result<AnsParams> ParseParams(const std::vector<uint8_t>& bytes, const SampleShape& s,
                              DType original, bool allow_planned = false);

// Band layout of a sample: channel-major, each channel cut into bands of band_rows rows.
std::vector<BandShape> MakeBands(const SampleShape& s, uint32_t band_rows);

}  // namespace ftc::ans

#endif  // FTCODEC_CODEC_ANS_ANS_COMMON_H_

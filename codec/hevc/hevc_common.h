// Codec `hevc` (docs/format.md, "Codec hevc"): what the encoder and decoder share.
// The pictures of codec/pack (one mosaic per sample, or one picture per channel) as one HEVC
// 4:0:0 video at 8 or 10 bits: x265 encodes, libavcodec decodes.
#ifndef FTCODEC_CODEC_HEVC_HEVC_COMMON_H_
#define FTCODEC_CODEC_HEVC_HEVC_COMMON_H_

#include "codec/core/codec.h"
#include "codec/pack/packed_frame.h"

namespace ftc::hevc {

inline constexpr uint8_t kCodecId = 3;
inline constexpr int kDefaultBitDepth = 10;

// Sides are multiples of x265's minimum CU size (8), at least one CTU (16: the CTU size this
// encoder uses) high and at least 32 wide (see enc_hevc.cc: x265 misbehaves on narrower
// pictures); 8192 is the largest side of HEVC level 6.x pictures.
inline PictureLimits Limits() {
  PictureLimits l;
  l.codec = "hevc";
  l.block = 8;
  l.min_width = 32;
  l.min_height = 16;
  l.max_side = 8192;
  l.frames_layout = true;
  l.bits_8 = true;
  l.bits_10 = true;
  return l;
}

// x265's preset names, index = the Preset field.
inline constexpr const char* kPresetNames[] = {"ultrafast", "superfast", "veryfast", "faster",
                                               "fast",      "medium",    "slow",     "slower",
                                               "veryslow",  "placebo"};
inline constexpr int kPresetCount = 10;

// Chroma_Format: 0 = 4:0:0 (monochrome, what this encoder writes: libavcodec decodes it, and it
// is smaller and faster than 4:2:0), 1 = 4:2:0 with both chroma planes constant at the mid level
// (for encoders or decoders limited to the Main / Main 10 profiles, which have no 4:0:0).
inline constexpr uint8_t kChroma400 = 0;
inline constexpr uint8_t kChroma420 = 1;

Status EncodeSample(const TensorView& samples, const EncoderOptions& o, CodecEncodeOutput* out);
// EncodeSample with a given Chroma_Format (tests and measurements use 4:2:0).
Status EncodeSampleWithChroma(const TensorView& samples, const EncoderOptions& o, uint8_t chroma,
                              CodecEncodeOutput* out);
Status DecodeSample(const ParsedFrame& frame, const DecoderOptions& options, Tensor* out);

// Codec_Params: Pack_Params, then QP (u8, 0..51) and Preset (u8, 0..9), both informative,
// Chroma_Format (u8, 0 or 1) and Levels_Checksum (u32): the CRC32C of the levels x265
// reconstructed. HEVC decoding is exact, so a decoder that gets other levels was given damaged
// data (libavcodec conceals a truncated slice without an error).
struct HevcFrame {
  PackedPictures pictures;
  int qp = 0;
  int preset = 0;
  uint8_t chroma = kChroma400;
  uint32_t levels_checksum = 0;
};
Result<HevcFrame> ParseHevcFrame(const ParsedFrame& f);

}  // namespace ftc::hevc

#endif  // FTCODEC_CODEC_HEVC_HEVC_COMMON_H_

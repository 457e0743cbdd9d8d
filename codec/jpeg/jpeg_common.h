// Codec `jpeg` (docs/format.md, "Codec jpeg"): what the encoder and decoder share.
// One grayscale JPEG per sample: the channel mosaic of 8-bit levels (codec/pack).
#ifndef FTCODEC_CODEC_JPEG_JPEG_COMMON_H_
#define FTCODEC_CODEC_JPEG_JPEG_COMMON_H_

#include "codec/core/codec.h"
#include "codec/pack/packed_frame.h"

namespace ftc::jpeg {

inline constexpr uint8_t kCodecId = 2;

// 8×8 blocks (one grayscale component: the MCU is one block); libjpeg's largest side is 65500.
inline PictureLimits Limits() {
  PictureLimits l;
  l.codec = "jpeg";
  l.block = 8;
  l.min_width = 8;
  l.min_height = 8;
  l.max_side = 65500;
  l.frames_layout = false;
  l.bits_8 = true;
  l.bits_10 = false;
  return l;
}

Status EncodeSample(const TensorView& sample, const EncoderOptions& o, CodecEncodeOutput* out);
Status DecodeSample(const ParsedFrame& frame, const DecoderOptions& options, Tensor* out);

// Codec_Params: Pack_Params, then Quality (u8, 1..100).
struct JpegFrame {
  PackedPictures pictures;
  int quality = 0;
};
Result<JpegFrame> ParseJpegFrame(const ParsedFrame& f);

}  // namespace ftc::jpeg

#endif  // FTCODEC_CODEC_JPEG_JPEG_COMMON_H_

// The part of the picture codecs (`jpeg`, `hevc`) that does not depend on an image library
// (docs/format.md, "Packing parameters"): range mapping of the samples to n-bit levels
// (codec/quant), the channel order, the picture geometry, the `ranges` and `order` sections, and
// the conversion between level planes and pictures.
//
// Encoder: PackSamples() -> for each picture i: Render(i, ...) -> the codec codes the pictures.
// Decoder: ParsePackParams() + the codec's own fields -> ReadPackSections() -> the codec decodes
// picture i and calls Accept(i, ...) -> Finish() dequantizes into the output tensor.
#ifndef FTCODEC_CODEC_PACK_PACKED_FRAME_H_
#define FTCODEC_CODEC_PACK_PACKED_FRAME_H_

#include <cstdint>
#include <vector>

#include "base/byte_io.h"
#include "bitstream/frame.h"
#include "codec/core/codec.h"
#include "codec/pack/pack.h"
#include "codec/quant/quant.h"
#include "ftcodec/ftcodec.h"

namespace ftc {

enum class PackLayout : uint8_t { kMosaic = 0, kFrames = 1 };

// Section kinds of the picture codecs.
inline constexpr uint8_t kPackRangesSection = 1;
inline constexpr uint8_t kPackOrderSection = 2;
inline constexpr uint8_t kPackPictureSection = 3;

// Range_Flags bits.
inline constexpr uint8_t kPackFlagPerChannel = 0x01;
inline constexpr uint8_t kPackFlagReordered = 0x02;
inline constexpr uint8_t kPackFlagClipShift = 2;  // bits 2-3: ClipSpec::Kind (informative)
inline constexpr uint8_t kPackFlagClipMask = 0x0C;

// What a picture codec accepts.
struct PictureLimits {
  const char* codec = "";  // for messages
  int64_t block = 8;       // picture sides are multiples of this
  int64_t min_width = 8;   // ... and at least these
  int64_t min_height = 8;
  int64_t max_side = 8192;              // largest picture side
  bool frames_layout = false;           // whether the frames layout is allowed
  bool bits_8 = true, bits_10 = false;  // allowed Sample_Bits
};

struct PackParams {
  PackLayout layout = PackLayout::kMosaic;
  ChannelGrid grid;  // mosaic: the tile grid; frames: 1 × 1
  uint8_t flags = 0;
  int bits = 8;  // Sample_Bits

  bool per_channel() const { return flags & kPackFlagPerChannel; }
  bool reordered() const { return flags & kPackFlagReordered; }
  ClipSpec::Kind clip() const {
    return static_cast<ClipSpec::Kind>((flags & kPackFlagClipMask) >> kPackFlagClipShift);
  }
};

// Geometry of all pictures of one frame.
struct PackGeometry {
  PackParams params;
  SampleShape sample;             // C, H, W of one sample
  int64_t samples = 1;            // S: samples in the frame
  int64_t width = 0, height = 0;  // every picture
  int64_t pictures = 0;           // S (mosaic) or S·C (frames)
  MosaicGeometry mosaic;          // mosaic layout only
  int64_t ranges() const { return samples * (params.per_channel() ? sample.c : 1); }
};

// Computes the geometry and checks it against the codec's limits (kLimitExceeded for an
// encoder's input, the caller turns it into kCorruptData on the decoder side).
Result<PackGeometry> MakePackGeometry(const PackParams& p, const SampleShape& s, int64_t samples,
                                      const PictureLimits& limits);

// Shared by the encoder (its reconstruction, enc_packed_frame.cc) and the decoder: picture i of
// the packed samples into their planes in `levels` (S × C × H × W), and the CRC32C of levels.
template <typename T>
void UnpackPicture(const PackGeometry& g, const std::vector<uint32_t>& order, int64_t i,
                   const T* picture, ptrdiff_t stride, uint16_t* levels);
uint32_t ChecksumOf(const std::vector<uint16_t>& levels);

// Encoder side: the samples mapped to levels, ready to be drawn as pictures.
class PackedSamples {
 public:
  // `samples` is a rank-3 (C,H,W) sample or a rank-4 (S,C,H,W) batch coded as one frame.
  // Writes Pack_Params to *params and the ranges (and order) sections to *sections.
  static Result<PackedSamples> Create(const TensorView& samples, const EncoderOptions& o,
                                      PackLayout layout, int bits, const PictureLimits& limits,
                                      std::vector<uint8_t>* params, std::vector<Section>* sections);

  const PackGeometry& geometry() const { return geometry_; }
  // Draws picture i (0 <= i < pictures) into `picture` (height rows of `stride` elements).
  template <typename T>
  void Render(int64_t i, T* picture, ptrdiff_t stride) const;

  // The codec's reconstruction of picture i (what a decoder will see), for LevelsChecksum().
  template <typename T>
  void AcceptReconstruction(int64_t i, const T* picture, ptrdiff_t stride);
  // CRC32C of the reconstructed levels (see PackedPictures::LevelsChecksum); every picture
  // must have been accepted.
  uint32_t ReconstructionChecksum() const;

 private:
  PackGeometry geometry_;
  std::vector<uint16_t> levels_;  // S × C × H × W
  std::vector<uint32_t> order_;   // empty: identity
  std::vector<uint16_t> fill_;    // per sample: the level of empty tiles
  std::vector<uint16_t> recon_;   // S × C × H × W, AcceptReconstruction()
};

// Decoder side.
class PackedPictures {
 public:
  // Reads Pack_Params from `r` (the codec then reads its own fields and checks the end).
  static Result<PackParams> ParseParams(ByteReader* r, const SampleShape& s);
  // Checks the sections (ranges, [order], picture) and reads ranges and order.
  static Result<PackedPictures> Create(const ParsedFrame& f, const PackParams& p,
                                       const PictureLimits& limits);

  const PackGeometry& geometry() const { return geometry_; }
  const SectionRef& picture_section() const { return picture_; }
  // Takes picture i (height rows of `stride` elements, values < 2^bits).
  template <typename T>
  void Accept(int64_t i, const T* picture, ptrdiff_t stride);
  // CRC32C of the decoded levels: S × C × H × W u16, little-endian, in C order.
  uint32_t LevelsChecksum() const;
  // Dequantizes the levels into an f32 tensor of shape {C,H,W} (S == 1) or {S,C,H,W}.
  Status Finish(Tensor* out) const;
  // `ftcodec info` lines: layout, grid, bits, ranges, order.
  void Describe(ParamList* out) const;

 private:
  PackGeometry geometry_;
  std::vector<QuantParams> ranges_;
  std::vector<uint32_t> order_;  // empty: identity
  SectionRef picture_;
  std::vector<uint16_t> levels_;
};

// Name of a section kind of a picture codec; `picture_name` for kPackPictureSection.
const char* PackSectionName(uint8_t kind, const char* picture_name);

}  // namespace ftc

#endif  // FTCODEC_CODEC_PACK_PACKED_FRAME_H_

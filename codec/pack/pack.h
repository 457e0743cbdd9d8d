// Packing feature channels into pictures for image and video codecs (docs/format.md, "Packing").
//
// READ ME FIRST
// - Two layouts. Mosaic: the C channels of a sample are tiles of a grid (R rows × Q columns,
//   channels in raster order — the MPEG FCM convention), one picture per sample. Frames: every
//   channel is a picture of its own, so a video codec's inter prediction can exploit the
//   correlation between channels.
// - Grid rule: R = the largest divisor of C with R·R <= C, Q = C/R (no empty tile). When that grid
//   is far from square (Q > kMaxGridAspect·R; a prime C gives 1×C) the padded near-square grid
//   is used instead: R = floor(sqrt(C)), Q = ceil(C/R), the last R·Q − C tiles empty.
// - A picture is the mosaic (or the channel plane) padded at the right and bottom to a multiple
//   of the codec's block size and at least its minimum size, by edge replication; the decoder
//   crops. Empty tiles hold a constant the encoder chooses. Nothing of the padding reaches the
//   decoded tensor, so every packing is exactly invertible.
// - Pictures hold integer samples (quantizer levels); the element types are the codec's.
#ifndef FTCODEC_CODEC_PACK_PACK_H_
#define FTCODEC_CODEC_PACK_PACK_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ftc {

// Largest Q/R of an FCM divisor grid the encoder accepts before it pads to a near-square grid.
inline constexpr int64_t kMaxGridAspect = 4;

enum class GridRule : uint8_t {
  kDivisor = 0,       // FCM: R = largest divisor of C with R*R <= C, Q = C / R
  kPaddedSquare = 1,  // R = floor(sqrt(C)), Q = ceil(C / R), empty tiles at the end
};

// R rows × Q columns of tiles; tile k (raster order) sits at row k / cols, column k % cols.
struct ChannelGrid {
  GridRule rule = GridRule::kDivisor;
  int64_t rows = 1;
  int64_t cols = 1;
  int64_t tiles() const { return rows * cols; }
};

// The grid `rule` gives for `channels` >= 1.
ChannelGrid GridForRule(int64_t channels, GridRule rule);
// The grid the encoder uses: the divisor grid unless cols > kMaxGridAspect * rows.
ChannelGrid ChooseGrid(int64_t channels);

// floor(sqrt(v)) exactly, for v >= 0.
int64_t IntegerSqrt(int64_t v);

// A picture side for `content` samples: rounded up to a multiple of `block`, and at least
// `min_size` (itself a multiple of `block`).
int64_t PaddedPictureSize(int64_t content, int64_t block, int64_t min_size);

// Geometry of one mosaic picture.
struct MosaicGeometry {
  int64_t channels = 1;
  int64_t tile_h = 1, tile_w = 1;
  ChannelGrid grid;
  int64_t width = 1, height = 1;  // the padded picture
};
MosaicGeometry MakeMosaicGeometry(int64_t channels, int64_t tile_h, int64_t tile_w,
                                  const ChannelGrid& grid, int64_t block, int64_t min_width,
                                  int64_t min_height);

// Builds one mosaic picture (height × width samples, row stride `stride` elements) from the
// C planes of H×W levels. Tile k holds plane order[k] (order == nullptr: plane k); empty tiles
// hold `fill`; the padding repeats the mosaic's last column and row.
template <typename Src, typename Dst>
void PackMosaic(const Src* planes, const uint32_t* order, const MosaicGeometry& g, Dst fill,
                Dst* picture, ptrdiff_t stride);
// The inverse: copies tile k of the picture to plane order[k].
template <typename Src, typename Dst>
void UnpackMosaic(const Src* picture, ptrdiff_t stride, const uint32_t* order,
                  const MosaicGeometry& g, Dst* planes);

// Frames layout: one h × w plane into a pw × ph picture (edge replication), and back (crop).
template <typename Src, typename Dst>
void PadPlane(const Src* plane, int64_t h, int64_t w, int64_t ph, int64_t pw, Dst* picture,
              ptrdiff_t stride);
template <typename Src, typename Dst>
void CropPlane(const Src* picture, ptrdiff_t stride, int64_t h, int64_t w, Dst* plane);

// Channel order by similarity: a greedy nearest-neighbour chain starting at channel 0, where
// the distance of two channels is the squared L2 distance of their signatures (each plane
// averaged over a grid of at most 8×8 cells, summed over the `samples` samples). Ties go to
// the lowest channel index. Integer arithmetic only: the same levels give the same order
// everywhere. `levels` is samples × channels × plane_h × plane_w. Returns order[k] = the channel
// placed at position k.
std::vector<uint32_t> SimilarityOrder(const uint16_t* levels, int64_t samples, int64_t channels,
                                      int64_t plane_h, int64_t plane_w);

// Whether order[0..n) is a permutation of 0..n-1.
bool IsPermutation(const uint32_t* order, size_t n);

}  // namespace ftc

#endif  // FTCODEC_CODEC_PACK_PACK_H_

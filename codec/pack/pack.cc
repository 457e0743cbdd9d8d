#include "codec/pack/pack.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

namespace ftc {

int64_t IntegerSqrt(int64_t v) {
  if (v <= 0) return 0;
  // Newton's iteration on integers from an upper bound: decreases monotonically to floor(sqrt).
  int64_t x = v, y = (x + 1) / 2;
  while (y < x) {
    x = y;
    y = (x + v / x) / 2;
  }
  return x;
}

ChannelGrid GridForRule(int64_t channels, GridRule rule) {
  ChannelGrid g;
  g.rule = rule;
  const int64_t root = IntegerSqrt(channels);
  if (rule == GridRule::kDivisor) {
    int64_t r = root;
    while (r > 1 && channels % r != 0) --r;
    g.rows = std::max<int64_t>(r, 1);
    g.cols = channels / g.rows;
  } else {
    g.rows = std::max<int64_t>(root, 1);
    g.cols = (channels + g.rows - 1) / g.rows;
  }
  return g;
}

ChannelGrid ChooseGrid(int64_t channels) {
  const ChannelGrid fcm = GridForRule(channels, GridRule::kDivisor);
  if (fcm.cols <= kMaxGridAspect * fcm.rows) return fcm;
  return GridForRule(channels, GridRule::kPaddedSquare);
}

int64_t PaddedPictureSize(int64_t content, int64_t block, int64_t min_size) {
  return std::max((content + block - 1) / block * block, min_size);
}

MosaicGeometry MakeMosaicGeometry(int64_t channels, int64_t tile_h, int64_t tile_w,
                                  const ChannelGrid& grid, int64_t block, int64_t min_width,
                                  int64_t min_height) {
  MosaicGeometry g;
  g.channels = channels;
  g.tile_h = tile_h;
  g.tile_w = tile_w;
  g.grid = grid;
  g.width = PaddedPictureSize(grid.cols * tile_w, block, min_width);
  g.height = PaddedPictureSize(grid.rows * tile_h, block, min_height);
  return g;
}

namespace {

// Repeats column content_w-1 to the right and row content_h-1 downwards.
template <typename T>
void ReplicateEdges(int64_t content_h, int64_t content_w, int64_t ph, int64_t pw, T* picture,
                    ptrdiff_t stride) {
  for (int64_t y = 0; y < content_h; ++y) {
    T* row = picture + y * stride;
    std::fill(row + content_w, row + pw, row[content_w - 1]);
  }
  const T* last = picture + (content_h - 1) * stride;
  for (int64_t y = content_h; y < ph; ++y) std::copy(last, last + pw, picture + y * stride);
}

// memcpy of n bytes for short rows: fixed-size moves that may overlap each other (never the
// bytes outside [0, n)), which a variable-length memcpy call cannot match on 7- or 14-byte rows.
inline void CopyRow(void* dst, const void* src, size_t n) {
  uint8_t* d = static_cast<uint8_t*>(dst);
  const uint8_t* s = static_cast<const uint8_t*>(src);
  if (n >= 16) {
    for (size_t i = 0; i + 16 <= n; i += 16) std::memcpy(d + i, s + i, 16);
    std::memcpy(d + n - 16, s + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(d, s, 8);
    std::memcpy(d + n - 8, s + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(d, s, 4);
    std::memcpy(d + n - 4, s + n - 4, 4);
  } else {
    for (size_t i = 0; i < n; ++i) d[i] = s[i];
  }
}

}  // namespace

// Tiles are short rows (often 7 or 14 elements), too short for a converting loop to vectorize:
// element types are converted in one long pass over all planes, and tile rows are moved with
// memcpy.
template <typename Src, typename Dst>
void PackMosaic(const Src* planes, const uint32_t* order, const MosaicGeometry& g, Dst fill,
                Dst* picture, ptrdiff_t stride) {
  const int64_t plane = g.tile_h * g.tile_w;
  std::vector<Dst> converted;
  const Dst* src_planes;
  if constexpr (std::is_same_v<Src, Dst>) {
    src_planes = planes;
  } else {
    const size_t n = static_cast<size_t>(g.channels * plane);
    converted.resize(n);
    // Through local pointers: a uint8_t store may alias the vector's own members otherwise,
    // which stops the loop from vectorizing.
    Dst* c = converted.data();
    for (size_t i = 0; i < n; ++i) c[i] = static_cast<Dst>(planes[i]);
    src_planes = c;
  }
  const size_t row_bytes = static_cast<size_t>(g.tile_w) * sizeof(Dst);
  for (int64_t k = 0; k < g.grid.tiles(); ++k) {
    Dst* tile = picture + (k / g.grid.cols) * g.tile_h * stride + (k % g.grid.cols) * g.tile_w;
    if (k >= g.channels) {
      for (int64_t y = 0; y < g.tile_h; ++y) {
        std::fill(tile + y * stride, tile + y * stride + g.tile_w, fill);
      }
      continue;
    }
    const Dst* src = src_planes + (order ? order[k] : k) * plane;
    for (int64_t y = 0; y < g.tile_h; ++y) {
      CopyRow(tile + y * stride, src + y * g.tile_w, row_bytes);
    }
  }
  ReplicateEdges(g.grid.rows * g.tile_h, g.grid.cols * g.tile_w, g.height, g.width, picture,
                 stride);
}

template <typename Src, typename Dst>
void UnpackMosaic(const Src* picture, ptrdiff_t stride, const uint32_t* order,
                  const MosaicGeometry& g, Dst* planes) {
  const int64_t plane = g.tile_h * g.tile_w;
  std::vector<Src> gathered;
  Src* dst_planes;
  if constexpr (std::is_same_v<Src, Dst>) {
    dst_planes = planes;
  } else {
    gathered.resize(static_cast<size_t>(g.channels * plane));
    dst_planes = gathered.data();
  }
  const size_t row_bytes = static_cast<size_t>(g.tile_w) * sizeof(Src);
  for (int64_t k = 0; k < g.channels; ++k) {
    const Src* tile =
        picture + (k / g.grid.cols) * g.tile_h * stride + (k % g.grid.cols) * g.tile_w;
    Src* dst = dst_planes + (order ? order[k] : k) * plane;
    for (int64_t y = 0; y < g.tile_h; ++y) {
      CopyRow(dst + y * g.tile_w, tile + y * stride, row_bytes);
    }
  }
  if constexpr (!std::is_same_v<Src, Dst>) {
    const Src* from = gathered.data();
    const size_t n = gathered.size();
    for (size_t i = 0; i < n; ++i) planes[i] = static_cast<Dst>(from[i]);
  }
}

template <typename Src, typename Dst>
void PadPlane(const Src* plane, int64_t h, int64_t w, int64_t ph, int64_t pw, Dst* picture,
              ptrdiff_t stride) {
  for (int64_t y = 0; y < h; ++y) {
    const Src* s = plane + y * w;
    Dst* d = picture + y * stride;
    for (int64_t x = 0; x < w; ++x) d[x] = static_cast<Dst>(s[x]);
  }
  ReplicateEdges(h, w, ph, pw, picture, stride);
}

template <typename Src, typename Dst>
void CropPlane(const Src* picture, ptrdiff_t stride, int64_t h, int64_t w, Dst* plane) {
  for (int64_t y = 0; y < h; ++y) {
    const Src* s = picture + y * stride;
    Dst* d = plane + y * w;
    for (int64_t x = 0; x < w; ++x) d[x] = static_cast<Dst>(s[x]);
  }
}

#define FTC_INSTANTIATE_PACK(Src, Dst)                                                        \
  template void PackMosaic<Src, Dst>(const Src*, const uint32_t*, const MosaicGeometry&, Dst, \
                                     Dst*, ptrdiff_t);                                        \
  template void UnpackMosaic<Dst, Src>(const Dst*, ptrdiff_t, const uint32_t*,                \
                                       const MosaicGeometry&, Src*);                          \
  template void PadPlane<Src, Dst>(const Src*, int64_t, int64_t, int64_t, int64_t, Dst*,      \
                                   ptrdiff_t);                                                \
  template void CropPlane<Dst, Src>(const Dst*, ptrdiff_t, int64_t, int64_t, Src*);
FTC_INSTANTIATE_PACK(uint16_t, uint8_t)
FTC_INSTANTIATE_PACK(uint16_t, uint16_t)
FTC_INSTANTIATE_PACK(float, float)
#undef FTC_INSTANTIATE_PACK

std::vector<uint32_t> SimilarityOrder(const uint16_t* levels, int64_t samples, int64_t channels,
                                      int64_t plane_h, int64_t plane_w) {
  // Signature of a channel: 16 × the mean level of each cell of a gh × gw grid, per sample.
  const int64_t gh = std::min<int64_t>(8, plane_h), gw = std::min<int64_t>(8, plane_w);
  const int64_t cells = gh * gw, sig_len = samples * cells;
  std::vector<uint32_t> sig(static_cast<size_t>(channels * sig_len));
  std::vector<uint64_t> sum(static_cast<size_t>(cells));
  std::vector<uint64_t> count(static_cast<size_t>(cells), 0);
  // Cell of each row and column: row y is in cell row y·gh/plane_h.
  std::vector<uint32_t> cell_row(static_cast<size_t>(plane_h)),
      cell_col(static_cast<size_t>(plane_w));
  for (int64_t y = 0; y < plane_h; ++y)
    cell_row[static_cast<size_t>(y)] = static_cast<uint32_t>(y * gh / plane_h * gw);
  for (int64_t x = 0; x < plane_w; ++x)
    cell_col[static_cast<size_t>(x)] = static_cast<uint32_t>(x * gw / plane_w);
  for (int64_t y = 0; y < plane_h; ++y) {
    for (int64_t x = 0; x < plane_w; ++x)
      ++count[cell_row[static_cast<size_t>(y)] + cell_col[static_cast<size_t>(x)]];
  }
  const int64_t plane = plane_h * plane_w;
  for (int64_t s = 0; s < samples; ++s) {
    for (int64_t c = 0; c < channels; ++c) {
      const uint16_t* p = levels + (s * channels + c) * plane;
      std::fill(sum.begin(), sum.end(), 0);
      for (int64_t y = 0; y < plane_h; ++y) {
        uint64_t* row_sum = sum.data() + cell_row[static_cast<size_t>(y)];
        const uint16_t* src = p + y * plane_w;
        for (int64_t x = 0; x < plane_w; ++x) row_sum[cell_col[static_cast<size_t>(x)]] += src[x];
      }
      uint32_t* out = &sig[static_cast<size_t>(c * sig_len + s * cells)];
      for (int64_t k = 0; k < cells; ++k) {
        out[k] =
            static_cast<uint32_t>(16 * sum[static_cast<size_t>(k)] / count[static_cast<size_t>(k)]);
      }
    }
  }
  std::vector<uint32_t> order;
  order.reserve(static_cast<size_t>(channels));
  std::vector<bool> used(static_cast<size_t>(channels), false);
  uint32_t current = 0;
  used[0] = true;
  order.push_back(0);
  for (int64_t step = 1; step < channels; ++step) {
    const uint32_t* a = &sig[static_cast<size_t>(current) * static_cast<size_t>(sig_len)];
    uint64_t best = std::numeric_limits<uint64_t>::max();
    uint32_t best_c = 0;
    for (int64_t c = 0; c < channels; ++c) {
      if (used[static_cast<size_t>(c)]) continue;
      const uint32_t* b = &sig[static_cast<size_t>(c * sig_len)];
      uint64_t d = 0;
      for (int64_t k = 0; k < sig_len && d < best; ++k) {
        const int64_t diff = static_cast<int64_t>(a[k]) - static_cast<int64_t>(b[k]);
        d += static_cast<uint64_t>(diff * diff);
      }
      if (d < best) {
        best = d;
        best_c = static_cast<uint32_t>(c);
      }
    }
    used[best_c] = true;
    order.push_back(best_c);
    current = best_c;
  }
  return order;
}

bool IsPermutation(const uint32_t* order, size_t n) {
  std::vector<bool> seen(n, false);
  for (size_t k = 0; k < n; ++k) {
    if (order[k] >= n || seen[order[k]]) return false;
    seen[order[k]] = true;
  }
  return true;
}

}  // namespace ftc

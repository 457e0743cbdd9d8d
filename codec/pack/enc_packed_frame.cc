// PackedSamples: the encoder side of packed frames (codec/pack/packed_frame.h).
#include <algorithm>

#include "base/status_macros.h"
#include "codec/pack/packed_frame.h"
#include "codec/quant/quant.h"

namespace ftc {

Result<PackedSamples> PackedSamples::Create(const TensorView& view, const EncoderOptions& o,
                                            PackLayout layout, int bits,
                                            const PictureLimits& limits,
                                            std::vector<uint8_t>* params,
                                            std::vector<Section>* sections) {
  const bool batch = view.rank == 4;
  const int64_t samples = batch ? view.shape[0] : 1;
  const SampleShape s = batch ? SampleShape{view.shape[1], view.shape[2], view.shape[3]}
                              : SampleShape{view.shape[0], view.shape[1], view.shape[2]};
  PackParams p;
  p.layout = layout;
  p.bits = bits;
  p.grid = layout == PackLayout::kMosaic ? ChooseGrid(s.c) : ChannelGrid{};
  p.flags = static_cast<uint8_t>((o.per_channel ? kPackFlagPerChannel : 0) |
                                 (o.reorder_channels && s.c > 1 ? kPackFlagReordered : 0) |
                                 (static_cast<uint8_t>(o.clip.kind) << kPackFlagClipShift));
  PackedSamples out;
  FTC_ASSIGN_OR_RETURN(out.geometry_, MakePackGeometry(p, s, samples, limits));

  // Range mapping: one quantizer per sample (or per sample and channel), rounding to nearest.
  const int64_t e = s.elements(), n = samples * e;
  std::vector<float> copy;
  const float* x = static_cast<const float*>(view.data);
  if (view.dtype != DType::kF32 || !view.is_contiguous()) {
    copy.resize(static_cast<size_t>(n));
    GatherF32(view, 0, n, copy.data());
    x = copy.data();
  }
  const int64_t groups = out.geometry_.ranges();
  const size_t per = static_cast<size_t>(n / groups);
  out.levels_.resize(static_cast<size_t>(n));
  Section ranges;
  ranges.kind = kPackRangesSection;
  ByteWriter rw(&ranges.payload);
  for (int64_t k = 0; k < groups; ++k) {
    const float* xk = x + static_cast<size_t>(k) * per;
    Result<QuantParams> q = ComputeQuantRange(xk, per, o.clip, bits, 0.5f);
    if (!q.ok()) {
      float mn, mx;
      if (!FiniteMinMax(xk, per, &mn, &mx)) {
        return FTC_UNSUPPORTED(
            "input contains NaN or Inf; the lossy %s codec needs finite "
            "values (use --codec raw or ans --lossless)",
            limits.codec);
      }
      return QuantRangeError(q.status(), xk, per, o.clip);
    }
    rw.F32(q->lo);
    rw.F32(q->hi);
    Quantize(xk, per, *q, out.levels_.data() + static_cast<size_t>(k) * per);
  }
  sections->push_back(std::move(ranges));

  if (p.reordered()) {
    out.order_ = SimilarityOrder(out.levels_.data(), samples, s.c, s.h, s.w);
    Section order;
    order.kind = kPackOrderSection;
    ByteWriter ow(&order.payload);
    for (uint32_t c : out.order_) ow.Varint(c);
    sections->push_back(std::move(order));
  }
  // Empty tiles take the rounded mean level of their sample: a flat, cheap tile that does not
  // add a sharp edge next to the real ones.
  out.fill_.resize(static_cast<size_t>(samples), 0);
  for (int64_t i = 0; i < samples && layout == PackLayout::kMosaic && p.grid.tiles() > s.c; ++i) {
    uint64_t sum = 0;
    const uint16_t* l = out.levels_.data() + i * e;
    for (int64_t j = 0; j < e; ++j) sum += l[j];
    out.fill_[static_cast<size_t>(i)] =
        static_cast<uint16_t>((sum + static_cast<uint64_t>(e / 2)) / static_cast<uint64_t>(e));
  }

  ByteWriter pw(params);
  pw.U8(static_cast<uint8_t>(p.layout));
  pw.U8(static_cast<uint8_t>(p.grid.rule));
  pw.Varint(static_cast<uint64_t>(p.grid.rows));
  pw.Varint(static_cast<uint64_t>(p.grid.cols));
  pw.U8(p.flags);
  pw.U8(static_cast<uint8_t>(p.bits));
  return out;
}

template <typename T>
void PackedSamples::Render(int64_t i, T* picture, ptrdiff_t stride) const {
  const PackGeometry& g = geometry_;
  const uint32_t* order = order_.empty() ? nullptr : order_.data();
  const int64_t e = g.sample.elements(), plane = g.sample.h * g.sample.w;
  if (g.params.layout == PackLayout::kMosaic) {
    PackMosaic(levels_.data() + i * e, order, g.mosaic,
               static_cast<T>(fill_[static_cast<size_t>(i)]), picture, stride);
  } else {
    const int64_t sample = i / g.sample.c, k = i % g.sample.c;
    const int64_t c = order ? order[k] : k;
    PadPlane(levels_.data() + sample * e + c * plane, g.sample.h, g.sample.w, g.height, g.width,
             picture, stride);
  }
}
template void PackedSamples::Render<uint8_t>(int64_t, uint8_t*, ptrdiff_t) const;
template void PackedSamples::Render<uint16_t>(int64_t, uint16_t*, ptrdiff_t) const;

template <typename T>
void PackedSamples::AcceptReconstruction(int64_t i, const T* picture, ptrdiff_t stride) {
  if (recon_.empty()) recon_.resize(levels_.size());
  UnpackPicture(geometry_, order_, i, picture, stride, recon_.data());
}
template void PackedSamples::AcceptReconstruction<uint8_t>(int64_t, const uint8_t*, ptrdiff_t);
template void PackedSamples::AcceptReconstruction<uint16_t>(int64_t, const uint16_t*, ptrdiff_t);

uint32_t PackedSamples::ReconstructionChecksum() const { return ChecksumOf(recon_); }

}  // namespace ftc

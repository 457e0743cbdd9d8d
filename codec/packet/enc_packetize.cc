// Packet mode, sender side: cuts every sample into bands and codes groups of bands as
// independently decodable packets of at most PacketOptions::packet_size bytes.
// docs/format.md, "Packets" (the grouping algorithm is in "How ftcodec's encoder forms packets").
//
// The codec's encoder half (codec/core/band_codec.h) prepares every sample once (ans quantizes
// it, learned reduces it to its code); packets then code subsets of its bands through it. This
// file knows no codec. All decisions compare sizes of packets actually built, so they are as
// deterministic as the coder.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "base/byte_io.h"
#include "base/crc32c.h"
#include "base/parallel.h"
#include "base/status_macros.h"
#include "bitstream/packet.h"
#include "codec/core/codec.h"
#include "ftcodec/packet.h"

namespace ftc {

Status PacketOptions::Validate() const {
  if (packet_size < static_cast<int>(kMinPacketSizeOption) ||
      packet_size > static_cast<int>(kMaxPacketSize)) {
    return FTC_INVALID("packet size %d out of range %zu..%zu bytes", packet_size,
                       kMinPacketSizeOption, kMaxPacketSize);
  }
  return Status::Ok();
}

namespace {

// One sample, prepared by the codec's encoder half.
struct SampleSource {
  std::unique_ptr<BandSample> bands;
};

Status CodecParams(const SampleSource& src, uint32_t band_rows, std::vector<uint8_t>* out) {
  return src.bands->WriteParams(band_rows, out);
}

Status BuildSections(const SampleSource& src, const BandLayout& layout,
                     const std::vector<uint32_t>& bands, std::vector<Section>* out) {
  return src.bands->CodeBands(layout, bands, out);
}

// Builds packets of one sample for the fitting decisions and the final output.
class SamplePacketizer {
 public:
  SamplePacketizer(const SampleSource& src, const PacketHeader& base, const BandLayout& layout,
                   size_t limit)
      : src_(src), base_(base), layout_(layout), limit_(limit) {}

  // Builds the packet of `bands` with the largest header values (docs/format.md) into *packet;
  // *fits says whether it is within the size limit.
  Status Trial(const std::vector<uint32_t>& bands, bool* fits, std::vector<Section>* sections) {
    FTC_RETURN_IF_ERROR(BuildSections(src_, layout_, bands, sections));
    PacketHeader h = base_;
    h.packet_index = h.packet_count = h.first_band = h.band_count = layout_.total;
    scratch_.clear();
    WritePacket(h, *sections, &scratch_);
    *fits = scratch_.size() <= limit_;
    last_size_ = scratch_.size();
    return Status::Ok();
  }
  size_t last_size() const { return last_size_; }

 private:
  const SampleSource& src_;
  const PacketHeader& base_;
  const BandLayout& layout_;
  size_t limit_;
  std::vector<uint8_t> scratch_;
  size_t last_size_ = 0;
};

std::vector<uint32_t> Range(uint32_t first, uint32_t count) {
  std::vector<uint32_t> v(count);
  for (uint32_t i = 0; i < count; ++i) v[i] = first + i;
  return v;
}

// Whether every band of the sample fits alone in a packet; names the first that does not.
Status EveryBandFits(const SampleSource& src, const PacketHeader& base, const BandLayout& layout,
                     size_t limit, bool* all_fit, uint32_t* bad_band, size_t* bad_size) {
  SamplePacketizer pk(src, base, layout, limit);
  std::vector<Section> sections;
  *all_fit = true;
  for (uint32_t b = 0; b < layout.total; ++b) {
    bool fits = false;
    FTC_RETURN_IF_ERROR(pk.Trial({b}, &fits, &sections));
    if (!fits) {
      *all_fit = false;
      *bad_band = b;
      *bad_size = pk.last_size();
      return Status::Ok();
    }
  }
  return Status::Ok();
}

struct PlannedPacket {
  uint32_t first_band = 0;
  uint32_t band_count = 0;
  std::vector<Section> sections;
};

// Contiguous layout: greedy fill by doubling then bisection.
Status PlanContiguous(SamplePacketizer* pk, const BandLayout& layout,
                      std::vector<PlannedPacket>* plan) {
  uint32_t b = 0;
  std::vector<Section> sections, good_sections;
  while (b < layout.total) {
    const uint32_t left = layout.total - b;
    bool fits = false;
    FTC_RETURN_IF_ERROR(pk->Trial(Range(b, 1), &fits, &good_sections));
    if (!fits) return FTC_INTERNAL("a single band does not fit after the band check");
    uint32_t good = 1, bad = 0;
    while (good < left) {
      const uint32_t m = std::min<uint32_t>(2 * good, left);
      FTC_RETURN_IF_ERROR(pk->Trial(Range(b, m), &fits, &sections));
      if (!fits) {
        bad = m;
        break;
      }
      good = m;
      good_sections.swap(sections);
    }
    while (bad != 0 && bad - good > 1) {
      const uint32_t mid = good + (bad - good) / 2;
      FTC_RETURN_IF_ERROR(pk->Trial(Range(b, mid), &fits, &sections));
      if (fits) {
        good = mid;
        good_sections.swap(sections);
      } else {
        bad = mid;
      }
    }
    PlannedPacket p;
    p.first_band = b;
    p.band_count = good;
    p.sections = std::move(good_sections);
    good_sections.clear();
    plan->push_back(std::move(p));
    b += good;
  }
  return Status::Ok();
}

// Interleaved layout: whether all P packets fit; fills *plan when they do.
Status TryInterleaved(SamplePacketizer* pk, const BandLayout& layout, uint32_t packet_count,
                      bool* fits, std::vector<PlannedPacket>* plan) {
  plan->clear();
  for (uint32_t k = 0; k < packet_count; ++k) {
    const std::vector<uint32_t> bands = InterleavedBands(k, packet_count, layout.total);
    PlannedPacket p;
    p.band_count = static_cast<uint32_t>(bands.size());
    FTC_RETURN_IF_ERROR(pk->Trial(bands, fits, &p.sections));
    if (!*fits) return Status::Ok();
    plan->push_back(std::move(p));
  }
  *fits = true;
  return Status::Ok();
}

Status PlanInterleaved(SamplePacketizer* pk, const BandLayout& layout, size_t limit,
                       std::vector<PlannedPacket>* plan) {
  bool fits = false;
  std::vector<Section> all;
  FTC_RETURN_IF_ERROR(pk->Trial(Range(0, layout.total), &fits, &all));
  const uint64_t p0 = std::min<uint64_t>(
      layout.total, std::max<uint64_t>(1, (pk->last_size() + limit - 1) / limit));
  uint32_t lo = static_cast<uint32_t>(p0), hi = lo;
  FTC_RETURN_IF_ERROR(TryInterleaved(pk, layout, hi, &fits, plan));
  if (fits) return Status::Ok();
  for (uint64_t step = 1;; step *= 2) {
    hi = static_cast<uint32_t>(std::min<uint64_t>(p0 + step, layout.total));
    FTC_RETURN_IF_ERROR(TryInterleaved(pk, layout, hi, &fits, plan));
    if (fits) break;
    if (hi == layout.total) return FTC_INTERNAL("one band per packet does not fit");
    lo = hi;
  }
  std::vector<PlannedPacket> trial;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    FTC_RETURN_IF_ERROR(TryInterleaved(pk, layout, mid, &fits, &trial));
    if (fits) {
      hi = mid;
      plan->swap(trial);
    } else {
      lo = mid;
    }
  }
  return Status::Ok();
}

// Band-rows candidates in the order docs/format.md gives.
std::vector<uint32_t> BandRowCandidates(int64_t h, bool interleave) {
  std::vector<uint32_t> c;
  if (!(interleave && h >= 2)) c.push_back(0);
  for (int64_t d = 2;; d *= 2) {
    const int64_t r = (h + d - 1) / d;
    if (r < h && (c.empty() || c.back() != static_cast<uint32_t>(r))) {
      c.push_back(static_cast<uint32_t>(r));
    }
    if (r <= 1) break;
  }
  if (c.empty()) c.push_back(0);  // H == 1 with interleave: one row per band is a whole channel
  return c;
}

Result<std::vector<Bytes>> EncodePackets(const TensorView& tensor, const EncoderOptions& options,
                                         const PacketOptions& popts) {
  FTC_RETURN_IF_ERROR(options.Validate());
  FTC_RETURN_IF_ERROR(popts.Validate());
  FTC_RETURN_IF_ERROR(tensor.Validate());
  FTC_RETURN_IF_ERROR(CheckTensorLimits(tensor));
  FTC_ASSIGN_OR_RETURN(const CodecEncoder* codec, FindEncoderByName(options.codec));
  if (codec->band_encoder == nullptr) {  // the codec's own declaration (codec/core/codec.h)
    std::string able;
    for (const CodecEncoder* c : BuiltinEncoders()) {
      if (c->band_encoder != nullptr) able += std::string(able.empty() ? "" : ", ") + c->name;
    }
    return FTC_INVALID("codec %s cannot be packetized (packet mode supports --codec %s)",
                       codec->name, able.c_str());
  }
  FTC_ASSIGN_OR_RETURN(std::unique_ptr<BandEncoder> encoder,
                       codec->band_encoder(options, tensor.dtype));
  const Shape shape = tensor.shape_vector();
  const SampleShape sample = encoder->Coded(SampleShapeOf(shape));
  const int64_t n = tensor.rank == 4 ? shape[0] : 1;
  const size_t limit = static_cast<size_t>(popts.packet_size);

  std::vector<SampleSource> sources(static_cast<size_t>(n));
  FTC_RETURN_IF_ERROR(ParallelFor(n, options.threads, [&](int64_t i) -> Status {
    Result<std::unique_ptr<BandSample>> prepared = encoder->Prepare(SampleView(tensor, i));
    if (prepared.ok()) {
      sources[static_cast<size_t>(i)].bands = std::move(*prepared);
      return Status::Ok();
    }
    const Status& s = prepared.status();
    return n > 1 ? s.WithContext(StrFormat("sample %lld", static_cast<long long>(i))) : s;
  }));

  PacketHeader base;
  base.flags = popts.interleave ? kPacketFlagInterleaved : 0;
  base.dtype = tensor.dtype;
  base.shape = shape;
  base.codec_id = codec->id;
  base.frame_count = static_cast<uint32_t>(n);
  auto header_for = [&](int64_t i, uint32_t band_rows, PacketHeader* h) {
    *h = base;
    h->frame_index = static_cast<uint32_t>(i);
    h->band_rows = band_rows;
    return CodecParams(sources[static_cast<size_t>(i)], band_rows, &h->params);
  };

  // 1. Band rows: the first candidate whose every band fits alone, in every sample.
  std::vector<uint32_t> candidates;
  if (popts.auto_band_rows) {
    candidates = BandRowCandidates(sample.h, popts.interleave);
  } else {
    const int r = options.band_rows;
    candidates.push_back(r <= 0 || r >= sample.h ? 0 : static_cast<uint32_t>(r));
  }
  uint32_t band_rows = 0;
  bool found = false;
  std::vector<uint32_t> bad_band(static_cast<size_t>(n));
  std::vector<size_t> bad_size(static_cast<size_t>(n));
  std::vector<uint8_t> sample_fits(static_cast<size_t>(n));
  for (uint32_t r : candidates) {
    const BandLayout layout = BandLayout::Of(sample, r);
    FTC_RETURN_IF_ERROR(ParallelFor(n, options.threads, [&](int64_t i) -> Status {
      PacketHeader h;
      FTC_RETURN_IF_ERROR(header_for(i, r, &h));
      bool fits = false;
      Status s =
          EveryBandFits(sources[static_cast<size_t>(i)], h, layout, limit, &fits,
                        &bad_band[static_cast<size_t>(i)], &bad_size[static_cast<size_t>(i)]);
      sample_fits[static_cast<size_t>(i)] = fits;
      return s;
    }));
    int64_t first_bad = -1;
    for (int64_t i = 0; i < n && first_bad < 0; ++i) {
      if (!sample_fits[static_cast<size_t>(i)]) first_bad = i;
    }
    if (first_bad < 0) {
      band_rows = r;
      found = true;
      break;
    }
    if (r == candidates.back()) {
      const size_t k = static_cast<size_t>(first_bad);
      const bool fewer_rows = r > 1 || (r == 0 && sample.h > 1);
      return FTC_INVALID(
          "sample %lld: band %u (%u rows of %lld elements) needs a packet of %zu bytes, more "
          "than the packet size %d: use %sa larger --packet-size%s",
          static_cast<long long>(first_bad), bad_band[k], layout.rows_of(bad_band[k]),
          static_cast<long long>(sample.w), bad_size[k], popts.packet_size,
          fewer_rows ? "--band-rows 1 or " : "", encoder->SmallerBandHint());
    }
  }
  if (!found) return FTC_INTERNAL("no band rows chosen");
  const BandLayout layout = BandLayout::Of(sample, band_rows);

  // 2./3. Group bands into packets, per sample.
  std::vector<std::vector<Bytes>> packets(static_cast<size_t>(n));
  FTC_RETURN_IF_ERROR(ParallelFor(n, options.threads, [&](int64_t i) -> Status {
    PacketHeader h;
    FTC_RETURN_IF_ERROR(header_for(i, band_rows, &h));
    SamplePacketizer pk(sources[static_cast<size_t>(i)], h, layout, limit);
    std::vector<PlannedPacket> plan;
    if (popts.interleave) {
      FTC_RETURN_IF_ERROR(PlanInterleaved(&pk, layout, limit, &plan));
    } else {
      FTC_RETURN_IF_ERROR(PlanContiguous(&pk, layout, &plan));
    }
    std::vector<Bytes>& out = packets[static_cast<size_t>(i)];
    for (size_t k = 0; k < plan.size(); ++k) {
      PacketHeader ph = h;
      ph.packet_index = static_cast<uint32_t>(k);
      ph.packet_count = static_cast<uint32_t>(plan.size());
      ph.first_band = plan[k].first_band;
      ph.band_count = plan[k].band_count;
      ph.stream_id = 0;
      Bytes p;
      WritePacket(ph, plan[k].sections, &p);
      if (p.size() > limit) return FTC_INTERNAL("packet of %zu bytes above the limit", p.size());
      out.push_back(std::move(p));
    }
    return Status::Ok();
  }));

  // Stream id: the caller's, or a CRC32C of the packets written with id 0, minus checksums.
  uint32_t id = 0;
  if (popts.stream_id) {
    id = *popts.stream_id;
  } else {
    for (const std::vector<Bytes>& frame : packets) {
      for (const Bytes& p : frame) id = Crc32cExtend(id, p.data(), p.size() - 4);
    }
  }
  std::vector<Bytes> all;
  for (std::vector<Bytes>& frame : packets) {
    for (Bytes& p : frame) {
      SetPacketStreamId(id, &p);
      all.push_back(std::move(p));
    }
  }
  return all;
}

}  // namespace

Result<std::vector<Bytes>> encode_packets(const TensorView& tensor, const EncoderOptions& options,
                                          const PacketOptions& packet_options) {
  return CatchExceptions("encode_packets",
                         [&] { return EncodePackets(tensor, options, packet_options); });
}

Status encode_packets(const TensorView& tensor, const EncoderOptions& options,
                      const PacketOptions& packet_options, const PacketSink& sink) {
  FTC_ASSIGN_OR_RETURN(std::vector<Bytes> packets, encode_packets(tensor, options, packet_options));
  for (const Bytes& p : packets) sink(p.data(), p.size());
  return Status::Ok();
}

Status encode_packets(const TensorView& tensor, const EncoderOptions& options,
                      const PacketSink& sink) {
  return encode_packets(tensor, options, PacketOptions(), sink);
}

}  // namespace ftc

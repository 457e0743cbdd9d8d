// Packet mode, sender side: cuts every sample into bands and codes groups of bands as
// independently decodable packets of at most PacketOptions::packet_size bytes.
// docs/format.md, "Packets" (the grouping algorithm is in "How ftcodec's encoder forms packets").
//
// Every sample is quantized (or split into byte planes) once; packets then entropy-code subsets
// of its bands. Codec learned first reduces each sample to its code with the learned unit, and
// the code is packetized as an ans tensor ("Learned packets"). All decisions compare sizes of
// packets actually built, so they are as deterministic as the coder.
#include <algorithm>
#include <cstring>
#include <string>

#include "base/byte_io.h"
#include "base/crc32c.h"
#include "base/parallel.h"
#include "base/status_macros.h"
#include "bitstream/packet.h"
#include "bitstream/symbol_coder.h"
#include "codec/ans/ans_common.h"
#include "codec/ans/ans_internal.h"
#include "codec/core/codec.h"
#include "codec/learned/learned_codec.h"
#include "codec/packet/packet_internal.h"
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

constexpr uint8_t kRawCodecId = 0;
constexpr uint8_t kAnsCodecId = 1;
constexpr uint8_t kRawDataSection = 1;

// What one sample offers the packetizer: its symbols (ans, learned) or stored bytes (raw).
struct SampleSource {
  SampleShape shape;  // the sample the bands cut (learned: the code)
  uint8_t codec_id = 0;
  ans::SamplePlanes planes;        // ans; learned: the code's
  learned::LearnedParams learned;  // learned: every field but inner_params
  uint8_t raw_stored = 0;          // raw: Stored_DType
  std::vector<uint8_t> raw;        // raw: every element in C order, as Stored_DType
};

// Codec learned: the unit and the inner ans options (as the learned codec builds them).
struct LearnedSetup {
  learned::UnitPtr unit;
  EncoderOptions inner;
};

Status MakeSource(const TensorView& sample, const EncoderOptions& o, const Codec& codec,
                  const LearnedSetup& ls, SampleSource* src) {
  src->shape = {sample.shape[0], sample.shape[1], sample.shape[2]};
  src->codec_id = codec.id;
  if (codec.id == kAnsCodecId) return ans::MakeSamplePlanes(sample, o, &src->planes);
  if (codec.id == learned::kCodecId) {
    Tensor code;
    FTC_RETURN_IF_ERROR(learned::ReduceSample(*ls.unit, o.unit, sample, &code));
    src->shape = ls.unit->code_shape();
    src->learned.unit_hash = ls.unit->hash();
    src->learned.inner_id = learned::kInnerAns;
    src->learned.code = src->shape;
    return ans::MakeSamplePlanes(code.view(), ls.inner, &src->planes);
  }
  CodecEncodeOutput out;
  FTC_RETURN_IF_ERROR(codec.encode(sample, o, &out));
  if (out.params.size() != 1 || out.sections.size() != 1) {
    return FTC_INTERNAL("raw codec output has an unexpected layout");
  }
  src->raw_stored = out.params[0];
  src->raw = std::move(out.sections[0].payload);
  return Status::Ok();
}

Status CodecParams(const SampleSource& src, uint32_t band_rows, std::vector<uint8_t>* out) {
  out->clear();
  if (src.codec_id == kRawCodecId) {
    out->push_back(src.raw_stored);
    return Status::Ok();
  }
  ans::AnsParams p = src.planes.params;
  p.band_rows = band_rows;
  if (src.codec_id == kAnsCodecId) {
    ans::WriteParams(p, out);
    return Status::Ok();
  }
  learned::LearnedParams lp = src.learned;
  ans::WriteParams(p, &lp.inner_params);
  return learned::WriteLearnedParams(lp, out);
}

// Section kinds of a packet: ans's, or in a learned packet 16 + ans's (as in learned frames).
uint8_t SectionKind(const SampleSource& src, uint8_t ans_kind) {
  return src.codec_id == learned::kCodecId ? learned::InnerSectionKind(learned::kInnerAns, ans_kind)
                                           : ans_kind;
}

// The packet sections for `bands` (increasing) of a sample.
Status BuildSections(const SampleSource& src, const BandLayout& layout,
                     const std::vector<uint32_t>& bands, std::vector<Section>* out) {
  out->clear();
  if (src.codec_id == kRawCodecId) {
    const size_t es = DTypeSize(static_cast<DType>(src.raw_stored));
    Section s;
    s.kind = kRawDataSection;
    for (uint32_t b : bands) {
      const uint8_t* p = src.raw.data() + static_cast<size_t>(layout.offset(b)) * es;
      s.payload.insert(s.payload.end(), p, p + static_cast<size_t>(layout.elements(b)) * es);
    }
    out->push_back(std::move(s));
    return Status::Ok();
  }
  const ans::SamplePlanes& sp = src.planes;
  if (sp.params.mode == ans::Mode::kQuantized) {
    Section ranges;
    ranges.kind = SectionKind(src, ans::kRangesSection);
    ByteWriter w(&ranges.payload);
    if (sp.params.per_channel()) {
      for (uint32_t c : ChannelsOfBands(layout, bands)) {
        w.F32(sp.ranges[c].lo);
        w.F32(sp.ranges[c].hi);
      }
    } else {
      w.F32(sp.ranges[0].lo);
      w.F32(sp.ranges[0].hi);
    }
    out->push_back(std::move(ranges));
  }
  std::vector<BandShape> shapes;
  int64_t elements = 0;
  for (uint32_t b : bands) {
    shapes.push_back({layout.rows_of(b), static_cast<uint32_t>(layout.sample.w)});
    elements += layout.elements(b);
  }
  std::vector<uint16_t> symbols(static_cast<size_t>(elements));
  for (const std::vector<uint16_t>& plane : sp.planes) {
    size_t pos = 0;
    for (uint32_t b : bands) {
      const size_t n = static_cast<size_t>(layout.elements(b));
      std::memcpy(symbols.data() + pos, plane.data() + layout.offset(b), n * sizeof(uint16_t));
      pos += n;
    }
    Section s;
    s.kind = SectionKind(
        src, sp.params.mode == ans::Mode::kQuantized ? ans::kSymbolsSection : ans::kPlaneSection);
    FTC_RETURN_IF_ERROR(EncodeSymbolSegment(symbols.data(), shapes, sp.alphabet_bits, &s.payload));
    out->push_back(std::move(s));
  }
  return Status::Ok();
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

}  // namespace

std::vector<uint32_t> ChannelsOfBands(const BandLayout& layout,
                                      const std::vector<uint32_t>& bands) {
  std::vector<uint32_t> channels;
  for (uint32_t b : bands) {
    const uint32_t c = layout.channel(b);
    if (channels.empty() || channels.back() != c) channels.push_back(c);
  }
  return channels;
}

namespace {

Result<std::vector<Bytes>> EncodePackets(const TensorView& tensor, const EncoderOptions& options,
                                         const PacketOptions& popts) {
  FTC_RETURN_IF_ERROR(options.Validate());
  FTC_RETURN_IF_ERROR(popts.Validate());
  FTC_RETURN_IF_ERROR(tensor.Validate());
  FTC_RETURN_IF_ERROR(CheckTensorLimits(tensor));
  FTC_ASSIGN_OR_RETURN(const Codec* codec, FindCodecByName(options.codec));
  if (codec->packet_sample == nullptr) {  // the codec's own declaration (codec/core/codec.h)
    std::string able;
    for (const Codec* c : BuiltinCodecs()) {
      if (c->packet_sample != nullptr) able += std::string(able.empty() ? "" : ", ") + c->name;
    }
    return FTC_INVALID("codec %s cannot be packetized (packet mode supports --codec %s)",
                       codec->name, able.c_str());
  }
  const bool is_learned = codec->id == learned::kCodecId;
  LearnedSetup ls;
  if (is_learned) {
    if (!options.inner.empty() && options.inner != "ans") {
      return FTC_INVALID(
          "learned: packet mode needs --inner ans (packets cut the code into "
          "bands of an ans stream; --inner %s cannot be packetized)",
          options.inner.c_str());
    }
    // --band-rows is the code's in packet mode; the frame codec's option check refuses it.
    EncoderOptions check = options;
    check.band_rows = 0;
    FTC_RETURN_IF_ERROR(codec->check_options(check, tensor.dtype));
    FTC_ASSIGN_OR_RETURN(ls.unit, learned::LoadUnit(options.unit));
    const std::string inner = learned::InnerName(options, *ls.unit);
    if (inner != "ans") {
      return FTC_INVALID(
          "unit %s was trained for inner codec '%s'; packet mode needs --inner ans "
          "(and --bits)",
          options.unit.c_str(), inner.c_str());
    }
    FTC_ASSIGN_OR_RETURN(learned::InnerSetting setting, learned::ResolveInner(options, *ls.unit));
    ls.inner = setting.options;
    ls.inner.threads = 1;
  } else {
    FTC_RETURN_IF_ERROR(codec->check_options(options, tensor.dtype));
  }
  const Shape shape = tensor.shape_vector();
  const SampleShape sample = is_learned ? ls.unit->code_shape() : SampleShapeOf(shape);
  const int64_t n = tensor.rank == 4 ? shape[0] : 1;
  const size_t limit = static_cast<size_t>(popts.packet_size);

  std::vector<SampleSource> sources(static_cast<size_t>(n));
  FTC_RETURN_IF_ERROR(ParallelFor(n, options.threads, [&](int64_t i) -> Status {
    Status s =
        MakeSource(SampleView(tensor, i), options, *codec, ls, &sources[static_cast<size_t>(i)]);
    return n > 1 && !s.ok() ? s.WithContext(StrFormat("sample %lld", static_cast<long long>(i)))
                            : s;
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
          fewer_rows ? "--band-rows 1 or " : "",
          (codec->id == kAnsCodecId && !options.lossless) || is_learned ? " (or fewer --bits)"
                                                                        : "");
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

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
#include <optional>
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
  if (parameter_set_interval < 1 || parameter_set_interval > 65535) {
    return FTC_INVALID("parameter set interval %d out of range 1..65535 data packets",
                       parameter_set_interval);
  }
  if (frame_interleave < 1 || frame_interleave > 256) {
    return FTC_INVALID("frame interleave %d out of range 1..256 frames", frame_interleave);
  }
  if (parameter_sets < 1 || parameter_sets > 65535) {
    return FTC_INVALID("parameter sets %d out of range 1..65535", parameter_sets);
  }
  return Status::Ok();
}

namespace {

// Builds packets of one sample for the fitting decisions and the final output.
class SamplePacketizer {
 public:
  SamplePacketizer(const BandSample& src, const PacketHeader& base, const BandLayout& layout,
                   const SymbolModel* model, size_t limit)
      : src_(src), base_(base), layout_(layout), model_(model), limit_(limit) {}

  // Builds the packet of `bands` with the largest header values (docs/format.md) into *packet;
  // *fits says whether it is within the size limit.
  Status Trial(const std::vector<uint32_t>& bands, bool* fits, std::vector<Section>* sections) {
    FTC_RETURN_IF_ERROR(src_.CodeBands(layout_, bands, model_, sections));
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
  const BandSample& src_;  // the sample, prepared by the codec's encoder half
  const PacketHeader& base_;
  const BandLayout& layout_;
  const SymbolModel* model_;  // the stream's shared model, or null
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
Status EveryBandFits(const BandSample& src, const PacketHeader& base, const BandLayout& layout,
                     const SymbolModel* model, size_t limit, bool* all_fit, uint32_t* bad_band,
                     size_t* bad_size) {
  SamplePacketizer pk(src, base, layout, model, limit);
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
    // Caught by the band check of a tensor; a live stream's later samples skip that check.
    if (!fits) return FTC_LIMIT("band %u alone does not fit a packet", b);
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
    if (hi == layout.total) return FTC_LIMIT("a band alone does not fit a packet");
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
  // Interleaved: one row per band (H == 1: the whole channel is that row), so that a lost packet
  // takes single rows of many channels.
  if (interleave) return {h >= 2 ? 1u : 0u};
  std::vector<uint32_t> c;
  c.push_back(0);
  for (int64_t d = 2;; d *= 2) {
    const int64_t r = (h + d - 1) / d;
    if (r < h && (c.empty() || c.back() != static_cast<uint32_t>(r))) {
      c.push_back(static_cast<uint32_t>(r));
    }
    if (r <= 1) break;
  }
  return c;
}

// The encoder half of the tensor's codec, opened: kInvalidArgument (listing the codecs that
// packetize) for a codec that does not.
Result<std::unique_ptr<BandEncoder>> OpenBandEncoder(const EncoderOptions& options, DType dtype,
                                                     const CodecEncoder** codec_out) {
  FTC_ASSIGN_OR_RETURN(const CodecEncoder* codec, FindEncoderByName(options.codec));
  if (codec->band_encoder == nullptr) {  // the codec's own declaration (codec/core/codec.h)
    std::string able;
    for (const CodecEncoder* c : BuiltinEncoders()) {
      if (c->band_encoder != nullptr) able += std::string(able.empty() ? "" : ", ") + c->name;
    }
    return FTC_INVALID("codec %s cannot be packetized (packet mode supports --codec %s)",
                       codec->name, able.c_str());
  }
  *codec_out = codec;
  return codec->band_encoder(options, dtype);
}

// One tensor's packets: every sample prepared once, then the band rows chosen for all samples,
// then each sample's bands grouped into packets.
class TensorPacketizer {
 public:
  TensorPacketizer(const TensorView& tensor, const EncoderOptions& options,
                   const PacketOptions& popts, const CodecEncoder& codec,
                   const BandEncoder& encoder)
      : tensor_(tensor), options_(options), popts_(popts), encoder_(encoder) {
    const Shape shape = tensor.shape_vector();
    sample_ = encoder.Coded(SampleShapeOf(shape));
    n_ = tensor.rank == 4 ? shape[0] : 1;
    limit_ = static_cast<size_t>(popts.packet_size);
    base_.flags = popts.interleave ? kPacketFlagInterleaved : 0;
    base_.dtype = tensor.dtype;
    base_.shape = shape;
    base_.codec_id = codec.id;
    base_.frame_count = static_cast<uint32_t>(n_);
  }

  // A live stream's sample (docs/format.md, "Live streams"): Frame_Count 0, the frame index
  // and parameter set given.
  void SetLive(uint32_t frame_index, uint8_t set_id) {
    base_.frame_count = 0;
    base_.set_id = set_id;
    frame_offset_ = frame_index;
  }

  Status PrepareSamples() {
    sources_.resize(static_cast<size_t>(n_));
    return ParallelFor(n_, options_.threads, [&](int64_t i) -> Status {
      Result<std::unique_ptr<BandSample>> prepared = encoder_.Prepare(SampleView(tensor_, i));
      if (prepared.ok()) {
        sources_[static_cast<size_t>(i)] = std::move(*prepared);
        return Status::Ok();
      }
      const Status& s = prepared.status();
      return n_ > 1 ? s.WithContext(StrFormat("sample %lld", static_cast<long long>(i))) : s;
    });
  }

  // The stream's shared symbol model for `layout`: fitted on every band of every sample, or
  // none if the codec's packets carry no symbols it could code.
  Result<std::optional<SymbolModel>> FitModel(const BandLayout& layout) const {
    std::vector<uint16_t> symbols;
    std::vector<BandShape> shapes;
    int bits = 0;
    for (const std::unique_ptr<BandSample>& s : sources_) {
      if (!s->SharedModelSymbols(layout, &symbols, &shapes, &bits)) {
        return std::optional<SymbolModel>();
      }
    }
    FTC_ASSIGN_OR_RETURN(SymbolModel m, SymbolModel::Fit(symbols.data(), shapes, bits));
    return std::optional<SymbolModel>(std::move(m));
  }

  // 1. Band rows: the first candidate whose every band fits alone, in every sample; and the
  // stream's shared model for them.
  // `use_model` false: no shared model (self-contained segments).
  Status ChooseBandRows(bool use_model, uint32_t* band_rows,
                        std::optional<SymbolModel>* model) const {
    std::vector<uint32_t> candidates;
    if (popts_.auto_band_rows) {
      candidates = BandRowCandidates(sample_.h, popts_.interleave);
    } else {
      const int r = options_.band_rows;
      candidates.push_back(r <= 0 || r >= sample_.h ? 0 : static_cast<uint32_t>(r));
    }
    const size_t n = static_cast<size_t>(n_);
    std::vector<uint32_t> bad_band(n);
    std::vector<size_t> bad_size(n);
    std::vector<uint8_t> sample_fits(n);
    for (uint32_t r : candidates) {
      const BandLayout layout = BandLayout::Of(sample_, r);
      model->reset();
      if (use_model) {
        FTC_ASSIGN_OR_RETURN(*model, FitModel(layout));
        // A parameter set that would not fit the packet size goes without the model.
        Bytes ps;
        if (*model && !ParameterSet(r, &**model, &ps).ok()) model->reset();
      }
      const SymbolModel* m = *model ? &**model : nullptr;
      FTC_RETURN_IF_ERROR(ParallelFor(n_, options_.threads, [&](int64_t i) -> Status {
        const size_t k = static_cast<size_t>(i);
        PacketHeader h;
        FTC_RETURN_IF_ERROR(HeaderFor(i, r, &h));
        bool fits = false;
        Status s =
            EveryBandFits(*sources_[k], h, layout, m, limit_, &fits, &bad_band[k], &bad_size[k]);
        sample_fits[k] = fits;
        return s;
      }));
      const size_t first_bad =
          std::find(sample_fits.begin(), sample_fits.end(), 0) - sample_fits.begin();
      if (first_bad == n) {
        *band_rows = r;
        return Status::Ok();
      }
      if (r == candidates.back()) {
        const bool fewer_rows = r > 1 || (r == 0 && sample_.h > 1);
        return FTC_INVALID(
            "sample %lld: band %u (%u rows of %lld elements) needs a packet of %zu bytes, more "
            "than the packet size %d: use %sa larger --packet-size%s",
            static_cast<long long>(first_bad), bad_band[first_bad],
            layout.rows_of(bad_band[first_bad]), static_cast<long long>(sample_.w),
            bad_size[first_bad], popts_.packet_size, fewer_rows ? "--band-rows 1 or " : "",
            encoder_.SmallerBandHint());
      }
    }
    return FTC_INTERNAL("no band rows chosen");
  }

  // The stream's parameter set (Stream_Id 0): every sample's codec parameters must agree.
  Status ParameterSet(uint32_t band_rows, const SymbolModel* model, Bytes* out) const {
    PacketHeader first;
    FTC_RETURN_IF_ERROR(HeaderFor(0, band_rows, &first));
    for (int64_t i = 1; i < n_; ++i) {
      PacketHeader h;
      FTC_RETURN_IF_ERROR(HeaderFor(i, band_rows, &h));
      if (h.params != first.params) {
        return FTC_INTERNAL("sample %lld: codec parameters differ from sample 0's",
                            static_cast<long long>(i));
      }
    }
    first.stream_id = 0;
    if (model) first.shared_model = model->bytes();
    out->clear();
    WriteParameterSet(first, out);
    if (out->size() > limit_) {
      return FTC_INVALID("the parameter set needs %zu bytes, more than the packet size %d",
                         out->size(), popts_.packet_size);
    }
    return Status::Ok();
  }

  // 2./3. Groups the bands of every sample into packets (Stream_Id 0).
  Status GroupBands(uint32_t band_rows, const SymbolModel* model,
                    std::vector<std::vector<Bytes>>* packets) const {
    const BandLayout layout = BandLayout::Of(sample_, band_rows);
    packets->assign(static_cast<size_t>(n_), {});
    return ParallelFor(n_, options_.threads, [&](int64_t i) -> Status {
      PacketHeader h;
      FTC_RETURN_IF_ERROR(HeaderFor(i, band_rows, &h));
      SamplePacketizer pk(*sources_[static_cast<size_t>(i)], h, layout, model, limit_);
      std::vector<PlannedPacket> plan;
      if (popts_.interleave) {
        FTC_RETURN_IF_ERROR(PlanInterleaved(&pk, layout, limit_, &plan));
      } else {
        FTC_RETURN_IF_ERROR(PlanContiguous(&pk, layout, &plan));
      }
      std::vector<Bytes>& out = (*packets)[static_cast<size_t>(i)];
      for (size_t k = 0; k < plan.size(); ++k) {
        PacketHeader ph = h;
        ph.packet_index = static_cast<uint32_t>(k);
        ph.packet_count = static_cast<uint32_t>(plan.size());
        ph.first_band = plan[k].first_band;
        ph.band_count = plan[k].band_count;
        ph.stream_id = 0;
        Bytes p;
        WritePacket(ph, plan[k].sections, &p);
        if (p.size() > limit_) {
          return FTC_INTERNAL("packet of %zu bytes above the limit", p.size());
        }
        out.push_back(std::move(p));
      }
      return Status::Ok();
    });
  }

 private:
  Status HeaderFor(int64_t i, uint32_t band_rows, PacketHeader* h) const {
    *h = base_;
    h->frame_index = frame_offset_ + static_cast<uint32_t>(i);
    h->band_rows = band_rows;
    return sources_[static_cast<size_t>(i)]->WriteParams(band_rows, &h->params);
  }

  const TensorView& tensor_;
  const EncoderOptions& options_;
  const PacketOptions& popts_;
  const BandEncoder& encoder_;
  SampleShape sample_;  // the sample the bands cut
  int64_t n_ = 1;
  size_t limit_ = 0;
  PacketHeader base_;
  uint32_t frame_offset_ = 0;  // a live stream: the sample's Frame_Index
  std::vector<std::unique_ptr<BandSample>> sources_;
};

// The sending order (docs/format.md, "How ftcodec's encoder forms packets", step 5): the data
// packets frame by frame, with the parameter set before data packets 0, I, 2I, … and, when that
// makes fewer than R copies, before data packets floor(j·D/R) too.
std::vector<Bytes> SendingOrder(const PacketOptions& popts, const Bytes& parameter_set,
                                std::vector<std::vector<Bytes>>* packets) {
  // Data packets: frames in groups of K, each group's packets round robin over its frames
  // (packet 0 of every frame of the group, then packet 1, ...); K = 1: frame after frame.
  std::vector<Bytes> data;
  const size_t k_frames = static_cast<size_t>(popts.frame_interleave);
  for (size_t g = 0; g < packets->size(); g += k_frames) {
    const size_t end = std::min(packets->size(), g + k_frames);
    size_t most = 0;
    for (size_t f = g; f < end; ++f) most = std::max(most, (*packets)[f].size());
    for (size_t k = 0; k < most; ++k) {
      for (size_t f = g; f < end; ++f) {
        if (k < (*packets)[f].size()) data.push_back(std::move((*packets)[f][k]));
      }
    }
  }
  const uint64_t d = data.size(), interval = static_cast<uint64_t>(popts.parameter_set_interval);
  const uint64_t r = static_cast<uint64_t>(popts.parameter_sets);
  std::vector<uint8_t> before(d + 1, 0);
  uint64_t copies = 0;
  for (uint64_t k = 0; k < std::max<uint64_t>(d, 1); k += interval) before[k] = 1, ++copies;
  if (copies < r) {
    for (uint64_t j = 1; j < r; ++j) before[j * d / r] = 1;
  }
  std::vector<Bytes> all;
  for (uint64_t k = 0; k <= d; ++k) {
    if (before[k]) all.push_back(parameter_set);
    if (k < d) all.push_back(std::move(data[k]));
  }
  return all;
}

// Stream id: the caller's, or a CRC32C of the packets written with id 0, minus checksums.
void StampStreamId(const PacketOptions& popts, std::vector<Bytes>* packets) {
  uint32_t id = 0;
  if (popts.stream_id) {
    id = *popts.stream_id;
  } else {
    for (const Bytes& p : *packets) id = Crc32cExtend(id, p.data(), p.size() - 4);
  }
  for (Bytes& p : *packets) SetPacketStreamId(id, &p);
}

Result<std::vector<Bytes>> EncodePackets(const TensorView& tensor, const EncoderOptions& options,
                                         const PacketOptions& popts) {
  FTC_RETURN_IF_ERROR(options.Validate());
  FTC_RETURN_IF_ERROR(popts.Validate());
  FTC_RETURN_IF_ERROR(tensor.Validate());
  FTC_RETURN_IF_ERROR(CheckTensorLimits(tensor));
  const CodecEncoder* codec = nullptr;
  FTC_ASSIGN_OR_RETURN(std::unique_ptr<BandEncoder> encoder,
                       OpenBandEncoder(options, tensor.dtype, &codec));
  TensorPacketizer packetizer(tensor, options, popts, *codec, *encoder);
  FTC_RETURN_IF_ERROR(packetizer.PrepareSamples());
  // The stream with a shared symbol model where the codec has one; a short stream (fewer than
  // 4 data packets per copy of the parameter set) also without, and the smaller of the two.
  std::vector<Bytes> best;
  size_t best_bytes = 0;
  for (bool use_model : {true, false}) {
    uint32_t band_rows = 0;
    std::optional<SymbolModel> model;
    FTC_RETURN_IF_ERROR(packetizer.ChooseBandRows(use_model, &band_rows, &model));
    const SymbolModel* shared = model ? &*model : nullptr;
    Bytes parameter_set;
    FTC_RETURN_IF_ERROR(packetizer.ParameterSet(band_rows, shared, &parameter_set));
    std::vector<std::vector<Bytes>> packets;
    FTC_RETURN_IF_ERROR(packetizer.GroupBands(band_rows, shared, &packets));
    std::vector<Bytes> all = SendingOrder(popts, parameter_set, &packets);
    size_t bytes = 0, sets = 0;
    for (const Bytes& p : all) {
      bytes += p.size();
      sets += p[kPacketKindOffset] == kParameterSetKind ? 1 : 0;
    }
    const bool long_stream = all.size() - sets >= 4 * sets;
    if (best.empty() || bytes < best_bytes) {
      best = std::move(all);
      best_bytes = bytes;
    }
    if (shared == nullptr || long_stream) break;
  }
  StampStreamId(popts, &best);
  return best;
}

// Checksums excluded: what the default stream id is computed over.
uint32_t ExtendStreamCrc(uint32_t crc, const Bytes& packet) {
  return Crc32cExtend(crc, packet.data(), packet.size() - 4);
}

}  // namespace

// ---- live streams ----------------------------------------------------------------------------

struct LivePacketEncoder::Impl {
  EncoderOptions options;
  PacketOptions popts;
  const CodecEncoder* codec = nullptr;
  std::unique_ptr<BandEncoder> encoder;
  DType dtype = DType::kF32;
  Shape shape;
  int64_t samples = 0;
  uint64_t data_sent = 0;  // data packets so far
  uint32_t band_rows = 0;
  uint8_t set_id = 0;
  Bytes set_unstamped;  // the current parameter set, Stream_Id 0
  Bytes set;            // as sent
  uint32_t stream_id = 0;

  Result<std::vector<Bytes>> Encode(const TensorView& in) {
    FTC_RETURN_IF_ERROR(in.Validate());
    TensorView v = in;
    if (v.rank == 4) {
      if (v.shape[0] != 1) {
        return FTC_INVALID("a live stream codes one sample at a time: got %lld samples",
                           static_cast<long long>(v.shape[0]));
      }
      v = SampleView(in, 0);
    }
    FTC_RETURN_IF_ERROR(CheckTensorLimits(v));
    if (samples == 0) {
      FTC_RETURN_IF_ERROR(options.Validate());
      FTC_RETURN_IF_ERROR(popts.Validate());
      FTC_ASSIGN_OR_RETURN(encoder, OpenBandEncoder(options, v.dtype, &codec));
      dtype = v.dtype;
      shape = v.shape_vector();
    } else if (v.dtype != dtype || v.shape_vector() != shape) {
      return FTC_INVALID("sample %lld is %s %s; the live stream's samples are %s %s",
                         static_cast<long long>(samples), DTypeName(v.dtype),
                         ShapeToString(v.shape_vector()).c_str(), DTypeName(dtype),
                         ShapeToString(shape).c_str());
    }
    if (samples > int64_t{UINT32_MAX}) {
      return FTC_LIMIT("a live stream holds at most 2^32 samples: start another stream");
    }
    const uint32_t frame = static_cast<uint32_t>(samples);
    TensorPacketizer pk(v, options, popts, *codec, *encoder);
    pk.SetLive(frame, set_id);
    FTC_RETURN_IF_ERROR(pk.PrepareSamples());
    // The current parameter set while its parameters are the sample's and every band fits a
    // packet alone (the grouping finds a band that does not: kLimitExceeded); else a new one
    // (Set_Id + 1) with band rows chosen on this sample.
    bool keep = false;
    Bytes ps;
    uint32_t rows = band_rows;
    std::vector<std::vector<Bytes>> packets;
    if (samples > 0) {
      FTC_RETURN_IF_ERROR(pk.ParameterSet(band_rows, nullptr, &ps));
      keep = ps == set_unstamped;
      if (keep) {
        Status grouped = pk.GroupBands(rows, nullptr, &packets);
        if (grouped.code() == StatusCode::kLimitExceeded) {
          keep = false;
        } else {
          FTC_RETURN_IF_ERROR(grouped);
        }
      }
    }
    uint8_t next_set = set_id;
    if (!keep) {
      std::optional<SymbolModel> none;
      FTC_RETURN_IF_ERROR(pk.ChooseBandRows(false, &rows, &none));
      if (samples > 0) {
        next_set = static_cast<uint8_t>(set_id + 1);
        pk.SetLive(frame, next_set);
      }
      FTC_RETURN_IF_ERROR(pk.ParameterSet(rows, nullptr, &ps));
      FTC_RETURN_IF_ERROR(pk.GroupBands(rows, nullptr, &packets));
    }
    std::vector<Bytes> out;
    const uint64_t interval = static_cast<uint64_t>(popts.parameter_set_interval);
    uint64_t sent = data_sent;
    for (size_t k = 0; k < packets[0].size(); ++k) {
      if ((k == 0 && !keep) || sent % interval == 0) out.push_back(ps);
      out.push_back(std::move(packets[0][k]));
      ++sent;
    }
    uint32_t id = stream_id;
    if (samples == 0) {
      if (popts.stream_id) {
        id = *popts.stream_id;
      } else {
        id = ExtendStreamCrc(0, ps);
        for (const Bytes& p : out) {
          if (p[kPacketKindOffset] == kDataPacketKind) id = ExtendStreamCrc(id, p);
        }
      }
    }
    for (Bytes& p : out) SetPacketStreamId(id, &p);
    // Commit.
    stream_id = id;
    band_rows = rows;
    set_id = next_set;
    if (!keep) {
      set_unstamped = ps;
      set = ps;
      SetPacketStreamId(id, &set);
    }
    data_sent = sent;
    ++samples;
    return out;
  }
};

LivePacketEncoder::LivePacketEncoder(EncoderOptions options, PacketOptions packet_options)
    : impl_(new Impl) {
  impl_->options = std::move(options);
  impl_->popts = packet_options;
}
LivePacketEncoder::~LivePacketEncoder() = default;
LivePacketEncoder::LivePacketEncoder(LivePacketEncoder&&) noexcept = default;
LivePacketEncoder& LivePacketEncoder::operator=(LivePacketEncoder&&) noexcept = default;

Result<std::vector<Bytes>> LivePacketEncoder::encode(const TensorView& sample) {
  return CatchExceptions("LivePacketEncoder::encode", [&] { return impl_->Encode(sample); });
}
int64_t LivePacketEncoder::samples() const { return impl_->samples; }
uint32_t LivePacketEncoder::stream_id() const { return impl_->stream_id; }
const Bytes& LivePacketEncoder::parameter_set() const { return impl_->set; }

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

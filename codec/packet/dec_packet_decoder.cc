// Packet mode, receiver side: ftc::Decoder (include/ftcodec/packet.h).
//
// push() parses and checks a packet, checks it against the stream (the first accepted packet
// fixes the stream's shape and parameters) and decodes its bands at once into the frame's
// buffer; a packet is committed only after it decoded completely, so a bad packet never leaves
// a trace. finish() assembles the tensor, the loss mask and the counts and conceals. A learned
// stream carries the bands of each sample's code (an ans stream of the code): push() needs no
// unit; finish() conceals the code and then runs the restoration unit on every sample.
#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "bitstream/byte_io.h"
#include "bitstream/packet.h"
#include "bitstream/symbol_coder.h"
#include "codec/ans/ans_common.h"
#include "codec/ans/ans_internal.h"
#include "codec/core/status_macros.h"
#include "codec/learned/learned_codec.h"
#include "codec/packet/packet_internal.h"
#include "codec/quant/quant.h"
#include "ftcodec/packet.h"

namespace ftc {
namespace {

constexpr uint8_t kRawCodecId = 0;
constexpr uint8_t kRawDataSection = 1;

struct FrameState {
  uint32_t packet_count = 0;    // 0: no packet yet
  uint32_t packets = 0;         // accepted
  std::vector<float> values;    // the sample (allocated with the first packet)
  std::vector<uint32_t> owner;  // per band: accepting packet index + 1, 0 = not received
  // Packet_Index -> (checksum, size) of the accepted packet, to tell duplicates from conflicts.
  std::unordered_map<uint32_t, std::pair<uint32_t, size_t>> accepted;
};

float LoadStored(const uint8_t* p, DType t) {
  switch (t) {
    case DType::kF32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case DType::kF16:
      return F16ToF32(static_cast<uint16_t>(p[0] | (p[1] << 8)));
    case DType::kBF16:
      return BF16ToF32(static_cast<uint16_t>(p[0] | (p[1] << 8)));
    case DType::kU8:
      return static_cast<float>(p[0]);
  }
  return 0;
}

}  // namespace

struct Decoder::Impl {
  PacketDecoderOptions options;
  PacketStats stats;
  bool have_stream = false;
  PacketHeader stream;  // the first accepted packet's header
  SampleShape sample;   // the sample the bands cut (learned: the code)
  SampleShape original;  // the sample of the stream's shape
  BandLayout layout;
  ans::AnsParams ans;                               // codec ans; learned: the code's
  bool is_learned = false;
  learned::LearnedParams learned_params;            // codec learned
  uint8_t kind_base = 0;                            // section kinds: ans's + kind_base
  DType raw_stored = DType::kF32;                   // codec raw
  std::unordered_map<uint32_t, FrameState> frames;  // frames with at least one packet

  // Checks the stream-wide fields of the first packet (codec parameters, memory limits).
  Status AdoptStream(const ParsedPacket& p) {
    const PacketHeader& h = p.header;
    for (const SampleShape& s : {p.sample, p.coded}) {
      const int64_t e = s.elements();
      if (static_cast<int64_t>(h.frame_count) > options.max_tensor_elements / e) {
        return FTC_LIMIT(
            "packet: a tensor of %u × %lld elements exceeds the decoder's limit of "
            "%lld",
            h.frame_count, static_cast<long long>(e),
            static_cast<long long>(options.max_tensor_elements));
      }
    }
    if (h.codec_id == kRawCodecId) {
      if (h.params.size() != 1 || h.params[0] > static_cast<uint8_t>(DType::kU8)) {
        return FTC_CORRUPT("packet: invalid raw codec parameters");
      }
      raw_stored = static_cast<DType>(h.params[0]);
      if (raw_stored == DType::kU8 && h.dtype != DType::kU8) {
        return FTC_CORRUPT("packet: raw u8 storage of a %s tensor", DTypeName(h.dtype));
      }
    } else {
      const std::vector<uint8_t>* ans_params = &h.params;
      DType ans_dtype = h.dtype;
      if (h.codec_id == learned::kCodecId) {
        // ParsePacket checked the parameters (and that the inner codec is ans).
        Result<learned::LearnedParams> lp =
            learned::ParseLearnedParams(h.params.data(), h.params.size());
        if (!lp.ok()) return lp.status().WithContext("packet");
        is_learned = true;
        learned_params = *lp;
        kind_base = learned::kSectionKindStride * learned::kInnerAns;
        ans_params = &learned_params.inner_params;
        ans_dtype = DType::kF32;  // the inner frame's
      }
      Result<ans::AnsParams> a = ans::ParseParams(*ans_params, p.coded, ans_dtype);
      if (!a.ok()) return a.status().WithContext(is_learned ? "packet: learned" : "packet");
      if (a->band_rows != h.band_rows) {
        return FTC_CORRUPT("packet: ans band rows %u differ from the packet's %u", a->band_rows,
                           h.band_rows);
      }
      ans = *a;
    }
    return Status::Ok();
  }

  // Which stream-wide field differs from the stream, or nullptr.
  const char* Mismatch(const PacketHeader& h) const {
    if (h.flags != stream.flags) return "layout flags";
    if (h.dtype != stream.dtype || h.shape != stream.shape) return "shape or dtype";
    if (h.codec_id != stream.codec_id) return "codec";
    if (h.band_rows != stream.band_rows) return "band rows";
    if (h.params != stream.params) return "codec parameters";
    return nullptr;
  }

  // Decodes the packet's elements (band order) as f32.
  Status DecodePayload(const ParsedPacket& p, std::vector<float>* out) const {
    int64_t elements = 0;
    std::vector<BandShape> shapes;
    for (uint32_t b : p.bands) {
      elements += layout.elements(b);
      shapes.push_back({layout.rows_of(b), static_cast<uint32_t>(sample.w)});
    }
    out->resize(static_cast<size_t>(elements));
    const std::vector<SectionRef>& sec = p.sections;
    if (stream.codec_id == kRawCodecId) {
      const size_t es = DTypeSize(raw_stored);
      if (sec.size() != 1 || sec[0].kind != kRawDataSection ||
          sec[0].size != static_cast<size_t>(elements) * es) {
        return FTC_CORRUPT("packet: raw data section missing or of the wrong size");
      }
      for (int64_t i = 0; i < elements; ++i) {
        (*out)[static_cast<size_t>(i)] =
            LoadStored(sec[0].data + static_cast<size_t>(i) * es, raw_stored);
      }
      return Status::Ok();
    }
    if (ans.mode == ans::Mode::kLossless) {
      const int width = static_cast<int>(DTypeSize(ans.stored));
      if (sec.size() != static_cast<size_t>(width)) {
        return FTC_CORRUPT("packet: lossless %s needs %d plane sections, found %zu",
                           DTypeName(ans.stored), width, sec.size());
      }
      std::vector<std::vector<uint16_t>> planes(static_cast<size_t>(width));
      std::vector<const uint16_t*> ptrs;
      for (int k = 0; k < width; ++k) {
        if (sec[k].kind != kind_base + ans::kPlaneSection)
          return FTC_CORRUPT("packet: section %d is not a plane", k);
        planes[k].resize(static_cast<size_t>(elements));
        Status s = DecodeSymbolSegment(sec[k].data, sec[k].size, shapes, 8, planes[k].data());
        if (!s.ok()) return s.WithContext(StrFormat("packet: plane %d", k));
        ptrs.push_back(planes[k].data());
      }
      std::vector<uint8_t> bytes(static_cast<size_t>(elements) * width);
      ans::JoinLosslessPlanes(ptrs, width, elements, bytes.data());
      for (int64_t i = 0; i < elements; ++i) {
        (*out)[static_cast<size_t>(i)] = LoadStored(bytes.data() + i * width, ans.stored);
      }
      return Status::Ok();
    }
    if (sec.size() != 2 || sec[0].kind != kind_base + ans::kRangesSection ||
        sec[1].kind != kind_base + ans::kSymbolsSection) {
      return FTC_CORRUPT("packet: expected a ranges section and a symbols section");
    }
    std::vector<uint32_t> channels;
    if (ans.per_channel()) channels = ChannelsOfBands(layout, p.bands);
    const size_t groups = ans.per_channel() ? channels.size() : 1;
    if (sec[0].size != groups * 8) {
      return FTC_CORRUPT("packet: ranges section is %zu bytes, expected %zu", sec[0].size,
                         groups * 8);
    }
    ByteReader r(sec[0].data, sec[0].size);
    std::vector<QuantParams> ranges(groups);
    for (size_t g = 0; g < groups; ++g) {
      (void)r.F32(&ranges[g].lo);
      (void)r.F32(&ranges[g].hi);
      ranges[g].bits = ans.bits;
      ranges[g].rounding = ans.rounding();
      Status s = ValidateQuantParams(ranges[g]);
      if (!s.ok()) return FTC_CORRUPT("packet: range %zu is invalid: %s", g, s.message().c_str());
    }
    std::vector<uint16_t> symbols(static_cast<size_t>(elements));
    Status s = DecodeSymbolSegment(sec[1].data, sec[1].size, shapes, ans.bits, symbols.data());
    if (!s.ok()) return s.WithContext("packet: symbols");
    size_t pos = 0, g = 0;
    for (uint32_t b : p.bands) {
      if (ans.per_channel()) {
        while (channels[g] != layout.channel(b)) ++g;
      }
      const size_t n = static_cast<size_t>(layout.elements(b));
      Dequantize(symbols.data() + pos, n, ranges[g], out->data() + pos);
      pos += n;
    }
    return Status::Ok();
  }

  Status Push(const uint8_t* data, size_t size) {
    ++stats.pushed;
    const int64_t max_e = std::min(options.max_frame_elements, kMaxSampleElements);
    Result<ParsedPacket> parsed = ParsePacket(data, size, max_e);
    if (!parsed.ok()) {
      ++stats.corrupt;
      return parsed.status();
    }
    const ParsedPacket& p = *parsed;
    const PacketHeader& h = p.header;
    const uint32_t id = have_stream ? stream.stream_id : options.stream_id.value_or(h.stream_id);
    if (h.stream_id != id) {
      ++stats.foreign;
      return FTC_INVALID("packet from a different stream (id %08x, expected %08x)", h.stream_id,
                         id);
    }
    if (have_stream) {
      if (const char* what = Mismatch(h)) {
        ++stats.inconsistent;
        return FTC_CORRUPT("packet: its %s disagree with the stream's first packet", what);
      }
    }
    // Frame-level checks, before anything changes.
    auto found = frames.find(h.frame_index);
    const FrameState* f = found == frames.end() ? nullptr : &found->second;
    if (f) {
      auto it = f->accepted.find(h.packet_index);
      if (it != f->accepted.end()) {
        const uint32_t crc = static_cast<uint32_t>(data[size - 4]) |
                             (static_cast<uint32_t>(data[size - 3]) << 8) |
                             (static_cast<uint32_t>(data[size - 2]) << 16) |
                             (static_cast<uint32_t>(data[size - 1]) << 24);
        if (it->second.first == crc && it->second.second == size) {
          ++stats.duplicates;
          return Status::Ok();
        }
        ++stats.inconsistent;
        return FTC_CORRUPT("packet: frame %u packet %u differs from the one already received",
                           h.frame_index, h.packet_index);
      }
      if (f->packet_count != h.packet_count) {
        ++stats.inconsistent;
        return FTC_CORRUPT("packet: frame %u has %u packets, this packet says %u", h.frame_index,
                           f->packet_count, h.packet_count);
      }
      for (uint32_t b : p.bands) {
        if (f->owner[b] != 0) {
          ++stats.inconsistent;
          return FTC_CORRUPT("packet: frame %u packet %u overlaps packet %u", h.frame_index,
                             h.packet_index, f->owner[b] - 1);
        }
      }
    }
    // Decode with the stream's parameters; the first packet with those it would establish.
    const Impl* self = this;
    Impl trial_params;
    if (!have_stream) {
      trial_params.options = options;
      trial_params.stream = h;
      trial_params.sample = p.coded;
      trial_params.original = p.sample;
      trial_params.layout = p.layout;
      Status st = trial_params.AdoptStream(p);
      if (!st.ok()) {
        ++stats.corrupt;
        return st;
      }
      self = &trial_params;
    }
    std::vector<float> values;
    Status st = self->DecodePayload(p, &values);
    if (!st.ok()) {
      ++stats.corrupt;
      return st;
    }
    // Commit.
    if (!have_stream) {
      have_stream = true;
      stream = h;
      sample = p.coded;
      original = p.sample;
      layout = p.layout;
      ans = trial_params.ans;
      raw_stored = trial_params.raw_stored;
      is_learned = trial_params.is_learned;
      learned_params = trial_params.learned_params;
      kind_base = trial_params.kind_base;
    }
    FrameState& fs = frames[h.frame_index];
    if (fs.packet_count == 0) {
      fs.packet_count = h.packet_count;
      fs.values.assign(static_cast<size_t>(sample.elements()), 0.0f);
      fs.owner.assign(layout.total, 0);
    }
    size_t pos = 0;
    for (uint32_t b : p.bands) {
      const size_t n = static_cast<size_t>(layout.elements(b));
      std::memcpy(fs.values.data() + layout.offset(b), values.data() + pos, n * sizeof(float));
      pos += n;
      fs.owner[b] = h.packet_index + 1;
    }
    const uint32_t crc = static_cast<uint32_t>(data[size - 4]) |
                         (static_cast<uint32_t>(data[size - 3]) << 8) |
                         (static_cast<uint32_t>(data[size - 2]) << 16) |
                         (static_cast<uint32_t>(data[size - 1]) << 24);
    fs.accepted[h.packet_index] = {crc, size};
    ++fs.packets;
    ++stats.accepted;
    return Status::Ok();
  }

  Result<DecodedTensor> Finish(ConcealMethod method) const {
    if (!have_stream) {
      return FTC_CORRUPT(
          "no packet arrived (%llu pushed, %llu corrupt, %llu from other "
          "streams): the tensor's shape is unknown",
          static_cast<unsigned long long>(stats.pushed),
          static_cast<unsigned long long>(stats.corrupt),
          static_cast<unsigned long long>(stats.foreign));
    }
    // A learned stream: the unit first (nothing to conceal without it).
    learned::UnitPtr unit;
    if (is_learned) {
      if (!GetLearnedUnitLoader()) {
        return Status(StatusCode::kNotBuiltIn,
                      "the packet stream uses codec 'learned', which is not built into this "
                      "ftcodec (no learned unit loader: restoring the code needs libtorch)");
      }
      FTC_ASSIGN_OR_RETURN(unit, learned::UnitForStream(options.unit, learned_params, original));
    }
    DecodedTensor out;
    out.stats = stats;
    PacketStats& st = out.stats;
    const int64_t e = sample.elements();
    const size_t E = static_cast<size_t>(e);
    const size_t n = stream.frame_count;
    // The values the bands carry: the tensor, or a learned stream's codes (N×C'×H'×W', or
    // C'×H'×W' for a tensor of rank 1 to 3).
    Shape coded_shape = stream.shape;
    if (is_learned) {
      coded_shape = {sample.c, sample.h, sample.w};
      if (stream.shape.size() == 4) coded_shape.insert(coded_shape.begin(), stream.shape[0]);
    }
    FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::Create(DType::kF32, coded_shape));
    out.mask.shape = coded_shape;
    out.mask.lost.assign(n * E, 0);
    float* x = t.data_as<float>();
    ConcealOptions co = options.conceal;
    co.band_rows = static_cast<int>(layout.rows);
    st.frames = static_cast<uint32_t>(n);
    st.frames_complete = st.frames_partial = st.frames_lost = 0;
    st.packets_expected = st.packets_missing = 0;
    for (size_t i = 0; i < n; ++i) {
      uint8_t* lost = out.mask.lost.data() + i * E;
      auto found = frames.find(static_cast<uint32_t>(i));
      if (found == frames.end()) {
        ++st.frames_lost;
        std::fill(lost, lost + E, 1);
        continue;
      }
      const FrameState& f = found->second;
      st.packets_expected += f.packet_count;
      st.packets_missing += f.packet_count - f.packets;
      if (f.packets == f.packet_count) {
        ++st.frames_complete;
      } else {
        ++st.frames_partial;
      }
      std::memcpy(x + i * E, f.values.data(), E * sizeof(float));
      bool any = false;
      for (uint32_t b = 0; b < layout.total; ++b) {
        if (f.owner[b] != 0) continue;
        any = true;
        std::fill(lost + layout.offset(b), lost + layout.offset(b) + layout.elements(b), 1);
      }
      if (any) {
        FTC_RETURN_IF_ERROR(
            conceal_sample(x + i * E, lost, sample.c, sample.h, sample.w, method, co));
      }
    }
    if (st.frames_lost > 0) {
      // Frames that lost every packet: the element-wise mean of the frames that have data.
      std::vector<double> mean(E, 0.0);
      const size_t have = n - st.frames_lost;
      if (method != ConcealMethod::kZero && have > 0) {
        for (size_t i = 0; i < n; ++i) {
          if (!frames.count(static_cast<uint32_t>(i))) continue;
          for (size_t j = 0; j < E; ++j) mean[j] += x[i * E + j];
        }
        for (double& v : mean) v /= static_cast<double>(have);
      }
      for (size_t i = 0; i < n; ++i) {
        if (frames.count(static_cast<uint32_t>(i))) continue;
        for (size_t j = 0; j < E; ++j) x[i * E + j] = static_cast<float>(mean[j]);
      }
    }
    int64_t lost_count = 0;
    for (uint8_t v : out.mask.lost) lost_count += v;
    out.mask.lost_count = lost_count;
    st.elements = static_cast<int64_t>(n * E);
    st.lost_elements = lost_count;
    if (is_learned) {
      // Restoration, sample by sample, of the concealed codes.
      FTC_ASSIGN_OR_RETURN(Tensor features, Tensor::Create(DType::kF32, stream.shape));
      const size_t F = static_cast<size_t>(original.elements());
      for (size_t i = 0; i < n; ++i) {
        const TensorView code =
            TensorView::Contiguous(x + i * E, DType::kF32, {sample.c, sample.h, sample.w});
        Tensor restored;
        Status s = learned::RestoreCode(*unit, options.unit, code, original, &restored);
        if (!s.ok()) {
          return n > 1 ? s.WithContext(StrFormat("learned: frame %zu", i))
                       : s.WithContext("learned");
        }
        std::memcpy(features.data_as<float>() + i * F, restored.data(), F * sizeof(float));
      }
      t = std::move(features);
    }
    const DType want = options.dtype.value_or(stream.dtype);
    out.tensor = want == DType::kF32 ? std::move(t) : t.ConvertTo(want);
    return out;
  }
};

Decoder::Decoder(const PacketDecoderOptions& options) : impl_(new Impl) {
  impl_->options = options;
}
Decoder::~Decoder() = default;
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;

Status Decoder::push(const uint8_t* data, size_t size) { return impl_->Push(data, size); }

Result<DecodedTensor> Decoder::finish(ConcealMethod method) const { return impl_->Finish(method); }

const PacketStats& Decoder::stats() const { return impl_->stats; }

}  // namespace ftc

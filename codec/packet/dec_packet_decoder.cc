// Packet mode, receiver side: ftc::Decoder (include/ftcodec/packet.h).
//
// push() parses and checks a packet and decodes its bands at once; a packet is kept only after
// it decoded completely, so a bad packet never leaves a trace. Every parameter set (a Stream_Id,
// Set_Id and the stream-wide fields: layout, shape, codec and its parameters) opens a candidate
// stream; identical copies count with it, a different one with the same ids opens another. A
// data packet goes to the first candidate of its Stream_Id and Set_Id; one that arrives before
// any is held (up to kMaxWaitingBytes) and decoded when its parameter set arrives. The stream
// decoded is the candidate most accepted data packets belong to (the earlier one on a tie), or
// only packets of PacketDecoderOptions::stream_id; the others count as foreign (another
// Stream_Id) or inconsistent (the same Stream_Id). Within a frame, packets must agree on
// Packet_Count, must not overlap, and must carry equal values where the codec says they share
// one (ans: a channel's quantizer range).
//
// Memory: only what accepted packets decoded (their bands' elements), within the expansion
// allowance of their bytes (DecoderLimits); finish() checks the whole tensor, the output and the
// concealment work against the limits before it allocates or conceals anything.
//
// This file knows no codec: the codec's decoder half (codec/core/band_codec.h) decodes the bands.
// A stream whose bands carry a code (learned) needs nothing more to push(); finish() conceals
// the codes and then has the codec restore every sample.
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <unordered_map>

#include "base/byte_io.h"
#include "base/status_macros.h"
#include "bitstream/decoder_limits.h"
#include "bitstream/packet.h"
#include "codec/core/codec.h"
#include "codec/packet/packet_parse.h"
#include "ftcodec/packet.h"

namespace ftc {
namespace {

// Stream ids listed in PacketStats::other_stream_ids.
constexpr size_t kMaxListedStreams = 16;
// Bytes of data packets held while their parameter set has not arrived (docs/format.md,
// "Streams").
constexpr uint64_t kMaxWaitingBytes = uint64_t{64} << 20;

uint32_t PacketChecksum(const uint8_t* data, size_t size) {
  return static_cast<uint32_t>(data[size - 4]) | (static_cast<uint32_t>(data[size - 3]) << 8) |
         (static_cast<uint32_t>(data[size - 2]) << 16) |
         (static_cast<uint32_t>(data[size - 1]) << 24);
}

// An accepted packet.
struct ReceivedPacket {
  uint32_t checksum = 0;
  size_t size = 0;
  std::vector<uint32_t> bands;  // increasing
  std::vector<float> values;    // band after band
};

struct FrameState {
  uint32_t packet_count = 0;
  std::map<uint32_t, ReceivedPacket> packets;  // by Packet_Index
  // Contiguous layout: first band -> (one past the last band, Packet_Index) of each packet.
  std::map<uint32_t, std::pair<uint32_t, uint32_t>> runs;
  // The shared values the accepted packets carried (DecodedBands::shared).
  std::map<uint32_t, uint64_t> shared;
};

// A parameter set and the data packets decoded with it.
struct Candidate {
  uint64_t order = 0;    // creation order (ties go to the older candidate)
  PacketHeader stream;   // the parameter set's fields
  SampleShape sample;    // the sample the bands cut (a code's stream: the code)
  SampleShape original;  // the sample of the stream's shape
  BandLayout layout;
  ParsedParameterSet ps;
  const CodecDecoder* codec = nullptr;
  std::unique_ptr<BandDecoder> bands;     // the codec's decoder half
  std::map<uint32_t, FrameState> frames;  // frames with at least one packet
  uint64_t accepted = 0, duplicates = 0, inconsistent = 0;
  uint64_t parameter_sets = 0;  // copies of the parameter set
  uint64_t bytes = 0;           // of the accepted data packets
  bool restore_open = false;  // OpenRestore done (a live stream's samples are restored one by one)

  uint64_t total() const { return accepted + duplicates + inconsistent + parameter_sets; }

  // The frames a tensor of the stream holds: all Frame_Count of them, or for a live stream
  // (Frame_Count 0) those from the first to the last that has packets.
  uint32_t FirstFrame() const {
    return stream.live() && !frames.empty() ? frames.begin()->first : 0;
  }
  int64_t FrameCount() const {
    if (!stream.live()) return stream.frame_count;
    return frames.empty() ? 0 : int64_t{frames.rbegin()->first} - frames.begin()->first + 1;
  }
  // The tensor's shape: the stream's, or N × the sample's of a live stream.
  Shape TensorShape() const {
    Shape s = stream.shape;
    if (stream.live()) s.insert(s.begin(), FrameCount());
    return s;
  }

  // Takes the stream-wide fields of the parameter set and opens the codec's decoder half.
  Status Adopt(const ParsedParameterSet& p) {
    ps = p;
    const PacketHeader& h = p.header;
    stream = h;
    sample = p.coded;
    original = p.sample;
    layout = p.layout;
    codec = FindDecoderFormatById(h.codec_id);
    if (codec == nullptr || codec->band_decoder == nullptr) {
      return FTC_UNSUPPORTED("parameter set: codec id %u cannot be packetized", h.codec_id);
    }
    BandStream bs;
    bs.dtype = h.dtype;
    bs.params = h.params;
    bs.band_rows = h.band_rows;
    bs.shared_model = h.shared_model;
    bs.coded = p.coded;
    bs.sample = p.sample;
    Result<std::unique_ptr<BandDecoder>> d = codec->band_decoder(bs);
    if (!d.ok()) return d.status().WithContext("parameter set");
    bands = std::move(*d);
    return Status::Ok();
  }

  // Which stream-wide field of `h` differs from the stream's, or nullptr.
  const char* Mismatch(const PacketHeader& h) const {
    if (h.flags != stream.flags) return "layout flags";
    if (h.dtype != stream.dtype || h.shape != stream.shape) return "shape or dtype";
    if (h.codec_id != stream.codec_id) return "codec";
    if (h.band_rows != stream.band_rows) return "band rows";
    if (h.params != stream.params) return "codec parameters";
    if (h.shared_model != stream.shared_model) return "symbol model";
    return nullptr;
  }

  // Decodes the packet's elements (band order) as f32, and the shared values it carries.
  Status DecodePayload(const ParsedPacket& p, DecodedBands* out) const {
    return bands->DecodeBands(layout, p.bands, p.sections, out).WithContext("packet");
  }

  // Frame-level checks of an accepted-to-be packet before it is decoded: a duplicate (*duplicate
  // set, Ok), or kCorruptData for a conflicting, miscounted or overlapping packet.
  Status CheckFrame(const ParsedPacket& p, uint32_t checksum, size_t size, bool* duplicate) const {
    *duplicate = false;
    const PacketHeader& h = p.header;
    auto found = frames.find(h.frame_index);
    if (found == frames.end()) return Status::Ok();
    const FrameState& f = found->second;
    auto it = f.packets.find(h.packet_index);
    if (it != f.packets.end()) {
      if (it->second.checksum == checksum && it->second.size == size) {
        *duplicate = true;
        return Status::Ok();
      }
      return FTC_CORRUPT("packet: frame %u packet %u differs from the one already received",
                         h.frame_index, h.packet_index);
    }
    if (f.packet_count != h.packet_count) {
      return FTC_CORRUPT("packet: frame %u has %u packets, this packet says %u", h.frame_index,
                         f.packet_count, h.packet_count);
    }
    // Interleaved packets of one Packet_Count never overlap; contiguous runs may.
    if (!h.interleaved()) {
      const uint32_t first = h.first_band, end = h.first_band + h.band_count;
      auto next = f.runs.upper_bound(first);
      if (next != f.runs.end() && next->first < end) {
        return FTC_CORRUPT("packet: frame %u packet %u overlaps packet %u", h.frame_index,
                           h.packet_index, next->second.second);
      }
      if (next != f.runs.begin() && std::prev(next)->second.first > first) {
        return FTC_CORRUPT("packet: frame %u packet %u overlaps packet %u", h.frame_index,
                           h.packet_index, std::prev(next)->second.second);
      }
    }
    return Status::Ok();
  }

  // kCorruptData if a shared value of the packet (ans: a quantizer range) differs from the one
  // other packets of its frame carried.
  Status CheckShared(uint32_t frame, const DecodedBands& payload) const {
    auto found = frames.find(frame);
    if (found == frames.end()) return Status::Ok();
    for (const auto& [key, value] : payload.shared) {
      auto it = found->second.shared.find(key);
      if (it != found->second.shared.end() && it->second != value) {
        return FTC_CORRUPT(
            "packet: frame %u: its %s differs from the one other packets of the frame carry", frame,
            bands->SharedName(key).c_str());
      }
    }
    return Status::Ok();
  }

  void Commit(const ParsedPacket& p, uint32_t checksum, size_t size, DecodedBands&& payload) {
    const PacketHeader& h = p.header;
    FrameState& f = frames[h.frame_index];
    if (f.packet_count == 0) f.packet_count = h.packet_count;
    for (const auto& [key, value] : payload.shared) f.shared.emplace(key, value);
    if (!h.interleaved()) {
      f.runs[h.first_band] = {h.first_band + h.band_count, h.packet_index};
    }
    ReceivedPacket& r = f.packets[h.packet_index];
    r.checksum = checksum;
    r.size = size;
    r.bands = p.bands;
    r.values = std::move(payload.values);
    ++accepted;
    bytes += size;
  }
};

bool Leads(const Candidate& a, const Candidate& b) {
  return a.accepted > b.accepted || (a.accepted == b.accepted && a.order < b.order);
}

}  // namespace

struct Decoder::Impl {
  PacketDecoderOptions options;
  DecoderLimits limits;  // options.limits with the older caps of options folded in
  Status options_status;
  // Counts outside the candidates: every push lands in exactly one of these or in one
  // candidate's accepted, duplicates or inconsistent.
  uint64_t pushed = 0, corrupt = 0, foreign_unkept = 0;
  uint64_t over_limit = 0;  // of corrupt: beyond a limit
  Status first_rejection;   // why the first dropped packet was dropped
  std::vector<std::unique_ptr<Candidate>> candidates;
  std::unordered_map<uint32_t, uint64_t> id_total;  // Stream_Id -> packets of its candidates
  uint64_t all_total = 0;
  Candidate* leader = nullptr;
  uint64_t stored_units = 0;    // bands and elements of every accepted packet
  uint64_t accepted_bytes = 0;  // of every accepted packet
  // Data packets held for their parameter set, by (Stream_Id, Set_Id).
  std::map<std::pair<uint32_t, uint8_t>, std::vector<Bytes>> held;
  uint64_t waiting = 0, waiting_bytes = 0;
  PacketStats stats;
  // A LiveDecoder's (docs/format.md, "Live streams"); `live` false for a Decoder.
  bool live = false;
  LiveDecoderOptions live_options;
  LiveStats live_stats;
  std::optional<uint32_t> next;  // the Frame_Index pop() gives out next, once known
  uint64_t flush_to = 0;         // samples before this are ready
  uint64_t newest_taken = 0;     // one past the last sample given out with packets
  Tensor last_out;               // the last sample given out (what a lost one repeats)

  void Init(const PacketDecoderOptions& o) {
    options = o;
    limits = o.limits;
    limits.max_sample_elements =
        std::min(limits.max_sample_elements,
                 std::clamp<int64_t>(o.max_frame_elements, 1, kMaxSampleElements));
    limits.max_tensor_elements =
        std::min(limits.max_tensor_elements,
                 std::clamp<int64_t>(o.max_tensor_elements, 1, kMaxTensorElements));
    options_status = o.limits.Validate();
    UpdateStats();
  }

  void UpdateStats() {
    stats.pushed = pushed;
    stats.corrupt = corrupt;
    stats.over_limit = over_limit;
    stats.waiting = waiting;
    if (!leader) {
      stats.parameter_sets = 0;
      stats.accepted = stats.duplicates = stats.inconsistent = 0;
      stats.foreign = foreign_unkept + all_total;
      return;
    }
    const uint64_t same_id = id_total[leader->stream.stream_id];
    stats.accepted = leader->accepted;
    stats.parameter_sets = leader->parameter_sets;
    stats.duplicates = leader->duplicates;
    stats.inconsistent = leader->inconsistent + (same_id - leader->total());
    if (live) {  // a live stream is every parameter set of its Stream_Id
      stats.accepted = stats.parameter_sets = stats.duplicates = stats.inconsistent = 0;
      uint64_t total = 0;
      for (const std::unique_ptr<Candidate>& c : candidates) {
        if (c->stream.stream_id != leader->stream.stream_id) continue;
        stats.accepted += c->accepted;
        stats.parameter_sets += c->parameter_sets;
        stats.duplicates += c->duplicates;
        stats.inconsistent += c->inconsistent;
        total += c->total();
      }
      stats.inconsistent += same_id - total;
    }
    stats.foreign = foreign_unkept + (all_total - same_id);
    stats.stream_id = leader->stream.stream_id;
  }

  // The candidate of a parameter set: same ids and fields.
  Candidate* FindCandidate(const PacketHeader& h) {
    for (const std::unique_ptr<Candidate>& c : candidates) {
      if (c->stream.stream_id == h.stream_id && c->stream.set_id == h.set_id &&
          c->Mismatch(h) == nullptr) {
        return c.get();
      }
    }
    return nullptr;
  }

  // The candidate a data packet of these ids is decoded with: the first.
  Candidate* CandidateOf(const PacketHead& head) {
    for (const std::unique_ptr<Candidate>& c : candidates) {
      if (c->stream.stream_id == head.stream_id && c->stream.set_id == head.set_id) return c.get();
    }
    return nullptr;
  }

  // The status push() returns for a packet kept by `c`: Ok if `c` is the stream decoded.
  Status Verdict(const Candidate& c) const {
    if (&c == leader || (live && c.stream.stream_id == leader->stream.stream_id)) {
      return Status::Ok();
    }
    if (c.stream.stream_id != leader->stream.stream_id) {
      return FTC_INVALID(
          "packet from a different stream (id %08x; the stream with the most "
          "packets is %08x)",
          c.stream.stream_id, leader->stream.stream_id);
    }
    const char* what = leader->Mismatch(c.stream);
    return FTC_CORRUPT("packet: its parameter set (%s) disagrees with the stream's",
                       what ? what : "set id");
  }

  // Runs `accept` on one packet: every packet lands in one count, an exception included (the
  // packet is then dropped as corrupt); a drop is counted as over a limit where it was, and the
  // first one is remembered as `what`.
  template <typename Accept>
  Status Counted(const Accept& accept, const std::string& what) {
    const uint64_t corrupt_before = corrupt;
    Status s = CatchExceptions("packet", accept, [&] { ++corrupt; });
    if (corrupt != corrupt_before) {
      if (s.code() == StatusCode::kLimitExceeded) ++over_limit;
      if (first_rejection.ok()) first_rejection = s.WithContext(what);
    }
    return s;
  }

  Status Push(const uint8_t* data, size_t size) {
    ++pushed;
    Status s =
        Counted([&] { return PushPacket(data, size); },
                StrFormat("packet %llu was dropped", static_cast<unsigned long long>(pushed)));
    UpdateStats();
    return s;
  }

  Status PushPacket(const uint8_t* data, size_t size) {
    if (!options_status.ok()) {
      ++corrupt;
      return options_status;
    }
    Result<PacketHead> head = ParsePacketHead(data, size);
    if (!head.ok()) {
      ++corrupt;
      return head.status();
    }
    if (options.stream_id && head->stream_id != *options.stream_id) {
      ++foreign_unkept;
      return FTC_INVALID("packet from a different stream (id %08x, expected %08x)", head->stream_id,
                         *options.stream_id);
    }
    if (head->kind == kParameterSetKind) return PushParameterSet(data, size);
    Candidate* c = CandidateOf(*head);
    if (c == nullptr) return Hold(*head, data, size);
    return PushData(c, data, size);
  }

  // A data packet whose parameter set has not arrived: held until it does.
  Status Hold(const PacketHead& head, const uint8_t* data, size_t size) {
    if (waiting_bytes + size > kMaxWaitingBytes) {
      ++corrupt;
      return FTC_LIMIT(
          "packet: %llu bytes of data packets already wait for their parameter sets (the "
          "decoder holds at most %llu)",
          static_cast<unsigned long long>(waiting_bytes),
          static_cast<unsigned long long>(kMaxWaitingBytes));
    }
    held[{head.stream_id, head.set_id}].emplace_back(data, data + size);
    waiting_bytes += size;
    ++waiting;
    return Status::Ok();
  }

  Status PushParameterSet(const uint8_t* data, size_t size) {
    Result<ParsedParameterSet> parsed = ParseCodecParameterSet(data, size, limits);
    if (!parsed.ok()) {
      ++corrupt;
      return parsed.status();
    }
    const PacketHeader& h = parsed->header;
    if (live && !h.live()) {
      ++corrupt;
      return FTC_INVALID(
          "parameter set of a stream of %u samples, not a live stream (decode it with "
          "ftc::Decoder)",
          h.frame_count);
    }
    Candidate* c = FindCandidate(h);
    if (c == nullptr) {
      auto fresh = std::make_unique<Candidate>();
      fresh->order = candidates.size();
      Status st = fresh->Adopt(*parsed);
      if (!st.ok()) {
        ++corrupt;
        return st;
      }
      c = fresh.get();
      candidates.push_back(std::move(fresh));
      if (!leader || Leads(*c, *leader)) leader = c;
    }
    ++c->parameter_sets;
    ++all_total;
    ++id_total[h.stream_id];
    // The data packets that waited for it.
    auto it = held.find({h.stream_id, h.set_id});
    if (it != held.end() && CandidateOf({kDataPacketKind, h.stream_id, h.set_id}) == c) {
      std::vector<Bytes> packets = std::move(it->second);
      held.erase(it);
      for (const Bytes& b : packets) {
        --waiting;
        waiting_bytes -= b.size();
        Counted([&] { return PushData(c, b.data(), b.size()); }, "a held packet was dropped")
            .IgnoreError();  // counted; the parameter set's own verdict is what push returns
      }
    }
    return Verdict(*c);
  }

  Status PushData(Candidate* c, const uint8_t* data, size_t size) {
    Result<ParsedPacket> parsed = ParseDataPacket(data, size, c->ps, limits);
    if (!parsed.ok()) {
      ++corrupt;
      return parsed.status();
    }
    const ParsedPacket& p = *parsed;
    const PacketHeader& h = p.header;
    const uint32_t checksum = PacketChecksum(data, size);
    if (live) FTC_RETURN_IF_ERROR(CheckLive(*c, h));
    bool duplicate = false;
    Status st = c->CheckFrame(p, checksum, size, &duplicate);
    if (!st.ok() || duplicate) {
      // Only a kept candidate can hold the frame that makes a packet a duplicate or a conflict.
      ++all_total;
      ++id_total[h.stream_id];
      if (duplicate) {
        ++c->duplicates;
        return Verdict(*c);
      }
      ++c->inconsistent;
      return c == leader ? st : Verdict(*c);
    }
    // Memory before decoding: what every accepted packet holds stays within the expansion
    // allowance of their bytes.
    int64_t elements = 0;
    for (uint32_t b : p.bands) elements += c->layout.elements(b);
    const uint64_t units = stored_units + p.bands.size() + static_cast<uint64_t>(elements);
    if (units > static_cast<uint64_t>(ExpansionAllowance(limits, accepted_bytes + size))) {
      ++corrupt;
      return FTC_LIMIT(
          "packet: the accepted packets would hold %llu bands and elements in %llu "
          "bytes, beyond the decoder's expansion limit (%lld + %lld per byte; "
          "DecoderLimits::expansion_ratio, ftcodec --max-elements)",
          static_cast<unsigned long long>(units),
          static_cast<unsigned long long>(accepted_bytes + size),
          static_cast<long long>(limits.expansion_slack),
          static_cast<long long>(limits.expansion_ratio));
    }
    DecodedBands payload;
    st = c->DecodePayload(p, &payload);
    if (!st.ok()) {
      ++corrupt;
      return st;
    }
    st = c->CheckShared(h.frame_index, payload);
    if (!st.ok()) {
      ++all_total;
      ++id_total[h.stream_id];
      ++c->inconsistent;
      return c == leader ? st : Verdict(*c);
    }
    c->Commit(p, checksum, size, std::move(payload));
    ++all_total;
    ++id_total[h.stream_id];
    stored_units = units;
    accepted_bytes += size;
    if (!leader || Leads(*c, *leader)) leader = c;
    if (live) TrimOtherStreams();
    return Verdict(*c);
  }

  // ---- live streams (LiveDecoder; docs/format.md, "Live streams") ----

  bool OfLeadingStream(const Candidate& c) const {
    return leader != nullptr && c.stream.stream_id == leader->stream.stream_id;
  }

  // A live data packet: late (its sample was given out), a restarted sender (far behind: the
  // samples waiting are dropped and the stream starts again from this one), or a frame begun
  // under another parameter set of the stream.
  Status CheckLive(Candidate& c, const PacketHeader& h) {
    if (OfLeadingStream(c) && next && h.frame_index < *next) {
      const uint64_t behind = *next - h.frame_index;
      const uint64_t restart = static_cast<uint64_t>(live_options.max_lost_run) +
                               static_cast<uint64_t>(live_options.max_pending) +
                               static_cast<uint64_t>(live_options.reorder);
      if (behind <= restart) {
        ++live_stats.late;
        return FTC_INVALID("packet of sample %u, which was given out already (late)",
                           h.frame_index);
      }
      Restart();
    }
    for (const std::unique_ptr<Candidate>& o : candidates) {
      if (o.get() != &c && o->stream.stream_id == h.stream_id && o->frames.count(h.frame_index)) {
        ++all_total;
        ++id_total[h.stream_id];
        ++c.inconsistent;
        return FTC_CORRUPT("packet: sample %u was begun under another parameter set",
                           h.frame_index);
      }
    }
    return Status::Ok();
  }

  // Forgets what a frame's packets hold (memory and expansion bookkeeping).
  void Forget(Candidate& c, std::map<uint32_t, FrameState>::iterator frame) {
    for (const auto& [k, r] : frame->second.packets) {
      const uint64_t units = r.bands.size() + r.values.size();
      stored_units -= std::min(stored_units, units);
      accepted_bytes -= std::min<uint64_t>(accepted_bytes, r.size);
    }
    c.frames.erase(frame);
  }

  // A sender that started again: every waiting sample of the stream is dropped.
  void Restart() {
    for (const std::unique_ptr<Candidate>& c : candidates) {
      if (!OfLeadingStream(*c)) continue;
      live_stats.samples_skipped += c->frames.size();
      while (!c->frames.empty()) Forget(*c, c->frames.begin());
    }
    next.reset();
    flush_to = 0;
    newest_taken = 0;
  }

  // Streams other than the one decoded keep at most max_pending samples each.
  void TrimOtherStreams() {
    for (const std::unique_ptr<Candidate>& c : candidates) {
      if (OfLeadingStream(*c)) continue;
      while (c->frames.size() > static_cast<size_t>(live_options.max_pending)) {
        Forget(*c, c->frames.begin());
      }
    }
  }

  // The samples of the stream decoded that have packets, with the parameter set of each.
  std::map<uint32_t, Candidate*> Pending() const {
    std::map<uint32_t, Candidate*> m;
    for (const std::unique_ptr<Candidate>& c : candidates) {
      if (!OfLeadingStream(*c)) continue;
      for (const auto& [index, f] : c->frames) m.emplace(index, c.get());
    }
    return m;
  }

  // Whether sample `index` is ready to give out (docs/format.md, "Live streams").
  bool Ready(uint64_t index, const Candidate* c,
             const std::map<uint32_t, Candidate*>& pending) const {
    if (c != nullptr) {
      const FrameState& f = c->frames.at(static_cast<uint32_t>(index));
      if (f.packets.size() == f.packet_count) return true;
    }
    const uint64_t newest =
        std::max<uint64_t>(pending.empty() ? 0 : pending.rbegin()->first + 1, newest_taken);
    return newest >= index + 1 + static_cast<uint64_t>(live_options.reorder) || flush_to > index ||
           pending.size() > static_cast<size_t>(live_options.max_pending);
  }

  // The concealed (learned: restored) sample of a frame that has packets; nullopt if it cannot
  // be concealed or restored within the limits.
  std::optional<LiveSample> TakeFrame(Candidate& c, uint32_t index) {
    auto it = c.frames.find(index);
    const FrameState& f = it->second;
    const size_t E = static_cast<size_t>(c.sample.elements());
    LiveSample out;
    out.frame_index = index;
    out.packets_expected = f.packet_count;
    out.packets_received = static_cast<uint32_t>(f.packets.size());
    std::vector<float> x(E, 0.0f);
    out.mask.lost.assign(E, 1);
    for (const auto& [k, r] : f.packets) {
      size_t pos = 0;
      for (uint32_t b : r.bands) {
        const size_t off = static_cast<size_t>(c.layout.offset(b));
        const size_t m = static_cast<size_t>(c.layout.elements(b));
        std::memcpy(x.data() + off, r.values.data() + pos, m * sizeof(float));
        std::fill(out.mask.lost.begin() + off, out.mask.lost.begin() + off + m, 0);
        pos += m;
      }
    }
    Forget(c, it);
    out.mask.shape = {c.sample.c, c.sample.h, c.sample.w};
    out.mask.lost_count = std::count(out.mask.lost.begin(), out.mask.lost.end(), 1);
    const DType want = options.dtype.value_or(c.stream.dtype);
    Status st = Status::Ok();
    if (out.mask.lost_count > 0) {
      st = ConcealPartial(c, {0}, live_options.conceal, x.data(), out.mask.lost.data());
    }
    Tensor t;
    if (st.ok() && c.bands->Restores()) {
      if (!c.restore_open) st = c.bands->OpenRestore(options.unit);
      c.restore_open = st.ok();
      if (st.ok()) {
        st = c.bands->Restore(
            TensorView::Contiguous(x.data(), DType::kF32, {c.sample.c, c.sample.h, c.sample.w}),
            &t);
      }
    } else if (st.ok()) {
      Result<Tensor> r = Tensor::Create(DType::kF32, c.stream.shape);
      if (r.ok()) {
        t = std::move(*r);
        std::memcpy(t.data(), x.data(), E * sizeof(float));
      } else {
        st = r.status();
      }
    }
    if (!st.ok()) {
      if (first_rejection.ok()) first_rejection = st.WithContext(StrFormat("sample %u", index));
      return std::nullopt;
    }
    out.tensor = want == DType::kF32 ? std::move(t) : t.ConvertTo(want);
    if (!c.bands->Restores()) out.mask.shape = c.stream.shape;
    return out;
  }

  // A sample none of whose packets arrived (or that could not be concealed): the previous sample
  // given out, or zeros (zero fill, or no previous sample of the shape).
  LiveSample LostSample(uint32_t index, const Candidate& c) {
    LiveSample out;
    out.frame_index = index;
    out.lost = true;
    const DType want = options.dtype.value_or(c.stream.dtype);
    if (live_options.conceal != ConcealMethod::kZero && last_out.dtype() == want &&
        last_out.shape() == c.stream.shape) {
      out.tensor = last_out;
    } else {
      Result<Tensor> zeros = Tensor::Create(want, c.stream.shape);
      if (zeros.ok()) out.tensor = std::move(*zeros);
    }
    out.mask.shape =
        c.bands->Restores() ? Shape{c.sample.c, c.sample.h, c.sample.w} : c.stream.shape;
    out.mask.lost.assign(static_cast<size_t>(c.sample.elements()), 1);
    out.mask.lost_count = c.sample.elements();
    return out;
  }

  void Given(const LiveSample& s) {
    LiveStats& ls = live_stats;
    ++ls.samples;
    if (s.lost) {
      ++ls.samples_lost;
    } else if (s.mask.lost_count > 0) {
      ++ls.samples_partial;
    } else {
      ++ls.samples_complete;
    }
    if (s.packets_expected > 0) {
      ls.packets_expected += s.packets_expected;
      ls.packets_missing += s.packets_expected - s.packets_received;
    }
    if (!s.lost) last_out = s.tensor;
    next = s.frame_index + 1;  // wraps to 0 after 2^32 − 1: a new stream follows
  }

  std::optional<LiveSample> Pop() {
    for (;;) {
      const std::map<uint32_t, Candidate*> pending = Pending();
      if (!next) {
        if (pending.empty()) return std::nullopt;
        if (!Ready(pending.begin()->first, pending.begin()->second, pending)) return std::nullopt;
        next = pending.begin()->first;
      }
      const uint32_t index = *next;
      auto it = pending.find(index);
      if (it != pending.end()) {
        if (!Ready(index, it->second, pending)) return std::nullopt;
        Candidate& c = *it->second;
        newest_taken = std::max<uint64_t>(newest_taken, uint64_t{index} + 1);
        std::optional<LiveSample> s = TakeFrame(c, index);
        if (!s) {
          ++live_stats.conceal_failures;
          s = LostSample(index, c);
          s->packets_expected = 0;
        }
        Given(*s);
        return s;
      }
      // No packet of the sample arrived.
      if (!Ready(index, nullptr, pending)) return std::nullopt;
      auto after = pending.lower_bound(index);
      const uint64_t until = after != pending.end() ? after->first : flush_to;
      if (until <= index) return std::nullopt;
      if (until - index > static_cast<uint64_t>(live_options.max_lost_run)) {
        live_stats.samples_skipped += until - index;
        if (after == pending.end()) {
          next.reset();  // nothing to skip to: the next packet starts again
          return std::nullopt;
        }
        next = after->first;
        continue;
      }
      const Candidate* shape_of = after != pending.end() ? after->second : leader;
      if (shape_of == nullptr) return std::nullopt;
      LiveSample s = LostSample(index, *shape_of);
      Given(s);
      return s;
    }
  }

  void FlushBefore(uint64_t index) { flush_to = std::max(flush_to, index); }
  void Flush() {
    const std::map<uint32_t, Candidate*> pending = Pending();
    if (!pending.empty()) FlushBefore(uint64_t{pending.rbegin()->first} + 1);
  }

  void SyncLiveStats() { live_stats.packets = stats; }

  // No stream: why (every packet beyond a limit is that error).
  Status NothingArrived() const {
    Status none =
        leader ? FTC_CORRUPT(
                     "no data packet arrived (%llu pushed: %llu parameter sets, %llu corrupt, %llu "
                     "from other streams)",
                     static_cast<unsigned long long>(stats.pushed),
                     static_cast<unsigned long long>(leader->parameter_sets),
                     static_cast<unsigned long long>(stats.corrupt),
                     static_cast<unsigned long long>(stats.foreign))
        : waiting > 0
            ? FTC_CORRUPT(
                  "no parameter set arrived (%llu data packets wait for one; %llu pushed, %llu "
                  "corrupt, %llu from other streams): the tensor's shape is unknown",
                  static_cast<unsigned long long>(waiting),
                  static_cast<unsigned long long>(stats.pushed),
                  static_cast<unsigned long long>(stats.corrupt),
                  static_cast<unsigned long long>(stats.foreign))
            : FTC_CORRUPT(
                  "no packet arrived (%llu pushed, %llu corrupt, %llu from other "
                  "streams): the tensor's shape is unknown",
                  static_cast<unsigned long long>(stats.pushed),
                  static_cast<unsigned long long>(stats.corrupt),
                  static_cast<unsigned long long>(stats.foreign));
    if (first_rejection.ok()) return none;
    // Every packet dropped was beyond a limit: that is the error.
    const StatusCode code = over_limit > 0 && over_limit == corrupt ? StatusCode::kLimitExceeded
                                                                    : StatusCode::kCorruptData;
    return Status(code, none.message() + "; " + first_rejection.message());
  }

  // The limits, before anything is allocated: the bands hold what the bytes describe, and the
  // tensor (a code's stream: the codes, then the restored samples) fits the caps.
  Status CheckFinishLimits(const Candidate& c, DType want) const {
    const int64_t e = c.sample.elements();
    const int64_t n = c.FrameCount();
    const int64_t total = n * e;  // n < 2^32, e <= 2^28: no overflow
    if (total > ExpansionAllowance(limits, c.bytes)) {
      return FTC_LIMIT(
          "a tensor of %lld elements (%lld samples of %lld) is more than the %llu bytes of "
          "its %llu accepted packets can describe (the decoder's expansion limit: %lld + %lld "
          "per byte; DecoderLimits::expansion_ratio, ftcodec --max-elements)",
          static_cast<long long>(total), static_cast<long long>(n), static_cast<long long>(e),
          static_cast<unsigned long long>(c.bytes), static_cast<unsigned long long>(c.accepted),
          static_cast<long long>(limits.expansion_slack),
          static_cast<long long>(limits.expansion_ratio));
    }
    if (!c.bands->Restores()) return CheckOutputSize(limits, total, DTypeSize(want), "the tensor");
    FTC_RETURN_IF_ERROR(CheckOutputSize(limits, total, sizeof(float),
                                        StrFormat("the %s codes", c.codec->name).c_str()));
    return CheckOutputSize(limits, n * c.original.elements(), DTypeSize(want),
                           "the restored tensor");
  }

  // What the frames' packets carried, into x (N samples of E values) and the loss mask, with
  // the frame and packet counts; *partial lists the samples with lost elements.
  static void PlaceReceived(const Candidate& c, float* x, uint8_t* lost_mask, PacketStats* st,
                            std::vector<size_t>* partial) {
    const BandLayout& layout = c.layout;
    const size_t E = static_cast<size_t>(c.sample.elements());
    st->frames = static_cast<uint32_t>(c.FrameCount());
    st->frames_complete = st->frames_partial = 0;
    st->packets_expected = st->packets_missing = 0;
    const uint32_t first = c.FirstFrame();
    for (const auto& [index, f] : c.frames) {
      const size_t i = index - first;
      float* xi = x + i * E;
      uint8_t* lost = lost_mask + i * E;
      for (const auto& [k, r] : f.packets) {
        size_t pos = 0;
        for (uint32_t b : r.bands) {
          const size_t off = static_cast<size_t>(layout.offset(b));
          const size_t m = static_cast<size_t>(layout.elements(b));
          std::memcpy(xi + off, r.values.data() + pos, m * sizeof(float));
          std::fill(lost + off, lost + off + m, 0);
          pos += m;
        }
      }
      st->packets_expected += f.packet_count;
      st->packets_missing += f.packet_count - f.packets.size();
      if (std::find(lost, lost + E, 1) == lost + E) {
        ++st->frames_complete;
      } else {
        ++st->frames_partial;
        partial->push_back(i);
      }
    }
    st->frames_lost = static_cast<uint32_t>(st->frames - c.frames.size());
  }

  // Conceals the partly received samples, within the decoder's work budget.
  Status ConcealPartial(const Candidate& c, const std::vector<size_t>& partial,
                        ConcealMethod method, float* x, const uint8_t* lost_mask) const {
    const SampleShape& s = c.sample;
    const size_t E = static_cast<size_t>(s.elements());
    ConcealOptions co = options.conceal;
    co.band_rows = static_cast<int>(c.layout.rows);
    if (method == ConcealMethod::kAltec && co.predictor &&
        static_cast<int64_t>(co.predictor->channels.size()) != s.c) {
      return Status(StatusCode::kUnsupported,
                    StrFormat("the altec predictor was fitted on %zu channels but the stream's "
                              "samples have %lld (made for another model?)",
                              co.predictor->channels.size(), static_cast<long long>(s.c)));
    }
    int64_t work = 0, lost_in_partial = 0;
    for (size_t i : partial) {
      const uint8_t* lost = lost_mask + i * E;
      lost_in_partial += std::count(lost, lost + E, 1);
      const int64_t w = estimate_conceal_work(lost, s.c, s.h, s.w, method, co);
      work = w > INT64_MAX - work ? INT64_MAX : work + w;
    }
    const int64_t budget = ConcealWorkAllowance(limits, c.bytes);
    if (work > budget) {
      return FTC_LIMIT(
          "concealing %lld lost elements in %zu samples by %s would take about %lld operations, "
          "beyond the decoder's limit of %lld (DecoderLimits::max_conceal_work, ftcodec dec "
          "--max-conceal-work; or a cheaper --conceal method)",
          static_cast<long long>(lost_in_partial), partial.size(), ConcealMethodName(method),
          static_cast<long long>(work), static_cast<long long>(budget));
    }
    for (size_t i : partial) {
      FTC_RETURN_IF_ERROR(conceal_sample(x + i * E, lost_mask + i * E, s.c, s.h, s.w, method, co));
    }
    return Status::Ok();
  }

  // Frames that lost every packet: the element-wise mean of the frames that have data (zero
  // fill: zeros).
  static void FillLostFrames(const Candidate& c, ConcealMethod method, float* x) {
    const size_t E = static_cast<size_t>(c.sample.elements());
    const size_t N = static_cast<size_t>(c.FrameCount());
    const uint32_t first = c.FirstFrame();
    std::vector<double> mean(E, 0.0);
    const size_t have = c.frames.size();
    if (method != ConcealMethod::kZero && have > 0) {
      for (const auto& [index, f] : c.frames) {
        const float* xi = x + size_t{index - first} * E;
        for (size_t j = 0; j < E; ++j) mean[j] += xi[j];
      }
      for (double& v : mean) v /= static_cast<double>(have);
    }
    for (size_t i = 0; i < N; ++i) {
      if (c.frames.count(static_cast<uint32_t>(first + i))) continue;
      for (size_t j = 0; j < E; ++j) x[i * E + j] = static_cast<float>(mean[j]);
    }
  }

  // The other streams, most packets first.
  void ListOtherStreams(uint32_t stream_id, PacketStats* st) const {
    std::vector<std::pair<uint64_t, uint32_t>> others;
    for (const auto& [id, count] : id_total) {
      if (id != stream_id) others.emplace_back(count, id);
    }
    std::sort(others.begin(), others.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    for (size_t k = 0; k < others.size() && k < kMaxListedStreams; ++k) {
      st->other_stream_ids.push_back(others[k].second);
    }
    st->other_streams = static_cast<uint32_t>(others.size());
  }

  // A code's stream: the codec restores the concealed codes, sample by sample.
  static Result<Tensor> RestoreSamples(const Candidate& c, const float* x) {
    const SampleShape& s = c.sample;
    const size_t E = static_cast<size_t>(s.elements());
    const size_t N = static_cast<size_t>(c.FrameCount());
    FTC_ASSIGN_OR_RETURN(Tensor features, Tensor::Create(DType::kF32, c.TensorShape()));
    const size_t F = static_cast<size_t>(c.original.elements());
    for (size_t i = 0; i < N; ++i) {
      const TensorView code = TensorView::Contiguous(x + i * E, DType::kF32, {s.c, s.h, s.w});
      Tensor restored;
      Status st = c.bands->Restore(code, &restored);
      if (!st.ok()) {
        return N > 1 ? st.WithContext(StrFormat("%s: frame %zu", c.codec->name, i))
                     : st.WithContext(c.codec->name);
      }
      std::memcpy(features.data_as<float>() + i * F, restored.data(), F * sizeof(float));
    }
    return features;
  }

  Result<DecodedTensor> Finish(ConcealMethod method) const {
    FTC_RETURN_IF_ERROR(options_status);
    if (!leader || leader->accepted == 0) return NothingArrived();
    const Candidate& c = *leader;
    const DType want = options.dtype.value_or(c.stream.dtype);
    FTC_RETURN_IF_ERROR(CheckFinishLimits(c, want));
    // A code's stream: what restores it next (nothing to conceal without it).
    const bool restores = c.bands->Restores();
    if (restores) FTC_RETURN_IF_ERROR(c.bands->OpenRestore(options.unit));
    DecodedTensor out;
    out.stats = stats;
    PacketStats& st = out.stats;
    // The values the bands carry: the tensor, or the codes (N×C'×H'×W', or C'×H'×W' for a
    // tensor of rank 1 to 3).
    Shape coded_shape = c.TensorShape();
    if (restores) {
      const size_t outer = c.stream.shape.size() == 4 || c.stream.live() ? 1 : 0;
      coded_shape.erase(coded_shape.begin() + static_cast<std::ptrdiff_t>(outer),
                        coded_shape.end());
      coded_shape.insert(coded_shape.end(), {c.sample.c, c.sample.h, c.sample.w});
    }
    FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::Create(DType::kF32, coded_shape));
    const int64_t total = c.FrameCount() * c.sample.elements();
    out.mask.shape = coded_shape;
    out.mask.lost.assign(static_cast<size_t>(total), 1);
    float* x = t.data_as<float>();
    std::vector<size_t> partial;
    PlaceReceived(c, x, out.mask.lost.data(), &st, &partial);
    FTC_RETURN_IF_ERROR(ConcealPartial(c, partial, method, x, out.mask.lost.data()));
    if (st.frames_lost > 0) FillLostFrames(c, method, x);
    out.mask.lost_count = std::count(out.mask.lost.begin(), out.mask.lost.end(), 1);
    st.elements = total;
    st.lost_elements = out.mask.lost_count;
    ListOtherStreams(c.stream.stream_id, &st);
    if (restores) {
      FTC_ASSIGN_OR_RETURN(t, RestoreSamples(c, x));
    }
    out.tensor = want == DType::kF32 ? std::move(t) : t.ConvertTo(want);
    return out;
  }
};

Decoder::Decoder(const PacketDecoderOptions& options) : impl_(new Impl) { impl_->Init(options); }
Decoder::~Decoder() = default;
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;

Status Decoder::push(const uint8_t* data, size_t size) { return impl_->Push(data, size); }

Result<DecodedTensor> Decoder::finish(ConcealMethod method) const {
  return CatchExceptions("finish", [&] { return impl_->Finish(method); });
}

const PacketStats& Decoder::stats() const { return impl_->stats; }

Status LiveDecoderOptionsValid(const LiveDecoderOptions& o) {
  if (o.reorder < 1 || o.reorder > 65536) {
    return FTC_INVALID("reorder depth %d out of range 1..65536 samples", o.reorder);
  }
  if (o.max_pending < 1 || o.max_pending > 65536) {
    return FTC_INVALID("max_pending %d out of range 1..65536 samples", o.max_pending);
  }
  if (o.max_lost_run < 0 || o.max_lost_run > 65536) {
    return FTC_INVALID("max_lost_run %d out of range 0..65536 samples", o.max_lost_run);
  }
  return Status::Ok();
}

struct LiveDecoder::Impl {
  Decoder::Impl d;
};

LiveDecoder::LiveDecoder(const LiveDecoderOptions& options) : impl_(new Impl) {
  impl_->d.Init(options.decoder);
  impl_->d.live = true;
  impl_->d.live_options = options;
  if (impl_->d.options_status.ok()) impl_->d.options_status = LiveDecoderOptionsValid(options);
  impl_->d.SyncLiveStats();
}
LiveDecoder::~LiveDecoder() = default;
LiveDecoder::LiveDecoder(LiveDecoder&&) noexcept = default;
LiveDecoder& LiveDecoder::operator=(LiveDecoder&&) noexcept = default;

Status LiveDecoder::push(const uint8_t* data, size_t size) {
  Status s = impl_->d.Push(data, size);
  impl_->d.SyncLiveStats();
  return s;
}

std::optional<LiveSample> LiveDecoder::pop() {
  if (!impl_->d.options_status.ok()) return std::nullopt;
  std::optional<LiveSample> s;
  Status st = CatchExceptions("LiveDecoder::pop", [&] {
    s = impl_->d.Pop();
    return Status::Ok();
  });
  impl_->d.UpdateStats();
  impl_->d.SyncLiveStats();
  if (!st.ok()) return std::nullopt;
  return s;
}

void LiveDecoder::flush() { impl_->d.Flush(); }
void LiveDecoder::flush_before(uint32_t frame_index) { impl_->d.FlushBefore(frame_index); }
std::optional<uint32_t> LiveDecoder::next_frame() const { return impl_->d.next; }
const LiveStats& LiveDecoder::stats() const { return impl_->d.live_stats; }

}  // namespace ftc

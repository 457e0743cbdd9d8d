// Fuzz target: packet parsing and the packet receivers (ftc::Decoder, and ftc::LiveDecoder for
// live streams) with concealment. The input
// is a .ftcp packet stream, or one packet if it starts with the packet magic (a parameter set
// alone, or a data packet that waits for one). Any input must give
// a tensor or an error — never a crash, a hang or an allocation beyond the decoder's limits —
// and the receiver's counts must add up. The fake learned unit loader of the core tests is
// registered (unit "unitA": 8×8×6 features, a 4×4×3 code), so learned packets reach concealment
// of the code and restoration too.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "bitstream/packet.h"
#include "codec/learned/learned_params.h"
#include "codec/learned/learned_unit.h"
#include "codec/packet/packet_parse.h"
#include "ftcodec/packet.h"
#include "tests/fake_learned_unit.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool registered = [] {
    ftc::RegisterLearnedUnitLoader(&ftc::test::FakeLoader);
    return true;
  }();
  (void)registered;
  ftc::PacketDecoderOptions o;
  o.unit = "unitA";
  // The default memory limits (DecoderLimits: at most 2^20 elements + 1024 per byte); the
  // concealment budget lower to keep each run fast.
  o.limits.max_conceal_work = int64_t{1} << 27;
  o.conceal.lowrank_flop_budget = 2e7;
  ftc::Decoder d(o);
  std::vector<ftc::Bytes> packets;
  if (ftc::HasPacketMagic(data, size)) {
    packets.emplace_back(data, data + size);
  } else {
    packets = ftc::ReadPacketStream(data, size).packets;
  }
  // Random bytes almost never pass a packet checksum; for inputs of even size the checksums are
  // repaired first, so that mutations reach the field checks and the decoders behind them.
  const bool repair = size % 2 == 0;
  bool learned = false;  // a learned packet parsed
  for (ftc::Bytes& p : packets) {
    if (repair && p.size() >= 8 + ftc::kPacketStreamIdOffset) {
      uint32_t id = 0;
      for (int i = 3; i >= 0; --i) id = (id << 8) | p[ftc::kPacketStreamIdOffset + i];
      ftc::SetPacketStreamId(id, &p);
    }
    ftc::Result<ftc::ParsedParameterSet> ps =
        ftc::ParseCodecParameterSet(p.data(), p.size(), o.limits);
    learned = learned || (ps.ok() && ps->header.codec_id == ftc::learned::kCodecId);
    d.push(p).IgnoreError();
  }
  // The same packets through a live stream's receiver (docs/format.md, "Live streams"), popping
  // after every packet as a server does: samples come out with consistent shapes and counts.
  ftc::LiveDecoderOptions lo;
  lo.decoder = o;
  lo.conceal = static_cast<ftc::ConcealMethod>(size % 6);
  lo.reorder = 1 + static_cast<int>(size % 3);
  ftc::LiveDecoder live(lo);
  uint64_t popped = 0;
  auto pop_all = [&] {
    while (std::optional<ftc::LiveSample> x = live.pop()) {
      ++popped;
      int64_t n = 1;
      for (int64_t dim : x->mask.shape) n *= dim;
      if (static_cast<int64_t>(x->mask.lost.size()) != n || x->mask.lost_count > n) std::abort();
      if (x->lost && x->mask.lost_count != n) std::abort();
      if (x->packets_received > x->packets_expected) std::abort();
    }
  };
  for (const ftc::Bytes& p : packets) {
    live.push(p).IgnoreError();
    pop_all();
  }
  live.flush();
  pop_all();
  const ftc::LiveStats& ls = live.stats();
  if (ls.samples != popped ||
      ls.samples != ls.samples_complete + ls.samples_partial + ls.samples_lost) {
    std::abort();
  }
  const ftc::PacketStats& s = d.stats();
  if (s.accepted + s.duplicates + s.corrupt + s.foreign + s.inconsistent + s.parameter_sets +
          s.waiting !=
      s.pushed) {
    std::abort();
  }
  const auto method = static_cast<ftc::ConcealMethod>(size % 6);
  ftc::Result<ftc::DecodedTensor> r = d.finish(method);
  if (r.ok()) {
    if (s.accepted == 0) std::abort();  // a tensor from nothing
    // The mask covers the tensor, or a learned stream's codes.
    int64_t n = 1;
    for (int64_t dim : r->mask.shape) n *= dim;
    if (static_cast<int64_t>(r->mask.lost.size()) != n || r->stats.elements != n) std::abort();
    if (!learned && n != r->tensor.num_elements()) std::abort();
    ftc::Result<ftc::DecodedTensor> again = d.finish(method);
    if (!again.ok() || again->tensor.size_bytes() != r->tensor.size_bytes() ||
        std::memcmp(again->tensor.data(), r->tensor.data(), r->tensor.size_bytes()) != 0 ||
        again->mask.lost != r->mask.lost) {
      std::abort();  // finish is not repeatable
    }
  } else if (s.accepted != 0 && !(learned && r.status().code() == ftc::StatusCode::kUnsupported) &&
             r.status().code() != ftc::StatusCode::kLimitExceeded) {
    // Packets were accepted but nothing decodes (learned: another unit's stream; or the tensor
    // or the concealment is beyond the decoder's limits).
    std::abort();
  }
  return 0;
}

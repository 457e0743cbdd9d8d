// Packet stream files (.ftcp) and the loss simulator: ReadPacketStream, SimulateLoss,
// DecodeAfterLoss (include/ftcodec/packet.h).
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "base/status_macros.h"
#include "bitstream/frame.h"
#include "bitstream/packet.h"
#include "ftcodec/packet.h"

namespace ftc {

bool IsPacketStream(const uint8_t* data, size_t size) {
  if (HasFrameMagic(data, size)) return false;
  if (size >= 8 && HasPacketMagic(data + 4, size - 4)) return true;
  size_t damaged = 0;
  return !SplitPacketRecords(data, size, &damaged).empty() && damaged == 0;
}

PacketStreamContents ReadPacketStream(const uint8_t* data, size_t size) {
  PacketStreamContents out;
  for (const PacketRecord& r : SplitPacketRecords(data, size, &out.damaged_bytes)) {
    out.packets.emplace_back(r.data, r.data + r.size);
  }
  return out;
}

Result<Bytes> WritePacketStream(const std::vector<Bytes>& packets) {
  Bytes out;
  for (size_t i = 0; i < packets.size(); ++i) {
    const Bytes& p = packets[i];
    if (p.empty() || p.size() > kMaxPacketSize) {
      return FTC_INVALID("packet %zu has %zu bytes; a .ftcp record holds 1..%zu", i, p.size(),
                         kMaxPacketSize);
    }
    AppendPacketRecord(p.data(), p.size(), &out);
  }
  return out;
}

namespace {

// splitmix64 (Steele, Lea & Flood 2014): a fixed, portable generator, so a seed means the same
// losses everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// An event of probability p, decided by comparing one 64-bit draw with floor(p · 2^64)
// (exact in IEEE double arithmetic, so identical on every platform).
class Chance {
 public:
  explicit Chance(double p)
      : always_(p >= 1.0),
        threshold_(p <= 0.0 || p >= 1.0 ? 0 : static_cast<uint64_t>(p * 18446744073709551616.0)) {}
  bool Draw(SplitMix64* rng) const {
    const uint64_t v = rng->Next();  // always one draw, whatever p is
    return always_ || v < threshold_;
  }

 private:
  bool always_;
  uint64_t threshold_;
};

}  // namespace

Status LossModel::Validate() const {
  switch (kind) {
    case Kind::kNone:
    case Kind::kTrace:
      return Status::Ok();
    case Kind::kIid:
      if (!(rate >= 0 && rate < 1)) return FTC_INVALID("loss rate %g outside [0, 1)", rate);
      return Status::Ok();
    case Kind::kGilbertElliott:
      if (!(rate >= 0 && rate < 1)) return FTC_INVALID("loss rate %g outside [0, 1)", rate);
      if (!(burst >= 1) || !std::isfinite(burst)) {
        return FTC_INVALID("mean burst length %g must be at least 1", burst);
      }
      if (rate > burst / (burst + 1)) {
        return FTC_INVALID(
            "a loss rate of %g needs a mean burst length of at least %g (the "
            "good state cannot last less than one packet)",
            rate, rate / (1 - rate));
      }
      return Status::Ok();
  }
  return FTC_INVALID("unknown loss model");
}

Result<std::vector<uint8_t>> ParseLossTrace(const std::string& text) {
  std::vector<uint8_t> trace;
  size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    const std::string token = text.substr(i, j - i);
    if (token != "0" && token != "1") {
      return FTC_INVALID("loss trace entry %zu is '%s', expected 0 or 1", trace.size() + 1,
                         ErrorToken(token).c_str());
    }
    trace.push_back(token == "1");
    i = j;
  }
  return trace;
}

namespace {

Result<std::vector<uint8_t>> SimulateLossOf(const LossModel& model, size_t count, uint64_t seed) {
  FTC_RETURN_IF_ERROR(model.Validate());
  std::vector<uint8_t> lost(count, 0);
  SplitMix64 rng(seed);
  switch (model.kind) {
    case LossModel::Kind::kNone:
      break;
    case LossModel::Kind::kIid: {
      const Chance loss(model.rate);
      for (size_t i = 0; i < count; ++i) lost[i] = loss.Draw(&rng);
      break;
    }
    case LossModel::Kind::kGilbertElliott: {
      const double to_good = 1.0 / model.burst;
      const double to_bad = model.rate == 0 ? 0.0 : to_good / (1.0 / model.rate - 1.0);
      const Chance start_bad(model.rate), leave_bad(to_good), enter_bad(to_bad);
      bool bad = start_bad.Draw(&rng);
      for (size_t i = 0; i < count; ++i) {
        lost[i] = bad;
        bad = bad ? !leave_bad.Draw(&rng) : enter_bad.Draw(&rng);
      }
      break;
    }
    case LossModel::Kind::kTrace:
      if (model.trace.size() < count) {
        return FTC_INVALID("the loss trace has %zu entries for %zu packets", model.trace.size(),
                           count);
      }
      for (size_t i = 0; i < count; ++i) lost[i] = model.trace[i] != 0;
      break;
  }
  return lost;
}

}  // namespace

Result<std::vector<uint8_t>> SimulateLoss(const LossModel& model, size_t count, uint64_t seed) {
  return CatchExceptions("loss simulation", [&]() -> Result<std::vector<uint8_t>> {
    return SimulateLossOf(model, count, seed);
  });
}

Result<DecodedTensor> DecodeAfterLoss(const std::vector<Bytes>& packets, const LossModel& model,
                                      uint64_t seed, ConcealMethod method,
                                      const PacketDecoderOptions& options) {
  FTC_ASSIGN_OR_RETURN(std::vector<uint8_t> lost, SimulateLoss(model, packets.size(), seed));
  Decoder d(options);
  for (size_t i = 0; i < packets.size(); ++i) {
    if (!lost[i]) d.push(packets[i]).IgnoreError();
  }
  return d.finish(method);
}

}  // namespace ftc

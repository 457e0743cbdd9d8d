// QuantPlan: validation, canonical bytes and id (docs/format.md, "Plans").
#include <xxhash.h>

#include <cmath>
#include <cstring>

#include "base/byte_io.h"
#include "base/status_macros.h"
#include "ftcodec/profile.h"

namespace ftc {

const char* ChannelKindName(ChannelKind kind) {
  switch (kind) {
    case ChannelKind::kDropped:
      return "dropped";
    case ChannelKind::kNonNegative:
      return "nonneg";
    case ChannelKind::kSigned:
      return "signed";
    case ChannelKind::kNonPositive:
      return "nonpos";
  }
  return "?";
}

Status QuantPlan::Validate() const {
  if (channels.empty()) return FTC_INVALID("plan: no channels");
  if (channels.size() > 0x7FFFFFFFu) return FTC_INVALID("plan: too many channels");
  bool any_coded = false;
  const float kMinStep = std::ldexp(1.0f, -100), kMaxStep = std::ldexp(1.0f, 80);
  const float kMaxOffset = std::ldexp(1.0f, 100);
  for (size_t c = 0; c < channels.size(); ++c) {
    const ChannelQuant& ch = channels[c];
    if (static_cast<uint8_t>(ch.kind) > 3) {
      return FTC_INVALID("plan: channel %zu: kind %u unknown", c, static_cast<unsigned>(ch.kind));
    }
    if (ch.kind == ChannelKind::kDropped) {
      if (ch.step != 0) return FTC_INVALID("plan: channel %zu: a dropped channel has step 0", c);
    } else {
      any_coded = true;
      if (!(ch.step >= kMinStep && ch.step <= kMaxStep)) {
        return FTC_INVALID("plan: channel %zu: step %g out of range 2^-100..2^80", c, ch.step);
      }
    }
    if (!(std::fabs(ch.offset) <= kMaxOffset)) {
      return FTC_INVALID("plan: channel %zu: offset %g is not finite or exceeds 2^100", c,
                         ch.offset);
    }
    if (std::isnan(ch.clip_lo) || std::isnan(ch.clip_hi) || !(ch.clip_lo <= ch.clip_hi)) {
      return FTC_INVALID("plan: channel %zu: clip range [%g, %g] is empty", c, ch.clip_lo,
                         ch.clip_hi);
    }
  }
  if (!any_coded) return FTC_INVALID("plan: every channel is dropped");
  return Status::Ok();
}

std::vector<uint8_t> QuantPlan::CanonicalBytes() const {
  std::vector<uint8_t> out;
  ByteWriter w(&out);
  w.U8(1);  // Plan_Version
  w.Varint(channels.size());
  for (const ChannelQuant& ch : channels) {
    w.U8(static_cast<uint8_t>(ch.kind));
    w.F32(ch.step);
    w.F32(ch.offset);
  }
  return out;
}

uint64_t QuantPlan::Id() const {
  static const char kDomain[] = "ftcodec-plan";
  std::vector<uint8_t> bytes(kDomain, kDomain + sizeof(kDomain) - 1);
  const std::vector<uint8_t> canonical = CanonicalBytes();
  bytes.insert(bytes.end(), canonical.begin(), canonical.end());
  return XXH3_64bits(bytes.data(), bytes.size());
}

std::string PlanIdHex(uint64_t id) {
  return StrFormat("%016llx", static_cast<unsigned long long>(id));
}

}  // namespace ftc

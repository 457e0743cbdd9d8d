// EncoderOptions::Validate: the general option checks (the codec's own are its
// CodecEncoder::check_options).
#include <cmath>

#include "base/status_macros.h"
#include "codec/core/codec.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/profile.h"

namespace ftc {

Status EncoderOptions::Validate() const {
  Result<const CodecEncoder*> c = FindEncoderByName(codec);
  if (!c.ok()) return c.status();
  if (threads < 1 || threads > 256) return FTC_INVALID("threads %d out of range 1..256", threads);
  if (bits < 1 || bits > 16) return FTC_INVALID("bits %d out of range 1..16", bits);
  if (!(deadzone >= 0 && deadzone <= 0.5)) {
    return FTC_INVALID("deadzone %g out of range 0..0.5", deadzone);
  }
  if (band_rows < 0 || band_rows > 65535) {
    return FTC_INVALID("band_rows %d out of range 0..65535", band_rows);
  }
  switch (clip.kind) {
    case ClipSpec::Kind::kNone:
      break;
    case ClipSpec::Kind::kRange:
      if (!(std::isfinite(clip.a) && std::isfinite(clip.b) && clip.a < clip.b)) {
        return FTC_INVALID("clip range %g:%g is empty or not finite", clip.a, clip.b);
      }
      break;
    case ClipSpec::Kind::kSigma:
      if (!(clip.a > 0 && clip.a <= 1000))
        return FTC_INVALID("clip %gsigma: K out of range", clip.a);
      break;
    case ClipSpec::Kind::kPercentile:
      if (!(clip.a > 50 && clip.a <= 100)) return FTC_INVALID("clip p%g: P out of range", clip.a);
      break;
  }
  if (lossless && clip.kind != ClipSpec::Kind::kNone) {
    return FTC_INVALID("lossless coding takes no clipping range");
  }
  // Planned mode and rate control.
  if (step_shift < 0 || step_shift > 63) {
    return FTC_INVALID("step_shift %d out of range 0..63", step_shift);
  }
  if (plan) {
    if (!CodecTakes(codec, kCodecTakesPlan)) {
      return FTC_INVALID("a quantization plan applies to %s only",
                         CodecsTaking(kCodecTakesPlan).c_str());
    }
    if (lossless) return FTC_INVALID("lossless coding takes no quantization plan");
    FTC_RETURN_IF_ERROR(plan->Validate());
  } else if (step_shift != 0) {
    return FTC_INVALID("step_shift applies to the planned mode (a profile's plan) only");
  }
  if (target_bytes < 0)
    return FTC_INVALID("target_bytes %lld is negative", static_cast<long long>(target_bytes));
  if (target_bytes > 0) {
    if (!CodecTakes(codec, kCodecTakesTargetBytes)) {
      return FTC_INVALID("target_bytes (rate control) applies to %s",
                         CodecsTaking(kCodecTakesTargetBytes).c_str());
    }
    if (lossless) return FTC_INVALID("target_bytes cannot apply to lossless coding");
  }
  // Picture codecs (jpeg, hevc).
  if (quality < 1 || quality > 100) return FTC_INVALID("quality %d out of range 1..100", quality);
  if (qp < 0 || qp > 51) return FTC_INVALID("qp %d out of range 0..51", qp);
  static const char* const kPresets[] = {"ultrafast", "superfast", "veryfast", "faster",
                                         "fast",      "medium",    "slow",     "slower",
                                         "veryslow",  "placebo"};
  bool preset_known = false;
  for (const char* p : kPresets) preset_known = preset_known || preset == p;
  if (!preset_known) {
    return FTC_INVALID(
        "preset '%s' unknown (ultrafast, superfast, veryfast, faster, fast, "
        "medium, slow, slower, veryslow, placebo)",
        ErrorToken(preset).c_str());
  }
  if (bit_depth != 0 && bit_depth != 8 && bit_depth != 10) {
    return FTC_INVALID("bit depth %d: expected 8 or 10", bit_depth);
  }
  if (layout != "mosaic" && layout != "frames") {
    return FTC_INVALID("layout '%s': expected mosaic or frames", ErrorToken(layout).c_str());
  }
  if (layout == "frames" && !CodecTakes(codec, kCodecTakesFramesLayout)) {
    return FTC_INVALID("layout frames (channels as video frames) needs %s",
                       CodecsTaking(kCodecTakesFramesLayout).c_str());
  }
  if (sequence && !CodecTakes(codec, kCodecTakesSequence)) {
    return FTC_INVALID("sequence coding (a batch as one video) needs %s",
                       CodecsTaking(kCodecTakesSequence).c_str());
  }
  // Learned bottleneck.
  if (!inner.empty() && !CodecTakes(inner, kCodecIsInner)) {
    return FTC_INVALID("inner codec '%s': expected %s (or empty: the unit's own)",
                       ErrorToken(inner).c_str(), CodecNamesWith(kCodecIsInner, "or").c_str());
  }
  if (!unit.empty() && !CodecTakes(codec, kCodecTakesUnit)) {
    return FTC_INVALID("unit (a learned unit's folder) applies to %s only",
                       CodecsTaking(kCodecTakesUnit).c_str());
  }
  if (!inner.empty() && !CodecTakes(codec, kCodecTakesUnit)) {
    return FTC_INVALID("inner (the inner codec of a learned unit) applies to %s only",
                       CodecsTaking(kCodecTakesUnit).c_str());
  }
  return Status::Ok();
}

}  // namespace ftc

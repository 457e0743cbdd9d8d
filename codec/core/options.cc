#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "base/status_macros.h"
#include "codec/core/codec.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/profile.h"

namespace ftc {
namespace {

// Parses a whole string as a finite double.
bool ParseNumber(const std::string& s, double* v) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size() && std::isfinite(*v);
}

std::string FormatNumber(double v) { return StrFormat("%.9g", v); }

}  // namespace

Result<ClipSpec> ClipSpec::Parse(const std::string& text) {
  ClipSpec c;
  if (text == "none") return c;
  const size_t colon = text.find(':');
  if (colon != std::string::npos) {
    double a = 0, b = 0;
    if (!ParseNumber(text.substr(0, colon), &a) || !ParseNumber(text.substr(colon + 1), &b)) {
      return FTC_INVALID("--clip '%s': expected a range A:B of two finite numbers",
                         ErrorToken(text).c_str());
    }
    if (!(a < b)) {
      return FTC_INVALID("--clip '%s': A must be less than B", ErrorToken(text).c_str());
    }
    c.kind = Kind::kRange;
    c.a = a;
    c.b = b;
    return c;
  }
  const std::string sigma = "sigma";
  if (text.size() > sigma.size() &&
      text.compare(text.size() - sigma.size(), sigma.size(), sigma) == 0) {
    double k = 0;
    if (!ParseNumber(text.substr(0, text.size() - sigma.size()), &k) || !(k > 0) || k > 1000) {
      return FTC_INVALID("--clip '%s': expected Ksigma with 0 < K <= 1000, e.g. 3sigma",
                         ErrorToken(text).c_str());
    }
    c.kind = Kind::kSigma;
    c.a = k;
    return c;
  }
  if (text.size() > 1 && text[0] == 'p') {
    double p = 0;
    if (!ParseNumber(text.substr(1), &p) || !(p > 50) || p > 100) {
      return FTC_INVALID("--clip '%s': expected pP with 50 < P <= 100, e.g. p99.9",
                         ErrorToken(text).c_str());
    }
    c.kind = Kind::kPercentile;
    c.a = p;
    return c;
  }
  return FTC_INVALID(
      "--clip '%s' not understood (expected none, A:B, Ksigma such as 3sigma, or pP such as "
      "p99.9)",
      ErrorToken(text).c_str());
}

std::string ClipSpec::ToString() const {
  switch (kind) {
    case Kind::kNone:
      return "none";
    case Kind::kRange:
      return FormatNumber(a) + ":" + FormatNumber(b);
    case Kind::kSigma:
      return FormatNumber(a) + "sigma";
    case Kind::kPercentile:
      return "p" + FormatNumber(a);
  }
  return "?";
}

Status EncoderOptions::Validate() const {
  Result<const Codec*> c = FindCodecByName(codec);
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
    if (codec != "ans") return FTC_INVALID("a quantization plan applies to codec ans only");
    if (lossless) return FTC_INVALID("lossless coding takes no quantization plan");
    FTC_RETURN_IF_ERROR(plan->Validate());
  } else if (step_shift != 0) {
    return FTC_INVALID("step_shift applies to the planned mode (a profile's plan) only");
  }
  if (target_bytes < 0)
    return FTC_INVALID("target_bytes %lld is negative", static_cast<long long>(target_bytes));
  if (target_bytes > 0) {
    if (codec != "ans" && codec != "jpeg") {
      return FTC_INVALID("target_bytes (rate control) applies to codecs ans and jpeg");
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
  if (layout == "frames" && codec != "hevc") {
    return FTC_INVALID("layout frames (channels as video frames) needs codec hevc");
  }
  if (sequence && codec != "hevc") {
    return FTC_INVALID("sequence coding (a batch as one video) needs codec hevc");
  }
  // Learned bottleneck.
  if (!inner.empty() && inner != "ans" && inner != "jpeg") {
    return FTC_INVALID("inner codec '%s': expected ans or jpeg (or empty: the unit's own)",
                       ErrorToken(inner).c_str());
  }
  if (!unit.empty() && codec != "learned") {
    return FTC_INVALID("unit (a learned unit's folder) applies to codec learned only");
  }
  if (!inner.empty() && codec != "learned") {
    return FTC_INVALID("inner (the inner codec of a learned unit) applies to codec learned only");
  }
  return Status::Ok();
}

}  // namespace ftc

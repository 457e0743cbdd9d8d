// ClipSpec: the --clip text (include/ftcodec/ftcodec.h), parsed and printed.
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "base/status_macros.h"
#include "ftcodec/ftcodec.h"

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

}  // namespace ftc

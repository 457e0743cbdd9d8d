// Concealment methods zero, mean, linear, inpaint and caltec, and the dispatcher.
#include <algorithm>
#include <cmath>
#include <limits>

#include "base/status_macros.h"
#include "codec/conceal/conceal_internal.h"
#include "ftcodec/packet.h"

namespace ftc {

namespace {

struct MethodName {
  ConcealMethod method;
  const char* name;
};
constexpr MethodName kMethods[] = {
    {ConcealMethod::kZero, "zero"},     {ConcealMethod::kMean, "mean"},
    {ConcealMethod::kLinear, "linear"}, {ConcealMethod::kInpaint, "inpaint"},
    {ConcealMethod::kCaltec, "caltec"}, {ConcealMethod::kLowRank, "lowrank"},
    {ConcealMethod::kAltec, "altec"},
};

}  // namespace

const char* ConcealMethodName(ConcealMethod m) {
  for (const MethodName& k : kMethods) {
    if (k.method == m) return k.name;
  }
  return "?";
}

Result<ConcealMethod> ParseConcealMethod(const std::string& name) {
  for (const MethodName& k : kMethods) {
    if (name == k.name) return k.method;
  }
  return FTC_INVALID(
      "unknown concealment method '%s' (zero, mean, linear, inpaint, caltec, "
      "lowrank, altec)",
      ErrorToken(name).c_str());
}

std::vector<std::string> ConcealMethodNames() {
  std::vector<std::string> v;
  for (const MethodName& k : kMethods) v.push_back(k.name);
  return v;
}

namespace conceal {

bool ReceivedMean(const Plane& p, double* mean) {
  double sum = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < p.size(); ++i) {
    if (!p.lost[i]) {
      sum += p.x[i];
      ++n;
    }
  }
  if (n == 0) return false;
  *mean = sum / static_cast<double>(n);
  return true;
}

void FillLost(const Plane& p, float v) {
  for (int64_t i = 0; i < p.size(); ++i) {
    if (p.lost[i]) p.x[i] = v;
  }
}

void LinearFill(const Plane& p, float fallback) {
  for (int64_t x = 0; x < p.w; ++x) {
    int64_t prev = -1;  // last received row above
    for (int64_t y = 0; y < p.h;) {
      if (!p.lost[y * p.w + x]) {
        prev = y++;
        continue;
      }
      int64_t next = y;  // first received row at or below y
      while (next < p.h && p.lost[next * p.w + x]) ++next;
      for (int64_t r = y; r < next; ++r) {
        float v;
        if (prev < 0 && next >= p.h) {
          v = fallback;
        } else if (prev < 0) {
          v = p.x[next * p.w + x];
        } else if (next >= p.h) {
          v = p.x[prev * p.w + x];
        } else {
          const double t = static_cast<double>(r - prev) / static_cast<double>(next - prev);
          const double a = p.x[prev * p.w + x], b = p.x[next * p.w + x];
          v = static_cast<float>(a + t * (b - a));
        }
        p.x[r * p.w + x] = v;
      }
      y = next;
    }
  }
}

// Inpaint's pixel updates: at most 2^26 per channel and 2^28 per sample (or one sweep).
constexpr int64_t kMaxInpaintUpdates = int64_t{1} << 26;
constexpr int64_t kMaxInpaintSampleUpdates = int64_t{1} << 28;
// caltec examines at most this many other channels (the nearest by index) for each lost band.
constexpr int64_t kMaxCaltecCandidates = 1024;

int64_t InpaintSweeps(int64_t holes, int64_t n, int64_t sample_holes, const ConcealOptions& o) {
  int64_t cap = o.inpaint_max_iterations > 0 ? o.inpaint_max_iterations : 4 * n + 100;
  cap = std::min(cap, kMaxInpaintUpdates / std::max<int64_t>(holes, 1));
  cap = std::min(cap, kMaxInpaintSampleUpdates / std::max<int64_t>(sample_holes, 1));
  return std::max<int64_t>(1, cap);
}

int64_t InpaintWork(const uint8_t* lost, int64_t c, int64_t h, int64_t w, const ConcealOptions& o) {
  const int64_t plane = h * w, n = std::max(h, w);
  int64_t per_channel = 0, all = 0;
  for (int64_t ch = 0; ch < c; ++ch) {
    int64_t holes = 0;
    for (int64_t i = ch * plane; i < (ch + 1) * plane; ++i) holes += lost[i] != 0;
    if (holes == 0 || holes == plane) continue;  // nothing to do, or the sample's mean
    all += holes;
    // Without the per-sample cap: each channel's work only grows with its holes.
    per_channel += holes * InpaintSweeps(holes, n, 0, o);
  }
  // With it: at most one sweep or 2^28 updates in all.
  return std::min(per_channel, std::max(all, kMaxInpaintSampleUpdates));
}

void Inpaint(const Plane& p, float fallback, const ConcealOptions& o, int64_t max_sweeps) {
  LinearFill(p, fallback);
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  std::vector<int64_t> holes;
  for (int64_t i = 0; i < p.size(); ++i) {
    if (p.lost[i]) {
      holes.push_back(i);
    } else {
      lo = std::min(lo, p.x[i]);
      hi = std::max(hi, p.x[i]);
    }
  }
  if (holes.empty() || !(hi > lo) || !std::isfinite(hi - lo)) return;  // constant: done
  const double tol = o.inpaint_tolerance * (static_cast<double>(hi) - lo);
  const int64_t n = std::max(p.h, p.w);
  // The sweep cap (bounded time on huge channels and samples, at the price of an unconverged
  // fill there).
  const int64_t cap =
      std::min(max_sweeps, InpaintSweeps(static_cast<int64_t>(holes.size()), n, 0, o));
  const double kPi = 3.14159265358979323846;
  const double omega = 2.0 / (1.0 + std::sin(kPi / static_cast<double>(n + 1)));
  for (int64_t it = 0; it < cap; ++it) {
    double max_delta = 0;
    for (int64_t i : holes) {
      const int64_t y = i / p.w, x = i % p.w;
      double sum = 0;
      int k = 0;
      if (y > 0) sum += p.x[i - p.w], ++k;
      if (y + 1 < p.h) sum += p.x[i + p.w], ++k;
      if (x > 0) sum += p.x[i - 1], ++k;
      if (x + 1 < p.w) sum += p.x[i + 1], ++k;
      if (k == 0) continue;  // a 1×1 channel
      const double delta = omega * (sum / k - p.x[i]);
      p.x[i] = static_cast<float>(p.x[i] + delta);
      max_delta = std::max(max_delta, std::fabs(delta));
    }
    if (max_delta < tol) break;
  }
}

namespace {

// Band k of a channel: rows [k·R, min((k+1)·R, H)).
struct Bands {
  int64_t rows, count, h, w;
  int64_t first(int64_t k) const { return k * rows * w; }
  int64_t size(int64_t k) const { return (std::min((k + 1) * rows, h) - k * rows) * w; }
};

bool BandReceived(const uint8_t* lost, int64_t begin, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (lost[begin + i]) return false;
  }
  return true;
}

// Pearson correlation of a and b (n values); false if either is constant.
bool Pearson(const float* a, const float* b, int64_t n, double* r) {
  double ma = 0, mb = 0;
  for (int64_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
  ma /= static_cast<double>(n);
  mb /= static_cast<double>(n);
  double sab = 0, saa = 0, sbb = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double da = a[i] - ma, db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (!(saa > 0) || !(sbb > 0)) return false;
  *r = sab / std::sqrt(saa * sbb);
  return std::isfinite(*r);
}

// The t-th other channel by distance from ch (t = 1 .. c-1): ch-1, ch+1, ch-2, ch+2, ... while
// both sides have channels, then the rest of the longer side.
int64_t NthNearestChannel(int64_t ch, int64_t c, int64_t t) {
  const int64_t both = std::min(ch, c - 1 - ch);  // distances available on both sides
  if (t <= 2 * both) return t % 2 ? ch - (t + 1) / 2 : ch + t / 2;
  return ch < c - 1 - ch ? ch + (t - both) : ch - (t - both);
}

// CALTeC: see docs/format.md. Fills what it can; marks the rest in *rest for inpainting.
void Caltec(float* x, const uint8_t* lost, int64_t c, const Bands& b, std::vector<uint8_t>* rest) {
  const int64_t plane = b.h * b.w;
  std::vector<uint8_t> received(static_cast<size_t>(c * b.count));
  for (int64_t ch = 0; ch < c; ++ch) {
    for (int64_t k = 0; k < b.count; ++k) {
      received[static_cast<size_t>(ch * b.count + k)] =
          BandReceived(lost, ch * plane + b.first(k), b.size(k));
    }
  }
  rest->assign(lost, lost + c * plane);
  std::vector<int64_t> above(static_cast<size_t>(b.count)), below(static_cast<size_t>(b.count));
  for (int64_t ch = 0; ch < c; ++ch) {
    const int64_t base = ch * plane;
    const uint8_t* rc = &received[static_cast<size_t>(ch * b.count)];
    // The nearest received band above and below every band of this channel (-1: none).
    for (int64_t k = 0, last = -1; k < b.count; ++k) {
      above[static_cast<size_t>(k)] = last;
      if (rc[k]) last = k;
    }
    for (int64_t k = b.count - 1, last = -1; k >= 0; --k) {
      below[static_cast<size_t>(k)] = last;
      if (rc[k]) last = k;
    }
    for (int64_t k = 0; k < b.count; ++k) {
      if (rc[k]) continue;
      // The nearest received band of this channel (the one above on a tie).
      const int64_t up = above[static_cast<size_t>(k)], down = below[static_cast<size_t>(k)];
      const int64_t kp = up >= 0 && (down < 0 || k - up <= down - k) ? up : down;
      if (kp < 0) continue;
      const float* ref = x + base + b.first(kp);
      const int64_t nref = b.size(kp);
      int64_t best = -1;
      double best_r = -2;
      const int64_t span = std::min<int64_t>(c - 1, kMaxCaltecCandidates);
      for (int64_t t = 1; t <= span; ++t) {
        const int64_t o = NthNearestChannel(ch, c, t);
        if (!received[static_cast<size_t>(o * b.count + k)] ||
            !received[static_cast<size_t>(o * b.count + kp)]) {
          continue;
        }
        double r;
        if (Pearson(x + o * plane + b.first(kp), ref, nref, &r) && r > best_r) {
          best_r = r;
          best = o;
        }
      }
      if (best < 0) continue;
      // Least squares: ref ≈ gain · other + offset on band k'.
      const float* other = x + best * plane + b.first(kp);
      double mo = 0, mr = 0;
      for (int64_t i = 0; i < nref; ++i) mo += other[i], mr += ref[i];
      mo /= static_cast<double>(nref);
      mr /= static_cast<double>(nref);
      double cov = 0, var = 0;
      for (int64_t i = 0; i < nref; ++i) {
        cov += (other[i] - mo) * (ref[i] - mr);
        var += (other[i] - mo) * (other[i] - mo);
      }
      const double gain = cov / var, offset = mr - gain * mo;
      const float* src = x + best * plane + b.first(k);
      const int64_t begin = base + b.first(k);
      for (int64_t i = 0; i < b.size(k); ++i) {
        if (!lost[begin + i]) continue;
        x[begin + i] = static_cast<float>(gain * src[i] + offset);
        (*rest)[static_cast<size_t>(begin + i)] = 0;
      }
    }
  }
}

// An upper bound of Caltec's work: for every lost band of a channel that has a received band,
// the candidate channels' correlations over a band, then the fit and the fill.
int64_t CaltecWork(const uint8_t* lost, int64_t c, const Bands& b) {
  const int64_t plane = b.h * b.w;
  const int64_t span = std::min<int64_t>(c - 1, kMaxCaltecCandidates);
  const int64_t band = b.rows * b.w;  // the largest band
  int64_t lost_bands = 0;
  for (int64_t ch = 0; ch < c; ++ch) {
    int64_t received = 0, missing = 0;
    for (int64_t k = 0; k < b.count; ++k) {
      if (BandReceived(lost, ch * plane + b.first(k), b.size(k))) {
        ++received;
      } else {
        ++missing;
      }
    }
    if (received > 0) lost_bands += missing;
  }
  return lost_bands * (span + 2) * 3 * band;
}

}  // namespace
}  // namespace conceal

int64_t estimate_conceal_work(const uint8_t* lost, int64_t c, int64_t h, int64_t w,
                              ConcealMethod method, const ConcealOptions& o) {
  if (c < 1 || h < 1 || w < 1 || c > (int64_t{1} << 31) / h / w) return 0;
  switch (method) {
    case ConcealMethod::kZero:
    case ConcealMethod::kMean:
    case ConcealMethod::kLinear:
      return 0;
    case ConcealMethod::kInpaint:
      return conceal::InpaintWork(lost, c, h, w, o);
    case ConcealMethod::kCaltec: {
      const int64_t rows = o.band_rows <= 0 || o.band_rows >= h ? h : o.band_rows;
      const conceal::Bands bands{rows, (h + rows - 1) / rows, h, w};
      // Inpainting what caltec leaves: fewer holes per channel than the mask has.
      return conceal::CaltecWork(lost, c, bands) + conceal::InpaintWork(lost, c, h, w, o);
    }
    case ConcealMethod::kLowRank:
      // lowrank runs or (if it cannot) inpaint does, never both.
      return std::max(conceal::LowRankWork(c, h, w, o), conceal::InpaintWork(lost, c, h, w, o));
    case ConcealMethod::kAltec:
      return conceal::AltecWork(lost, c, h, w, o.predictor.get());
  }
  return 0;
}

namespace {

Status CheckPredictor(const ConcealPredictor* p, int64_t c) {
  if (!p) {
    return FTC_INVALID(
        "conceal altec: needs a predictor fitted on the model's features (ftcodec tune writes "
        "one into the profile: dec --profile P)");
  }
  if (static_cast<int64_t>(p->channels.size()) != c) {
    return FTC_INVALID(
        "conceal altec: the predictor was fitted on %lld channels, the sample has %lld",
        static_cast<long long>(p->channels.size()), static_cast<long long>(c));
  }
  return p->Validate();
}

Status ConcealSample(float* data, const uint8_t* lost, int64_t c, int64_t h, int64_t w,
                     ConcealMethod method, const ConcealOptions& o) {
  using conceal::Plane;
  if (c < 1 || h < 1 || w < 1 || c > (int64_t{1} << 31) / h / w) {
    return FTC_INVALID("conceal: invalid sample shape %lldx%lldx%lld", static_cast<long long>(c),
                       static_cast<long long>(h), static_cast<long long>(w));
  }
  if (o.band_rows < 0) return FTC_INVALID("conceal: band rows %d is negative", o.band_rows);
  if (method == ConcealMethod::kAltec) FTC_RETURN_IF_ERROR(CheckPredictor(o.predictor.get(), c));
  const int64_t plane = h * w;
  int64_t lost_count = 0;
  for (int64_t i = 0; i < c * plane; ++i) lost_count += lost[i] != 0;
  if (lost_count == 0) return Status::Ok();
  // The sample's received mean: the value of channels that received nothing.
  double sample_mean = 0;
  {
    double sum = 0;
    int64_t n = 0;
    for (int64_t i = 0; i < c * plane; ++i) {
      if (!lost[i]) sum += data[i], ++n;
    }
    if (n > 0) sample_mean = sum / static_cast<double>(n);
  }
  auto plane_of = [&](int64_t ch, const uint8_t* mask) {
    return Plane{data + ch * plane, mask + ch * plane, h, w};
  };
  // Inpaint's per-sample sweep cap for a mask: 2^28 updates over the holes of the channels that
  // received something (InpaintSweeps).
  auto sweeps = [&](const uint8_t* mask) {
    int64_t holes = 0;
    for (int64_t ch = 0; ch < c; ++ch) {
      int64_t n = 0;
      for (int64_t i = ch * plane; i < (ch + 1) * plane; ++i) n += mask[i] != 0;
      if (n < plane) holes += n;
    }
    return std::max<int64_t>(1, conceal::kMaxInpaintSampleUpdates / std::max<int64_t>(holes, 1));
  };
  // Channels that received nothing get the sample mean (zero: 0); returns true if handled.
  auto empty_channel = [&](const Plane& p, double* mean) {
    if (conceal::ReceivedMean(p, mean)) return false;
    conceal::FillLost(p, method == ConcealMethod::kZero ? 0.0f : static_cast<float>(sample_mean));
    return true;
  };
  switch (method) {
    case ConcealMethod::kZero:
      for (int64_t i = 0; i < c * plane; ++i) {
        if (lost[i]) data[i] = 0;
      }
      return Status::Ok();
    case ConcealMethod::kMean:
    case ConcealMethod::kLinear:
    case ConcealMethod::kInpaint: {
      const int64_t max_sweeps = method == ConcealMethod::kInpaint ? sweeps(lost) : 0;
      for (int64_t ch = 0; ch < c; ++ch) {
        const Plane p = plane_of(ch, lost);
        double mean;
        if (empty_channel(p, &mean)) continue;
        if (method == ConcealMethod::kMean) {
          conceal::FillLost(p, static_cast<float>(mean));
        } else if (method == ConcealMethod::kLinear) {
          conceal::LinearFill(p, static_cast<float>(mean));
        } else {
          conceal::Inpaint(p, static_cast<float>(mean), o, max_sweeps);
        }
      }
      return Status::Ok();
    }
    case ConcealMethod::kCaltec: {
      const int64_t rows = o.band_rows == 0 || o.band_rows >= h ? h : o.band_rows;
      const conceal::Bands bands{rows, (h + rows - 1) / rows, h, w};
      std::vector<uint8_t> rest;
      conceal::Caltec(data, lost, c, bands, &rest);
      const int64_t max_sweeps = sweeps(rest.data());
      for (int64_t ch = 0; ch < c; ++ch) {
        const Plane p = plane_of(ch, rest.data());
        double mean;
        if (empty_channel(p, &mean)) continue;
        conceal::Inpaint(p, static_cast<float>(mean), o, max_sweeps);
      }
      return Status::Ok();
    }
    case ConcealMethod::kAltec:
      // Linear first (the sample mean where a channel received nothing), then the predictor.
      for (int64_t ch = 0; ch < c; ++ch) {
        const Plane p = plane_of(ch, lost);
        double mean;
        if (!empty_channel(p, &mean)) conceal::LinearFill(p, static_cast<float>(mean));
      }
      conceal::Altec(data, lost, c, h, w, *o.predictor);
      return Status::Ok();
    case ConcealMethod::kLowRank:
      if (!conceal::LowRankComplete(data, lost, c, h, w, o)) {
        return ConcealSample(data, lost, c, h, w, ConcealMethod::kInpaint, o);
      }
      return Status::Ok();
  }
  return FTC_INVALID("conceal: unknown method %d", static_cast<int>(method));
}

}  // namespace

Status conceal_sample(float* data, const uint8_t* lost, int64_t c, int64_t h, int64_t w,
                      ConcealMethod method, const ConcealOptions& o) {
  return CatchExceptions("conceal", [&] { return ConcealSample(data, lost, c, h, w, method, o); });
}

}  // namespace ftc

// ALTeC: a per-channel linear predictor of lost elements from the co-located elements of the
// best-correlated other channels and the rows above and below, fitted by least squares on
// calibration features (docs/format.md, "Loss and concealment"; docs/profiles.md).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/status_macros.h"
#include "codec/conceal/conceal_internal.h"
#include "ftcodec/packet.h"

namespace ftc {

Status ConcealPredictor::Validate() const {
  const int64_t c = static_cast<int64_t>(channels.size());
  if (c < 1 || c > (int64_t{1} << 24)) {
    return FTC_INVALID("conceal predictor: %lld channels (expected 1 to 2^24)",
                       static_cast<long long>(c));
  }
  std::vector<uint8_t> seen(static_cast<size_t>(c), 0);
  for (int64_t i = 0; i < c; ++i) {
    const Channel& ch = channels[static_cast<size_t>(i)];
    const auto bad = [&](const char* what) {
      return FTC_INVALID("conceal predictor: channel %lld: %s", static_cast<long long>(i), what);
    };
    if (ch.sources.size() != ch.weights.size()) return bad("as many weights as sources expected");
    if (ch.sources.size() > static_cast<size_t>(kMaxSources)) return bad("too many sources");
    for (int32_t s : ch.sources) {
      if (s < 0 || s >= c || s == i) return bad("a source is out of range or the channel itself");
      if (seen[static_cast<size_t>(s)]) return bad("a source is listed twice");
      seen[static_cast<size_t>(s)] = 1;
    }
    for (int32_t s : ch.sources) seen[static_cast<size_t>(s)] = 0;
    bool finite = std::isfinite(ch.bias) && std::isfinite(ch.up) && std::isfinite(ch.down) &&
                  std::isfinite(ch.lo) && std::isfinite(ch.hi);
    for (float w : ch.weights) finite = finite && std::isfinite(w);
    if (!finite) return bad("a value is not finite");
    if (!(ch.lo <= ch.hi)) return bad("lo > hi");
  }
  return Status::Ok();
}

namespace conceal {
namespace {

// Rows above and below row y (reflected at the edges; y itself when h == 1).
inline int64_t RowUp(int64_t y, int64_t h) { return y > 0 ? y - 1 : std::min<int64_t>(1, h - 1); }
inline int64_t RowDown(int64_t y, int64_t h) {
  return y + 1 < h ? y + 1 : std::max<int64_t>(0, y - 1);
}

// The features of one position (sample buffer x of C×H×W, channel c at (y, col)): up, down, then
// the sources' co-located values.
void PositionFeatures(const float* x, int64_t h, int64_t w, int64_t c, int64_t y, int64_t col,
                      const std::vector<int32_t>& sources, double* f) {
  const int64_t plane = h * w;
  const float* ch = x + c * plane;
  f[0] = h > 1 ? ch[RowUp(y, h) * w + col] : 0.0;
  f[1] = h > 1 ? ch[RowDown(y, h) * w + col] : 0.0;
  for (size_t k = 0; k < sources.size(); ++k) f[2 + k] = x[sources[k] * plane + y * w + col];
}

// Solves the symmetric positive definite system a·z = b (n×n, row-major) by Cholesky; false if
// it is not positive definite.
bool CholeskySolve(std::vector<double> a, std::vector<double> b, int n, std::vector<double>* z) {
  for (int j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (int k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (int i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (int k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
  }
  for (int i = 0; i < n; ++i) {  // L·u = b
    for (int k = 0; k < i; ++k) b[i] -= a[i * n + k] * b[k];
    b[i] /= a[i * n + i];
  }
  for (int i = n - 1; i >= 0; --i) {  // Lᵀ·z = u
    for (int k = i + 1; k < n; ++k) b[i] -= a[k * n + i] * b[k];
    b[i] /= a[i * n + i];
  }
  *z = std::move(b);
  return true;
}

// Sample n of the features as f32 (C·H·W values).
void LoadSample(const TensorView& t, int64_t n, int64_t per_sample, std::vector<float>* buf) {
  buf->resize(static_cast<size_t>(per_sample));
  GatherF32(t, n * per_sample, per_sample, buf->data());
}

struct Dims {
  int64_t n, c, h, w;
  int64_t plane() const { return h * w; }
  int64_t positions() const { return n * h * w; }
};

// Every channel's `k` best-correlated other channels (|Pearson r| on a subsample of positions;
// ties: the lower channel index), and its smallest and largest value over all positions.
void ChooseSources(const TensorView& t, const Dims& d, int k, ConcealPredictor* p) {
  const int64_t c = d.c, plane = d.plane();
  const int64_t budget = std::max<int64_t>(1000, int64_t{600000000} / std::max<int64_t>(c * c, 1));
  const int64_t stride = std::max<int64_t>(1, (d.positions() + budget - 1) / budget);
  std::vector<double> sum(c, 0), cross(static_cast<size_t>(c * c), 0);
  std::vector<float> buf, v(static_cast<size_t>(c));
  int64_t rows = 0;
  for (int64_t n = 0; n < d.n; ++n) {
    LoadSample(t, n, c * plane, &buf);
    for (int64_t ch = 0; ch < c; ++ch) {
      ConcealPredictor::Channel& pc = p->channels[static_cast<size_t>(ch)];
      const auto mm = std::minmax_element(buf.begin() + ch * plane, buf.begin() + (ch + 1) * plane);
      if (n == 0) pc.lo = *mm.first, pc.hi = *mm.second;
      pc.lo = std::min(pc.lo, *mm.first);
      pc.hi = std::max(pc.hi, *mm.second);
    }
    for (int64_t q = (stride - (n * plane) % stride) % stride; q < plane; q += stride) {
      for (int64_t ch = 0; ch < c; ++ch) v[ch] = buf[ch * plane + q];
      for (int64_t i = 0; i < c; ++i) {
        sum[i] += v[i];
        for (int64_t j = 0; j <= i; ++j) cross[i * c + j] += double{v[i]} * v[j];
      }
      ++rows;
    }
  }
  std::vector<double> sd(c, 0);
  for (int64_t i = 0; i < c; ++i) {
    const double m = sum[i] / static_cast<double>(rows);
    sd[i] = std::sqrt(std::max(0.0, cross[i * c + i] / static_cast<double>(rows) - m * m));
  }
  std::vector<int32_t> order(static_cast<size_t>(c));
  std::vector<double> score(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) {
    for (int64_t j = 0; j < c; ++j) {
      const int64_t a = std::max(i, j), b = std::min(i, j);
      const double cov =
          cross[a * c + b] / static_cast<double>(rows) -
          (sum[a] / static_cast<double>(rows)) * (sum[b] / static_cast<double>(rows));
      score[j] = (j == i || sd[i] <= 0 || sd[j] <= 0) ? -1 : std::fabs(cov / (sd[i] * sd[j]));
    }
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t x, int32_t y) { return score[x] > score[y]; });
    ConcealPredictor::Channel& pc = p->channels[static_cast<size_t>(i)];
    for (int64_t r = 0; r < c && static_cast<int>(pc.sources.size()) < k; ++r) {
      if (score[order[r]] > 0) pc.sources.push_back(order[r]);
    }
    std::sort(pc.sources.begin(), pc.sources.end());
  }
}

// Least squares (ridge) of every channel from its features, on positions with stride `stride`.
void FitWeights(const TensorView& t, const Dims& d, int64_t stride, double ridge,
                ConcealPredictor* p) {
  const int64_t c = d.c, plane = d.plane();
  struct Acc {
    std::vector<double> s, sxx, sxy;  // sums of features, cross products, feature·target
    double sy = 0;
    int64_t rows = 0;
  };
  std::vector<Acc> acc(static_cast<size_t>(c));
  for (int64_t ch = 0; ch < c; ++ch) {
    const size_t m = 2 + p->channels[static_cast<size_t>(ch)].sources.size();
    acc[ch].s.assign(m, 0), acc[ch].sxx.assign(m * m, 0), acc[ch].sxy.assign(m, 0);
  }
  std::vector<float> buf;
  std::vector<double> f(2 + ConcealPredictor::kMaxSources);
  for (int64_t n = 0; n < d.n; ++n) {
    LoadSample(t, n, c * plane, &buf);
    for (int64_t q = (stride - (n * plane) % stride) % stride; q < plane; q += stride) {
      const int64_t y = q / d.w, col = q % d.w;
      for (int64_t ch = 0; ch < c; ++ch) {
        const std::vector<int32_t>& src = p->channels[static_cast<size_t>(ch)].sources;
        Acc& a = acc[static_cast<size_t>(ch)];
        const size_t m = a.s.size();
        PositionFeatures(buf.data(), d.h, d.w, ch, y, col, src, f.data());
        const double target = buf[ch * plane + q];
        for (size_t i = 0; i < m; ++i) {
          a.s[i] += f[i];
          a.sxy[i] += f[i] * target;
          for (size_t j = 0; j <= i; ++j) a.sxx[i * m + j] += f[i] * f[j];
        }
        a.sy += target;
        ++a.rows;
      }
    }
  }
  for (int64_t ch = 0; ch < c; ++ch) {
    Acc& a = acc[static_cast<size_t>(ch)];
    ConcealPredictor::Channel& pc = p->channels[static_cast<size_t>(ch)];
    const int m = static_cast<int>(a.s.size());
    const double rows = static_cast<double>(std::max<int64_t>(a.rows, 1));
    const double my = a.sy / rows;
    // Centred normal equations: covariance of the features (+ ridge) · w = covariance with y.
    std::vector<double> cov(static_cast<size_t>(m * m)), rhs(static_cast<size_t>(m));
    double trace = 0;
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j <= i; ++j) {
        cov[i * m + j] = cov[j * m + i] =
            a.sxx[i * m + j] / rows - (a.s[i] / rows) * (a.s[j] / rows);
      }
      rhs[i] = a.sxy[i] / rows - (a.s[i] / rows) * my;
      trace += cov[i * m + i];
    }
    for (int i = 0; i < m; ++i) cov[i * m + i] += ridge * cov[i * m + i] + 1e-9 * trace / m + 1e-30;
    std::vector<double> z;
    pc.bias = static_cast<float>(my);
    pc.up = pc.down = 0;
    pc.weights.assign(pc.sources.size(), 0.0f);
    if (!CholeskySolve(cov, rhs, m, &z)) continue;  // a constant channel: its mean
    double bias = my;
    for (int i = 0; i < m; ++i) bias -= z[i] * (a.s[i] / rows);
    pc.bias = static_cast<float>(bias);
    pc.up = static_cast<float>(z[0]);
    pc.down = static_cast<float>(z[1]);
    for (size_t k = 0; k < pc.sources.size(); ++k) pc.weights[k] = static_cast<float>(z[2 + k]);
  }
}

}  // namespace

void Altec(float* x, const uint8_t* lost, int64_t c, int64_t h, int64_t w,
           const ConcealPredictor& p) {
  const int64_t plane = h * w;
  std::vector<float> next;
  for (int pass = 0; pass < kAltecPasses; ++pass) {
    next.clear();
    for (int64_t ch = 0; ch < c; ++ch) {
      const ConcealPredictor::Channel& pc = p.channels[static_cast<size_t>(ch)];
      const float* own = x + ch * plane;
      for (int64_t q = 0; q < plane; ++q) {
        if (!lost[ch * plane + q]) continue;
        const int64_t y = q / w, col = q % w;
        double v = pc.bias;
        if (h > 1) {
          v += double{pc.up} * own[RowUp(y, h) * w + col] +
               double{pc.down} * own[RowDown(y, h) * w + col];
        }
        for (size_t k = 0; k < pc.sources.size(); ++k) {
          v += double{pc.weights[k]} * x[pc.sources[k] * plane + q];
        }
        next.push_back(static_cast<float>(std::clamp(v, double{pc.lo}, double{pc.hi})));
      }
    }
    size_t i = 0;
    for (int64_t e = 0; e < c * plane; ++e) {
      if (lost[e]) x[e] = next[i++];
    }
  }
}

int64_t AltecWork(const uint8_t* lost, int64_t c, int64_t h, int64_t w, const ConcealPredictor* p) {
  if (!p || static_cast<int64_t>(p->channels.size()) != c) return 0;
  const int64_t plane = h * w;
  int64_t work = 0;
  for (int64_t ch = 0; ch < c; ++ch) {
    int64_t holes = 0;
    for (int64_t q = 0; q < plane; ++q) holes += lost[ch * plane + q] != 0;
    work += holes * (3 + static_cast<int64_t>(p->channels[static_cast<size_t>(ch)].sources.size()));
  }
  return kAltecPasses * work;
}

}  // namespace conceal

Result<ConcealPredictor> fit_conceal_predictor(const TensorView& features,
                                               const ConcealFitOptions& o) {
  FTC_RETURN_IF_ERROR(features.Validate());
  if (features.rank != 3 && features.rank != 4) {
    return FTC_INVALID("conceal predictor: features of rank %d (expected N×C×H×W or C×H×W)",
                       features.rank);
  }
  const int off = features.rank - 3;
  conceal::Dims d{off ? features.shape[0] : 1, features.shape[off], features.shape[off + 1],
                  features.shape[off + 2]};
  if (d.n < 1 || d.c < 1 || d.h < 1 || d.w < 1) {
    return FTC_INVALID("conceal predictor: no features to fit on");
  }
  if (o.sources < 0 || o.sources > ConcealPredictor::kMaxSources) {
    return FTC_INVALID("conceal predictor: %d sources (expected 0 to %d)", o.sources,
                       ConcealPredictor::kMaxSources);
  }
  if (o.max_rows < 1 || !(o.ridge >= 0 && o.ridge < 1e6)) {
    return FTC_INVALID("conceal predictor: max rows must be >= 1 and ridge in [0, 1e6)");
  }
  return CatchExceptions("conceal predictor", [&]() -> Result<ConcealPredictor> {
    ConcealPredictor p;
    p.channels.resize(static_cast<size_t>(d.c));
    conceal::ChooseSources(features, d, o.sources, &p);
    // At most max_rows positions per channel, and about 2·10^9 multiply-adds in all.
    const int64_t m = 2 + o.sources;
    const int64_t rows =
        std::max<int64_t>(1000, std::min<int64_t>(o.max_rows, int64_t{2000000000} / (d.c * m * m)));
    const int64_t stride = std::max<int64_t>(1, (d.positions() + rows - 1) / rows);
    conceal::FitWeights(features, d, stride, o.ridge, &p);
    FTC_RETURN_IF_ERROR(p.Validate());
    return p;
  });
}

}  // namespace ftc

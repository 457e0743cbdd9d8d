// Concealment method lowrank: HaLRTC (Liu, Musialski, Wonka & Ye, "Tensor completion for
// estimating missing values in visual data", 2013), ADMM form:
//
//   M_i = fold_i( D_{α/ρ}( unfold_i(X) + unfold_i(Y_i)/ρ ) )      for each mode i
//   X   = mean_i( M_i − Y_i/ρ ),  then X = T on the received entries
//   Y_i = Y_i − ρ (M_i − X),      ρ = 1.2 ρ
//
// D_τ is singular value thresholding: A = U Σ Vᵀ -> U max(Σ − τ, 0) Vᵀ. We never form V: with
// the Gram matrix G = A Aᵀ = U Σ² Uᵀ (A's shorter side), D_τ(A) = U diag(max(σ−τ,0)/σ) Uᵀ A.
// G is diagonalised by cyclic Jacobi rotations, warm-started from the previous iteration's
// eigenvectors (X changes little between iterations, so one or two sweeps suffice).
//
// The data are scaled by the RMS of the received values, so thresholds do not depend on units;
// ρ starts at α/‖X‖_F (τ = ‖X‖_F >= σ_max: everything thresholded) and grows ×1.2 per iteration.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "codec/conceal/conceal_internal.h"

namespace ftc::conceal {

int JacobiEigen(std::vector<double>* a_in, int n, std::vector<double>* values,
                std::vector<double>* vectors, int max_sweeps) {
  std::vector<double>& a = *a_in;
  const size_t N = static_cast<size_t>(n);
  // Rotations touch rows p and q of A and of Vᵀ (contiguous) and columns p and q of A (written
  // from the rows, by symmetry): this keeps the sweep cache-friendly for large n.
  std::vector<double> vt(N * N);
  for (size_t i = 0; i < N; ++i) {
    for (size_t j = 0; j < N; ++j) vt[j * N + i] = (*vectors)[i * N + j];
  }
  int sweep = 0;
  for (; sweep < max_sweeps; ++sweep) {
    double off = 0, total = 0;
    for (size_t i = 0; i < N; ++i) {
      for (size_t j = 0; j < N; ++j) {
        const double x = a[i * N + j] * a[i * N + j];
        total += x;
        if (i != j) off += x;
      }
    }
    if (!(off > 1e-24 * total)) break;
    for (size_t p = 0; p + 1 < N; ++p) {
      for (size_t q = p + 1; q < N; ++q) {
        const double apq = a[p * N + q];
        if (std::fabs(apq) < 1e-300) continue;
        const double app = a[p * N + p], aqq = a[q * N + q];
        const double theta = (aqq - app) / (2 * apq);
        double t;
        if (std::fabs(theta) > 1e150) {
          t = 0.5 / theta;
        } else {
          t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        }
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        double* rp = &a[p * N];
        double* rq = &a[q * N];
        for (size_t r = 0; r < N; ++r) {
          const double arp = rp[r], arq = rq[r];
          rp[r] = c * arp - s * arq;
          rq[r] = s * arp + c * arq;
        }
        rp[p] = app - t * apq;
        rq[q] = aqq + t * apq;
        rp[q] = rq[p] = 0;
        for (size_t r = 0; r < N; ++r) {
          a[r * N + p] = rp[r];
          a[r * N + q] = rq[r];
        }
        double* vp = &vt[p * N];
        double* vq = &vt[q * N];
        for (size_t r = 0; r < N; ++r) {
          const double x = vp[r], y = vq[r];
          vp[r] = c * x - s * y;
          vq[r] = s * x + c * y;
        }
      }
    }
  }
  values->resize(N);
  for (size_t i = 0; i < N; ++i) (*values)[i] = a[i * N + i];
  for (size_t i = 0; i < N; ++i) {
    for (size_t j = 0; j < N; ++j) (*vectors)[i * N + j] = vt[j * N + i];
  }
  return sweep;
}

namespace {

// Mode-i unfolding of a C×H×W tensor: rows = dims[i]; the column runs over the other two
// indices in C order.
struct Unfolding {
  int mode;
  int64_t dims[3];
  int64_t rows() const { return dims[mode]; }
  int64_t cols() const { return dims[0] * dims[1] * dims[2] / dims[mode]; }
  // Tensor flat index -> (row, col) of the unfolding, stored as row * cols + col.
  int64_t Map(int64_t flat) const {
    const int64_t w = flat % dims[2], h = (flat / dims[2]) % dims[1],
                  c = flat / (dims[1] * dims[2]);
    switch (mode) {
      case 0:
        return c * cols() + h * dims[2] + w;
      case 1:
        return h * cols() + c * dims[2] + w;
      default:
        return w * cols() + c * dims[1] + h;
    }
  }
};

// Singular value thresholding of the rows×cols matrix a (row-major) in place; `basis` holds the
// previous eigenvectors of the Gram matrix (k×k, k = min side) and is updated.
void Shrink(std::vector<double>* a_io, int64_t rows, int64_t cols, double tau,
            std::vector<double>* basis, bool warm, int max_sweeps) {
  std::vector<double>& a = *a_io;
  const bool wide = rows <= cols;  // Gram of the rows (k = rows) or of the columns (k = cols)
  const int64_t k = wide ? rows : cols, n = wide ? cols : rows;
  auto at = [&](int64_t i, int64_t j) -> double& {  // i < k along the short side, j < n
    return wide ? a[static_cast<size_t>(i * cols + j)] : a[static_cast<size_t>(j * cols + i)];
  };
  const size_t K = static_cast<size_t>(k);
  std::vector<double> g(K * K, 0.0);
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = i; j < k; ++j) {
      double s = 0;
      for (int64_t t = 0; t < n; ++t) s += at(i, t) * at(j, t);
      g[static_cast<size_t>(i) * K + static_cast<size_t>(j)] = s;
      g[static_cast<size_t>(j) * K + static_cast<size_t>(i)] = s;
    }
  }
  std::vector<double>& u = *basis;
  if (!warm || u.size() != K * K) {
    u.assign(K * K, 0.0);
    for (size_t i = 0; i < K; ++i) u[i * K + i] = 1;
  } else {
    // g <- uᵀ g u, nearly diagonal.
    std::vector<double> gu(K * K, 0.0);
    for (size_t i = 0; i < K; ++i) {
      for (size_t t = 0; t < K; ++t) {
        const double x = g[i * K + t];
        for (size_t j = 0; j < K; ++j) gu[i * K + j] += x * u[t * K + j];
      }
    }
    std::fill(g.begin(), g.end(), 0.0);
    for (size_t t = 0; t < K; ++t) {
      for (size_t i = 0; i < K; ++i) {
        const double x = u[t * K + i];
        for (size_t j = 0; j < K; ++j) g[i * K + j] += x * gu[t * K + j];
      }
    }
  }
  std::vector<double> lambda;
  JacobiEigen(&g, static_cast<int>(k), &lambda, &u, max_sweeps);
  // a <- u diag(f) uᵀ a (along the short side), over the kept components only.
  std::vector<double> kept;
  std::vector<size_t> idx;
  for (size_t j = 0; j < K; ++j) {
    const double sigma = std::sqrt(std::max(lambda[j], 0.0));
    if (sigma > tau) {
      kept.push_back((sigma - tau) / sigma);
      idx.push_back(j);
    }
  }
  std::vector<double> proj(idx.size() * static_cast<size_t>(n), 0.0);  // uᵀ a, kept rows
  for (size_t r = 0; r < idx.size(); ++r) {
    double* pr = &proj[r * static_cast<size_t>(n)];
    for (int64_t i = 0; i < k; ++i) {
      const double x = u[static_cast<size_t>(i) * K + idx[r]] * kept[r];
      if (x == 0) continue;
      for (int64_t t = 0; t < n; ++t) pr[t] += x * at(i, t);
    }
  }
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t t = 0; t < n; ++t) at(i, t) = 0;
    for (size_t r = 0; r < idx.size(); ++r) {
      const double x = u[static_cast<size_t>(i) * K + idx[r]];
      const double* pr = &proj[r * static_cast<size_t>(n)];
      for (int64_t t = 0; t < n; ++t) at(i, t) += x * pr[t];
    }
  }
}

}  // namespace

namespace {

// The unfoldings of a C×H×W sample (modes of size 1 left out) and the planned iterations; false
// if not even one iteration fits the budget.
bool Plan(int64_t c, int64_t h, int64_t w, const ConcealOptions& o, std::vector<Unfolding>* modes,
          int* iterations, double* work) {
  const int64_t dims[3] = {c, h, w};
  for (int m = 0; m < 3; ++m) {
    if (dims[m] > 1) modes->push_back({m, {c, h, w}});
  }
  if (modes->empty()) return false;
  // Work (in units of about one multiply-add; a Jacobi rotation's strided column writes count
  // several): Gram k²n, projection and reconstruction 2k²n, and about 10 cold Jacobi sweeps of
  // ~15k³ in the first iteration, ~3 warm sweeps plus the warm start later.
  double first = 0, later = 0;
  for (const Unfolding& u : *modes) {
    const double k = static_cast<double>(std::min(u.rows(), u.cols()));
    const double n = static_cast<double>(std::max(u.rows(), u.cols()));
    first += 3 * k * k * n + 150 * k * k * k;
    later += 3 * k * k * n + 50 * k * k * k;
  }
  if (!(first <= o.lowrank_flop_budget)) return false;
  *iterations = static_cast<int>(std::min<double>(
      o.lowrank_max_iterations, 1 + std::floor((o.lowrank_flop_budget - first) / later)));
  if (*iterations < 1) return false;
  *work = first + later * (*iterations - 1);
  return true;
}

}  // namespace

int64_t LowRankWork(int64_t c, int64_t h, int64_t w, const ConcealOptions& o) {
  std::vector<Unfolding> modes;
  int iterations = 0;
  double work = 0;
  if (!Plan(c, h, w, o, &modes, &iterations, &work)) return 0;
  return work >= 9e18 ? INT64_MAX : static_cast<int64_t>(std::ceil(work));
}

bool LowRankComplete(float* data, const uint8_t* lost, int64_t c, int64_t h, int64_t w,
                     const ConcealOptions& o) {
  const int64_t e = c * h * w;
  std::vector<Unfolding> modes;
  int iterations = 0;
  double planned = 0;
  if (!Plan(c, h, w, o, &modes, &iterations, &planned)) return false;

  double sum2 = 0;
  int64_t known = 0;
  for (int64_t i = 0; i < e; ++i) {
    if (!lost[i]) sum2 += static_cast<double>(data[i]) * data[i], ++known;
  }
  if (known == 0 || !(sum2 > 0) || !std::isfinite(sum2)) return false;
  const double scale = std::sqrt(sum2 / static_cast<double>(known));
  // X: scaled data, lost entries started at their channel's received mean.
  std::vector<double> x(static_cast<size_t>(e));
  {
    double all = 0;
    for (int64_t i = 0; i < e; ++i) {
      if (!lost[i]) all += data[i] / scale;
    }
    all /= static_cast<double>(known);
    const int64_t plane = h * w;
    for (int64_t ch = 0; ch < c; ++ch) {
      double s = 0;
      int64_t n = 0;
      for (int64_t i = ch * plane; i < (ch + 1) * plane; ++i) {
        if (!lost[i]) s += data[i] / scale, ++n;
      }
      const double mean = n > 0 ? s / static_cast<double>(n) : all;
      for (int64_t i = ch * plane; i < (ch + 1) * plane; ++i) {
        x[static_cast<size_t>(i)] = lost[i] ? mean : data[i] / scale;
      }
    }
  }
  const size_t E = static_cast<size_t>(e);
  const double alpha = 1.0 / static_cast<double>(modes.size());
  double norm = 0;
  for (double v : x) norm += v * v;
  norm = std::sqrt(norm);
  double rho = alpha / norm;
  std::vector<std::vector<double>> y(modes.size(), std::vector<double>(E, 0.0));
  std::vector<std::vector<double>> m(modes.size(), std::vector<double>(E));
  std::vector<std::vector<double>> basis(modes.size());
  std::vector<double> unf(E), next(E);
  for (int it = 0; it < iterations; ++it) {
    for (size_t i = 0; i < modes.size(); ++i) {
      const Unfolding& u = modes[i];
      for (size_t f = 0; f < E; ++f) {
        unf[static_cast<size_t>(u.Map(static_cast<int64_t>(f)))] = x[f] + y[i][f] / rho;
      }
      Shrink(&unf, u.rows(), u.cols(), alpha / rho, &basis[i], it > 0, it > 0 ? 8 : 30);
      for (size_t f = 0; f < E; ++f)
        m[i][f] = unf[static_cast<size_t>(u.Map(static_cast<int64_t>(f)))];
    }
    double diff = 0, size = 0;
    for (size_t f = 0; f < E; ++f) {
      double v;
      if (lost[f]) {
        v = 0;
        for (size_t i = 0; i < modes.size(); ++i) v += m[i][f] - y[i][f] / rho;
        v *= alpha;
      } else {
        v = data[f] / scale;
      }
      diff += (v - x[f]) * (v - x[f]);
      size += v * v;
      next[f] = v;
    }
    x.swap(next);
    for (size_t i = 0; i < modes.size(); ++i) {
      for (size_t f = 0; f < E; ++f) y[i][f] -= rho * (m[i][f] - x[f]);
    }
    rho *= 1.2;
    if (it > 0 && diff <= 1e-12 * size) break;
  }
  for (size_t f = 0; f < E; ++f) {
    if (lost[f]) data[f] = static_cast<float>(x[f] * scale);
  }
  return true;
}

}  // namespace ftc::conceal

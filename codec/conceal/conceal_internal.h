// Concealment of lost elements of a C×H×W sample (docs/format.md, "Loss and concealment").
// Public entry point: conceal_sample (include/ftcodec/packet.h). The methods share these
// helpers; each works on one f32 sample in place and leaves received elements untouched.
#ifndef FTCODEC_CODEC_CONCEAL_CONCEAL_INTERNAL_H_
#define FTCODEC_CODEC_CONCEAL_CONCEAL_INTERNAL_H_

#include <cstdint>
#include <vector>

#include "ftcodec/packet.h"

namespace ftc::conceal {

// One channel: h×w values and their loss flags (1 = lost).
struct Plane {
  float* x;
  const uint8_t* lost;
  int64_t h, w;
  int64_t size() const { return h * w; }
};

// Mean of the received values; false if none was received.
bool ReceivedMean(const Plane& p, double* mean);
// Fills every lost element with v.
void FillLost(const Plane& p, float v);
// Linear interpolation along H between the nearest received rows of each column (copy at an
// edge); `fallback` where a column received nothing.
void LinearFill(const Plane& p, float fallback);
// Laplace inpainting with SOR, started from LinearFill. Needs at least one received element.
// At most `max_sweeps` sweeps (besides the method's own caps: InpaintSweeps).
void Inpaint(const Plane& p, float fallback, const ConcealOptions& o, int64_t max_sweeps);
// Inpaint's sweep cap for a channel of `holes` lost elements (and n = max(H, W)), when the
// sample inpaints `sample_holes` elements in all.
int64_t InpaintSweeps(int64_t holes, int64_t n, int64_t sample_holes, const ConcealOptions& o);
// An upper bound of Inpaint's updates on every channel of a sample with this mask that received
// something (also for any mask with fewer lost elements per channel).
int64_t InpaintWork(const uint8_t* lost, int64_t c, int64_t h, int64_t w, const ConcealOptions& o);
// HaLRTC on the whole sample; false if the work budget does not allow a single iteration.
bool LowRankComplete(float* x, const uint8_t* lost, int64_t c, int64_t h, int64_t w,
                     const ConcealOptions& o);
// LowRankComplete's planned work (operations) for a C×H×W sample, or 0 if it would not run.
int64_t LowRankWork(int64_t c, int64_t h, int64_t w, const ConcealOptions& o);

// ALTeC (conceal_altec.cc): kAltecPasses Jacobi passes of the predictor over the lost elements,
// each from the values of the pass before (the first from a filled sample, e.g. LinearFill).
// The predictor has c channels (checked by the caller).
constexpr int kAltecPasses = 2;
void Altec(float* x, const uint8_t* lost, int64_t c, int64_t h, int64_t w,
           const ConcealPredictor& p);
// Altec's work: passes × Σ lost elements × (3 + the channel's sources); 0 without a predictor
// of c channels.
int64_t AltecWork(const uint8_t* lost, int64_t c, int64_t h, int64_t w, const ConcealPredictor* p);

// Eigen-decomposition of a symmetric n×n matrix (row-major, destroyed) by cyclic Jacobi
// rotations: eigenvalues to `values`, eigenvectors as the columns of `vectors` (row-major n×n;
// on entry, the matrix that the rotations are accumulated into — the identity for a plain
// decomposition). Stops when the off-diagonal mass is below 1e-24 of the total or after
// `max_sweeps` sweeps. Returns the sweeps done.
int JacobiEigen(std::vector<double>* a, int n, std::vector<double>* values,
                std::vector<double>* vectors, int max_sweeps);

}  // namespace ftc::conceal

#endif  // FTCODEC_CODEC_CONCEAL_CONCEAL_INTERNAL_H_

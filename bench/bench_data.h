// Realistic benchmark tensors: activations of a small conv net on Fashion-MNIST, committed under
// data/features (made by scripts/make_features.py; see data/features/README.md).
#ifndef FTCODEC_BENCH_BENCH_DATA_H_
#define FTCODEC_BENCH_BENCH_DATA_H_

#include <string>

#include "ftcodec/tensor.h"

namespace ftc::bench {

// Loads data/features/<name>.npy as f32 (aborts with a message if missing).
Tensor LoadFeatures(const std::string& name);

}  // namespace ftc::bench

#endif  // FTCODEC_BENCH_BENCH_DATA_H_

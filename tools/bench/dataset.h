// The samples that bench, tune and train-bottleneck feed a split model: .npy files and their
// labels. This header is libtorch-free.
#ifndef FTCODEC_TOOLS_BENCH_DATASET_H_
#define FTCODEC_TOOLS_BENCH_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ftcodec/npy.h"
#include "ftcodec/status.h"

namespace ftc::bench {

// A whole .npy file; errors name the file.
Result<NpyArray> ReadNpyFile(const std::string& path);

// N class indices from a .npy: a vector of N integers (uint8, int8..int64, uint16..uint64, or
// floats holding whole numbers; any class count). A wrong shape or a value that is not a class
// index (negative, not whole, beyond int) is kCorruptData naming the file, the value and its
// index. Whether the tail has that many classes is checked where the labels meet the tail
// (ftc::CheckClassLabels).
Result<std::vector<int>> ReadLabelsFile(const std::string& path, int64_t n);

}  // namespace ftc::bench

#endif  // FTCODEC_TOOLS_BENCH_DATASET_H_

// The samples that bench, tune and train-bottleneck feed a split model: .npy files and their
// labels. This header is libtorch-free.
#ifndef FTCODEC_BENCH_HARNESS_DATASET_H_
#define FTCODEC_BENCH_HARNESS_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ftcodec/npy.h"
#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace ftc::bench {

// What `--data DIR` holds, for every command that runs a model on samples.
//   - DIR/inputs.npy: N samples, batch first, as the head takes them: N×C×H×W (or N×D) float32,
//     float16, float64 (read as float32) or uint8; N×H×W is read as N single-channel images,
//     N×1×H×W, as IDX files are. With DIR/labels.npy: N class indices (ReadLabelsFile).
//   - otherwise (Fashion-)MNIST IDX files of `split` (bench: test, tune and train-bottleneck:
//     train), gzipped or not: uint8 images N×1×H×W and their labels.
// The head multiplies the inputs by the input scale (--input-scale) in both cases.
struct DataDir {
  Tensor inputs;            // N first
  std::vector<int> labels;  // N class indices; empty when inputs.npy came without labels.npy
  std::string inputs_path, labels_path;
  bool idx = false;         // read from IDX files
  std::string description;  // what the samples are, for messages and reports
};
// The first `limit` samples (0 = all). `labels_required`: inputs.npy without labels.npy is bad
// data (kCorruptData); every other problem with the files is kCorruptData or kIoError naming
// the file.
Result<DataDir> LoadDataDir(const std::string& dir, const std::string& split, int64_t limit,
                            bool labels_required);

// The first `n` samples of an N-first tensor (all of it when n >= N).
Result<Tensor> FirstSamples(Tensor t, int64_t n);

// Samples [first, first + count) of a batch-first view, as a batch (no copy).
TensorView BatchRows(const TensorView& batch, int64_t first, int64_t count);

// True when the inputs are 8-bit grayscale images (uint8 N×1×H×W): what the cloud-only
// anchors code as PNG and JPEG.
bool IsGrayImages(const Tensor& inputs);

// A whole .npy file; errors name the file.
Result<NpyArray> ReadNpyFile(const std::string& path);

// N class indices from a .npy: a vector of N integers (uint8, int8..int64, uint16..uint64, or
// floats holding whole numbers; any class count). A wrong shape or a value that is not a class
// index (negative, not whole, beyond int) is kCorruptData naming the file, the value and its
// index. Whether the tail has that many classes is checked where the labels meet the tail
// (ftc::CheckClassLabels).
Result<std::vector<int>> ReadLabelsFile(const std::string& path, int64_t n);

}  // namespace ftc::bench

#endif  // FTCODEC_BENCH_HARNESS_DATASET_H_

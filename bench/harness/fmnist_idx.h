// Reading (Fashion-)MNIST IDX files, gzipped or not (Debian's dataset-fashion-mnist ships them
// gzipped in /usr/share/datasets/fashion-mnist).
#ifndef FTCODEC_BENCH_HARNESS_FMNIST_IDX_H_
#define FTCODEC_BENCH_HARNESS_FMNIST_IDX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace ftc::bench {

struct LabeledImages {
  Tensor images;            // u8, N×1×H×W
  std::vector<int> labels;  // N
  std::string images_path, labels_path;
};

// Parses an IDX byte string: magic (0x00 0x00 type ndim), big-endian dims, data. Only unsigned
// byte data (type 0x08), 1..3 dims; the data must be exactly as long as the dims say.
Result<Tensor> ParseIdx(const uint8_t* data, size_t size, const std::string& what);

// Reads `<dir>/<prefix>-images-idx3-ubyte[.gz]` and the matching labels, where prefix is
// "t10k" for split "test" and "train" for "train". At most `limit` samples (0 = all) — the
// first ones of the file.
Result<LabeledImages> ReadIdxDataset(const std::string& dir, const std::string& split,
                                     int64_t limit);

}  // namespace ftc::bench

#endif  // FTCODEC_BENCH_HARNESS_FMNIST_IDX_H_

#include "tools/bench/dataset.h"

#include <climits>
#include <fstream>
#include <iterator>

#include "ftcodec/tensor.h"

namespace ftc::bench {
namespace {

Result<std::vector<uint8_t>> ReadWholeFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status(StatusCode::kIoError, path + ": cannot open");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Status(StatusCode::kIoError, path + ": cannot read");
  return bytes;
}

}  // namespace

Result<NpyArray> ReadNpyFile(const std::string& path) {
  Result<std::vector<uint8_t>> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  Result<NpyArray> a = ReadNpy(bytes->data(), bytes->size());
  if (!a.ok()) return a.status().WithContext(path);
  return a;
}

Result<std::vector<int>> ReadLabelsFile(const std::string& path, int64_t n) {
  Result<std::vector<uint8_t>> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  Result<NpyIntegers> v = ReadNpyIntegers(bytes->data(), bytes->size());
  if (!v.ok()) {
    return v.status().WithContext(path + " (labels: N class indices, integers or whole floats)");
  }
  if (v->shape.size() != 1 || v->shape[0] != n) {
    return Status(StatusCode::kCorruptData,
                  path + ": labels must be a vector of N = " + std::to_string(n) +
                      " class indices, got " + ShapeToString(v->shape));
  }
  std::vector<int> labels;
  labels.reserve(v->values.size());
  for (size_t i = 0; i < v->values.size(); ++i) {
    const int64_t l = v->values[i];
    if (l < 0 || l > INT_MAX) {
      return Status(StatusCode::kCorruptData, path + ": label " + std::to_string(l) +
                                                  " at index " + std::to_string(i) +
                                                  " is not a class index (0 or more)");
    }
    labels.push_back(static_cast<int>(l));
  }
  return labels;
}

}  // namespace ftc::bench

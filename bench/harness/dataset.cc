#include "bench/harness/dataset.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "base/status_macros.h"
#include "bench/harness/fmnist_idx.h"

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
  FTC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadWholeFile(path));
  Result<NpyArray> a = ReadNpy(bytes.data(), bytes.size());
  if (!a.ok()) return a.status().WithContext(path);
  return a;
}

Result<std::vector<int>> ReadLabelsFile(const std::string& path, int64_t n) {
  FTC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadWholeFile(path));
  Result<NpyIntegers> v = ReadNpyIntegers(bytes.data(), bytes.size());
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
      return Status(StatusCode::kCorruptData, path + ": label " + std::to_string(l) + " at index " +
                                                  std::to_string(i) +
                                                  " is not a class index (0 or more)");
    }
    labels.push_back(static_cast<int>(l));
  }
  return labels;
}

Result<Tensor> FirstSamples(Tensor t, int64_t n) {
  if (n >= t.shape()[0]) return t;
  Shape shape = t.shape();
  const int64_t per = t.num_elements() / shape[0];
  FTC_ASSIGN_OR_RETURN(Tensor cut, Tensor::Create(t.dtype(), {n, per}));
  std::memcpy(cut.data(), t.data(), cut.size_bytes());
  shape[0] = n;
  FTC_RETURN_IF_ERROR(cut.Reshape(shape));
  return cut;
}

TensorView BatchRows(const TensorView& batch, int64_t first, int64_t count) {
  TensorView v = batch;
  v.shape[0] = count;
  v.data = static_cast<const uint8_t*>(batch.data) +
           first * batch.strides[0] * static_cast<int64_t>(DTypeSize(batch.dtype));
  return v;
}

bool IsGrayImages(const Tensor& inputs) {
  return inputs.dtype() == DType::kU8 && inputs.rank() == 4 && inputs.shape()[1] == 1;
}

Result<DataDir> LoadDataDir(const std::string& dir, const std::string& split, int64_t limit,
                            bool labels_required) {
  namespace fs = std::filesystem;
  DataDir d;
  std::error_code ec;
  const fs::path inputs = fs::path(dir) / "inputs.npy";
  if (!fs::exists(inputs, ec)) {
    Result<LabeledImages> idx = ReadIdxDataset(dir, split, limit);
    if (!idx.ok()) {
      return idx.status().WithContext("--data " + dir +
                                      " has no inputs.npy, and reading it as IDX files failed");
    }
    d.idx = true;
    d.inputs = std::move(idx->images);
    d.labels = std::move(idx->labels);
    d.inputs_path = idx->images_path;
    d.labels_path = idx->labels_path;
    d.description =
        d.inputs_path + " (" + std::to_string(d.labels.size()) + " images, " + split + " split)";
    return d;
  }
  d.inputs_path = inputs.string();
  FTC_ASSIGN_OR_RETURN(NpyArray x, ReadNpyFile(d.inputs_path));
  Tensor t = std::move(x.tensor);
  if (t.rank() < 2) {
    return Status(StatusCode::kCorruptData,
                  d.inputs_path + ": inputs must have the batch first (N×C×H×W, N×H×W or N×D), " +
                      "got " + ShapeToString(t.shape()));
  }
  if (t.rank() == 3) {  // N×H×W: single-channel images, as IDX files give them
    const Shape s = t.shape();
    FTC_RETURN_IF_ERROR(t.Reshape({s[0], 1, s[1], s[2]}));
  }
  const int64_t n_all = t.shape()[0];
  const fs::path labels = fs::path(dir) / "labels.npy";
  if (fs::exists(labels, ec)) {
    d.labels_path = labels.string();
    FTC_ASSIGN_OR_RETURN(d.labels, ReadLabelsFile(d.labels_path, n_all));
  } else if (labels_required) {
    return Status(StatusCode::kCorruptData,
                  dir +
                      " has inputs.npy but no labels.npy (N class indices), which accuracy "
                      "needs");
  }
  const int64_t n = limit > 0 ? std::min(limit, n_all) : n_all;
  FTC_ASSIGN_OR_RETURN(d.inputs, FirstSamples(std::move(t), n));
  if (!d.labels.empty()) d.labels.resize(static_cast<size_t>(n));
  const Shape& s = d.inputs.shape();
  d.description = d.inputs_path + " (" + std::to_string(n) + " samples, " +
                  DTypeName(d.inputs.dtype()) + " " + ShapeToString(Shape(s.begin() + 1, s.end())) +
                  ")";
  return d;
}

}  // namespace ftc::bench

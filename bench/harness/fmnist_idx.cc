#include "bench/harness/fmnist_idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <utility>

#include "base/status_macros.h"

namespace ftc::bench {
namespace {

constexpr size_t kMaxIdxBytes = size_t{1} << 30;

// Reads a whole file, gunzipping it if it is gzipped (zlib passes plain files through).
Result<std::vector<uint8_t>> ReadMaybeGzipped(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return Status(StatusCode::kIoError, path + ": cannot open");
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof(buf));
    if (n < 0) {
      int err = 0;
      const std::string msg = gzerror(f, &err);
      gzclose(f);
      return Status(StatusCode::kCorruptData, path + ": " + msg);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > kMaxIdxBytes) {
      gzclose(f);
      return Status(StatusCode::kLimitExceeded, path + ": larger than 1 GiB");
    }
    out.insert(out.end(), buf, buf + n);
  }
  gzclose(f);
  return out;
}

bool Exists(const std::string& path) { return std::ifstream(path, std::ios::binary).good(); }

// `<dir>/<name>.gz`, else `<dir>/<name>`.
Result<std::string> Locate(const std::string& dir, const std::string& name) {
  for (const std::string& p : {dir + "/" + name + ".gz", dir + "/" + name}) {
    if (Exists(p)) return p;
  }
  return Status(StatusCode::kIoError, dir + "/" + name +
                                          "[.gz]: not found (Fashion-MNIST: "
                                          "install Debian's dataset-fashion-mnist, or --data DIR)");
}

}  // namespace

Result<Tensor> ParseIdx(const uint8_t* data, size_t size, const std::string& what) {
  if (size < 4) return Status(StatusCode::kCorruptData, what + ": too short for an IDX header");
  if (data[0] != 0 || data[1] != 0) {
    return Status(StatusCode::kCorruptData, what + ": not an IDX file (bad magic)");
  }
  if (data[2] != 0x08) {
    return Status(StatusCode::kUnsupported, what + ": IDX element type " + std::to_string(data[2]) +
                                                " is not supported (unsigned byte only)");
  }
  const int ndim = data[3];
  if (ndim < 1 || ndim > 3) {
    return Status(StatusCode::kUnsupported,
                  what + ": IDX with " + std::to_string(ndim) + " dimensions (1 to 3 supported)");
  }
  if (size < 4 + 4 * static_cast<size_t>(ndim)) {
    return Status(StatusCode::kCorruptData, what + ": truncated IDX header");
  }
  Shape shape;
  uint64_t count = 1;
  for (int i = 0; i < ndim; ++i) {
    const uint8_t* p = data + 4 + 4 * i;
    const uint32_t d =
        (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    if (d == 0) return Status(StatusCode::kCorruptData, what + ": IDX dimension of size 0");
    count *= d;
    if (count > kMaxIdxBytes) return Status(StatusCode::kLimitExceeded, what + ": IDX too large");
    shape.push_back(d);
  }
  const size_t header = 4 + 4 * static_cast<size_t>(ndim);
  if (size - header != count) {
    return Status(StatusCode::kCorruptData, what + ": IDX data is " +
                                                std::to_string(size - header) +
                                                " bytes, the header "
                                                "says " +
                                                std::to_string(count));
  }
  FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::Create(DType::kU8, shape));
  std::memcpy(t.data(), data + header, count);
  return t;
}

Result<LabeledImages> ReadIdxDataset(const std::string& dir, const std::string& split,
                                     int64_t limit) {
  std::string prefix;
  if (split == "test") {
    prefix = "t10k";
  } else if (split == "train") {
    prefix = "train";
  } else {
    return Status(StatusCode::kInvalidArgument,
                  "split must be test or train (got '" + split + "')");
  }
  LabeledImages out;
  FTC_ASSIGN_OR_RETURN(std::string ip, Locate(dir, prefix + "-images-idx3-ubyte"));
  FTC_ASSIGN_OR_RETURN(std::string lp, Locate(dir, prefix + "-labels-idx1-ubyte"));
  out.images_path = ip;
  out.labels_path = lp;
  FTC_ASSIGN_OR_RETURN(std::vector<uint8_t> ib, ReadMaybeGzipped(ip));
  FTC_ASSIGN_OR_RETURN(std::vector<uint8_t> lb, ReadMaybeGzipped(lp));
  FTC_ASSIGN_OR_RETURN(Tensor images, ParseIdx(ib.data(), ib.size(), ip));
  FTC_ASSIGN_OR_RETURN(Tensor labels, ParseIdx(lb.data(), lb.size(), lp));
  if (images.rank() != 3 || labels.rank() != 1 || images.shape()[0] != labels.shape()[0]) {
    return Status(StatusCode::kCorruptData, ip + ": expected N×H×W images and N labels, got " +
                                                ShapeToString(images.shape()) + " and " +
                                                ShapeToString(labels.shape()));
  }
  int64_t n = images.shape()[0];
  if (limit > 0) n = std::min(n, limit);
  const int64_t h = images.shape()[1], w = images.shape()[2];
  FTC_ASSIGN_OR_RETURN(out.images, Tensor::Create(DType::kU8, {n, 1, h, w}));
  std::memcpy(out.images.data(), images.data(), static_cast<size_t>(n * h * w));
  out.labels.assign(labels.data(), labels.data() + n);
  return out;
}

}  // namespace ftc::bench

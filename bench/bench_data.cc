#include "bench/bench_data.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include "ftcodec/npy.h"

namespace ftc::bench {

Tensor LoadFeatures(const std::string& name) {
  const std::string path = std::string(FTC_SOURCE_DIR) + "/data/features/" + name + ".npy";
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  Result<NpyArray> arr = ReadNpy(bytes.data(), bytes.size());
  if (!arr.ok()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), arr.status().ToString().c_str());
    std::exit(1);
  }
  return arr->tensor.ConvertTo(DType::kF32);
}

}  // namespace ftc::bench

// Round trip through an installed ftcodec: encode a tensor with ans, decode it, check the error
// bound and the version macros. Exit 0 on success. Built by tests/consumer (CMake package) and
// by run_consumer_test.sh with pkg-config.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/version.h"

static_assert(FTCODEC_VERSION_NUMBER >= 100, "version macros");

int main() {
  if (std::strcmp(ftc::VersionString(), FTCODEC_VERSION_STRING) != 0) {
    std::fprintf(stderr, "header version %s, library %s\n", FTCODEC_VERSION_STRING,
                 ftc::VersionString());
    return 1;
  }
  std::vector<float> x(2 * 8 * 6 * 6);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  ftc::EncoderOptions opts;
  opts.codec = "ans";
  opts.bits = 6;
  ftc::Result<ftc::Bytes> code =
      ftc::encode(ftc::TensorView::Contiguous(x.data(), ftc::DType::kF32, {2, 8, 6, 6}), opts);
  if (!code.ok()) {
    std::fprintf(stderr, "encode: %s\n", code.status().ToString().c_str());
    return 1;
  }
  ftc::Result<ftc::Tensor> back = ftc::decode(*code);
  if (!back.ok()) {
    std::fprintf(stderr, "decode: %s\n", back.status().ToString().c_str());
    return 1;
  }
  const float step = 2.0f / 63;  // range [-1, 1] at 6 bits
  float worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    worst = std::fmax(worst, std::fabs(back->data_as<float>()[i] - x[i]));
  }
  if (back->shape() != ftc::Shape{2, 8, 6, 6} || worst > step / 2 + 1e-6f) {
    std::fprintf(stderr, "round trip: max error %g > %g\n", worst, step / 2);
    return 1;
  }
  std::printf("ftcodec %s: %zu floats -> %zu bytes, max error %g\n", ftc::VersionString(), x.size(),
              code->size(), worst);
  return 0;
}

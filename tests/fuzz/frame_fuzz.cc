// Fuzz target: the .ftc container and every codec's decoder behind it. Any input must give a
// tensor or an error — never a crash, a hang or an allocation beyond the format's limits. A
// successful decode must be reproducible and must agree with probe().
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ftcodec/ftcodec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ftc::DecoderOptions o;
  o.max_frame_elements = int64_t{1} << 22;  // keep each run small
  ftc::Result<ftc::Tensor> t = ftc::decode(data, size, o);
  ftc::Result<ftc::StreamInfo> info = ftc::probe(data, size);
  if (t.ok()) {
    if (!info.ok()) std::abort();  // decodable but not probeable
    ftc::Result<ftc::Tensor> again = ftc::decode(data, size, o);
    if (!again.ok() || again->size_bytes() != t->size_bytes() ||
        std::memcmp(again->data(), t->data(), t->size_bytes()) != 0) {
      std::abort();  // decoding is not deterministic
    }
  }
  return 0;
}

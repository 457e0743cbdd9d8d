// Fuzz target: the HEVC payload of a `hevc` frame. The first input byte picks one of a few
// template frames (layout, bit depth, a multi-sample sequence); the rest replaces the template's
// video, inside a frame with valid checksums, so every input reaches libavcodec's parser and
// decoder. Any payload must give a tensor of the right shape or kCorruptData — never a crash, a
// hang or another error code. Seeds (tests/fuzz/corpus/hevc_payload_fuzz): the templates' own
// videos and damaged ones.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "tests/fuzz/frame_surgery.h"

#ifdef FTC_HAVE_HEVC
#include <cmath>

#include "bitstream/frame.h"

namespace ftc::fuzz {

// A valid one-frame hevc stream for template `which` (0..2).
const Bytes& HevcTemplate(uint8_t which) {
  static const std::vector<Bytes> templates = [] {
    struct Spec {
      Shape shape;
      const char* layout;
      int bits;
      bool sequence;
    };
    const Spec specs[] = {{{16, 7, 7}, "mosaic", 10, false},
                          {{5, 6, 6}, "frames", 8, false},
                          {{3, 4, 5, 5}, "mosaic", 10, true}};
    std::vector<Bytes> out;
    for (const Spec& s : specs) {
      Tensor t = Tensor::Create(DType::kF32, s.shape).value();
      for (int64_t i = 0; i < t.num_elements(); ++i) {
        t.data_as<float>()[i] = std::fabs(std::sin(0.3f * static_cast<float>(i)));
      }
      EncoderOptions o;
      o.codec = "hevc";
      o.qp = 30;
      o.layout = s.layout;
      o.bit_depth = s.bits;
      o.sequence = s.sequence;
      Result<Bytes> b = encode(t.view(), o);
      if (!b.ok()) std::abort();
      out.push_back(std::move(b).value());
    }
    return out;
  }();
  return templates[which % templates.size()];
}

}  // namespace ftc::fuzz
#endif  // FTC_HAVE_HEVC

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
#ifdef FTC_HAVE_HEVC
  if (size < 1) return 0;
  const ftc::Bytes& base = ftc::fuzz::HevcTemplate(data[0]);
  const ftc::Bytes frame = ftc::fuzz::FrameWithLastPayload(base, data + 1, size - 1);
  ftc::Result<ftc::Tensor> t = ftc::decode(frame);
  if (t.ok()) {
    ftc::Result<ftc::Tensor> ref = ftc::decode(base);
    if (!ref.ok() || t->shape() != ref->shape()) std::abort();
  } else if (t.status().code() != ftc::StatusCode::kCorruptData) {
    std::abort();  // a damaged payload is corrupt data, nothing else
  }
#else
  (void)data;
  (void)size;
#endif
  return 0;
}

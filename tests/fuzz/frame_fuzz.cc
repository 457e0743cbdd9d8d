// Fuzz target: the .ftc container and every codec's decoder behind it. Any input must give a
// tensor or an error — never a crash, a hang or an allocation beyond the format's limits. A
// successful decode must be reproducible and must agree with probe().
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ftcodec/ftcodec.h"
#include "ftcodec/profile.h"

namespace {

// The plan of data/golden/src/plan_relu_8ch.json, so that planned frames of 8 channels (the
// corpus has some) decode past the plan check.
std::shared_ptr<const ftc::QuantPlan> GoldenPlan() {
  auto plan = std::make_shared<ftc::QuantPlan>();
  using K = ftc::ChannelKind;
  const struct {
    K kind;
    float step, offset;
  } ch[] = {{K::kNonNegative, 0.25f, 0}, {K::kNonNegative, 0.5f, 0},  {K::kDropped, 0, 0.375f},
            {K::kSigned, 0.125f, 0.5f},  {K::kNonNegative, 1e-3f, 0}, {K::kNonPositive, 0.75f, 2},
            {K::kSigned, 0.3f, -0.1f},   {K::kNonNegative, 2, 0}};
  for (const auto& c : ch) {
    ftc::ChannelQuant q;
    q.kind = c.kind;
    q.step = c.step;
    q.offset = c.offset;
    plan->channels.push_back(q);
  }
  return plan;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ftc::DecoderOptions o;
  o.max_frame_elements = int64_t{1} << 22;  // keep each run small
  static const std::shared_ptr<const ftc::QuantPlan> plan = GoldenPlan();
  o.plan = plan;
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

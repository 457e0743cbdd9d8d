// Round trip of a torch tensor through an installed ftcodec::ftcodec_torch, and codec `learned`
// registered by the component (lib/ftcodec/learned_register.o). Exit 0 on success.
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>

#include "ftcodec/ftcodec.h"
#include "ftcodec/torch.h"

int main() {
  const std::vector<std::string> codecs = ftc::AvailableCodecs();
  if (std::find(codecs.begin(), codecs.end(), "learned") == codecs.end()) {
    std::fprintf(stderr, "codec learned is not registered\n");
    return 1;
  }
  at::Tensor t = at::arange(2 * 4 * 5 * 5, at::kFloat).reshape({2, 4, 5, 5}).transpose(2, 3);
  ftc::Result<ftc::TensorView> view = ftc::ViewOf(t);  // strided, no copy
  if (!view.ok()) return 1;
  ftc::EncoderOptions opts;
  opts.codec = "raw";
  ftc::Result<ftc::Bytes> code = ftc::encode(*view, opts);
  if (!code.ok()) return 1;
  ftc::Result<ftc::Tensor> back = ftc::decode(*code);
  if (!back.ok() || !at::equal(ftc::ToTorch(std::move(back).value()), t.contiguous())) {
    std::fprintf(stderr, "torch round trip failed\n");
    return 1;
  }
  std::printf("torch round trip ok (%zu bytes)\n", code->size());
  return 0;
}

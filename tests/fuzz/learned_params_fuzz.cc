// Fuzz target for the Codec_Params parser of codec `learned` (docs/format.md, "Codec
// `learned`"). The parser is torch-free, so it is fuzzed on its own: any input must parse or
// fail with a kCorruptData message, never crash; parameters that parse must write back to the
// same bytes (the layout has one encoding), and those bytes must parse to the same parameters.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "codec/learned/learned_params.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "learned_params_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ftc::learned;  // NOLINT(build/namespaces)
  ftc::Result<LearnedParams> p = ParseLearnedParams(data, size);
  if (!p.ok()) {
    Check(!p.status().message().empty(), "error without a message");
    Check(p.status().code() == ftc::StatusCode::kCorruptData, "unexpected error code");
    return 0;
  }
  Check(InnerCodecName(p->inner_id) != nullptr, "invalid inner codec accepted");
  Check(p->code.c >= 1 && p->code.h >= 1 && p->code.w >= 1, "empty code shape accepted");
  Check(p->code.elements() <= ftc::kMaxSampleElements, "oversized code shape accepted");
  std::vector<uint8_t> written;
  Check(WriteLearnedParams(*p, &written).ok(), "parsed parameters do not write");
  Check(written.size() == size && std::equal(written.begin(), written.end(), data),
        "written parameters differ from the parsed bytes");
  ftc::Result<LearnedParams> q = ParseLearnedParams(written.data(), written.size());
  Check(q.ok(), "written parameters do not parse");
  Check(q->unit_hash == p->unit_hash && q->inner_id == p->inner_id && q->code.c == p->code.c &&
            q->code.h == p->code.h && q->code.w == p->code.w && q->inner_params == p->inner_params,
        "re-parsed parameters differ");
  return 0;
}

// `ftcodec dec`.
#include <cstdio>
#include <memory>
#include <string>

#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "tools/cli_io.h"
#include "tools/commands.h"

namespace ftc::cli {
namespace {

struct DecArgs {
  std::string input, output, dtype = "keep";
  int threads = 1;
};

int RunDec(const DecArgs& a) {
  const char* verb = "dec";
  DecoderOptions o;
  o.threads = a.threads;
  if (a.dtype != "keep") {
    Result<DType> t = ParseDType(a.dtype);
    if (!t.ok() || *t == DType::kU8) {
      return Usage("--dtype must be keep, f32, f16 or bf16 (got '" + a.dtype + "')", verb);
    }
    o.dtype = *t;
  }
  if (a.threads < 1 || a.threads > 256) return Usage("--threads must be 1..256", verb);
  Result<std::vector<uint8_t>> in = ReadInput(a.input);
  if (!in.ok()) return Fail(in.status(), verb);
  Result<Tensor> t = decode(in->data(), in->size(), o);
  if (!t.ok()) return Fail(t.status(), verb);
  if (t->dtype() == DType::kBF16) {
    std::fprintf(stderr, "ftcodec dec: note: NumPy has no bfloat16; writing float32 (exact)\n");
  }
  Result<std::vector<uint8_t>> npy = WriteNpy(t->view());
  if (!npy.ok()) return Fail(npy.status(), verb);
  if (Status s = WriteOutput(a.output, *npy); !s.ok()) return Fail(s, verb);
  return 0;
}

}  // namespace

Command AddDecCommand(CLI::App& app) {
  auto a = std::make_shared<DecArgs>();
  CLI::App* cmd = app.add_subcommand("dec", "Decode a .ftc stream into a .npy tensor");
  cmd->add_option("INPUT", a->input, "input .ftc ('-' for stdin)")->required();
  cmd->add_option("OUTPUT", a->output, "output .npy ('-' for stdout)")->required();
  cmd->add_option("--dtype", a->dtype, "output dtype keep|f32|f16|bf16")->capture_default_str();
  cmd->add_option("--threads", a->threads, "frames decoded in parallel (1..256)")
      ->capture_default_str();
  return {cmd, [a]() { return RunDec(*a); }};
}

}  // namespace ftc::cli

// `ftcodec enc`.
#include <cstdio>
#include <memory>
#include <string>

#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "tools/cli_io.h"
#include "tools/commands.h"

namespace ftc::cli {
namespace {

struct EncArgs {
  std::string input, output, codec = "raw", dtype = "keep", clip = "none";
  int threads = 1, bits = 4, band_rows = 0;
  double deadzone = 0;
  bool per_channel = false, lossless = false;
};

int RunEnc(const EncArgs& a, const CLI::App& cmd) {
  const char* verb = "enc";
  EncoderOptions o;
  o.codec = a.codec;
  o.threads = a.threads;
  if (Status s = o.Validate(); !s.ok() && a.codec != "raw") {
    // Report an unknown or missing codec before anything codec-specific.
    if (s.code() == StatusCode::kNotBuiltIn || s.message().find("unknown codec") == 0) {
      return Fail(s, verb);
    }
  }
  const bool quantizing = a.codec == "ans";
  for (const char* flag : {"--bits", "--clip", "--per-channel", "--deadzone", "--band-rows",
                           "--lossless"}) {
    if (cmd.count(flag) && !quantizing) {
      return Usage(std::string(flag) + " applies to --codec ans only", verb);
    }
  }
  if (a.lossless && (cmd.count("--bits") || cmd.count("--clip") || cmd.count("--per-channel") ||
                     cmd.count("--deadzone"))) {
    return Usage("--lossless cannot be combined with --bits, --clip, --per-channel or --deadzone",
                 verb);
  }
  if (a.dtype != "keep") {
    Result<DType> t = ParseDType(a.dtype);
    if (!t.ok() || *t == DType::kU8) {
      return Usage("--dtype must be keep, f32, f16 or bf16 (got '" + a.dtype + "')", verb);
    }
    o.store_dtype = *t;
  }
  Result<ClipSpec> clip = ClipSpec::Parse(a.clip);
  if (!clip.ok()) return Fail(clip.status(), verb);
  o.clip = *clip;
  o.bits = a.bits;
  o.per_channel = a.per_channel;
  o.lossless = a.lossless;
  o.deadzone = a.deadzone;
  o.band_rows = a.band_rows;
  if (Status s = o.Validate(); !s.ok()) return Fail(s, verb);

  Result<std::vector<uint8_t>> in = ReadInput(a.input);
  if (!in.ok()) return Fail(in.status(), verb);
  Result<NpyArray> arr = ReadNpy(in->data(), in->size());
  if (!arr.ok()) return Fail(arr.status().WithContext(a.input == "-" ? "<stdin>" : a.input), verb);
  if (arr->converted_from_f64) {
    std::fprintf(stderr, "ftcodec enc: note: %s holds float64; converted to float32\n",
                 a.input.c_str());
  }
  const TensorView view = arr->tensor.view();
  Result<Bytes> code = encode(view, o);
  if (!code.ok()) return Fail(code.status(), verb);
  if (Status s = WriteOutput(a.output, *code); !s.ok()) return Fail(s, verb);
  const int64_t elements = view.num_elements();
  const int64_t samples = view.rank == 4 ? view.shape[0] : 1;
  const double bpe = 8.0 * static_cast<double>(code->size()) / static_cast<double>(elements);
  std::fprintf(stderr,
               "ftcodec enc: %s bytes (%s per sample), %.4g bits/element, %.2fx smaller than f32 "
               "[%s %s, codec %s]\n",
               Thousands(code->size()).c_str(),
               Thousands(code->size() / static_cast<uint64_t>(samples)).c_str(), bpe, 32.0 / bpe,
               DTypeName(view.dtype), ShapeToString(view.shape_vector()).c_str(), o.codec.c_str());
  return 0;
}

}  // namespace

Command AddEncCommand(CLI::App& app) {
  auto a = std::make_shared<EncArgs>();
  std::string codecs;
  for (const std::string& c : AvailableCodecs()) codecs += (codecs.empty() ? "" : ", ") + c;
  CLI::App* cmd = app.add_subcommand("enc", "Encode a .npy tensor into a .ftc stream");
  cmd->add_option("INPUT", a->input, "input .npy ('-' for stdin)")->required();
  cmd->add_option("OUTPUT", a->output, "output .ftc ('-' for stdout)")->required();
  cmd->add_option("--codec", a->codec, "codec: " + codecs)->capture_default_str();
  cmd->add_option("--dtype", a->dtype, "raw (and ans --lossless): stored dtype keep|f32|f16|bf16")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "frames coded in parallel (1..256)")
      ->capture_default_str();
  cmd->add_option("--bits", a->bits, "ans: quantizer bit depth 1..16")->capture_default_str();
  cmd->add_option("--clip", a->clip, "ans: none | A:B | Ksigma (3sigma) | pP (p99.9)")
      ->capture_default_str();
  cmd->add_flag("--per-channel", a->per_channel, "ans: one quantizer range per channel");
  cmd->add_option("--deadzone", a->deadzone, "ans: dead zone 0..0.5 (rounding offset 0.5-D)")
      ->capture_default_str();
  cmd->add_option("--band-rows", a->band_rows,
                  "ans: rows per independently decodable band (0 = whole channel)")
      ->capture_default_str();
  cmd->add_flag("--lossless", a->lossless, "ans: lossless coding of f32/f16/bf16");
  return {cmd, [a, cmd]() { return RunEnc(*a, *cmd); }};
}

}  // namespace ftc::cli

// Helpers shared by the CLI subcommands.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "base/status_macros.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "tools/cli_io.h"
#include "tools/commands.h"

namespace ftc::cli {

int Fail(const Status& s, const char* verb) {
  std::fprintf(stderr, "ftcodec %s: error: %s\n", verb, s.message().c_str());
  return ExitCodeFor(s);
}

int Usage(const std::string& message, const char* verb) {
  std::fprintf(stderr, "ftcodec %s: error: %s\n", verb, message.c_str());
  return 1;
}

std::string Thousands(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string ShortToken(const std::string& text) { return ErrorToken(text); }

void AddSplitModelOptions(CLI::App* cmd, const char* example, std::string* model, std::string* head,
                          std::string* tail, double* input_scale) {
  cmd->add_option("--model", *model,
                  std::string("bundled model NAME:SPLIT instead of --head/--tail, e.g. ") +
                      example + " (see data/models)");
  cmd->add_option("--head", *head, "TorchScript head: raw input -> features");
  cmd->add_option("--tail", *tail, "TorchScript tail: features -> N×K logits");
  cmd->add_option("--input-scale", *input_scale,
                  "multiply the inputs (IDX or inputs.npy) by S before the head (1/255 = "
                  "0.00392156862745098 for a head that expects [0, 1] and 0..255 pixels); "
                  "default: the bundled model's, else 1")
      ->type_name("S");
}

int CheckSplitModelOptions(const CLI::App& cmd, const std::string& model, const std::string& head,
                           const std::string& tail, double input_scale, bool tail_alone_ok,
                           const char* verb) {
  if (!model.empty() && (!head.empty() || !tail.empty())) {
    return Usage("give --model, or --head and --tail, not both", verb);
  }
  if (model.empty() && (tail.empty() || (head.empty() && !tail_alone_ok))) {
    return Usage(
        "which model? --model NAME:SPLIT (e.g. fmnist_resnet:s1) or --head H.pt --tail T.pt", verb);
  }
  if (cmd.count("--input-scale") && !(std::isfinite(input_scale) && input_scale > 0)) {
    return Usage("--input-scale must be > 0 (e.g. 0.00392156862745098 for [0, 1] pixels)", verb);
  }
  return 0;
}

void AddMaxElementsOption(CLI::App* cmd, int64_t* max_elements) {
  cmd->add_option("--max-elements", *max_elements,
                  "decode tensors of up to N elements whatever the input's size (default: 2^28, "
                  "and for packet streams at most 2^20 + 1024 per byte of packets)");
}

Result<DecoderLimits> LimitsFromFlags(int64_t max_elements, int64_t max_conceal_work) {
  DecoderLimits l;
  if (max_elements != 0) {
    if (max_elements < 1 || max_elements > (int64_t{1} << 40)) {
      return Status(StatusCode::kInvalidArgument,
                    "--max-elements must be 1..2^40 (got " + std::to_string(max_elements) + ")");
    }
    l = DecoderLimits::ForElements(max_elements);
  }
  if (max_conceal_work < 0) {
    return Status(StatusCode::kInvalidArgument, "--max-conceal-work must be positive");
  }
  l.max_conceal_work = max_conceal_work;
  return l;
}

Result<uint32_t> ParseStreamId(const std::string& text) {
  std::string digits = text;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    digits = digits.substr(2);
  }
  uint32_t v = 0;
  bool ok = !digits.empty() && digits.size() <= 8;
  for (char c : digits) {
    if (!ok) break;
    const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                  : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                              : -1;
    ok = d >= 0;
    v = (v << 4) | static_cast<uint32_t>(d < 0 ? 0 : d);
  }
  if (!ok) {
    return Status(StatusCode::kInvalidArgument,
                  "--stream-id '" + ShortToken(text) + "': expected 1 to 8 hex digits");
  }
  return v;
}

Command NotBuiltInCommand(CLI::App* cmd, const char* verb) {
  cmd->allow_extras();
  cmd->set_help_flag();
  const std::string v = verb;
  return {cmd, [v]() {
            return Fail(Status(StatusCode::kNotBuiltIn,
                               "not built in: this ftcodec was built without libtorch "
                               "(install libtorch-dev and rebuild with -DFTC_WITH_TORCH=ON)"),
                        v.c_str());
          }};
}

}  // namespace ftc::cli

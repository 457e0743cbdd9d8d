// The subcommands of the `ftcodec` CLI. Each lives in its own file (tools/cmd_*.cc) and adds
// itself to the CLI11 app; Main runs the one that was parsed.
#ifndef FTCODEC_TOOLS_COMMANDS_H_
#define FTCODEC_TOOLS_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "ftcodec/ftcodec.h"
#include "ftcodec/status.h"
#include "tools/json_string.h"

namespace ftc::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // returns the exit code
};

Command AddEncCommand(CLI::App& app);
Command AddDecCommand(CLI::App& app);
Command AddInfoCommand(CLI::App& app);
// `ftcodec lose`: drops packets of a .ftcp file by a loss model (tools/cmd_lose.cc).
Command AddLoseCommand(CLI::App& app);
// Built in with libtorch (FTC_HAVE_TORCH); otherwise it only says it is not built in (exit 1).
Command AddBenchCommand(CLI::App& app);

// `ftcodec tune` (tools/cmd_tune.cc); built in with libtorch.
Command AddTuneCommand(CLI::App& app);

// `ftcodec train-bottleneck` (tools/cmd_train_bottleneck.cc); built in with libtorch.
Command AddTrainBottleneckCommand(CLI::App& app);

// A subcommand of a build without libtorch: it accepts anything and says it is not built in
// (exit 1).
Command NotBuiltInCommand(CLI::App* cmd, const char* verb);
// The command line as run, from /proc/self/cmdline (recorded in reports).
std::string CommandLine();
// Prints "ftcodec VERB: error: MESSAGE" and returns the exit code for the status.
int Fail(const Status& s, const char* verb);
// Prints a usage error and returns 1.
int Usage(const std::string& message, const char* verb);
// 1234567 -> "1,234,567".
std::string Thousands(uint64_t v);
// User text (an option's value, a file's token) for an error message: at most 80 bytes of it,
// control bytes as \xNN, and "... (N bytes)" when cut.
std::string ShortToken(const std::string& text);
// Adds --max-elements N to a command (0 = the default limits).
void AddMaxElementsOption(CLI::App* cmd, int64_t* max_elements);
// The decoder limits for --max-elements (0: the defaults) and --max-conceal-work (0: automatic);
// kInvalidArgument for values out of range.
Result<DecoderLimits> LimitsFromFlags(int64_t max_elements, int64_t max_conceal_work);
// A Stream_Id as `info` prints it: 1 to 8 hex digits, optionally after 0x.
Result<uint32_t> ParseStreamId(const std::string& text);

}  // namespace ftc::cli

#endif  // FTCODEC_TOOLS_COMMANDS_H_

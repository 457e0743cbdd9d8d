// The subcommands of the `ftcodec` CLI. Each lives in its own file (tools/cmd_*.cc) and adds
// itself to the CLI11 app; Main runs the one that was parsed.
#ifndef FTCODEC_TOOLS_COMMANDS_H_
#define FTCODEC_TOOLS_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/json_string.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/status.h"

namespace ftc::cli {

// What a parsed job needs from the build, for the lean `ftcodec` to decide whether it runs the
// job itself or hands it over to `ftcodec-full` (tools/handover.cc).
struct JobNeeds {
  std::string codec;    // named on the command line (enc --codec), else ""
  std::string profile;  // enc: a profile whose codec applies when --codec is not given
  std::string stream;   // dec, info: the input .ftc/.ftcp ("-" = stdin) whose codec decides
  bool unit = false;    // --unit: a learned unit (libtorch)
};

struct Command {
  Command(CLI::App* app, std::function<int()> run, std::function<JobNeeds()> needs = nullptr)
      : app(app), run(std::move(run)), needs(std::move(needs)) {}

  CLI::App* app = nullptr;
  std::function<int()> run;  // returns the exit code
  // Set by the subcommands whose job may need a codec of the full executable (enc, dec, info).
  std::function<JobNeeds()> needs;
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

// ---- the two executables (tools/handover.cc) ----
// The lean `ftcodec` links no backend that loads libtorch or FFmpeg; it hands a job over to
// `ftcodec-full` (execv with the same argv) when the job needs what it lacks. In `ftcodec-full`
// (and in a build that has no such backend) these never hand over.
//
// The codecs this CLI codes: the library's, and in the lean `ftcodec` also those of
// `ftcodec-full` (raw, ans, jpeg, hevc, learned, as built).
std::vector<std::string> CliCodecs();
// Before parsing: a subcommand that runs only in `ftcodec-full` (bench, tune, train-bottleneck,
// which need libtorch) is handed over. Returns -1 when the job stays here, else the exit code
// of a failed hand-over (the error printed; 1 when `ftcodec-full` is missing).
int HandOverSubcommand(int argc, char** argv);
// After parsing, before running: a job whose codec (named, from a profile, or the input
// stream's) or learned unit this executable lacks is handed over. Reads the input stream to
// find its codec; standard input is read whole and put back as file descriptor 0 (a memory
// file), so that whichever executable runs the job reads the same bytes. Returns as
// HandOverSubcommand does.
int HandOverJob(const char* verb, const JobNeeds& needs, char** argv);

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
// User text (an option's value, a file's token) for an error message: ErrorToken
// (base/status_macros.h) — at most 80 bytes of it, control bytes as \xNN, "... (N bytes)" when cut.
std::string ShortToken(const std::string& text);
// The options that name a split model, shared by bench, tune and train-bottleneck: --model
// NAME:SPLIT (`example` in its help), --head H.pt, --tail T.pt and --input-scale S.
void AddSplitModelOptions(CLI::App* cmd, const char* example, std::string* model, std::string* head,
                          std::string* tail, double* input_scale);
// Their usage errors; returns 0 when there are none, else prints one and returns 1: --model
// together with --head/--tail, no model (a tail without a head only when `tail_alone_ok`:
// bench --features), a given --input-scale that is not a finite number > 0.
int CheckSplitModelOptions(const CLI::App& cmd, const std::string& model, const std::string& head,
                           const std::string& tail, double input_scale, bool tail_alone_ok,
                           const char* verb);
// Adds --max-elements N to a command (0 = the default limits).
void AddMaxElementsOption(CLI::App* cmd, int64_t* max_elements);
// The decoder limits for --max-elements (0: the defaults) and --max-conceal-work (0: automatic);
// kInvalidArgument for values out of range.
Result<DecoderLimits> LimitsFromFlags(int64_t max_elements, int64_t max_conceal_work);
// A Stream_Id as `info` prints it: 1 to 8 hex digits, optionally after 0x.
Result<uint32_t> ParseStreamId(const std::string& text);

// ---- habits shared by the subcommands (tools/cli_habits.cc) ----
// -f/--force: CheckOutput lets an existing output be replaced and binary data go to a terminal.
void AddOutputFlags(CLI::App* cmd);
// Checks an output before any work is done; returns 0 if it may be written, else prints why and
// returns 1: it is one of `inputs` (the same file, whatever the path); it exists and -f was not
// given; it is "-" (standard output) on a terminal and -f was not given (outputs are binary).
int CheckOutput(const std::string& output, const std::vector<std::string>& inputs,
                const char* verb);
// -q/--quiet (no summary, notes or progress on stderr; warnings and errors stay) and
// -v/--verbose (more detail where the subcommand has it). With quiet_silences_stdout, -q also
// sends standard output to /dev/null (a report-only command that then only checks).
void AddVerbosityFlags(CLI::App* cmd,
                       const std::string& quiet_help = "no summary or notes on stderr",
                       const std::string& verbose_help = "more detail on stderr",
                       bool quiet_silences_stdout = false);
bool Quiet();
bool Verbose();
// --threads: 0 means every core (at most 256); other values are returned as they are.
int ResolveThreads(int threads);
// argv[1] where a subcommand belongs but naming none: prints the error with a suggestion and
// returns 1 (0 otherwise).
int CheckSubcommandName(int argc, char** argv, const std::vector<Command>& commands);
// The subcommand a misspelled word probably meant ("ecn" -> "enc"), or "".
std::string SuggestSubcommand(const std::string& word, const std::vector<std::string>& names);

}  // namespace ftc::cli

#endif  // FTCODEC_TOOLS_COMMANDS_H_

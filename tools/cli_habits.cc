// Habits every subcommand shares (tools/commands.h): output checks before any work (not an
// input, not silently replaced, no binary data on a terminal), -q/-v, --threads 0, and the
// suggestion for a misspelled subcommand.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tools/commands.h"

namespace ftc::cli {
namespace {

int g_verbosity = 0;
bool g_force = false;

// Same file: the same device and inode (a hard link, "./x" and "x", a symlink to it ...).
bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1 : 0)});
      // A swap of two neighbours ("ecn") counts as one edit, like a typo does.
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], diag);
      }
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

void AddOutputFlags(CLI::App* cmd) {
  cmd->add_flag_callback(
      "-f,--force", [] { g_force = true; },
      "replace an existing OUTPUT; write binary data to a terminal");
}

int CheckOutput(const std::string& output, const std::vector<std::string>& inputs,
                const char* verb) {
  const bool force = g_force;
  if (output == "-") {
    if (isatty(STDOUT_FILENO) && !force) {
      return Usage(
          "refusing to write binary data to a terminal (redirect standard output, or "
          "give -f/--force)",
          verb);
    }
    return 0;
  }
  for (const std::string& in : inputs) {
    if (!in.empty() && in != "-" && (in == output || SameFile(in, output))) {
      return Usage("the output '" + output + "' is the input '" + in + "'", verb);
    }
  }
  struct stat st;
  if (!force && lstat(output.c_str(), &st) == 0) {
    // A character device or FIFO (or a symlink to one) is written as a stream, not replaced
    // (WriteOutput): `dec x.ftc /dev/null` needs no -f.
    struct stat target;
    const bool streamed =
        stat(output.c_str(), &target) == 0 && (S_ISCHR(target.st_mode) || S_ISFIFO(target.st_mode));
    if (!streamed) return Usage("'" + output + "' exists (give -f/--force to replace it)", verb);
  }
  return 0;
}

void AddVerbosityFlags(CLI::App* cmd, const std::string& quiet_help,
                       const std::string& verbose_help, bool quiet_silences_stdout) {
  cmd->add_flag_callback(
      "-q,--quiet",
      [quiet_silences_stdout] {
        g_verbosity = -1;
        if (quiet_silences_stdout) {
          std::fflush(stdout);
          if (std::freopen("/dev/null", "w", stdout) == nullptr) std::fclose(stdout);
        }
      },
      quiet_help);
  cmd->add_flag_callback(
      "-v,--verbose", [] { g_verbosity = 1; }, verbose_help);
}
bool Quiet() { return g_verbosity < 0; }
bool Verbose() { return g_verbosity > 0; }

int ResolveThreads(int threads) {
  if (threads != 0) return threads;
  return static_cast<int>(std::min(256u, std::max(1u, std::thread::hardware_concurrency())));
}

int CheckSubcommandName(int argc, char** argv, const std::vector<Command>& commands) {
  if (argc < 2 || argv[1][0] == '-') return 0;
  std::vector<std::string> names;
  for (const Command& c : commands) names.push_back(c.app->get_name());
  const std::string word = argv[1];
  if (std::find(names.begin(), names.end(), word) != names.end()) return 0;
  const std::string guess = SuggestSubcommand(word, names);
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  std::fprintf(stderr, "ftcodec: error: unknown command '%s'%s (commands: %s; see --help)\n",
               word.c_str(), guess.empty() ? "" : ("; did you mean '" + guess + "'?").c_str(),
               list.c_str());
  return 1;
}

std::string SuggestSubcommand(const std::string& word, const std::vector<std::string>& names) {
  std::string best;
  size_t best_distance = 3;  // suggest within two edits
  for (const std::string& n : names) {
    const size_t d = EditDistance(word, n);
    const bool prefix = word.size() >= 2 && n.compare(0, word.size(), word) == 0;
    if (prefix || d < best_distance) {
      best = n;
      best_distance = prefix ? 0 : d;
    }
  }
  return best;
}

}  // namespace ftc::cli

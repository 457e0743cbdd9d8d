// Runs the `ftcodec` CLI (or another program) from a test, in a given folder.
#ifndef FTCODEC_TESTS_TORCH_RUN_CLI_H_
#define FTCODEC_TESTS_TORCH_RUN_CLI_H_

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace ftc::test {

struct CliRun {
  int code = -1;
  std::string out;  // stdout + stderr
};

// Runs `program args` in `dir` (relative paths in `args` are relative to it); the output is
// kept in dir/cli.log.
inline CliRun RunCli(const std::string& dir, const std::string& args,
                     const char* program = FTC_CLI_PATH) {
  const std::string log = dir + "/cli.log";
  const std::string cmd = "cd '" + dir + "' && '" + program + "' " + args + " >'" + log + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  CliRun r;
  r.code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  std::ifstream f(log);
  std::stringstream ss;
  ss << f.rdbuf();
  r.out = ss.str();
  return r;
}

}  // namespace ftc::test

#endif  // FTCODEC_TESTS_TORCH_RUN_CLI_H_

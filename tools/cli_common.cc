// Helpers shared by the CLI subcommands.
#include <cstdio>
#include <memory>
#include <string>

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

// The `ftcodec` command-line tool. Uses only the public API (include/ftcodec). Built twice: as
// the lean `ftcodec`, which hands jobs it cannot run over to `ftcodec-full` (tools/handover.cc),
// and as `ftcodec-full`, with every backend.
//
// Exit codes: 0 ok; 1 usage error, invalid option combination, codec not built in;
// 2 bad or corrupt input data; 3 I/O error.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <ios>
#include <new>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "tools/commands.h"

namespace ftc::cli {
namespace {

int Main(int argc, char** argv) {
  if (int rc = HandOverSubcommand(argc, argv); rc >= 0) return rc;
  CLI::App app{"ftcodec: compress neural-network feature tensors (.npy <-> .ftc)"};
  app.require_subcommand(1);
  std::string codecs;
  for (const std::string& c : CliCodecs()) codecs += (codecs.empty() ? "" : ", ") + c;
  app.set_version_flag("--version", std::string("ftcodec ") + VersionString() + " (format " +
                                        std::to_string(FormatVersion()) + "; codecs: " + codecs +
                                        ")");
  std::vector<Command> commands = {AddEncCommand(app), AddDecCommand(app), AddInfoCommand(app),
                                   AddLoseCommand(app)};
  // `bench` needs libtorch (FTC_HAVE_TORCH); without it the command says it is not built in.
  commands.push_back(AddBenchCommand(app));
  commands.push_back(AddTrainBottleneckCommand(app));
  commands.push_back(AddTuneCommand(app));
  if (int rc = CheckSubcommandName(argc, argv, commands); rc != 0) return rc;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help/version or the parse error
    return code == 0 ? 0 : 1;
  }
  for (const Command& c : commands) {
    if (!c.app->parsed()) continue;
    // The library returns every error as a Status; this keeps an exception from anywhere else
    // (an allocation of the CLI itself) from aborting the process: bad input data, exit 2.
    try {
      if (c.needs) {
        if (int rc = HandOverJob(c.app->get_name().c_str(), c.needs(), argv); rc >= 0) return rc;
      }
      return c.run();
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "ftcodec %s: error: out of memory\n", c.app->get_name().c_str());
    } catch (const std::ios_base::failure& e) {
      std::fprintf(stderr, "ftcodec %s: error: %s\n", c.app->get_name().c_str(), e.what());
      return 3;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ftcodec %s: error: %s\n", c.app->get_name().c_str(), e.what());
    }
    return 2;
  }
  return 1;
}

}  // namespace
}  // namespace ftc::cli

int main(int argc, char** argv) { return ftc::cli::Main(argc, argv); }

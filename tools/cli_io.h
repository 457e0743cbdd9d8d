// File I/O for the CLI: whole-file reads ("-" is stdin) and atomic writes ("-" is stdout).
#ifndef FTCODEC_TOOLS_CLI_IO_H_
#define FTCODEC_TOOLS_CLI_IO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ftcodec/status.h"

namespace ftc::cli {

// Reads a whole file, or standard input for "-". Errors are kIoError naming the file.
Result<std::vector<uint8_t>> ReadInput(const std::string& path);
// Writes to a temporary file beside `path` and renames it into place, so a failure never leaves
// a partial output (through a symlink: beside its target, which is replaced; the link is kept);
// "-" writes to standard output. An existing output that is not a regular file (a character
// device such as /dev/null, a FIFO, or a symlink to one) is written in place, as a stream.
Status WriteOutput(const std::string& path, const std::vector<uint8_t>& bytes);
// CLI exit code for a status: 0 ok, 1 usage/options/not built in, 2 bad data, 3 I/O.
int ExitCodeFor(const Status& status);

}  // namespace ftc::cli

#endif  // FTCODEC_TOOLS_CLI_IO_H_

// The lean `ftcodec` and `ftcodec-full` (tools/commands.h). `ftcodec` links no backend that
// loads libtorch or FFmpeg, so coding a tensor starts in milliseconds; a job that needs such a
// backend is handed over to `ftcodec-full`, which takes the same command line: execv with the
// unchanged argv (no shell), decided before anything is written. Handed over:
//   - bench, tune, train-bottleneck (libtorch), before parsing;
//   - enc with --codec hevc|learned (or a profile naming one), enc/dec with --unit;
//   - dec and info of a .ftc or .ftcp stream whose codec is hevc or learned.
// `lose` never decodes a packet (it drops records), so it runs here whatever the codec.
// `ftcodec-full` is looked for beside this executable (/proc/self/exe), then where
// `cmake --install` puts it; $FTCODEC_FULL, when set, is the only place looked at.
//
// Compiled into both executables; only the lean one (FTC_FULL_CLI_NAME defined) hands over.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "ftcodec/profile.h"
#include "ftcodec/sample_stream.h"
#include "tools/cli_io.h"
#include "tools/commands.h"

namespace ftc::cli {

#ifndef FTC_FULL_CLI_NAME

std::vector<std::string> CliCodecs() { return AvailableCodecs(); }
int HandOverSubcommand(int, char**) { return -1; }
int HandOverJob(const char*, const JobNeeds&, char**) { return -1; }

#else

namespace {

// The codecs only `ftcodec-full` has.
std::vector<std::string> FullOnlyCodecs() {
  std::vector<std::string> out;
  if (FTC_FULL_CLI_HEVC) out.push_back("hevc");
  if (FTC_FULL_CLI_TORCH) out.push_back("learned");
  return out;
}

bool FullOnlyCodec(const std::string& name) {
  for (const std::string& c : FullOnlyCodecs()) {
    if (c == name) return true;
  }
  return false;
}

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Where `ftcodec-full` may be, in order.
std::vector<std::string> Candidates() {
  const char* env = std::getenv("FTCODEC_FULL");
  if (env != nullptr && env[0] != '\0') return {env};
  std::vector<std::string> out;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    out.push_back(Dirname(self) + "/" + FTC_FULL_CLI_NAME);
  }
  if (out.empty() || out[0] != FTC_FULL_CLI_INSTALLED) out.push_back(FTC_FULL_CLI_INSTALLED);
  return out;
}

// The first candidate that is a regular file and not this executable (a lean binary installed
// under the full one's name must not hand over to itself), or "".
std::string FindFull(std::string* looked_at) {
  struct stat self;
  const bool have_self = stat("/proc/self/exe", &self) == 0;
  for (const std::string& c : Candidates()) {
    *looked_at += (looked_at->empty() ? "" : ", ") + ShortToken(c);
    struct stat st;
    if (stat(c.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (have_self && st.st_dev == self.st_dev && st.st_ino == self.st_ino) {
      *looked_at += " (this executable)";
      continue;
    }
    return c;
  }
  return "";
}

// Runs `ftcodec-full` with this process's argv; returns only on failure (exit code 1, the error
// printed). `what` is what the job needs, `lacking` says that this executable lacks it
// ("codec 'hevc'", "codec 'hevc' is not built into this executable").
int HandOver(const char* verb, const std::string& what, const std::string& lacking, char** argv) {
  std::string looked_at;
  const std::string full = FindFull(&looked_at);
  if (full.empty()) {
    return Usage(lacking + ": the job runs in " + FTC_FULL_CLI_NAME +
                     ", which was not found (looked for " + looked_at +
                     "; install it beside ftcodec, as cmake --install does, or name it with "
                     "FTCODEC_FULL)",
                 verb);
  }
  std::fflush(nullptr);
  execv(full.c_str(), argv);
  const int err = errno;
  return Usage("cannot run " + ShortToken(full) + " (needed for " + what + "): " + strerror(err),
               verb);
}

int HandOverCodec(const char* verb, const std::string& what, char** argv) {
  return HandOver(verb, what, what + " is not built into this executable", argv);
}

// What a needed codec of the stream is called, or "" when the stream needs none that only
// `ftcodec-full` has. The most permissive limits: the input's codec decides, not its size.
std::string FullOnlyCodecOfStream(const std::vector<uint8_t>& bytes) {
  const DecoderLimits limits = DecoderLimits::ForElements(int64_t{1} << 40);
  if (IsPacketStream(bytes.data(), bytes.size())) {
    const PacketStreamContents contents = ReadPacketStream(bytes.data(), bytes.size());
    for (const PacketInfo& p : ProbePackets(contents.packets, limits)) {
      if (p.valid && FullOnlyCodec(p.codec)) return p.codec;
    }
    return "";
  }
  Status status = Status::Ok();
  if (IsSampleStream(bytes.data(), bytes.size())) {
    status = probe_sample_stream(bytes.data(), bytes.size(), limits).status();
  } else {
    status = probe(bytes.data(), bytes.size(), limits).status();
  }
  if (status.ok() || status.code() != StatusCode::kNotBuiltIn) return "";
  // "the stream uses codec 'hevc', which is not built into this ftcodec"
  for (const std::string& c : FullOnlyCodecs()) {
    if (status.message().find("'" + c + "'") != std::string::npos) return c;
  }
  return "";
}

// Puts `bytes` back as standard input: a memory file (or a temporary file) at offset 0 on file
// descriptor 0.
Status RestoreStdin(const std::vector<uint8_t>& bytes) {
  int fd = memfd_create("ftcodec-stdin", 0);
  if (fd < 0) {
    FILE* f = std::tmpfile();
    if (f == nullptr) return Status(StatusCode::kIoError, "cannot buffer standard input");
    fd = dup(fileno(f));
    std::fclose(f);
  }
  size_t done = 0;
  while (fd >= 0 && done < bytes.size()) {
    const ssize_t w = write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += static_cast<size_t>(w);
  }
  const bool ok = fd >= 0 && done == bytes.size() && lseek(fd, 0, SEEK_SET) == 0 &&
                  dup2(fd, STDIN_FILENO) == STDIN_FILENO;
  const int err = errno;
  if (fd >= 0) close(fd);
  if (!ok) {
    return Status(StatusCode::kIoError,
                  std::string("cannot buffer standard input: ") + strerror(err));
  }
  return Status::Ok();
}

enum class StreamNeed { kLean, kFull, kUnknown };

// Reads the input stream (not consuming standard input) and says which executable decodes it;
// *codec names the codec when kFull. kUnknown: an input that cannot be read twice (a FIFO, a
// device); kLean also when a named input cannot be read (the subcommand then reports that).
Result<StreamNeed> StreamNeeds(const std::string& path, std::string* codec) {
  std::vector<uint8_t> bytes;
  if (path == "-") {
    struct stat st;
    const bool regular = fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode);
    const off_t start = regular ? lseek(STDIN_FILENO, 0, SEEK_CUR) : -1;
    Result<std::vector<uint8_t> > in = ReadInput("-");
    if (!in.ok()) return in.status();  // as the subcommand would report it (exit 3)
    bytes = std::move(in).value();
    if (start >= 0 && lseek(STDIN_FILENO, start, SEEK_SET) == start) {
      // A regular file: rewound.
    } else if (Status s = RestoreStdin(bytes); !s.ok()) {
      return s;
    }
  } else {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return StreamNeed::kLean;
    if (!S_ISREG(st.st_mode)) return S_ISDIR(st.st_mode) ? StreamNeed::kLean : StreamNeed::kUnknown;
    Result<std::vector<uint8_t> > in = ReadInput(path);
    if (!in.ok()) return StreamNeed::kLean;
    bytes = std::move(in).value();
  }
  *codec = FullOnlyCodecOfStream(bytes);
  return codec->empty() ? StreamNeed::kLean : StreamNeed::kFull;
}

}  // namespace

std::vector<std::string> CliCodecs() {
  std::vector<std::string> out = AvailableCodecs();
  for (const std::string& c : FullOnlyCodecs()) out.push_back(c);
  return out;
}

int HandOverSubcommand(int argc, char** argv) {
  if (!FTC_FULL_CLI_TORCH || argc < 2) return -1;
  const std::string verb = argv[1];
  if (verb != "bench" && verb != "tune" && verb != "train-bottleneck") return -1;
  return HandOver(verb.c_str(), "libtorch",
                  "'" + verb + "' needs libtorch, which this executable does not load", argv);
}

int HandOverJob(const char* verb, const JobNeeds& needs, char** argv) {
  if (needs.unit && FTC_FULL_CLI_TORCH) {
    return HandOver(verb, "--unit",
                    "--unit (codec 'learned') needs libtorch, which this executable "
                    "does not load",
                    argv);
  }
  std::string codec = needs.codec;
  if (codec.empty() && !needs.profile.empty()) {
    // The subcommand reports a profile that cannot be read.
    Result<Profile> p = LoadProfile(needs.profile);
    if (p.ok()) codec = p->settings.codec;
  }
  if (FullOnlyCodec(codec)) return HandOverCodec(verb, "codec '" + codec + "'", argv);
  if (needs.stream.empty()) return -1;
  std::string stream_codec;
  Result<StreamNeed> need = StreamNeeds(needs.stream, &stream_codec);
  if (!need.ok()) return Fail(need.status(), verb);
  switch (*need) {
    case StreamNeed::kLean:
      return -1;
    case StreamNeed::kFull:
      return HandOverCodec(verb, "the stream's codec '" + stream_codec + "'", argv);
    case StreamNeed::kUnknown: {
      // Read once only: the full executable decodes every codec, if it is there.
      std::string looked_at;
      if (FindFull(&looked_at).empty()) return -1;
      return HandOver(verb, "an input that can be read only once",
                      "an input that can be read only once", argv);
    }
  }
  return -1;
}

#endif  // FTC_FULL_CLI_NAME

}  // namespace ftc::cli

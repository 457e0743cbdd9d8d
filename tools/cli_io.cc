#include "tools/cli_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>

#include "tools/commands.h"

namespace ftc::cli {
namespace {

Status IoError(const std::string& what, const std::string& path, int err) {
  return Status(StatusCode::kIoError, what + " '" + path + "': " + strerror(err));
}

bool ReadAll(int fd, std::vector<uint8_t>* out) {
  uint8_t buf[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out->insert(out->end(), buf, buf + n);
  }
}

bool WriteAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

Result<std::vector<uint8_t>> ReadInput(const std::string& path) {
  std::vector<uint8_t> out;
  if (path == "-") {
    if (!ReadAll(STDIN_FILENO, &out)) return IoError("cannot read", "<stdin>", errno);
    return out;
  }
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", path, errno);
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    return IoError("cannot read", path, EISDIR);
  }
  if (fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  const bool ok = ReadAll(fd, &out);
  const int err = errno;
  close(fd);
  if (!ok) return IoError("cannot read", path, err);
  return out;
}

Status WriteOutput(const std::string& path, const std::vector<uint8_t>& bytes) {
  if (path == "-") {
    if (!WriteAll(STDOUT_FILENO, bytes.data(), bytes.size())) {
      return IoError("cannot write", "<stdout>", errno);
    }
    return Status::Ok();
  }
  struct stat st;
  const bool exists = stat(path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    // A character device, FIFO or socket (or a symlink to one): written in place, as a stream;
    // never replaced by a regular file.
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return IoError("cannot open", path, errno);
    bool ok = WriteAll(fd, bytes.data(), bytes.size());
    int err = errno;
    if (close(fd) != 0 && ok) {
      ok = false;
      err = errno;
    }
    if (!ok) return IoError("cannot write", path, err);
    return Status::Ok();
  }
  // A regular file (or a new one): a temporary file beside it, renamed into place. Through a
  // symlink the target file is replaced and the link kept.
  std::string target = path;
  struct stat lst;
  if (exists && S_ISREG(st.st_mode) && lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
    char resolved[PATH_MAX];
    if (realpath(path.c_str(), resolved) != nullptr) target = resolved;
  }
  const size_t slash = target.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : target.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? target : target.substr(slash + 1);
  // The temporary name must fit NAME_MAX like the name itself: a long name is shortened.
  static const char kSuffix[] = ".tmp-XXXXXX";
  const size_t keep = std::min(base.size(), size_t{NAME_MAX} - (sizeof(kSuffix) - 1));
  std::string tmpl = dir + base.substr(0, keep) + kSuffix;
  const int fd = mkstemp(&tmpl[0]);
  if (fd < 0) return IoError("cannot create", path, errno);
  bool ok = WriteAll(fd, bytes.data(), bytes.size());
  int err = errno;
  if (ok) {
    // Give the file the permissions a plain open(O_CREAT, 0666) would have had.
    const mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
  }
  if (close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && rename(tmpl.c_str(), target.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    unlink(tmpl.c_str());
    return IoError("cannot write", path, err);
  }
  return Status::Ok();
}

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotBuiltIn:
      return 1;
    case StatusCode::kCorruptData:
    case StatusCode::kUnsupported:
    case StatusCode::kLimitExceeded:
    case StatusCode::kInternal:
      return 2;
    case StatusCode::kIoError:
      return 3;
  }
  return 2;
}

std::string CommandLine() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string out = "ftcodec";
  size_t pos = raw.find('\0');  // skip argv[0]
  while (pos != std::string::npos && pos + 1 < raw.size()) {
    const size_t end = raw.find('\0', pos + 1);
    out += " " + raw.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
    pos = end;
  }
  return out;
}

}  // namespace ftc::cli

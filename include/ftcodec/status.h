// ftcodec — status codes and Result<T>: every fallible call in the public API returns one.
// No exception crosses the API.
#ifndef FTCODEC_STATUS_H_
#define FTCODEC_STATUS_H_

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ftc {

// Stable error codes. The numbers never change; new codes are appended.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // bad options or API misuse (CLI exit 1)
  kNotBuiltIn = 2,       // a codec or feature left out of this build (CLI exit 1)
  kCorruptData = 3,      // malformed, truncated or inconsistent input bytes (CLI exit 2)
  kUnsupported = 4,      // well-formed input this version cannot handle (CLI exit 2)
  kLimitExceeded = 5,    // input exceeds a sanity or resource limit (CLI exit 2)
  kIoError = 6,          // file missing, unreadable or unwritable (CLI exit 3)
  kInternal = 7,         // a bug in ftcodec
};

// Name of a status code ("corrupt_data"), stable across versions.
const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corrupt_data: frame 3: checksum mismatch"
  std::string ToString() const;
  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(const std::string& context) const;
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or an error status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result constructed from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ftc

#endif  // FTCODEC_STATUS_H_

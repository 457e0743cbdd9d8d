// Internal helpers that keep error paths to one line.
#ifndef FTCODEC_BASE_STATUS_MACROS_H_
#define FTCODEC_BASE_STATUS_MACROS_H_

#include <cstdarg>
#include <exception>
#include <new>
#include <string>
#include <utility>

#include "ftcodec/status.h"

namespace ftc {

// printf-style message formatting.
std::string StrFormat(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

Status MakeStatus(StatusCode code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Untrusted text (a token of an input, an option's value) for an error message: at most
// kErrorTokenBytes bytes of it (cut between UTF-8 characters), control bytes as \xNN, and
// "... (N bytes)" when it was cut.
inline constexpr size_t kErrorTokenBytes = 80;
std::string ErrorToken(const std::string& text);

// Runs fn() (which returns a Status or a Result) so that no exception escapes: std::bad_alloc
// becomes kLimitExceeded ("WHAT: out of memory"), any other exception kInternal. on_exception()
// runs first when one was caught. For the public entry points: no exception crosses the API.
template <typename Fn, typename OnException>
auto CatchExceptions(const char* what, Fn&& fn, OnException&& on_exception) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    on_exception();
    return Status(StatusCode::kLimitExceeded, std::string(what) + ": out of memory");
  } catch (const std::exception& e) {
    on_exception();
    return Status(StatusCode::kInternal, std::string(what) + ": unexpected error: " + e.what());
  } catch (...) {
    on_exception();
    return Status(StatusCode::kInternal, std::string(what) + ": unexpected error");
  }
}
template <typename Fn>
auto CatchExceptions(const char* what, Fn&& fn) -> decltype(fn()) {
  return CatchExceptions(what, std::forward<Fn>(fn), [] {});
}

}  // namespace ftc

#define FTC_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::ftc::Status ftc_status_ = (expr);        \
    if (!ftc_status_.ok()) return ftc_status_; \
  } while (0)

#define FTC_CONCAT_INNER_(a, b) a##b
#define FTC_CONCAT_(a, b) FTC_CONCAT_INNER_(a, b)
// FTC_ASSIGN_OR_RETURN(auto x, MakeX()); — moves the value out of a Result or returns its error.
#define FTC_ASSIGN_OR_RETURN(lhs, expr) \
  FTC_ASSIGN_OR_RETURN_IMPL_(FTC_CONCAT_(ftc_result_, __LINE__), lhs, expr)
#define FTC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

#define FTC_CORRUPT(...) ::ftc::MakeStatus(::ftc::StatusCode::kCorruptData, __VA_ARGS__)
#define FTC_INVALID(...) ::ftc::MakeStatus(::ftc::StatusCode::kInvalidArgument, __VA_ARGS__)
#define FTC_UNSUPPORTED(...) ::ftc::MakeStatus(::ftc::StatusCode::kUnsupported, __VA_ARGS__)
#define FTC_LIMIT(...) ::ftc::MakeStatus(::ftc::StatusCode::kLimitExceeded, __VA_ARGS__)
#define FTC_INTERNAL(...) ::ftc::MakeStatus(::ftc::StatusCode::kInternal, __VA_ARGS__)

#endif  // FTCODEC_BASE_STATUS_MACROS_H_

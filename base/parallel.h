// A tiny deterministic parallel-for over independent items (frames).
#ifndef FTCODEC_BASE_PARALLEL_H_
#define FTCODEC_BASE_PARALLEL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "ftcodec/status.h"

namespace ftc {

// Runs fn(i) for i in [0, n) on up to `threads` threads. Returns the error of the lowest index
// that failed, so the reported error does not depend on scheduling.
inline Status ParallelFor(int64_t n, int threads, const std::function<Status(int64_t)>& fn) {
  std::vector<Status> errors(static_cast<size_t>(n > 0 ? n : 0));
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  auto worker = [&]() {
    for (;;) {
      const int64_t i = next.fetch_add(1);
      if (i >= n || failed.load()) return;
      Status s = fn(i);
      if (!s.ok()) {
        errors[static_cast<size_t>(i)] = std::move(s);
        failed.store(true);
      }
    }
  };
  const int64_t t = threads < 1 ? 1 : (threads > n ? n : threads);
  if (t <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int64_t k = 0; k < t; ++k) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }
  for (Status& s : errors) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace ftc

#endif  // FTCODEC_BASE_PARALLEL_H_

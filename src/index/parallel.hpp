#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace imgvec::detail {

/// True on a thread that is running a parallel_for body. A nested parallel_for then runs inline:
/// a batch search already uses every core, and splitting each query's scan again would only
/// oversubscribe them.
inline bool& in_parallel_region() {
  thread_local bool inside = false;
  return inside;
}

/// Runs fn(begin, end, worker) over [0, n) in chunks of `grain` on up to `threads` threads, the
/// calling thread included (worker 0). Chunks are handed out dynamically so uneven work balances.
/// The first exception thrown by any chunk is rethrown here after all threads stop.
template <typename Fn>
void parallel_for(std::size_t n, std::size_t threads, std::size_t grain, Fn&& fn) {
  if (n == 0) return;
  grain = std::max<std::size_t>(grain, 1);
  const std::size_t chunks = (n + grain - 1) / grain;
  threads = std::max<std::size_t>(1, std::min(threads, chunks));
  if (threads == 1 || in_parallel_region()) {
    fn(std::size_t{0}, n, std::size_t{0});
    return;
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&](std::size_t worker) {
    bool& inside = in_parallel_region();
    const bool was_inside = inside;
    inside = true;
    try {
      for (;;) {
        const std::size_t c = next.fetch_add(1, std::memory_order_relaxed);
        if (c >= chunks) break;
        const std::size_t begin = c * grain;
        fn(begin, std::min(n, begin + grain), worker);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next.store(chunks);
    }
    inside = was_inside;
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace imgvec::detail

#pragma once
// imgvec's one kind of thread pool: a team of threads started for one job and joined when it
// ends, the first exception rethrown to the caller. The index's batch searches and builds,
// duplicate verification and the encoder's decode pipeline all run on it (issue 20: each had its
// own). Threads are started per job, not kept: a job here is a batch (milliseconds to minutes),
// where starting a thread costs ~20 us, and an idle pool would hold threads in every program
// that links imgvec.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#ifdef __linux__
#include <sched.h>
#endif

namespace imgvec::detail {

/// The cores this process may run on: its CPU affinity (taskset, a container's cpuset), which
/// hardware_concurrency() ignores, so that threads are not sized for cores the process cannot use.
inline std::size_t available_cores() {
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return static_cast<std::size_t>(CPU_COUNT(&set));
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

/// True on a thread that is running a parallel_for body. A nested parallel_for then runs inline:
/// a batch search already uses every core, and splitting each query's scan again would only
/// oversubscribe them.
inline bool& in_parallel_region() {
  thread_local bool inside = false;
  return inside;
}

/// Threads running `fn(worker)` for worker = first .. first + count - 1 alongside the caller.
/// join() (or the destructor) waits for them all; join() rethrows the first exception one threw.
class ThreadTeam {
 public:
  template <typename Fn>
  ThreadTeam(std::size_t count, std::size_t first, Fn fn) {
    threads_.reserve(count);
    try {
      for (std::size_t t = 0; t < count; ++t) {
        threads_.emplace_back([this, fn, worker = first + t]() mutable {
          try {
            fn(worker);
          } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
          }
        });
      }
    } catch (...) {  // no thread to be had: the ones started finish first
      wait();
      throw;
    }
  }
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;
  ~ThreadTeam() { wait(); }

  void join() {
    wait();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void wait() {
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::exception_ptr error_;
};

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
      next.store(chunks);  // the others stop at their next chunk
      inside = was_inside;
      throw;
    }
    inside = was_inside;
  };
  ThreadTeam team(threads - 1, 1, work);
  std::exception_ptr mine;
  try {
    work(0);
  } catch (...) {
    mine = std::current_exception();
  }
  team.join();  // a worker's exception, else the caller's
  if (mine) std::rethrow_exception(mine);
}

}  // namespace imgvec::detail

#pragma once

#include <atomic>
#include <mutex>
#include <shared_mutex>

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec::detail {

/// A reader-writer lock that lets a waiting writer in. glibc's shared_mutex prefers readers, so
/// with searches arriving back to back a writer could wait forever. A writer announces itself and
/// takes the turnstile; readers pass through the turnstile only while a writer is announced, so
/// they stop entering and the writer waits just for the readers already inside. Without writers a
/// reader pays one atomic load over a plain shared lock. Meets the SharedMutex requirements.
class RwLock {
 public:
  void lock() {
    writers_.fetch_add(1, std::memory_order_acq_rel);
    turnstile_.lock();
    shared_.lock();
  }
  void unlock() {
    shared_.unlock();
    turnstile_.unlock();
    writers_.fetch_sub(1, std::memory_order_acq_rel);
  }
  void lock_shared() {
    if (writers_.load(std::memory_order_acquire) != 0) {
      std::lock_guard<std::mutex> pass(turnstile_);
    }
    shared_.lock_shared();
  }
  void unlock_shared() { shared_.unlock_shared(); }

 private:
  std::atomic<int> writers_{0};
  std::mutex turnstile_;
  std::shared_mutex shared_;
};

}  // namespace imgvec::detail
IMGVEC_API_END

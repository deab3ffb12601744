#pragma once

#include <mutex>
#include <shared_mutex>

namespace imgvec::detail {

/// A reader-writer lock that lets a waiting writer in. glibc's shared_mutex prefers readers, so
/// with searches arriving back to back a writer could wait forever. Here a writer first takes the
/// turnstile, which new readers must pass through, then waits only for the readers already inside.
/// Meets the SharedMutex requirements, so std::shared_lock and std::unique_lock work with it.
class RwLock {
 public:
  void lock() {
    turnstile_.lock();
    shared_.lock();
  }
  void unlock() {
    shared_.unlock();
    turnstile_.unlock();
  }
  void lock_shared() {
    { std::lock_guard<std::mutex> pass(turnstile_); }
    shared_.lock_shared();
  }
  void unlock_shared() { shared_.unlock_shared(); }

 private:
  std::mutex turnstile_;
  std::shared_mutex shared_;
};

}  // namespace imgvec::detail

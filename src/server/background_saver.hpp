#pragma once
// Saves a database in the background every N changes or T seconds (whichever comes first, and
// only when something changed), and once more when stopped. With the write-ahead log on, a save
// is not what makes writes durable: it bounds the log's length, and so the time open() spends
// replaying it.

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "imgvec/database.hpp"

namespace imgvec::server {

class BackgroundSaver {
 public:
  BackgroundSaver(std::shared_ptr<VectorDatabase> db, std::size_t every_changes,
                  double every_seconds);
  ~BackgroundSaver();
  /// Wakes the saver early (after a write), so that N changes are noticed without polling fast.
  void changed();
  /// Stops the thread, then saves if anything changed. Throws what the final save throws.
  void stop();
  /// The last background save's error, empty if it succeeded.
  std::string last_error() const;
  std::size_t saves() const;

 private:
  void run();
  std::shared_ptr<VectorDatabase> db_;
  std::size_t every_changes_;
  double every_seconds_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string last_error_;
  std::size_t saves_ = 0;
  std::thread thread_;
};

}  // namespace imgvec::server

#include "server/background_saver.hpp"

#include <chrono>
#include <cstdio>

namespace imgvec::server {

BackgroundSaver::BackgroundSaver(std::shared_ptr<VectorDatabase> db, std::size_t every_changes,
                                 double every_seconds)
    : db_(std::move(db)), every_changes_(every_changes), every_seconds_(every_seconds) {
  thread_ = std::thread([this] { run(); });
}

BackgroundSaver::~BackgroundSaver() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundSaver::changed() {
  wake_.notify_all();
}

void BackgroundSaver::run() {
  using clock = std::chrono::steady_clock;
  auto last_save = clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    // A change wakes the thread; otherwise it looks twice a second (the interval's resolution).
    wake_.wait_for(lock, std::chrono::milliseconds(500));
    if (stopping_) break;
    const std::size_t pending = db_->unsaved_changes();
    const double since = std::chrono::duration<double>(clock::now() - last_save).count();
    if (pending == 0 || (pending < every_changes_ && since < every_seconds_)) continue;
    lock.unlock();
    std::string error;
    try {
      db_->save();
    } catch (const std::exception& e) {
      error = e.what();
      std::fprintf(stderr, "imgvec serve: background save failed: %s\n", e.what());
    }
    lock.lock();
    last_error_ = error;
    ++saves_;
    last_save = clock::now();
  }
}

void BackgroundSaver::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (db_->unsaved_changes() > 0) db_->save();
}

std::string BackgroundSaver::last_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

std::size_t BackgroundSaver::saves() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return saves_;
}

}  // namespace imgvec::server

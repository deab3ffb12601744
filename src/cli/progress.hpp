#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace imgvec::cli {

/// A one-line progress bar with rate and ETA on stderr, drawn only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  void update(std::size_t done, std::size_t total);

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace imgvec::cli

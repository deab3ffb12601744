#include "cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace imgvec::cli {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fputc('\n', stderr);
}

void ProgressBar::update(std::size_t done, std::size_t total) {
  if (!enabled_ || total == 0) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const int width = 30;
  const int filled = static_cast<int>(static_cast<double>(width) * static_cast<double>(done) / static_cast<double>(total));
  std::string bar(static_cast<std::size_t>(filled), '=');
  bar.resize(width, ' ');
  char eta[32] = "--:--";
  if (rate > 0 && done < total) {
    const auto left = static_cast<long>(static_cast<double>(total - done) / rate);
    std::snprintf(eta, sizeof eta, "%ld:%02ld", left / 60, left % 60);
  } else if (done >= total) {
    std::snprintf(eta, sizeof eta, "done");
  }
  std::fprintf(stderr, "\r%s [%s] %zu/%zu  %.1f/s  ETA %s ", label_.c_str(), bar.c_str(), done, total, rate, eta);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace imgvec::cli

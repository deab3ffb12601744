#pragma once
// Another process keeping one core busy while it lives: the neighbour of issue 23's measurements,
// for tests of what the library does beside one. The child spins on the clock and nothing else
// (safe after fork() in a threaded test), dies with the test (PR_SET_PDEATHSIG) and stops by
// itself after 60 s should neither happen.

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace imgvec::testing {

class BusyNeighbour {
 public:
  BusyNeighbour() {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (std::chrono::steady_clock::now() < end) {
      }
      ::_exit(0);
    }
  }
  ~BusyNeighbour() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  BusyNeighbour(const BusyNeighbour&) = delete;
  BusyNeighbour& operator=(const BusyNeighbour&) = delete;

 private:
  pid_t pid_ = -1;
};

}  // namespace imgvec::testing

#pragma once
// How many threads one model call should use: the cores of this process's affinity mask that
// other processes have left free, divided among this process's model calls running at once.
//
// Why: libtorch's OpenMP threads wait for each other at every operator, so one of them
// descheduled by a busy neighbour stalls the whole call, and when libgomp was loaded before
// imgvec could set OMP_WAIT_POLICY (a program that links libtorch, Python after `import torch`)
// the waiting threads also spin against the neighbour. ViT-B/32 (random weights) on 2 cores of an
// Intel Xeon (Sapphire Rapids class), imgvec_bench_encoder, beside one spinning process: two
// threads took 220 ms for a text query and 183 ms/image at batch 8 (idle: 10.8 and 38); one
// thread 17.4 ms and 70 ms/image, what one thread takes on the idle machine.
//
// Others' use is measured, not guessed from the load average: /proc/stat's busy time of the
// CPUs this process may run on, less this process's own CPU time, over the last window of at
// least kMinWindowSeconds. The process's own decode workers and server threads are therefore
// never mistaken for a neighbour.

#include <cstddef>
#include <functional>
#include <string_view>

namespace imgvec::detail {

/// A moment's reading: wall clock, the busy time of the CPUs this process may run on (user,
/// nice, system, irq, softirq and steal, summed over them), and this process's CPU time.
struct CpuSample {
  double wall_seconds = 0;
  double busy_seconds = 0;
  double own_seconds = 0;
  bool valid = false;  // false where /proc/stat cannot be read (not Linux, a sandbox)
};

/// Adds up the busy time of the CPUs of /proc/stat's text for which `in_set(cpu)` holds, in
/// seconds at `ticks_per_second`. False when the text has no readable per-CPU line for them.
bool parse_proc_stat_busy(std::string_view text, const std::function<bool(int)>& in_set, double ticks_per_second,
                          double& busy_seconds);

/// The sample now (valid false where it cannot be taken).
CpuSample sample_cpu();

/// The cores other processes kept busy on average between two samples, >= 0.
double cores_used_by_others(const CpuSample& from, const CpuSample& to);

/// Of `cores`, those left when others use `used_by_others` cores (rounded to the nearest core):
/// between 1 and `cores`.
std::size_t cores_left(std::size_t cores, double used_by_others);

/// Windows shorter than this leave the last estimate in place: /proc/stat counts in ticks of
/// 10 ms, so a 12 ms text query alone would read 0, 1 or 2 ticks per CPU.
inline constexpr double kMinWindowSeconds = 0.2;
/// The first window may close sooner (about 0.2 cores of error on 2 CPUs), so that a one-shot
/// program's first calls after a fast load are not made on cores a neighbour holds.
inline constexpr double kFirstWindowSeconds = 0.1;

/// One model call's share of the CPU. While it lives it counts among this process's concurrent
/// calls; threads() is the cores other processes left free (over the last window of at least
/// kMinWindowSeconds, refreshed by the calls themselves) divided among those calls, at least 1.
/// Thread-safe; costs a clock read per call and a read of /proc/stat at most every window.
class CpuShare {
 public:
  CpuShare();
  ~CpuShare();
  CpuShare(const CpuShare&) = delete;
  CpuShare& operator=(const CpuShare&) = delete;

  std::size_t threads() const { return threads_; }

  /// Opens the first window now, if none is open: an encoder calls it as it starts loading, so
  /// that its first call already finds a window of the load's length.
  static void start_window();

 private:
  std::size_t threads_ = 1;
};

}  // namespace imgvec::detail

#include "parallel/cpu_share.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <ctime>
#include <mutex>
#include <string>

#include "parallel/parallel.hpp"

#ifdef __linux__
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#endif

namespace imgvec::detail {
namespace {

double clock_seconds(clockid_t clock) {
  timespec t{};
  ::clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// /proc/stat whole; it reports a size of 0, so it is read until the end.
bool read_proc_stat(std::string& out) {
#ifdef __linux__
  const int fd = ::open("/proc/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > (std::size_t{64} << 20)) break;  // not /proc/stat as we know it
  }
  ::close(fd);
  return true;
#else
  (void)out;
  return false;
#endif
}

// The state every CpuShare reads and refreshes: the sample that opens the current window and the
// cores left free in the last closed one.
struct Estimator {
  std::mutex mutex;
  CpuSample window_start;
  std::size_t cores_left = 0;  // 0: no window closed yet
  std::atomic<std::size_t> calls{0};
};

Estimator& estimator() {
  static Estimator e;
  return e;
}

std::size_t free_cores_now(std::size_t cores) {
  Estimator& e = estimator();
  std::lock_guard<std::mutex> lock(e.mutex);
  const double now = clock_seconds(CLOCK_MONOTONIC);
  const double window = e.cores_left ? kMinWindowSeconds : kFirstWindowSeconds;
  if (e.window_start.valid && now - e.window_start.wall_seconds < window) {
    return e.cores_left ? std::min(e.cores_left, cores) : cores;
  }
  const CpuSample s = sample_cpu();
  if (!s.valid) return cores;
  if (e.window_start.valid) e.cores_left = cores_left(cores, cores_used_by_others(e.window_start, s));
  e.window_start = s;
  return e.cores_left ? std::min(e.cores_left, cores) : cores;
}

}  // namespace

bool parse_proc_stat_busy(std::string_view text, const std::function<bool(int)>& in_set, double ticks_per_second,
                          double& busy_seconds) {
  if (!(ticks_per_second > 0)) return false;
  unsigned long long ticks = 0;
  bool found = false;
  while (!text.empty()) {
    const std::size_t eol = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(std::min(eol + 1, text.size()));
    // "cpuN user nice system idle iowait irq softirq steal guest guest_nice"; the "cpu" line
    // without a number is the total over every CPU of the machine, not only ours.
    if (line.size() < 4 || line.substr(0, 3) != "cpu" || line[3] < '0' || line[3] > '9') continue;
    line.remove_prefix(3);
    int cpu = -1;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), cpu);
    if (ec != std::errc() || !in_set(cpu)) continue;
    const char* const end = line.data() + line.size();
    unsigned long long fields[8] = {};
    int read = 0;
    for (; read < 8; ++read) {
      while (p < end && *p == ' ') ++p;
      if (p == end) break;
      auto r = std::from_chars(p, end, fields[read]);
      if (r.ec != std::errc()) return false;
      p = r.ptr;
    }
    if (read < 4) return false;  // user, nice, system, idle at least (every Linux since 2.6 has 8+)
    // Busy: user, nice, system, irq, softirq, steal (a hypervisor's other guests); idle and iowait
    // are not. guest time is already inside user.
    ticks += fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7];
    found = true;
  }
  if (!found) return false;
  busy_seconds = static_cast<double>(ticks) / ticks_per_second;
  return true;
}

CpuSample sample_cpu() {
  CpuSample s;
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return s;
  std::string text;
  if (!read_proc_stat(text)) return s;
  const auto in_set = [&set](int cpu) { return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set); };
  if (!parse_proc_stat_busy(text, in_set, static_cast<double>(::sysconf(_SC_CLK_TCK)), s.busy_seconds)) return s;
  s.wall_seconds = clock_seconds(CLOCK_MONOTONIC);
  s.own_seconds = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
  s.valid = true;
#endif
  return s;
}

double cores_used_by_others(const CpuSample& from, const CpuSample& to) {
  const double wall = to.wall_seconds - from.wall_seconds;
  if (!from.valid || !to.valid || !(wall > 0)) return 0;
  const double others = (to.busy_seconds - from.busy_seconds) - (to.own_seconds - from.own_seconds);
  return std::max(0.0, others / wall);
}

std::size_t cores_left(std::size_t cores, double used_by_others) {
  cores = std::max<std::size_t>(cores, 1);
  const double taken = std::round(std::max(0.0, used_by_others));
  if (taken >= static_cast<double>(cores)) return 1;
  return std::max<std::size_t>(1, cores - static_cast<std::size_t>(taken));
}

CpuShare::CpuShare() {
  Estimator& e = estimator();
  const std::size_t calls = e.calls.fetch_add(1) + 1;
  threads_ = std::max<std::size_t>(1, free_cores_now(available_cores()) / calls);
}

CpuShare::~CpuShare() { estimator().calls.fetch_sub(1); }

void CpuShare::start_window() {
  Estimator& e = estimator();
  std::lock_guard<std::mutex> lock(e.mutex);
  if (!e.window_start.valid) e.window_start = sample_cpu();
}

}  // namespace imgvec::detail

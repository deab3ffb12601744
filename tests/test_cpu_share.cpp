#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <thread>

#include "parallel/cpu_share.hpp"
#include "parallel/parallel.hpp"
#include "support/busy_neighbour.hpp"

// How many threads a model call takes: other processes' use of this process's CPUs, read from
// /proc/stat less this process's own time (parallel/cpu_share.hpp).
using namespace imgvec::detail;

namespace {

// /proc/stat as Linux 6.x writes it for 3 CPUs: the machine's total line first.
constexpr const char* kProcStat =
    "cpu  900 90 300 5000 40 10 20 30 0 0\n"
    "cpu0 100 10 50 2000 10 1 2 3 0 0\n"
    "cpu1 200 20 100 1500 20 4 5 6 0 0\n"
    "cpu2 600 60 150 1500 10 5 13 21 0 0\n"
    "intr 123456 1 2 3\n"
    "ctxt 987654\n"
    "procs_running 3\n";

bool in(const std::set<int>& cpus, int cpu) { return cpus.count(cpu) > 0; }

}  // namespace

TEST_CASE("busy time adds user, nice, system, irq, softirq and steal of the process's CPUs only", "[parallel]") {
  double busy = -1;
  const std::set<int> mine{0, 2};
  REQUIRE(parse_proc_stat_busy(kProcStat, [&](int c) { return in(mine, c); }, 100, busy));
  // cpu0: 100+10+50+1+2+3 = 166 ticks; cpu2: 600+60+150+5+13+21 = 849; idle and iowait left out;
  // the total line is not a CPU of ours.
  CHECK(busy == Approx((166 + 849) / 100.0));
  REQUIRE(parse_proc_stat_busy(kProcStat, [](int c) { return c == 1; }, 250, busy));
  CHECK(busy == Approx((200 + 20 + 100 + 4 + 5 + 6) / 250.0));
}

TEST_CASE("/proc/stat text that is not what Linux writes is refused, not misread", "[parallel][errors]") {
  double busy = 0;
  const auto all = [](int) { return true; };
  CHECK_FALSE(parse_proc_stat_busy("", all, 100, busy));
  CHECK_FALSE(parse_proc_stat_busy("cpu  1 2 3 4\n", all, 100, busy));  // only the total line
  CHECK_FALSE(parse_proc_stat_busy(kProcStat, [](int c) { return c == 7; }, 100, busy));  // none of ours
  CHECK_FALSE(parse_proc_stat_busy("cpu0 1 2 x 4 5 6 7 8\n", all, 100, busy));
  CHECK_FALSE(parse_proc_stat_busy("cpu0 1 2 3\n", all, 100, busy));
  CHECK_FALSE(parse_proc_stat_busy(kProcStat, all, 0, busy));
  // An old kernel's line without steal, guest and the rest still reads.
  REQUIRE(parse_proc_stat_busy("cpu0 10 0 5 100 0 1 1\n", all, 100, busy));
  CHECK(busy == Approx(0.17));
  // A last line without a newline, and a CPU number past any mask.
  REQUIRE(parse_proc_stat_busy("cpu99999 1 0 0 0", all, 100, busy));
  CHECK(busy == Approx(0.01));
}

TEST_CASE("others' use is the CPUs' busy time less this process's own, per second of wall time", "[parallel]") {
  CpuSample a{10.0, 100.0, 5.0, true};
  CpuSample b{12.0, 104.0, 6.0, true};  // 2 s: 4 s busy, 1 s of it ours
  CHECK(cores_used_by_others(a, b) == Approx(1.5));
  b.own_seconds = 9.5;  // ticks lag the precise own clock: never below 0
  CHECK(cores_used_by_others(a, b) == 0);
  CHECK(cores_used_by_others(a, a) == 0);  // no time passed
  CHECK(cores_used_by_others(CpuSample{}, b) == 0);  // no reading
}

TEST_CASE("the cores left round others' use to the nearest core and keep at least one", "[parallel]") {
  CHECK(cores_left(2, 0.0) == 2);
  CHECK(cores_left(2, 0.4) == 2);
  CHECK(cores_left(2, 0.6) == 1);
  CHECK(cores_left(2, 1.0) == 1);
  CHECK(cores_left(2, 7.0) == 1);
  CHECK(cores_left(8, 2.49) == 6);
  CHECK(cores_left(8, -1.0) == 8);
  CHECK(cores_left(0, 0.0) == 1);
}

TEST_CASE("a busy process beside this one is seen, and model calls get the cores it leaves", "[parallel]") {
  REQUIRE(sample_cpu().valid);  // Linux with /proc: where the tests run
  const std::size_t cores = available_cores();
  // Close whatever window an earlier test opened, so that the next one holds only the neighbour.
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  { CpuShare close_window; }
  {
    imgvec::testing::BusyNeighbour neighbour;
    const CpuSample before = sample_cpu();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const CpuSample during = sample_cpu();
    // At least half a core: other tests running beside this one (ctest -j) only add to it.
    CHECK(cores_used_by_others(before, during) >= 0.5);
    const CpuShare share;
    CHECK(share.threads() >= 1);
    CHECK(share.threads() <= std::max<std::size_t>(1, cores - 1));
  }
}

TEST_CASE("model calls running at once divide the free cores between them", "[parallel]") {
  const std::size_t cores = available_cores();
  const CpuShare first;
  CHECK(first.threads() <= cores);
  const CpuShare second;
  const CpuShare third;
  CHECK(third.threads() >= 1);
  CHECK(third.threads() <= std::max<std::size_t>(1, cores / 3));
}

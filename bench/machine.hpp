#pragma once
// "AMD EPYC, 2 cores, L2 512K, L3 32768K": figures mean little without the CPU and its caches.

#include <fstream>
#include <string>
#include <thread>

namespace imgvec::bench {

inline std::string machine() {
  std::string model = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::string out = model + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores";
  for (const char* level : {"index2", "index3"}) {
    std::ifstream size(std::string("/sys/devices/system/cpu/cpu0/cache/") + level + "/size");
    std::string s;
    if (size >> s) out += std::string(", L") + level[5] + " " + s;
  }
  return out;
}

}  // namespace imgvec::bench

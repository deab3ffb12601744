#include "encoder/caching_allocator.hpp"

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <c10/core/CPUAllocator.h>

#include "encoder/torch_compat.hpp"

namespace imgvec::detail {
namespace {

constexpr std::size_t kAlignment = 64;  // c10's own CPU alignment, which vectorized kernels assume

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(std::size_t max_cached) : max_cached_(max_cached) {}

  IMGVEC_C10_ALLOCATOR_METHODS(take, release)
  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  std::size_t cached() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }

  static CachingCpuAllocator* instance;

 private:

  void* take(std::size_t n) const {
    if (n == 0) n = 1;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(n);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= n;
        live_[p] = n;
        return p;
      }
    }
    void* p = nullptr;
    if (posix_memalign(&p, kAlignment, (n + kAlignment - 1) / kAlignment * kAlignment) != 0) {
      throw c10::Error({__func__, __FILE__, static_cast<std::uint32_t>(__LINE__)},
                       "imgvec: out of memory allocating " + std::to_string(n) + " bytes");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    live_[p] = n;
    return p;
  }

  static void release(void* p) {
    if (!p) return;
    CachingCpuAllocator& self = *instance;
    std::lock_guard<std::mutex> lock(self.mutex_);
    const auto it = self.live_.find(p);
    const std::size_t n = it->second;
    self.live_.erase(it);
    if (self.cached_ + n <= self.max_cached_) {
      self.free_[n].push_back(p);
      self.cached_ += n;
    } else {
      std::free(p);
    }
  }

  const std::size_t max_cached_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<void*, std::size_t> live_;
  mutable std::unordered_map<std::size_t, std::vector<void*>> free_;
  mutable std::size_t cached_ = 0;
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

}  // namespace

void install_caching_cpu_allocator(std::size_t max_cached_bytes) {
  static std::once_flag once;
  std::call_once(once, [&] {
    // Never destroyed: tensors may outlive every encoder, even static ones at exit.
    CachingCpuAllocator::instance = new CachingCpuAllocator(max_cached_bytes);
    c10::SetCPUAllocator(CachingCpuAllocator::instance, /*priority=*/1);
  });
}

std::size_t cached_cpu_bytes() {
  return CachingCpuAllocator::instance ? CachingCpuAllocator::instance->cached() : 0;
}

}  // namespace imgvec::detail

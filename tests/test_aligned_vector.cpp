#include <catch2/catch.hpp>

#include <cstdint>
#include <numeric>

#include "simd/aligned_vector.hpp"

using imgvec::detail::simd::AlignedVector;
using imgvec::detail::simd::kCacheLine;
using imgvec::detail::simd::kHugePage;
using imgvec::detail::simd::kHugePageMinBytes;

namespace {

std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

}  // namespace

TEST_CASE("AlignedVector starts small blocks on a cache line and large ones on a huge page", "[simd]") {
  AlignedVector<float> small(1000);
  CHECK(address(small.data()) % kCacheLine == 0);
  AlignedVector<float> large(kHugePageMinBytes / sizeof(float) + 3);
  CHECK(address(large.data()) % kHugePage == 0);
}

TEST_CASE("AlignedVector keeps its values while it grows across the huge page threshold", "[simd]") {
  // Growth frees blocks of both kinds (cache line, then huge page): each must go back the way it
  // came, which ASan checks (a mismatched alignment is reported as a bad deallocation).
  AlignedVector<std::uint32_t> v;
  const std::size_t n = 3 * kHugePageMinBytes / sizeof(std::uint32_t);
  for (std::uint32_t i = 0; i < n; ++i) v.push_back(i);
  std::uint64_t want = std::uint64_t{n} * (n - 1) / 2;
  CHECK(std::accumulate(v.begin(), v.end(), std::uint64_t{0}) == want);
  v.resize(10);
  v.shrink_to_fit();
  CHECK(address(v.data()) % kCacheLine == 0);
  CHECK(v[9] == 9u);
}

TEST_CASE("advise_huge_pages accepts any region, however aligned or small", "[simd]") {
  AlignedVector<char> v(kHugePageMinBytes * 2);
  imgvec::detail::simd::advise_huge_pages(v.data() + 1, v.size() - 1);
  imgvec::detail::simd::advise_huge_pages(v.data(), 100);
  imgvec::detail::simd::advise_huge_pages(nullptr, 0);
  v[v.size() - 1] = 7;
  CHECK(v.back() == 7);
}

// The only translation unit that includes hnswlib: Debian's hnswlib 0.6.2 defines non-inline
// functions in its headers, so a second includer would break linking. That is also why this file
// is long: everything that touches hnswlib's graph (insertion, search, filtered walks, float16 and
// quantized storage, saving, loading and checking a graph) has to live here.
// hnswlib 0.6.2 prefetches one link past the end of each list while inserting, reading up to 4 bytes
// beyond a 1-byte-padded allocation (found by ASan). Turning off its manual vectorization removes
// those reads; imgvec supplies all distances itself, so nothing else changes.
//
// hnswlib is compiled privately: the standard headers it uses are included first (so their
// include guards keep them out of what follows), then hnswlib itself inside an anonymous namespace
// with its namespace renamed. Its template instantiations and its non-inline functions get
// internal linkage under a name no program uses, so an application that also uses hnswlib (at
// another version, or with other SIMD flags) cannot get imgvec's definitions or give imgvec its
// own. CMake checks at configure time that the header is the one this file was written against
// (cmake/CheckHnswlib.cmake), since the code below reads hnswlib's internals.
#define NO_MANUAL_VECTORIZATION
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <deque>
#include <fstream>
#include <iostream>
#include <list>
#include <mutex>
#include <numeric>
#include <queue>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#define hnswlib imgvec_private_hnsw
namespace {
#include <hnswlib/hnswlib.h>
}  // namespace

#include "imgvec/index/hnsw_index.hpp"
#include "imgvec/detail/rw_lock.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <queue>
#include <string>

#include "imgvec/error.hpp"
#include "index/bit_set.hpp"
#include "index/hits.hpp"
#include "index/index_io.hpp"
#include "io/mapped_file.hpp"
#include "index/quantizer.hpp"
#include "index/sq4_codec.hpp"
#include "index/sq8_codec.hpp"
#include "parallel/parallel.hpp"
#include "index/topk.hpp"
#include "simd/aligned_vector.hpp"
#include "simd/kernels.hpp"

namespace imgvec {
namespace {

using Graph = hnswlib::HierarchicalNSW<float>;
using hnswlib::tableint;
using detail::Quantizer;
using detail::Sq4Codec;
using detail::Sq8Codec;
using detail::TopK;

constexpr std::size_t kMaxM = 2048;  // hnswlib keeps list sizes in 16 bits; 2 * M must fit
constexpr int kMaxLevel = 64;        // levels are ~log_M(n); more means a damaged file
// A predicate filter's selectivity is estimated from a sample of nodes, taken until it holds
// kSampleHits matches (or kMaxPredicateSamples nodes): with 64 matches the estimate's relative
// error is about 1/8, so its lower bound (two standard errors) decides whether the two-hop walk is
// safe. A fixed sample of 256 nodes held ~8 matches at 3%: it could read 3% as 4-5% and send the
// search down the two-hop walk, whose recall then fell to 0.84-0.89 (5 of 24 subsets at 2.5-3.5%
// in test_hnsw_index.cpp; bench search_filtered, predicate at 3%: 0.834 on one build of the
// graph). The price: such a predicate is scanned even where the walk would have been lucky
// (100k x 512, one subset at 3%: 1.3 ms against 0.83 ms). When the two bounds straddle
// two_hop_from at 64 matches, the sample goes on to kMaxPredicateSamples and is judged once more:
// stopped at 64, a 5% predicate's lower bound falls below 3.5% whenever the 64 matches took over
// 1371 nodes, which (negative binomial, mean 1280, s.d. 156) happens about 28% of the time, and
// the search went to the scan (seen in the report of 2026-12-04: 1.43 ms, 8x unfiltered, at 100k).
// At most 4096 predicate calls, ~15 us.
constexpr std::size_t kSampleHits = 64;
constexpr std::size_t kMinPredicateSamples = 256;
constexpr std::size_t kMaxPredicateSamples = 4096;
// How many matching codes ahead an exact scan of sq8 or sq4 fetches them, and how many candidates
// ahead the re-rank fetches their float16 copies. Chosen when every scan read records (100k x 512,
// float32, allow lists at 3%, Intel Xeon, one thread, 300 queries): 405 us per search with no
// prefetch and the allow list's order, 388 in node order, 366 / 357 / 367 fetching 1 / 2 / 4
// records ahead, 380 with 2 ahead into L2 only; skipping the tombstone read where there are none
// then 357 -> 356 (the lookups alone 109 -> 94 us). sq4's code scan 6 ahead measured no better
// (1M and 100k x 512, allow lists at 0.5-5%, AMD EPYC Zen 3: 0.72-1.14x the time, both ways).
constexpr std::size_t kScanAhead = 2;
// A float32 or float16 exact scan reads each match's whole record from a random place, and at 1M
// that is a read from DRAM: it fetches kRecordScanAhead records ahead, the first
// kScanPrefetchBytes of each. 1M x 512, float32, allow lists, one saved graph, ef 128, one thread
// (AMD EPYC Zen 3, 300 queries, medians of 7 rounds alternating in one process): 2 ahead and 512
// bytes -> 6 and 1024, 0.5% 699 -> 564 us, 1% 2449 -> 2240, 1.5% 3917 -> 3595 (about 240 ns per
// match, the rate at which this machine reads 2 kB records from random places in a 2 GB array:
// 250-270 ns with any prefetch depth from 4 to 16); 100k x 512 at 1 / 2 / 3% 80 / 174 / 275 ->
// 80 / 170 / 255 us. (Before, on AMD EPYC Zen 4 at 1M: the first 512 bytes against the whole
// record, 1% 2.6-3.3 -> 2.5-3.0 ms; 256 bytes as 512.)
constexpr std::size_t kRecordScanAhead = 6;
constexpr std::size_t kScanPrefetchBytes = 1024;
// How much of each neighbour's record a walk prefetches before scoring (see search_base_layer):
// all of a 512-d sq8 record's codes; for float32, more than 256-512 bytes measured no faster.
constexpr std::size_t kPrefetchBytes = 576;
// The exact-scan-or-walk decision (do_search) compares costs in units of one distance of the walk's
// estimate (an unfiltered walk is about ef x maxM0 / 2 of them). Measured at 100k x 512, float32,
// one thread, against an unfiltered search in the same run: a predicate call on the id costs
// ~0.022 units (100k calls 2.1-2.3x an unfiltered search on AMD EPYC Zen 4 and on Intel Xeon); a
// match of an allow list, looked up in the label map and its vector fetched from a random place,
// 0.55-0.8 units on the Zen 4 and ~1.15 on the Xeon (bench search_filtered at 1-5%).
// With sq8 and sq4 a unit is a code distance, about a third of a float32 one, while a walk's link
// reads and filter tests cost what they did, and an exact scan first reads each match's codes (see
// exact_scan): at 100k x 512, sq4, allow lists (AMD EPYC Zen 4, 300 queries, medians of 5 runs
// interleaved with the unfiltered search, 54-58 us on clustered data, 79-90 on clip-like) a match
// cost 0.7 units and the two-hop walk 3.7-5.4 unfiltered walks at 5-10% (float32: 2.0-2.9): 2x
// float32's estimate puts the switch from scan to walk at 7-8% of allow lists, where the scan took
// 246-248 us and the walk 220 (clustered) and 372 (clip-like).
// An allow list's ids found in the table of dense ids (Impl::refresh_id_table) instead of the hash
// map cost less: per match, at 1-3% of 100k x 512 and 0.5-1% of 1M (AMD EPYC Zen 4, medians of
// 15 interleaved rounds), float32 0.65-0.87 and sq4 0.51-0.77 of the time. For float32 that moves
// the switch to the walk at 100k from 3% to 4% (dense_allow_match 0.7; 100k x 512, one thread,
// 20 interleaved rounds: 4% 403 -> 374 us, recall 0.996 -> 1.000; 5-6% unchanged). sq4 keeps its
// switch: scaled down alike (0.35) its scans at 100k took 252 and 296 us at 10% and 13% against
// the walk's 217 and 204, while at 1M the scan would have been the better plan at 2%; one
// constant cannot serve both, and the walk at 100k is the case measured in the suite.
struct PlanCosts {
  double predicate_call;     // per node, in a predicate's exact scan
  double match;              // per matching node, in an exact scan
  double allow_match;        // the same for an allow list, whose ids are looked up in the hash map
  double dense_allow_match;  // ... or in the table of dense ids
  double walk_factor;        // filtered walks against the float32 estimates below
};
constexpr PlanCosts kVectorPlanCosts{0.025, 1.0, 1.0, 0.7, 1.0};
constexpr PlanCosts kCodePlanCosts{0.05, 0.7, 0.7, 0.7, 2.0};
// The two-hop filtered walk (search_base_layer) costs about kTwoHopWalkCost unfiltered walks plus
// kSeedExpansionCost for each of its whole-neighbourhood expansions (seed_expansions): at 100k x
// 512, float32, ef 64, allow lists, one thread (AMD EPYC Zen 4, 300 queries, medians of 5 runs
// interleaved with the unfiltered search), 2.0-2.5x with 4-8 of them, 3.0-3.6x with 14, on both
// the clustered and the clip-like data.
//
// Where it pays: at 100k x 512, float32, ef 64, allow lists (one thread, AMD EPYC Zen 5; unfiltered
// 195 us) the walk without seeds took 242 us at 5% against 1861 us for the plain filtered walk,
// 377 / 1163 us at 10%, 512 / 718 at 20%, 663 / 609 at 30% when each expansion looked through
// every non-matching neighbour; bounded as look_through is now (maxM0 candidates per expansion),
// 10% 176 -> 151 us, 20% 220 -> 165, 30% 261 (the plain walk) -> 198, 40% 208 -> 189, 50% 172 ->
// 176, recall@10 0.989-0.994 against 0.991-0.998; 60%, still the plain walk, 148. Above
// kTwoHopBelow the plain walk is used.
constexpr double kTwoHopBelow = 0.5;
constexpr double kTwoHopWalkCost = 1.9;
constexpr double kSeedExpansionCost = 0.1;

// The lowest selectivity at which the two-hop walk keeps recall@10 >= 0.95 depends on how many of a
// node's base-layer neighbours match (selectivity x maxM0). Without seed expansions it was 5% at M
// 16 (maxM0 32) and 3% at M 32 (Intel Xeon, 100k x 512, clustered data, 1000 queries: recall 0.905 /
// 0.927 / 0.957 / 0.964 at 3.5 / 4 / 4.5 / 5% for M 16; 0.907 / 0.941 / 0.957 / 0.972 at 2 / 2.5 /
// 3 / 3.5% for M 32): the line 0.642 x maxM0^-0.737. The seeds (seed_expansions) move it down:
// at M 16, 3% clustered 0.954-0.968 -> 0.989, clip-like 0.900 -> 0.955; at M 32, 2% clustered
// 0.985 -> 0.989, clip-like 0.936 -> 0.972 (AMD EPYC Zen 4, ef 64, allow lists, 300 queries). The
// line is scaled by 0.6 (3% at M 16, 1.8% at M 32), which leaves a margin below it: with its
// seeds the walk kept recall@10 0.970 (clustered) and 0.958 (clip-like) at 2% with M 16. A
// predicate's sampled selectivity must clear it by two standard errors (a 4% predicate, sampled
// from 4096 nodes, reads about 3.4%). Other M are extrapolated, within [1%, kTwoHopBelow).
double two_hop_from(const Graph& g) {
  const double from = 0.385 * std::pow(static_cast<double>(std::max<std::size_t>(g.maxM0_, 1)), -0.737);
  return std::clamp(from, 0.01, kTwoHopBelow);
}

// In a large index an exact scan below two_hop_from costs many unfiltered walks (each match's record
// is a read from DRAM: 1M x 512, float32, allow lists at 2-3%: 8-13 ms against an unfiltered
// 0.3 ms at ef 64), while the two-hop walk costs what it costs at 100k. There the walk is allowed
// down to kLargeTwoHopShare of two_hop_from (2% at M 16), trading recall@10 near two_hop_from's
// margin for a search a fifth as long: at 1M x 512, float32, clustered data, ef 64, allow lists,
// one thread (AMD EPYC Zen 4, 300 queries, medians of 5 interleaved rounds) 2% 8.6-9.9 ms ->
// 1.9 ms with recall@10 0.889 (the unfiltered search's 0.831), 2.5% 8.5 -> 1.4 ms (0.870),
// 3% 12-13 -> 1.5 ms (0.883); at ef 128 2% 10.3 -> 2.4 ms (0.918; unfiltered 0.928). At 1.5% the
// walk took as long as the scan (7.0 ms), so the floor stays above it; at 100k the walk at 2%
// kept recall 0.970 (clustered) and 0.958 (clip-like) but took 774 us against the scan's 223.
// "Large" means that reading the matches at that lower floor would cost over kScanCeiling
// unfiltered walks (the latency goal of issue 22): from about 150k vectors with M 16 and ef 64
// (float32), 440k with sq8 and sq4; a predicate's calls on every id are left out of it, as they
// cost a sequential pass over the labels, not reads from DRAM.
constexpr double kLargeTwoHopShare = 2.0 / 3.0;
constexpr double kScanCeiling = 3.0;

// Where a two-hop walk's first neighbours (those its seed expansions score, then the first hop
// of its look-throughs) hold under kStarvedBelow of the matches the filter's share predicts, the
// filter avoids the query's region (a term anti-correlated with the query: the farthest 20% of ids
// AND a random 10%). Its best matches then lie on the edge of a far band, scattered over many
// clusters, and a walk that moves only through matches strands among the few it reaches: at 1M x
// 512, float32, ef 64, such allow lists at 2% kept recall@10 0.80 (bench filtered AND,
// anti-correlated). The search takes the cheaper of the exact scan and the plain walk instead.
// Judged once kStarvedMinExpected matches are expected (the seeds alone score about kSeedReach /
// maxM0 of them at ef 64, 12.5 at M 16): with a random filter, 1 match or none of 12 expected
// has a chance of 8e-5 (Poisson).
constexpr double kStarvedBelow = 1.0 / 8.0;
constexpr double kStarvedMinExpected = 12.0;

// An allow list's two-hop walk tests the filter for every neighbour of every non-matching
// neighbour it looks through: each test read the node's id (4 bytes per node, 4 MB at 1M, from a
// random place) and then the list's bitmap by id. Below kNodeBitmapBelow the search first marks the
// matching nodes in a bitmap by node (where ids are dense: one read of the table of dense ids per
// match, in id order), and the walk tests one bit. 1M x 512, ef 128, one thread (AMD EPYC Zen 3,
// 300 queries, medians of 7 rounds alternating in one process): float32 at 2 / 5 / 10% 1434 / 1152
// / 1196 -> 959 / 922 / 1071 us, sq4 at 3 / 5 / 10% 1053 / 842 / 747 -> 721 / 674 / 718 us; at 20%
// marking 200k matches cost more than it saved (float32 1078 -> 1318 us, sq4 630 -> 912). 100k x
// 512, ef 64 (11 rounds): float32 at 5 / 10% 307 / 283 -> 254 / 254 us, sq4 at 10% 206 -> 181; at
// 20% 1.02x and 1.06x the time.
constexpr double kNodeBitmapBelow = 0.1;

// How many of the two-hop walk's first expansions score a node's whole neighbourhood, matching or
// not, before it starts looking through non-matching neighbours (search_base_layer). Each such
// expansion puts up to maxM0 nodes of the query's neighbourhood in the frontier as routes, each of
// which later gives the matching nodes two hops from it; one of them (the entry point) was enough
// where a look-through reaches many matches, not where it reaches few: the count is
// kSeedReach / (selectivity x maxM0^2), the matching nodes within two hops of one node, at
// least 1 and at most the beam width. Measured at 100k x 512, float32, ef 64, allow lists (AMD
// EPYC Zen 4, 300 queries, one graph each), recall@10 with kSeedReach 200 / 300 / 400 (1 seed
// expansion before): M 16 clip-like data 3% 0.933 / 0.942 / 0.955 (0.900), 5% 0.945 / 0.952 /
// 0.960 (0.932), 10% 0.957 / 0.963 / 0.964 (0.956); clustered 3% 0.988 / 0.989 / 0.989 (0.968);
// M 32 clip-like 2% 0.954 at 200, 0.972 at 400 (0.936). Counting seeds by the matches of one
// neighbour list (selectivity x maxM0) instead gave M 32 four times the seeds it needed: 4-5x an
// unfiltered search at 2% for recall 0.989 against 0.985 with one.
constexpr double kSeedReach = 400;
std::size_t seed_expansions(const Graph& g, double selectivity, std::size_t width) {
  const double m = static_cast<double>(g.maxM0_);
  const double seeds = std::ceil(kSeedReach / (std::max(selectivity, 1e-9) * m * m));
  return static_cast<std::size_t>(std::clamp(seeds, 1.0, static_cast<double>(std::max<std::size_t>(width, 1))));
}

// The bytes of one record's vector data in hnswlib's graph, for each storage.
std::size_t record_data_bytes(VectorStorage storage, std::size_t dim) {
  switch (storage) {
    case VectorStorage::float16: return dim * sizeof(std::uint16_t);
    case VectorStorage::sq8: return Sq8Codec::record_bytes(dim);
    case VectorStorage::sq4: return Sq4Codec::record_bytes(dim);
    case VectorStorage::float32: break;
  }
  return dim * sizeof(float);
}

// Starts fetching the first `bytes` of a record, a cache line at a time.
inline void prefetch_record(const char* record, std::size_t bytes) {
  for (std::size_t off = 0; off < bytes; off += 64) __builtin_prefetch(record + off);
}

// hnsw_ip4's signature: one vector against four records, four distances out.
using FourDistances = void (*)(const void* a, const void* const* b, const void* param, float* out);

// hnswlib's metric plug-in, backed by imgvec's kernels instead of hnswlib's compile-time SIMD:
// the distance is chosen for the CPU at run time, so a portable build is as fast as -march=native.
// hnswlib compares stored vectors with each other (both in the storage type); imgvec's own search
// code compares a query with stored vectors through query_distance() (for sq8 and sq4 a prepared
// query, see Quantizer::prepare) and re-scores their candidates exactly through exact_distance().
class KernelSpace final : public hnswlib::SpaceInterface<float> {
 public:
  KernelSpace(std::size_t dim, Metric metric, VectorStorage storage) : dim_(dim), storage_(storage) {
    const auto& k = detail::simd::active();
    const bool l2 = metric == Metric::l2;
    exact_half_ = l2 ? k.hnsw_l2_f32_f16 : k.hnsw_ip_f32_f16;
    switch (storage) {
      case VectorStorage::float32:
        stored_ = query_ = l2 ? k.hnsw_l2 : k.hnsw_ip;
        stored_four_ = l2 ? k.hnsw_l2_4 : k.hnsw_ip4;
        half_one_ = l2 ? k.hnsw_l2_f16 : k.hnsw_ip_f16;
        half_four_ = l2 ? k.hnsw_l2_4_f16 : k.hnsw_ip4_f16;
        break;
      case VectorStorage::float16:
        stored_ = l2 ? k.hnsw_l2_f16 : k.hnsw_ip_f16;
        query_ = exact_half_;
        stored_four_ = l2 ? k.hnsw_l2_4_f16 : k.hnsw_ip4_f16;
        break;
      case VectorStorage::sq8:
        stored_ = l2 ? k.hnsw_l2_sq8 : k.hnsw_ip_sq8;
        query_ = l2 ? k.hnsw_l2_query_sq8 : k.hnsw_ip_query_sq8;
        half_one_ = l2 ? k.hnsw_l2_f16 : k.hnsw_ip_f16;
        half_four_ = l2 ? k.hnsw_l2_4_f16 : k.hnsw_ip4_f16;
        record_half_offset_ = Sq8Codec::half_offset(dim);
        break;
      case VectorStorage::sq4:
        // The graph is built on the float16 copies at the start of each record (the space's
        // first member is the dimension, which is all the float16 kernels read).
        stored_ = l2 ? k.hnsw_l2_f16 : k.hnsw_ip_f16;
        stored_four_ = l2 ? k.hnsw_l2_4_f16 : k.hnsw_ip4_f16;
        query_ = l2 ? k.hnsw_l2_query_sq4 : k.hnsw_ip_query_sq4;
        break;
    }
    codec_ = detail::make_quantizer(storage, dim, l2);
  }
  std::size_t get_data_size() override { return record_data_bytes(storage_, dim_); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return stored_; }
  void* get_dist_func_param() override {
    return codec_ ? const_cast<void*>(codec_->space()) : static_cast<void*>(&dim_);
  }

  VectorStorage storage() const { return storage_; }
  /// The quantizer of sq8 and sq4 storage, else null.
  Quantizer* codec() const { return codec_.get(); }
  hnswlib::DISTFUNC<float> query_distance() const { return query_; }
  /// Four of stored_'s distances per call, for graph construction; null for sq8, whose inserts
  /// compare the float16 copies in its records instead (graph_records). (Queries keep single calls:
  /// four at once measured no faster there.)
  FourDistances stored_four() const { return stored_four_; }
  /// float32 and sq8 storage: the kernels that compare float16 copies of the records, which
  /// inserts compare (float32's in InsertCopies, sq8's inside each record); else null.
  hnswlib::DISTFUNC<float> half_one() const { return half_one_; }
  FourDistances half_four() const { return half_four_; }
  /// sq8: where in each record the float16 copy starts; else 0.
  std::size_t record_half_offset() const { return record_half_offset_; }
  std::size_t dim() const { return dim_; }
  /// The exact distance of a float query to a quantized record (its float16 copy).
  float exact_distance(const float* query, const char* record) const {
    return exact_half_(query, codec_->half(record), &dim_);
  }

 private:
  std::size_t dim_;  // hnswlib reads the parameter as a size_t dimension (getDataByLabel)
  VectorStorage storage_;
  std::unique_ptr<Quantizer> codec_;
  hnswlib::DISTFUNC<float> stored_;
  hnswlib::DISTFUNC<float> query_;
  hnswlib::DISTFUNC<float> exact_half_;
  FourDistances stored_four_ = nullptr;
  hnswlib::DISTFUNC<float> half_one_ = nullptr;
  FourDistances half_four_ = nullptr;
  std::size_t record_half_offset_ = 0;
};

void check_params(const HnswParams& p) {
  auto bad = [](const std::string& what) {
    throw Error(ErrorCode::invalid_argument, "HnswParams: " + what);
  };
  if (p.M < 2 || p.M > kMaxM) bad("M = " + std::to_string(p.M) + " is outside [2, 2048]");
  if (p.ef_construction < 1) bad("ef_construction must be at least 1");
  if (p.ef_search < 1) bad("ef_search must be at least 1");
}

bool is_deleted(const Graph& g, tableint i) { return g.isMarkedDeleted(i); }
// The same mark, read from a record before a graph holds it.
bool is_deleted_record(const char* record) {
  return (static_cast<unsigned char>(record[2]) & Graph::DELETE_MARK) != 0;
}

// 2 MB pages under a graph's base layer: a walk touches records all over the layer; with 4 kB pages
// nearly every visited node also misses the TLB. Measured at 100k x 512, ef 32, one thread (AMD
// EPYC, medians of interleaved runs): float32 6.1k -> 7.1k QPS, sq8 12.3k -> 13.9k.
void advise_huge_pages(const Graph& g) {
  detail::simd::advise_huge_pages(g.data_level0_memory_, g.max_elements_ * g.size_data_per_element_);
}

// The graph's records as a quantizer sees them: the vector data of node i at base + i * stride.
detail::RecordSpan records_of(const Graph& g) {
  return {g.data_level0_memory_ + g.offsetData_, g.size_data_per_element_, g.cur_element_count};
}

// Writes the quantizer's rows (Quantizer::row_bytes each, node i's at rows + i * row_bytes) of
// nodes [from, to) from their records, on `threads` threads.
void encode_rows_of(const Graph& g, const Quantizer& codec, std::uint8_t* rows, std::size_t from, std::size_t to,
                    std::size_t threads) {
  const std::size_t bytes = codec.row_bytes();
  if (from >= to) return;
  detail::parallel_for(to - from, threads, 1024, [&](std::size_t b, std::size_t e, std::size_t) {
    for (std::size_t i = from + b; i < from + e; ++i) {
      codec.encode_row(g.getDataByInternalId(static_cast<tableint>(i)), rows + i * bytes);
    }
  });
}

// Replaces the vector of an existing node. hnswlib's updatePoint copies each of the node's link
// and its neighbours' link lists with memcpy, which for an empty list passes a null destination
// (undefined behaviour, fatal under UBSan: found by fuzzing a loaded graph, and by updating a lone
// node). Where one of those lists is empty the node gets the update without that refresh of its
// neighbours: its vector is replaced and its own links rebuilt by a search from the entry point.
// Everything else takes hnswlib's own path.
void update_node(Graph& g, tableint node, const void* vector) {
  bool empty_list = false;
  for (int level = 0; level <= g.element_levels_[node] && !empty_list; ++level) {
    const unsigned* list = g.get_linklist_at_level(node, level);
    const int size = g.getListCount(const_cast<unsigned*>(list));
    empty_list = size == 0;
    const auto* nb = reinterpret_cast<const tableint*>(list + 1);
    for (int j = 0; j < size && !empty_list; ++j) {
      empty_list = g.getListCount(g.get_linklist_at_level(nb[j], level)) == 0;
    }
  }
  if (!empty_list) {
    g.addPoint(vector, g.getExternalLabel(node));
    return;
  }
  std::memcpy(g.getDataByInternalId(node), vector, g.data_size_);
  if (g.isMarkedDeleted(node)) g.unmarkDeletedInternal(node);
  if (g.cur_element_count > 1) {
    g.repairConnectionsForUpdate(vector, g.enterpoint_node_, node, g.element_levels_[node], g.maxlevel_);
  }
}

// A query and the kernel that compares it with stored vectors, whatever their type: the float
// query itself, or for sq8 and sq4 its prepared form (Quantizer::prepare).
// The kernel reads node i's vector data at base + i * stride: the graph's records, or for sq4 the
// rows of codes beside the graph.
struct Query {
  const void* v;
  hnswlib::DISTFUNC<float> dist;
  const char* base;
  std::size_t stride;
  const void* param;
};

float distance(const Graph&, const Query& q, tableint i) { return q.dist(q.v, q.base + i * q.stride, q.param); }

// Returns hnswlib's visited list to its pool even if a filter predicate throws.
class VisitedGuard {
 public:
  explicit VisitedGuard(const Graph& g) : pool_(g.visited_list_pool_), list_(pool_->getFreeVisitedList()) {}
  ~VisitedGuard() { pool_->releaseVisitedList(list_); }
  VisitedGuard(const VisitedGuard&) = delete;
  VisitedGuard& operator=(const VisitedGuard&) = delete;
  hnswlib::VisitedList* operator->() const { return list_; }

 private:
  hnswlib::VisitedListPool* pool_;
  hnswlib::VisitedList* list_;
};

// The nodes a search has visited, one bit per node, in a table each thread keeps and clears at the
// start of each search (the graph does not change while a search runs: writers hold the index's
// lock exclusively). hnswlib's visited lists take two bytes per node, 2 MB at 1M nodes, so each
// test missed L2; the bits are 125 kB. At 1M x 512, ef 128, allow lists, one saved graph, one
// thread (AMD EPYC Zen 3, 300 queries, medians of 7 rounds alternating in one process), the two-hop
// walk, which tests every neighbour of every non-matching neighbour: float32 at 5 / 10 / 20%
// 1662 / 1414 / 1358 -> 1386 / 1300 / 1252 us, sq4 1509 / 1256 / 1027 -> 1379 / 1095 / 966 us;
// unfiltered float32 447 -> 440, sq4 194 -> 175. At 100k x 512 (ef 64, 11 rounds) walks at 5-20%
// 0.88-0.99x the time, unfiltered 1.03x (168 -> 174 us and 79 -> 81, within the rounds' spread).
// Clearing writes n / 8 bytes per search (125 kB at 1M), included in the figures above.
class VisitedBits {
 public:
  explicit VisitedBits(std::size_t nodes) {
    Table& t = table();
    // A filter's predicate may itself search (this index or another) on this thread: that search
    // gets a table of its own.
    if (!t.in_use) {
      t.in_use = true;
      words_ = &t.words;
    } else {
      words_ = &own_;
    }
    words_->assign((nodes + 63) / 64, 0);
    bits_ = words_->data();
  }
  ~VisitedBits() {
    if (words_ != &own_) table().in_use = false;
  }
  VisitedBits(const VisitedBits&) = delete;
  VisitedBits& operator=(const VisitedBits&) = delete;

  bool test(tableint i) const { return (bits_[i >> 6] >> (i & 63)) & 1u; }
  void set(tableint i) { bits_[i >> 6] |= std::uint64_t{1} << (i & 63); }
  void clear(tableint i) { bits_[i >> 6] &= ~(std::uint64_t{1} << (i & 63)); }

 private:
  struct Table {
    std::vector<std::uint64_t> words;
    bool in_use = false;
  };
  static Table& table() {
    thread_local Table t;
    return t;
  }
  std::vector<std::uint64_t> own_;
  std::vector<std::uint64_t>* words_ = nullptr;
  std::uint64_t* bits_ = nullptr;
};

// Greedy descent through the upper layers to the base layer's entry point.
tableint descend(const Graph& g, const Query& q) {
  tableint cur = g.enterpoint_node_;
  float cur_d = distance(g, q, cur);
  for (int level = g.maxlevel_; level > 0; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      const unsigned* list = g.get_linklist(cur, level);
      const int size = g.getListCount(const_cast<unsigned*>(list));
      const tableint* nb = reinterpret_cast<const tableint*>(list + 1);
      for (int i = 0; i < size; ++i) {
        const float d = distance(g, q, nb[i]);
        if (d < cur_d) {
          cur_d = d;
          cur = nb[i];
          changed = true;
        }
      }
    }
  }
  return cur;
}

using DistId = std::pair<float, tableint>;
constexpr std::size_t kNeverLookThrough = std::numeric_limits<std::size_t>::max();

// A mapped graph's base-layer lists are checked as a walk reads them (Impl::own checks them all
// before anything changes the graph): a list longer than maxM0 or a link past the last node is
// damage, which do_search reports as Error(corrupt_file) naming the file. For a loaded graph the
// checks never fail; they cost one compare per link, within the noise of bench search/hnsw at
// 100k x 512, ef 64, one thread (AMD EPYC Zen 4, medians of 4 interleaved runs, each +-25%):
// float32 194 -> 207 us, sq8 130 -> 120 us.
struct DamagedList {
  tableint node;
};
inline const tableint* base_layer_links(const Graph& g, tableint node, std::size_t& size) {
  const unsigned* list = g.get_linklist0(node);
  size = g.getListCount(const_cast<unsigned*>(list));
  if (size > g.maxM0_) throw DamagedList{node};
  return reinterpret_cast<const tableint*>(list + 1);
}
inline tableint checked_link(const Graph& g, tableint from, tableint to) {
  if (to >= g.cur_element_count) throw DamagedList{from};
  return to;
}
struct Farther {
  bool operator()(const DistId& a, const DistId& b) const { return a.first < b.first; }
};
struct Closer {
  bool operator()(const DistId& a, const DistId& b) const { return a.first > b.first; }
};

// hnswlib's base-layer beam search, with two changes: the beam width comes per query (hnswlib
// keeps it in a shared member), and nodes that fail `accept` (tombstones, filtered-out ids) still
// route the search but never enter the results. Once the results hold ef accepted nodes, the
// search stops at the first candidate farther than the worst of them, as hnswlib's does.
//
// Each expansion first collects the node's unvisited neighbours and prefetches the bytes of their
// records the kernel will read (up to kPrefetchBytes), then scores them: the misses then overlap
// instead of being taken one neighbour at a time. Measured at 100k x 512 (one thread, AMD EPYC,
// ef 32, medians of 7 interleaved rounds): sq8 8.2k QPS without prefetch, 11.1k with the old
// one-line-ahead prefetch, 13.9k with 256 bytes of each neighbour up front; float32 5.2k, 5.9k, 6.0k.
// The list of the node to expand next was then the walk's costliest miss (a third of its own time
// in perf, sq4 at ef 32): each expansion now starts fetching the list of the frontier's best
// before scoring, which is the next node expanded unless this one's neighbours bring a better
// one. sq4 at 100k x 512 clip-like, one thread (AMD EPYC Zen 4, medians of 5 interleaved runs):
// ef 32 77.6 -> 68.3 us, ef 48 107 -> 86 us. (Fetching the list of every node that enters the
// frontier instead measured no better: most are never expanded.)
//
// After `look_through_after` expansions (a selective filter; kNeverLookThrough for the plain
// walk), a neighbour that fails `accept` is not scored; the walk looks through it at its own
// neighbours instead and scores those that pass (ACORN-1's expansion, Patel et al., SIGMOD 2024):
// the frontier then holds matching nodes only, so the walk no longer expands about ef /
// selectivity nodes, each scoring mostly non-matching neighbours. The first expansions, from the
// entry point on, score all their neighbours as the plain walk does (seed_expansions says how
// many): the frontier then starts with the query's whole neighbourhood, matching or not, and the
// walk looks through each of those nodes in turn instead of leaving the query's region by the few
// matching nodes two hops from the entry point. One such expansion, measured at 100k x 512,
// float32, ef 64, allow lists, one thread (AMD EPYC Zen 5, one saved graph, medians of 3
// interleaved rounds), recall@10 without -> with: clustered data 0.836 -> 0.925 at 3%, 0.923 ->
// 0.964 at 4%, 0.963 -> 0.980 at 5%; clip-like data 0.868 -> 0.888 at 3%, 0.924 -> 0.930 at 5%;
// for 20-50 us more per search. More of them where few matches lie two hops away: see
// seed_expansions.
//
// A two-hop walk given the filter's share of live nodes (`share`, 0 for none) gives up and returns
// nothing where its first neighbours hold almost none of the matches that share predicts (see
// kStarvedBelow): the best matches lie elsewhere, out of the walk's reach from here.
template <typename Accept>
std::optional<std::vector<DistId>> search_base_layer(const Graph& g, const Query& q, tableint ep, std::size_t ef,
                                                     std::size_t prefetch_bytes, std::size_t look_through_after,
                                                     double share, Accept&& accept) {
  const bool two_hop = look_through_after != kNeverLookThrough;
  std::size_t expansions = 0;  // so far, to compare with look_through_after
  // Until the filter's share predicts kStarvedMinExpected matches among them: the neighbours the
  // walk has scored or tested (the seeds' and, after them, the first hop of each look-through),
  // and how many matched.
  bool judging = two_hop && share > 0.0;
  std::size_t probed = 0, probed_matches = 0;
  VisitedBits visited(g.cur_element_count);

  std::priority_queue<DistId, std::vector<DistId>, Farther> results;  // worst on top
  std::priority_queue<DistId, std::vector<DistId>, Closer> frontier;  // nearest on top
  float bound = std::numeric_limits<float>::max();
  const float d0 = distance(g, q, ep);
  if (accept(ep)) {
    results.emplace(d0, ep);
    bound = d0;
  }
  frontier.emplace(d0, ep);
  visited.set(ep);

  const char* base = q.base;
  const std::size_t stride = q.stride;
  std::vector<tableint> fresh(std::max(g.maxM0_, g.M_));  // see look_through's cap
  std::vector<tableint> hops(two_hop ? g.maxM0_ : 0);  // non-matching neighbours to look through
  std::size_t count = 0;
  auto take = [&](tableint c) {
    fresh[count++] = c;
    prefetch_record(base + c * stride, prefetch_bytes);
  };
  // The whole of a node's base-layer link list, from the line it starts in.
  auto prefetch_links = [&](tableint c) {
    const auto start = reinterpret_cast<std::uintptr_t>(g.get_linklist0(c));
    for (std::uintptr_t p = start & ~std::uintptr_t{63}; p < start + g.size_links_level0_; p += 64) {
      __builtin_prefetch(reinterpret_cast<const void*>(p));
    }
  };
  // The two-hop expansion of one node's neighbours: those that pass are taken; the others are
  // looked through, once every such neighbour's list is on its way (read one at a time, each list
  // was a cache miss the walk waited for), until the node has given maxM0 candidates, as many as
  // the plain walk scores per expansion. ACORN-1 truncates to M; on clustered data that was
  // faster at 20-40% (100k x 512, float32: 285 -> 176 us at 30% against no cap, recall@10 0.997
  // -> 0.991), but on clip-like data (power-law clusters of low local dimension) it lost recall
  // the plain walk keeps: at 10% / 20% / 30% 0.903 / 0.887 / 0.950 with M, 0.956 / 0.949 / 0.952
  // with maxM0, 0.965 / 0.975 / 0.977 with 2 x maxM0 (AMD EPYC Zen 5, ef 64, one saved graph; the
  // plain walk at 60%: 0.988 at ef 128). The cost of maxM0 on clustered data: 10% 164 -> 173 us,
  // 20% 202 -> 256, 40% 259 -> 376 (unfiltered 155). Neighbours left unread are unmarked, so
  // that another expansion may look through them. With the filter tested before the tombstone (accept),
  // allow lists at 100k x 512 went from 253 to 127 us at 5%, 264 to 201 at 10%, 313 to 268 at 20%
  // (medians of 6 alternating runs on one saved graph). Kept out of the plain walk's loop, which
  // ran 7-9% slower on sq8 with it inline.
  auto look_through = [&](tableint node, const tableint* nb, std::size_t size) __attribute__((noinline)) {
    std::size_t hop_count = 0;
    for (std::size_t j = 0; j < size; ++j) {
      const tableint c = checked_link(g, node, nb[j]);
      if (visited.test(c)) continue;
      visited.set(c);
      const bool passes = accept(c);
      if (judging) {
        ++probed;
        probed_matches += passes ? 1 : 0;
      }
      if (passes) {
        take(c);
        continue;
      }
      hops[hop_count++] = c;
      prefetch_links(c);
    }
    std::size_t h = 0;
    for (; h < hop_count && count < g.maxM0_; ++h) {
      std::size_t next_size;
      const tableint* nb2 = base_layer_links(g, hops[h], next_size);
      for (std::size_t k = 0; k < next_size && count < g.maxM0_; ++k) {
        const tableint c2 = checked_link(g, hops[h], nb2[k]);
        if (visited.test(c2) || !accept(c2)) continue;
        visited.set(c2);
        take(c2);
      }
    }
    for (; h < hop_count; ++h) visited.clear(hops[h]);  // not looked through: a later expansion may
  };
  while (!frontier.empty()) {
    const DistId current = frontier.top();
    if (current.first > bound && results.size() >= ef) break;
    frontier.pop();
    // The next node to expand is usually the frontier's best now: its list starts on its way
    // while this node's neighbours are scored (see the comment above the function).
    if (!frontier.empty()) prefetch_links(frontier.top().second);
    std::size_t size;
    const tableint* nb = base_layer_links(g, current.second, size);
    count = 0;
    if (expansions++ < look_through_after) {
      for (std::size_t j = 0; j < size; ++j) {
        const tableint c = checked_link(g, current.second, nb[j]);
        if (visited.test(c)) continue;
        visited.set(c);
        take(c);
      }
      if (judging) {
        probed += count;
        for (std::size_t j = 0; j < count; ++j) probed_matches += accept(fresh[j]) ? 1 : 0;
      }
    } else {
      look_through(current.second, nb, size);
    }
    if (judging && share * static_cast<double>(probed) >= kStarvedMinExpected) {
      if (static_cast<double>(probed_matches) < kStarvedBelow * share * static_cast<double>(probed)) return std::nullopt;
      judging = false;
    }
    for (std::size_t j = 0; j < count; ++j) {
      const tableint c = fresh[j];
      const float d = distance(g, q, c);
      if (results.size() < ef || d < bound) {
        frontier.emplace(d, c);
        if (accept(c)) {
          results.emplace(d, c);
          if (results.size() > ef) results.pop();
          bound = results.top().first;
        }
      }
    }
  }
  std::vector<DistId> out;
  out.reserve(results.size());
  while (!results.empty()) {
    out.push_back(results.top());
    results.pop();
  }
  return out;
}

// The beam search an insert runs at each of the new node's levels: hnswlib's searchBaseLayer
// (ef_construction candidates, tombstones route but are not returned), with the query walk's
// batched prefetch: each expansion copies the node's unvisited neighbours under the node's lock
// (concurrent inserts rewrite lists in place), starts fetching all their records, and only then
// scores them. hnswlib's own prefetch is compiled out (see the top of this file) and fetched one
// neighbour ahead; this search is most of an insert's time (79% in perf, 100k x 512).
using Candidates = std::priority_queue<DistId, std::vector<DistId>, Graph::CompareByFirst>;

// What an insert compares and how: node i's compared part at base + i * stride, `bytes` of it read
// by the kernels `one` and `four`. These are the graph's own records, or the float16 copies inside
// sq8's (graph_records), or float16 copies of a float32 graph's records (InsertCopies), which the
// insert then writes for its new node with `to_copy`.
struct InsertRecords {
  char* base;
  std::size_t stride;
  std::size_t bytes;
  hnswlib::DISTFUNC<float> one;
  FourDistances four;
  const void* param;
  void (*to_copy)(const float* x, std::size_t n, std::uint16_t* out) = nullptr;
  std::size_t dim = 0;
  std::size_t record_offset = 0;  // else where in a record the compared part starts (sq8's float16 copy)

  const char* of(tableint i) const { return base + static_cast<std::size_t>(i) * stride; }
  float distance(const void* a, const void* b) const { return one(a, b, param); }
};

// The graph's own records as inserts compare them: whole, with the storage's kernels, or for sq8
// the float16 copy inside each record, with the float16 kernels four at a time, instead of its code
// kernel one at a time (100k x 512, one thread, AMD EPYC Zen 3, both built in turn in one process:
// 1.15-1.29k -> 1.30-1.31k adds/s, recall@10 at ef 16 / 32 0.758 / 0.896 -> 0.764 / 0.900; with
// Sq8Codec::kMargin's fewer retrainings 1.97k, raw hnswlib 1.08k). hnswlib's own update path
// (update_node) still compares codes.
InsertRecords graph_records(const Graph& g, const KernelSpace& space) {
  char* records = g.data_level0_memory_ + g.offsetData_;
  if (const std::size_t at = space.record_half_offset()) {
    InsertRecords r{records + at, g.size_data_per_element_, space.dim() * sizeof(std::uint16_t), space.half_one(),
                    space.half_four(), g.dist_func_param_};
    r.record_offset = at;
    return r;
  }
  return {records, g.size_data_per_element_, g.data_size_, g.fstdistfunc_, space.stored_four(), g.dist_func_param_};
}

// The smallest batch, and its least share of the index (1 / kInsertCopiesShare), that inserts on
// InsertCopies: converting a node's record takes about as long as a hundredth of an insert, so a
// batch a quarter of the index pays for the copies a hundred times over, while a small batch into a
// large index gets no transient memory for them.
constexpr std::size_t kInsertCopiesMinBatch = 1024;
constexpr std::size_t kInsertCopiesShare = 4;

// float16 copies of a float32 graph's records, one row of whole cache lines per node slot, on which
// the inserts of a large add_batch (HnswIndex::do_reserve to do_end_batch) and of compact() search
// and choose neighbours, reading half the bytes per distance; the records themselves stay float32,
// and queries never read the copies. The graph is then the one a float16 index builds, which is
// why float16 and sq4 built faster than float32. 100k x 512, one thread (AMD EPYC Zen 3, AVX2, L2
// 512 KiB per core, L3 32 MiB; both variants built in turn in one process, two rounds): 1.62-1.65k
// -> 1.88-1.97k adds/s, two threads 3.04-3.17k -> 3.35-3.98k, recall@10 at ef 16-128 within 0.001.
// They cost dimension x 2 bytes per node for as long as the batch runs.
class InsertCopies {
 public:
  InsertCopies(std::size_t dim, std::size_t capacity)
      : dim_(dim), stride_((dim * sizeof(std::uint16_t) + kLine - 1) / kLine * kLine), rows_(capacity * stride_) {}

  std::size_t capacity() const { return stride_ ? rows_.size() / stride_ : 0; }
  /// Copies the records of nodes [0, count) of a float32 graph, on `threads` threads.
  void copy_graph(const Graph& g, std::size_t count, std::size_t threads) {
    const auto to_f16 = detail::simd::active().to_f16;
    detail::parallel_for(count, threads, 1024, [&](std::size_t b, std::size_t e, std::size_t) {
      for (std::size_t i = b; i < e; ++i) copy(static_cast<tableint>(i), g.getDataByInternalId(static_cast<tableint>(i)), to_f16);
    });
  }
  /// Refreshes one node's copy (after its vector was replaced).
  void copy_node(const Graph& g, tableint node) {
    copy(node, g.getDataByInternalId(node), detail::simd::active().to_f16);
  }
  InsertRecords records(const Graph& g, const KernelSpace& space) {
    InsertRecords r{reinterpret_cast<char*>(rows_.data()), stride_, dim_ * sizeof(std::uint16_t), space.half_one(),
                    space.half_four(), g.dist_func_param_};
    r.to_copy = detail::simd::active().to_f16;
    r.dim = dim_;
    return r;
  }

 private:
  static constexpr std::size_t kLine = 64;
  void copy(tableint node, const char* record, void (*to_f16)(const float*, std::size_t, std::uint16_t*)) {
    to_f16(reinterpret_cast<const float*>(record), dim_,
           reinterpret_cast<std::uint16_t*>(rows_.data() + static_cast<std::size_t>(node) * stride_));
  }
  std::size_t dim_;
  std::size_t stride_;  // bytes
  detail::simd::AlignedVector<std::uint8_t> rows_;
};

// Calls use(node, distance of `from` to its record) for each of `nodes`, four per kernel call
// where the storage has a four-at-once kernel, then one at a time.
template <class Use>
void score_nodes(const InsertRecords& r, const void* from, const tableint* nodes, std::size_t count, Use&& use) {
  std::size_t j = 0;
  if (r.four) {
    for (; j + 4 <= count; j += 4) {
      const void* records[4] = {r.of(nodes[j]), r.of(nodes[j + 1]), r.of(nodes[j + 2]), r.of(nodes[j + 3])};
      float d[4];
      r.four(from, records, r.param, d);
      for (std::size_t k = 0; k < 4; ++k) use(nodes[j + k], d[k]);
    }
  }
  for (; j < count; ++j) use(nodes[j], r.distance(from, r.of(nodes[j])));
}

// hnswlib's neighbour selection (getNeighborsByHeuristic2), reading the records through `r`: the
// candidates, nearest first, are kept unless one already kept is nearer to them than the centre
// is, until `cap` are kept; with fewer than `cap` candidates all are kept.
void select_neighbours(const InsertRecords& r, Candidates& pool, std::size_t cap) {
  if (pool.size() < cap) return;
  std::vector<DistId> nearest_first(pool.size());
  for (std::size_t i = pool.size(); i-- > 0; pool.pop()) nearest_first[i] = pool.top();
  std::vector<DistId> kept;
  kept.reserve(cap);
  for (const DistId& c : nearest_first) {
    if (kept.size() >= cap) break;
    const char* record = r.of(c.second);
    const bool diverse = std::none_of(kept.begin(), kept.end(), [&](const DistId& k) {
      return r.distance(r.of(k.second), record) < c.first;
    });
    if (diverse) kept.push_back(c);
  }
  for (const DistId& c : kept) pool.push(c);
}

Candidates construction_search(Graph& g, const InsertRecords& r, const void* record, tableint ep, int level) {
  VisitedGuard visited(g);
  hnswlib::vl_type* mark = visited->mass;
  const hnswlib::vl_type tag = visited->curV;
  const std::size_t ef = g.ef_construction_;
  const std::size_t prefetch_bytes = std::min(r.bytes, kPrefetchBytes);

  Candidates results;  // worst on top
  std::priority_queue<DistId, std::vector<DistId>, Closer> frontier;  // nearest on top
  float bound = std::numeric_limits<float>::max();
  const float d0 = r.distance(record, r.of(ep));
  if (!is_deleted(g, ep)) {
    results.emplace(d0, ep);
    bound = d0;
  }
  frontier.emplace(d0, ep);
  mark[ep] = tag;

  std::vector<tableint> fresh(std::max(g.maxM0_, g.maxM_));
  while (!frontier.empty()) {
    const DistId current = frontier.top();
    if (current.first > bound && results.size() >= ef) break;
    frontier.pop();
    std::size_t count = 0;
    {
      std::lock_guard<std::mutex> lock(g.link_list_locks_[current.second]);
      const unsigned* list = g.get_linklist_at_level(current.second, level);
      const std::size_t size = g.getListCount(const_cast<unsigned*>(list));
      const tableint* nb = reinterpret_cast<const tableint*>(list + 1);
      for (std::size_t j = 0; j < size; ++j) {
        const tableint c = nb[j];
        if (mark[c] == tag) continue;
        mark[c] = tag;
        fresh[count++] = c;
        prefetch_record(r.of(c), prefetch_bytes);
      }
    }
    auto consider = [&](tableint c, float d) {
      if (results.size() < ef || d < bound) {
        // The nearest candidate is expanded next: its list starts on its way now.
        if (frontier.empty() || d < frontier.top().first) __builtin_prefetch(g.get_linklist_at_level(c, level));
        frontier.emplace(d, c);
        if (!is_deleted(g, c)) {
          results.emplace(d, c);
          if (results.size() > ef) results.pop();
          bound = results.top().first;
        }
      }
    };
    score_nodes(r, record, fresh.data(), count, consider);
  }
  return results;
}

// Links a new node at one level to the nearest of `found` that hnswlib's heuristic keeps, and
// each of them back to it (hnswlib's mutuallyConnectNewElement). A neighbour whose list is full
// chooses again among its list and the new node with the same heuristic; the distances it needs,
// from its list's records scattered over the graph, are fetched all at once and scored four at a
// time (hnswlib scores them one by one, each a cache miss: 19% of an insert at 100k x 512).
// Returns the nearest neighbour kept, where the next level's search starts (or `from`, the
// search's start, if none was found). The caller holds the new node's lock.
tableint link_new_node(Graph& g, const InsertRecords& r, tableint node, Candidates& found, int level,
                       tableint from) {
  const std::size_t cap = level ? g.maxM_ : g.maxM0_;
  select_neighbours(r, found, g.M_);
  std::vector<tableint> chosen;  // farthest first: the heap pops its worst
  chosen.reserve(found.size());
  for (; !found.empty(); found.pop()) chosen.push_back(found.top().second);
  if (chosen.empty()) return from;  // nothing but tombstones in reach (the entry point is added)

  unsigned* own = g.get_linklist_at_level(node, level);
  g.setListCount(own, static_cast<unsigned short>(chosen.size()));
  std::copy(chosen.begin(), chosen.end(), reinterpret_cast<tableint*>(own + 1));

  const std::size_t prefetch_bytes = std::min(r.bytes, kPrefetchBytes);
  for (const tableint other : chosen) {
    std::lock_guard<std::mutex> lock(g.link_list_locks_[other]);
    unsigned* list = g.get_linklist_at_level(other, level);
    const std::size_t size = g.getListCount(list);
    auto* nb = reinterpret_cast<tableint*>(list + 1);
    if (size < cap) {
      nb[size] = node;
      g.setListCount(list, static_cast<unsigned short>(size + 1));
      continue;
    }
    for (std::size_t j = 0; j < size; ++j) prefetch_record(r.of(nb[j]), prefetch_bytes);
    const char* center = r.of(other);
    Candidates pool;
    pool.emplace(r.distance(r.of(node), center), node);
    score_nodes(r, center, nb, size, [&](tableint c, float d) { pool.emplace(d, c); });
    select_neighbours(r, pool, cap);
    std::size_t kept = 0;
    for (; !pool.empty(); pool.pop()) nb[kept++] = pool.top().second;
    g.setListCount(list, static_cast<unsigned short>(kept));
  }
  return chosen.back();
}

// Greedy descent for an insert, from `from` through the levels above `down_to`, reading each
// list under its node's lock.
tableint construction_descend(Graph& g, const InsertRecords& r, const void* record, tableint from, int top,
                              int down_to) {
  tableint cur = from;
  float cur_d = r.distance(record, r.of(cur));
  for (int level = top; level > down_to; --level) {
    for (bool changed = true; changed;) {
      changed = false;
      std::lock_guard<std::mutex> lock(g.link_list_locks_[cur]);
      const unsigned* list = g.get_linklist(cur, level);
      const int size = g.getListCount(const_cast<unsigned*>(list));
      const tableint* nb = reinterpret_cast<const tableint*>(list + 1);
      for (int i = 0; i < size; ++i) {
        const float d = r.distance(record, r.of(nb[i]));
        if (d < cur_d) {
          cur_d = d;
          cur = nb[i];
          changed = true;
        }
      }
    }
  }
  return cur;
}

// Inserts a record under a new label: hnswlib's addPoint, with construction_search and link_new_node
// in place of its searchBaseLayer and mutuallyConnectNewElement, and the same locks, so inserts
// may run concurrently with each other (not with searches: the index's write lock keeps those
// out). Which neighbours are kept is still hnswlib's heuristic (getNeighborsByHeuristic2). A label
// already present is the caller's error: do_add sends those to update_node. The node's level is
// drawn under the count's lock: hnswlib draws it from its shared generator under the node's own
// lock, so two inserts could draw at once.
void insert_new_node(Graph& g, const InsertRecords& r, const void* record, Id label) {
  tableint node;
  int level;
  {
    std::unique_lock<std::mutex> count_lock(g.cur_element_count_guard_);
    if (g.label_lookup_.count(label)) {  // do_add sends existing labels to update_node
      throw std::logic_error("HNSW insert of a label already in the graph");
    }
    if (g.cur_element_count >= g.max_elements_) {
      throw std::logic_error("HNSW insert beyond the reserved capacity");  // reserve_for comes first
    }
    node = static_cast<tableint>(g.cur_element_count++);
    g.label_lookup_[label] = node;
    level = g.getRandomLevel(g.mult_);
  }
  std::lock_guard<std::mutex> update_lock(g.link_list_update_locks_[node & (Graph::max_update_element_locks - 1)]);
  std::lock_guard<std::mutex> node_lock(g.link_list_locks_[node]);
  g.element_levels_[node] = level;

  // Both read under the lock that a taller insert holds while it writes them (hnswlib reads the
  // entry point after letting go of it), which is held on only if this node becomes the top.
  std::unique_lock<std::mutex> top_lock(g.global);
  const int top = g.maxlevel_;
  const tableint entry = g.enterpoint_node_;
  if (level <= top) top_lock.unlock();

  std::memset(g.get_linklist0(node), 0, g.size_data_per_element_);
  std::memcpy(g.getExternalLabeLp(node), &label, sizeof label);
  std::memcpy(g.getDataByInternalId(node), record, g.data_size_);
  if (r.to_copy) {  // the searches below compare the new node's copy
    r.to_copy(static_cast<const float*>(record), r.dim, reinterpret_cast<std::uint16_t*>(r.base + node * r.stride));
    record = r.of(node);
  } else {
    record = static_cast<const char*>(record) + r.record_offset;
  }
  if (level > 0) {
    const std::size_t bytes = g.size_links_per_element_ * static_cast<std::size_t>(level) + 1;
    g.linkLists_[node] = static_cast<char*>(std::calloc(bytes, 1));  // hnswlib frees it
    if (!g.linkLists_[node]) throw std::bad_alloc();
  }

  if (static_cast<int>(entry) == -1) {  // the first node
    g.enterpoint_node_ = node;
    g.maxlevel_ = level;
    return;
  }
  tableint cur = level < top ? construction_descend(g, r, record, entry, top, level) : entry;
  const bool entry_deleted = is_deleted(g, entry);
  for (int l = std::min(level, top); l >= 0; --l) {
    Candidates found = construction_search(g, r, record, cur, l);
    if (entry_deleted) {  // keeps the new node linked towards the entry point, as hnswlib does
      found.emplace(r.distance(record, r.of(entry)), entry);
      if (found.size() > g.ef_construction_) found.pop();
    }
    cur = link_new_node(g, r, node, found, l, cur);
  }
  if (level > top) {
    g.enterpoint_node_ = node;
    g.maxlevel_ = level;
  }
}

}  // namespace

struct HnswIndex::Impl {
  Impl(std::size_t dim, Metric metric, const HnswParams& p)
      : params(p), ef_search(p.ef_search), space(new_space(dim, metric)) {}
  // A mapped graph's records and upper-layer lists lie in the mapping: hnswlib must not free them.
  ~Impl() { let_go_of_mapping(); }

  std::unique_ptr<KernelSpace> new_space(std::size_t dim, Metric metric) const {
    return std::make_unique<KernelSpace>(dim, metric, params.storage);
  }
  // A graph keeps a pointer to its space (and, for sq8, to the codec's ranges), so each graph
  // gets the space it was built with: compact() builds a new pair while searches use the old one.
  std::unique_ptr<Graph> new_graph(std::size_t capacity, KernelSpace* s) const {
    return std::make_unique<Graph>(s, std::max<std::size_t>(capacity, 1), params.M,
                                   params.ef_construction, params.seed);
  }

  // Room for `extra` more nodes, growing geometrically so n inserts cost O(n) copying overall.
  void reserve_for(std::size_t extra) {
    const std::size_t need = graph->cur_element_count + extra;
    if (need > graph->max_elements_) {
      graph->resizeIndex(std::max(need, graph->max_elements_ * 2));
      advise_huge_pages(*graph);
    }
    grow_rows();
  }

  // sq4: the walk's codes, one row per node slot, kept beside the graph (Quantizer::row_bytes): a
  // walk then reads whole cache lines from a dense table (on 2 MB pages) instead of the end of each
  // 1.4 kB record. Measured at 100k x 512 clip-like, one thread (AMD EPYC Zen 4, medians of 5
  // interleaved runs), against codes inside the records: ef 32 68 -> 57 us, ef 48 86 -> 75 us.
  std::size_t row_bytes() const { return space->codec() ? space->codec()->row_bytes() : 0; }
  void grow_rows() {
    const std::size_t bytes = row_bytes();
    if (bytes == 0 || rows.size() >= graph->max_elements_ * bytes) return;
    rows.resize(graph->max_elements_ * bytes);
    row_base = rows.data();
  }
  void encode_rows(std::size_t from, std::size_t to, std::size_t threads) {
    if (row_bytes()) encode_rows_of(*graph, *space->codec(), rows.data(), from, to, threads);
  }

  std::size_t live() const { return graph->cur_element_count - graph->num_deleted_; }

  // Copies the ids of nodes [from, count) into `labels`. A predicate filter's exact scan then reads
  // ids from this dense array instead of from each node's 2 kB record, touching a record only for
  // nodes that match.
  void refresh_labels(std::size_t from) {
    const Graph& g = *graph;
    owned_labels.resize(g.cur_element_count);
    for (std::size_t i = from; i < g.cur_element_count; ++i) {
      owned_labels[i] = g.getExternalLabel(static_cast<tableint>(i));
    }
    labels = owned_labels.data();
    refresh_narrow_labels(from);
    refresh_id_table(from);
  }

  // The same ids in 4 bytes each while every id fits (else none), on 2 MB pages from 1M nodes: a
  // filtered walk tests the filter on the id of each neighbour it looks through, a read from a
  // random place in this array (a perf profile of the sq4 walk at 3% of 1M put 47% of its time on
  // these loads, 8 bytes each from a std::vector). 1M x 512, clustered data, ef 64, allow lists,
  // one thread (AMD EPYC Zen 4, 300 queries, medians of 20 interleaved rounds over one saved
  // graph): float32 3% 1929 -> 1823 us, 5% 1352 -> 1229, 10% 1114 -> 1004; sq4 3% 1585 -> 1404,
  // 5% 1188 -> 1090, 10% 831 -> 763; at 100k unchanged (sq4 5-20%: 158 -> 158, 228 -> 212,
  // 170 -> 164 us).
  void refresh_narrow_labels(std::size_t from) {
    if (from > 0 && narrow_labels.size() != from) return;  // lost at an earlier add
    const std::size_t count = graph->cur_element_count;
    for (std::size_t i = from; i < count; ++i) {
      if (labels[i] > std::numeric_limits<std::uint32_t>::max()) {
        narrow_labels = {};
        return;
      }
    }
    narrow_labels.resize(count);
    for (std::size_t i = from; i < count; ++i) narrow_labels[i] = static_cast<std::uint32_t>(labels[i]);
  }
  // The id of node i, from the narrow copy where there is one (see refresh_narrow_labels).
  Id label_of(tableint i) const { return narrow_labels.empty() ? labels[i] : narrow_labels[i]; }

  // Where the ids in use are dense (their span at most kDenseIdSpan times the node count, plus
  // kDenseIdSlack), the node of each id in a table indexed by id - id_table_first (kNoNode where
  // none), so that finding an id is one read, in id order a sequential one, instead of a hash
  // lookup (a bucket, then a node at a random place) or, in a mapped file, a binary search. An
  // allow list's exact scan finds each of its ids this way: at 1% of 1M x 512 the lookups were
  // a fifth (float32) to a third (sq4) of the search in perf.
  static constexpr tableint kNoNode = std::numeric_limits<tableint>::max();
  static constexpr std::uint64_t kDenseIdSpan = 2;
  static constexpr std::uint64_t kDenseIdSlack = 1024;
  void refresh_id_table(std::size_t from) {
    const std::size_t count = graph->cur_element_count;
    if (from == 0) id_table = {};
    // Empty after nodes were added: lost at an earlier add.
    if ((from > 0 && id_table.empty()) || from >= count) return;
    Id lo = id_table.empty() ? labels[from] : id_table_first;
    Id hi = id_table.empty() ? labels[from] : id_table_first + (id_table.size() - 1);
    for (std::size_t i = from; i < count; ++i) {
      lo = std::min(lo, labels[i]);
      hi = std::max(hi, labels[i]);
    }
    if (hi - lo >= kDenseIdSpan * count + kDenseIdSlack) {
      id_table = {};
      return;
    }
    if (id_table.empty() || lo != id_table_first) {
      // New or shifted: every node again.
      id_table.assign(hi - lo + 1, kNoNode);
      id_table_first = lo;
      from = 0;
    } else {
      id_table.resize(hi - lo + 1, kNoNode);
    }
    for (std::size_t i = from; i < count; ++i) id_table[labels[i] - lo] = static_cast<tableint>(i);
  }

  // A mapped graph's ids come from the file's label table: `node_labels` in node order and the
  // live nodes by ascending id, so that opening reads neither every record nor builds a hash map.
  void use_table(const Id* node_labels, const tableint* nodes_by_label, std::size_t live_count) {
    labels = node_labels;
    by_label = nodes_by_label;
    by_label_count = live_count;
    // A pass over the table each (1M ids: a few ms): lookups by id then take one read instead of
    // a binary search over the file's table.
    refresh_narrow_labels(0);
    refresh_id_table(0);
  }

  // The node holding `id`, if it is stored and not removed.
  std::optional<tableint> find(Id id) const {
    const std::optional<tableint> node = locate(id);
    if (node && is_deleted(*graph, *node)) return std::nullopt;
    return node;
  }

  // The node holding `id`, removed or not: the tombstone is a cache line of its own, which a
  // caller that knows the index has none need not read.
  std::optional<tableint> locate(Id id) const {
    const Graph& g = *graph;
    if (!id_table.empty()) {
      const Id at = id - id_table_first;  // ids below the first wrap past the end
      if (at >= id_table.size() || id_table[at] == kNoNode) return std::nullopt;
      return id_table[at];
    }
    if (!mapping) {
      const auto it = g.label_lookup_.find(id);
      if (it == g.label_lookup_.end()) return std::nullopt;
      return it->second;
    }
    // The table is checked as it is read: a node out of range is damage; an order that is not
    // ascending only makes the search miss (the full check in own() finds it).
    std::size_t lo = 0, hi = by_label_count;
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      const tableint node = checked_node(by_label[mid]);
      if (labels[node] < id) {
        lo = mid + 1;
      } else if (labels[node] > id) {
        hi = mid;
      } else {
        return node;
      }
    }
    return std::nullopt;
  }

  [[noreturn]] void report_damage(tableint node) const {
    throw Error(ErrorCode::corrupt_file, (mapping ? mapping->path() : std::string("index")) +
                                             ": HNSW graph: node " + std::to_string(node) +
                                             " has damaged links (the file is damaged: restore it or rebuild the index)");
  }

  tableint checked_node(tableint node) const {
    if (node >= graph->cur_element_count) {
      throw Error(ErrorCode::corrupt_file, mapping->path() + ": HNSW graph: the label table names node " +
                                               std::to_string(node) + " of " +
                                               std::to_string(graph->cur_element_count) + " (the file is damaged)");
    }
    return node;
  }

  // A mapped graph becomes an ordinary one before anything changes it: the file is read and
  // checked whole, as a load does (checksum, every link, every label), into memory this index
  // owns. If the check fails the mapped graph stays as it was and the error names the file.
  // Callers hold the index's write lock.
  void own() {
    if (!mapping) return;
    std::unique_ptr<HnswIndex> loaded = load_mapped_whole();
    Impl& other = *loaded->impl_;
    let_go_of_mapping();
    graph = std::move(other.graph);
    space = std::move(other.space);
    rows = std::move(other.rows);
    row_base = rows.empty() ? nullptr : rows.data();
    owned_labels = std::move(other.owned_labels);
    labels = owned_labels.data();
    narrow_labels = std::move(other.narrow_labels);
    id_table = std::move(other.id_table);
    id_table_first = other.id_table_first;
    by_label = nullptr;
    by_label_count = 0;
    mapping.reset();
  }

  // The mapped file, read and checked whole into a new index (own() and saving a mapped index).
  std::unique_ptr<HnswIndex> load_mapped_whole() const {
    detail::CheckedFileReader reader(mapping->path(), mapping->data(), mapping->size());
    const detail::IndexFileHeader header = detail::read_index_header(reader);
    std::unique_ptr<Index> loaded = detail::load_hnsw_payload(reader, header, nullptr);
    return std::unique_ptr<HnswIndex>(static_cast<HnswIndex*>(loaded.release()));
  }

  void let_go_of_mapping() {
    if (!mapping || !graph) return;
    graph->data_level0_memory_ = nullptr;
    for (std::size_t i = 0; i < graph->cur_element_count; ++i) graph->linkLists_[i] = nullptr;
  }

  HnswParams params;
  std::atomic<std::size_t> ef_search;
  std::unique_ptr<KernelSpace> space;  // outlives graph, which points into it
  std::unique_ptr<Graph> graph;
  detail::simd::AlignedVector<std::uint8_t> rows;  // sq4's rows (see grow_rows), unless mapped
  // For the length of a large add_batch on float32 storage (do_reserve to do_end_batch), else null.
  std::unique_ptr<InsertCopies> insert_copies;
  const std::uint8_t* row_base = nullptr;          // rows.data(), or the mapped file's rows
  const Id* labels = nullptr;  // labels[i] is the id of node i: owned_labels, or the mapped table
  std::vector<Id> owned_labels;
  // `labels` in 4 bytes each, empty once an id needs more (lost, then, until compact() or a load
  // rebuilds the index).
  detail::simd::AlignedVector<std::uint32_t> narrow_labels;
  // The node of each id, where ids are dense (see refresh_id_table), else empty (lost, then, until
  // compact() or a load rebuilds the index).
  detail::simd::AlignedVector<tableint> id_table;
  Id id_table_first = 0;
  // A mapped index: the file, and its table's live nodes by ascending id.
  std::shared_ptr<const detail::MappedFile> mapping;
  const tableint* by_label = nullptr;
  std::size_t by_label_count = 0;
};

HnswIndex::HnswIndex(std::size_t dimension, Metric metric, HnswParams params)
    : Index(dimension, metric) {
  check_params(params);
  impl_ = std::make_unique<Impl>(dimension, metric, params);
  impl_->graph = impl_->new_graph(params.initial_capacity, impl_->space.get());
  advise_huge_pages(*impl_->graph);
  impl_->grow_rows();
}

HnswIndex::~HnswIndex() = default;

std::unique_ptr<HnswIndex> HnswIndex::load(const std::string& path, std::size_t expected_dimension) {
  const IndexKind kind = IndexKind::hnsw;
  std::unique_ptr<Index> index = detail::load_index_file(path, expected_dimension, &kind);
  return std::unique_ptr<HnswIndex>(static_cast<HnswIndex*>(index.release()));
}

std::unique_ptr<HnswIndex> HnswIndex::open_mapped(const std::string& path, std::size_t expected_dimension) {
  const IndexKind kind = IndexKind::hnsw;
  std::unique_ptr<Index> index = detail::map_index_file(path, expected_dimension, &kind);
  return std::unique_ptr<HnswIndex>(static_cast<HnswIndex*>(index.release()));
}

HnswParams HnswIndex::params() const {
  HnswParams p = impl_->params;
  p.ef_search = impl_->ef_search.load();
  return p;
}

void HnswIndex::set_ef_search(std::size_t ef) {
  if (ef < 1) throw Error(ErrorCode::invalid_argument, "set_ef_search: ef must be at least 1");
  impl_->ef_search.store(ef);
}

std::size_t HnswIndex::tombstones() const {
  std::shared_lock<detail::RwLock> lock(state_lock());
  return impl_->graph->num_deleted_;
}

VectorStorage HnswIndex::storage() const { return impl_->params.storage; }

std::size_t HnswIndex::do_size() const { return impl_->live(); }

bool HnswIndex::do_contains(Id id) const { return impl_->find(id).has_value(); }

void HnswIndex::do_ids(std::vector<Id>& out) const {
  const Graph& g = *impl_->graph;
  out.clear();
  out.reserve(impl_->live());
  if (impl_->mapping) {
    // The table lists live nodes only, in the ids' order; the nodes' own marks are not read (each
    // is in its record: reading them read every page of the file, 34% of the page faults of a
    // one-shot search at 100k). The full check before a change compares the two.
    for (std::size_t j = 0; j < impl_->by_label_count; ++j) {
      out.push_back(impl_->labels[impl_->checked_node(impl_->by_label[j])]);
    }
    return;
  }
  for (const auto& [label, internal] : g.label_lookup_) {
    if (!is_deleted(g, internal)) out.push_back(label);
  }
}

bool HnswIndex::mapped() const {
  std::shared_lock<detail::RwLock> lock(state_lock());
  return impl_->mapping != nullptr;
}

void HnswIndex::do_add(const Id* ids, const float* input, std::size_t n) {
  impl_->own();
  Graph& g = *impl_->graph;
  const std::size_t d = dimension();
  KernelSpace& space = *impl_->space;
  // hnswlib copies each record into the graph as is, so it gets them in the storage's layout.
  const std::size_t row_bytes = record_data_bytes(space.storage(), d);
  bool retrained = false;
  std::vector<char> converted;
  const char* records = reinterpret_cast<const char*>(input);
  if (space.storage() == VectorStorage::float16) {
    converted.resize(n * row_bytes);
    detail::simd::active().to_f16(input, n * d, reinterpret_cast<std::uint16_t*>(converted.data()));
    records = converted.data();
  } else if (Quantizer* codec = space.codec()) {
    // Before the first records, each time the count doubles (up to Quantizer::kTrainLimit) and, for
    // sq8, for values out of range, the ranges are retrained on everything, and the stored codes
    // rewritten.
    if (codec->should_train(g.cur_element_count, input, n)) {
      codec->train(input, n, records_of(g));
      retrained = true;
    }
    converted.resize(n * row_bytes);
    for (std::size_t i = 0; i < n; ++i) codec->encode(input + i * d, converted.data() + i * row_bytes);
    records = converted.data();
  }
  auto row = [&](std::size_t i) { return records + i * row_bytes; };
  // Updates of existing ids go one at a time: hnswlib's update path and its tombstone counter are
  // not safe to run concurrently. New ids are inserted in parallel, which hnswlib supports.
  std::vector<std::size_t> fresh;
  fresh.reserve(n);
  const std::size_t first_new = g.cur_element_count;
  for (std::size_t i = 0; i < n; ++i) {
    if (const auto it = g.label_lookup_.find(ids[i]); it != g.label_lookup_.end()) {
      update_node(g, it->second, row(i));
      if (!retrained) impl_->encode_rows(it->second, it->second + 1, 1);
      if (impl_->insert_copies) impl_->insert_copies->copy_node(g, it->second);
    } else {
      fresh.push_back(i);
    }
  }
  impl_->reserve_for(fresh.size());
  if (impl_->insert_copies && impl_->insert_copies->capacity() < g.max_elements_) {
    impl_->insert_copies.reset();  // the graph grew past them (a batch's reserve comes first)
  }
  const InsertRecords compared = impl_->insert_copies ? impl_->insert_copies->records(g, space)
                                                      : graph_records(g, space);
  detail::parallel_for(fresh.size(), threads(), 1, [&](std::size_t b, std::size_t e, std::size_t) {
    for (std::size_t j = b; j < e; ++j) insert_new_node(g, compared, row(fresh[j]), ids[fresh[j]]);
  });
  // sq4's rows: the new nodes', or after new ranges every node's.
  impl_->encode_rows(retrained ? 0 : first_new, g.cur_element_count, threads());
  impl_->refresh_labels(first_new);
}

void HnswIndex::do_reserve(std::size_t n) {
  impl_->own();
  impl_->reserve_for(n);
  const Graph& g = *impl_->graph;
  if (impl_->space->storage() == VectorStorage::float32 && n >= kInsertCopiesMinBatch && n * kInsertCopiesShare >= impl_->live()) {
    impl_->insert_copies = std::make_unique<InsertCopies>(dimension(), g.max_elements_);
    impl_->insert_copies->copy_graph(g, g.cur_element_count, threads());
  }
}

void HnswIndex::do_end_batch() noexcept { impl_->insert_copies.reset(); }

bool HnswIndex::do_remove(Id id) {
  impl_->own();
  Graph& g = *impl_->graph;
  auto it = g.label_lookup_.find(id);
  if (it == g.label_lookup_.end() || is_deleted(g, it->second)) return false;
  g.markDeletedInternal(it->second);
  return true;
}

bool HnswIndex::do_get_vector(Id id, float* out) const {
  const Graph& g = *impl_->graph;
  const std::optional<tableint> node = impl_->find(id);
  if (!node) return false;
  const char* data = g.getDataByInternalId(*node);
  switch (impl_->space->storage()) {
    case VectorStorage::float32:
      std::memcpy(out, data, dimension() * sizeof(float));
      break;
    case VectorStorage::float16:
      detail::simd::active().from_f16(reinterpret_cast<const std::uint16_t*>(data), dimension(), out);
      break;
    case VectorStorage::sq8:
    case VectorStorage::sq4:
      detail::simd::active().from_f16(impl_->space->codec()->half(data), dimension(), out);
      break;
  }
  return true;
}

std::vector<SearchHit> HnswIndex::do_search(const float* query, const SearchParams& params) const {
  const Graph& g = *impl_->graph;
  const std::size_t live = impl_->live();
  const float min_score = params.min_score.value_or(-std::numeric_limits<float>::infinity());
  const std::size_t k = std::min(params.k, live);
  if (k == 0) return {};
  const std::size_t ef = params.ef ? params.ef : impl_->ef_search.load(std::memory_order_relaxed);
  const Filter* filter = params.filter;
  const KernelSpace& space = *impl_->space;
  const Quantizer* codec = space.codec();
  Query q{query, space.query_distance(), g.data_level0_memory_ + g.offsetData_, g.size_data_per_element_,
          g.dist_func_param_};
  if (impl_->row_base) {
    q.base = reinterpret_cast<const char*>(impl_->row_base);
    q.stride = impl_->row_bytes();
  }
  detail::QueryScratch prepared;
  if (codec) q.v = codec->prepare(query, prepared);
  // The distance results are ranked by: the walk's own, except with sq8 and sq4, whose codes only steer
  // the walk; its candidates and exact scans are scored with the records' float16 copies.
  auto exact = [&](tableint i) {
    return codec ? space.exact_distance(query, g.getDataByInternalId(i)) : distance(g, q, i);
  };
  const Metric measure = metric();  // once: the scans below would call it per vector

  // The matching nodes first, then their distances, each record fetched some records ahead of its
  // distance (kScanAhead, kRecordScanAhead). Allow lists go in node order (the layout's order, so
  // each record is nearer the last), and a tombstone (a cache line in the record's link list, from
  // a random place) is read only if the index has any.
  const bool any_deleted = g.num_deleted_ > 0;
  // An allow list's matching nodes as a bitmap by node (1 bit per node).
  auto mark_allowed_nodes = [&](const std::vector<Id>& allow) {
    std::vector<std::uint64_t> marked((g.cur_element_count + 63) / 64);
    for (Id id : allow) {
      const std::optional<tableint> node = impl_->locate(id);
      if (node) marked[*node / 64] |= std::uint64_t{1} << (*node % 64);
    }
    return marked;
  };
  auto exact_scan = [&](TopK& top) {
    std::vector<tableint> nodes;
    const std::size_t n = g.cur_element_count;
    std::vector<std::uint64_t> marked;
    const std::vector<Id>* allow = filter->allow_list();
    if (allow) {
      // Put in node order through a bitmap of the nodes rather than by sorting: at 5% of 100k x
      // 512 (float32, AMD EPYC Zen 5, one saved graph, medians of 7 interleaved rounds) 561 -> 425
      // us per search, the scan then near the read-bandwidth limit (27 GB/s on one core there;
      // perf shows the prefetches waiting for free line-fill buffers).
      marked = mark_allowed_nodes(*allow);
      nodes.reserve(allow->size());
    } else {
      marked.resize((n + 63) / 64);
      // The predicate on every node in one call (Filter::matches over the label array), then the
      // matches in node order: at 0.1-3% of 100k x 512 (float32, AMD EPYC Zen 4, one thread, 300
      // queries, medians of 5 interleaved runs) 358 -> 261 us at 0.1%, 486 -> 371 at 2%, 571 ->
      // 448 at 3% against a call through Filter::matches(Id) per node.
      filter->matches(impl_->labels, n, marked.data());
    }
    // Tombstones only where the index has any, read in node order for allow lists too (each id's
    // lookup read one before: 100k x 512, float32, allow lists at 1-3%, 1-4% slower).
    detail::for_each_set_bit(marked, [&](std::size_t i) {
      if (!any_deleted || !is_deleted(g, static_cast<tableint>(i))) nodes.push_back(static_cast<tableint>(i));
    });
    const std::size_t keep = std::max(ef, k);
    if (codec && nodes.size() > keep) {
      // sq8 and sq4: the codes of every match first (a quarter or an eighth of the float16 copy's
      // bytes, from the rows beside the graph), then the float16 copies of the best `keep` of
      // them, as many as a walk re-ranks. At 3% of 100k x 512, sq4 (AMD EPYC Zen 4, one thread,
      // 300 queries, medians of 5 interleaved runs): 202 -> 121 us on clustered data, 204 -> 140
      // on clip-like, recall@10 1.000 both.
      std::priority_queue<DistId, std::vector<DistId>, Farther> best;  // worst on top
      const std::size_t row_bytes = codec->walk_bytes();
      for (std::size_t j = 0; j < nodes.size(); ++j) {
        if (j + kScanAhead < nodes.size()) prefetch_record(q.base + nodes[j + kScanAhead] * q.stride, row_bytes);
        const float d = distance(g, q, nodes[j]);
        if (best.size() < keep) {
          best.emplace(d, nodes[j]);
        } else if (d < best.top().first) {
          best.pop();
          best.emplace(d, nodes[j]);
        }
      }
      nodes.clear();
      for (; !best.empty(); best.pop()) nodes.push_back(best.top().second);
      std::sort(nodes.begin(), nodes.end());
    }
    const std::size_t bytes = std::min(g.data_size_, kScanPrefetchBytes);
    for (std::size_t j = 0; j < nodes.size(); ++j) {
      if (j + kRecordScanAhead < nodes.size()) {
        prefetch_record(g.getDataByInternalId(nodes[j + kRecordScanAhead]), bytes);
      }
      // A match's label (a read from a random place) only where it may enter the top k: at 1% of
      // 1M and 1-3% of 100k x 512, float32 (AMD EPYC Zen 4, 300 queries, medians of 5
      // interleaved rounds) 4.12 -> 3.89 ms, 97 -> 92 us, 329 -> 312 us.
      const float score = detail::score_from_distance(measure, exact(nodes[j]));
      if (top.admits(score)) top.push(score, impl_->labels[nodes[j]]);
    }
  };

  auto scan_hits = [&] {
    TopK top(k, min_score);
    exact_scan(top);
    return detail::to_hits(top, metric());
  };
  bool two_hop = false;
  bool scan_if_starved = false;  // where the two-hop walk finds no matches near the query
  double selectivity = 1.0;
  if (filter) {
    // An exact scan computes one distance per match (plus a predicate call per node); the graph
    // walk expands about ef / selectivity nodes to collect ef matches, each costing about half its
    // base-layer links in new distances.
    const PlanCosts& costs = codec ? kCodePlanCosts : kVectorPlanCosts;
    const bool listed = filter->allow_list() != nullptr;
    // Reading the matches' records, the part of a scan that grows with the index (see
    // kLargeTwoHopShare), then the whole scan.
    const double allow_match = impl_->id_table.empty() ? costs.allow_match : costs.dense_allow_match;
    auto match_cost = [&](double share) {
      return (listed ? allow_match : costs.match) * share * static_cast<double>(live);
    };
    auto scan_cost = [&](double share) {
      return match_cost(share) + (listed ? 0.0 : costs.predicate_call * static_cast<double>(live));
    };
    const std::size_t width = std::max(ef, k);
    const double unfiltered_walk = static_cast<double>(width) * static_cast<double>(g.maxM0_) / 2.0;
    // Where the two-hop walk may run from: two_hop_from, or lower in a large index (see
    // kLargeTwoHopShare).
    const double large_from = two_hop_from(g) * kLargeTwoHopShare;
    const double walk_from =
        match_cost(large_from) > kScanCeiling * costs.walk_factor * unfiltered_walk ? large_from : two_hop_from(g);
    // Estimated fraction of live nodes that pass the filter, and a value it is unlikely to be
    // below: exact for allow lists and trusted for hints; for predicates, from the sample.
    double at_least;
    if (const std::vector<Id>* allow = filter->allow_list()) {
      selectivity = at_least = std::min(1.0, static_cast<double>(allow->size()) / static_cast<double>(live));
    } else if (auto hint = filter->selectivity_hint()) {
      selectivity = at_least = *hint;
    } else {
      // Nodes in a golden-ratio sequence, so that any prefix of the sample spreads over the whole
      // graph (node numbers follow the graph's layout, and filters often follow it too).
      const std::size_t n = g.cur_element_count;
      auto jump = static_cast<std::size_t>(static_cast<double>(n) * 0.6180339887498949) | 1u;
      while (std::gcd(jump, n) != 1) jump += 2;  // a step coprime with n visits every node
      std::size_t seen = 0, hit = 0, at = 0;
      bool whole_sample = false;
      for (std::size_t tried = 0; tried < std::min(n, kMaxPredicateSamples); ++tried, at = (at + jump) % n) {
        if (!whole_sample && seen >= kMinPredicateSamples && hit >= kSampleHits) {
          // Done if the two-hop decision is settled either way (both bounds on one side); if not,
          // the whole sample is taken and the decision made once, at its end (deciding at every
          // node as the sample grew sent 3.5% predicates to the walk: recall 0.90 on one subset).
          const double h = static_cast<double>(hit), s = static_cast<double>(seen);
          if (h - 2.0 * std::sqrt(h) >= walk_from * s || h + 2.0 * std::sqrt(h) < walk_from * s) break;
          whole_sample = true;
        }
        const auto i = static_cast<tableint>(at);
        if (is_deleted(g, i)) continue;
        ++seen;
        hit += filter->matches(impl_->labels[i]) ? 1 : 0;
      }
      const double hits = static_cast<double>(hit);
      selectivity = seen ? hits / static_cast<double>(seen) : 0.0;
      at_least = seen ? std::max(0.0, hits - 2.0 * std::sqrt(hits)) / static_cast<double>(seen) : 0.0;
    }
    // Between walk_from and kTwoHopBelow the walk looks through non-matching neighbours (see
    // search_base_layer) and costs a few unfiltered walks instead, more the more seeds it takes.
    two_hop = at_least >= walk_from && selectivity < kTwoHopBelow;
    const double seeds = static_cast<double>(seed_expansions(g, selectivity, width));
    const double plain_walk_cost = costs.walk_factor * unfiltered_walk / std::max(selectivity, 1e-9);
    const double walk_cost =
        two_hop ? costs.walk_factor * (kTwoHopWalkCost + kSeedExpansionCost * seeds) * unfiltered_walk : plain_walk_cost;
    if (scan_cost(selectivity) <= walk_cost) return scan_hits();
    scan_if_starved = scan_cost(selectivity) <= plain_walk_cost;
  }

  // The filter first, from the dense label array, and the tombstone only for nodes that pass it
  // and only when the index has any: a tombstone lives in the node's link-list header, one more
  // cache line from a random place per test, and the two-hop walk tests every neighbour of every
  // non-matching neighbour.
  // An allow list's bitmap is tested here rather than through Filter::matches, a call per test:
  // 100k x 512, allow lists at 5-20% (AMD EPYC Zen 4, 300 queries, medians of 5 interleaved runs)
  // sq4 192 -> 184 us at 5%, 205 -> 192 at 10%, 182 -> 172 at 20%; float32 305 -> 281 at 5%.
  const Filter::Bitmap allowed = filter ? filter->bitmap() : Filter::Bitmap{};
  // A selective allow list's two-hop walk tests a bitmap by node (see kNodeBitmapBelow).
  std::vector<std::uint64_t> allowed_nodes;
  if (two_hop && selectivity <= kNodeBitmapBelow && filter->allow_list() && !impl_->id_table.empty()) {
    allowed_nodes = mark_allowed_nodes(*filter->allow_list());
  }
  const std::uint64_t* const node_bits = allowed_nodes.empty() ? nullptr : allowed_nodes.data();
  auto accept = [&](tableint i) {
    if (node_bits) {
      if (!((node_bits[i / 64] >> (i % 64)) & 1u)) return false;
    } else if (allowed.words ? !allowed.contains(impl_->label_of(i))
                             : filter && !filter->matches(impl_->label_of(i))) {
      return false;
    }
    return !any_deleted || !is_deleted(g, i);
  };
  const tableint entry = descend(g, q);
  // The bytes of a record the walk's kernel reads: the codes and corrections, or the vector.
  const std::size_t walked = codec ? codec->walk_bytes() : g.data_size_;
  const std::size_t prefetch_bytes = std::min(walked, kPrefetchBytes);
  // 0 means all of the walk's candidates: see SearchParams::kDefaultRerank.
  const std::size_t rerank = params.rerank ? params.rerank : SearchParams::kDefaultRerank;
  auto walk = [&](std::size_t width, std::size_t look_through_after) {
    try {
      return search_base_layer(g, q, entry, width, prefetch_bytes, look_through_after, selectivity, accept);
    } catch (const DamagedList& damage) {
      impl_->report_damage(damage.node);
    }
  };
  // The hits for `want` results, how many candidates the walk reached, and whether they are final
  // (an exact scan's, after a two-hop walk starved of matches).
  struct Run {
    std::vector<SearchHit> hits;
    std::size_t reached = 0;
    bool exact = false;
  };
  auto run = [&](std::size_t want) -> Run {
    const std::size_t width = std::max(ef, want);
    std::optional<std::vector<DistId>> walked =
        walk(width, two_hop ? seed_expansions(g, selectivity, width) : kNeverLookThrough);
    if (!walked) {
      if (scan_if_starved) return {scan_hits(), live, true};
      walked = walk(width, kNeverLookThrough);
    }
    std::vector<DistId>& found = *walked;
    // The two-hop walk can run out of matching nodes within reach of where it entered (a test
    // found it on sq8 at 5%); the plain walk reaches everything the graph does.
    if (two_hop && found.size() < want) found = std::move(*walk(width, kNeverLookThrough));
    const std::size_t reached = found.size();
    if (codec) {
      std::reverse(found.begin(), found.end());  // best first: it came off a max-heap
      if (rerank) found.resize(std::min(found.size(), std::max(want, rerank)));
      // The walk read only the codes: each copy comes from memory, fetched kScanAhead ahead.
      for (std::size_t j = 0; j < found.size(); ++j) {
        if (j + kScanAhead < found.size()) prefetch_record(g.getDataByInternalId(found[j + kScanAhead].second), g.data_size_);
        found[j].first = exact(found[j].second);
      }
    }
    TopK top(want, min_score);
    for (const DistId& f : found) {
      top.push(detail::score_from_distance(metric(), f.first), impl_->labels[f.second]);
    }
    return Run{detail::to_hits(top, metric()), reached, false};
  };
  if (!params.min_score) return run(k).hits;
  // Threshold search: widen the beam until some candidate falls below the threshold (everything
  // above it that the graph can reach is then in the list) or k results pass. With sq8 and sq4 the
  // walk ranks by codes, which misorder nodes near the threshold, so half the beam must fall below
  // it: 20k x 512 clustered, thresholds that about 50 vectors pass (test_hnsw_index.cpp), sq4
  // found 0.915 of the exact set with "some", 0.989 with "half" (sq8 0.989, float32 with "some"
  // 0.985).
  std::size_t want = std::min(k, std::max<std::size_t>(ef, 16));
  for (;;) {
    auto [hits, found, exact_answer] = run(want);
    const std::size_t beam = std::min(want, found);
    const std::size_t below = codec ? std::max<std::size_t>(beam / 2, 1) : 1;  // at least, to stop
    if (exact_answer || hits.size() + below <= beam || found < want || want >= k) return hits;
    want = std::min(k, want * 4);
  }
}

namespace {

// The order save() writes nodes in: breadth-first over the base layer from the entry point, then
// any node the walk did not reach, so that a node's neighbours sit near it in memory once loaded.
// Measured at 100k x 512, one thread (AMD EPYC Zen 5, the same graph loaded in insertion order and
// renumbered, 7 interleaved rounds, twice): float32 +9-12% QPS at ef 32-128, sq8 +1-6%. (compact()
// inserting in this order lost 0.3-0.4 points of recall at equal ef, so it inserts in id order
// and renumbers the result.)
struct Renumbering {
  std::vector<tableint> order;   // order[i]: the old number of new node i
  std::vector<tableint> new_of;  // new_of[old]: its new number
};

Renumbering locality_order(const Graph& g) {
  const std::size_t n = g.cur_element_count;
  std::vector<tableint> order;
  order.reserve(n);
  std::vector<char> seen(n, 0);
  auto walk_from = [&](tableint start) {
    std::size_t head = order.size();
    order.push_back(start);
    seen[start] = 1;
    while (head < order.size()) {
      const unsigned* list = g.get_linklist0(order[head++]);
      const std::size_t size = g.getListCount(const_cast<unsigned*>(list));
      const tableint* nb = reinterpret_cast<const tableint*>(list + 1);
      for (std::size_t j = 0; j < size; ++j) {
        if (!seen[nb[j]]) {
          seen[nb[j]] = 1;
          order.push_back(nb[j]);
        }
      }
    }
  };
  if (n > 0) walk_from(g.enterpoint_node_);
  for (tableint i = 0; i < n; ++i) {
    if (!seen[i]) walk_from(i);
  }
  std::vector<tableint> new_of(n);
  for (std::size_t i = 0; i < n; ++i) new_of[order[i]] = static_cast<tableint>(i);
  return {std::move(order), std::move(new_of)};
}

// Rewrites the node numbers of one link list (hnswlib's layout: a 16-bit count, a flag byte, a
// zero byte, then the links) through new_of.
void renumber_list(char* list, const std::vector<tableint>& new_of) {
  std::uint16_t size;
  std::memcpy(&size, list, sizeof size);
  for (std::size_t j = 0; j < size; ++j) {
    char* at = list + sizeof(unsigned) + j * sizeof(tableint);
    tableint t;
    std::memcpy(&t, at, sizeof t);
    std::memcpy(at, &new_of[t], sizeof t);
  }
}

// Copies node `old`'s base-layer record to `to`, and its upper-layer lists (if any) to `upper`,
// with every link renumbered.
void copy_renumbered(const Graph& g, tableint old, const std::vector<tableint>& new_of, char* to,
                     char* upper) {
  std::memcpy(to, g.data_level0_memory_ + old * g.size_data_per_element_, g.size_data_per_element_);
  renumber_list(to + g.offsetLevel0_, new_of);
  const int levels = g.element_levels_[old];
  if (levels == 0) return;
  if (upper != g.linkLists_[old]) {
    std::memcpy(upper, g.linkLists_[old], g.size_links_per_element_ * static_cast<std::size_t>(levels));
  }
  for (int level = 0; level < levels; ++level) renumber_list(upper + level * g.size_links_per_element_, new_of);
}

// Renumbers a graph in place in locality_order (compact() does it to the graph it rebuilds, so a
// long-running process gets the layout a load would give it). Nothing else may use the graph.
void renumber(Graph& g) {
  const std::size_t n = g.cur_element_count;
  if (n == 0) return;
  const Renumbering r = locality_order(g);
  const std::size_t stride = g.size_data_per_element_;
  char* level0 = static_cast<char*>(std::calloc(g.max_elements_, stride));
  if (!level0) throw std::bad_alloc();
  detail::simd::advise_huge_pages(level0, g.max_elements_ * stride);
  std::vector<char*> links(n);
  std::vector<int> levels(n);
  for (std::size_t i = 0; i < n; ++i) {
    const tableint old = r.order[i];
    copy_renumbered(g, old, r.new_of, level0 + i * stride, g.linkLists_[old]);  // lists in place
    links[i] = g.linkLists_[old];
    levels[i] = g.element_levels_[old];
  }
  std::free(g.data_level0_memory_);
  g.data_level0_memory_ = level0;
  std::copy(links.begin(), links.end(), g.linkLists_);
  std::copy(levels.begin(), levels.end(), g.element_levels_.begin());
  for (auto& entry : g.label_lookup_) entry.second = r.new_of[entry.second];
  g.enterpoint_node_ = r.new_of[g.enterpoint_node_];
}

}  // namespace

void HnswIndex::compact() {
  std::lock_guard<std::mutex> writer(writer_lock());
  {
    std::unique_lock<detail::RwLock> lock(state_lock());
    impl_->own();
  }
  std::unique_ptr<Graph> fresh;
  std::unique_ptr<KernelSpace> fresh_space = impl_->new_space(dimension(), metric());
  {
    // Readers keep searching the old graph while the new one is built from it.
    std::shared_lock<detail::RwLock> read(state_lock());
    const Graph& old = *impl_->graph;
    std::vector<tableint> live;
    live.reserve(impl_->live());
    for (tableint i = 0; i < old.cur_element_count; ++i) {
      if (!is_deleted(old, i)) live.push_back(i);
    }
    fresh = impl_->new_graph(live.size(), fresh_space.get());
    advise_huge_pages(*fresh);
    Graph& g = *fresh;
    // sq8, sq4: the ranges are retrained on all the vectors (the old ones stopped changing at
    // Quantizer::kTrainLimit), so each record is re-encoded on its way into the new graph.
    Quantizer* codec = fresh_space->codec();
    if (codec) codec->fit(nullptr, 0, records_of(old));
    std::optional<InsertCopies> copies;
    if (fresh_space->storage() == VectorStorage::float32) copies.emplace(dimension(), live.size());
    const InsertRecords compared =
        copies ? copies->records(g, *fresh_space) : graph_records(g, *fresh_space);
    detail::parallel_for(live.size(), threads(), 1, [&](std::size_t b, std::size_t e, std::size_t) {
      std::vector<char> record(codec ? old.data_size_ : 0);
      for (std::size_t j = b; j < e; ++j) {
        const char* data = old.getDataByInternalId(live[j]);
        if (codec) {
          std::memcpy(record.data(), data, record.size());
          codec->reencode(record.data());
          data = record.data();
        }
        insert_new_node(g, compared, data, old.getExternalLabel(live[j]));
      }
    });
  }
  renumber(*fresh);
  // sq4's rows, in the new graph's order.
  detail::simd::AlignedVector<std::uint8_t> fresh_rows;
  if (const Quantizer* codec = fresh_space->codec(); codec && codec->row_bytes()) {
    fresh_rows.resize(fresh->max_elements_ * codec->row_bytes());
    encode_rows_of(*fresh, *codec, fresh_rows.data(), 0, fresh->cur_element_count, threads());
  }
  std::unique_lock<detail::RwLock> lock(state_lock());
  impl_->graph = std::move(fresh);
  impl_->space = std::move(fresh_space);
  impl_->rows = std::move(fresh_rows);
  impl_->row_base = impl_->rows.empty() ? nullptr : impl_->rows.data();
  impl_->refresh_labels(0);
}

std::size_t HnswIndex::do_memory_bytes() const {
  // From sizes alone, so that a mapped index (whose file's pages are this memory once a search
  // has touched them) reports what the same file loaded does: `imgvec stats` maps, Python and the
  // server load, and their stats must agree.
  const Graph& g = *impl_->graph;
  std::size_t upper = 0;
  for (std::size_t i = 0; i < g.cur_element_count; ++i) {
    if (g.element_levels_[i] > 0) upper += g.size_links_per_element_ * g.element_levels_[i] + 1;
  }
  // Per slot: base layer record, link-list pointer, level, lock, visited mark; per node a hash
  // node and bucket for its id, and its entries in the dense id arrays.
  const std::size_t narrow = impl_->narrow_labels.empty() ? 0 : sizeof(std::uint32_t);
  return g.max_elements_ * (g.size_data_per_element_ + impl_->row_bytes() + sizeof(void*) + sizeof(int) +
                            sizeof(std::mutex) + sizeof(hnswlib::vl_type)) +
         upper + g.cur_element_count * (40 + sizeof(void*) + sizeof(Id) + narrow) +
         impl_->id_table.size() * sizeof(tableint);
}

// The payload: our search default, then hnswlib 0.6.2's own saveIndex byte stream, with the nodes
// renumbered in locality_order. Stripping imgvec's 64-byte header and these 8 bytes leaves a file
// hnswlib can load.
void HnswIndex::do_save(detail::AtomicFileWriter& out) const {
  if (impl_->mapping) {
    // A mapped graph is unchanged since it was opened (changes load it first), but its file has
    // not been checked: it is checked whole on the way, so that damage is not saved under a fresh
    // checksum.
    std::unique_ptr<HnswIndex> whole = impl_->load_mapped_whole();
    whole->impl_->ef_search.store(impl_->ef_search.load());
    whole->do_save(out);
    return;
  }
  const Graph& g = *impl_->graph;
  const Renumbering r = locality_order(g);
  out.write_pod<std::uint64_t>(impl_->ef_search.load());
  out.write_pod<std::size_t>(g.offsetLevel0_);
  out.write_pod<std::size_t>(g.cur_element_count);  // max_elements: no slack on disk
  out.write_pod<std::size_t>(g.cur_element_count);
  out.write_pod<std::size_t>(g.size_data_per_element_);
  out.write_pod<std::size_t>(g.label_offset_);
  out.write_pod<std::size_t>(g.offsetData_);
  out.write_pod<int>(g.maxlevel_);
  out.write_pod<tableint>(g.cur_element_count > 0 ? r.new_of[g.enterpoint_node_] : g.enterpoint_node_);
  out.write_pod<std::size_t>(g.maxM_);
  out.write_pod<std::size_t>(g.maxM0_);
  out.write_pod<std::size_t>(g.M_);
  out.write_pod<double>(g.mult_);
  out.write_pod<std::size_t>(g.ef_construction_);
  // Records first, then each node's upper-layer lists, as hnswlib's saveIndex lays them out.
  std::vector<char> record(g.size_data_per_element_);
  std::vector<std::vector<char>> upper(r.order.size());
  for (std::size_t i = 0; i < r.order.size(); ++i) {
    const tableint old = r.order[i];
    upper[i].resize(g.size_links_per_element_ * static_cast<std::size_t>(g.element_levels_[old]));
    copy_renumbered(g, old, r.new_of, record.data(), upper[i].data());
    out.write(record.data(), record.size());
  }
  for (const std::vector<char>& lists : upper) {
    out.write_pod<unsigned>(static_cast<unsigned>(lists.size()));
    if (!lists.empty()) out.write(lists.data(), lists.size());
  }
  // sq8, sq4: the quantizer after the graph (docs/file-format.md).
  if (const Quantizer* codec = impl_->space->codec()) {
    out.write_pod<std::uint64_t>(codec->trained_on());
    out.write(codec->lo().data(), codec->lo().size() * sizeof(float));
    out.write(codec->step().data(), codec->step().size() * sizeof(float));
  }
  // sq4: the rows of codes, in node order, from a 64-byte boundary of the file (a mapped file's
  // rows then lie on cache lines, as a loaded index's do).
  if (const std::size_t bytes = impl_->row_bytes()) {
    const char zeros[64] = {};
    out.write(zeros, static_cast<std::size_t>((64 - out.bytes_written() % 64) % 64));
    for (const tableint old : r.order) out.write(impl_->row_base + old * bytes, bytes);
  }
  // The label table (format 2), 8-byte aligned in the file: every node's id in node order, then
  // the live nodes by ascending id, so that a mapped open finds an id without reading the records.
  const char zeros[8] = {};
  out.write(zeros, static_cast<std::size_t>((8 - out.bytes_written() % 8) % 8));
  std::vector<std::pair<Id, tableint>> live;
  live.reserve(impl_->live());
  for (std::size_t i = 0; i < r.order.size(); ++i) {
    const Id label = impl_->labels[r.order[i]];
    out.write_pod<Id>(label);
    if (!is_deleted(g, r.order[i])) live.emplace_back(label, static_cast<tableint>(i));
  }
  std::sort(live.begin(), live.end());
  for (const auto& entry : live) out.write_pod<tableint>(entry.second);
}

namespace detail {

std::unique_ptr<Index> load_hnsw_payload(CheckedFileReader& in, const IndexFileHeader& header,
                                         std::shared_ptr<const MappedFile> mapping) {
  const bool mapped = mapping != nullptr;
  struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
  };
  using Buffer = std::unique_ptr<char, FreeDeleter>;
  auto fail = [&](const std::string& what) { in.fail("HNSW graph: " + what); };

  const std::uint64_t ef_search = in.read_pod<std::uint64_t>("HNSW parameters");
  const auto offset_level0 = in.read_pod<std::size_t>("HNSW parameters");
  const auto max_elements = in.read_pod<std::size_t>("HNSW parameters");
  const auto count = in.read_pod<std::size_t>("HNSW parameters");
  const auto size_per_element = in.read_pod<std::size_t>("HNSW parameters");
  const auto label_offset = in.read_pod<std::size_t>("HNSW parameters");
  const auto offset_data = in.read_pod<std::size_t>("HNSW parameters");
  const auto max_level = in.read_pod<int>("HNSW parameters");
  const auto entry = in.read_pod<tableint>("HNSW parameters");
  const auto max_m = in.read_pod<std::size_t>("HNSW parameters");
  const auto max_m0 = in.read_pod<std::size_t>("HNSW parameters");
  const auto m = in.read_pod<std::size_t>("HNSW parameters");
  const auto mult = in.read_pod<double>("HNSW parameters");
  const auto ef_construction = in.read_pod<std::size_t>("HNSW parameters");

  // Every size is checked against the others and against the bytes left before any allocation.
  const std::size_t dim = header.dimension;
  const auto storage = static_cast<VectorStorage>(header.scalar);
  const std::size_t data_bytes = record_data_bytes(storage, dim);
  if (m < 2 || m > kMaxM) fail("M = " + std::to_string(m) + " is outside [2, 2048]");
  if (max_m != m || max_m0 != 2 * m) fail("link limits do not match M");
  if (std::abs(mult - 1.0 / std::log(static_cast<double>(m))) > 1e-9) fail("level multiplier does not match M");
  if (ef_search < 1 || ef_search > (1u << 24)) fail("ef_search " + std::to_string(ef_search) + " out of range");
  if (ef_construction < 1 || ef_construction > (1u << 24)) fail("ef_construction out of range");
  const std::size_t links0 = max_m0 * sizeof(tableint) + sizeof(unsigned);
  const std::size_t links_per_level = max_m * sizeof(tableint) + sizeof(unsigned);
  if (offset_level0 != 0 || offset_data != links0 || label_offset != links0 + data_bytes ||
      size_per_element != label_offset + sizeof(hnswlib::labeltype)) {
    fail("record layout does not match dimension " + std::to_string(dim) + ", M " + std::to_string(m) +
         " and " + to_string(storage) + " storage");
  }
  if (max_elements != count) fail("capacity differs from the element count");
  if (count > std::numeric_limits<tableint>::max() - 1) fail("too many elements");
  if (count < header.count) fail("fewer elements than the header's count");
  if (count > in.remaining() / size_per_element) {
    fail("truncated: " + std::to_string(count) + " elements do not fit in the file");
  }
  if (count == 0 ? (max_level != -1 || entry != static_cast<tableint>(-1))
                 : (max_level < 0 || max_level > kMaxLevel || entry >= count)) {
    fail("entry point or top level is invalid");
  }

  // hnswlib needs room for at least one node (an empty graph has capacity 1), and the buffer must
  // match that capacity: a saved empty index would otherwise take its first add past the end.
  const std::size_t capacity = std::max<std::size_t>(count, 1);
  // Mapped, the records and upper-layer lists are used where they lie in the file; loaded, each
  // is copied into memory hnswlib owns.
  Buffer level0;
  const char* base;
  if (mapped) {
    base = in.view(count * size_per_element, "HNSW base layer");
  } else {
    level0.reset(static_cast<char*>(std::calloc(capacity, size_per_element)));
    if (!level0) throw Error(ErrorCode::io, in.path() + ": out of memory for the HNSW base layer");
    simd::advise_huge_pages(level0.get(), capacity * size_per_element);  // before the read touches it
    in.read(level0.get(), count * size_per_element, "HNSW base layer");
    base = level0.get();
  }

  std::vector<Buffer> owned(mapped ? 0 : count);
  std::vector<const char*> upper(count, nullptr);
  std::vector<int> levels(count, 0);
  for (std::size_t i = 0; i < count; ++i) {
    const auto bytes = in.read_pod<unsigned>("HNSW upper-layer links");
    if (bytes == 0) continue;
    if (bytes % links_per_level != 0 || bytes / links_per_level > static_cast<std::size_t>(max_level)) {
      fail("element " + std::to_string(i) + " has a malformed upper-layer list");
    }
    if (bytes > in.remaining()) fail("truncated inside the upper-layer links");
    levels[i] = static_cast<int>(bytes / links_per_level);
    if (mapped) {
      upper[i] = in.view(bytes, "HNSW upper-layer links");
      continue;
    }
    // hnswlib allocates one spare byte per list; keep its layout so its own code can free it.
    owned[i].reset(static_cast<char*>(std::malloc(bytes + 1)));
    if (!owned[i]) throw Error(ErrorCode::io, in.path() + ": out of memory for HNSW links");
    in.read(owned[i].get(), bytes, "HNSW upper-layer links");
    owned[i].get()[bytes] = 0;
    upper[i] = owned[i].get();
  }
  std::uint64_t trained_on = 0;
  std::vector<float> lo, step;
  if (storage == VectorStorage::sq8 || storage == VectorStorage::sq4) {
    const std::string what = std::string(to_string(storage)) + " quantizer";
    trained_on = in.read_pod<std::uint64_t>(what.c_str());
    if (dim * 2 * sizeof(float) > in.remaining()) fail("truncated inside the " + what);
    lo.resize(dim);
    step.resize(dim);
    in.read(lo.data(), dim * sizeof(float), what.c_str());
    in.read(step.data(), dim * sizeof(float), what.c_str());
  }
  // sq4: the rows of codes, from a 64-byte boundary of the file. Any bytes are valid codes (and a
  // norm that is not finite only misguides the walk, whose results are re-ranked on the copies).
  detail::simd::AlignedVector<std::uint8_t> rows;
  const std::uint8_t* mapped_rows = nullptr;
  const std::size_t row_bytes = storage == VectorStorage::sq4 ? Sq4Codec::row_bytes(dim, header.metric == Metric::l2) : 0;
  if (row_bytes) {
    const std::size_t pad = static_cast<std::size_t>((64 - in.offset() % 64) % 64);
    if (pad > in.remaining() || count > (in.remaining() - pad) / row_bytes) fail("truncated inside the sq4 rows");
    if (mapped) {
      in.view(pad, "sq4 rows");
      mapped_rows = reinterpret_cast<const std::uint8_t*>(in.view(count * row_bytes, "sq4 rows"));
    } else {
      char zeros[64] = {};
      in.read(zeros, pad, "sq4 rows");
      if (std::any_of(zeros, zeros + pad, [](char c) { return c != 0; })) fail("the sq4 rows' padding is not zero");
      rows.resize(capacity * row_bytes);
      in.read(rows.data(), count * row_bytes, "sq4 rows");
    }
  }
  // Format 2 and later: the label table (docs/file-format.md), 8-byte aligned in the file.
  const bool has_table = header.format_major >= 2;
  const std::size_t live = header.count;
  const Id* table_labels = nullptr;
  const tableint* by_label = nullptr;
  std::vector<Id> read_labels;
  std::vector<tableint> read_by_label;
  if (has_table) {
    const std::size_t pad = static_cast<std::size_t>((8 - in.offset() % 8) % 8);
    if (count > in.remaining() / sizeof(Id)) fail("truncated inside the label table");
    if (mapped) {
      in.view(pad, "label table");
      table_labels = reinterpret_cast<const Id*>(in.view(count * sizeof(Id), "label table"));
      if (live > in.remaining() / sizeof(tableint)) fail("truncated inside the label table");
      by_label = reinterpret_cast<const tableint*>(in.view(live * sizeof(tableint), "label table"));
    } else {
      char zeros[8] = {};
      in.read(zeros, pad, "label table");
      if (std::any_of(zeros, zeros + pad, [](char c) { return c != 0; })) fail("the label table's padding is not zero");
      read_labels.resize(count);
      in.read(read_labels.data(), count * sizeof(Id), "label table");
      if (live > in.remaining() / sizeof(tableint)) fail("truncated inside the label table");
      read_by_label.resize(live);
      in.read(read_by_label.data(), live * sizeof(tableint), "label table");
    }
  }
  if (mapped) {
    // Nothing more is read now: no checksum, no base-layer links (a search checks each list it
    // reads, see search_base_layer), no labels; the upper layers, read at every search's start and
    // a few percent of the file, are checked below.
    if (in.remaining() != 0) fail(std::to_string(in.remaining()) + " unexpected bytes after the payload");
  } else {
    verify_payload_checksum(in, header);
  }

  // Structure: every link points at an existing node that lives on that level, list sizes are in
  // bounds, labels are unique and the live count agrees with the header. A graph that passes
  // cannot make a search read outside its arrays.
  std::unordered_map<hnswlib::labeltype, tableint> lookup;
  if (!mapped) lookup.reserve(count);
  std::size_t deleted = 0;
  auto check_list = [&](const unsigned char* list, std::size_t limit, int level, std::size_t i) {
    std::uint16_t n;
    std::memcpy(&n, list, sizeof n);
    if (n > limit) fail("element " + std::to_string(i) + " has " + std::to_string(n) + " links at level " + std::to_string(level));
    for (std::size_t j = 0; j < n; ++j) {
      tableint t;
      std::memcpy(&t, list + sizeof(unsigned) + j * sizeof(tableint), sizeof t);
      if (t >= count || levels[t] < level) {
        fail("element " + std::to_string(i) + " links to missing node " + std::to_string(t));
      }
    }
  };
  for (std::size_t i = 0; i < count && mapped; ++i) {
    for (int l = 1; l <= levels[i]; ++l) {
      check_list(reinterpret_cast<const unsigned char*>(upper[i]) + (l - 1) * links_per_level, max_m, l, i);
    }
  }
  for (std::size_t i = 0; i < count && !mapped; ++i) {
    const auto* rec = reinterpret_cast<const unsigned char*>(base + i * size_per_element);
    if ((rec[2] & ~Graph::DELETE_MARK) != 0 || rec[3] != 0) fail("element " + std::to_string(i) + " has unknown flags");
    deleted += (rec[2] & Graph::DELETE_MARK) ? 1 : 0;
    check_list(rec, max_m0, 0, i);
    for (int l = 1; l <= levels[i]; ++l) {
      check_list(reinterpret_cast<const unsigned char*>(upper[i]) + (l - 1) * links_per_level, max_m, l, i);
    }
    hnswlib::labeltype label;
    std::memcpy(&label, rec + label_offset, sizeof label);
    if (!lookup.emplace(label, static_cast<tableint>(i)).second) fail("id " + std::to_string(label) + " appears twice");
    if (has_table && read_labels[i] != label) fail("the label table disagrees with element " + std::to_string(i));
  }
  if (count > 0 && levels[entry] != max_level) fail("the entry point is not on the top level");
  if (mapped) {
    deleted = count - live;  // the header's count is checksummed; the records' marks are not read
  } else if (count - deleted != live) {
    fail("live element count disagrees with the header");
  }
  // The table's by-label order lists every live node once, by ascending id: with as many
  // entries as live nodes, strictly ascending ids and only live nodes, none can be missing.
  for (std::size_t j = 0; j < read_by_label.size(); ++j) {
    const tableint node = read_by_label[j];
    if (node >= count || is_deleted_record(base + node * size_per_element) ||
        (j > 0 && read_labels[read_by_label[j - 1]] >= read_labels[node])) {
      fail("the label table's order by id is damaged at entry " + std::to_string(j));
    }
  }

  // Only now does hnswlib get the data: a minimal graph adopts the validated buffers.
  HnswParams params;
  params.M = m;
  params.ef_construction = ef_construction;
  params.ef_search = ef_search;
  params.storage = storage;
  auto index = std::make_unique<HnswIndex>(dim, header.metric, params);
  HnswIndex::Impl& impl = *index->impl_;
  Graph& g = *impl.graph;
  std::free(g.data_level0_memory_);
  g.data_level0_memory_ = mapped ? const_cast<char*>(base) : level0.release();
  impl.mapping = std::move(mapping);  // from here on the graph's pointers into it are let go of, not freed
  std::free(g.linkLists_);
  g.linkLists_ = static_cast<char**>(std::calloc(capacity, sizeof(char*)));
  if (!g.linkLists_) throw Error(ErrorCode::io, in.path() + ": out of memory for HNSW links");
  for (std::size_t i = 0; i < count; ++i) {
    g.linkLists_[i] = const_cast<char*>(upper[i]);
    if (!mapped) owned[i].release();
  }
  g.element_levels_ = std::move(levels);
  g.element_levels_.resize(capacity);
  // Only inserts lock nodes, and a mapped graph is loaded whole before anything changes it.
  std::vector<std::mutex>(mapped ? 1 : capacity).swap(g.link_list_locks_);
  delete g.visited_list_pool_;
  g.visited_list_pool_ = new hnswlib::VisitedListPool(1, capacity);
  g.max_elements_ = capacity;
  g.cur_element_count = count;
  g.maxlevel_ = max_level;
  g.enterpoint_node_ = entry;
  g.num_deleted_ = deleted;
  g.ef_construction_ = ef_construction;
  g.label_lookup_ = std::move(lookup);
  if (Quantizer* codec = impl.space->codec()) {
    if (const std::string problem = codec->set_ranges(std::move(lo), std::move(step), trained_on); !problem.empty()) {
      fail(problem);
    }
    // Codes are kept as read (any byte is a valid code); the floats must be finite. Rebuilding
    // the codes here cost about 1 s per 100k 512-d vectors with the first, scalar, encoder.
    const detail::RecordSpan records = records_of(g);
    for (std::size_t i = 0; i < count && !mapped; ++i) {
      if (!codec->finite(records.at(i))) fail("element " + std::to_string(i) + " holds a non-finite value");
    }
  }
  if (row_bytes) {
    impl.rows = std::move(rows);
    impl.row_base = mapped ? mapped_rows : impl.rows.data();
  }
  if (mapped) {
    impl.use_table(table_labels, by_label, live);
  } else {
    impl.refresh_labels(0);
  }
  return index;
}

}  // namespace detail
}  // namespace imgvec

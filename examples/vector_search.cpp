// Index a set of embeddings, save the index, reopen it and search it: the job imgvec does for
// people who bring their own vectors. Until the image database lands this is the main demo.
//
//   vector_search                              20k synthetic CLIP-like 512-d vectors
//   vector_search --base b.fvecs --queries q.fvecs [--kind flat|hnsw] [--k 5] [--index file]
// The index file goes to the temporary directory unless --index says otherwise.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "datasets.hpp"
#include "imgvec/imgvec.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--base FILE.fvecs] [--queries FILE.fvecs] [--kind flat|hnsw]\n"
               "          [--n N] [--dim D] [--k K] [--index PATH]\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string base_path, query_path, kind = "hnsw";
  std::string index_path;  // --index PATH keeps the saved index there; else a temporary file, removed
  bool keep_index = false;
  std::size_t n = 20000, dim = 512, k = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--base" && has_value) base_path = argv[++i];
    else if (arg == "--queries" && has_value) query_path = argv[++i];
    else if (arg == "--kind" && has_value) kind = argv[++i];
    else if (arg == "--index" && has_value) index_path = argv[++i], keep_index = true;
    else if (arg == "--n" && has_value) n = std::strtoull(argv[++i], nullptr, 10);
    else if (arg == "--dim" && has_value) dim = std::strtoull(argv[++i], nullptr, 10);
    else if (arg == "--k" && has_value) k = std::strtoull(argv[++i], nullptr, 10);
    else return usage(argv[0]);
  }
  if ((kind != "flat" && kind != "hnsw") || k == 0 || n == 0 || dim == 0) return usage(argv[0]);
  if (!keep_index) {
    index_path = (std::filesystem::temp_directory_path() / ("imgvec-vector-search-" + std::to_string(::getpid()) + ".imgvec")).string();
  }
  // The temporary index (tens of MB at the default size) goes when the program ends, however it ends.
  struct RemoveAtExit {
    const std::string& path;
    bool keep;
    ~RemoveAtExit() {
      std::error_code ignored;
      if (!keep) std::filesystem::remove(path, ignored);
    }
  } remove_at_exit{index_path, keep_index};

  try {
    using namespace imgvec;
    const testing::Dataset base =
        base_path.empty() ? testing::clustered(n, dim, 1) : testing::read_fvecs(base_path);
    const testing::Dataset queries =
        query_path.empty() ? testing::clustered(3, base.dim, 1, 7) : testing::read_fvecs(query_path, 3);
    std::printf("imgvec %s: %zu vectors of dimension %zu (%s)\n", version_string(), base.rows,
                base.dim, base_path.empty() ? "synthetic, CLIP-like" : base_path.c_str());

    auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<Index> index;
    if (kind == "hnsw") {
      index = std::make_unique<HnswIndex>(base.dim, Metric::cosine);
    } else {
      index = std::make_unique<FlatIndex>(base.dim, Metric::cosine);
    }
    index->add_batch(testing::iota_ids(base.rows), base.view());
    std::printf("built %s index in %.2f s\n", kind.c_str(), seconds_since(t0));

    t0 = std::chrono::steady_clock::now();
    index->save(index_path);
    auto reopened = Index::load(index_path, base.dim);
    std::printf("saved to %s (%.1f MiB%s) and reopened in %.2f s (%zu vectors, %.1f MiB in memory)\n",
                index_path.c_str(), std::filesystem::file_size(index_path) / 1048576.0,
                keep_index ? "" : "; a temporary file, removed at the end; --index PATH keeps it",
                seconds_since(t0), reopened->size(), reopened->memory_bytes() / 1048576.0);

    FlatIndex exact(base.dim, Metric::cosine);
    exact.add_batch(testing::iota_ids(base.rows), base.view());
    for (std::size_t q = 0; q < queries.rows; ++q) {
      const VectorView query(queries.row(q), queries.dim);
      t0 = std::chrono::steady_clock::now();
      const auto hits = reopened->search(query, k);
      const double ms = seconds_since(t0) * 1e3;
      const auto truth = exact.search(query, k);
      std::size_t agree = 0;
      for (const auto& h : hits) {
        for (const auto& t : truth) agree += h.id == t.id;
      }
      std::printf("\nquery %zu: top %zu in %.3f ms (%zu of %zu match exact search)\n", q, k, ms,
                  agree, truth.size());
      std::printf("  %-8s %-10s %s\n", "rank", "id", "cosine");
      for (std::size_t i = 0; i < hits.size(); ++i) {
        std::printf("  %-8zu %-10llu %.4f\n", i + 1, static_cast<unsigned long long>(hits[i].id),
                    hits[i].score);
      }
    }
  } catch (const imgvec::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

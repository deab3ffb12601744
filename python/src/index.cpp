// FlatIndex and HnswIndex with a Faiss-like numpy API: add(ids, x), search(q, k) -> (scores, ids).
#include <limits>

#include "bindings.hpp"
#include "imgvec/error.hpp"
#include "imgvec/index/filter.hpp"
#include "imgvec/index/flat_index.hpp"
#include "imgvec/index/hnsw_index.hpp"

namespace imgvec::python {
namespace {

Metric metric_from(const std::string& name) {
  if (name == "cosine") return Metric::cosine;
  if (name == "ip" || name == "inner_product") return Metric::inner_product;
  if (name == "l2") return Metric::l2;
  throw py::value_error("metric must be \"cosine\", \"ip\" or \"l2\", not \"" + name + "\"");
}

}  // namespace

VectorStorage storage_from(bool float16, const std::string& storage) {
  if (storage.empty()) return float16 ? VectorStorage::float16 : VectorStorage::float32;
  const VectorStorage s = parse_vector_storage(storage);
  if (float16 && s != VectorStorage::float16) {
    throw py::value_error("float16=True and storage=\"" + storage + "\" disagree: give one of them");
  }
  return s;
}

namespace {

// (n, d) from a 1-d (one vector) or 2-d array; ValueError naming the argument otherwise.
MatrixView matrix(const FloatArray& x, std::size_t d, const char* what) {
  if (x.ndim() == 1) {
    if (static_cast<std::size_t>(x.shape(0)) != d)
      throw py::value_error(std::string(what) + ": a vector of " + std::to_string(x.shape(0)) + " values, the index holds " + std::to_string(d));
    return MatrixView(x.data(), 1, d);
  }
  if (x.ndim() != 2 || static_cast<std::size_t>(x.shape(1)) != d)
    throw py::value_error(std::string(what) + ": an array of shape (n, " + std::to_string(d) + ") is needed");
  return MatrixView(x.data(), static_cast<std::size_t>(x.shape(0)), d);
}

std::vector<Id> id_list(const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& ids) {
  if (ids.ndim() != 1) throw py::value_error("ids: a 1-d array of integers is needed");
  std::vector<Id> out(static_cast<std::size_t>(ids.shape(0)));
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (ids.data()[i] < 0) throw py::value_error("ids must be >= 0");
    out[i] = static_cast<Id>(ids.data()[i]);
  }
  return out;
}

// Searches q (n x d); k results per row as (scores, ids) arrays, padded with -inf and -1 where an
// index holds fewer (Faiss's convention).
py::tuple search(const Index& index, const FloatArray& q, std::size_t k, const py::object& allow,
                 const py::object& min_score, std::size_t ef, std::size_t rerank) {
  if (k == 0) throw py::value_error("k must be >= 1");
  const MatrixView queries = matrix(q, index.dimension(), "search");
  std::optional<Filter> filter;
  if (!allow.is_none()) filter = Filter::allow(id_list(allow.cast<py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>>()));
  SearchParams params(k);
  params.filter = filter ? &*filter : nullptr;
  params.ef = ef;
  params.rerank = rerank;
  if (!min_score.is_none()) params.min_score = min_score.cast<float>();
  std::vector<std::vector<SearchHit>> hits;
  {
    py::gil_scoped_release release;
    hits = index.search_batch(queries, params);
  }
  py::array_t<float> scores({queries.rows, k});
  py::array_t<std::int64_t> ids({queries.rows, k});
  auto s = scores.mutable_unchecked<2>();
  auto i = ids.mutable_unchecked<2>();
  for (std::size_t r = 0; r < queries.rows; ++r) {
    for (std::size_t c = 0; c < k; ++c) {
      const bool have = c < hits[r].size();
      s(r, c) = have ? hits[r][c].score : -std::numeric_limits<float>::infinity();
      i(r, c) = have ? static_cast<std::int64_t>(hits[r][c].id) : -1;
    }
  }
  return py::make_tuple(scores, ids);
}

template <typename T>
void bind_common(py::class_<T>& c) {
  c.def_property_readonly("dimension", &T::dimension, "Values per vector.")
      .def_property_readonly("ntotal", &T::size, "Vectors held (Faiss's name).")
      .def("__len__", &T::size)
      .def("__repr__", [](const T& index) {
        return std::string("<imgvec.") + (index.kind() == IndexKind::flat ? "FlatIndex " : "HnswIndex ") +
               std::to_string(index.dimension()) + "-d " + to_string(index.metric()) + ", " +
               std::to_string(index.size()) + " vectors>";
      })
      .def("__contains__", [](const T& index, std::int64_t id) { return id >= 0 && index.contains(static_cast<Id>(id)); })
      .def(
          "add",
          [](T& index, const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& ids, const FloatArray& x) {
            const std::vector<Id> list = id_list(ids);
            const MatrixView v = matrix(x, index.dimension(), "add");
            if (v.rows != list.size())
              throw py::value_error("add: " + std::to_string(list.size()) + " ids for " + std::to_string(v.rows) + " vectors");
            py::gil_scoped_release release;
            index.add_batch(list, v);
          },
          py::arg("ids"), py::arg("x"),
          "Adds vectors x (n x d, float32; other types are converted) under ids (n integers >= 0). An id "
          "already held is replaced.")
      .def(
          "search",
          [](const T& index, const FloatArray& q, std::size_t k, const py::object& allow, const py::object& min_score,
             std::size_t ef, std::size_t rerank) { return search(index, q, k, allow, min_score, ef, rerank); },
          py::arg("q"), py::arg("k") = 10, py::kw_only(), py::arg("allow") = py::none(),
          py::arg("min_score") = py::none(), py::arg("ef") = 0, py::arg("rerank") = 0,
          "The k nearest of each query row: (scores, ids), both (n, k); rows with fewer results end in "
          "-inf and -1. allow: only these ids. min_score: only results at least this similar. ef (HNSW): "
          "the beam width, 0 for the index's. rerank (HNSW sq8, sq4): how many of the walk's best candidates are "
          "re-scored, 0 for all. The GIL is released while searching.")
      .def("remove", [](T& index, std::int64_t id) { return id >= 0 && index.remove(static_cast<Id>(id)); },
           py::arg("id"), "Removes a vector; False if it was not there.")
      .def(
          "reconstruct",
          [](const T& index, std::int64_t id) {
            if (id < 0) throw py::value_error("ids must be >= 0");
            std::vector<float> v = index.get_vector(static_cast<Id>(id));
            const std::size_t d = v.size();
            return to_array(std::move(v), 1, d).attr("reshape")(d);
          },
          py::arg("id"), "The stored vector (normalized for the cosine metric); imgvec.NotFoundError if absent.")
      .def("ids", [](const T& index) {
        const std::vector<Id> all = index.ids();
        py::array_t<std::int64_t> out(static_cast<py::ssize_t>(all.size()));
        for (std::size_t j = 0; j < all.size(); ++j) out.mutable_data()[j] = static_cast<std::int64_t>(all[j]);
        return out;
      }, "The ids held, as an int64 array.")
      .def("save", [](const T& index, const std::string& path) {
        py::gil_scoped_release release;
        index.save(path);
      }, py::arg("path"), "Writes the index to a checked file, atomically.")
      .def_property("threads", &T::threads, &T::set_threads, "Threads a batch search uses.");
}

}  // namespace

void bind_index(py::module_& m) {
  py::class_<FlatIndex> flat(m, "FlatIndex", "Exact search over every vector with SIMD kernels.");
  flat.def(py::init([](std::size_t d, const std::string& metric) { return std::make_unique<FlatIndex>(d, metric_from(metric)); }),
           py::arg("dimension"), py::arg("metric") = "cosine",
           "An empty index of dimension-d vectors; metric \"cosine\" (default), \"ip\" or \"l2\".")
      .def_static("load", [](const std::string& path) { return FlatIndex::load(path); }, py::arg("path"),
                  "Loads a file FlatIndex.save wrote; imgvec.CorruptFileError if damaged.");
  bind_common(flat);

  py::class_<HnswIndex> hnsw(m, "HnswIndex", "Approximate graph search (hnswlib) with imgvec's SIMD kernels.");
  hnsw.def(py::init([](std::size_t d, const std::string& metric, std::size_t M, std::size_t ef_construction,
                       std::size_t ef_search, bool float16, const std::string& storage) {
             HnswParams p;
             p.M = M;
             p.ef_construction = ef_construction;
             p.ef_search = ef_search;
             p.storage = storage_from(float16, storage);
             return std::make_unique<HnswIndex>(d, metric_from(metric), p);
           }),
           py::arg("dimension"), py::arg("metric") = "cosine", py::kw_only(), py::arg("M") = 16,
           py::arg("ef_construction") = 200, py::arg("ef_search") = 64, py::arg("float16") = false,
           py::arg("storage") = "",
           "An empty HNSW index. storage: \"float32\" (default), \"float16\" (half the memory of the "
           "vectors; float16=True says the same), \"sq8\" (the walk reads 8-bit codes and re-scores its best "
           "candidates in half precision: 1.6-2x as fast) or \"sq4\" (4-bit codes: faster still at recall 0.95 "
           "and above).")
      .def_static("load", [](const std::string& path, bool mapped) {
                    return mapped ? HnswIndex::open_mapped(path) : HnswIndex::load(path);
                  }, py::arg("path"), py::kw_only(), py::arg("mapped") = false,
                  "Loads a file HnswIndex.save wrote; imgvec.CorruptFileError if damaged. mapped=True searches the "
                  "file where it lies instead of reading it (an open that reads only what searches touch, for a few "
                  "searches on a large index); the first change, or save(), reads and checks it whole.")
      .def_property_readonly("mapped", &HnswIndex::mapped, "True while searching the file where it lies (load(mapped=True)).");
  bind_common(hnsw);
}

}  // namespace imgvec::python

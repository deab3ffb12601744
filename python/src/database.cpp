// VectorDatabase for Python, with the names of the Python class it replaces: add_image,
// add_images_batch, search_by_text, search_by_image, get_stats, index_directory, ...
// Over 400 lines because it is one pybind11 class: its methods and their docstrings are one
// chained definition, which reads as the Python class's page; each method body is a few lines
// that convert arguments and call the library.
#include <fstream>
#include <optional>

#include "bindings.hpp"
#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"
#include "wire/wire.hpp"

namespace imgvec::python {
namespace {

struct PyResult {
  Id id = 0;
  float score = 0;
  py::dict record;
};

// The database and the encoder it was opened with; close() drops both, and every call takes its
// own reference first, so a search running on another thread finishes before the files close.
struct PyDatabase {
  std::shared_ptr<VectorDatabase> db;
  std::shared_ptr<PyEncoder> encoder;

  std::shared_ptr<VectorDatabase> get() const {
    if (!db) throw py::value_error("this database is closed");
    return db;
  }
};

// Errors raised by a Python callback inside a C++ call: kept, the call is cancelled, and the
// error is raised again once it returns.
struct CallbackErrors {
  std::optional<py::error_already_set> error;
  void rethrow() {
    if (error) {
      py::error_already_set e = std::move(*error);
      error.reset();
      throw e;
    }
  }
};

std::function<void(std::size_t, std::size_t)> progress_from(const py::object& callback, CallbackErrors& errors) {
  if (callback.is_none()) return {};
  // A pointer, not a copy: the C++ side may copy the function on threads without the GIL, and
  // copying a py::object there would touch its reference count. The caller's object outlives the call.
  const py::object* cb = &callback;
  return [cb, &errors](std::size_t done, std::size_t total) {
    py::gil_scoped_acquire gil;
    if (errors.error) return;
    try {
      (*cb)(done, total);
    } catch (py::error_already_set& e) {
      errors.error = std::move(e);
    }
  };
}

// Ctrl-C (or an error in a callback) stops a long run at its next safe point.
std::function<bool()> cancel_on_signal(CallbackErrors& errors) {
  return [&errors] {
    py::gil_scoped_acquire gil;
    if (!errors.error && PyErr_CheckSignals() != 0) errors.error = py::error_already_set();
    return errors.error.has_value();
  };
}

SearchOptions search_options(std::size_t k, std::size_t offset, const py::object& where, const py::object& min_score,
                             const std::string& sort) {
  if (k == 0) throw py::value_error("k must be >= 1");
  SearchOptions o(k);
  o.offset = offset;
  o.where = where_from_python(where);
  if (!min_score.is_none()) o.min_score = min_score.cast<float>();
  o.sort = parse_sort_order(sort);
  return o;
}

std::vector<PyResult> results(std::vector<SearchResult>&& hits) {
  std::vector<PyResult> out;
  out.reserve(hits.size());
  for (SearchResult& h : hits) out.push_back({h.id, h.score, record_to_python(h.record)});
  return out;
}

py::dict add_result(const AddResult& r) {
  return py::reinterpret_borrow<py::dict>(to_python(wire::to_json(r)));
}

// A database's encoder as a Python Encoder: the one it was opened with, or the one the library
// chose (loaded now if it was deferred).
std::shared_ptr<PyEncoder> encoder_of(PyDatabase& self) {
  if (self.encoder) return self.encoder;
  const std::shared_ptr<VectorDatabase> db = self.get();
  auto e = std::make_shared<PyEncoder>();
  {
    py::gil_scoped_release release;
    e->encoder = db->shared_encoder();
  }
  if (e->encoder->fingerprint().kind == "clip") {
    e->model_name = clip_model_name(*e->encoder);
    e->runtime = clip_runtime(*e->encoder);
  }
  self.encoder = e;
  return e;
}

py::dict stats_dict(const DatabaseStats& s) {
  return py::reinterpret_borrow<py::dict>(to_python(wire::to_json(s)));
}

std::vector<PyResult> search_image(const VectorDatabase& db, const py::object& image, const SearchOptions& o) {
  // A path (str or os.PathLike), encoded bytes, or pixels.
  if (py::isinstance<py::bytes>(image) || py::isinstance<py::bytearray>(image) || py::isinstance<py::memoryview>(image)) {
    const std::string bytes = py::isinstance<py::bytes>(image) ? image.cast<std::string>()
                                                                : py::bytes(image).cast<std::string>();
    std::vector<SearchResult> hits;
    {
      py::gil_scoped_release release;
      hits = db.search_by_image_bytes(bytes.data(), bytes.size(), o);
    }
    return results(std::move(hits));
  }
  if (py::isinstance<py::array>(image)) {
    const Image im = image_from_array(image.cast<py::array>());
    std::vector<SearchResult> hits;
    {
      py::gil_scoped_release release;
      hits = db.search_by_image(im, o);
    }
    return results(std::move(hits));
  }
  const std::string path = py::str(py::module_::import("os").attr("fspath")(image)).cast<std::string>();
  std::vector<SearchResult> hits;
  {
    py::gil_scoped_release release;
    hits = db.search_by_image(path, o);
  }
  return results(std::move(hits));
}

}  // namespace

void bind_database(py::module_& m) {
  py::class_<PyResult>(m, "SearchResult", "One result: id, score (cosine similarity) and record (a dict).")
      .def_readonly("id", &PyResult::id)
      .def_readonly("score", &PyResult::score)
      .def_readonly("record", &PyResult::record)
      .def("__repr__", [](const PyResult& r) {
        return "<SearchResult id=" + std::to_string(r.id) + " score=" + std::to_string(r.score) + " " +
               py::repr(r.record.contains("source") ? r.record["source"] : py::none()).cast<std::string>() + ">";
      });

  py::class_<PyDatabase, std::shared_ptr<PyDatabase>> c(m, "VectorDatabase",
      "Images, their vectors and their records in one folder, searched by image, text or vector. Thread-safe: "
      "searches run in parallel with the GIL released.");
  c.def_static("create", [](const std::string& directory, const py::object& encoder, const std::string& index,
                            bool float16, const std::string& durability) {
        auto self = std::make_shared<PyDatabase>();
        self->encoder = encoder.is_none() ? std::make_shared<PyEncoder>() : encoder.cast<std::shared_ptr<PyEncoder>>();
        if (!self->encoder->encoder) self->encoder->encoder = std::make_shared<DescriptorEncoder>();
        DatabaseOptions o;
        o.index_kind = parse_index_kind(index);
        if (float16) o.hnsw.storage = VectorStorage::float16;
        o.durability = parse_durability(durability);
        {
          py::gil_scoped_release release;
          self->db = VectorDatabase::create(directory, self->encoder->encoder, o);
        }
        // Remembered as the CLI remembers it, so open() and `imgvec search` find the bundle again.
        self->db->remember_model_bundle(self->encoder->bundle);
        return self;
      }, py::arg("directory"), py::arg("encoder") = py::none(), py::kw_only(), py::arg("index") = "hnsw",
      py::arg("float16") = false, py::arg("durability") = "on_save",
      "A new database in `directory` (which must not hold one). encoder: imgvec.DescriptorEncoder() when None. "
      "durability \"on_write\" makes every change durable before it returns.")
      .def_static("open", [](const std::string& directory, const py::object& encoder, const std::string& durability,
                             const std::string& model) {
        auto self = std::make_shared<PyDatabase>();
        OpenOptions o;
        o.durability = parse_durability(durability);
        ModelChoice choice;
        choice.bundle = model;
        if (!encoder.is_none()) {
          if (!model.empty()) throw py::value_error("give encoder= or model=, not both");
          self->encoder = encoder.cast<std::shared_ptr<PyEncoder>>();
        }
        py::gil_scoped_release release;
        self->db = self->encoder ? VectorDatabase::open(directory, self->encoder->encoder, o)
                                 : VectorDatabase::open(directory, o, choice);
        return self;
      }, py::arg("directory"), py::arg("encoder") = py::none(), py::kw_only(), py::arg("durability") = "on_save",
      py::arg("model") = "",
      "An existing database. encoder None: the encoder it was built with, chosen by imgvec: the built-in one, or "
      "the CLIP bundle it remembers (model= names another place for it), loaded only when something is embedded. "
      "imgvec.IncompatibleError if an encoder or model given is not the one it was built with.")
      .def_static("exists", &VectorDatabase::exists, py::arg("directory"), "Whether `directory` holds an imgvec database.")
      .def("__enter__", [](const std::shared_ptr<PyDatabase>& self) { return self; })
      .def("__exit__", [](PyDatabase& self, const py::object& type, const py::object&, const py::object&) {
        // Saved when the block ends normally; after an exception, what was acknowledged stays
        // (durability) and nothing more is written.
        if (self.db && type.is_none()) {
          py::gil_scoped_release release;
          self.db->save();
        }
        self.db.reset();
        return false;
      })
      .def("close", [](PyDatabase& self) {
        if (self.db) {
          py::gil_scoped_release release;
          self.db->save();
        }
        self.db.reset();
      }, "Saves and releases the folder; any later call raises ValueError.")
      .def_property_readonly("closed", [](const PyDatabase& self) { return !self.db; })
      .def_property_readonly("encoder", [](PyDatabase& self) { return encoder_of(self); })
      .def_property_readonly("directory", [](const PyDatabase& self) { return self.get()->directory(); })
      .def("__len__", [](const PyDatabase& self) { return self.get()->size(); })
      .def("__contains__", [](const PyDatabase& self, std::int64_t id) { return id >= 0 && self.get()->get(static_cast<Id>(id)).has_value(); })
      .def("add_image", [](const PyDatabase& self, const py::object& path, const py::object& metadata,
                           const std::vector<std::string>& tags) {
        const std::string p = py::str(py::module_::import("os").attr("fspath")(path)).cast<std::string>();
        const Metadata md = metadata_from_python(metadata);
        auto db = self.get();
        py::gil_scoped_release release;
        return db->add_image(p, md, tags);
      }, py::arg("path"), py::arg("metadata") = py::none(), py::arg("tags") = std::vector<std::string>{},
      "Adds an image file and returns its id; the same file again is updated, not duplicated.")
      .def("add_image_bytes", [](const PyDatabase& self, const py::bytes& data, const std::string& name,
                                 const py::object& metadata, const std::vector<std::string>& tags) {
        const std::string bytes = data;
        const Metadata md = metadata_from_python(metadata);
        auto db = self.get();
        py::gil_scoped_release release;
        return db->add_image_bytes(bytes.data(), bytes.size(), name, md, tags);
      }, py::arg("data"), py::arg("name"), py::arg("metadata") = py::none(), py::arg("tags") = std::vector<std::string>{},
      "Adds an encoded image from memory (its record has no source file).")
      .def("add_images_batch", [](const PyDatabase& self, const std::vector<std::string>& paths,
                                  const py::object& metadata, const py::object& progress) {
        std::vector<Metadata> md;
        if (!metadata.is_none()) {
          for (const auto& one : metadata) md.push_back(metadata_from_python(one));
          if (md.size() != paths.size())
            throw py::value_error("add_images_batch: " + std::to_string(md.size()) + " metadata for " + std::to_string(paths.size()) + " paths");
        }
        CallbackErrors errors;
        const auto report = progress_from(progress, errors);
        auto db = self.get();
        std::vector<AddResult> out;
        {
          py::gil_scoped_release release;
          out = db->add_images_batch(paths, md, report);
        }
        errors.rethrow();
        py::list list;
        for (const AddResult& r : out) list.append(add_result(r));
        return list;
      }, py::arg("paths"), py::arg("metadata") = py::none(), py::arg("progress") = py::none(),
      "Adds many files, embedded in batches; one dict per path (source, status, id, error when failed). A "
      "file that fails does not stop the others. progress(done, total) is called as batches finish.")
      .def("index_directory", [](const PyDatabase& self, const py::object& directory, bool recursive,
                                 const std::vector<std::string>& exclude, bool remove_missing, const py::object& progress) {
        const std::string dir = py::str(py::module_::import("os").attr("fspath")(directory)).cast<std::string>();
        CallbackErrors errors;
        IndexDirectoryOptions o;
        o.recursive = recursive;
        o.exclude = exclude;
        o.remove_missing = remove_missing;
        o.progress = progress_from(progress, errors);
        o.cancel = cancel_on_signal(errors);
        auto db = self.get();
        IndexDirectoryReport r;
        {
          py::gil_scoped_release release;
          r = db->index_directory(dir, o);
        }
        errors.rethrow();  // KeyboardInterrupt: what was embedded is stored and checkpointed
        return py::reinterpret_borrow<py::dict>(to_python(wire::to_json(r)));
      }, py::arg("directory"), py::kw_only(), py::arg("recursive") = true,
      py::arg("exclude") = std::vector<std::string>{}, py::arg("remove_missing") = false,
      py::arg("progress") = py::none(),
      "Adds new and changed image files under a folder, skips unchanged ones, follows renames; checkpoints as it "
      "goes, so Ctrl-C (KeyboardInterrupt) keeps what was done. Returns a report dict.")
      .def("search_by_text", [](const PyDatabase& self, const std::string& text, std::size_t k, const py::object& where,
                                const py::object& min_score, std::size_t offset, const std::string& sort) {
        const SearchOptions o = search_options(k, offset, where, min_score, sort);
        auto db = self.get();
        std::vector<SearchResult> hits;
        {
          py::gil_scoped_release release;
          hits = db->search_by_text(text, o);
        }
        return results(std::move(hits));
      }, py::arg("text"), py::arg("k") = 10, py::kw_only(), py::arg("where") = py::none(), py::arg("min_score") = py::none(),
      py::arg("offset") = 0, py::arg("sort") = "score",
      "The k images most like a text (CLIP encoders only). where: a filter such as \"camera=canon*\" or a list of them.")
      .def("search_by_image", [](const PyDatabase& self, const py::object& image, std::size_t k, const py::object& where,
                                 const py::object& min_score, std::size_t offset, const std::string& sort) {
        return search_image(*self.get(), image, search_options(k, offset, where, min_score, sort));
      }, py::arg("image"), py::arg("k") = 10, py::kw_only(), py::arg("where") = py::none(), py::arg("min_score") = py::none(),
      py::arg("offset") = 0, py::arg("sort") = "score",
      "The k images most like an image: a path, encoded bytes, or an HxWx3 uint8 array.")
      .def("search_by_vector", [](const PyDatabase& self, const FloatArray& vector, std::size_t k, const py::object& where,
                                  const py::object& min_score, std::size_t offset, const std::string& sort) {
        if (vector.ndim() != 1) throw py::value_error("search_by_vector: a 1-d vector is needed");
        const SearchOptions o = search_options(k, offset, where, min_score, sort);
        auto db = self.get();
        std::vector<SearchResult> hits;
        {
          py::gil_scoped_release release;
          hits = db->search_by_vector(VectorView(vector.data(), static_cast<std::size_t>(vector.shape(0))), o);
        }
        return results(std::move(hits));
      }, py::arg("vector"), py::arg("k") = 10, py::kw_only(), py::arg("where") = py::none(),
      py::arg("min_score") = py::none(), py::arg("offset") = 0, py::arg("sort") = "score",
      "The k images nearest a vector of the database's dimension.")
      .def("find_duplicates", [](const PyDatabase& self, float threshold, bool verify, float candidate_threshold,
                                 const py::object& progress) {
        DuplicateOptions o;
        o.threshold = threshold;
        o.verify = verify;
        o.candidate_threshold = candidate_threshold;
        CallbackErrors errors;
        o.progress = progress_from(progress, errors);
        auto db = self.get();
        std::vector<DuplicateGroup> groups;
        {
          py::gil_scoped_release release;
          groups = db->find_duplicates(o);
        }
        errors.rethrow();
        py::list out;
        for (const DuplicateGroup& g : groups) out.append(to_python(wire::to_json(g, *db)));
        return out;
      }, py::arg("threshold") = DuplicateOptions().threshold, py::kw_only(), py::arg("verify") = true,
      py::arg("candidate_threshold") = DuplicateOptions().candidate_threshold, py::arg("progress") = py::none(),
      "Groups of duplicates: dicts of keeper (the largest image's id), exact, and images: a dict for each with id, "
      "score (cosine to the keeper), matched_by, keeper (bool) and record. "
      "verify: check near pairs on their pixels (finds crops and captions; reads the files again).")
      .def("get", [](const PyDatabase& self, std::int64_t id) -> py::object {
        if (id < 0) return py::none();
        const auto r = self.get()->get(static_cast<Id>(id));
        return r ? py::object(record_to_python(*r)) : py::object(py::none());
      }, py::arg("id"), "The record of an id as a dict, or None.")
      .def("get_vector", [](const PyDatabase& self, std::int64_t id) {
        if (id < 0) throw Error(ErrorCode::not_found, "no image with id " + std::to_string(id));
        std::vector<float> v = self.get()->get_vector(static_cast<Id>(id));
        const std::size_t d = v.size();
        return to_array(std::move(v), 1, d).attr("reshape")(d);
      }, py::arg("id"), "The stored vector of an id.")
      .def("ids", [](const PyDatabase& self) { return self.get()->ids(); }, "Every id, ascending.")
      .def("remove", [](const PyDatabase& self, std::int64_t id) {
        if (id < 0) return false;
        auto db = self.get();
        py::gil_scoped_release release;
        return db->remove(static_cast<Id>(id));
      }, py::arg("id"), "Removes an image; False if there was none.")
      .def("update_metadata", [](const PyDatabase& self, std::int64_t id, const py::object& metadata, const py::object& tags) {
        if (id < 0) throw Error(ErrorCode::not_found, "no image with id " + std::to_string(id));
        const Metadata md = metadata_from_python(metadata);
        std::optional<std::vector<std::string>> t;
        if (!tags.is_none()) t = tags.cast<std::vector<std::string>>();
        auto db = self.get();
        py::gil_scoped_release release;
        db->update_metadata(static_cast<Id>(id), md, t ? &*t : nullptr);
      }, py::arg("id"), py::arg("metadata"), py::arg("tags") = py::none(),
      "Replaces an image's metadata (and its tags, when given).")
      .def("get_stats", [](const PyDatabase& self) { return stats_dict(self.get()->get_stats()); },
           "Counts, sizes, the encoder, the index and the formats held, as a dict.")
      .def("export_metadata", [](const PyDatabase& self, const std::string& path, const std::optional<std::string>& format) {
        const ExportFormat f = format ? parse_export_format(*format) : export_format_for_path(path);
        auto db = self.get();
        py::gil_scoped_release release;
        db->export_metadata(path, f);
      }, py::arg("path"), py::arg("format") = py::none(),
      "Every record, written atomically: JSON lines, one JSON array or CSV, as the file's name says (.jsonl, .json, "
      ".csv) or format= does; ValueError for a name of another format.")
      .def("export_vectors", [](const PyDatabase& self, const std::string& vectors, const std::string& ids) {
        auto db = self.get();
        py::gil_scoped_release release;
        db->export_vectors(vectors, ids);
      }, py::arg("vectors_npy"), py::arg("ids_npy"), "Every vector and its id as two .npy files (numpy.load reads them).")
      .def("export_external", [](const PyDatabase& self, const std::string& directory, const std::string& format,
                                 const std::string& collection, std::size_t points_per_file, std::uint64_t max_file_bytes) {
        ExternalExportOptions o;
        o.format = parse_external_format(format);
        o.collection = collection;
        o.points_per_file = points_per_file;
        o.max_file_bytes = max_file_bytes;
        auto db = self.get();
        ExternalExportReport r;
        {
          py::gil_scoped_release release;
          r = db->export_external(directory, o);
        }
        return py::dict(py::arg("images") = r.images, py::arg("files") = r.files);
      }, py::arg("directory"), py::arg("format"), py::kw_only(), py::arg("collection") = "images",
      py::arg("points_per_file") = 1000, py::arg("max_file_bytes") = std::uint64_t{1} << 30,
      "Everything (ids, vectors, records) for Qdrant, Milvus or pgvector, in a new folder written atomically; "
      "docs/scale-out.md says how to load it. Returns {images, files}.")
      .def("import_export", [](const PyDatabase& self, const std::string& directory, bool new_ids, const py::object& progress,
                               const std::string& source_root) {
        CallbackErrors errors;
        ImportOptions o;
        o.new_ids = new_ids;
        o.source_root = source_root;
        o.progress = progress_from(progress, errors);
        auto db = self.get();
        ImportReport r;
        {
          py::gil_scoped_release release;
          r = db->import_export(directory, o);
        }
        errors.rethrow();
        return py::dict(py::arg("format") = r.format, py::arg("imported") = r.imported, py::arg("skipped") = r.skipped);
      }, py::arg("directory"), py::kw_only(), py::arg("new_ids") = false, py::arg("progress") = py::none(),
      py::arg("source_root") = "",
      "Reads an export_external folder back (ids, vectors to the bit, records), checked to come from this "
      "database's encoder; images whose source file is already here are skipped. Sources outside source_root "
      "(all, when it is empty) are kept as metadata \"imported_source\" only. Returns {format, imported, skipped}.")
      .def("import_vectors", [](const PyDatabase& self, const std::string& vectors, const std::string& ids,
                                const std::string& records, bool new_ids, const std::string& source_root) {
        ImportOptions o;
        o.new_ids = new_ids;
        o.source_root = source_root;
        auto db = self.get();
        ImportReport r;
        {
          py::gil_scoped_release release;
          r = db->import_vectors(vectors, ids, records, o);
        }
        return py::dict(py::arg("format") = r.format, py::arg("imported") = r.imported, py::arg("skipped") = r.skipped);
      }, py::arg("vectors_npy"), py::arg("ids_npy"), py::arg("records_jsonl"), py::kw_only(), py::arg("new_ids") = false,
      py::arg("source_root") = "",
      "Reads export_vectors' two .npy files and export_metadata's JSON lines back (sources as import_export).")
      .def("save", [](const PyDatabase& self) {
        auto db = self.get();
        py::gil_scoped_release release;
        db->save();
      }, "Writes everything to disk, atomically.")
      .def("__repr__", [](const PyDatabase& self) {
        if (!self.db) return std::string("<imgvec.VectorDatabase (closed)>");
        return "<imgvec.VectorDatabase " + self.db->directory() + ", " + std::to_string(self.db->size()) + " images>";
      });
}

}  // namespace imgvec::python

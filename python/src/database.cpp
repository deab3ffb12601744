// VectorDatabase for Python, with the names of the Python class it replaces: add_image,
// add_images_batch, search_by_text, search_by_image, get_stats, index_directory, ...
// Over 400 lines because it is one pybind11 class: its methods and their docstrings are one
// chained definition, which reads as the Python class's page; each method body is a few lines
// that convert arguments and call the library.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>

#include "bindings.hpp"
#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"
#include "imgvec/image/analysis.hpp"
#include "wire/wire.hpp"

namespace imgvec::python {
namespace {

// A hit as Python sees it: id, score and the record, with the names scripts use for them
// (path, metadata, distance) and the wire's dict form.
struct PyResult {
  Id id = 0;
  float score = 0;
  py::dict record;

  py::object path() const {
    const py::object source = record.contains("source") ? py::object(record["source"]) : py::object(py::none());
    return source.is_none() || source.cast<std::string>().empty() ? py::object(py::none()) : source;
  }
  py::dict to_dict() const {
    return py::dict(py::arg("id") = id, py::arg("score") = score, py::arg("distance") = 1.0f - score,
                    py::arg("path") = path(), py::arg("record") = record);
  }
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
  // A database dropped without close() or `with` (a script that just ends): changes not yet
  // saved are saved, with a warning. With durability "on_write" (Python's default) they are in
  // the log already and nothing is lost either way; with "on_save" this is what keeps them.
  ~PyDatabase() {
    if (!db || db->read_only() || !Py_IsInitialized()) return;
    try {
      const std::size_t unsaved = db->get_stats().unsaved_changes;
      if (unsaved == 0) return;
      db->save();
      const std::string message = "imgvec: " + db->directory() + " was not closed; its " + std::to_string(unsaved) +
                                  " unsaved changes were saved as it was dropped (use `with` or close())";
      if (PyErr_WarnEx(PyExc_ResourceWarning, message.c_str(), 1) != 0) PyErr_Clear();
    } catch (...) {
      // A destructor must not throw; the log (on_write) still holds what was acknowledged.
    }
  }
};

// What seed-era scripts type: str paths, pathlib paths.
std::string path_of(const py::handle& value) {
  return py::str(py::module_::import("os").attr("fspath")(value)).cast<std::string>();
}

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

// Runs a search without the GIL (searches run in parallel) and turns its hits into SearchResults.
template <typename Search>
std::vector<PyResult> searched(const PyDatabase& self, Search&& search) {
  auto db = self.get();
  std::vector<SearchResult> hits;
  {
    py::gil_scoped_release release;
    hits = search(*db);
  }
  return results(std::move(hits));
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
  if (py::isinstance<py::array>(image) || is_pil_image(image)) {
    const Image im = image_from_python(image);
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

// One example of a combined query: "text", a path (pathlib), an id (int), a float vector, encoded
// bytes, a uint8 array or a PIL image; (example, weight) for a weight.
QueryExample query_example(const py::handle& item) {
  if (py::isinstance<py::tuple>(item) && py::len(item) == 2 && !py::isinstance<py::str>(item)) {
    QueryExample e = query_example(item[py::int_(0)]);
    e.weight = item[py::int_(1)].cast<float>();
    return e;
  }
  if (py::isinstance<py::str>(item)) return QueryExample::of_text(item.cast<std::string>());
  if (py::isinstance<py::bool_>(item)) throw py::type_error("a query example is not a bool");
  if (py::isinstance<py::int_>(item)) {
    const auto id = item.cast<std::int64_t>();
    if (id < 0) throw Error(ErrorCode::not_found, "no image with id " + std::to_string(id));
    return QueryExample::of_id(static_cast<Id>(id));
  }
  if (py::isinstance<py::bytes>(item)) {
    const std::string bytes = item.cast<std::string>();
    return QueryExample::of_image(decode_image(bytes.data(), bytes.size(), "query image"));
  }
  if (py::isinstance<py::array>(item) && item.cast<py::array>().dtype().kind() == 'f') {
    const FloatArray v = FloatArray::ensure(item);
    if (v.ndim() != 1) throw py::value_error("a query vector must be 1-d");
    return QueryExample::of_vector(std::vector<float>(v.data(), v.data() + v.shape(0)));
  }
  if (is_pil_image(item) || py::isinstance<py::array>(item)) return QueryExample::of_image(image_from_python(item));
  if (py::hasattr(item, "__fspath__")) return QueryExample::of_image_file(path_of(item));
  throw py::type_error("a query example is a text (str), an image path (pathlib.Path), a stored id (int), a float "
                       "vector, encoded image bytes, a uint8 array or a PIL image, or (example, weight)");
}

std::vector<QueryExample> query_examples(const py::handle& items) {
  std::vector<QueryExample> out;
  if (items.is_none()) return out;
  const bool one = py::isinstance<py::str>(items) || py::isinstance<py::bytes>(items) || py::isinstance<py::int_>(items) ||
                   py::isinstance<py::array>(items) || is_pil_image(items) || py::hasattr(items, "__fspath__") ||
                   (py::isinstance<py::tuple>(items) && py::len(items) == 2);  // (example, weight); lists for several
  if (one) {
    out.push_back(query_example(items));
    return out;
  }
  for (const auto& item : items) out.push_back(query_example(item));
  return out;
}

// Colours as "#2a6fdb", "#abc", a name ("blue") or an (r, g, b) tuple; one or a list.
std::vector<Rgb> colours_from_python(const py::handle& value) {
  auto one = [](const py::handle& c) {
    if (py::isinstance<py::str>(c)) {
      const std::string text = c.cast<std::string>();
      const auto rgb = parse_colour(text);
      if (!rgb) throw Error(ErrorCode::invalid_argument, "colour \"" + text + "\": expected #rrggbb, #rgb or a name (red, blue, ...)");
      return *rgb;
    }
    const auto t = c.cast<std::vector<int>>();
    if (t.size() != 3 || std::any_of(t.begin(), t.end(), [](int v) { return v < 0 || v > 255; }))
      throw Error(ErrorCode::invalid_argument, "a colour tuple is (r, g, b), each 0-255");
    return Rgb{static_cast<std::uint8_t>(t[0]), static_cast<std::uint8_t>(t[1]), static_cast<std::uint8_t>(t[2])};
  };
  std::vector<Rgb> out;
  const bool single = py::isinstance<py::str>(value) ||
                      (py::isinstance<py::tuple>(value) && py::len(value) == 3 && py::isinstance<py::int_>(value[py::int_(0)]));
  if (single) {
    out.push_back(one(value));
  } else {
    for (const auto& c : value) out.push_back(one(c));
  }
  if (out.empty()) throw Error(ErrorCode::invalid_argument, "search_by_colour: no colour given");
  return out;
}

// Labels: "default", a label file's path, a list of names, or {name: prompt}.
LabelSet label_set_from_python(const py::handle& value) {
  if (py::isinstance<py::str>(value) || py::hasattr(value, "__fspath__")) return label_set_named(path_of(value));
  LabelSet set;
  if (py::isinstance<py::dict>(value)) {
    for (const auto& [name, prompt] : value.cast<py::dict>()) {
      set.names.push_back(name.cast<std::string>());
      set.prompts.push_back(prompt.cast<std::string>());
    }
  } else {
    for (const auto& name : value) {
      set.names.push_back(name.cast<std::string>());
      set.prompts.push_back("a photo of a " + set.names.back());
    }
  }
  if (set.names.empty()) throw Error(ErrorCode::invalid_argument, "label_images: no labels given");
  return set;
}

UrlFetchOptions fetch_options(bool allow_private) {
  UrlFetchOptions o;
  o.allow_private_addresses = allow_private;
  return o;
}

// VectorDatabase.create, .open and the constructor (which opens or creates).
std::shared_ptr<PyDatabase> create_database(const std::string& directory, const py::object& encoder,
                                            const std::string& model, const std::string& index, bool float16,
                                            const std::string& storage, const std::string& durability,
                                            const std::string& device, const std::string& precision) {
  auto self = std::make_shared<PyDatabase>();
  if (!encoder.is_none() && !model.empty()) throw py::value_error("give encoder= or model=, not both");
  if (!model.empty()) {
    self->encoder = py::module_::import("imgvec")
                        .attr("ClipEncoder")(model, device, precision)
                        .cast<std::shared_ptr<PyEncoder>>();
  } else {
    self->encoder = encoder.is_none() ? std::make_shared<PyEncoder>() : encoder.cast<std::shared_ptr<PyEncoder>>();
  }
  if (!self->encoder->encoder) self->encoder->encoder = std::make_shared<DescriptorEncoder>();
  DatabaseOptions o;
  o.index_kind = parse_index_kind(index);
  o.hnsw.storage = storage_from(float16, storage);
  o.durability = parse_durability(durability);
  {
    py::gil_scoped_release release;
    self->db = VectorDatabase::create(directory, self->encoder->encoder, o);
  }
  // Remembered as the CLI remembers it, so open() and `imgvec search` find the bundle again.
  self->db->remember_model_bundle(self->encoder->bundle);
  return self;
}

std::shared_ptr<PyDatabase> open_database(const std::string& directory, const py::object& encoder,
                                          const std::string& durability, const std::string& model,
                                          const std::string& device, const std::string& precision, bool map_index) {
  auto self = std::make_shared<PyDatabase>();
  OpenOptions o;
  o.durability = parse_durability(durability);
  o.map_index = map_index;
  ModelChoice choice;
  choice.bundle = model;
  choice.device = device;
  choice.precision = precision;
  if (!encoder.is_none()) {
    if (!model.empty()) throw py::value_error("give encoder= or model=, not both");
    self->encoder = encoder.cast<std::shared_ptr<PyEncoder>>();
  }
  py::gil_scoped_release release;
  self->db = self->encoder ? VectorDatabase::open(directory, self->encoder->encoder, o)
                           : VectorDatabase::open(directory, o, choice);
  return self;
}

}  // namespace

void bind_database(py::module_& m) {
  py::class_<PyResult>(m, "SearchResult",
                       "One result: id, score (cosine similarity), distance (1 - score), path (its file, or None), "
                       "metadata, tags and record (the whole record, a dict); to_dict() and r[\"key\"] give them as a dict.")
      .def_readonly("id", &PyResult::id)
      .def_readonly("score", &PyResult::score)
      .def_readonly("record", &PyResult::record)
      .def_property_readonly("distance", [](const PyResult& r) { return 1.0f - r.score; })
      .def_property_readonly("path", &PyResult::path)
      .def_property_readonly("metadata", [](const PyResult& r) { return r.record["metadata"]; })
      .def_property_readonly("tags", [](const PyResult& r) { return r.record["tags"]; })
      .def("to_dict", &PyResult::to_dict, "{id, score, distance, path, record}")
      .def("__getitem__", [](const PyResult& r, const std::string& key) -> py::object {
        const py::dict d = r.to_dict();
        if (d.contains(key)) return d[py::str(key)];
        if (key == "metadata" || key == "tags") return r.record[py::str(key)];
        throw py::key_error(key);
      })
      .def("__repr__", [](const PyResult& r) {
        char score[32];
        std::snprintf(score, sizeof score, "%.4f", r.score);
        return "SearchResult(id=" + std::to_string(r.id) + ", score=" + score + ", path=" +
               py::repr(r.path()).cast<std::string>() + ")";
      });

  py::class_<PyDatabase, std::shared_ptr<PyDatabase>> c(m, "VectorDatabase",
      "Images, their vectors and their records in one folder, searched by image, text or vector. Thread-safe: "
      "searches run in parallel with the GIL released.");
  c.def(py::init([](const py::object& directory, const py::object& encoder, const std::string& model,
                     const std::string& index, bool float16, const std::string& storage, const std::string& durability,
                     const std::string& device, const std::string& precision) {
        const std::string dir = path_of(directory);
        if (VectorDatabase::exists(dir)) return open_database(dir, encoder, durability, model, device, precision, false);
        return create_database(dir, encoder, model, index, float16, storage, durability, device, precision);
      }), py::arg("directory"), py::arg("encoder") = py::none(), py::kw_only(), py::arg("model") = "",
      py::arg("index") = "hnsw", py::arg("float16") = false, py::arg("storage") = "", py::arg("durability") = "on_write",
      py::arg("device") = "auto", py::arg("precision") = "float32",
      "Opens the database in `directory`, or creates it there (a new or empty folder) when there is none. "
      "encoder: an imgvec.Encoder; model: a CLIP bundle's path instead; neither: the one the database was built with, "
      "or the built-in encoder for a new one. durability \"on_write\" (the default in Python): every change is in "
      "the write-ahead log before it returns, so a script that ends without close() loses nothing. device and "
      "precision: where and in what a CLIP model runs (as imgvec.ClipEncoder's).")
      .def_static("create", [](const py::object& directory, const py::object& encoder, const std::string& index,
                               bool float16, const std::string& durability, const std::string& model,
                               const std::string& storage, const std::string& device, const std::string& precision) {
        return create_database(path_of(directory), encoder, model, index, float16, storage, durability, device,
                               precision);
      }, py::arg("directory"), py::arg("encoder") = py::none(), py::kw_only(), py::arg("index") = "hnsw",
      py::arg("float16") = false, py::arg("durability") = "on_write", py::arg("model") = "", py::arg("storage") = "",
      py::arg("device") = "auto", py::arg("precision") = "float32",
      "A new database in `directory` (which must not hold one). encoder: imgvec.DescriptorEncoder() when None "
      "(or the CLIP bundle model= names). durability \"on_write\" (the default in Python) makes every change durable "
      "before it returns; \"on_save\" only at save() or close(), faster for many small changes.")
      .def_static("open", [](const py::object& directory, const py::object& encoder, const std::string& durability,
                             const std::string& model, const std::string& device, const std::string& precision,
                             bool map_index) {
        return open_database(path_of(directory), encoder, durability, model, device, precision, map_index);
      }, py::arg("directory"), py::arg("encoder") = py::none(), py::kw_only(), py::arg("durability") = "on_write",
      py::arg("model") = "", py::arg("device") = "auto", py::arg("precision") = "float32", py::arg("map_index") = false,
      "An existing database. encoder None: the encoder it was built with, chosen by imgvec: the built-in one, or "
      "the CLIP bundle it remembers (model= names another place for it), loaded only when something is embedded. "
      "imgvec.IncompatibleError if an encoder or model given is not the one it was built with. map_index=True "
      "searches the saved index where it lies in its file instead of reading it (for a few searches on a large "
      "database); the first change reads it whole.")
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
        return searched(self, [&](const VectorDatabase& db) { return db.search_by_text(text, o); });
      }, py::arg("text"), py::arg("k") = 10, py::kw_only(), py::arg("where") = py::none(), py::arg("min_score") = py::none(),
      py::arg("offset") = 0, py::arg("sort") = "score",
      "The k images most like a text (CLIP encoders only). where: a filter such as \"camera=canon*\" or a list of them.")
      .def("search_by_image", [](const PyDatabase& self, const py::object& image, std::size_t k, const py::object& where,
                                 const py::object& min_score, std::size_t offset, const std::string& sort) {
        return search_image(*self.get(), image, search_options(k, offset, where, min_score, sort));
      }, py::arg("image"), py::arg("k") = 10, py::kw_only(), py::arg("where") = py::none(), py::arg("min_score") = py::none(),
      py::arg("offset") = 0, py::arg("sort") = "score",
      "The k images most like an image: a path, encoded bytes, a uint8 array (gray, RGB or with alpha) or a PIL "
      "image.")
      .def("search_by_vector", [](const PyDatabase& self, const FloatArray& vector, std::size_t k, const py::object& where,
                                  const py::object& min_score, std::size_t offset, const std::string& sort) {
        if (vector.ndim() != 1) throw py::value_error("search_by_vector: a 1-d vector is needed");
        const SearchOptions o = search_options(k, offset, where, min_score, sort);
        const VectorView q(vector.data(), static_cast<std::size_t>(vector.shape(0)));
        return searched(self, [&](const VectorDatabase& db) { return db.search_by_vector(q, o); });
      }, py::arg("vector"), py::arg("k") = 10, py::kw_only(), py::arg("where") = py::none(),
      py::arg("min_score") = py::none(), py::arg("offset") = 0, py::arg("sort") = "score",
      "The k images nearest a vector of the database's dimension.")
      .def("search", [](const PyDatabase& self, const py::object& query, std::size_t k, const py::object& negative,
                        const py::object& where, const py::object& min_score, std::size_t offset, const std::string& sort) {
        Query q;
        if (py::hasattr(query, "positive") && py::hasattr(query, "negative")) {  // an imgvec.Query
          q.positive = query_examples(query.attr("positive"));
          q.negative = query_examples(query.attr("negative"));
        } else {
          q.positive = query_examples(query);
        }
        for (auto& e : query_examples(negative)) q.negative.push_back(std::move(e));
        const SearchOptions o = search_options(k, offset, where, min_score, sort);
        return searched(self, [&](const VectorDatabase& db) { return db.search(q, o); });
      }, py::arg("query"), py::arg("k") = 10, py::kw_only(), py::arg("negative") = py::none(),
      py::arg("where") = py::none(), py::arg("min_score") = py::none(), py::arg("offset") = 0, py::arg("sort") = "score",
      "Images like every example of `query` and unlike every example of `negative`: an imgvec.Query, one example "
      "or a list of them. An example is a text (str), an image path (pathlib.Path), a stored image's id (int, left "
      "out of the results), a float vector, encoded bytes, a uint8 array or a PIL image; (example, weight) weighs it.")
      .def("search_by_colour", [](const PyDatabase& self, const py::object& colours, std::size_t k, const py::object& where,
                                  const py::object& min_score, std::size_t offset, const std::string& sort) {
        const std::vector<Rgb> wanted = colours_from_python(colours);
        const SearchOptions o = search_options(k, offset, where, min_score, sort);
        return searched(self, [&](const VectorDatabase& db) { return db.search_by_colour(wanted, o); });
      }, py::arg("colours"), py::arg("k") = 10, py::kw_only(), py::arg("where") = py::none(),
      py::arg("min_score") = py::none(), py::arg("offset") = 0, py::arg("sort") = "score",
      "Images whose dominant colours are closest: \"#2a6fdb\", \"#abc\", a name (\"blue\") or (r, g, b), or a list "
      "of them (images holding all). The score is the share of the image that looks like it (0..1).")
      .def("search_by_image_url", [](const PyDatabase& self, const std::string& url, std::size_t k, const py::object& where,
                                     const py::object& min_score, std::size_t offset, const std::string& sort,
                                     bool allow_private) {
        const SearchOptions o = search_options(k, offset, where, min_score, sort);
        const UrlFetchOptions fetch = fetch_options(allow_private);
        return searched(self, [&](const VectorDatabase& db) { return db.search_by_image_url(url, o, fetch); });
      }, py::arg("url"), py::arg("k") = 10, py::kw_only(), py::arg("where") = py::none(),
      py::arg("min_score") = py::none(), py::arg("offset") = 0, py::arg("sort") = "score",
      py::arg("allow_private_urls") = false,
      "The k images most like the image at an http(s) URL (at most 64 MB, 30 s; public addresses only unless "
      "allow_private_urls).")
      .def("add_image_url", [](const PyDatabase& self, const std::string& url, const py::object& metadata,
                               const std::vector<std::string>& tags, bool allow_private) {
        const Metadata md = metadata_from_python(metadata);
        auto db = self.get();
        AddResult r;
        {
          py::gil_scoped_release release;
          r = db->add_image_url(url, md, tags, fetch_options(allow_private));
        }
        if (r.status == AddStatus::failed) throw Error(r.code, r.error);
        return r.id;
      }, py::arg("url"), py::arg("metadata") = py::none(), py::arg("tags") = std::vector<std::string>{}, py::kw_only(),
      py::arg("allow_private_urls") = false,
      "Downloads the image at an http(s) URL, keeps its bytes in the database's folder and returns its id; the URL "
      "is stored as metadata \"url\".")
      .def("label_images", [](const PyDatabase& self, const py::object& labels, std::size_t top, float min_score,
                              const py::object& ids, bool only_unlabelled) {
        LabelOptions o;
        o.labels = label_set_from_python(labels);
        o.top = top;
        o.min_score = min_score;
        o.only_unlabelled = only_unlabelled;
        if (!ids.is_none()) o.ids = ids.cast<std::vector<Id>>();
        auto db = self.get();
        py::gil_scoped_release release;
        return db->label_images(o);
      }, py::arg("labels") = "default", py::kw_only(), py::arg("top") = 3, py::arg("min_score") = 0.1f,
      py::arg("ids") = py::none(), py::arg("only_unlabelled") = false,
      "Zero-shot content labels (CLIP models only): \"default\" (photo, screenshot, receipt, beach, food, ...), a "
      "label file, a list of names or {name: prompt}. Each image keeps its `top` most probable labels (record "
      "\"labels\"; filter with where=\"label=beach\"). Returns how many images were labelled.")
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
      "Groups of duplicates: dicts of keeper (the largest image's id), exact, paths (the members' files, keeper "
      "first) and images: a dict for each with id, score (cosine to the keeper), matched_by, keeper (bool) and record. "
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
      .def("update_metadata", [](const PyDatabase& self, std::int64_t id, const py::object& metadata, const py::object& tags,
                                 bool replace) {
        if (id < 0) throw Error(ErrorCode::not_found, "no image with id " + std::to_string(id));
        // Merged by default: keys given are set, a None value removes its key, the rest stay.
        py::dict set;
        std::vector<std::string> unset;
        if (!metadata.is_none()) {
          for (const auto& [key, value] : metadata.cast<py::dict>()) {
            if (value.is_none()) unset.push_back(key.cast<std::string>());
            else set[key] = value;
          }
        }
        if (replace && !unset.empty()) throw py::value_error("update_metadata(replace=True): a value is None; leave the key out instead");
        const Metadata md = metadata_from_python(set);
        std::optional<std::vector<std::string>> t;
        if (!tags.is_none()) t = tags.cast<std::vector<std::string>>();
        auto db = self.get();
        py::gil_scoped_release release;
        if (replace) {
          db->update_metadata(static_cast<Id>(id), md, t ? &*t : nullptr);
        } else {
          db->patch_metadata(static_cast<Id>(id), md, unset, t ? &*t : nullptr);
        }
      }, py::arg("id"), py::arg("metadata"), py::arg("tags") = py::none(), py::kw_only(), py::arg("replace") = false,
      "Merges `metadata` into an image's metadata: its keys are set (a None value removes the key), the others stay; "
      "replace=True replaces the whole metadata instead. tags, when given, replace the image's tags.")
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

#pragma once
// The Python module's pieces (pybind11): one file per part of the API, joined in module.cpp.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "imgvec/encoder/clip_module.hpp"
#include "imgvec/encoder/encoder.hpp"
#include "imgvec/image/image.hpp"
#include "imgvec/metadata/metadata_store.hpp"
#include "imgvec/metadata/where.hpp"

namespace imgvec::python {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_index(py::module_& m);
void bind_encoders(py::module_& m);
void bind_database(py::module_& m);

/// The storage a Python caller asked for: storage= by name, or the older float16=True.
VectorStorage storage_from(bool float16, const std::string& storage);

/// A float32 C-contiguous array, converted (copied) only when it is not one already.
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

/// A (rows, cols) float32 array from a vector of rows * cols floats, without copying them.
py::array_t<float> to_array(std::vector<float>&& values, std::size_t rows, std::size_t cols);

/// A Python dict of str, int, float, bool or list of str as Metadata; TypeError otherwise.
Metadata metadata_from_python(const py::handle& value);
/// A filter: None (everything), an expression as the CLI's --where takes it, or a list of them
/// (all must hold).
Where where_from_python(const py::handle& value);
/// A value of the wire format (src/wire) as Python objects: dicts, lists, str, int, float, bool.
py::object to_python(const nlohmann::json& value);
/// A record as a dict: the wire's record (what exports write).
py::dict record_to_python(const ImageRecord& record);
/// A uint8 array as an Image: HxW gray, HxWx2 gray and alpha, HxWx3 RGB, HxWx4 RGBA (alpha onto
/// white, as for files: image_from_pixels).
Image image_from_array(const py::array& array);
/// Whether `value` is a PIL image (duck-typed: PIL is not needed to import imgvec).
bool is_pil_image(const py::handle& value);
/// A PIL image (any mode) or a uint8 array as an Image; TypeError otherwise.
Image image_from_python(const py::handle& value);

/// An encoder as Python sees it: a handle that databases share. Embedding is thread-safe
/// (Encoder's contract), so calls run concurrently with the GIL released.
struct PyEncoder {
  std::shared_ptr<Encoder> encoder;
  std::string model_name, runtime;
  std::string bundle;  ///< a CLIP bundle's path, as given; empty for the built-in encoder
};


}  // namespace imgvec::python

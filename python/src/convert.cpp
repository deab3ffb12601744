// Between Python values and imgvec's: arrays, metadata, filters, records, images.
#include <cstring>

#include "bindings.hpp"
#include "imgvec/database.hpp"
#include "imgvec/error.hpp"

namespace imgvec::python {

py::array_t<float> to_array(std::vector<float>&& values, std::size_t rows, std::size_t cols) {
  // The array owns the vector: no copy of the floats.
  auto* owned = new std::vector<float>(std::move(values));
  py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<float>*>(p); });
  return py::array_t<float>({rows, cols}, {cols * sizeof(float), sizeof(float)}, owned->data(), free_when_done);
}

Metadata metadata_from_python(const py::handle& value) {
  Metadata out;
  if (value.is_none()) return out;
  if (!py::isinstance<py::dict>(value)) throw py::type_error("metadata must be a dict of str to str, int, float, bool or list of str");
  for (const auto& [k, v] : py::reinterpret_borrow<py::dict>(value)) {
    if (!py::isinstance<py::str>(k)) throw py::type_error("metadata keys must be str");
    const std::string key = k.cast<std::string>();
    if (py::isinstance<py::bool_>(v)) {
      out.emplace(key, v.cast<bool>());
    } else if (py::isinstance<py::int_>(v)) {
      try {
        out.emplace(key, v.cast<std::int64_t>());
      } catch (const py::cast_error&) {
        throw py::value_error("metadata \"" + key + "\": integers must fit in 64 bits, signed");
      }
    } else if (py::isinstance<py::float_>(v)) {
      out.emplace(key, v.cast<double>());
    } else if (py::isinstance<py::str>(v)) {
      out.emplace(key, v.cast<std::string>());
    } else if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
      std::vector<std::string> list;
      for (const auto& item : v) {
        if (!py::isinstance<py::str>(item)) throw py::type_error("metadata \"" + key + "\": a list may hold str only");
        list.push_back(item.cast<std::string>());
      }
      out.emplace(key, std::move(list));
    } else {
      throw py::type_error("metadata \"" + key + "\": " + std::string(py::str(v.get_type().attr("__name__"))) +
                           " is not str, int, float, bool or a list of str");
    }
  }
  return out;
}

Where where_from_python(const py::handle& value) {
  Where where;
  if (value.is_none()) return where;
  if (py::isinstance<py::str>(value)) return Where::parse(value.cast<std::string>());
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    for (const auto& item : value) {
      if (!py::isinstance<py::str>(item)) throw py::type_error("where: a list of filter expressions, each a str");
      where = where && Where::parse(item.cast<std::string>());
    }
    return where;
  }
  // A dict is a filter in Qdrant's shape ({"must": [...]}), read by the same code as the server's.
  if (py::isinstance<py::dict>(value))
    return Where::from_json(py::module_::import("json").attr("dumps")(value).cast<std::string>());
  throw py::type_error(
      "where must be None, a filter expression (\"camera=canon* and width>=640\"), a list of them, or a "
      "Qdrant-style dict ({\"must\": [{\"key\": \"camera\", \"match\": {\"value\": \"X100\"}}]})");
}

py::dict record_to_python(const ImageRecord& record) {
  // Never destroyed: a static py::object would be released after the interpreter has finalized.
  static const py::object* loads = new py::object(py::module_::import("json").attr("loads"));
  return (*loads)(record_to_json(record));
}

Image image_from_array(const py::array& array) {
  if (array.dtype().kind() != 'u' || array.itemsize() != 1)
    throw py::type_error("an image array must be uint8, HxWx3 (RGB) or HxW (gray)");
  const auto contiguous = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>::ensure(array);
  const bool rgb = contiguous.ndim() == 3 && contiguous.shape(2) == 3;
  if (!(rgb || contiguous.ndim() == 2)) throw py::value_error("an image array must be HxWx3 (RGB) or HxW (gray)");
  if (contiguous.shape(0) == 0 || contiguous.shape(1) == 0) throw py::value_error("an image array must not be empty");
  Image im;
  im.height = static_cast<std::uint32_t>(contiguous.shape(0));
  im.width = static_cast<std::uint32_t>(contiguous.shape(1));
  const std::size_t pixels = std::size_t{im.width} * im.height;
  im.rgb.resize(pixels * 3);
  const std::uint8_t* src = contiguous.data();
  if (rgb) {
    std::memcpy(im.rgb.data(), src, pixels * 3);
  } else {
    for (std::size_t i = 0; i < pixels; ++i) im.rgb[i * 3] = im.rgb[i * 3 + 1] = im.rgb[i * 3 + 2] = src[i];
  }
  return im;
}

}  // namespace imgvec::python

// Between Python values and imgvec's: arrays, metadata, filters, records, images.
#include <cstring>

#include "bindings.hpp"
#include "imgvec/database.hpp"
#include "imgvec/error.hpp"
#include "wire/wire.hpp"

namespace imgvec::python {

py::array_t<float> to_array(std::vector<float>&& values, std::size_t rows, std::size_t cols) {
  // The array owns the vector: no copy of the floats.
  auto* owned = new std::vector<float>(std::move(values));
  py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<float>*>(p); });
  return py::array_t<float>({rows, cols}, {cols * sizeof(float), sizeof(float)}, owned->data(), free_when_done);
}

py::object to_python(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return py::none();
    case nlohmann::json::value_t::boolean: return py::bool_(value.get<bool>());
    case nlohmann::json::value_t::number_integer: return py::int_(value.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned: return py::int_(value.get<std::uint64_t>());
    case nlohmann::json::value_t::number_float: return py::float_(value.get<double>());
    case nlohmann::json::value_t::string: return py::str(value.get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      py::list out;
      for (const auto& item : value) out.append(to_python(item));
      return std::move(out);
    }
    case nlohmann::json::value_t::object: {
      py::dict out;
      for (const auto& [key, item] : value.items()) out[py::str(key)] = to_python(item);
      return std::move(out);
    }
    default: throw py::type_error("a JSON value Python has no type for");
  }
}

namespace {

// A Python value as JSON, for the wire's readers: what JSON can hold, and nothing else.
nlohmann::json to_json_value(const py::handle& v, const std::string& what) {
  if (v.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>();
  if (py::isinstance<py::int_>(v)) {
    try {
      return v.cast<std::int64_t>();
    } catch (const py::cast_error&) {
      throw py::value_error(what + ": integers must fit in 64 bits, signed");
    }
  }
  if (py::isinstance<py::float_>(v)) return v.cast<double>();
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : v) out.push_back(to_json_value(item, what));
    return out;
  }
  throw py::type_error(what + ": " + std::string(py::str(v.get_type().attr("__name__"))) +
                       " is not str, int, float, bool or a list of str");
}

}  // namespace

// The wire's reader decides what metadata may hold (one rule for the server, imports and Python).
Metadata metadata_from_python(const py::handle& value) {
  if (value.is_none()) return {};
  if (!py::isinstance<py::dict>(value)) throw py::type_error("metadata must be a dict of str to str, int, float, bool or list of str");
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [k, v] : py::reinterpret_borrow<py::dict>(value)) {
    if (!py::isinstance<py::str>(k)) throw py::type_error("metadata keys must be str");
    const std::string key = k.cast<std::string>();
    if (v.is_none()) throw py::type_error("metadata \"" + key + "\": None is not str, int, float, bool or a list of str");
    object[key] = to_json_value(v, "metadata \"" + key + "\"");
  }
  return wire::metadata_from_json(object, ErrorCode::invalid_argument, "metadata");
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
  return py::reinterpret_borrow<py::dict>(to_python(wire::to_json(record)));
}

Image image_from_array(const py::array& array) {
  if (array.dtype().kind() != 'u' || array.itemsize() != 1)
    throw py::type_error("an image array must be uint8: HxW (gray), HxWx2 (gray, alpha), HxWx3 (RGB) or HxWx4 (RGBA)");
  const auto contiguous = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>::ensure(array);
  const int channels = contiguous.ndim() == 2 ? 1 : contiguous.ndim() == 3 ? static_cast<int>(contiguous.shape(2)) : 0;
  if (channels < 1 || channels > 4)
    throw py::value_error("an image array must be HxW (gray), HxWx2 (gray, alpha), HxWx3 (RGB) or HxWx4 (RGBA)");
  // Rows first: shape (height, width[, channels]).
  return image_from_pixels(contiguous.data(), static_cast<std::uint32_t>(contiguous.shape(1)),
                           static_cast<std::uint32_t>(contiguous.shape(0)), channels);
}

bool is_pil_image(const py::handle& value) { return py::hasattr(value, "getbands") && py::hasattr(value, "mode"); }

Image image_from_python(const py::handle& value) {
  if (is_pil_image(value)) {
    // PIL's own modes as arrays: L, LA, RGB and RGBA directly; palette, 1-bit, CMYK, 16-bit and
    // the rest through PIL's conversion to RGBA (a palette's transparency kept).
    const std::string mode = value.attr("mode").cast<std::string>();
    py::object image = py::reinterpret_borrow<py::object>(value);
    if (mode != "L" && mode != "LA" && mode != "RGB" && mode != "RGBA") image = image.attr("convert")("RGBA");
    return image_from_array(py::module_::import("numpy").attr("asarray")(image).cast<py::array>());
  }
  if (py::isinstance<py::array>(value)) return image_from_array(value.cast<py::array>());
  throw py::type_error("an image is a path, encoded bytes, a uint8 array or a PIL image");
}

}  // namespace imgvec::python

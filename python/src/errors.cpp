// imgvec::Error as Python exceptions. The classes are defined in Python (imgvec/_errors.py), so
// each can also be a built-in one: a missing file is a FileNotFoundError, a bad argument a
// ValueError, and `except imgvec.Error` catches them all.
#include "bindings.hpp"
#include "imgvec/error.hpp"

namespace imgvec::python {

void bind_errors(py::module_& m) {
  m.attr("_error_codes") = py::dict(py::arg("invalid_argument") = int(ErrorCode::invalid_argument),
                                    py::arg("not_found") = int(ErrorCode::not_found),
                                    py::arg("io") = int(ErrorCode::io),
                                    py::arg("corrupt_file") = int(ErrorCode::corrupt_file),
                                    py::arg("unsupported") = int(ErrorCode::unsupported),
                                    py::arg("incompatible") = int(ErrorCode::incompatible),
                                    py::arg("too_large") = int(ErrorCode::too_large));
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      // The class for the code, from imgvec._errors (imported once the first error happens).
      const py::object cls = py::module_::import("imgvec._errors").attr("error_class")(int(e.code()));
      PyErr_SetObject(cls.ptr(), py::str(e.what()).ptr());
    }
  });
}

}  // namespace imgvec::python

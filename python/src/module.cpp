// imgvec for Python: the module imgvec._imgvec, which imgvec/__init__.py re-exports.
#include "bindings.hpp"
#include "imgvec/version.hpp"

PYBIND11_MODULE(_imgvec, m) {
  m.doc() = "imgvec: image similarity search in-process (the C++ library's Python module)";
  m.attr("__version__") = imgvec::version_string();
  imgvec::python::bind_errors(m);
  imgvec::python::bind_index(m);
  imgvec::python::bind_encoders(m);
  imgvec::python::bind_database(m);
  m.def("build_features", &imgvec::build_features, "What this build can do, a line per feature: SIMD kernels, image decoders, optional libraries.");
}

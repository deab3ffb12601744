// The encoders: the built-in DescriptorEncoder, and ClipEncoder from its module.
#include "bindings.hpp"
#include "imgvec/database.hpp"
#include "imgvec/encoder/clip_module.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"

namespace imgvec::python {

namespace {

py::array_t<float> embed_paths(PyEncoder& e, const std::vector<std::string>& paths) {
  std::vector<ImageEmbedding> out;
  {
    py::gil_scoped_release release;
    out = e.encoder->embed_image_files(paths);
  }
  const std::size_t d = e.encoder->dimension();
  std::vector<float> flat;
  flat.reserve(out.size() * d);
  for (const ImageEmbedding& one : out) {
    if (!one.ok()) throw Error(one.code, one.error);
    flat.insert(flat.end(), one.vector.begin(), one.vector.end());
  }
  return to_array(std::move(flat), out.size(), d);
}

}  // namespace

void bind_encoders(py::module_& m) {
  py::class_<PyEncoder, std::shared_ptr<PyEncoder>> encoder(m, "Encoder", "Turns images (and, for CLIP, texts) into unit vectors.");
  encoder
      .def_property_readonly("dimension", [](const PyEncoder& e) { return e.encoder->dimension(); })
      .def_property_readonly("supports_text", [](const PyEncoder& e) { return e.encoder->supports_text(); })
      .def_property_readonly("fingerprint", [](const PyEncoder& e) {
        const EncoderFingerprint& f = e.encoder->fingerprint();
        return py::dict(py::arg("kind") = f.kind, py::arg("model") = f.model, py::arg("model_hash") = f.model_hash,
                        py::arg("dimension") = f.dimension, py::arg("preprocessing") = f.preprocessing);
      }, "What a database checks it is opened with: kind, model, model_hash, dimension, preprocessing.")
      .def_property_readonly("runtime", [](const PyEncoder& e) { return e.runtime; },
                             "How a CLIP model runs (device, precision, threads, ...); empty for the built-in encoder.")
      .def("embed_images", [](PyEncoder& e, const std::vector<std::string>& paths) { return embed_paths(e, paths); },
           py::arg("paths"),
           "Vectors of image files, (n, dimension) float32, unit length. Raises on the first file that cannot be "
           "read or decoded, naming it. The GIL is released while embedding.")
      .def("embed_image", [](PyEncoder& e, const py::object& image) {
        const Image im = image_from_python(image);
        std::vector<float> v;
        {
          py::gil_scoped_release release;
                v = e.encoder->embed_image(im);
        }
        const std::size_t d = v.size();
        return to_array(std::move(v), 1, d).attr("reshape")(d);
      }, py::arg("image"),
      "The vector of a PIL image or a uint8 array (HxW gray, HxWx2 gray and alpha, HxWx3 RGB, HxWx4 RGBA; alpha onto "
      "white, as for files).")
      .def("embed_texts", [](PyEncoder& e, const std::vector<std::string>& texts) {
        if (!e.encoder->supports_text())
          throw Error(ErrorCode::unsupported, "this encoder embeds images only; texts need a CLIP model (imgvec.ClipEncoder)");
        std::vector<float> v;
        {
          py::gil_scoped_release release;
                v = e.encoder->embed_texts(texts);
        }
        const std::size_t d = e.encoder->dimension();
        return to_array(std::move(v), texts.size(), d);
      }, py::arg("texts"), "Vectors of texts, (n, dimension) float32 (CLIP encoders only).")
      .def("__repr__", [](const PyEncoder& e) {
        return "<imgvec encoder " + e.encoder->fingerprint().kind + " " + e.encoder->fingerprint().model + ", " +
               std::to_string(e.encoder->dimension()) + "-d>";
      });

  m.def("_embed_file_records", [](PyEncoder& e, const std::vector<std::string>& paths) {
    std::vector<EmbeddedFile> out;
    {
      py::gil_scoped_release release;
      out = embed_files_as_records(*e.encoder, paths);
    }
    // Rows of the files that embedded, their records numbered 1..n (ids a database import
    // replaces), and the failures.
    const std::size_t d = e.encoder->dimension();
    std::vector<float> flat;
    py::list records, failures;
    Id next = 1;
    for (EmbeddedFile& f : out) {
      if (!f.ok()) {
        failures.append(py::dict(py::arg("source") = f.record.source,
                                 py::arg("error") = f.error));
        continue;
      }
      f.record.id = next++;
      flat.insert(flat.end(), f.vector.begin(), f.vector.end());
      records.append(record_to_json(f.record));
    }
    const std::size_t rows = flat.size() / d;
    return py::make_tuple(to_array(std::move(flat), rows, d), records, failures);
  }, py::arg("encoder"), py::arg("paths"),
     "Embeds files as a database would: (vectors, record JSON lines numbered 1..n, failures). For imgvec.dask.");
  m.def("DescriptorEncoder", [] {
    auto e = std::make_shared<PyEncoder>();
    e->encoder = std::make_shared<DescriptorEncoder>();
    return e;
  }, "The built-in, model-free image encoder (colour, layout, edges, perceptual hash), 448-d: image search and "
     "duplicates with no model file.");
  m.def("ClipEncoder", [](const std::string& bundle, const std::string& device, const std::string& precision) {
    auto e = std::make_shared<PyEncoder>();
    {
      py::gil_scoped_release release;
      e->encoder = open_clip_encoder(bundle, device, precision);
    }
    e->bundle = bundle;
    e->model_name = clip_model_name(*e->encoder);
    e->runtime = clip_runtime(*e->encoder);
    return e;
  }, py::arg("bundle"), py::arg("device") = "auto", py::arg("precision") = "float32",
     "A CLIP model from a TorchScript bundle (tools/export_openclip.py makes one from open_clip). device: \"auto\", \"cpu\", \"cuda\", \"cuda:N\". "
     "precision: \"float32\", \"bf16\" (a CPU with AVX-512 BF16 or AMX, or CUDA), \"fp16\" (CUDA); the vectors are interchangeable. "
     "libtorch is loaded now, not when imgvec is imported.");
}

}  // namespace imgvec::python

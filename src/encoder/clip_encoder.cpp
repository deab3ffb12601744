// The only translation unit that includes libtorch.
#include "imgvec/encoder/clip_encoder.hpp"

#include <dlfcn.h>
#include <link.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>
#include <thread>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/script.h>

#include "encoder/caching_allocator.hpp"
#include "encoder/clip_bundle.hpp"
#include "encoder/normalize.hpp"
#include "encoder/onednn_linear.hpp"
#include "io/binary_io.hpp"
#include "parallel/cpu_share.hpp"
#include "parallel/parallel.hpp"

namespace imgvec {
namespace {

constexpr std::size_t kTextBatch = 32;

std::string first_line(const char* what) {
  std::string s(what);
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  const bool cuda = torch::cuda::is_available();
  if (name == "auto") return cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!cuda) {
      throw Error(ErrorCode::unsupported,
                  "device \"" + name + "\": " +
                      (torch::cuda::device_count() == 0 && !torch::hasCUDA()
                           ? "this libtorch was built without CUDA"
                           : "no CUDA device is visible") +
                      "; use \"cpu\" or \"auto\"");
    }
    torch::Device device(torch::kCUDA, 0);
    try {
      device = torch::Device(name);
    } catch (const c10::Error&) {
      throw Error(ErrorCode::invalid_argument, "device \"" + name + "\" is not a valid device name");
    }
    if (device.index() >= static_cast<int>(torch::cuda::device_count())) {
      throw Error(ErrorCode::invalid_argument,
                  "device \"" + name + "\": only " + std::to_string(torch::cuda::device_count()) +
                      " CUDA devices are visible");
    }
    return device;
  }
  throw Error(ErrorCode::invalid_argument,
              "device \"" + name + "\" is not one of \"cpu\", \"cuda\", \"cuda:N\", \"auto\"");
}

// The number formats a model can compute in, and where each is allowed.
torch::ScalarType resolve_precision(const std::string& name, const torch::Device& device) {
  if (name == "float32") return torch::kFloat;
  if (name == "fp16") {
    if (!device.is_cuda()) {
      throw Error(ErrorCode::unsupported,
                  "precision \"fp16\" runs on CUDA only; on a CPU use \"bf16\" (AVX-512 BF16 or AMX) or \"float32\"");
    }
    return torch::kHalf;
  }
  if (name == "bf16") {
    if (device.is_cpu() && !detail::cpu_has_bf16()) {
      throw Error(ErrorCode::unsupported,
                  "precision \"bf16\" needs a CPU with AVX-512 BF16 or AMX, and this one has neither (without them "
                  "bfloat16 is emulated, slower than float32); use \"float32\"");
    }
    return torch::kBFloat16;
  }
  throw Error(ErrorCode::invalid_argument,
              "precision \"" + name + "\" is not one of \"float32\", \"bf16\", \"fp16\"");
}

// Free memory on the current CUDA device, or 0 when it cannot be asked. libtorch's own query
// needs the CUDA headers, which a libtorch install need not have; the runtime library it loaded
// answers the same question.
std::size_t cuda_free_bytes() {
  std::string cudart;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* found) {
        const std::string name = info->dlpi_name ? info->dlpi_name : "";
        if (name.find("libcudart.so") == std::string::npos) return 0;
        *static_cast<std::string*>(found) = name;
        return 1;
      },
      &cudart);
  if (cudart.empty()) return 0;
  void* lib = ::dlopen(cudart.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (!lib) return 0;
  using MemGetInfo = int (*)(std::size_t*, std::size_t*);
  const auto get = reinterpret_cast<MemGetInfo>(::dlsym(lib, "cudaMemGetInfo"));
  std::size_t free_bytes = 0, total = 0;
  const bool ok = get && get(&free_bytes, &total) == 0;
  ::dlclose(lib);
  return ok ? free_bytes : 0;
}

// Images per model call on CUDA: as many as half the free memory holds at 64x an input's size
// each (ViT-B/32's activations take about 10x, ViT-L/14 at 336 pixels about 40x), at most 128,
// where ViT-B/32 on an H200 is past its best rate; 64 when the free memory is unknown.
std::size_t cuda_batch_size(std::size_t input_floats) {
  constexpr std::size_t kMost = 128, kUnknown = 64;
  const std::size_t free_bytes = cuda_free_bytes();
  if (free_bytes == 0) return kUnknown;
  const std::size_t per_image = 64 * input_floats * sizeof(float);
  return std::clamp<std::size_t>(free_bytes / 2 / per_image, 1, kMost);
}

}  // namespace

struct ClipEncoder::Impl {
  std::string path;
  ClipModelInfo info;
  ClipTokenizer tokenizer;
  torch::jit::Module module;
  torch::Device device = torch::kCPU;
  std::string precision = "float32";
  // What image inputs become on the device: the model's own type on CUDA; on a CPU, float32
  // (bf16 there lives inside the linear layers).
  torch::ScalarType input_type = torch::kFloat;
  EncoderFingerprint fingerprint;
  std::size_t threads = 0;  // ClipEncoderOptions::threads: 0 chooses per call (parallel/cpu_share.hpp)
  int onednn_linears = 0;
  int fused_activations = 0;  // of those, the ones that apply the MLP's activation themselves
  int bf16_chained = 0;       // and the ones that write bfloat16 for the next linear
  int patch_convolutions = 0;  // patch embeddings run as packed linears
  bool frozen = false;

  Impl(std::string p, ClipModelInfo i, ClipTokenizer t)
      : path(std::move(p)), info(std::move(i)), tokenizer(std::move(t)) {}

  // Runs one of the bundle's methods and returns [n, embed_dim] floats on the CPU. Pixels go to
  // the device asynchronously (from page-locked memory, see input_buffer); reading the output
  // back waits for the whole call.
  torch::Tensor call(const char* method, torch::Tensor input) {
    c10::InferenceMode guard;
    std::optional<detail::CpuShare> share;  // counts this call among the process's while it runs
    if (device.is_cpu()) {
      // The thread count is OpenMP's per calling thread, so it is set here, on the thread that
      // runs the model (the pipeline's, the server's, Python's), not once at load.
      int n = static_cast<int>(threads);
      if (n == 0) n = static_cast<int>(share.emplace().threads());
      if (at::get_num_threads() != n) at::set_num_threads(n);
    }
    torch::Tensor out;
    try {
      const torch::Tensor on_device = input.is_floating_point()
                                          ? input.to(device, input_type, /*non_blocking=*/true)
                                          : input.to(device, /*non_blocking=*/true);
      out = module.get_method(method)({on_device}).toTensor();
    } catch (const c10::Error& e) {
      throw Error(ErrorCode::incompatible, path + ": " + method + " failed: " + first_line(e.what()));
    }
    if (out.dim() != 2 || out.size(0) != input.size(0) ||
        out.size(1) != static_cast<std::int64_t>(info.embed_dim)) {
      throw Error(ErrorCode::incompatible,
                  path + ": " + method + " returned shape " + c10::str(out.sizes()) + " for " +
                      std::to_string(input.size(0)) + " inputs; the config says embed_dim " +
                      std::to_string(info.embed_dim));
    }
    return out.to(torch::kCPU, torch::kFloat).contiguous();
  }

  // Texts run on the first max(end position) + 1 tokens of their batch when the bundle allows.
  // The end position is where the model pools: argmax of the ids, first occurrence.
  void encode_token_rows(const std::vector<std::vector<std::int64_t>>& rows, float* out) {
    const std::size_t n = rows.size(), ctx = info.context_length;
    std::vector<std::size_t> used(n), order(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (rows[i].size() != ctx) {
        throw Error(ErrorCode::invalid_argument,
                    "encode_tokens: row " + std::to_string(i) + " has " + std::to_string(rows[i].size()) +
                        " tokens; the model takes " + std::to_string(ctx));
      }
      for (std::int64_t id : rows[i]) {
        if (id < 0 || static_cast<std::size_t>(id) >= info.vocab_size) {
          throw Error(ErrorCode::invalid_argument,
                      "encode_tokens: row " + std::to_string(i) + " holds token id " +
                          std::to_string(id) + ", outside the vocabulary");
        }
      }
      used[i] = info.text_truncation
                    ? static_cast<std::size_t>(std::max_element(rows[i].begin(), rows[i].end()) -
                                               rows[i].begin()) + 1
                    : ctx;
    }
    // Similar lengths share a batch, so little work goes to padding.
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return used[a] < used[b]; });
    const std::size_t dim = info.embed_dim;
    for (std::size_t first = 0; first < n; first += kTextBatch) {
      const std::size_t m = std::min(kTextBatch, n - first);
      std::size_t len = 0;
      for (std::size_t j = 0; j < m; ++j) len = std::max(len, used[order[first + j]]);
      torch::Tensor tokens = torch::empty({static_cast<std::int64_t>(m), static_cast<std::int64_t>(len)},
                                          torch::kLong);
      auto* t = tokens.data_ptr<std::int64_t>();
      for (std::size_t j = 0; j < m; ++j) std::copy_n(rows[order[first + j]].data(), len, t + j * len);
      const torch::Tensor emb = call("encode_text", tokens);
      const float* e = emb.data_ptr<float>();
      for (std::size_t j = 0; j < m; ++j) std::copy_n(e + j * dim, dim, out + order[first + j] * dim);
    }
  }
};

std::unique_ptr<ClipEncoder::Impl> ClipEncoder::load(const std::string& path,
                                                    const ClipEncoderOptions& options) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(ErrorCode::not_found, path + ": no such model bundle");
  if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::invalid_argument, path + ": not a file");
  const torch::Device device = resolve_device(options.device);
  const torch::ScalarType precision = resolve_precision(options.precision, device);
  if (device.is_cpu() && options.threads == 0) detail::CpuShare::start_window();
  if (device.is_cpu() && precision == torch::kBFloat16 && !options.optimize) {
    throw Error(ErrorCode::invalid_argument,
                "precision \"bf16\" on a CPU works through the optimized module's oneDNN layers; load with optimize = true");
  }
  if (options.cached_allocations_bytes > 0) {
    detail::install_caching_cpu_allocator(options.cached_allocations_bytes);
  }

  torch::jit::ExtraFilesMap extra{{detail::kBundleConfigFile, ""}, {detail::kBundleVocabFile, ""}};
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, device, extra);
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::corrupt_file, path + ": not a TorchScript model bundle (" + first_line(e.what()) + ")");
  }
  if (extra[detail::kBundleConfigFile].empty()) {
    throw Error(ErrorCode::corrupt_file,
                path + ": a TorchScript file without imgvec/config.json, so not an imgvec model "
                       "bundle; make one with tools/export_openclip.py");
  }
  ClipModelInfo info = detail::parse_bundle_config(extra[detail::kBundleConfigFile], path);
  if (extra[detail::kBundleVocabFile].empty()) {
    throw Error(ErrorCode::corrupt_file, path + ": the bundle has no imgvec/vocab.txt.gz");
  }
  ClipTokenizer tokenizer =
      ClipTokenizer::from_merges(extra[detail::kBundleVocabFile], path + " (imgvec/vocab.txt.gz)");
  if (tokenizer.vocab_size() != info.vocab_size) {
    throw Error(ErrorCode::incompatible,
                path + ": the vocabulary has " + std::to_string(tokenizer.vocab_size()) +
                    " tokens but the config says vocab_size " + std::to_string(info.vocab_size));
  }
  for (const char* method : {"encode_image", "encode_text"}) {
    if (!module.find_method(method)) {
      throw Error(ErrorCode::corrupt_file, path + ": the module has no " + method + " method");
    }
  }

  info.text_truncation = info.text_truncation && options.shorten_texts;
  auto impl = std::make_unique<Impl>(path, std::move(info), std::move(tokenizer));
  impl->device = device;
  impl->precision = options.precision;
  impl->threads = options.threads;
  module.eval();
  if (device.is_cuda() && precision != torch::kFloat) {
    // On a GPU the whole model runs in half precision, as open_clip's own half-precision
    // inference does; its outputs come back as float32 (call()).
    module.to(precision);
    impl->input_type = precision;
  }
  if (options.optimize) {
    // Freezing folds parameters into constants. On CPU, every linear with a constant weight then
    // runs as a oneDNN inner product on a weight packed once (see onednn_linear.hpp). libtorch's
    // optimize_for_inference does not help these models: it leaves their matmuls to BLAS.
    try {
      module = torch::jit::freeze_module(module, {"encode_image", "encode_text"});
      impl->frozen = true;
      if (device.is_cpu()) {
        const char* const methods[] = {"encode_image", "encode_text"};
        impl->onednn_linears =
            detail::use_onednn_linears(module, methods, 2, precision == torch::kBFloat16, &impl->fused_activations,
                                       &impl->bf16_chained, &impl->patch_convolutions);
        if (precision == torch::kBFloat16 && impl->onednn_linears == 0) {
          throw Error(ErrorCode::unsupported, path + ": precision \"bf16\" on a CPU needs a libtorch with oneDNN "
                                                     "(MKLDNN) and a model with linear layers; use \"float32\"");
        }
      }
    } catch (const c10::Error& e) {
      throw Error(ErrorCode::incompatible, path + ": cannot optimize the module for inference (" +
                                               first_line(e.what()) + "); load with optimize = false");
    }
  }
  impl->module = std::move(module);

  // One call of each method: proves the outputs have the promised shape, and warms the JIT.
  const auto s = static_cast<std::int64_t>(impl->info.preprocess.image_size);
  impl->call("encode_image", torch::zeros({1, 3, s, s}));
  std::vector<std::vector<std::int64_t>> probe{impl->tokenizer.tokenize("a photo", impl->info.context_length)};
  std::vector<float> sink(impl->info.embed_dim);
  impl->encode_token_rows(probe, sink.data());

  // The fingerprint says nothing of the precision: its vectors are interchangeable with
  // float32's (cosine >= 0.999, tested).
  impl->fingerprint.kind = "clip";
  impl->fingerprint.model = impl->info.name;
  impl->fingerprint.model_hash = detail::to_hex(detail::hash_file(path));
  impl->fingerprint.dimension = impl->info.embed_dim;
  impl->fingerprint.preprocessing = detail::describe_preprocessing(impl->info);
  return impl;
}

EncoderFingerprint ClipEncoder::fingerprint_of(const Impl& impl) { return impl.fingerprint; }
std::size_t ClipEncoder::input_floats_of(const Impl& impl) {
  const std::size_t s = impl.info.preprocess.image_size;
  return 3 * s * s;
}

ClipEncoder::ClipEncoder(const std::string& bundle_path, const ClipEncoderOptions& options)
    : ClipEncoder(load(bundle_path, options)) {}

ClipEncoder::ClipEncoder(std::unique_ptr<Impl> impl)
    : Encoder(fingerprint_of(*impl), input_floats_of(*impl)), impl_(std::move(impl)) {
  set_precision(impl_->precision);
  if (impl_->device.is_cuda()) {
    // The model needs no CPU of its own on a GPU: every core but one decodes, and batches
    // are as large as the device's memory allows (with 1 decoding thread and batches of 8, an
    // H200 embedded 133 images/s where the model alone ran 3705).
    set_batch_size(cuda_batch_size(input_floats()));
    set_pipeline_threads(std::max<std::size_t>(1, detail::available_cores() - 1));
    // TorchScript profiles a method's first call at a new input shape and optimizes it at the
    // next; two calls at the full batch here keep that work out of the first batches of files.
    const auto s = static_cast<std::int64_t>(impl_->info.preprocess.image_size);
    const torch::Tensor zeros = torch::zeros({static_cast<std::int64_t>(batch_size()), 3, s, s});
    for (int i = 0; i < 2; ++i) impl_->call("encode_image", zeros);
  }
}

ClipEncoder::~ClipEncoder() = default;

const ClipModelInfo& ClipEncoder::info() const noexcept { return impl_->info; }
const ClipTokenizer& ClipEncoder::tokenizer() const noexcept { return impl_->tokenizer; }
std::string ClipEncoder::device() const { return impl_->device.str(); }

std::shared_ptr<float> ClipEncoder::input_buffer(std::size_t floats) const {
  if (!impl_->device.is_cuda()) return Encoder::input_buffer(floats);
  torch::Tensor pinned = torch::empty({static_cast<std::int64_t>(floats)},
                                      torch::TensorOptions().dtype(torch::kFloat).pinned_memory(true));
  float* data = pinned.data_ptr<float>();
  return std::shared_ptr<float>(data, [pinned](float*) mutable { pinned.reset(); });
}

std::string ClipEncoder::runtime() const {
  std::string s = impl_->device.str() + ", " + precision() + ", ";
  if (impl_->device.is_cpu()) {
    s += impl_->threads ? std::to_string(impl_->threads) + (impl_->threads == 1 ? " thread, " : " threads, ")
                        : "up to " + std::to_string(detail::available_cores()) + " threads (fewer beside busy processes), ";
  }
  s += impl_->frozen ? "frozen" : "not frozen";
  if (impl_->frozen && impl_->device.is_cpu()) {
    s += at::hasMKLDNN() ? ", " + std::to_string(impl_->onednn_linears) + " linear layers on oneDNN (" +
                               std::to_string(impl_->fused_activations) + " with their activation" +
                               (impl_->bf16_chained ? ", " + std::to_string(impl_->bf16_chained) + " writing bfloat16 for the next" : "") +
                               ")" + (impl_->patch_convolutions ? ", patch embedding as a oneDNN linear" : "")
                         : ", oneDNN unavailable";
  }
  if (impl_->device.is_cuda()) {
    s += ", batches of " + std::to_string(batch_size()) + ", " + std::to_string(pipeline_threads()) + " decoding threads";
  }
  return s;
}

std::uint32_t ClipEncoder::decode_side() const noexcept { return 2 * impl_->info.preprocess.image_size; }

void ClipEncoder::prepare_image(const Image& image, float* input) const {
  preprocess_clip(image, impl_->info.preprocess, input);
}

void ClipEncoder::run_images(const float* inputs, std::size_t count, float* out) {
  const auto s = static_cast<std::int64_t>(impl_->info.preprocess.image_size);
  // from_blob does not copy; the caller's buffer outlives the call.
  const torch::Tensor pixels = torch::from_blob(const_cast<float*>(inputs),
                                                {static_cast<std::int64_t>(count), 3, s, s}, torch::kFloat);
  const torch::Tensor emb = impl_->call("encode_image", pixels);
  std::memcpy(out, emb.data_ptr<float>(), count * dimension() * sizeof(float));
}

void ClipEncoder::run_texts(const std::vector<std::string>& texts, float* out) {
  std::vector<std::vector<std::int64_t>> rows;
  rows.reserve(texts.size());
  for (const std::string& t : texts) rows.push_back(impl_->tokenizer.tokenize(t, impl_->info.context_length));
  impl_->encode_token_rows(rows, out);
}

std::vector<float> ClipEncoder::encode_pixels(const float* pixels, std::size_t count, bool normalize) {
  if (count == 0) return {};
  std::vector<float> out(count * dimension());
  run_images(pixels, count, out.data());
  if (normalize) detail::normalize_rows(out.data(), count, dimension());
  return out;
}

std::vector<float> ClipEncoder::encode_tokens(const std::vector<std::vector<std::int64_t>>& tokens,
                                              bool normalize) {
  std::vector<float> out(tokens.size() * dimension());
  if (tokens.empty()) return out;
  impl_->encode_token_rows(tokens, out.data());
  if (normalize) detail::normalize_rows(out.data(), tokens.size(), dimension());
  return out;
}

}  // namespace imgvec

#include "encoder/onednn_inner_product.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#ifdef IMGVEC_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace imgvec::detail {

#ifdef IMGVEC_HAVE_DNNL

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// The row count the weight's layout is chosen for. The blocked layouts oneDNN picks serve every
// row count (a primitive for another count takes the same layout, see primitive_for), so this
// only steers the choice: ViT-B/32 runs 50 to 400 rows per image batch, texts 8 to 300.
constexpr memory::dim kLayoutRows = 128;

}  // namespace

// From this many rows a layer runs as a oneDNN matmul, below as an inner product, on the same
// packed weight. ViT-B/32 on an Intel Xeon with AMX (2 cores), medians of interleaved runs: at 400
// rows (batch 8) the matmul took the model from 301 to 270 ms per batch in float32 and from 109
// to 100 in bf16 (fc1 2.03 -> 1.72 ms, bf16); at 50 rows (one image) and 9 (a text query) the
// inner product was as fast or faster (text in bf16 5.0 against 5.5 ms).
constexpr memory::dim kMatmulRows = 128;

struct InnerProduct::Impl {
  memory::dim out = 0, in = 0;
  bool bf16 = false;
  bool bf16_out = false;  // dst in bfloat16 (write_bf16)
  Activation activation = Activation::none;
  memory::desc weight_desc;  // the packed layout, out x in
  memory weight;             // in that layout
  // The same bytes seen as a matmul's in x out weight: oneDNN's matmul blocks its weight
  // exactly as the inner product does, transposed (BA16a64b2a against AB16b64a2b in bf16 on AMX).
  // Empty where the two layouts differ (bf16 with AVX-512 BF16 alone, measured on AMD Zen 5);
  // every row count then runs as an inner product.
  memory matmul_weight;
  memory bias, matmul_bias;  // the same floats as {out} and as {1, out}; empty without a bias
  mutable std::mutex mutex;
  struct Prepared {
    dnnl::primitive primitive;
    std::size_t scratchpad_bytes = 0;
    bool matmul = false;
  };
  // By row count and thread count: a oneDNN primitive splits its work for the threads there were
  // when it was made (oneDNN keys its own primitive cache by that count too), and the encoder
  // runs with fewer threads while other processes keep cores busy (parallel/cpu_share.hpp).
  mutable std::map<std::pair<memory::dim, int>, Prepared> primitives;

  dnnl::primitive_attr attributes() const {
    // The scratchpad is the caller's (run() keeps one per thread). oneDNN's own, in its default
    // build, is shared and ties a primitive to the thread that made it, while the encoder calls
    // these from the decode pipeline's thread, the server's request threads and Python's; with
    // a buffer per thread, concurrent calls of one primitive are safe (oneDNN's scratchpad docs).
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (activation != Activation::none) {
      dnnl::post_ops ops;
      switch (activation) {
        case Activation::quick_gelu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_swish, 1.702f, 0.f); break;
        case Activation::gelu_erf: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f); break;
        case Activation::gelu_tanh: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_tanh, 0.f, 0.f); break;
        case Activation::none: break;
      }
      attr.set_post_ops(ops);
    }
    return attr;
  }

  // Descriptions only: the load asks them for weight layouts, and a primitive (its kernels
  // generated) is made by primitive_for, for the row and thread counts that run.
  dnnl::inner_product_forward::primitive_desc inner_product(memory::dim rows, const memory::desc& weights) const {
    const memory::desc src({rows, in}, bf16 ? dt::bf16 : dt::f32, tag::ab);
    const memory::desc dst({rows, out}, bf16_out ? dt::bf16 : dt::f32, tag::ab);
    const auto d = bias ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src, weights,
                                                            memory::desc({out}, dt::f32, tag::a), dst)
                        : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src, weights, dst);
    return {d, attributes(), cpu_engine()};
  }

  dnnl::matmul::primitive_desc matmul(memory::dim rows, const memory::desc& weights) const {
    const memory::desc src({rows, in}, bf16 ? dt::bf16 : dt::f32, tag::ab);
    const memory::desc dst({rows, out}, bf16_out ? dt::bf16 : dt::f32, tag::ab);
    const auto d = bias ? dnnl::matmul::desc(src, weights, memory::desc({1, out}, dt::f32, tag::ab), dst)
                        : dnnl::matmul::desc(src, weights, dst);
    return {d, attributes(), cpu_engine()};
  }

  const Prepared& primitive_for(memory::dim rows, int threads) const {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = primitives.find({rows, threads});
    if (it == primitives.end()) {
      Prepared p;
      if (matmul_weight && rows >= kMatmulRows) {
        const auto pd = matmul(rows, matmul_weight.get_desc());
        if (pd.weights_desc() != matmul_weight.get_desc()) throw std::runtime_error("oneDNN changed the matmul's weight layout");
        p = {dnnl::matmul(pd), pd.scratchpad_desc().get_size(), true};
      } else {
        const auto pd = inner_product(rows, weight_desc);
        if (pd.weights_desc() != weight_desc) throw std::runtime_error("oneDNN changed the inner product's weight layout");
        p = {dnnl::inner_product_forward(pd), pd.scratchpad_desc().get_size(), false};
      }
      it = primitives.emplace(std::make_pair(rows, threads), std::move(p)).first;
    }
    return it->second;
  }
};

bool InnerProduct::available() noexcept { return true; }

InnerProduct::InnerProduct(const float* weight, const float* bias, std::int64_t out, std::int64_t in, bool bf16,
                           Activation activation)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.out = out;
  m.in = in;
  m.bf16 = bf16;
  m.activation = activation;
  const dt type = bf16 ? dt::bf16 : dt::f32;
  if (bias) {
    m.bias = memory({{out}, dt::f32, tag::a}, cpu_engine());
    std::copy_n(bias, out, static_cast<float*>(m.bias.get_data_handle()));
    m.matmul_bias = memory({{1, out}, dt::f32, tag::ab}, cpu_engine(), m.bias.get_data_handle());
  }
  m.weight_desc = m.inner_product(kLayoutRows, memory::desc({out, in}, type, tag::any)).weights_desc();
  // Plain float32 -> the packed layout (and bfloat16), in one reorder, once.
  memory plain({{out, in}, dt::f32, tag::ab}, cpu_engine(), const_cast<float*>(weight));
  m.weight = memory(m.weight_desc, cpu_engine());
  dnnl::stream stream(cpu_engine());
  dnnl::reorder(plain, m.weight).execute(stream, plain, m.weight);
  stream.wait();
  const memory::desc matmul_desc = m.matmul(4 * kMatmulRows, memory::desc({in, out}, type, tag::any)).weights_desc();
  if (matmul_desc == m.weight_desc.permute_axes({1, 0})) {
    m.matmul_weight = memory(matmul_desc, cpu_engine(), m.weight.get_data_handle());
  }
}

InnerProduct::~InnerProduct() = default;

void InnerProduct::write_bf16(bool on) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->bf16_out = on;
  impl_->primitives.clear();
}

bool InnerProduct::writes_bf16() const noexcept { return impl_->bf16_out; }

void InnerProduct::run(const void* x, std::int64_t rows, void* y, int threads) const {
  const Impl& m = *impl_;
  const Impl::Prepared& prepared = m.primitive_for(rows, threads);
  const dnnl::engine& engine = cpu_engine();
  thread_local std::vector<unsigned char> scratchpad;  // grows to the largest layer's, then stays
  if (scratchpad.size() < prepared.scratchpad_bytes) scratchpad.resize(prepared.scratchpad_bytes);
  memory src({{rows, m.in}, m.bf16 ? dt::bf16 : dt::f32, tag::ab}, engine, const_cast<void*>(x));
  memory dst({{rows, m.out}, m.bf16_out ? dt::bf16 : dt::f32, tag::ab}, engine, y);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                       {DNNL_ARG_WEIGHTS, prepared.matmul ? m.matmul_weight : m.weight},
                                       {DNNL_ARG_DST, dst}};
  if (m.bias) args.emplace(DNNL_ARG_BIAS, prepared.matmul ? m.matmul_bias : m.bias);
  if (prepared.scratchpad_bytes > 0) {
    args.emplace(DNNL_ARG_SCRATCHPAD, memory({{static_cast<memory::dim>(prepared.scratchpad_bytes)}, dt::u8, tag::a},
                                             engine, scratchpad.data()));
  }
  dnnl::stream stream(engine);
  prepared.primitive.execute(stream, args);
  stream.wait();
}

bool InnerProduct::runs_large_batches_as_matmul() const noexcept { return static_cast<bool>(impl_->matmul_weight); }

#else  // no oneDNN API in this build

struct InnerProduct::Impl {};
bool InnerProduct::available() noexcept { return false; }
InnerProduct::InnerProduct(const float*, const float*, std::int64_t, std::int64_t, bool, Activation) {
  throw std::logic_error("InnerProduct: this build has no oneDNN");
}
InnerProduct::~InnerProduct() = default;
void InnerProduct::write_bf16(bool) {}
bool InnerProduct::writes_bf16() const noexcept { return false; }
void InnerProduct::run(const void*, std::int64_t, void*, int) const {}
bool InnerProduct::runs_large_batches_as_matmul() const noexcept { return false; }

#endif

}  // namespace imgvec::detail

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

struct InnerProduct::Impl {
  memory::dim out = 0, in = 0;
  bool bf16 = false;
  Activation activation = Activation::none;
  memory::desc weight_desc;  // the packed layout
  memory weight, bias;       // bias empty when there is none
  bool has_bias = false;
  mutable std::mutex mutex;
  struct Prepared {
    dnnl::inner_product_forward primitive;
    std::size_t scratchpad_bytes = 0;
  };
  // By row count and thread count: a oneDNN primitive splits its work for the threads there were
  // when it was made (oneDNN keys its own primitive cache by that count too), and the encoder
  // runs with fewer threads while other processes keep cores busy (parallel/cpu_share.hpp).
  mutable std::map<std::pair<memory::dim, int>, Prepared> primitives;

  dnnl::inner_product_forward::primitive_desc describe(memory::dim rows, const memory::desc& weights) const {
    const memory::desc src({rows, in}, bf16 ? dt::bf16 : dt::f32, tag::ab);
    const memory::desc dst({rows, out}, dt::f32, tag::ab);
    const memory::desc b({out}, dt::f32, tag::a);
    const auto d = has_bias ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src, weights, b, dst)
                            : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src, weights, dst);
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
    return dnnl::inner_product_forward::primitive_desc(d, attr, cpu_engine());
  }

  const Prepared& primitive_for(memory::dim rows, int threads) const {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = primitives.find({rows, threads});
    if (it == primitives.end()) {
      const auto pd = describe(rows, weight_desc);
      if (pd.weights_desc() != weight_desc) throw std::runtime_error("oneDNN changed the inner product's weight layout");
      it = primitives.emplace(std::make_pair(rows, threads), Prepared{dnnl::inner_product_forward(pd), pd.scratchpad_desc().get_size()}).first;
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
  m.has_bias = bias != nullptr;
  const dt type = bf16 ? dt::bf16 : dt::f32;
  const auto pd = m.describe(kLayoutRows, memory::desc({out, in}, type, tag::any));
  m.weight_desc = pd.weights_desc();
  // Plain float32 -> the packed layout (and bfloat16), in one reorder, once.
  memory plain({{out, in}, dt::f32, tag::ab}, cpu_engine(), const_cast<float*>(weight));
  m.weight = memory(m.weight_desc, cpu_engine());
  dnnl::stream stream(cpu_engine());
  dnnl::reorder(plain, m.weight).execute(stream, plain, m.weight);
  if (bias) {
    m.bias = memory({{out}, dt::f32, tag::a}, cpu_engine());
    std::copy_n(bias, out, static_cast<float*>(m.bias.get_data_handle()));
  }
  stream.wait();
}

InnerProduct::~InnerProduct() = default;

void InnerProduct::run(const void* x, std::int64_t rows, float* y, int threads) const {
  const Impl& m = *impl_;
  const Impl::Prepared& prepared = m.primitive_for(rows, threads);
  const dnnl::engine& engine = cpu_engine();
  thread_local std::vector<unsigned char> scratchpad;  // grows to the largest layer's, then stays
  if (scratchpad.size() < prepared.scratchpad_bytes) scratchpad.resize(prepared.scratchpad_bytes);
  memory src({{rows, m.in}, m.bf16 ? dt::bf16 : dt::f32, tag::ab}, engine, const_cast<void*>(x));
  memory dst({{rows, m.out}, dt::f32, tag::ab}, engine, y);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, m.weight}, {DNNL_ARG_DST, dst}};
  if (m.has_bias) args.emplace(DNNL_ARG_BIAS, m.bias);
  if (prepared.scratchpad_bytes > 0) {
    args.emplace(DNNL_ARG_SCRATCHPAD, memory({{static_cast<memory::dim>(prepared.scratchpad_bytes)}, dt::u8, tag::a},
                                             engine, scratchpad.data()));
  }
  dnnl::stream stream(engine);
  prepared.primitive.execute(stream, args);
  stream.wait();
}

#else  // no oneDNN API in this build

struct InnerProduct::Impl {};
bool InnerProduct::available() noexcept { return false; }
InnerProduct::InnerProduct(const float*, const float*, std::int64_t, std::int64_t, bool, Activation) {
  throw std::logic_error("InnerProduct: this build has no oneDNN");
}
InnerProduct::~InnerProduct() = default;
void InnerProduct::run(const void*, std::int64_t, float*, int) const {}

#endif

}  // namespace imgvec::detail

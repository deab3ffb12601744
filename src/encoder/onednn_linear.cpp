#include "encoder/onednn_linear.hpp"

#include <cpuid.h>

#include <cmath>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/custom_class.h>
#include <torch/library.h>

#include "encoder/onednn_inner_product.hpp"

namespace imgvec::detail {
namespace {

// A linear layer's weight packed once; frozen graphs hold it as a constant, as libtorch's own
// prepacked convolutions do. With oneDNN's API (InnerProduct) the weight is in the kernels'
// blocked layout; without it, in libtorch's MKLDNN tensor, which oneDNN reorders at every call.
struct PackedLinear : torch::CustomClassHolder {
  std::unique_ptr<InnerProduct> packed;  // when InnerProduct::available()
  at::Tensor weight;  // otherwise: [out, in], MKLDNN layout; float32, or bfloat16 when bf16
  c10::optional<at::Tensor> bias;  // float32
  std::int64_t in_features = 0, out_features = 0;
  bool bf16 = false;
  std::int64_t patch_h = 0, patch_w = 0;  // a patch embedding's kernel (rewrite_patch_convolutions)

  at::Tensor run(const at::Tensor& x) const {
    std::vector<std::int64_t> sizes = x.sizes().vec();
    sizes.back() = out_features;
    at::Tensor rows = x.reshape({-1, in_features});
    if (packed) {
      // An input the previous layer wrote in bfloat16 (write_bf16) is taken as it is.
      const at::Tensor in = bf16 ? rows.to(at::kBFloat16).contiguous() : rows.to(at::kFloat).contiguous();
      at::Tensor out = at::empty({in.size(0), out_features}, packed->writes_bf16() ? at::kBFloat16 : at::kFloat);
      packed->run(in.data_ptr(), in.size(0), out.data_ptr(), at::get_num_threads());
      return out.view(sizes);
    }
    if (!bf16) return at::mkldnn_linear(rows.contiguous().to_mkldnn(), weight, bias).to_dense().view(sizes);
    // The bias is added in float32 after the product: rounded to bfloat16 it would cost a
    // third of the precision the rest keeps.
    at::Tensor out = at::mkldnn_linear(rows.to(at::kBFloat16).contiguous().to_mkldnn(), weight, c10::nullopt)
                         .to_dense()
                         .to(at::kFloat);
    if (bias) out.add_(*bias);
    return out.view(sizes);
  }
};

at::Tensor packed_linear(const at::Tensor& x, const c10::intrusive_ptr<PackedLinear>& packed) {
  return packed->run(x);
}

// A convolution whose stride is its kernel, unpadded (a ViT's patch embedding), as the linear it
// is: each kh x kw patch of all channels, flattened as the weight is ([C, kh, kw]), times the
// weight seen as [out, C * kh * kw]. The patches are gathered in one copy (in bfloat16 when the
// layer is), and the result is the convolution's [B, out, H / kh, W / kw] as a view of the
// linear's [B, H / kh, W / kw, out] rows: what follows (flatten, transpose to [B, patches, out])
// then reads the rows in their order.
at::Tensor patch_linear(const at::Tensor& x, const c10::intrusive_ptr<PackedLinear>& packed) {
  const PackedLinear& p = *packed;
  TORCH_CHECK(x.dim() == 4, "imgvec::patch_linear: a 4-d input, not ", x.dim(), "-d");
  const std::int64_t batch = x.size(0), channels = x.size(1);
  const std::int64_t rows = x.size(2) / p.patch_h, cols = x.size(3) / p.patch_w;
  TORCH_CHECK(channels * p.patch_h * p.patch_w == p.in_features, "imgvec::patch_linear: ", channels,
              " channels for a weight of ", p.in_features / (p.patch_h * p.patch_w));
  // Pixels beyond the last whole patch are dropped, as the convolution drops them.
  const at::Tensor patches = x.narrow(2, 0, rows * p.patch_h)
                                 .narrow(3, 0, cols * p.patch_w)
                                 .reshape({batch, channels, rows, p.patch_h, cols, p.patch_w})
                                 .permute({0, 2, 4, 1, 3, 5})
                                 .to(p.bf16 ? at::kBFloat16 : at::kFloat)
                                 .contiguous()
                                 .view({batch * rows * cols, p.in_features});
  const at::Tensor out = p.run(patches);
  return out.view({batch, rows, cols, p.out_features}).permute({0, 3, 1, 2});
}

TORCH_LIBRARY(imgvec, m) {
  m.class_<PackedLinear>("PackedLinear");
  m.def("packed_linear(Tensor input, __torch__.torch.classes.imgvec.PackedLinear packed) -> Tensor",
        &packed_linear);
  m.def("patch_linear(Tensor input, __torch__.torch.classes.imgvec.PackedLinear packed) -> Tensor",
        &patch_linear);
}

c10::optional<at::Tensor> constant_tensor(torch::jit::Value* v) {
  const auto iv = torch::jit::toIValue(v);
  if (!iv || !iv->isTensor()) return c10::nullopt;
  return iv->toTensor();
}

bool is_none(torch::jit::Value* v) {
  const auto iv = torch::jit::toIValue(v);
  return iv && iv->isNone();
}

// What a linear's output goes through next, when it is an activation oneDNN can apply as the
// layer writes its output: the activation, the nodes that compute it now (last first, the order
// they can be destroyed in) and the value they end in.
struct ActivationMatch {
  Activation kind = Activation::none;
  std::vector<torch::jit::Node*> nodes;
  torch::jit::Value* result = nullptr;
};

bool is_constant_near(torch::jit::Value* v, double expected) {
  const auto iv = torch::jit::toIValue(v);
  return iv && iv->isDouble() && std::abs(iv->toDouble() - expected) < 1e-6;
}

ActivationMatch match_activation(torch::jit::Value* y) {
  static const auto mul = c10::Symbol::fromQualString("aten::mul");
  static const auto sigmoid = c10::Symbol::fromQualString("aten::sigmoid");
  static const auto gelu = c10::Symbol::fromQualString("aten::gelu");
  ActivationMatch m;
  const auto& uses = y->uses();
  if (uses.size() == 1 && uses[0].user->kind() == gelu && uses[0].user->input(0) == y) {
    // torch.nn.GELU: aten::gelu(y) or, since torch 1.12, aten::gelu(y, approximate).
    torch::jit::Node* g = uses[0].user;
    Activation kind = Activation::gelu_erf;
    if (g->inputs().size() == 2) {
      const auto a = torch::jit::toIValue(g->input(1));
      if (!a || !a->isString()) return m;
      if (a->toStringRef() == "tanh") kind = Activation::gelu_tanh;
      else if (a->toStringRef() != "none") return m;
    } else if (g->inputs().size() != 1) {
      return m;
    }
    return {kind, {g}, g->output()};
  }
  // OpenAI CLIP's QuickGELU, y * sigmoid(1.702 * y), traced as mul(y, 1.702) -> sigmoid -> mul.
  if (uses.size() != 2) return m;
  torch::jit::Node* scale = nullptr;
  torch::jit::Node* product = nullptr;
  for (const auto& use : uses) {
    torch::jit::Node* n = use.user;
    if (n->kind() != mul || n->inputs().size() != 2) return m;
    if (n->input(0) == y && is_constant_near(n->input(1), 1.702)) scale = n;
    else product = n;
  }
  if (!scale || !product || scale->output()->uses().size() != 1) return m;
  torch::jit::Node* s = scale->output()->uses()[0].user;
  if (s->kind() != sigmoid || s->output()->uses().size() != 1 || s->output()->uses()[0].user != product) return m;
  const bool operands = (product->input(0) == y && product->input(1) == s->output()) ||
                        (product->input(1) == y && product->input(0) == s->output());
  if (!operands) return m;
  return {Activation::quick_gelu, {product, s, scale}, product->output()};
}

// Inserts `op`(node's first input, packed) before `node`, typed as node's output.
torch::jit::Node* insert_call(torch::jit::Graph& graph, torch::jit::Node* node, const char* op,
                              c10::intrusive_ptr<PackedLinear> packed) {
  torch::jit::WithInsertPoint guard(node);
  torch::jit::Value* constant = graph.insertConstant(c10::IValue(std::move(packed)));
  torch::jit::Node* call = graph.create(c10::Symbol::fromQualString(op), {node->input(0), constant});
  graph.insertNode(call);
  call->output()->setType(node->output()->type());
  return call;
}

void collect_linears(torch::jit::Block* block, std::vector<torch::jit::Node*>& out) {
  static const auto linear = c10::Symbol::fromQualString("aten::linear");
  for (torch::jit::Node* node : block->nodes()) {
    for (torch::jit::Block* sub : node->blocks()) collect_linears(sub, out);
    if (node->kind() == linear) out.push_back(node);
  }
}

// In bfloat16, a layer whose output feeds only another packed layer (the MLP's first linear, its
// activation folded in, feeding the second) writes bfloat16: the second would convert it anyway,
// and the float32 copy was written and read once more for nothing. ViT-B/32 bf16 batch 8 (Intel
// Xeon with AMX, 2 cores, medians of 3 interleaved runs): 85.3 -> 81.4 ms. Returns how many.
int chain_bf16(const std::vector<std::pair<torch::jit::Node*, PackedLinear*>>& calls) {
  std::unordered_map<torch::jit::Node*, PackedLinear*> by_node(calls.begin(), calls.end());
  int chained = 0;
  for (const auto& [node, layer] : calls) {
    if (!layer->bf16 || !layer->packed) continue;
    const auto& uses = node->output()->uses();
    if (uses.size() != 1 || uses[0].offset != 0) continue;
    const auto next = by_node.find(uses[0].user);
    if (next == by_node.end() || !next->second->bf16 || !next->second->packed) continue;
    layer->packed->write_bf16(true);
    node->output()->setType(c10::TensorType::get());  // no longer a float tensor
    ++chained;
  }
  return chained;
}

// Rewrites the graph's linears; returns how many, and adds the activations folded into them to
// `fused` and the layers that write bfloat16 for the next to `chained`. The linears are collected
// first: folding destroys nodes a walk would still visit.
int rewrite(torch::jit::Graph& graph, bool bf16, int& fused, int& chained) {
  std::vector<torch::jit::Node*> linears;
  collect_linears(graph.block(), linears);
  std::vector<std::pair<torch::jit::Node*, PackedLinear*>> calls;
  int rewritten = 0;
  for (torch::jit::Node* node : linears) {
    const auto weight = constant_tensor(node->input(1));
    const auto bias = constant_tensor(node->input(2));
    if (!weight || weight->dim() != 2 || weight->scalar_type() != at::kFloat || !weight->device().is_cpu()) continue;
    if (!bias && !is_none(node->input(2))) continue;
    auto packed = c10::make_intrusive<PackedLinear>();
    PackedLinear* layer = packed.get();
    packed->bf16 = bf16;
    ActivationMatch activation;
    if (InnerProduct::available()) {
      // Folding the activation saves its passes over the layer's output: QuickGELU was three
      // (mul, sigmoid, mul), 1.1 ms per ViT-B/32 MLP at batch 8 on 2 cores, 13 ms of a batch.
      activation = match_activation(node->output());
      const at::Tensor w = weight->contiguous();
      const at::Tensor b = bias ? bias->to(at::kFloat).contiguous() : at::Tensor();
      packed->packed = std::make_unique<InnerProduct>(w.data_ptr<float>(), bias ? b.data_ptr<float>() : nullptr,
                                                      weight->size(0), weight->size(1), bf16, activation.kind);
    } else {
      packed->weight = bf16 ? weight->to(at::kBFloat16).contiguous().to_mkldnn() : weight->contiguous().to_mkldnn();
      if (bias) packed->bias = bias->contiguous();
    }
    packed->out_features = weight->size(0);
    packed->in_features = weight->size(1);
    torch::jit::Node* call = insert_call(graph, node, "imgvec::packed_linear", std::move(packed));
    if (activation.kind != Activation::none) {
      activation.result->replaceAllUsesWith(call->output());
      for (torch::jit::Node* n : activation.nodes) n->destroy();
      ++fused;
    }
    node->output()->replaceAllUsesWith(call->output());
    node->destroy();
    calls.emplace_back(call, layer);
    ++rewritten;
  }
  chained += chain_bf16(calls);
  return rewritten;
}

std::vector<std::int64_t> int_list(torch::jit::Value* v) {
  const auto iv = torch::jit::toIValue(v);
  if (!iv || !iv->isIntList()) return {};
  return iv->toIntVector();
}

bool constant_is(torch::jit::Value* v, std::int64_t expected) {
  const auto iv = torch::jit::toIValue(v);
  return iv && iv->isInt() && iv->toInt() == expected;
}

bool constant_false(torch::jit::Value* v) {
  const auto iv = torch::jit::toIValue(v);
  return iv && iv->isBool() && !iv->toBool();
}

// Rewrites 2-d convolutions with a constant weight whose stride equals the kernel, with no padding,
// dilation 1 and one group (a ViT's patch embedding, ViT-B/32's conv1) to imgvec::patch_linear on a
// packed layer. libtorch ran ViT-B/32's as a float32 convolution that reordered its weight at every
// call: 8.5 ms of a bf16 batch of 8 (10%) against 1.7 ms for a bf16 linear of the same size
// (ONEDNN_VERBOSE, Intel Xeon with AMX, 2 cores); the batch went from 91.5 to 85.3 ms (float32
// 267 -> 263). Returns how many.
int rewrite_patch_convolutions(torch::jit::Graph& graph, bool bf16) {
  static const auto conv2d = c10::Symbol::fromQualString("aten::conv2d");
  static const auto convolution = c10::Symbol::fromQualString("aten::_convolution");
  std::vector<torch::jit::Node*> convs;
  for (torch::jit::Node* node : graph.nodes()) {
    if (node->kind() == conv2d || node->kind() == convolution) convs.push_back(node);
  }
  int rewritten = 0;
  for (torch::jit::Node* node : convs) {
    // conv2d(input, weight, bias, stride, padding, dilation, groups); _convolution(input, weight,
    // bias, stride, padding, dilation, transposed, output_padding, groups, ...).
    const bool full = node->kind() == convolution;
    if (node->inputs().size() < (full ? 9u : 7u)) continue;
    const auto weight = constant_tensor(node->input(1));
    const auto bias = constant_tensor(node->input(2));
    if (!weight || weight->dim() != 4 || weight->scalar_type() != at::kFloat || !weight->device().is_cpu()) continue;
    if (!bias && !is_none(node->input(2))) continue;
    const std::int64_t kh = weight->size(2), kw = weight->size(3);
    const auto stride = int_list(node->input(3)), padding = int_list(node->input(4)), dilation = int_list(node->input(5));
    if (stride != std::vector<std::int64_t>{kh, kw}) continue;
    if (padding != std::vector<std::int64_t>{0, 0} || dilation != std::vector<std::int64_t>{1, 1}) continue;
    if (full && !constant_false(node->input(6))) continue;  // transposed
    if (!constant_is(node->input(full ? 8 : 6), 1)) continue;  // groups
    auto packed = c10::make_intrusive<PackedLinear>();
    const at::Tensor w = weight->reshape({weight->size(0), -1}).contiguous();
    const at::Tensor b = bias ? bias->to(at::kFloat).contiguous() : at::Tensor();
    packed->packed = std::make_unique<InnerProduct>(w.data_ptr<float>(), bias ? b.data_ptr<float>() : nullptr,
                                                    w.size(0), w.size(1), bf16);
    packed->bf16 = bf16;
    packed->out_features = w.size(0);
    packed->in_features = w.size(1);
    packed->patch_h = kh;
    packed->patch_w = kw;
    torch::jit::Node* call = insert_call(graph, node, "imgvec::patch_linear", std::move(packed));
    node->output()->replaceAllUsesWith(call->output());
    node->destroy();
    ++rewritten;
  }
  return rewritten;
}

}  // namespace

bool cpu_has_amx_bf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) return false;  // OS state too
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((d >> 22) & 1u);
}

bool cpu_has_bf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) return false;  // OS state too
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const unsigned leaf7_subleaves = a;
  bool avx512_bf16 = false;
  if (leaf7_subleaves >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) avx512_bf16 = (a >> 5) & 1u;
  return avx512_bf16 || cpu_has_amx_bf16();
}

int use_onednn_linears(torch::jit::Module& frozen, const char* const* methods, int method_count, bool bf16,
                       int* fused_activations, int* bf16_chained, int* patch_convolutions) {
  if (!at::hasMKLDNN()) return 0;
  int rewritten = 0, fused = 0, chained = 0, patches = 0;
  for (int m = 0; m < method_count; ++m) {
    auto graph = frozen.get_method(methods[m]).graph();
    rewritten += rewrite(*graph, bf16, fused, chained);
    if (InnerProduct::available()) patches += rewrite_patch_convolutions(*graph, bf16);
    torch::jit::EliminateDeadCode(graph);
  }
  if (fused_activations) *fused_activations = fused;
  if (bf16_chained) *bf16_chained = chained;
  if (patch_convolutions) *patch_convolutions = patches;
  return rewritten;
}

}  // namespace imgvec::detail

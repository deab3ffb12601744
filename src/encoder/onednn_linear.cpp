#include "encoder/onednn_linear.hpp"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/custom_class.h>
#include <torch/library.h>

namespace imgvec::detail {
namespace {

// A linear layer's weight in oneDNN's own tensor type, made once; frozen graphs hold it as a
// constant, as libtorch's own prepacked convolutions do.
struct PackedLinear : torch::CustomClassHolder {
  at::Tensor weight;  // [out, in], MKLDNN layout
  c10::optional<at::Tensor> bias;
  std::int64_t in_features = 0, out_features = 0;

  at::Tensor run(const at::Tensor& x) const {
    std::vector<std::int64_t> sizes = x.sizes().vec();
    const at::Tensor rows = x.reshape({-1, in_features}).contiguous().to_mkldnn();
    sizes.back() = out_features;
    return at::mkldnn_linear(rows, weight, bias).to_dense().view(sizes);
  }
};

at::Tensor packed_linear(const at::Tensor& x, const c10::intrusive_ptr<PackedLinear>& packed) {
  return packed->run(x);
}

TORCH_LIBRARY(imgvec, m) {
  m.class_<PackedLinear>("PackedLinear");
  m.def("packed_linear(Tensor input, __torch__.torch.classes.imgvec.PackedLinear packed) -> Tensor",
        &packed_linear);
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

int rewrite(torch::jit::Block* block, torch::jit::Graph& graph) {
  int rewritten = 0;
  for (auto it = block->nodes().begin(); it != block->nodes().end();) {
    torch::jit::Node* node = *it++;
    for (torch::jit::Block* sub : node->blocks()) rewritten += rewrite(sub, graph);
    if (node->kind() != c10::Symbol::fromQualString("aten::linear")) continue;
    const auto weight = constant_tensor(node->input(1));
    const auto bias = constant_tensor(node->input(2));
    if (!weight || weight->dim() != 2 || weight->scalar_type() != at::kFloat || !weight->device().is_cpu()) continue;
    if (!bias && !is_none(node->input(2))) continue;
    auto packed = c10::make_intrusive<PackedLinear>();
    packed->weight = weight->contiguous().to_mkldnn();
    if (bias) packed->bias = bias->contiguous();
    packed->out_features = weight->size(0);
    packed->in_features = weight->size(1);
    torch::jit::WithInsertPoint guard(node);
    torch::jit::Value* constant = graph.insertConstant(c10::IValue(std::move(packed)));
    torch::jit::Node* call = graph.create(c10::Symbol::fromQualString("imgvec::packed_linear"),
                                          {node->input(0), constant});
    graph.insertNode(call);
    call->output()->setType(node->output()->type());
    node->output()->replaceAllUsesWith(call->output());
    node->destroy();
    ++rewritten;
  }
  return rewritten;
}

}  // namespace

int use_onednn_linears(torch::jit::Module& frozen, const char* const* methods, int method_count) {
  if (!at::hasMKLDNN()) return 0;
  int rewritten = 0;
  for (int m = 0; m < method_count; ++m) {
    auto graph = frozen.get_method(methods[m]).graph();
    rewritten += rewrite(graph->block(), *graph);
    torch::jit::EliminateDeadCode(graph);
  }
  return rewritten;
}

}  // namespace imgvec::detail

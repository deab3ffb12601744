// libtorch's headers first: c10's logging defines a CHECK macro of its own, which would replace
// Catch's (and quietly turn every CHECK below into c10's) if it came second.
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/script.h>
#undef CHECK

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "encoder/onednn_inner_product.hpp"
#include "encoder/onednn_linear.hpp"

// The CLIP encoder's linear layers on oneDNN (encoder/onednn_inner_product.hpp): few rows run as
// an inner product, many as a matmul on the same packed weight; both against plain arithmetic.
using namespace imgvec::detail;

namespace {

double activate(double v, Activation a) {
  switch (a) {
    case Activation::quick_gelu: return v / (1 + std::exp(-1.702 * v));
    case Activation::gelu_erf: return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
    case Activation::gelu_tanh:
      return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    case Activation::none: break;
  }
  return v;
}

// The largest difference from x W^T + b (then the activation) computed in double, relative to the
// largest output.
double worst_error(const InnerProduct& layer, const std::vector<float>& x, const std::vector<float>& w,
                   const std::vector<float>& b, std::int64_t rows, std::int64_t in, std::int64_t out, Activation a) {
  std::vector<float> y(static_cast<std::size_t>(rows * out), std::nanf(""));
  layer.run(x.data(), rows, y.data(), 1);
  double worst = 0, largest = 1e-30;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t o = 0; o < out; ++o) {
      double v = b[static_cast<std::size_t>(o)];
      for (std::int64_t i = 0; i < in; ++i) v += double{x[static_cast<std::size_t>(r * in + i)]} * w[static_cast<std::size_t>(o * in + i)];
      v = activate(v, a);
      const double got = y[static_cast<std::size_t>(r * out + o)];
      if (!std::isfinite(got)) return INFINITY;
      worst = std::max(worst, std::abs(got - v));
      largest = std::max(largest, std::abs(v));
    }
  }
  return worst / largest;
}

}  // namespace

TEST_CASE("linear layers compute x W^T + b and their activation, as inner products and as matmuls", "[clip][onednn]") {
  if (!InnerProduct::available()) {
    SUCCEED("this build has no oneDNN API; the layers run through libtorch");
    return;
  }
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  // ViT-B/32's MLP shape and the tiny bundle's, and one that fits no block (oneDNN pads it).
  const std::int64_t shapes[][2] = {{768, 3072}, {64, 256}, {50, 37}};
  for (const auto& shape : shapes) {
    const std::int64_t in = shape[0], out = shape[1];
    std::vector<float> w(static_cast<std::size_t>(in * out)), b(static_cast<std::size_t>(out));
    for (float& v : w) v = normal(rng) / std::sqrt(static_cast<float>(in));
    for (float& v : b) v = normal(rng);
    for (Activation a : {Activation::none, Activation::quick_gelu, Activation::gelu_erf, Activation::gelu_tanh}) {
      const InnerProduct layer(w.data(), b.data(), out, in, /*bf16=*/false, a);
      INFO("in " << in << ", out " << out << ", activation " << static_cast<int>(a) << ", matmul for many rows "
                 << layer.runs_large_batches_as_matmul());
      // 9 rows: a text query (an inner product); 400: a batch of 8 images (a matmul where it can).
      for (std::int64_t rows : {std::int64_t{9}, std::int64_t{400}}) {
        std::vector<float> x(static_cast<std::size_t>(rows * in));
        for (float& v : x) v = normal(rng);
        INFO("rows " << rows);
        CHECK(worst_error(layer, x, w, b, rows, in, out, a) < 1e-5);
      }
    }
  }
}

TEST_CASE("bf16 linear layers stay within bfloat16's rounding, as inner products and as matmuls", "[clip][onednn]") {
  // Refused where the CPU lacks bf16 (test_clip_encoder.cpp), and oneDNN emulates it when told to stop short of it.
  if (!InnerProduct::available() || !cpu_has_bf16() || std::getenv("ONEDNN_MAX_CPU_ISA")) return;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.f, 1.f);
  const std::int64_t in = 768, out = 3072;
  std::vector<float> w(static_cast<std::size_t>(in * out)), b(static_cast<std::size_t>(out));
  for (float& v : w) v = normal(rng) / std::sqrt(static_cast<float>(in));
  for (float& v : b) v = normal(rng);
  const InnerProduct layer(w.data(), b.data(), out, in, /*bf16=*/true, Activation::quick_gelu);
  InnerProduct chained(w.data(), b.data(), out, in, /*bf16=*/true, Activation::quick_gelu);
  chained.write_bf16(true);
  CHECK(chained.writes_bf16());
  CHECK_FALSE(layer.writes_bf16());
  for (std::int64_t rows : {std::int64_t{9}, std::int64_t{400}}) {
    // Inputs rounded to bfloat16 (round to nearest even), the products checked against the
    // rounded inputs and float32 weights: the weights' own rounding is the error left.
    std::vector<std::uint16_t> x16(static_cast<std::size_t>(rows * in));
    std::vector<float> x(x16.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const float v = normal(rng);
      std::uint32_t bits;
      std::memcpy(&bits, &v, 4);
      bits += 0x7fff + ((bits >> 16) & 1);
      x16[i] = static_cast<std::uint16_t>(bits >> 16);
      const std::uint32_t back = std::uint32_t{x16[i]} << 16;
      std::memcpy(&x[i], &back, 4);
    }
    std::vector<float> y(static_cast<std::size_t>(rows * out));
    layer.run(x16.data(), rows, y.data(), 1);
    double worst = 0, largest = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t o = 0; o < out; ++o) {
        double v = b[static_cast<std::size_t>(o)];
        for (std::int64_t i = 0; i < in; ++i) v += double{x[static_cast<std::size_t>(r * in + i)]} * w[static_cast<std::size_t>(o * in + i)];
        v = activate(v, Activation::quick_gelu);
        worst = std::max(worst, std::abs(y[static_cast<std::size_t>(r * out + o)] - v));
        largest = std::max(largest, std::abs(v));
      }
    }
    INFO("rows " << rows);
    CHECK(worst / largest < 2e-2);
    // Written in bfloat16 for a next layer (write_bf16): the same outputs, rounded.
    std::vector<std::uint16_t> y16(y.size());
    chained.run(x16.data(), rows, y16.data(), 1);
    double off = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
      const std::uint32_t bits = std::uint32_t{y16[i]} << 16;
      float v;
      std::memcpy(&v, &bits, 4);
      off = std::max(off, std::abs(double{v} - y[i]) / std::max(1e-3, std::abs(double{y[i]})));
    }
    CHECK(off <= 1.0 / 128);  // within one bfloat16 step (8 significant bits)
  }
}

TEST_CASE("with AVX-512, oneDNN blocks a weight alike for its inner product and its matmul", "[clip][onednn]") {
  // Where it does not (AVX2: measured with ONEDNN_MAX_CPU_ISA=AVX2), every row count runs as an
  // inner product: correct (above), without the matmul's 9% at batch 8 measured with AVX-512.
  if (!InnerProduct::available() || !__builtin_cpu_supports("avx512f") || std::getenv("ONEDNN_MAX_CPU_ISA")) return;
  std::vector<float> w(768 * 3072, 0.01f), b(3072, 0.f);
  CHECK(InnerProduct(w.data(), b.data(), 3072, 768, false).runs_large_batches_as_matmul());
  // In bfloat16 the layouts agree where oneDNN runs it on AMX (Intel Xeon, measured); with
  // AVX-512 BF16 alone (AMD EPYC Zen 5, measured) the matmul blocks its weight otherwise, and bf16
  // runs every row count as an inner product, still correct (the bf16 tests above).
  if (cpu_has_amx_bf16()) CHECK(InnerProduct(w.data(), b.data(), 3072, 768, true).runs_large_batches_as_matmul());
}

namespace {

// A module whose forward is a convolution as a ViT's patch embedding is written, with `stride`.
torch::jit::Module convolution_module(const at::Tensor& weight, const at::Tensor& bias, std::int64_t stride) {
  torch::jit::Module m("PatchEmbedding");
  m.register_parameter("weight", weight, false);
  m.register_parameter("bias", bias, false);
  m.define("def forward(self, x):\n"
           "    return torch.conv2d(x, self.weight, self.bias, [" + std::to_string(stride) + ", " +
           std::to_string(stride) + "], [0, 0], [1, 1], 1).flatten(2).transpose(1, 2)\n");
  m.eval();
  return torch::jit::freeze_module(m);
}

}  // namespace

TEST_CASE("a patch embedding runs as a packed linear and gives the convolution's output", "[clip][onednn]") {
  if (!InnerProduct::available()) return;  // the rewrite needs oneDNN's API (runtime() says so)
  at::manual_seed(5);
  const at::Tensor weight = at::randn({48, 3, 8, 8}) / 8.0;
  const at::Tensor bias = at::randn({48});
  const char* const methods[] = {"forward"};
  // 36 x 30 pixels: 4 x 3 whole patches, the pixels beyond them dropped as the convolution does.
  const at::Tensor x = at::randn({2, 3, 36, 30});
  const at::Tensor expected = at::conv2d(x, weight, bias, {8, 8}).flatten(2).transpose(1, 2);
  for (bool bf16 : {false, true}) {
    if (bf16 && (!cpu_has_bf16() || std::getenv("ONEDNN_MAX_CPU_ISA"))) continue;
    INFO("bf16 " << bf16);
    torch::jit::Module m = convolution_module(weight, bias, 8);
    int patches = 0;
    use_onednn_linears(m, methods, 1, bf16, nullptr, nullptr, &patches);
    CHECK(patches == 1);
    const at::Tensor got = m.forward({x}).toTensor();
    REQUIRE(got.sizes() == expected.sizes());
    const double error = (got - expected).abs().max().item<double>() / expected.abs().max().item<double>();
    CHECK(error < (bf16 ? 2e-2 : 1e-5));
  }
  // A convolution whose stride is not its kernel is left to libtorch.
  torch::jit::Module overlapping = convolution_module(weight, bias, 4);
  int patches = -1;
  use_onednn_linears(overlapping, methods, 1, false, nullptr, nullptr, &patches);
  CHECK(patches == 0);
  CHECK(at::allclose(overlapping.forward({x}).toTensor(),
                     at::conv2d(x, weight, bias, {4, 4}).flatten(2).transpose(1, 2), 1e-5, 1e-5));
}

#pragma once

namespace torch::jit {
struct Module;
}

namespace imgvec::detail {

/// Rewrites every aten::linear with a constant weight in a frozen CPU module's methods to a
/// oneDNN inner product on a weight packed once at load. OpenBLAS reaches ~205 GFLOP/s on
/// ViT-B/32's projections at batch 8 on the development machine, oneDNN ~340. Returns how many
/// linears it rewrote; 0 when libtorch has no oneDNN (MKLDNN).
///
/// With `bf16`, the packed weights and each call's inputs are bfloat16 and the products add up
/// in float32 (oneDNN's AVX-512 BF16 and AMX kernels); outputs (but see bf16_chained) and biases stay float32, as does
/// everything between the linears (layer norms, softmax, GELU), which keeps the embeddings within
/// a cosine of 0.999 of float32's.
///
/// A linear whose output goes only through GELU or QuickGELU (x * sigmoid(1.702 x), OpenAI
/// CLIP's) applies it as it writes its output; `fused_activations`, when given, receives how many.
/// In bf16, a linear whose output feeds only another linear (the MLP's two) writes it in
/// bfloat16; `bf16_chained`, when given, receives how many.
///
/// A 2-d convolution whose stride is its kernel, unpadded (a ViT's patch embedding), runs as the
/// same kind of packed layer over the gathered patches (with oneDNN's API only);
/// `patch_convolutions`, when given, receives how many.
int use_onednn_linears(torch::jit::Module& frozen, const char* const* methods, int method_count, bool bf16,
                       int* fused_activations = nullptr, int* bf16_chained = nullptr,
                       int* patch_convolutions = nullptr);

/// Whether this CPU computes bfloat16 products natively: AVX-512 BF16 or AMX-BF16 (CPUID leaf 7),
/// with the OS saving AVX-512 state. oneDNN emulates bfloat16 elsewhere, slower than float32.
bool cpu_has_bf16();
/// Whether it has AMX-BF16 (Intel Xeon from Sapphire Rapids), where oneDNN runs bfloat16 on tiles.
bool cpu_has_amx_bf16();

}  // namespace imgvec::detail

#pragma once

namespace torch::jit {
struct Module;
}

namespace imgvec::detail {

/// Rewrites every aten::linear with a constant weight in a frozen CPU module's methods to a
/// oneDNN inner product on a weight packed once at load. OpenBLAS reaches ~205 GFLOP/s on
/// ViT-B/32's projections at batch 8 on the development machine, oneDNN ~340. Returns how many
/// linears it rewrote; 0 when libtorch has no oneDNN (MKLDNN).
int use_onednn_linears(torch::jit::Module& frozen, const char* const* methods, int method_count);

}  // namespace imgvec::detail

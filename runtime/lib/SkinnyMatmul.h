//===- SkinnyMatmul.h - Few rows times a constant matrix --------*- C++ -*-===//
//
// C = act(alpha * A x B + bias) + residual where C has at most
// kSkinnyMaxRows rows (all batches together: a classifier at batch 1, a
// decoder step) and B is a constant matrix. Such a product reads each weight
// once for a few multiply-adds, so its time is the time to stream B from
// memory; oneDNN ran ResNet-50's 1x2048x1000 classifier on one thread (it is
// below the runtime's flop threshold for a second one) at half the
// bandwidth two cores reach. Here B is packed once into column panels and
// the panels are split over the runtime's threads (Parallel.h), each panel
// read once per call by vectorised kernels (Simd.h).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_LIB_SKINNYMATMUL_H
#define LATHE_RUNTIME_LIB_SKINNYMATMUL_H

#include "Dnnl.h"

namespace lathe::rt {

/// Rows of C up to which a matmul with a constant B runs here.
constexpr int64_t kSkinnyMaxRows = 8;

/// The operands of lathe_rt_matmul_f32 padded to C's rank (Matmul.cpp).
struct SkinnyMatmul {
  const Operand *a = nullptr, *b = nullptr, *c = nullptr;
  /// Null when absent.
  const Operand *bias = nullptr, *res = nullptr;
  int act = LATHE_ACT_NONE;
  float alpha = 1.f;
};

/// Computes `mm` and returns true when it is a skinny product this file
/// handles: B constant (packed once per address in the current session) and
/// the same matrix for every batch, at most kSkinnyMaxRows rows of C, no
/// input sharing memory with C (a residual that is C itself is fine), and a
/// CPU with AVX2 + FMA or AVX-512 (simdWidth). Returns false, having done
/// nothing, otherwise.
bool runSkinnyMatmul(const SkinnyMatmul &mm);

} // namespace lathe::rt

#endif // LATHE_RUNTIME_LIB_SKINNYMATMUL_H

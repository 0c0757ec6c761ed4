//===- RnnLoop.h - LSTM and GRU layers as the runtime's loop ----*- C++ -*-===//
//
// One direction of an LSTM or linear-before-reset GRU layer (lathe.rnn, cell
// lstm or lbr_gru) computed by the runtime itself instead of oneDNN's
// lstm_forward / lbr_gru_forward: the input products of all steps first, then
// every time step as chunks (a block of hidden units for a group of batch
// rows: its gates' recurrent products, then the cell) that the caller and,
// for large enough steps, the runtime's pool threads take in order
// (RnnLoop.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_LIB_RNNLOOP_H
#define LATHE_RUNTIME_LIB_RNNLOOP_H

#include "Internal.h"

namespace lathe::rt {

/// Shape of one direction: x [T, N, I] (batch-first: [N, T, I]), hidden H.
struct RnnLoopProblem {
  int64_t t = 0, n = 0, in = 0, h = 0;
  bool reverse = false, batchFirst = false;
  /// A linear-before-reset GRU (gates z, r, n) instead of an LSTM (i, f, c,
  /// o).
  bool gru = false;
  /// Vector width of the kernel (simdWidth(): 16 or 8).
  int width = 0;
};

/// Gates of the cell: 4 (LSTM) or 3 (GRU).
inline int64_t rnnLoopGates(const RnnLoopProblem &p) { return p.gru ? 3 : 4; }

/// Floats of the packed weights of `p`.
size_t rnnPackedFloats(const RnnLoopProblem &p);

/// Packs W [G*H, I] and R [G*H, H], whose canonical gate g (LSTM i, f, c, o;
/// GRU z, r, n) is row block gates[g], into `dst` (rnnPackedFloats(p)
/// floats).
void packRnnWeights(const RnnLoopProblem &p, const MemRefView &w,
                    const MemRefView &r, const int64_t *gates, float *dst);

/// Whether this CPU runs the recurrent products in bf16 (runRnnLoop's
/// `recurrentBf16`): AVX-512 with AVX512-BF16, within oneDNN's effective ISA
/// (ONEDNN_MAX_CPU_ISA).
bool rnnLoopHasBf16();

/// Words of R packed for bf16 recurrent products (width 16).
size_t rnnPackedBf16Words(const RnnLoopProblem &p);

/// Packs R [G*H, H] (gate blocks as packRnnWeights) rounded to bf16, two
/// consecutive hidden units per word, into `dst` (rnnPackedBf16Words(p)).
void packRnnRecurrentBf16(const RnnLoopProblem &p, const MemRefView &r,
                          const int64_t *gates, uint32_t *dst);

/// Runs the layer: y (all steps' h, [T, N, H] or batch-first [N, T, H]), hT
/// and (LSTM) cT from x, h0 and (LSTM) c0. `bias` is [4, H] in canonical gate
/// order: LSTM i, f, c, o with input and recurrent biases summed; GRU z and r
/// summed, then n's input bias and n's recurrent bias apart (the reset gate
/// scales the latter with the recurrent product). Outputs may overlap inputs.
/// With `recurrentBf16` (packRnnRecurrentBf16's, only where rnnLoopHasBf16)
/// the recurrent products multiply bf16 R by h rounded to bf16, accumulating
/// in f32; the input products, the cell and the state stay f32.
void runRnnLoop(const RnnLoopProblem &p, const float *packed, const float *bias,
                const MemRefView &x, const MemRefView &h0, const MemRefView *c0,
                const MemRefView &y, const MemRefView &hT, const MemRefView *cT,
                const uint32_t *recurrentBf16 = nullptr);

} // namespace lathe::rt

#endif // LATHE_RUNTIME_LIB_RNNLOOP_H

//===- LstmLoop.h - An LSTM layer as the runtime's own loop -----*- C++ -*-===//
//
// One direction of an LSTM layer (lathe.rnn, cell lstm) computed by the
// runtime itself instead of oneDNN's lstm_forward, which runs a small layer
// (batch 4, hidden 128) on one thread: here every time step is split into
// chunks (a block of hidden units for a group of batch rows: its four gates'
// input and recurrent products, then the cell) that the caller and the
// runtime's pool threads take in order (LstmLoop.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_LIB_LSTMLOOP_H
#define LATHE_RUNTIME_LIB_LSTMLOOP_H

#include "Internal.h"

namespace lathe::rt {

/// Shape of one direction: x [T, N, I] (batch-first: [N, T, I]), hidden H.
struct LstmLoopProblem {
  int64_t t = 0, n = 0, in = 0, h = 0;
  bool reverse = false, batchFirst = false;
  /// Vector width of the kernel (simdWidth(): 16 or 8).
  int width = 0;
};

/// Floats of the packed weights of `p`.
size_t lstmPackedFloats(const LstmLoopProblem &p);

/// Packs W [4H, I] and R [4H, H], whose canonical gate g (i, f, c, o) is row
/// block gates[g], into `dst` (lstmPackedFloats(p) floats).
void packLstmWeights(const LstmLoopProblem &p, const MemRefView &w,
                     const MemRefView &r, const int64_t *gates, float *dst);

/// Runs the layer: y (all steps' h, [T, N, H] or batch-first [N, T, H]), hT
/// and cT from x, h0 and c0. `bias` is [4, H] in canonical gate order (input
/// and recurrent biases summed). Outputs may overlap inputs.
void runLstmLoop(const LstmLoopProblem &p, const float *packed,
                 const float *bias, const MemRefView &x, const MemRefView &h0,
                 const MemRefView &c0, const MemRefView &y,
                 const MemRefView &hT, const MemRefView &cT);

} // namespace lathe::rt

#endif // LATHE_RUNTIME_LIB_LSTMLOOP_H

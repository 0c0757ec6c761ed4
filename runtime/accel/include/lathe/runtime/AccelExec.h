//===- AccelExec.h - Functional execution of an engine program --*- C++ -*-===//
//
// The functional half of Lathe's accelerator target (docs/Targets/Accel.md):
// runs the engine ops of a Program (AccelSim.h) on real f32 data, op by op in
// program (schedule) order and tile by tile, with host arrays standing in for
// the device's memories. Every buffer has an HBM copy and an SRAM copy; SRAM
// starts as NaN. dma_load tile i copies what compute tile i reads of each
// input from HBM to SRAM, the compute tile reads SRAM and writes SRAM, and
// dma_store tile i copies what the compute tile wrote back to HBM. A missing
// or misplaced transfer therefore shows up as NaN or stale data in the
// results. Plain C++: no MLIR, no LLVM.
//
// What an op computes (ExecOp) is an iteration domain with one strided
// access per operand: element (i0, i1, ...) of the domain reads or writes
// buffer[offset + sum(strides[d] * i_d)]. Matrix products use the domain
// [B, M, N, K], row kernels [rows, cols], element-wise kernels and reductions
// the loops of the op they came from.
//
// Thread safety: execute() is reentrant; a Memory is not shared between
// threads.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_ACCELEXEC_H
#define LATHE_RUNTIME_ACCELEXEC_H

#include "lathe/runtime/AccelSim.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lathe {
namespace accel {

/// One operand of an ExecOp: a buffer and its strides over the op's domain.
struct Access {
  int buffer = -1;
  int64_t offset = 0;
  std::vector<int64_t> strides; ///< one per domain dimension (0: broadcast)
  /// The group's dma_load brings it from HBM (false: it is on chip already,
  /// written there by its producer).
  bool loaded = true;
  /// A product's batch made of two dimensions (batch x heads through a
  /// transposed view): with batchInner > 0, domain index i of dimension 0
  /// addresses (i / batchInner) * strides[0] + (i % batchInner) *
  /// innerStride.
  int64_t batchInner = 0;
  int64_t innerStride = 0;
};

/// One instruction of an element-wise payload. Values are numbered by
/// instruction; `a`, `b`, `c` name earlier instructions. `Input` reads the
/// op's input `a` at the current point (a == inputs.size(): the output's
/// current value, as in a reduction's accumulator).
enum class Prim {
  Input,
  Const,
  Add,
  Sub,
  Mul,
  Div,
  Max,
  Min,
  Neg,
  Abs,
  Exp,
  Log,
  Tanh,
  Erf,
  Sqrt,
  Rsqrt,
  Select, ///< a != 0 ? b : c
  CmpGt,  ///< a > b ? 1 : 0
  CmpLt,  ///< a < b ? 1 : 0
};
struct Instr {
  Prim prim = Prim::Const;
  int a = -1, b = -1, c = -1;
  float value = 0; ///< Const
};

/// The data semantics of a compute engine op.
struct ExecOp {
  /// Sizes of this op's part of the iteration domain, and where the part
  /// starts (a product split between the engines runs a box of it each).
  std::vector<int64_t> domain;
  std::vector<int64_t> domainOffset;
  std::vector<Access> inputs;
  Access output;
  // Products ([B, M, N, K]): inputs 0 and 1 are the operands; `bias` and
  // `residual` index the inputs added to each output element (-1: none).
  int bias = -1, residual = -1;
  /// out = activation(alpha * sum + bias) + residual.
  float alpha = 1.0f;
  enum class Activation { None, Relu, Gelu, GeluTanh, Sigmoid, Tanh };
  Activation activation = Activation::None;
  /// A convolution as an implicit GEMM (empty: a plain product): the
  /// product's domain is [1, N*OH*OW, F, C*KH*KW] and input 0 (the image)
  /// and the output are addressed through the convolution's geometry, not
  /// strides: [N, C, H, W, F, KH, KW, OH, OW, stride_h, stride_w,
  /// dilation_h, dilation_w, pad_top, pad_left, nhwc, then the image's
  /// element strides along N, C, H, W] (the output is a plain [N, F, OH, OW]
  /// or [N, OH, OW, F] from the access's offset). Row m is image m /
  /// (OH*OW), output pixel m % (OH*OW); reduction index k is (c, kh, kw) in
  /// nchw and (kh, kw, c) in nhwc (the filter's [F, C, KH, KW] and
  /// [KH, KW, C, F] orders, so the filter keeps plain strides); an image
  /// element outside [0, H) x [0, W) is padding and reads 0 (the im2col
  /// gather with padding, done in the engine's operand path).
  std::vector<int64_t> conv;
  // Row kernels ([rows, cols]): input 0 the rows; layer norm's `gamma` and
  // `beta` index inputs (-1: none) and `epsilon`.
  int gamma = -1, beta = -1;
  float epsilon = 1e-5f;
  /// Element-wise kernels and reductions: the payload; the value of
  /// instruction `result` is written to the output at each point.
  std::vector<Instr> payload;
  int result = -1;
  /// Element-wise kernels and reductions: input copied into the output
  /// before the first tile (a reduction's initial value; -1: none).
  int init = -1;
  /// A sparse graph aggregation, out[r, f] = sum over the non-zeros k of
  /// row r of values[k] * x[csrCols[k], f] (non-empty csrRowPtr: the
  /// adjacency's CSR structure, rows + 1 entries; the domain is [rows, F]).
  /// Input 0 is the values (read at its offset + k), input 1 the features
  /// (strides[0] per column index, strides[1] per feature); a tile is
  /// `csrTileRows` output rows, all features. Its loads bring the tile's
  /// values and the feature rows its non-zeros name (a gather).
  std::vector<int64_t> csrRowPtr, csrCols;
  int64_t csrTileRows = 0;
  /// A row gather (an embedding lookup; an element-wise kernel, gatherRows
  /// > 0): input 0 holds integer ids (exact in f32), read at the point
  /// through its strides; the payload's input 1 at the point is the table's
  /// (input 1's) element at its offset + id * gatherRowStride + its strides
  /// over the point (the payload may add more, e.g. a position embedding
  /// fused with the lookup). An id
  /// below 0 counts from the end (id + gatherRows) with gatherWrap; one
  /// outside [0, gatherRows) then is an error, `gatherMessage` + ": index ID
  /// out of range [lo, gatherRows)" as the CPU backend's check says it
  /// (lo = -gatherRows with gatherWrap, else 0), or reads 0 without
  /// gatherChecked. The tile's loads bring the table rows its ids name.
  /// gatherRows is at most kMaxGatherRows.
  int64_t gatherRows = 0, gatherRowStride = 0;
  bool gatherWrap = false, gatherChecked = false;
  std::string gatherMessage;
};

/// The data of a program: a shape per buffer, and which buffers the
/// program's arguments and results are.
struct Memory {
  std::vector<std::vector<float>> hbm, sram;
  std::vector<int64_t> sizes;
  /// Adds a buffer of `elements` f32, NaN in both memories; returns its id.
  int add(int64_t elements);
};

/// Runs `program` (whose ops reference `execs` through Op::exec) on
/// `memory`. Ops run in program order; each op's tiles in order. Returns
/// false with `error` on an inconsistent program (a tile count that does not
/// match the domain and tile sizes, an access out of its buffer, an op with
/// no data semantics).
bool execute(const Program &program, const std::vector<ExecOp> &execs,
             Memory &memory, std::string &error);

/// Rounds to the nearest bf16 (ties to even), as the matrix engine sees its
/// operands when products run at bf16.
float roundToBf16(float x);

/// The most rows a gather's table may have: ids are held as f32, exact up to
/// 2^24 in magnitude.
constexpr int64_t kMaxGatherRows = int64_t(1) << 24;

/// An integer id (a gather's) as the f32 an id buffer holds it in: exact up
/// to 2^24 in magnitude; beyond that (where f32 would round it, possibly onto
/// a valid row) as +-2^25, which is out of range of every table of at most
/// kMaxGatherRows rows, also after the wrap from the end (-2^25 + rows < 0).
float idAsFloat(int64_t id);

} // namespace accel
} // namespace lathe

#endif // LATHE_RUNTIME_ACCELEXEC_H

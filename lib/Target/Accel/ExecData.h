//===- ExecData.h - What each engine op computes, for execution -*- C++ -*-===//
//
// Private to lib/Target/Accel: accel-tile's record of the buffers a
// function's values live in and of each compute op's data semantics
// (ExecData.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_LIB_TARGET_ACCEL_EXECDATA_H
#define LATHE_LIB_TARGET_ACCEL_EXECDATA_H

#include "lathe/Dialect/Lathe/LatheOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <string>

namespace mlir {
namespace lathe {
class MatmulOp;
class Conv2DOp;

class AccelDataBuilder {
public:
  /// Where a value's elements are: element (i0, i1, ...) of the value is
  /// buffer[offset + sum(strides[d] * i_d)].
  struct Layout {
    int buffer = -1;
    int64_t offset = 0;
    SmallVector<int64_t, 4> strides;
  };
  struct Buffer {
    int64_t elements = 0;
    int arg = -1, result = -1;
    ElementsAttr value;
    /// Integer data (a gather's ids), held as f32 (exact below 2^24).
    bool integer = false;
  };
  /// One operand over the op's domain.
  struct InputData {
    Value value;
    int buffer = -1;
    int64_t offset = 0;
    SmallVector<int64_t, 6> strides;
    /// A two-level batch (runtime/accel's Access::batchInner): dimension 0
    /// is (i / batchInner) * strides[0] + (i % batchInner) * innerStride.
    int64_t batchInner = 0, innerStride = 0;
  };
  struct OpData {
    std::string kind; ///< matmul, rows, generic
    SmallVector<int64_t, 6> domain;
    SmallVector<InputData> inputs;
    InputData output;
    int bias = -1, residual = -1, gamma = -1, beta = -1, init = -1;
    float alpha = 1, epsilon = 1e-5f;
    Activation activation = Activation::none;
    SmallVector<std::string> payload;
    int result = -1;
    /// A convolution's geometry (runtime/accel's ExecOp::conv), or empty.
    SmallVector<int64_t, 16> conv;
    /// A CSR aggregation (runtime/accel's ExecOp::csrRowPtr...): the
    /// adjacency's structure, and the output rows of one tile (accel-tile's).
    SmallVector<int64_t> csrRowPtr, csrCols;
    int64_t csrTileRows = 0;
    /// A row gather (runtime/accel's ExecOp::gatherRows...).
    int64_t gatherRows = 0, gatherRowStride = 0;
    bool gatherWrap = false, gatherChecked = false;
    std::string gatherMessage;
  };

  explicit AccelDataBuilder(func::FuncOp func);
  /// A reshape, cast or slice: its result aliases its source's buffer.
  bool view(Operation *op);
  /// The data semantics of a compute op; its result gets a new buffer.
  bool compute(Operation *op, OpData &d);
  /// Marks the buffers the function returns.
  bool results();
  /// Sets domain, accesses, roles and payload on an engine op (one part of
  /// `d`: `domain` from `offset`). Inputs in `onChip` are not loaded.
  void attach(Operation *engineOp, const OpData &d, ArrayRef<int64_t> domain,
              ArrayRef<int64_t> offset, const llvm::DenseSet<Value> &onChip);
  ArrayAttr buffersAttr(MLIRContext *ctx);
  /// Why the function cannot be executed (the first failure), or empty.
  std::string reason;

private:
  bool fail(Operation *op, const Twine &why);
  bool layoutOf(Value v, Layout &out, Operation *user);
  int newOutput(Value result);
  bool matmul(MatmulOp mm, OpData &d);
  bool rows(Operation *op, Value input, int64_t dim, OpData &d);
  bool generic(linalg::GenericOp g, OpData &d);
  bool conv(Conv2DOp op, OpData &d);
  bool pool(Operation *op, bool nhwc, OpData &d);
  bool csr(Operation *op, OpData &d);
  /// A copy of the source into its region of the destination's buffer (in
  /// place: the destination is a tensor.empty, whose buffer is new, or a
  /// value with no other use).
  bool insertSlice(tensor::InsertSliceOp op, OpData &d);
  /// A gather's ids and table (inputs 0 and 1 of `d`); `idsInput` is the
  /// generic's input that holds the ids.
  bool gather(linalg::GenericOp g, tensor::ExtractOp extract, OpData &d,
              unsigned &idsInput);
  /// The buffer of an integer function argument or constant (a gather's
  /// ids).
  bool integerLayoutOf(Value v, Layout &out, Operation *user);

  func::FuncOp func;
  llvm::DenseMap<Value, Layout> layouts;
  SmallVector<Buffer> buffers;
};

} // namespace lathe
} // namespace mlir

#endif

//===- LayoutViews.h - Data movement chains as views ------------*- C++ -*-===//
//
// The IR side of FoldLayouts.cpp's view algebra (ViewAlgebra.h): what a
// chain of tensor.expand_shape / collapse_shape / extract_slice,
// linalg.transpose and slicing generics computes from a static source, and
// how to rebuild a view as reshapes, at most one slice and one transpose.
//
// Frontends spell the head split and merge in many ways (PyTorch's exported
// attention works sequence-first: a transpose of the whole input, slices of
// the fused q/k/v projection, reshapes to [S, B*H, Dh], transposes of rank 3).
// Rather than matching spellings, FoldLayouts' patterns compute what a chain
// of data movement does to the elements of a static source tensor: each
// dimension of the result is a row-major combination of "atoms" (size,
// stride in the flat source), plus an element offset. A matmul operand whose
// dimensions are single atoms is a strided view oneDNN reads in place; the
// patterns then rebuild it as reshape (+ slice) of the source read through a
// permutation attribute, so no copy is left.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_LIB_TARGET_CPU_LAYOUTVIEWS_H
#define LATHE_LIB_TARGET_CPU_LAYOUTVIEWS_H

#include "lathe/Target/CPU/ViewAlgebra.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>

namespace mlir::lathe::views {

/// A static value as a view of `source`.
struct View {
  Value source;
  SmallVector<AtomDim> dims; // outer atom first within a dimension
  int64_t offset = 0;
  bool copies = false; // the chain has a copy (transpose, slicing generic)
};

/// A permutation attribute as a list (empty: the identity).
ArrayRef<int64_t> permOf(DenseI64ArrayAttr perm);

/// True for a ranked tensor of static shape.
bool isStatic(Value v);

/// The element count of the static tensor `v`.
int64_t numElements(Value v);

/// `v` as a view of itself (dense, row-major).
View baseView(Value v);

/// A generic that only copies a static box of one tensor (how the ONNX
/// importer spells Slice and Split): out[i] = src[i + c] per dimension, a
/// constant index where the result dimension has size 1. Returns the source
/// and the offsets.
std::optional<std::pair<Value, SmallVector<int64_t>>>
matchSliceGeneric(linalg::GenericOp op);

/// True for the data movement traceView follows.
bool isMovement(Operation *op);

/// The view `v` is of the furthest static source that data movement reaches.
std::optional<View> traceView(Value v, int depth = 0);

/// Reshapes static `value` to `shape` (one collapse or expand where the
/// shapes nest, else through rank 1).
Value reshapeTo(PatternRewriter &rewriter, Location loc, Value value,
                ArrayRef<int64_t> shape);

/// The source of `view` reshaped to the layout's atoms with the gaps sliced
/// away: a tensor whose dimensions are the view atoms in source order.
/// `position[i]` is the dimension holding view atom i.
Value materializeLayout(PatternRewriter &rewriter, Location loc,
                        const View &view, const Layout &layout,
                        SmallVector<int64_t> &position);

/// Builds the value `view` describes with reshapes, at most one slice and one
/// transpose; nothing when its atoms do not tile the source.
Value materializeView(PatternRewriter &rewriter, Location loc,
                      const View &view);

/// Follows single-use data movement (transposes and reshapes) from `value`
/// and returns the last value; `transposes` tells whether a transpose was
/// passed.
Value forwardChainEnd(Value value, bool &transposes);

/// `target` (a static value that data movement computes from `produced`
/// alone, element for element) seen from the other side: the dimensions of
/// `produced` as atoms over the dense row-major layout of `target`.
std::optional<SmallVector<AtomDim>> invertView(Value produced, Value target);

/// The operand `plan` reads, built from the source of `view`.
Value emitOperand(PatternRewriter &rewriter, Location loc, const View &view,
                  const OperandPlan &plan);

/// `perm` as an attribute; null for the identity.
DenseI64ArrayAttr permAttr(PatternRewriter &rewriter, ArrayRef<int64_t> perm);

/// Erases the now unused chain from `end` back to `stop` (exclusive).
void eraseDeadChain(PatternRewriter &rewriter, Value end, Operation *stop);

} // namespace mlir::lathe::views

#endif // LATHE_LIB_TARGET_CPU_LAYOUTVIEWS_H

//===- Importer.h - Internal state of the ONNX importer ---------*- C++ -*-===//

#ifndef LATHE_LIB_IMPORT_ONNX_IMPORTER_H
#define LATHE_LIB_IMPORT_ONNX_IMPORTER_H

#include "lathe/Import/ONNX/ImportONNX.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringMap.h"

#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace mlir {
namespace lathe {
namespace onnx_import {

/// A value of the graph as imported: the tensor, plus what is known about it
/// at import time. `elems` holds the elements of small integer tensors of
/// rank <= 1 (shape computations) as index-typed constants or SSA values, so
/// that Reshape/Expand/Slice/ConstantOfShape get exact result shapes even
/// when a dimension is symbolic. `cst` holds the value of small constants.
struct TV {
  Value v;
  std::optional<SmallVector<OpFoldResult>> elems;
  DenseElementsAttr cst;
  /// ONNX unsigned integer (uint8): signless in MLIR, unsigned operations.
  bool isUnsigned = false;
  /// For a MatMul over [..., M, K] x [K, N] (and the Add/Relu epilogue that
  /// follows it): the same values as one 2-D [rows, N] tensor, before the
  /// expand to `v`'s shape. Epilogues computed on it sit right after the
  /// 2-D matmul, where kernel formation fuses them (bias, ReLU, residual).
  Value flat;
};

/// Errors: every function of the importer that can meet a model it cannot
/// import reports the error as a diagnostic at the current location and
/// returns failure (LogicalResult, FailureOr); the boundary
/// (importONNXModel) returns the first error as the import's message. C++
/// exceptions are caught only around the libonnx/protobuf calls (parsing,
/// the checker) in ImportONNX.cpp, see docs/ONNX.md.

// --- helpers shared by the handler files ---------------------------------

/// The constant `v` of the scalar type `t` (float or integer).
inline Value fc(OpBuilder &b, Location loc, Type t, double v) {
  if (isa<FloatType>(t))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, v));
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, (int64_t)v));
}
inline bool isF(Type t) { return isa<FloatType>(t); }
/// The scalar operation of the elementwise ONNX operator `op` (Add, Sub, Mul,
/// Div, Max, Min, And, Or, Xor and the comparisons) on `x` and `y`; null for
/// another operator. `uns`: the operands are unsigned.
Value binary(OpBuilder &b, Location loc, StringRef op, Value x, Value y,
             bool uns = false);
/// True for Equal, Less, LessOrEqual, Greater and GreaterOrEqual.
bool isCompare(StringRef op);
/// The MLIR element type of ONNX data type `t`; an error at `loc` naming
/// `what` for a type the importer does not support.
FailureOr<Type> elementTypeOf(Location loc, int t, const std::string &what);
/// The data of a TensorProto (an initializer, a Constant's value); an error
/// at `loc` for data the importer cannot read.
FailureOr<DenseElementsAttr> tensorAttr(Location loc,
                                        const onnx::TensorProto &t);

/// A GELU subgraph of PyTorch's exporter: `x` is its input.
struct GeluMatch {
  std::string x;
  bool tanhApprox;
};
/// Finds PyTorch's GELU subgraphs in `graph`: `roots` maps the index of each
/// subgraph's last node to its match, `skipped` gets the other nodes.
void findGelus(const onnx::GraphProto &graph, std::map<int, GeluMatch> &roots,
               std::set<int> &skipped);

class Importer {
public:
  Importer(OpBuilder &b, Location loc, int64_t opset)
      : b(b), loc(loc), opset(opset) {}

  OpBuilder &b;
  /// The module being built (run-time check messages and the runtime entry
  /// they call are declared in it).
  ModuleOp module;
  Location loc;
  int64_t opset;
  llvm::StringMap<TV> values;
  llvm::StringMap<RankedTensorType> declared;
  /// Whether the current node's first input is unsigned.
  bool uns = false;
  /// The declared type of output #i of the current node, if any.
  RankedTensorType declaredOut(int i) const;
  /// Declared shape of output #i with all dimensions static, if declared.
  std::optional<SmallVector<OpFoldResult>> staticDeclaredShape(int i);
  /// select(cond, a, b) on index values, folded when cond is constant.
  OpFoldResult select(OpFoldResult cond, OpFoldResult a, OpFoldResult b);
  /// `a pred b` as an index 0 or 1, folded when both are constant; `pred`
  /// is one of eq, ne, slt, sle, sgt, sge.
  OpFoldResult cmp(arith::CmpIPredicate pred, OpFoldResult a, OpFoldResult b);

  // --- operands and attributes of the node being imported -------------
  const onnx::NodeProto *node = nullptr;
  std::string nodeDesc() const;
  /// Reports `message` as an error at the current node's location (the
  /// boundary returns the first error as the import's message); failure().
  LogicalResult error(const std::string &message);
  LogicalResult checkWindow(StringRef op, Value x, Value w, int64_t sp,
                            ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                            ArrayRef<int64_t> dil, ArrayRef<int64_t> pads);
  bool hasInput(int i) const;
  /// Input #i of the current node. Precondition: hasInput(i) (importNode has
  /// checked that every named input is defined); a handler that reads an
  /// input the ONNX schema makes optional or variadic checks it first, with
  /// hasInput or requireInput.
  TV &in(int i);
  /// An error ("lacks its input #i") unless the current node has input #i.
  LogicalResult requireInput(int i);
  Value inV(int i) { return in(i).v; }
  void setOut(int i, Value v);
  void setOut(int i, TV tv);
  /// setOut of a building block's result: failure when `v` is.
  LogicalResult setOut(int i, FailureOr<Value> v);
  bool hasOutput(int i) const;
  const onnx::AttributeProto *attr(StringRef name) const;
  int64_t attrInt(StringRef name, int64_t def) const;
  float attrFloat(StringRef name, float def) const;
  std::string attrString(StringRef name, const std::string &def) const;
  std::optional<SmallVector<int64_t>> attrInts(StringRef name) const;

  // --- constants and shapes -------------------------------------------
  /// The known integer values of a tensor (from `cst`), if any.
  std::optional<SmallVector<int64_t>> constInts(const TV &tv);
  std::optional<SmallVector<double>> constFloats(const TV &tv);
  /// The elements of a small integer tensor (rank <= 1): known values or
  /// values extracted at run time; an error when `tv` is not such a tensor.
  FailureOr<SmallVector<OpFoldResult>> elemsOf(TV &tv);
  TV fromElems(ArrayRef<OpFoldResult> elems, Type eltType, bool scalar = false);
  TV constantTV(DenseElementsAttr attr);
  Value constantScalar(Type type, double value);
  Value indexValue(OpFoldResult ofr);
  /// `a op b` on index values, folded where possible; `op` is one of
  /// + - * / M (max) m (min) = (equal, 0 or 1). '/' only where `b` cannot be
  /// the constant 0 (a node's output count, a checked stride); foldDiv
  /// checks.
  OpFoldResult foldBin(OpFoldResult a, OpFoldResult b, char op);
  /// `a / b` (signed); an error when `b` is the constant 0.
  FailureOr<OpFoldResult> foldDiv(OpFoldResult a, OpFoldResult b);

  static RankedTensorType typeOf(Value v) {
    return cast<RankedTensorType>(v.getType());
  }
  static int64_t rankOf(Value v) { return typeOf(v).getRank(); }
  static Type eltOf(Value v) { return typeOf(v).getElementType(); }
  SmallVector<OpFoldResult> dims(Value v);
  OpFoldResult dim(Value v, int64_t i);
  /// `axis` counted from the front; an error when out of range for `rank`.
  FailureOr<int64_t> normAxis(int64_t axis, int64_t rank);

  // --- run-time checks ------------------------------------------------
  /// Emits a check that the index `given` equals `expected` (or is 1 when
  /// `orOne`). On a mismatch at run time the generated code calls
  /// lathe_rt_shape_check_failed, which makes "<what>: expected E, given G"
  /// the pending error that lathe-run reports (non-zero exit). A mismatch of
  /// two constants is an error instead ("<what>: expected E, given G").
  /// Returns the i1 that holds when the check passed (callers keep the
  /// computation safe with `guarded`).
  FailureOr<Value> checkDim(OpFoldResult given, OpFoldResult expected,
                            const std::string &what, bool orOne = false);
  /// How checkSize compares a run-time size with the expected one.
  enum class SizeRelation { Equal, EqualOrOne, AtMost };
  /// checkDim with a choice of relation (AtMost: given <= expected).
  FailureOr<Value> checkSize(OpFoldResult given, OpFoldResult expected,
                             const std::string &what, SizeRelation rel);
  /// The run-time part of checkSize: never an error at import time (two
  /// constants that disagree fail the run-time check). refineChecked uses it
  /// for sizes that are dynamic in the type.
  Value runtimeSizeCheck(OpFoldResult given, OpFoldResult expected,
                         const std::string &what, SizeRelation rel);
  /// GatherElements/ScatterElements: along `axis` (not the indexed one) an
  /// element of `indices` addresses `data` at its own position, so indices'
  /// size there may not exceed data's (a run-time check where not static).
  FailureOr<Value> checkIndicesFitData(Value indices, Value data, int64_t axis);
  /// A check message: a private constant i8 global of the module.
  struct Message {
    std::string name;
    MemRefType type;
  };
  Message messageGlobal(const std::string &text);
  /// The message as the `memref<*xi8>` the runtime's checks take.
  static Value messageValue(OpBuilder &nb, Location nl, const Message &msg);
  /// Declares the runtime function `name(args) -> ()` on first use.
  void declareRuntime(StringRef name, ArrayRef<Type> args);
  /// The message of index checks (`what` names the node) and the declaration
  /// of lathe_rt_index_check_failed; call before building the loop body.
  Message indexCheckMessage(const std::string &what);
  /// Emits at `nb` (typically in a loop body) the check of ONNX index `index`
  /// (index-typed) along a dimension of `size`: valid in [-size, size),
  /// negatives counting from the end. On a failure the generated code calls
  /// lathe_rt_index_check_failed ("<what>: index I out of range [-size,
  /// size)"). Returns {ok, wrapped}: `wrapped` is the index counted from the
  /// start; `ok` is `wrapped ult size`, the form lathe-cpu-guard-indices
  /// recognises, and must guard the access (see guardedExtract).
  static std::pair<Value, Value> checkIndex(OpBuilder &nb, Location nl,
                                            Value index, Value size,
                                            const Message &msg);
  /// scf.if `ok`: tensor.extract `t[coords]`, else zero.
  static Value guardedExtract(OpBuilder &nb, Location nl, Value ok, Value t,
                              ValueRange coords);
  /// The conjunction of `conds` (a constant true when empty).
  Value allOf(ArrayRef<Value> conds);
  /// scf.if `ok`: the value `build` makes (cast to `type`), else zeros of
  /// `type` (dynamic sizes 0), so that no read depends on a size that failed
  /// its check. Just `build()` when `ok` is a constant true.
  Value guarded(Value ok, RankedTensorType type, function_ref<Value()> build);
  /// `v` as `to`, which only makes dynamic sizes of `v` static: each such
  /// size is checked at run time ("<what> dimension i").
  Value refineChecked(Value v, RankedTensorType to, const std::string &what);
  /// Checks that the run-time axes of input #i (rank-1, static length; axes
  /// of a `rank`-D shape) form one of the bit masks `candidates` (bits in
  /// `ignore` aside). Returns the condition, as checkDim; an error when no
  /// candidate is given.
  FailureOr<Value> checkAxes(int i, int64_t rank, ArrayRef<uint64_t> candidates,
                             uint64_t ignore = 0);
  /// "input 'NAME'" for an operand of the current node, else "an operand".
  std::string operandName(Value v) const;

  // --- building blocks ------------------------------------------------
  Value empty(ArrayRef<OpFoldResult> shape, Type elt);
  /// A tensor of `shape` and `elt` whose every element is `element(nb, nl)`,
  /// built in the body of a linalg.generic with no inputs (linalg.index gives
  /// the element's position).
  Value generate(ArrayRef<OpFoldResult> shape, Type elt,
                 function_ref<Value(OpBuilder &, Location)> element);
  Value filled(ArrayRef<OpFoldResult> shape, Value scalar);
  /// The numpy broadcast of `shapes`; an error when two static sizes of a
  /// dimension differ and neither is 1.
  FailureOr<SmallVector<OpFoldResult>>
  broadcastShape(ArrayRef<SmallVector<OpFoldResult>> shapes);
  using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;
  /// An elementwise linalg.generic over `inputs`, numpy-broadcast to
  /// `outShape` (computed from the inputs when not given); an error when the
  /// static shapes do not broadcast.
  FailureOr<Value>
  elementwise(ArrayRef<Value> inputs, Type outElt, BodyFn body,
              std::optional<SmallVector<OpFoldResult>> outShape = {});
  /// elementwise over the one input `x`, which cannot fail.
  Value mapElements(Value x, Type outElt, BodyFn body);
  enum class ReduceKind { Sum, Max, Min, Prod };
  Value reduce(Value x, ArrayRef<int64_t> axes, ReduceKind kind, bool keepDims);
  /// `x` with `shape`; the element counts are checked at run time unless
  /// they are known to agree (an error when they are known to differ). After
  /// a failed check the first dynamic size is 0 (an empty view), or, for an
  /// all-static shape, the result is zeros.
  FailureOr<Value> reshape(Value x, ArrayRef<OpFoldResult> shape);
  Value reshapeUnchecked(Value x, ArrayRef<OpFoldResult> shape);
  Value transpose(Value x, ArrayRef<int64_t> perm);
  /// Padding (the Pad operator, whose pads may be run-time values), slicing
  /// and concatenation as linalg.generic reads. (Conv and pooling pads are
  /// static and use tensor.pad, which the CPU backend folds into a
  /// convolution.)
  Value pad(Value x, ArrayRef<OpFoldResult> low, ArrayRef<OpFoldResult> high,
            Value padValue);
  /// y[i] = x[offsets + i * strides] (reversed axes count from the end).
  Value slice(Value x, ArrayRef<OpFoldResult> offsets,
              ArrayRef<OpFoldResult> sizes, ArrayRef<OpFoldResult> strides,
              ArrayRef<int64_t> reversed = {});
  Value concat(ArrayRef<Value> inputs, int64_t axis);
  Value castTo(Value x, Type elt);
  /// `x` converted element-wise to `to` (unsigned on either side as given);
  /// `x` itself when nothing changes. Cast and CastLike share it.
  TV castTensor(const TV &x, Type to, bool toUnsigned);
  Value castScalar(OpBuilder &b, Location loc, Value x, Type to,
                   bool fromUnsigned = false, bool toUnsigned = false);
  Value countOf(Value x, ArrayRef<int64_t> axes, Type elt);

  // --- operators ------------------------------------------------------
  /// Imports `n` with the handler the registry holds for its op_type at the
  /// model's opset; fails with a message naming the node.
  LogicalResult importNode(const onnx::NodeProto &n);

  // The handlers (see OpRegistry): each imports one node of the operators it
  // is registered for, at the semantics of the opset range it is registered
  // for.
  LogicalResult importConstant(const onnx::NodeProto &n);
  LogicalResult importIdentity(const onnx::NodeProto &n);
  LogicalResult importDropout(const onnx::NodeProto &n);
  LogicalResult importShape(const onnx::NodeProto &n);
  LogicalResult importSize(const onnx::NodeProto &n);
  LogicalResult importConstantOfShape(const onnx::NodeProto &n);
  LogicalResult importBinary(const onnx::NodeProto &n);
  LogicalResult importVariadic(const onnx::NodeProto &n);
  LogicalResult importPow(const onnx::NodeProto &n);
  LogicalResult importActivation(const onnx::NodeProto &n);
  LogicalResult importCastLike(const onnx::NodeProto &n);
  LogicalResult importPRelu(const onnx::NodeProto &n);
  LogicalResult importMod(const onnx::NodeProto &n);
  LogicalResult importGatherElements(const onnx::NodeProto &n);
  LogicalResult importTile(const onnx::NodeProto &n);
  LogicalResult importRange(const onnx::NodeProto &n);
  LogicalResult importTrilu(const onnx::NodeProto &n);
  LogicalResult importCumSum(const onnx::NodeProto &n);
  LogicalResult importMean(const onnx::NodeProto &n);
  LogicalResult importArgMaxMin(const onnx::NodeProto &n);
  LogicalResult importReduceComposite(const onnx::NodeProto &n);
  LogicalResult importUnary(const onnx::NodeProto &n);
  LogicalResult importNeg(const onnx::NodeProto &n);
  LogicalResult importRelu(const onnx::NodeProto &n);
  LogicalResult importCast(const onnx::NodeProto &n);
  LogicalResult importWhere(const onnx::NodeProto &n);
  LogicalResult importClip(const onnx::NodeProto &n);
  LogicalResult importExpand(const onnx::NodeProto &n);
  LogicalResult importReduce(const onnx::NodeProto &n);
  LogicalResult importReduceSum13(const onnx::NodeProto &n);
  LogicalResult reduceAlong(const onnx::NodeProto &n,
                            std::optional<SmallVector<int64_t>> axes);
  LogicalResult importSoftmax11(const onnx::NodeProto &n);
  LogicalResult importSoftmax13(const onnx::NodeProto &n);
  LogicalResult importSoftmax(const onnx::NodeProto &n, bool coerce2D);
  LogicalResult importLayerNormalization(const onnx::NodeProto &n);
  LogicalResult importBatchNormalization(const onnx::NodeProto &n);
  LogicalResult importTranspose(const onnx::NodeProto &n);
  LogicalResult importReshape(const onnx::NodeProto &n);
  LogicalResult importFlatten(const onnx::NodeProto &n);
  LogicalResult importSqueeze11(const onnx::NodeProto &n);
  LogicalResult importSqueeze13(const onnx::NodeProto &n);
  LogicalResult squeezeOrUnsqueeze(const onnx::NodeProto &n,
                                   std::optional<SmallVector<int64_t>> axes);
  LogicalResult importConcat(const onnx::NodeProto &n);
  LogicalResult importSplit11(const onnx::NodeProto &n);
  LogicalResult importSplit13(const onnx::NodeProto &n);
  LogicalResult splitInto(const onnx::NodeProto &n,
                          std::optional<SmallVector<int64_t>> split,
                          SmallVector<Value> splitOks);
  LogicalResult importSlice(const onnx::NodeProto &n);
  LogicalResult importGather(const onnx::NodeProto &n);
  LogicalResult importScatterElements(const onnx::NodeProto &n);
  LogicalResult importPad(const onnx::NodeProto &n);
  LogicalResult importMatMul(const onnx::NodeProto &n);
  LogicalResult importGemm(const onnx::NodeProto &n);
  LogicalResult importWindow(const onnx::NodeProto &n);
  LogicalResult importConvTranspose(const onnx::NodeProto &n);
  LogicalResult importResize(const onnx::NodeProto &n);
  /// LSTM and GRU.
  LogicalResult importRecurrent(const onnx::NodeProto &n);
  LogicalResult importGlobalPool(const onnx::NodeProto &n);
  /// Reduction axes implied by the declared result shape (run-time axes).
  FailureOr<SmallVector<int64_t>> axesFromDeclaredShape(Value x, bool keepDims);
  LogicalResult importGelu(const std::string &x, const std::string &out,
                           bool tanhApprox);
  /// Add (f32/f64) or Relu of a MatMul result with a `flat` form, computed
  /// in the 2-D space: false when the operands do not allow it.
  FailureOr<bool> importFlatEpilogue(StringRef op);
};

/// A handler: imports one node (the Importer's current node) or reports an
/// error and fails.
using OpHandler = LogicalResult (Importer::*)(const onnx::NodeProto &);

/// The operators the importer supports, as torch-mlir's ONNX importer keeps
/// them (`onOp(name, sinceVersion, ...)`): for each op_type of the default
/// domain, the handlers with the opset each applies from. A model at opset V
/// gets the handler with the highest sinceVersion <= V, so an operator whose
/// semantics changed in some opset (Split's sizes, Squeeze's axes moving from
/// an attribute to an input in opset 13) has one handler per opset range.
/// sinceVersion 1 means "every opset the importer accepts" (11 to 17).
class OpRegistry {
public:
  /// Registers `handler` for `opType` (default domain) from opset
  /// `sinceVersion` on, up to the next registration of `opType`.
  void add(StringRef opType, int64_t sinceVersion, OpHandler handler);
  /// The handler for `opType` of `domain` at `opset`, or null.
  OpHandler lookup(StringRef domain, StringRef opType, int64_t opset) const;
  /// The registry of every supported operator (built on first use).
  static const OpRegistry &get();

private:
  struct Entry {
    int64_t sinceVersion;
    OpHandler handler;
  };
  llvm::StringMap<SmallVector<Entry, 1>> ops;
};

/// Registers every handler: the families' lists below (OpRegistry.cpp).
void registerONNXOps(OpRegistry &registry);
void registerElementwiseOps(OpRegistry &registry);   // ImportElementwise.cpp
void registerShapeOps(OpRegistry &registry);         // ImportShape.cpp
void registerDataMovementOps(OpRegistry &registry);  // ImportDataMovement.cpp
void registerReductionOps(OpRegistry &registry);     // ImportReductions.cpp
void registerNormalizationOps(OpRegistry &registry); // ImportNormalization.cpp
void registerContractionOps(OpRegistry &registry);   // ImportContractions.cpp
void registerWindowOps(OpRegistry &registry);        // ImportWindows.cpp
void registerResizeOps(OpRegistry &registry);        // ImportResize.cpp
void registerRecurrentOps(OpRegistry &registry);     // ImportRecurrent.cpp

/// True when op_type (default domain) has a handler at `opset`.
bool isSupportedOp(StringRef opType, int64_t opset);

} // namespace onnx_import
} // namespace lathe
} // namespace mlir

#endif

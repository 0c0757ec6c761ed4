//===- LatheOps.cpp - Lathe core dialect ----------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Interfaces/DpsBufferization.h"
#include "lathe/Support/EnumAttr.h"
#include "lathe/runtime/PoolWindow.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/xxhash.h"

#include <cmath>
#include <tuple>

using namespace mlir;
using namespace mlir::lathe;

#include "lathe/Dialect/Lathe/LatheDialect.cpp.inc"
#include "lathe/Dialect/Lathe/LatheEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "lathe/Dialect/Lathe/LatheAttrs.cpp.inc"

// IR that spells an enum as a string: an error that says what to write.
static LogicalResult
checkMatmulEnums(OperationName opName, Attribute dict,
                 function_ref<InFlightDiagnostic()> emitError) {
  return checkEnumProperty<ActivationAttr>(
      dict, MatmulOp::getActivationAttrName(opName), emitError);
}
static LogicalResult
checkConv2DEnums(OperationName opName, Attribute dict,
                 function_ref<InFlightDiagnostic()> emitError) {
  return success(
      succeeded(checkEnumProperty<ConvLayoutAttr>(
          dict, Conv2DOp::getLayoutAttrName(opName), emitError)) &&
      succeeded(checkEnumProperty<ActivationAttr>(
          dict, Conv2DOp::getActivationAttrName(opName), emitError)) &&
      succeeded(checkEnumProperty<PoolKindAttr>(
          dict, Conv2DOp::getPoolAttrName(opName), emitError)));
}
static LogicalResult
checkRnnEnums(OperationName opName, Attribute dict,
              function_ref<InFlightDiagnostic()> emitError) {
  return checkEnumProperty<RnnCellAttr>(dict, RnnOp::getCellAttrName(opName),
                                        emitError);
}
LATHE_CHECKED_PROPERTIES(MatmulOp, checkMatmulEnums)
LATHE_CHECKED_PROPERTIES(Conv2DOp, checkConv2DEnums)
LATHE_CHECKED_PROPERTIES(RnnOp, checkRnnEnums)

void LatheDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "lathe/Dialect/Lathe/LatheAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "lathe/Dialect/Lathe/LatheOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  ExternalWeightAttr source = getSource();
  if (source.getType() != getType())
    return emitOpError("result type ")
           << getType() << " differs from the source's type "
           << source.getType();
  if (source.getPath().empty())
    return emitOpError("expects a non-empty file path in its source");
  if (source.getDataset().empty())
    return emitOpError("expects a non-empty dataset name in its source");
  return success();
}

std::string mlir::lathe::getExternalWeightSymbol(ExternalWeightAttr source,
                                                 Type type) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << source.getPath() << '\0' << source.getDataset() << '\0' << type;
  return llvm::formatv("__lathe_weight_{0:x16}", llvm::xxh3_64bits(key)).str();
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

/// Two static sizes disagree (dynamic sizes agree with anything).
static bool sizesConflict(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

/// The permutation attribute that applies to `operand` of `op`, or null.
static DenseI64ArrayAttr permFor(MatmulOp op, Value operand) {
  if (operand == op.getLhs())
    return op.getLhsPermAttr();
  if (operand == op.getRhs())
    return op.getRhsPermAttr();
  if (operand == op.getInit() || operand == op.getResidual())
    return op.getInitPermAttr();
  return {};
}

SmallVector<int64_t> MatmulOp::getLogicalShape(Value operand) {
  ArrayRef<int64_t> shape = cast<ShapedType>(operand.getType()).getShape();
  DenseI64ArrayAttr perm = permFor(*this, operand);
  if (!perm || perm.size() != static_cast<int64_t>(shape.size()))
    return llvm::to_vector(shape);
  SmallVector<int64_t> logical;
  for (int64_t p : perm.asArrayRef())
    logical.push_back(p >= 0 && p < static_cast<int64_t>(shape.size())
                          ? shape[p]
                          : ShapedType::kDynamic);
  return logical;
}

SmallVector<int64_t, 4> MatmulOp::getProblemSizes() {
  SmallVector<int64_t> lhs = getLogicalShape(getLhs());
  SmallVector<int64_t> rhs = getLogicalShape(getRhs());
  int64_t lr = lhs.size(), rr = rhs.size();
  int64_t m = getTransposeLhs() ? lhs[lr - 1] : lhs[lr - 2];
  int64_t k = getTransposeLhs() ? lhs[lr - 2] : lhs[lr - 1];
  int64_t n = getTransposeRhs() ? rhs[rr - 2] : rhs[rr - 1];
  int64_t batch = 1;
  for (int64_t i = 0; i < lr - 2; ++i)
    batch = ShapedType::isDynamic(batch) || ShapedType::isDynamic(lhs[i])
                ? ShapedType::kDynamic
                : batch * lhs[i];
  return {batch, m, n, k};
}

/// `perm` is null or a permutation of [0, rank).
static LogicalResult verifyPerm(MatmulOp op, DenseI64ArrayAttr perm,
                                StringRef name, int64_t rank) {
  if (!perm)
    return success();
  if (perm.size() != rank)
    return op.emitOpError("expects ")
           << name << " to have " << rank
           << " entries (the operand's rank), got " << perm.size();
  SmallVector<bool> seen(rank, false);
  for (int64_t p : perm.asArrayRef()) {
    if (p < 0 || p >= rank || seen[p])
      return op.emitOpError("expects ")
             << name << " to be a permutation of [0, " << rank << ")";
    seen[p] = true;
  }
  return success();
}

/// Every operand of `op` is f32, except that the data operands `bf16Ok`
/// (named `names` in the message) may be bf16 instead: activations kept in
/// bf16 between kernels (lathe-cpu-bf16-activations).
static LogicalResult verifyElementTypes(Operation *op, ValueRange bf16Ok,
                                        StringRef names) {
  for (Value v : op->getOperands()) {
    Type element = cast<ShapedType>(v.getType()).getElementType();
    if (element.isF32() || (element.isBF16() && llvm::is_contained(bf16Ok, v)))
      continue;
    return op->emitOpError("supports f32 operands only (bf16 also for ")
           << names << "), got " << v.getType();
  }
  return success();
}

LogicalResult MatmulOp::verify() {
  auto lhsType = cast<ShapedType>(getLhs().getType());
  auto rhsType = cast<ShapedType>(getRhs().getType());
  auto initType = cast<ShapedType>(getInit().getType());
  if (failed(verifyDpsKernelForm(*this, getInit(), getResult())))
    return failure();

  int64_t lr = lhsType.getRank(), rr = rhsType.getRank();
  if (lr < 2 || lr > 4)
    return emitOpError("expects lhs of rank 2 to 4, got rank ") << lr;
  if (rr != 2 && rr != lr)
    return emitOpError("expects rhs of rank 2 or of the lhs rank (")
           << lr << "), got rank " << rr;
  if (initType.getRank() != lr)
    return emitOpError("expects init of rank ")
           << lr << " (the lhs rank), got " << initType.getRank();
  if (failed(verifyElementTypes(*this, {getLhs(), getInit()}, "lhs and init")))
    return failure();
  if (failed(verifyPerm(*this, getLhsPermAttr(), "lhs_perm", lr)) ||
      failed(verifyPerm(*this, getRhsPermAttr(), "rhs_perm", rr)) ||
      failed(verifyPerm(*this, getInitPermAttr(), "init_perm", lr)))
    return failure();
  if (getBias() && getAlpha().convertToFloat() != 1.0f)
    return emitOpError("cannot combine alpha with a bias");

  SmallVector<int64_t> rhs = getLogicalShape(getRhs());
  SmallVector<int64_t> lhs = getLogicalShape(getLhs());
  SmallVector<int64_t> init = getLogicalShape(getInit());
  SmallVector<int64_t, 4> sizes = getProblemSizes();
  int64_t m = sizes[1], n = sizes[2], k = sizes[3];
  int64_t rhsK = getTransposeRhs() ? rhs[rr - 1] : rhs[rr - 2];
  if (sizesConflict(k, rhsK))
    return emitOpError("has mismatched contraction sizes: lhs gives K = ")
           << k << ", rhs gives K = " << rhsK;
  for (int64_t i = 0; i < lr - 2; ++i) {
    if (rr == lr && sizesConflict(lhs[i], rhs[i]))
      return emitOpError("has mismatched batch sizes ")
             << lhs[i] << " and " << rhs[i] << " in dimension " << i;
    if (sizesConflict(lhs[i], init[i]))
      return emitOpError("expects init batch size ")
             << lhs[i] << " in dimension " << i << ", got " << init[i];
  }
  if (sizesConflict(init[lr - 2], m) || sizesConflict(init[lr - 1], n))
    return emitOpError("expects init (as read through init_perm) to end in [")
           << m << ", " << n << "] (dynamic sizes print as "
           << ShapedType::kDynamic << "), got " << initType;
  if (Value bias = getBias()) {
    auto biasType = cast<ShapedType>(bias.getType());
    if (biasType.getRank() != 1 || sizesConflict(biasType.getDimSize(0), n))
      return emitOpError("expects a bias of shape [")
             << n << "], got " << biasType;
  }
  if (Value residual = getResidual()) {
    auto resType = cast<ShapedType>(residual.getType());
    if (resType.getRank() != initType.getRank() ||
        llvm::any_of(llvm::zip(resType.getShape(), initType.getShape()),
                     [](auto p) {
                       return sizesConflict(std::get<0>(p), std::get<1>(p));
                     }))
      return emitOpError("expects a residual of the init's shape, got ")
             << resType;
  }
  return success();
}

FailureOr<int64_t> MatmulOp::getFlopCount() {
  SmallVector<int64_t, 4> sizes = getProblemSizes();
  if (llvm::any_of(sizes, ShapedType::isDynamic))
    return failure();
  int64_t batch = sizes[0], m = sizes[1], n = sizes[2], k = sizes[3];
  int64_t epilogue = (getBias() ? 1 : 0) + (getResidual() ? 1 : 0) +
                     (getActivation() == Activation::none ? 0 : 1);
  return batch * m * n * (2 * k + epilogue);
}

//===----------------------------------------------------------------------===//
// LayerNormOp
//===----------------------------------------------------------------------===//

LogicalResult LayerNormOp::verify() {
  auto inputType = cast<ShapedType>(getInput().getType());
  auto initType = cast<ShapedType>(getInit().getType());
  if (failed(verifyDpsKernelForm(*this, getInit(), getResult())))
    return failure();
  for (Value v : getOperands())
    if (!cast<ShapedType>(v.getType()).getElementType().isF32())
      return emitOpError("supports f32 operands only, got ") << v.getType();
  if (inputType.getRank() < 1)
    return emitOpError("expects an input of rank >= 1");
  if (initType.getRank() != inputType.getRank() ||
      llvm::any_of(
          llvm::zip(initType.getShape(), inputType.getShape()),
          [](auto p) { return sizesConflict(std::get<0>(p), std::get<1>(p)); }))
    return emitOpError("expects init of the input's shape, got ") << initType;
  int64_t n = inputType.getShape().back();
  for (Value param : {getGamma(), getBeta()}) {
    if (!param)
      continue;
    auto type = cast<ShapedType>(param.getType());
    if (type.getRank() != 1 || sizesConflict(type.getDimSize(0), n))
      return emitOpError("expects gamma and beta of shape [")
             << n << "] (the last input dimension), got " << type;
  }
  float eps = getEpsilon().convertToFloat();
  if (!(eps >= 0.0f) || !std::isfinite(eps))
    return emitOpError("expects a finite epsilon >= 0, got ") << eps;
  return success();
}

FailureOr<int64_t> LayerNormOp::getFlopCount() {
  auto type = cast<ShapedType>(getInput().getType());
  if (!type.hasStaticShape())
    return failure();
  // Mean, variance, normalize, scale and shift: ~8 flops per element.
  return 8 * type.getNumElements();
}

void LayerNormOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getDpsKernelEffects(getOperation(), getInit(), effects);
}

void MatmulOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getDpsKernelEffects(getOperation(), getInit(), effects);
}

//===----------------------------------------------------------------------===//
// Conv2DOp
//===----------------------------------------------------------------------===//

namespace {
/// Logical sizes of a lathe.conv2d (dynamic sizes as ShapedType::kDynamic).
struct ConvSizes {
  int64_t n, c, h, w;     // Input.
  int64_t f, fc, kh, kw;  // Filter (fc: its input channels).
  int64_t on, of, oh, ow; // init (the pooled output when pooling).
};
} // namespace

/// Channels of a data operand: dims[1], times the block of a channel-blocked
/// [N, C/b, H, W, b] operand.
static int64_t blockedChannels(ArrayRef<int64_t> shape, int64_t block) {
  if (!block || ShapedType::isDynamic(shape[1]))
    return shape[1];
  return shape[1] * block;
}

static ConvSizes getConvSizes(Conv2DOp op) {
  ArrayRef<int64_t> in = cast<ShapedType>(op.getInput().getType()).getShape();
  ArrayRef<int64_t> fl = cast<ShapedType>(op.getFilter().getType()).getShape();
  ArrayRef<int64_t> out = cast<ShapedType>(op.getInit().getType()).getShape();
  // A channel-blocked data operand is [N, C/b, H, W, b] in either layout;
  // the layout then names the filter's (and the plain operands') order.
  auto data = [&](ArrayRef<int64_t> shape, int64_t block) {
    if (op.isNhwc() && !block)
      return std::array<int64_t, 4>{shape[0], shape[3], shape[1], shape[2]};
    return std::array<int64_t, 4>{shape[0], blockedChannels(shape, block),
                                  shape[2], shape[3]};
  };
  std::array<int64_t, 4> i = data(in, op.getInputBlock()),
                         o = data(out, op.getOutputBlock());
  if (op.isNhwc())
    return {i[0],  i[1],  i[2], i[3], fl[3], fl[2],
            fl[0], fl[1], o[0], o[1], o[2],  o[3]};
  return {i[0],  i[1],  i[2], i[3], fl[0], fl[1],
          fl[2], fl[3], o[0], o[1], o[2],  o[3]};
}

/// Rows a pooling (or nothing) of `outSize` outputs reads from its input.
static int64_t pooledSpan(Conv2DOp op, int dim, int64_t outSize) {
  if (!op.hasPool() || ShapedType::isDynamic(outSize))
    return outSize;
  return (outSize - 1) * op.getPoolStrides()[dim] +
         (op.getPoolWindow()[dim] - 1) * op.getPoolDilations()[dim] + 1;
}

/// The window attributes shared by lathe.conv2d and lathe.max_pool2d: each
/// named pair is two values >= 1, and the padding four values >= 0.
static LogicalResult
verifyWindowAttrs(Operation *op,
                  ArrayRef<std::pair<StringRef, ArrayRef<int64_t>>> pairs,
                  ArrayRef<int64_t> pad) {
  for (auto [name, values] : pairs)
    if (values.size() != 2 || values[0] < 1 || values[1] < 1)
      return op->emitOpError("expects ")
             << name << " to be two values >= 1, got [" << values << "]";
  if (pad.size() != 4 || llvm::any_of(pad, [](int64_t v) { return v < 0; }))
    return op->emitOpError("expects padding to be four values >= 0 (top, "
                           "left, bottom, right), got [")
           << pad << "]";
  return success();
}

LogicalResult Conv2DOp::verify() {
  if (failed(verifyDpsKernelForm(*this, getInit(), getResult())) ||
      failed(
          verifyElementTypes(*this, {getInput(), getInit()}, "input and init")))
    return failure();
  if (getAccumulate() && hasPool())
    return emitOpError("cannot accumulate into a pooled output");
  for (auto [name, value, block] : {std::tuple<StringRef, Value, int64_t>{
                                        "input", getInput(), getInputBlock()},
                                    {"filter", getFilter(), 0},
                                    {"init", getInit(), getOutputBlock()}}) {
    auto type = cast<ShapedType>(value.getType());
    if (block == 0) {
      if (type.getRank() != 4)
        return emitOpError("expects a rank-4 ") << name << ", got " << type;
      continue;
    }
    if (type.getRank() != 5 || type.getDimSize(4) != block)
      return emitOpError("expects a channel-blocked ")
             << name << " [N, C/" << block << ", H, W, " << block
             << "] of rank 5, got " << type;
    // One block of all channels ([N, 1, H, W, C]) is the channels-last
    // (NHWC) memory order, what oneDNN's AMX bf16 kernels read and write.
    if (block != kChannelBlock && (block < 1 || type.getDimSize(1) != 1))
      return emitOpError("supports channel block ")
             << kChannelBlock
             << " or one block of all channels ([N, 1, H, W, C]), got " << name
             << "_block = " << block << " with " << type;
  }
  if (failed(verifyWindowAttrs(*this,
                               {{"strides", getStrides()},
                                {"dilations", getDilations()},
                                {"pool_window", getPoolWindow()},
                                {"pool_strides", getPoolStrides()},
                                {"pool_dilations", getPoolDilations()}},
                               getPadding())))
    return failure();
  ArrayRef<int64_t> pad = getPadding();

  ConvSizes s = getConvSizes(*this);
  if (sizesConflict(s.c, s.fc))
    return emitOpError("has mismatched input channels: input has ")
           << s.c << ", filter has " << s.fc << " (layout "
           << stringifyConvLayout(getLayout()) << ")";
  if (sizesConflict(s.n, s.on) || sizesConflict(s.f, s.of))
    return emitOpError("expects init with batch ")
           << s.n << " and " << s.f << " channels (layout "
           << stringifyConvLayout(getLayout()) << "), got "
           << getInit().getType();
  if (Value bias = getBias()) {
    auto biasType = cast<ShapedType>(bias.getType());
    if (biasType.getRank() != 1 || sizesConflict(biasType.getDimSize(0), s.f))
      return emitOpError("expects a bias of shape [")
             << s.f << "], got " << biasType;
  }
  // Every output (every pooling window) must lie inside the input.
  int64_t inSizes[2] = {s.h, s.w}, outSizes[2] = {s.oh, s.ow};
  for (int dim = 0; dim < 2; ++dim) {
    int64_t need = getInputSpan(dim);
    if (ShapedType::isDynamic(need) || ShapedType::isDynamic(inSizes[dim]) ||
        need == 0)
      continue;
    int64_t padded = inSizes[dim] + pad[dim] + pad[dim + 2];
    if (need > padded)
      return emitOpError("output ")
             << (dim == 0 ? "height " : "width ") << outSizes[dim] << " reads "
             << need << " input " << (dim == 0 ? "rows" : "columns")
             << ", but the input has " << inSizes[dim]
             << (pad[dim] || pad[dim + 2]
                     ? (" (" + llvm::Twine(padded) + " padded)").str()
                     : std::string());
  }
  return success();
}

int64_t Conv2DOp::getInputSpan(unsigned dim) {
  ConvSizes s = getConvSizes(*this);
  int64_t kernel = dim == 0 ? s.kh : s.kw, out = dim == 0 ? s.oh : s.ow;
  if (out == 0)
    return 0;
  int64_t convOut = pooledSpan(*this, dim, out);
  if (ShapedType::isDynamic(convOut) || ShapedType::isDynamic(kernel))
    return ShapedType::kDynamic;
  if (convOut == 0 || kernel == 0)
    return 0;
  return (convOut - 1) * getStrides()[dim] +
         (kernel - 1) * getDilations()[dim] + 1;
}

FailureOr<int64_t> Conv2DOp::getFlopCount() {
  ConvSizes s = getConvSizes(*this);
  int64_t convH = pooledSpan(*this, 0, s.oh),
          convW = pooledSpan(*this, 1, s.ow);
  for (int64_t v : {s.n, s.c, s.f, s.kh, s.kw, convH, convW, s.oh, s.ow})
    if (ShapedType::isDynamic(v))
      return failure();
  int64_t epilogue =
      (getBias() ? 1 : 0) + (getActivation() == Activation::none ? 0 : 1);
  int64_t flops =
      s.n * s.f * convH * convW * (2 * s.c * s.kh * s.kw + epilogue);
  if (hasPool())
    flops += s.n * s.f * s.oh * s.ow * getPoolWindow()[0] * getPoolWindow()[1];
  return flops;
}

void Conv2DOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getDpsKernelEffects(getOperation(), getInit(), effects);
}

//===----------------------------------------------------------------------===//
// MaxPool2DOp
//===----------------------------------------------------------------------===//

LogicalResult MaxPool2DOp::verify() {
  if (failed(verifyDpsKernelForm(*this, getInit(), getResult())))
    return failure();
  int64_t block = getBlock();
  if (block != 0 && isNhwc())
    return emitOpError("supports channel-blocked operands (block = ")
           << block << ") with layout nchw only";
  if (failed(
          verifyElementTypes(*this, {getInput(), getInit()}, "input and init")))
    return failure();
  if (getElementTypeOrSelf(getInput().getType()) !=
      getElementTypeOrSelf(getInit().getType()))
    return emitOpError("expects input and init of one element type, got ")
           << getInput().getType() << " and " << getInit().getType();
  for (Value v : getOperands()) {
    auto type = cast<ShapedType>(v.getType());
    if (block == 0 && type.getRank() != 4)
      return emitOpError("expects rank-4 operands, got ") << type;
    if (block != 0 && (type.getRank() != 5 || type.getDimSize(4) != block))
      return emitOpError("expects channel-blocked operands [N, C/")
             << block << ", H, W, " << block << "] of rank 5, got " << type;
    if (block != 0 && block != Conv2DOp::kChannelBlock &&
        (block < 1 || type.getDimSize(1) != 1))
      return emitOpError("supports block ")
             << Conv2DOp::kChannelBlock
             << " or one block of all channels ([N, 1, H, W, C]), got block = "
             << block << " with " << type;
  }
  if (failed(verifyWindowAttrs(*this,
                               {{"window", getWindow()},
                                {"strides", getStrides()},
                                {"dilations", getDilations()}},
                               getPadding())))
    return failure();
  ArrayRef<int64_t> pad = getPadding();
  ArrayRef<int64_t> in = cast<ShapedType>(getInput().getType()).getShape();
  ArrayRef<int64_t> out = cast<ShapedType>(getInit().getType()).getShape();
  unsigned channel = isNhwc() ? 3 : 1, spatial = isNhwc() ? 1 : 2;
  if (sizesConflict(in[0], out[0]) || sizesConflict(in[channel], out[channel]))
    return emitOpError("expects input and init with the same batch and "
                       "channels (layout ")
           << stringifyConvLayout(getLayout()) << "), got "
           << getInput().getType() << " and " << getInit().getType();
  for (int dim = 0; dim < 2; ++dim) {
    int64_t inSize = in[spatial + dim], outSize = out[spatial + dim];
    if (ShapedType::isDynamic(inSize) || ShapedType::isDynamic(outSize) ||
        outSize == 0)
      continue;
    int64_t need = (outSize - 1) * getStrides()[dim] +
                   (getWindow()[dim] - 1) * getDilations()[dim] + 1;
    int64_t padded = inSize + pad[dim] + pad[dim + 2];
    StringRef what = dim == 0 ? "rows" : "columns";
    if (need > padded)
      return emitOpError("output ")
             << (dim == 0 ? "height " : "width ") << outSize << " reads "
             << need << " " << what << ", but the padded input has " << padded;
    if (!::lathe::pool_window::everyWindowTakesInput(
            inSize, pad[dim], getWindow()[dim], getStrides()[dim],
            getDilations()[dim], outSize))
      return emitOpError("has a pooling window that takes only padding ")
             << what << " (input " << inSize << ", padding " << pad[dim]
             << " and " << pad[dim + 2] << ")";
  }
  return success();
}

FailureOr<int64_t> MaxPool2DOp::getFlopCount() {
  ArrayRef<int64_t> out = cast<ShapedType>(getInit().getType()).getShape();
  if (ShapedType::isDynamicShape(out))
    return failure();
  // Every element of the output (channel-blocked: of its rank 5 too).
  int64_t elements = 1;
  for (int64_t size : out)
    elements *= size;
  return elements * getWindow()[0] * getWindow()[1];
}

void MaxPool2DOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getDpsKernelEffects(getOperation(), getInit(), effects);
}

/// `#lathe.external<"file", "dataset"> : type`; the type is the result's.
static ParseResult parseWeightSource(OpAsmParser &parser,
                                     ExternalWeightAttr &source,
                                     Type &resultType) {
  SMLoc loc = parser.getCurrentLocation();
  Attribute attr;
  if (parser.parseAttribute(attr))
    return failure();
  source = dyn_cast<ExternalWeightAttr>(attr);
  if (!source)
    return parser.emitError(loc, "expected #lathe.external<\"file\", "
                                 "\"dataset\"> : type, got ")
           << attr;
  resultType = source.getType();
  return success();
}

static void printWeightSource(OpAsmPrinter &printer, Operation *,
                              ExternalWeightAttr source, Type) {
  printer.printAttribute(source);
}

#define GET_OP_CLASSES
#include "lathe/Dialect/Lathe/LatheOps.cpp.inc"

//===----------------------------------------------------------------------===//
// RnnOp
//===----------------------------------------------------------------------===//

LogicalResult RnnOp::verify() {
  bool lstm = isLstm();
  int64_t g = getNumGates();
  bool buffers = hasPureBufferSemantics();
  for (Value v : getOperands()) {
    auto type = cast<ShapedType>(v.getType());
    if (isa<MemRefType>(type) != buffers)
      return emitOpError("expects all operands to be tensors or all to be "
                         "memrefs");
    if (!type.getElementType().isF32())
      return emitOpError("supports f32 operands only, got ") << type;
  }
  size_t numInits = lstm ? 3 : 2;
  if (getInits().size() != numInits)
    return emitOpError("expects ")
           << numInits << " inits (y, final h" << (lstm ? ", final c" : "")
           << ") for cell '" << stringifyRnnCell(getCell()) << "', got "
           << getInits().size();
  if (lstm != (getInitialC() != nullptr))
    return emitOpError(lstm ? "expects initial_c for an LSTM"
                            : "expects no initial_c for a GRU");
  if (buffers ? !getResult().empty()
              : getResult().getTypes() != getInits().getTypes())
    return emitOpError(buffers ? "on memrefs has no results"
                               : "on tensors returns one result per init, of "
                                 "its type");
  ArrayRef<int64_t> gates = getGates();
  SmallVector<bool> seen(g, false);
  if (static_cast<int64_t>(gates.size()) != g)
    return emitOpError("expects ") << g << " gate blocks, got " << gates.size();
  for (int64_t k : gates) {
    if (k < 0 || k >= g || seen[k])
      return emitOpError("expects gates to be a permutation of 0..") << g - 1;
    seen[k] = true;
  }
  auto shape = [](Value v) { return cast<ShapedType>(v.getType()).getShape(); };
  ArrayRef<int64_t> x = shape(getInput()), w = shape(getWeights()),
                    r = shape(getRecurrentWeights());
  if (x.size() != 3 || w.size() != 2 || r.size() != 2)
    return emitOpError("expects input [T, N, I] ([N, T, I] with batch_first), "
                       "weights [G*H, I] and recurrent_weights [G*H, H]");
  // Sizes as [T, N, I] whatever the layout.
  SmallVector<int64_t> tni = {x[0], x[1], x[2]};
  if (getBatchFirst())
    std::swap(tni[0], tni[1]);
  int64_t h = r[1];
  if (ShapedType::isDynamic(h) || ShapedType::isDynamic(r[0]) ||
      r[0] != g * h || sizesConflict(w[0], g * h) || sizesConflict(w[1], x[2]))
    return emitOpError("expects recurrent_weights [")
           << g << "*H, H] and weights [" << g << "*H, " << x[2]
           << "] of static H";
  for (Value b : {getBias(), getRecurrentBias()}) {
    if (!b)
      continue;
    ArrayRef<int64_t> s = shape(b);
    if (s.size() != 1 || sizesConflict(s[0], g * h))
      return emitOpError("expects biases of shape [") << g * h << "]";
  }
  auto expect = [&](Value v, ArrayRef<int64_t> want,
                    StringRef what) -> LogicalResult {
    ArrayRef<int64_t> s = shape(v);
    if (s.size() != want.size() || llvm::any_of(llvm::zip(s, want), [](auto p) {
          return sizesConflict(std::get<0>(p), std::get<1>(p));
        }))
      return emitOpError("expects ")
             << what << " of shape [T, N, H] ([N, T, H] with batch_first) / "
             << "[N, H]";
    return success();
  };
  if (failed(expect(getInitialH(), {tni[1], h}, "initial_h")) ||
      (getInitialC() &&
       failed(expect(getInitialC(), {tni[1], h}, "initial_c"))))
    return failure();
  if (failed(expect(getInits()[0], {x[0], x[1], h}, "y")))
    return failure();
  for (Value v : getInits().drop_front())
    if (failed(expect(v, {tni[1], h}, "the final states")))
      return failure();
  return success();
}

FailureOr<int64_t> RnnOp::getFlopCount() {
  auto x = cast<ShapedType>(getInput().getType());
  int64_t h = cast<ShapedType>(getRecurrentWeights().getType()).getDimSize(1);
  if (!x.hasStaticShape())
    return failure();
  int64_t t = x.getDimSize(0), n = x.getDimSize(1), in = x.getDimSize(2);
  // The two projections per step; the gates' element-wise work is small.
  return 2 * t * n * getNumGates() * h * (in + h);
}

void RnnOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getDpsKernelEffects(cast<DestinationStyleOpInterface>(getOperation()),
                      effects);
}

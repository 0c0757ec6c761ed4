//===- MemRedOps.cpp - Memory-reduction dialect ---------------------------===//

#include "lathe/Dialect/MemRed/MemRedOps.h"
#include "lathe/Interfaces/DpsBufferization.h"
#include "lathe/Support/EnumAttr.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::memred;

#include "lathe/Dialect/MemRed/MemRedDialect.cpp.inc"
#include "lathe/Dialect/MemRed/MemRedEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "lathe/Dialect/MemRed/MemRedAttrs.cpp.inc"

// IR that spells the policy as a string: an error that says what to write.
static LogicalResult
checkBankAppendEnums(OperationName opName, Attribute dict,
                     function_ref<InFlightDiagnostic()> emitError) {
  return checkEnumProperty<BankPolicyAttr>(
      dict, BankAppendOp::getPolicyAttrName(opName), emitError);
}
LATHE_CHECKED_PROPERTIES(BankAppendOp, checkBankAppendEnums)

void MemRedDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "lathe/Dialect/MemRed/MemRedAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "lathe/Dialect/MemRed/MemRedOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// DecisionAttr
//===----------------------------------------------------------------------===//

LogicalResult DecisionAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, StringRef action,
    std::optional<int64_t> bankBytes, int64_t budgetBytes,
    std::optional<int64_t> capacity, std::optional<int64_t> frameRows,
    std::optional<APFloat> keep, std::optional<int64_t> keyRowsBound,
    std::optional<int64_t> kvChunk, std::optional<int64_t> layer,
    StringRef policy, std::optional<int64_t> qChunk,
    std::optional<APFloat> recent, std::optional<int64_t> scratchBytes,
    std::optional<int64_t> scoreBytes, std::optional<int64_t> totalBytes,
    std::optional<int64_t> unboundedBytes, std::optional<int64_t> workers,
    std::optional<int64_t> workingSetBytes) {
  if (budgetBytes <= 0)
    return emitError() << "expects a positive budget_bytes, got "
                       << budgetBytes;
  auto require = [&](bool present, StringRef field) -> LogicalResult {
    if (present)
      return success();
    return emitError() << "a \"" << action << "\" decision needs " << field;
  };
  if (action == "kept: scores fit")
    return require(scoreBytes.has_value(), "score_bytes");
  if (action == "chunked") {
    if (failed(require(qChunk && kvChunk, "q_chunk and kv_chunk")) ||
        failed(require(workingSetBytes && workers,
                       "working_set_bytes and workers")))
      return failure();
    if (*qChunk <= 0 || *kvChunk <= 0)
      return emitError() << "expects positive chunks, got " << *qChunk << " x "
                         << *kvChunk;
    return success();
  }
  if (action == "bounded streaming cache") {
    if (failed(require(layer && capacity && frameRows,
                       "layer, capacity and frame_rows")) ||
        failed(require(recent && keep && !policy.empty(),
                       "recent, keep and policy")) ||
        failed(require(bankBytes && scratchBytes && totalBytes,
                       "bank_bytes, scratch_bytes and total_bytes")))
      return failure();
    for (const APFloat &fraction : {*recent, *keep})
      if (!(fraction.convertToDouble() >= 0.0 &&
            fraction.convertToDouble() <= 1.0))
        return emitError() << "expects recent and keep in [0, 1], got "
                           << fraction.convertToDouble();
    return success();
  }
  return emitError() << "expects action \"kept: scores fit\", \"chunked\" or "
                        "\"bounded streaming cache\", got \""
                     << action << "\"";
}

StringRef DecisionAttr::getPassName() const { return kPassName; }

DictionaryAttr DecisionAttr::toDictionary() const {
  Builder b(getContext());
  SmallVector<NamedAttribute> entries;
  auto i64 = [&](StringRef key, std::optional<int64_t> value) {
    if (value)
      entries.push_back(b.getNamedAttr(key, b.getI64IntegerAttr(*value)));
  };
  auto f64 = [&](StringRef key, std::optional<APFloat> value) {
    if (value)
      entries.push_back(
          b.getNamedAttr(key, b.getF64FloatAttr(value->convertToDouble())));
  };
  // The keys (and values) the report has always listed for this pass.
  entries.push_back(b.getNamedAttr("pass", b.getStringAttr(getPassName())));
  entries.push_back(b.getNamedAttr("action", b.getStringAttr(getAction())));
  i64("bank_bytes", getBankBytes());
  i64("budget_bytes", getBudgetBytes());
  i64("capacity", getCapacity());
  i64("frame_rows", getFrameRows());
  f64("keep", getKeep());
  i64("key_rows_bound", getKeyRowsBound());
  i64("kv_chunk", getKvChunk());
  i64("layer", getLayer());
  if (!getPolicy().empty())
    entries.push_back(b.getNamedAttr("policy", b.getStringAttr(getPolicy())));
  i64("q_chunk", getQChunk());
  f64("recent", getRecent());
  i64("scratch_bytes", getScratchBytes());
  i64("score_bytes", getScoreBytes());
  i64("total_bytes", getTotalBytes());
  i64("unbounded_bytes", getUnboundedBytes());
  i64("workers", getWorkers());
  i64("working_set_bytes", getWorkingSetBytes());
  return b.getDictionaryAttr(entries);
}

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

/// bank_append's `policy(random)`, absent for the default (adacm2).
static ParseResult parseBankPolicy(OpAsmParser &parser,
                                   BankPolicyAttr &policy) {
  if (failed(parser.parseOptionalKeyword("policy")))
    return success();
  if (parser.parseLParen())
    return failure();
  Attribute parsed = BankPolicyAttr::parse(parser, Type());
  if (!parsed)
    return failure();
  policy = cast<BankPolicyAttr>(parsed);
  return parser.parseRParen();
}

static void printBankPolicy(OpAsmPrinter &printer, Operation *,
                            BankPolicyAttr policy) {
  if (policy && policy.getValue() != BankPolicy::adacm2)
    printer << " policy(" << stringifyBankPolicy(policy.getValue()) << ")";
}

/// Two static sizes disagree (dynamic sizes agree with anything).
static bool sizesConflict(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

/// All operands tensors (one result of the init type) or all memrefs (none).
static LogicalResult verifyDps(Operation *op, Value init, ResultRange results) {
  if (failed(verifyDpsKernelForm(op, init, results)))
    return failure();
  for (Value v : op->getOperands())
    if (!cast<ShapedType>(v.getType()).getElementType().isF32())
      return op->emitOpError("expects f32 operands, got ") << v.getType();
  return success();
}

/// The token-selection attributes shared by cross_modal_reduce and
/// bank_append: fractions in (0, 1] and a finite, non-zero score scale.
static LogicalResult verifySelection(Operation *op, APFloat recentAttr,
                                     APFloat keepAttr, APFloat scaleAttr) {
  double recent = recentAttr.convertToDouble();
  double keep = keepAttr.convertToDouble();
  if (!(recent > 0.0 && recent <= 1.0))
    return op->emitOpError("expects the recent fraction in (0, 1], got ")
           << recent;
  if (!(keep > 0.0 && keep <= 1.0))
    return op->emitOpError("expects the keep fraction in (0, 1], got ") << keep;
  float scale = scaleAttr.convertToFloat();
  if (!std::isfinite(scale) || scale == 0.0f)
    return op->emitOpError("expects a finite, non-zero scale, got ") << scale;
  return success();
}

static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (i)
      s += ", ";
    s += ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
  }
  return s + "]";
}

/// All operands tensors (one result per init, of its type) or all memrefs
/// (no results), f32.
static LogicalResult verifyMultiInitDps(Operation *op, ValueRange inits,
                                        ResultRange results) {
  bool buffers = isa<MemRefType>(inits.front().getType());
  for (Value v : op->getOperands()) {
    if (isa<MemRefType>(v.getType()) != buffers)
      return op->emitOpError("expects all operands to be tensors or all to be "
                             "memrefs");
    if (!cast<ShapedType>(v.getType()).getElementType().isF32())
      return op->emitOpError("expects f32 operands, got ") << v.getType();
  }
  if (buffers && !results.empty())
    return op->emitOpError("on memrefs has no results");
  if (!buffers && (results.size() != inits.size() ||
                   !llvm::equal(results.getTypes(), inits.getTypes())))
    return op->emitOpError("on tensors returns one result per init, of the "
                           "inits' types ")
           << inits.getTypes();
  return success();
}

/// Memory effects of a multi-init kernel in its memref form: reads every
/// operand, writes the inits.
static void getMultiInitEffects(
    Operation *op, ValueRange inits,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  if (!isa<MemRefType>(inits.front().getType()))
    return;
  for (OpOperand &operand : op->getOpOperands()) {
    effects.emplace_back(MemoryEffects::Read::get(), &operand,
                         SideEffects::DefaultResource::get());
    if (llvm::is_contained(inits, operand.get()))
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

/// `t` is [lead..., rows, cols] with the leading sizes of `lead` (dynamic
/// sizes agree with anything).
static bool matchesShape(ShapedType t, ShapedType lead, int64_t rows,
                         int64_t cols) {
  int64_t rank = lead.getRank();
  if (t.getRank() != rank)
    return false;
  for (int64_t d = 0; d < rank - 2; ++d)
    if (sizesConflict(t.getDimSize(d), lead.getDimSize(d)))
      return false;
  return !sizesConflict(t.getDimSize(rank - 2), rows) &&
         !sizesConflict(t.getDimSize(rank - 1), cols);
}

/// The row statistic [lead..., Lq] of attention with query type `qt`.
static bool isRowStatistic(ShapedType t, ShapedType qt) {
  int64_t rank = qt.getRank();
  if (t.getRank() != rank - 1)
    return false;
  for (int64_t d = 0; d < rank - 1; ++d)
    if (sizesConflict(t.getDimSize(d), qt.getDimSize(d)))
      return false;
  return true;
}

/// Shapes of attention: q [..., Lq, D], k [..., Lk, D], v [..., Lk, Dv],
/// init [..., Lq, Dv], biases broadcastable to [..., Lq, Lk], and the
/// optional log-sum-exp init [..., Lq].
static LogicalResult verifyAttention(Operation *op, Value q, Value k, Value v,
                                     ValueRange biases, Value init, Value lse,
                                     ResultRange results, float scale) {
  SmallVector<Value> inits = {init};
  if (lse)
    inits.push_back(lse);
  if (failed(verifyMultiInitDps(op, inits, results)))
    return failure();
  auto qt = cast<ShapedType>(q.getType());
  auto kt = cast<ShapedType>(k.getType());
  auto vt = cast<ShapedType>(v.getType());
  auto ot = cast<ShapedType>(init.getType());
  int64_t rank = qt.getRank();
  if (rank < 2 || rank > 5)
    return op->emitOpError("expects query of rank 2 to 5 ([..., Lq, D]), got ")
           << qt;
  for (auto [name, t] : {std::pair<StringRef, ShapedType>{"key", kt},
                         {"value", vt},
                         {"init", ot}})
    if (t.getRank() != rank)
      return op->emitOpError("expects ")
             << name << " of the query's rank " << rank << ", got " << t;
  for (int64_t d = 0; d < rank - 2; ++d)
    if (sizesConflict(qt.getDimSize(d), kt.getDimSize(d)) ||
        sizesConflict(qt.getDimSize(d), vt.getDimSize(d)) ||
        sizesConflict(qt.getDimSize(d), ot.getDimSize(d)))
      return op->emitOpError("expects the same batch dimensions on query, "
                             "key, value and init, got ")
             << qt << ", " << kt << ", " << vt << " and " << ot;
  int64_t lq = qt.getDimSize(rank - 2), lk = kt.getDimSize(rank - 2);
  if (sizesConflict(qt.getDimSize(rank - 1), kt.getDimSize(rank - 1)))
    return op->emitOpError("expects query and key of the same head width, "
                           "got ")
           << qt << " and " << kt;
  if (sizesConflict(vt.getDimSize(rank - 2), lk))
    return op->emitOpError("expects one value row per key row, got ")
           << kt << " and " << vt;
  if (sizesConflict(ot.getDimSize(rank - 2), lq) ||
      sizesConflict(ot.getDimSize(rank - 1), vt.getDimSize(rank - 1)))
    return op->emitOpError("expects init of shape [..., Lq, Dv] = [..., ")
           << (ShapedType::isDynamic(lq) ? "?" : std::to_string(lq)) << ", "
           << (ShapedType::isDynamic(vt.getDimSize(rank - 1))
                   ? "?"
                   : std::to_string(vt.getDimSize(rank - 1)))
           << "], got " << ot;
  if (biases.size() > 2)
    return op->emitOpError("expects at most two biases, got ") << biases.size();
  SmallVector<int64_t> scores(qt.getShape().drop_back(2));
  scores.push_back(lq);
  scores.push_back(lk);
  for (Value bias : biases) {
    auto bt = cast<ShapedType>(bias.getType());
    bool ok = bt.getRank() == rank;
    for (int64_t d = 0; ok && d < rank; ++d)
      ok = bt.getDimSize(d) == 1 || !sizesConflict(bt.getDimSize(d), scores[d]);
    if (!ok)
      return op->emitOpError("expects each bias to broadcast to the score "
                             "shape ")
             << shapeString(scores) << " (same rank, each size equal or 1), "
             << "got " << bt;
  }
  if (lse && !isRowStatistic(cast<ShapedType>(lse.getType()), qt))
    return op->emitOpError("expects the log-sum-exp of shape [..., Lq] (the "
                           "query's shape without its last dimension), got ")
           << lse.getType();
  if (!std::isfinite(scale) || scale == 0.0f)
    return op->emitOpError("expects a finite, non-zero scale, got ") << scale;
  return success();
}

template <typename OpTy> static int64_t batchSizeOf(OpTy op) {
  auto qt = cast<ShapedType>(op.getQuery().getType());
  int64_t n = 1;
  for (int64_t d : qt.getShape().drop_back(2)) {
    if (ShapedType::isDynamic(d))
      return ShapedType::kDynamic;
    n *= d;
  }
  return n;
}

template <typename OpTy> static FailureOr<int64_t> scoreBytesOf(OpTy op) {
  int64_t b = op.getBatchSize(), lq = op.getQueryLength(),
          lk = op.getKeyLength();
  if (ShapedType::isDynamic(b) || ShapedType::isDynamic(lq) ||
      ShapedType::isDynamic(lk))
    return failure();
  return b * lq * lk * 4;
}

/// 2·Lq·Lk·D (scores) + 2·Lq·Lk·Dv (P·V) + 5·Lq·Lk (scale, biases, max,
/// exp, sum: the softmax counted as linalg.softmax is) per batch element.
template <typename OpTy> static FailureOr<int64_t> attentionFlops(OpTy op) {
  int64_t b = op.getBatchSize(), lq = op.getQueryLength(),
          lk = op.getKeyLength(), d = op.getHeadDim(), dv = op.getValueDim();
  for (int64_t s : {b, lq, lk, d, dv})
    if (ShapedType::isDynamic(s))
      return failure();
  int64_t perScore =
      2 * d + 2 * dv + 5 + static_cast<int64_t>(op.getBiases().size());
  return b * lq * lk * perScore;
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  return verifyAttention(*this, getQuery(), getKey(), getValue(), getBiases(),
                         getInit(), getLse(), getResult(),
                         getScale().convertToFloat());
}

int64_t AttentionOp::getBatchSize() { return batchSizeOf(*this); }
FailureOr<int64_t> AttentionOp::getScoreBytes() { return scoreBytesOf(*this); }
FailureOr<int64_t> AttentionOp::getFlopCount() { return attentionFlops(*this); }

void AttentionOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getMultiInitEffects(*this, getDpsInits(), effects);
}

//===----------------------------------------------------------------------===//
// ChunkedAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult ChunkedAttentionOp::verify() {
  if (getQChunkSize() <= 0 || getKvChunkSize() <= 0)
    return emitOpError("expects positive chunk sizes, got (")
           << getQChunkSize() << ", " << getKvChunkSize() << ")";
  return verifyAttention(*this, getQuery(), getKey(), getValue(), getBiases(),
                         getInit(), getLse(), getResult(),
                         getScale().convertToFloat());
}

int64_t ChunkedAttentionOp::getBatchSize() { return batchSizeOf(*this); }
FailureOr<int64_t> ChunkedAttentionOp::getScoreBytes() {
  return scoreBytesOf(*this);
}
FailureOr<int64_t> ChunkedAttentionOp::getFlopCount() {
  return attentionFlops(*this);
}

void ChunkedAttentionOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getMultiInitEffects(*this, getDpsInits(), effects);
}

//===----------------------------------------------------------------------===//
// AttentionGradOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionGradOp::verify() {
  if (getQChunkSize() < 0 || getKvChunkSize() < 0)
    return emitOpError("expects chunk sizes >= 0 (0: the runtime's), got (")
           << getQChunkSize() << ", " << getKvChunkSize() << ")";
  SmallVector<Value> inits = getDpsInits();
  if (failed(verifyMultiInitDps(*this, inits, getResult())))
    return failure();
  // The forward's shapes (query, key, value, biases, out as its init).
  auto qt = cast<ShapedType>(getQuery().getType());
  auto kt = cast<ShapedType>(getKey().getType());
  auto vt = cast<ShapedType>(getValue().getType());
  int64_t rank = qt.getRank();
  if (rank < 2 || rank > 5)
    return emitOpError("expects query of rank 2 to 5 ([..., Lq, D]), got ")
           << qt;
  if (kt.getRank() != rank || vt.getRank() != rank)
    return emitOpError("expects key and value of the query's rank ")
           << rank << ", got " << kt << " and " << vt;
  int64_t lq = qt.getDimSize(rank - 2), d = qt.getDimSize(rank - 1);
  int64_t lk = kt.getDimSize(rank - 2), dv = vt.getDimSize(rank - 1);
  if (!matchesShape(kt, qt, lk, d) || !matchesShape(vt, qt, lk, dv))
    return emitOpError("expects key [..., Lk, D] and value [..., Lk, Dv] "
                       "with the query's batch dimensions and head width, "
                       "got ")
           << qt << ", " << kt << " and " << vt;
  for (auto [name, v, rows, cols] :
       {std::tuple<StringRef, Value, int64_t, int64_t>{"out", getOut(), lq, dv},
        {"out_grad", getOutGrad(), lq, dv},
        {"query_grad", getQueryGrad(), lq, d},
        {"key_grad", getKeyGrad(), lk, d},
        {"value_grad", getValueGrad(), lk, dv}})
    if (!matchesShape(cast<ShapedType>(v.getType()), qt, rows, cols))
      return emitOpError("expects ")
             << name << " of shape [..., "
             << (ShapedType::isDynamic(rows) ? "?" : std::to_string(rows))
             << ", "
             << (ShapedType::isDynamic(cols) ? "?" : std::to_string(cols))
             << "] with the query's batch dimensions, got " << v.getType();
  if (!isRowStatistic(cast<ShapedType>(getLse().getType()), qt))
    return emitOpError("expects the log-sum-exp of shape [..., Lq] (the "
                       "query's shape without its last dimension), got ")
           << getLse().getType();
  if (getBiases().size() > 2)
    return emitOpError("expects at most two biases, got ")
           << getBiases().size();
  SmallVector<int64_t> scores(qt.getShape().drop_back(2));
  scores.push_back(lq);
  scores.push_back(lk);
  for (Value bias : getBiases()) {
    auto bt = cast<ShapedType>(bias.getType());
    bool ok = bt.getRank() == rank;
    for (int64_t dim = 0; ok && dim < rank; ++dim)
      ok = bt.getDimSize(dim) == 1 ||
           !sizesConflict(bt.getDimSize(dim), scores[dim]);
    if (!ok)
      return emitOpError("expects each bias to broadcast to the score shape ")
             << shapeString(scores) << " (same rank, each size equal or 1), "
             << "got " << bt;
  }
  SmallVector<int64_t> which = getBiasGradIndices();
  if (which.size() != getBiasGrads().size())
    return emitOpError("lists ") << which.size() << " bias indices for "
                                 << getBiasGrads().size() << " bias gradients";
  for (auto [pos, i] : llvm::enumerate(which)) {
    if (i < 0 || i >= static_cast<int64_t>(getBiases().size()) ||
        (pos > 0 && i <= which[pos - 1]))
      return emitOpError("expects increasing bias indices below the number "
                         "of biases (")
             << getBiases().size() << "), got " << i;
    Type biasType = getBiases()[i].getType();
    Type gradType = getBiasGrads()[pos].getType();
    if (cast<ShapedType>(biasType).getShape() !=
        cast<ShapedType>(gradType).getShape())
      return emitOpError("expects the gradient of bias ")
             << i << " to have its shape " << biasType << ", got " << gradType;
  }
  float scale = getScale().convertToFloat();
  if (!std::isfinite(scale) || scale == 0.0f)
    return emitOpError("expects a finite, non-zero scale, got ") << scale;
  return success();
}

/// Per score: the recomputed Q·Kᵀ (2·D), dV (2·Dv), dO·Vᵀ (2·Dv), dQ and
/// dK (2·D each), and about six element-wise ops (biases, exp, ds, the
/// bias gradients).
FailureOr<int64_t> AttentionGradOp::getFlopCount() {
  auto qt = cast<ShapedType>(getQuery().getType());
  auto kt = cast<ShapedType>(getKey().getType());
  auto vt = cast<ShapedType>(getValue().getType());
  if (!qt.hasStaticShape() || !kt.hasStaticShape() || !vt.hasStaticShape())
    return failure();
  int64_t rank = qt.getRank();
  int64_t batch = 1;
  for (int64_t s : qt.getShape().drop_back(2))
    batch *= s;
  int64_t lq = qt.getDimSize(rank - 2), d = qt.getDimSize(rank - 1),
          lk = kt.getDimSize(rank - 2), dv = vt.getDimSize(rank - 1);
  int64_t perScore =
      6 * d + 4 * dv + 4 +
      static_cast<int64_t>(getBiases().size() + getBiasGrads().size());
  return batch * lq * lk * perScore;
}

void AttentionGradOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getMultiInitEffects(*this, getDpsInits(), effects);
}

//===----------------------------------------------------------------------===//
// CrossModalReduceOp
//===----------------------------------------------------------------------===//

int64_t CrossModalReduceOp::getKeptCount(int64_t n, double recent,
                                         double keep) {
  // The small epsilon keeps 0.1 * 320 = 32 (not 33) despite rounding.
  auto ceilFrac = [](double f, int64_t m) {
    return std::min<int64_t>(
        m, static_cast<int64_t>(std::ceil(f * static_cast<double>(m) - 1e-9)));
  };
  int64_t r = ceilFrac(recent, n);
  return r + ceilFrac(keep, n - r);
}

LogicalResult CrossModalReduceOp::verify() {
  if (failed(verifyDps(*this, getInit(), getResult())))
    return failure();
  if (failed(verifySelection(*this, getRecent(), getKeep(), getScale())))
    return failure();
  double recent = getRecent().convertToDouble();
  double keep = getKeep().convertToDouble();
  auto qt = cast<ShapedType>(getQueries().getType());
  auto kt = cast<ShapedType>(getKeys().getType());
  auto tt = cast<ShapedType>(getTokens().getType());
  auto ot = cast<ShapedType>(getInit().getType());
  if (qt.getRank() != 3 || kt.getRank() != 3)
    return emitOpError("expects queries [H, Lq, D] and keys [H, N, D], got ")
           << qt << " and " << kt;
  if (tt.getRank() != 2 || ot.getRank() != 2)
    return emitOpError("expects tokens [N, C] and init [M, C], got ")
           << tt << " and " << ot;
  if (sizesConflict(qt.getDimSize(0), kt.getDimSize(0)) ||
      sizesConflict(qt.getDimSize(2), kt.getDimSize(2)))
    return emitOpError("expects queries and keys with the same heads and "
                       "head width, got ")
           << qt << " and " << kt;
  int64_t n = tt.getDimSize(0);
  if (sizesConflict(kt.getDimSize(1), n))
    return emitOpError("expects one key per cached token, got ")
           << kt << " for tokens " << tt;
  if (sizesConflict(ot.getDimSize(1), tt.getDimSize(1)))
    return emitOpError("expects init with the tokens' width, got ")
           << ot << " for tokens " << tt;
  if (!ShapedType::isDynamic(n) && n <= 0)
    return emitOpError("expects at least one cached token");
  if (!ShapedType::isDynamic(n)) {
    int64_t m = getKeptCount(n, recent, keep);
    if (sizesConflict(ot.getDimSize(0), m))
      return emitOpError("keeps ")
             << m << " of " << n << " tokens (recent " << recent << ", keep "
             << keep << "), but init has " << ot.getDimSize(0) << " rows";
  }
  return success();
}

FailureOr<int64_t> CrossModalReduceOp::getFlopCount() {
  auto qt = cast<ShapedType>(getQueries().getType());
  auto kt = cast<ShapedType>(getKeys().getType());
  if (!qt.hasStaticShape() || !kt.hasStaticShape())
    return failure();
  int64_t h = qt.getDimSize(0), lq = qt.getDimSize(1), d = qt.getDimSize(2),
          n = kt.getDimSize(1);
  // Scores, softmax (as linalg.softmax: 5 per element) and the column sum.
  return h * lq * n * (2 * d + 6);
}

void CrossModalReduceOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getDpsKernelEffects(*this, getInit(), effects);
}

//===----------------------------------------------------------------------===//
// BankAppendOp
//===----------------------------------------------------------------------===//

LogicalResult BankAppendOp::verify() {
  auto bankType = cast<ShapedType>(getBank().getType());
  bool buffers = isa<MemRefType>(bankType);
  for (Value v : {getFrame(), getQueries(), getBank()}) {
    if (isa<MemRefType>(v.getType()) != buffers)
      return emitOpError("expects frame, queries and bank all tensors or all "
                         "memrefs");
    if (!cast<ShapedType>(v.getType()).getElementType().isF32())
      return emitOpError("expects f32 operands, got ") << v.getType();
  }
  if (buffers && !getResult().empty())
    return emitOpError("on memrefs returns only the new count");
  if (!buffers &&
      (getResult().size() != 1 || getResult().front().getType() != bankType))
    return emitOpError("on tensors returns the new bank of the bank's type ")
           << bankType << " and the new count";
  if (failed(verifySelection(*this, getRecent(), getKeep(), getScale())))
    return failure();
  if ((getPolicy() == BankPolicy::random) != static_cast<bool>(getStep()))
    return emitOpError(getStep() ? "takes a step only with policy random"
                                 : "with policy random needs a step "
                                   "(the draw's key, e.g. the frame index)");
  double recent = getRecent().convertToDouble();
  double keep = getKeep().convertToDouble();
  auto ft = cast<ShapedType>(getFrame().getType());
  auto qt = cast<ShapedType>(getQueries().getType());
  if (bankType.getRank() != 2 || !bankType.hasStaticShape())
    return emitOpError("expects a static bank [capacity, C], got ") << bankType;
  if (ft.getRank() != 2 || !ft.hasStaticShape())
    return emitOpError("expects a static frame [F, C], got ") << ft;
  if (ft.getDimSize(1) != bankType.getDimSize(1))
    return emitOpError("expects frame rows as wide as the bank's, got ")
           << ft << " for bank " << bankType;
  if (qt.getRank() != 2 && qt.getRank() != 3)
    return emitOpError("expects queries [Lq, D] or [H, Lq, D], got ") << qt;
  int64_t heads = qt.getRank() == 3 ? qt.getDimSize(0) : 1;
  int64_t d = qt.getDimSize(qt.getRank() - 1);
  if (!ShapedType::isDynamic(heads) && !ShapedType::isDynamic(d) &&
      heads * d > bankType.getDimSize(1))
    return emitOpError("expects the queries' heads x width (")
           << heads << " x " << d << ") to fit in a bank row of "
           << bankType.getDimSize(1) << " columns (the rows' keys)";
  int64_t cap = bankType.getDimSize(0), f = ft.getDimSize(0);
  if (cap <= 0 || f <= 0)
    return emitOpError("expects a non-empty bank and frame, got ")
           << bankType << " and " << ft;
  if (f > cap)
    return emitOpError("cannot append a frame of ")
           << f << " rows to a bank of capacity " << cap;
  int64_t kept = CrossModalReduceOp::getKeptCount(cap + f, recent, keep);
  if (kept > cap)
    return emitOpError("keeps ")
           << kept << " of the " << cap + f
           << " rows of a full bank plus a frame (recent " << recent
           << ", keep " << keep << "), more than the capacity " << cap
           << "; lower the fractions or raise the capacity";
  return success();
}

int64_t BankAppendOp::getScratchBytes(int64_t rows, int64_t frameRows,
                                      int64_t width, BankPolicy policy) {
  switch (policy) {
  case BankPolicy::recent:
    return 0;
  case BankPolicy::merge:
    return 24 * rows + 4 * frameRows * width;
  case BankPolicy::adacm2:
  case BankPolicy::random:
    return 21 * rows;
  }
  llvm_unreachable("unknown bank policy");
}

/// The reduction on a full bank (capacity + F rows): an upper bound, since
/// appends that fit only copy.
FailureOr<int64_t> BankAppendOp::getFlopCount() {
  auto qt = cast<ShapedType>(getQueries().getType());
  if (!qt.hasStaticShape())
    return failure();
  int64_t heads = qt.getRank() == 3 ? qt.getDimSize(0) : 1;
  int64_t lq = qt.getDimSize(qt.getRank() - 2);
  int64_t d = qt.getDimSize(qt.getRank() - 1);
  int64_t n = getCapacity() + getFrameRows();
  return heads * lq * n * (2 * d + 6);
}

void BankAppendOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getDpsKernelEffects(*this, getBank(), effects);
}

#define GET_OP_CLASSES
#include "lathe/Dialect/MemRed/MemRedOps.cpp.inc"

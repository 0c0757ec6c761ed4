//===- MergeSiblingMatmuls.cpp - One matmul for projections of one input --===//
//
// The Q, K and V projections of attention read one activation with three
// constant weights: one matmul with the weights concatenated along N reads
// (and in bf16 converts) the activation once and gives oneDNN a wider
// product. Each output column is the same dot product as before.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cstring>

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPUMERGESIBLINGMATMULS
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// A static-shape f32 constant read whole, or through a static unit-stride
/// rank-preserving tensor.extract_slice of one.
struct ConstantRead {
  Value source;
  ElementsAttr attr;
  SmallVector<int64_t> offsets, sizes;
};

static std::optional<ConstantRead> matchConstantRead(Value value,
                                                     int64_t rank) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || type.getRank() != rank || !type.hasStaticShape() ||
      !type.getElementType().isF32())
    return std::nullopt;
  ConstantRead read;
  read.offsets.assign(rank, 0);
  read.sizes.assign(type.getShape().begin(), type.getShape().end());
  if (auto slice = value.getDefiningOp<tensor::ExtractSliceOp>()) {
    if (slice.getSourceType().getRank() != rank ||
        !slice.getSourceType().hasStaticShape() ||
        ShapedType::isDynamicShape(slice.getStaticOffsets()) ||
        ShapedType::isDynamicShape(slice.getStaticSizes()) ||
        llvm::any_of(slice.getStaticStrides(),
                     [](int64_t s) { return s != 1; }))
      return std::nullopt;
    read.offsets.assign(slice.getStaticOffsets().begin(),
                        slice.getStaticOffsets().end());
    read.sizes.assign(slice.getStaticSizes().begin(),
                      slice.getStaticSizes().end());
    value = slice.getSource();
  }
  if (!matchPattern(value, m_Constant(&read.attr)) ||
      !isa<DenseElementsAttr, DenseResourceElementsAttr>(read.attr))
    return std::nullopt;
  read.source = value;
  return read;
}

/// The row-major values `read` takes from its constant (rank 1 or 2), or
/// nothing if the constant's data cannot be read.
static std::optional<std::vector<float>> readValues(const ConstantRead &read) {
  auto type = cast<ShapedType>(read.attr.getType());
  int64_t total = type.getNumElements();
  std::vector<float> all;
  if (auto dense = dyn_cast<DenseElementsAttr>(read.attr)) {
    auto values = dense.getValues<float>();
    all.assign(values.begin(), values.end());
  } else {
    AsmResourceBlob *blob =
        cast<DenseResourceElementsAttr>(read.attr).getRawHandle().getBlob();
    if (!blob || blob->getData().size() != static_cast<size_t>(total) * 4)
      return std::nullopt;
    all.resize(total);
    std::memcpy(all.data(), blob->getData().data(), total * 4);
  }
  if (type.getRank() == 1)
    return std::vector<float>(all.begin() + read.offsets[0],
                              all.begin() + read.offsets[0] + read.sizes[0]);
  int64_t cols = type.getDimSize(1);
  std::vector<float> out;
  out.reserve(read.sizes[0] * read.sizes[1]);
  for (int64_t i = 0; i < read.sizes[0]; ++i) {
    auto row = all.begin() + (read.offsets[0] + i) * cols + read.offsets[1];
    out.insert(out.end(), row, row + read.sizes[1]);
  }
  return out;
}

/// Whether readValues can read `read`'s constant.
static bool readable(const ConstantRead &read) {
  if (isa<DenseElementsAttr>(read.attr))
    return true;
  AsmResourceBlob *blob =
      cast<DenseResourceElementsAttr>(read.attr).getRawHandle().getBlob();
  int64_t total = cast<ShapedType>(read.attr.getType()).getNumElements();
  return blob && blob->getData().size() == static_cast<size_t>(total) * 4;
}

/// What a member of a merge group reads besides the shared lhs.
struct Member {
  MatmulOp op;
  ConstantRead weight;
  std::optional<ConstantRead> bias;
  int64_t n;
};

/// `op` as a member of a merge group, or nothing if it cannot be one.
static std::optional<Member> asMember(MatmulOp op) {
  if (op.hasPureBufferSemantics() || op.getResidual() || op.getLhsPerm() ||
      op.getRhsPerm() || op.getInitPerm() || op->getNumResults() != 1 ||
      op->hasAttr("lathe.int8_input_range"))
    return std::nullopt;
  auto resultType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  auto lhsType = dyn_cast<RankedTensorType>(op.getLhs().getType());
  if (!resultType || !lhsType || !resultType.hasStaticShape() ||
      !lhsType.hasStaticShape() || !resultType.getElementType().isF32() ||
      !lhsType.getElementType().isF32() || resultType.getRank() < 2)
    return std::nullopt;
  // The weight must be this matmul's alone: a weight read elsewhere too
  // would be kept twice.
  if (!op.getRhs().hasOneUse())
    return std::nullopt;
  std::optional<ConstantRead> weight = matchConstantRead(op.getRhs(), 2);
  if (!weight)
    return std::nullopt;
  int64_t n = resultType.getShape().back();
  if (weight->sizes[op.getTransposeRhs() ? 0 : 1] != n)
    return std::nullopt;
  Member member{op, *weight, std::nullopt, n};
  if (Value bias = op.getBias()) {
    member.bias = matchConstantRead(bias, 1);
    if (!member.bias || member.bias->sizes[0] != n)
      return std::nullopt;
  }
  return member;
}

/// Whether `a` and `b` compute the same kind of product of one lhs.
static bool compatible(const Member &a, const Member &b) {
  MatmulOp x = a.op, y = b.op;
  int64_t kx = a.weight.sizes[x.getTransposeRhs() ? 1 : 0];
  int64_t ky = b.weight.sizes[y.getTransposeRhs() ? 1 : 0];
  auto tx = cast<RankedTensorType>(x->getResult(0).getType());
  auto ty = cast<RankedTensorType>(y->getResult(0).getType());
  return x.getLhs() == y.getLhs() && x->getBlock() == y->getBlock() &&
         x.getTransposeLhs() == y.getTransposeLhs() &&
         x.getTransposeRhs() == y.getTransposeRhs() &&
         x.getActivation() == y.getActivation() &&
         x.getAlpha() == y.getAlpha() &&
         a.bias.has_value() == b.bias.has_value() && kx == ky &&
         tx.getShape().drop_back() == ty.getShape().drop_back();
}

/// Reads of one constant that, in order, tile it whole along `dim`.
static bool tilesWhole(ArrayRef<const ConstantRead *> reads, unsigned dim) {
  Value source = reads.front()->source;
  auto type = cast<ShapedType>(source.getType());
  int64_t next = 0;
  for (const ConstantRead *read : reads) {
    if (read->source != source)
      return false;
    for (unsigned d = 0; d < read->offsets.size(); ++d) {
      if (d == dim)
        continue;
      if (read->offsets[d] != 0 || read->sizes[d] != type.getDimSize(d))
        return false;
    }
    if (read->offsets[dim] != next)
      return false;
    next += read->sizes[dim];
  }
  return next == type.getDimSize(dim);
}

/// The reads (all readable) concatenated along `dim`: their constant itself
/// where they tile it in order, else a new constant.
static Value concatenate(PatternRewriter &rewriter, Location loc,
                         ArrayRef<const ConstantRead *> reads, unsigned dim,
                         ArrayRef<int64_t> shape) {
  if (tilesWhole(reads, dim))
    return reads.front()->source;
  std::vector<std::vector<float>> parts;
  for (const ConstantRead *read : reads)
    parts.push_back(*readValues(*read));
  std::vector<float> out;
  out.reserve(shape[0] * (shape.size() == 2 ? shape[1] : 1));
  if (shape.size() == 1 || dim == 0) {
    for (const std::vector<float> &part : parts)
      out.insert(out.end(), part.begin(), part.end());
  } else {
    for (int64_t row = 0; row < shape[0]; ++row)
      for (auto [read, part] : llvm::zip(reads, parts)) {
        int64_t cols = read->sizes[1];
        out.insert(out.end(), part.begin() + row * cols,
                   part.begin() + (row + 1) * cols);
      }
  }
  auto type = RankedTensorType::get(shape, rewriter.getF32Type());
  return arith::ConstantOp::create(
      rewriter, loc, DenseElementsAttr::get(type, ArrayRef<float>(out)));
}

/// lathe.matmul ops that share their lhs and read constant weights of one K
/// with the same epilogue -> one matmul over the concatenated weights and a
/// tensor.extract_slice per original result. Rooted at the group's first
/// member in its block.
struct MergeSiblingMatmuls : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<Member> first = asMember(op);
    if (!first)
      return rewriter.notifyMatchFailure(op, "not a constant-weight product");
    SmallVector<Member, 3> group{*first};
    for (Operation *user : op.getLhs().getUsers()) {
      auto sibling = dyn_cast<MatmulOp>(user);
      if (!sibling || sibling == op || sibling.getLhs() != op.getLhs() ||
          llvm::any_of(group, [&](const Member &m) { return m.op == sibling; }))
        continue;
      std::optional<Member> member = asMember(sibling);
      if (!member || !compatible(*first, *member))
        continue;
      if (sibling->isBeforeInBlock(op))
        return rewriter.notifyMatchFailure(op, "not the group's first member");
      group.push_back(*member);
    }
    if (group.size() < 2)
      return rewriter.notifyMatchFailure(op, "no sibling to merge with");

    bool transposeRhs = op.getTransposeRhs();
    unsigned nDim = transposeRhs ? 0 : 1;
    // Slices of one constant go in the constant's order, so that the merged
    // weight can be that constant; others in program order.
    Value source = group.front().weight.source;
    bool oneSource = llvm::all_of(
        group, [&](const Member &m) { return m.weight.source == source; });
    llvm::sort(group, [&](const Member &a, const Member &b) {
      if (oneSource && a.weight.offsets[nDim] != b.weight.offsets[nDim])
        return a.weight.offsets[nDim] < b.weight.offsets[nDim];
      return a.op->isBeforeInBlock(b.op);
    });

    int64_t totalN = 0;
    SmallVector<const ConstantRead *> weights, biases;
    for (const Member &m : group) {
      totalN += m.n;
      weights.push_back(&m.weight);
      if (m.bias)
        biases.push_back(&*m.bias);
    }
    int64_t k = first->weight.sizes[1 - nDim];
    SmallVector<int64_t> weightShape = transposeRhs
                                           ? SmallVector<int64_t>{totalN, k}
                                           : SmallVector<int64_t>{k, totalN};

    auto isReadable = [](const ConstantRead *read) { return readable(*read); };
    if (!llvm::all_of(weights, isReadable) || !llvm::all_of(biases, isReadable))
      return rewriter.notifyMatchFailure(op, "unreadable constant data");

    Location loc = op.getLoc();
    rewriter.setInsertionPoint(op);
    Value weight = concatenate(rewriter, loc, weights, nDim, weightShape);
    Value bias;
    if (!biases.empty())
      bias = concatenate(rewriter, loc, biases, 0, {totalN});
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    SmallVector<int64_t> shape(resultType.getShape());
    shape.back() = totalN;
    Value init =
        tensor::EmptyOp::create(rewriter, loc, shape, rewriter.getF32Type());
    auto merged = MatmulOp::create(
        rewriter, loc, TypeRange{init.getType()}, op.getLhs(), weight, bias,
        /*residual=*/Value(), init, op.getTransposeLhs(), transposeRhs,
        op.getActivation());
    merged.setAlphaAttr(op.getAlphaAttr());

    int64_t rank = resultType.getRank();
    SmallVector<int64_t> offsets(rank, 0), strides(rank, 1);
    SmallVector<int64_t> sizes(resultType.getShape());
    for (const Member &m : group) {
      sizes.back() = m.n;
      auto slice = tensor::ExtractSliceOp::create(
          rewriter, loc, cast<RankedTensorType>(m.op->getResult(0).getType()),
          merged->getResult(0), getAsIndexOpFoldResult(getContext(), offsets),
          getAsIndexOpFoldResult(getContext(), sizes),
          getAsIndexOpFoldResult(getContext(), strides));
      offsets.back() += m.n;
      rewriter.replaceOp(m.op, slice.getResult());
    }
    return success();
  }
};

struct LatheCPUMergeSiblingMatmuls
    : public mlir::lathe::impl::LatheCPUMergeSiblingMatmulsBase<
          LatheCPUMergeSiblingMatmuls> {
  using Base::Base;
  void runOnOperation() override {
    unsigned before = 0, after = 0;
    getOperation()->walk([&](MatmulOp) { ++before; });
    RewritePatternSet patterns(&getContext());
    patterns.add<MergeSiblingMatmuls>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    getOperation()->walk([&](MatmulOp) { ++after; });
    numMerged += before > after ? before - after : 0;
  }
};

} // namespace

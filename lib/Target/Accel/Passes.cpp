//===- Passes.cpp - Placement, tiling and scheduling for the accelerator --===//
//
// accel-attach-device, accel-place, accel-tile and accel-schedule
// (include/lathe/Target/Accel/Passes.td). Costs come from the simulator's own
// functions (runtime/accel), so placement and simulation agree.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/Accel/Passes.h"

#include "ExecData.h"

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Interfaces/FlopsInterface.h"
#include "lathe/Interfaces/Target.h"
#include "lathe/Target/Accel/Device.h"
#include "lathe/Target/Accel/IR/AccelOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <algorithm>
#include <map>

namespace mlir {
namespace lathe {
#define GEN_PASS_DEF_ACCELATTACHDEVICE
#define GEN_PASS_DEF_ACCELPLACE
#define GEN_PASS_DEF_ACCELTILE
#define GEN_PASS_DEF_ACCELSCHEDULE
#include "lathe/Target/Accel/Passes.h.inc"
} // namespace lathe
} // namespace mlir

using namespace mlir;
using namespace mlir::lathe;
using ::lathe::accel::Device;
using ::lathe::accel::OpKind;
using SimOp = ::lathe::accel::Op;

namespace {

/// Names a type for a generic lambda (C++17 lambdas take no template
/// parameters).
template <typename T> struct Tag {
  using type = T;
};

//===----------------------------------------------------------------------===//
// What a tensor op asks of the device
//===----------------------------------------------------------------------===//

enum class WorkKind {
  None,
  View,
  Matmul,
  Softmax,
  LayerNorm,
  Elementwise,
  Reduce,
  /// A sparse graph aggregation (sparsegcn's CSR SpMM): `rows` output rows
  /// of `cols` features, `elements` = non-zeros x features multiply-adds.
  Spmm
};

struct Work {
  WorkKind kind = WorkKind::None;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  int64_t rows = 0, cols = 0;
  int64_t elements = 0;
  double ops = 1;
  SmallVector<Value> inputs;
  Value result;
  /// Positions of a product's bias and residual in `inputs` (-1: none).
  int bias = -1, residual = -1;
  /// A product split between the engines: this part's share of the rows
  /// (of the left operand, the residual and the result), of the columns
  /// (of the right operand, the bias, the residual and the result) or of
  /// the batch (attention's heads: of everything but the bias).
  double rowShare = 1, colShare = 1, batchShare = 1;
  /// A sparse aggregation's row_ptr where it is a constant (each block of
  /// output rows is then timed with its own non-zeros), else empty.
  SmallVector<int64_t> rowPtr;
  /// A gather: the position of its table in `inputs` (-1: none) and the
  /// bytes of the rows it reads (at most the table's).
  int gatherTable = -1;
  int64_t gatherBytes = 0;
  /// An input only written (an insert's destination: -1 none) and the bytes
  /// of the result written (-1: all of it).
  int writeOnly = -1;
  int64_t resultBytes = -1;
};

/// The bytes input `i` of `w` brings from HBM when it is not on chip: a
/// gather's table only the rows it reads.
int64_t inputBytesOf(const Work &w, size_t i);

/// The dimension a product is shared along between the engine kinds.
enum class SplitDim { Rows, Columns, Batch };

StringRef splitDimName(SplitDim dim) {
  return dim == SplitDim::Rows      ? "rows"
         : dim == SplitDim::Columns ? "columns"
                                    : "batch";
}

int64_t &extentOf(Work &w, SplitDim dim) {
  return dim == SplitDim::Rows ? w.m : dim == SplitDim::Columns ? w.n : w.batch;
}

/// The part of a product on one engine kind: `size` of its rows, columns or
/// batch.
Work productPart(const Work &w, int64_t size, SplitDim dim) {
  Work part = w;
  int64_t total = extentOf(part, dim);
  extentOf(part, dim) = size;
  (dim == SplitDim::Rows      ? part.rowShare
   : dim == SplitDim::Columns ? part.colShare
                              : part.batchShare) = double(size) / double(total);
  return part;
}

/// The MME's and the vector cores' parts of a product with `tpcExtent` of its
/// rows, columns or batch on the cores; the two parts cover it exactly.
std::pair<Work, Work> splitProduct(const Work &w, int64_t tpcExtent,
                                   SplitDim dim) {
  Work whole = w;
  int64_t total = extentOf(whole, dim);
  return {productPart(w, total - tpcExtent, dim),
          productPart(w, tpcExtent, dim)};
}

int64_t elementsOf(Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !shaped.hasStaticShape())
    return -1;
  return shaped.getNumElements();
}

int64_t bytesOf(Value v) {
  auto shaped = dyn_cast<ShapedType>(v.getType());
  int64_t n = elementsOf(v.getType());
  if (!shaped || n < 0)
    return 0;
  int64_t bits = shaped.getElementType().getIntOrFloatBitWidth();
  return n * std::max<int64_t>(1, bits / 8);
}

/// The sparsegcn dialect's ops are recognized by name: the accelerator
/// target does not link the dialect for this.
constexpr llvm::StringLiteral kSparseGCNDialectNamespace = "sparsegcn";

bool isTranscendental(Operation *op) {
  return isa<math::ExpOp, math::TanhOp, math::ErfOp, math::LogOp, math::SqrtOp,
             math::RsqrtOp, math::PowFOp, math::Exp2Op, math::Log1pOp,
             math::ExpM1Op>(op);
}

/// Fails (with a diagnostic) on dynamic sizes.
FailureOr<Work> describe(Operation *op) {
  Work w;
  auto tensorResult = [&]() -> Value {
    for (Value r : op->getResults())
      if (isa<RankedTensorType>(r.getType()))
        return r;
    return Value();
  };
  if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::CastOp,
          tensor::ExtractSliceOp, tensor::ReshapeOp>(op)) {
    w.kind = WorkKind::View;
    w.inputs.push_back(op->getOperand(0));
    w.result = op->getResult(0);
    return w;
  }
  if (auto ins = dyn_cast<tensor::InsertSliceOp>(op)) {
    // A copy of the source into its region of the destination (in place):
    // the source is read, the destination only ordered after (its other
    // regions' writers), the region written.
    w.result = ins.getResult();
    if (elementsOf(w.result.getType()) < 0 ||
        elementsOf(ins.getSourceType()) < 0)
      return op->emitOpError()
             << "has a dynamic shape: the accelerator target needs static "
                "shapes";
    w.kind = WorkKind::Elementwise;
    w.elements = elementsOf(ins.getSourceType());
    w.ops = 1;
    w.inputs = {ins.getSource(), ins.getDest()};
    w.writeOnly = 1;
    w.resultBytes = bytesOf(ins.getSource());
    return w;
  }
  Value result = tensorResult();
  if (!result || isa<arith::ConstantOp, tensor::EmptyOp>(op) ||
      op->hasTrait<OpTrait::ConstantLike>())
    return w;
  w.result = result;
  if (elementsOf(result.getType()) < 0)
    return op->emitOpError()
           << "has a dynamic result shape: the accelerator target needs "
              "static shapes (lathe-run --backend=accel specializes the "
              "entry to its inputs' shapes)";
  for (Value v : op->getOperands())
    if (isa<RankedTensorType>(v.getType()))
      w.inputs.push_back(v);
  // Destination operands are written, not read (except an accumulating
  // convolution's init, which stays).
  if (auto dps = dyn_cast<DestinationStyleOpInterface>(op)) {
    w.inputs.clear();
    for (OpOperand *in : dps.getDpsInputOperands())
      if (isa<RankedTensorType>(in->get().getType()))
        w.inputs.push_back(in->get());
  }
  if (auto mm = dyn_cast<mlir::lathe::MatmulOp>(op)) {
    SmallVector<int64_t, 4> sizes = mm.getProblemSizes();
    if (llvm::any_of(sizes, ShapedType::isDynamic))
      return op->emitOpError() << "has dynamic sizes";
    w.kind = WorkKind::Matmul;
    w.batch = sizes[0];
    w.m = sizes[1];
    w.n = sizes[2];
    w.k = sizes[3];
    w.inputs = {mm.getLhs(), mm.getRhs()};
    if (Value bias = mm.getBias()) {
      w.bias = static_cast<int>(w.inputs.size());
      w.inputs.push_back(bias);
    }
    if (Value residual = mm.getResidual()) {
      w.residual = static_cast<int>(w.inputs.size());
      w.inputs.push_back(residual);
    }
    return w;
  }
  if (auto conv = dyn_cast<mlir::lathe::Conv2DOp>(op)) {
    auto filter = cast<ShapedType>(conv.getFilter().getType());
    auto flopsOp = cast<FlopsOpInterface>(op);
    FailureOr<int64_t> flops = flopsOp.getFlopCount();
    if (failed(flops) || !filter.hasStaticShape())
      return op->emitOpError() << "has dynamic sizes";
    w.kind = WorkKind::Matmul;
    // Implicit GEMM: [N*OH*OW x C*KH*KW] x [C*KH*KW x F] (with a fused
    // pooling, which the accelerator pipeline does not form, the rows the
    // pooling reads, from the flop count).
    w.n = conv.isNhwc() ? filter.getDimSize(3) : filter.getDimSize(0);
    w.k = filter.getNumElements() / std::max<int64_t>(1, w.n);
    w.m = std::max<int64_t>(1, *flops / std::max<int64_t>(1, 2 * w.n * w.k));
    if (!conv.hasPool() && !conv.getInputBlock() && !conv.getOutputBlock())
      w.m = elementsOf(result.getType()) / std::max<int64_t>(1, w.n);
    w.inputs = {conv.getInput(), conv.getFilter()};
    if (Value bias = conv.getBias()) {
      w.bias = 2;
      w.inputs.push_back(bias);
    }
    return w;
  }
  if (isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op)) {
    auto type = cast<ShapedType>(result.getType());
    FailureOr<int64_t> flops = cast<FlopsOpInterface>(op).getFlopCount();
    if (failed(flops))
      return op->emitOpError() << "has dynamic sizes";
    w.kind = WorkKind::Matmul;
    w.m = type.getDimSize(type.getRank() - 2);
    w.n = type.getDimSize(type.getRank() - 1);
    w.batch = type.getRank() == 3 ? type.getDimSize(0) : 1;
    w.k = std::max<int64_t>(1, *flops / (2 * w.batch * w.m * w.n));
    return w;
  }
  if (auto softmax = dyn_cast<linalg::SoftmaxOp>(op)) {
    auto type = cast<ShapedType>(result.getType());
    w.kind = WorkKind::Softmax;
    w.cols = type.getDimSize(softmax.getDimension());
    w.rows = type.getNumElements() / std::max<int64_t>(1, w.cols);
    return w;
  }
  if (isa<mlir::lathe::LayerNormOp>(op)) {
    auto type = cast<ShapedType>(result.getType());
    w.kind = WorkKind::LayerNorm;
    w.cols = type.getDimSize(type.getRank() - 1);
    w.rows = type.getNumElements() / std::max<int64_t>(1, w.cols);
    return w;
  }
  if (isa<linalg::PoolingNchwMaxOp, linalg::PoolingNhwcMaxOp>(op)) {
    // A max over each window: one op per window element; the image and the
    // running maximum's init are read (the window operand only shapes it).
    auto dps = cast<DestinationStyleOpInterface>(op);
    Value window = dps.getDpsInputOperand(1)->get();
    int64_t windowElements = elementsOf(window.getType());
    if (windowElements < 0)
      return op->emitOpError() << "has a dynamic window";
    w.kind = WorkKind::Reduce;
    w.elements = elementsOf(result.getType()) * windowElements;
    w.ops = 1;
    w.inputs = {dps.getDpsInputOperand(0)->get(),
                dps.getDpsInitOperand(0)->get()};
    return w;
  }
  if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    double ops = 0;
    for (Operation &inner : generic.getBody()->without_terminator())
      ops += 1 + (isTranscendental(&inner) ? 4 : 0);
    w.ops = std::max(1.0, ops);
    SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
    int64_t domain = 1;
    for (int64_t r : ranges)
      domain = ShapedType::isDynamic(r) ? -1 : domain * r;
    if (domain < 0)
      return op->emitOpError() << "has dynamic loop ranges";
    w.elements = domain;
    w.kind = generic.getNumReductionLoops() ? WorkKind::Reduce
                                            : WorkKind::Elementwise;
    // A gather reads a table captured from outside the body (its rows are
    // loaded like an operand's).
    generic.getBody()->walk([&](tensor::ExtractOp extract) {
      Value table = extract.getTensor();
      if (table.getParentBlock() != generic.getBody() &&
          !llvm::is_contained(w.inputs, table)) {
        // One table element per point: the rows the ids name, at most the
        // whole table (the engine program loads the rows a tile's ids name).
        w.gatherTable = static_cast<int>(w.inputs.size());
        auto tableType = cast<ShapedType>(table.getType());
        int64_t elementBytes = std::max<int64_t>(
            1, tableType.getElementType().getIntOrFloatBitWidth() / 8);
        w.gatherBytes = std::min(bytesOf(table), w.elements * elementBytes);
        w.inputs.push_back(table);
      }
    });
    // A reduction (or a body that reads its output) starts from its init:
    // that is read too, and its producer must come first.
    if (generic.getNumDpsInits() == 1 &&
        (generic.getNumReductionLoops() ||
         !generic.getBody()
              ->getArgument(generic.getNumDpsInputs())
              .use_empty()))
      w.inputs.push_back(generic.getDpsInitOperand(0)->get());
    return w;
  }
  // Ops with no engine op: an error naming them rather than a made-up cost
  // (docs/Targets/Accel.md lists what runs).
  if (isa<mlir::lathe::RnnOp>(op))
    return op->emitOpError()
           << "has no engine op on the accelerator target (an LSTM/GRU "
              "recurrence over the sequence): run accel-expand-recurrences "
              "first (the accelerator pipeline does), which unrolls it into "
              "per-step products and gate kernels";
  if (op->getDialect() &&
      op->getDialect()->getNamespace() == kSparseGCNDialectNamespace) {
    // aggregate(row_ptr, col_idx, values, features, init) and
    // tiled_aggregate without a permutation (the same CSR operands; its
    // tile classes are the CPU kernel's): a CSR SpMM on the vector cores.
    StringRef name = op->getName().stripDialect();
    if ((name == "aggregate" || name == "tiled_aggregate") &&
        op->getNumOperands() == 5) {
      auto nnz = elementsOf(op->getOperand(1).getType());
      auto features = dyn_cast<RankedTensorType>(op->getOperand(3).getType());
      auto type = cast<RankedTensorType>(result.getType());
      if (nnz < 0 || !features || !features.hasStaticShape() ||
          type.getRank() != 2)
        return op->emitOpError() << "has dynamic sizes";
      w.kind = WorkKind::Spmm;
      w.rows = type.getDimSize(0);
      w.cols = type.getDimSize(1);
      w.elements = nnz * w.cols;
      w.ops = 2;
      w.inputs = {op->getOperand(0), op->getOperand(1), op->getOperand(2),
                  op->getOperand(3)};
      if (auto cst = op->getOperand(0).getDefiningOp<arith::ConstantOp>())
        if (auto rp = dyn_cast<DenseIntElementsAttr>(cst.getValue());
            rp && rp.getNumElements() == w.rows + 1)
          for (const APInt &x : rp.getValues<APInt>())
            w.rowPtr.push_back(x.getSExtValue());
      // Only a row_ptr that describes the non-zeros times the blocks (else
      // the average block's non-zeros, as for an unknown one).
      bool ordered =
          !w.rowPtr.empty() && w.rowPtr.front() == 0 && w.rowPtr.back() == nnz;
      for (size_t i = 1; ordered && i < w.rowPtr.size(); ++i)
        ordered = w.rowPtr[i - 1] <= w.rowPtr[i];
      if (!ordered)
        w.rowPtr.clear();
      return w;
    }
    if (name == "tiled_aggregate")
      return op->emitOpError()
             << "has a permutation (a sparse graph aggregation over a "
                "reordered adjacency): run accel-expand-reordered-aggregates "
                "first (the accelerator pipeline does), which gathers and "
                "scatters the rows by it";
    return op->emitOpError()
           << "has no engine op on the accelerator target (the accelerator "
              "pipeline lowers sparsegcn.aggregate and tiled_aggregate only)";
  }
  // Every other op with a tensor result is a copy on the vector cores.
  w.kind = WorkKind::Elementwise;
  w.elements = elementsOf(result.getType());
  w.ops = 1;
  return w;
}

//===----------------------------------------------------------------------===//
// Tiling: the engine op of one tile and how many tiles
//===----------------------------------------------------------------------===//

constexpr int64_t kMaxTiles = 1 << 16;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct Tiled {
  SimOp op;               ///< one tile
  int64_t loadBytes = 0;  ///< per tile
  int64_t storeBytes = 0; ///< per tile
};

/// `onMme`: the product runs on a matrix engine. `resident[i]`: input i is
/// already on chip. `residentOut`: the result stays on chip.
Tiled tile(const Work &w, bool onMme, const Device &d, int64_t buffers,
           ArrayRef<bool> resident, bool residentOut) {
  Tiled t;
  int64_t f = 4;
  int64_t tiles = 1;
  auto spread = [&](int64_t total) {
    return total ? ceilDiv(total, tiles) : 0;
  };
  int64_t inputBytes = 0;
  for (size_t i = 0; i < w.inputs.size(); ++i)
    if (!resident[i])
      inputBytes += inputBytesOf(w, i);
  int64_t outBytes =
      residentOut
          ? 0
          : std::llround(
                double(w.resultBytes >= 0 ? w.resultBytes : bytesOf(w.result)) *
                w.rowShare * w.colShare * w.batchShare);
  if (w.kind == WorkKind::Matmul) {
    int64_t tm = w.m, tn = w.n, tk = w.k;
    auto fits = [&](int64_t budget) {
      return buffers * (tm + tn) * tk * f + tm * tn * f <= budget;
    };
    if (onMme) {
      // Output blocks of at least the array's size where the product has
      // them (smaller ones waste passes); the reduction is split (partial
      // sums stay in the output block) before the blocks shrink below it.
      int64_t budget = d.sramBytes / 2 / std::max<int64_t>(1, d.mmeCount);
      bool found = false;
      for (int64_t x = 8 * d.mmeRows; x >= 1 && !found; x /= 2) {
        tm = std::min(w.m, x);
        tn = std::min(w.n, x);
        int64_t minK = x >= d.mmeRows ? std::min<int64_t>(w.k, 64) : w.k;
        for (tk = w.k; tk >= minK; tk = tk > 1 ? (tk + 1) / 2 : 0) {
          if (fits(budget)) {
            found = true;
            break;
          }
          if (tk == 1)
            break;
        }
      }
      if (!found)
        tk = std::min<int64_t>(w.k, 64);
    } else {
      // The output block that finishes first over all the cores (waves of
      // tiles times a tile's cycles, or the transfers when those take
      // longer): the largest block that fits a core's local memory can
      // leave most cores idle on a small product.
      int64_t best = -1, bm = 1, bn = 1;
      int64_t cores = std::max<int64_t>(1, d.tpcCount);
      for (int64_t x = std::min<int64_t>(256, w.m);; x = (x + 1) / 2) {
        for (int64_t y = std::min<int64_t>(256, w.n);; y = (y + 1) / 2) {
          tm = x;
          tn = y;
          if (fits(d.tpcLocalMemoryBytes) || (x == 1 && y == 1)) {
            SimOp probe;
            probe.kind = OpKind::TpcMatmul;
            probe.m = x;
            probe.n = y;
            probe.k = tk;
            int64_t count = w.batch * ceilDiv(w.m, x) * ceilDiv(w.n, y);
            int64_t compute =
                ceilDiv(count, cores) * ::lathe::accel::tileCycles(d, probe);
            // Operand blocks are re-read once per block of the other
            // dimension.
            int64_t bytes = outBytes;
            for (auto [i, v] : llvm::enumerate(w.inputs))
              if (!resident[i])
                bytes += bytesOf(v) * (i == 0   ? ceilDiv(w.n, y)
                                       : i == 1 ? ceilDiv(w.m, x)
                                                : 1);
            int64_t c = std::max(compute, ::lathe::accel::hbmCycles(d, bytes));
            if (best < 0 || c < best) {
              best = c;
              bm = x;
              bn = y;
            }
          }
          if (y == 1)
            break;
        }
        if (x == 1)
          break;
      }
      tm = bm;
      tn = bn;
    }
    auto count = [&] {
      return w.batch * ceilDiv(w.m, tm) * ceilDiv(w.n, tn) * ceilDiv(w.k, tk);
    };
    // At least one tile per matrix engine, so a product uses them all.
    while (onMme && count() < d.mmeCount && std::max(tm, tn) > 1) {
      if (tn >= tm)
        tn = ceilDiv(tn, 2);
      else
        tm = ceilDiv(tm, 2);
    }
    while (count() > kMaxTiles && (tm < w.m || tn < w.n)) {
      tm = std::min(w.m, tm * 2);
      tn = std::min(w.n, tn * 2);
    }
    tiles = count();
    t.op.kind = onMme ? OpKind::MmeMatmul : OpKind::TpcMatmul;
    t.op.f32 = !(onMme && d.mmeBf16);
    t.op.m = tm;
    t.op.n = tn;
    t.op.k = tk;
    // Operand blocks are read once per tile of the other dimension.
    int64_t load = 0;
    for (auto [i, v] : llvm::enumerate(w.inputs)) {
      if (resident[i])
        continue;
      int64_t b = bytesOf(v);
      // Each operand is read for this part's rows and columns only.
      int idx = static_cast<int>(i);
      double share = idx == 0        ? w.rowShare * w.batchShare
                     : idx == w.bias ? w.colShare
                     : idx == 1      ? w.colShare * w.batchShare
                     : idx == w.residual
                         ? w.rowShare * w.colShare * w.batchShare
                         : 1.0;
      b = std::llround(double(b) * share);
      if (i == 0)
        b *= ceilDiv(w.n, tn);
      else if (i == 1)
        b *= ceilDiv(w.m, tm);
      load += b;
    }
    t.op.tiles = tiles;
    t.loadBytes = spread(load);
    t.storeBytes = spread(outBytes);
    return t;
  }
  if (w.kind == WorkKind::Spmm) {
    // Blocks of output rows: each reads its rows' non-zeros (value, column
    // index), the feature row of every non-zero (a gather), and writes its
    // output rows; a block holds its share of each, double buffered.
    int64_t nnz = w.elements / std::max<int64_t>(1, w.cols);
    int64_t perRow =
        ceilDiv(nnz, std::max<int64_t>(1, w.rows)) * (4 + 8 + w.cols * f) + 8 +
        w.cols * f;
    // `onMme` asks for the device's sparse engine here (accel-place's
    // "sparse"), where it has one: it streams from the shared SRAM (a
    // share of it per block, as a matrix engine's), a vector core from its
    // local memory.
    bool sparse = onMme && d.sparseMacsPerCycle > 0;
    int64_t budget = sparse ? d.sramBytes / 2 : d.tpcLocalMemoryBytes;
    int64_t r =
        std::max<int64_t>(1, budget / std::max<int64_t>(1, buffers * perRow));
    r = std::min(r, std::max<int64_t>(1, w.rows));
    while (ceilDiv(w.rows, r) > kMaxTiles)
      r *= 2;
    tiles = std::max<int64_t>(1, ceilDiv(w.rows, r));
    t.op.kind = sparse ? OpKind::SparseSpMM : OpKind::TpcReduce;
    t.op.nnz = std::max<int64_t>(1, ceilDiv(nnz, tiles));
    t.op.cols = std::max<int64_t>(1, w.cols);
    t.op.rows = r;
    // The average block's multiply-adds; where row_ptr is known each block
    // is timed with its own non-zeros (a block of denser rows takes longer).
    t.op.elements = std::max<int64_t>(1, ceilDiv(w.elements, tiles));
    t.op.opsPerElement = w.ops;
    if (static_cast<int64_t>(w.rowPtr.size()) == w.rows + 1) {
      for (int64_t b = 0; b < tiles; ++b) {
        int64_t lo = std::min(w.rows, b * r), hi = std::min(w.rows, lo + r);
        int64_t blockNnz = w.rowPtr[hi] - w.rowPtr[lo];
        if (sparse)
          t.op.tileNnz.push_back(blockNnz);
        else
          t.op.tileElements.push_back(blockNnz * t.op.cols);
      }
    }
    // The features: loaded once where they fit half the shared SRAM (the
    // non-zeros then read them there, H-GCN's feature block), otherwise
    // the row of every non-zero from HBM.
    int64_t load = 0;
    for (auto [i, v] : llvm::enumerate(w.inputs))
      if (!resident[i])
        load += i != 3                          ? bytesOf(v)
                : bytesOf(v) <= d.sramBytes / 2 ? bytesOf(v)
                                                : nnz * w.cols * f;
    t.op.tiles = tiles;
    t.loadBytes = spread(load);
    t.storeBytes = spread(outBytes);
    return t;
  }
  int64_t streams = static_cast<int64_t>(w.inputs.size()) + 1;
  if (w.kind == WorkKind::Softmax || w.kind == WorkKind::LayerNorm) {
    int64_t rowBytes = w.cols * f;
    int64_t r =
        std::max<int64_t>(1, d.tpcLocalMemoryBytes /
                                 std::max<int64_t>(1, buffers * 2 * rowBytes));
    r = std::min(r, w.rows);
    while (ceilDiv(w.rows, r) > kMaxTiles)
      r *= 2;
    tiles = ceilDiv(w.rows, r);
    t.op.kind =
        w.kind == WorkKind::Softmax ? OpKind::TpcSoftmax : OpKind::TpcLayerNorm;
    t.op.rows = r;
    t.op.cols = w.cols;
  } else {
    int64_t e = std::max<int64_t>(
        1, d.tpcLocalMemoryBytes / std::max<int64_t>(1, buffers * streams * f));
    e = std::min(e, std::max<int64_t>(1, w.elements));
    while (ceilDiv(w.elements, e) > kMaxTiles)
      e *= 2;
    tiles = std::max<int64_t>(1, ceilDiv(w.elements, e));
    t.op.kind =
        w.kind == WorkKind::Reduce ? OpKind::TpcReduce : OpKind::TpcElementwise;
    t.op.elements = e;
    t.op.opsPerElement = w.ops;
  }
  t.op.tiles = tiles;
  t.loadBytes = spread(inputBytes);
  t.storeBytes = spread(outBytes);
  return t;
}

/// Cycles the op keeps its engine kind busy: its tiles spread over the
/// engines of that kind, or its transfers at the HBM bandwidth when those
/// take longer (they overlap the compute when double buffered).
struct Cost {
  int64_t compute = 0, transfer = 0;
  int64_t total() const { return std::max(compute, transfer); }
};

Cost costOf(const Tiled &t, const Device &d) {
  ::lathe::accel::EngineKind kind = ::lathe::accel::engineOf(t.op.kind);
  int64_t engines = kind == ::lathe::accel::EngineKind::MME      ? d.mmeCount
                    : kind == ::lathe::accel::EngineKind::Sparse ? 1
                                                                 : d.tpcCount;
  int64_t waves = ceilDiv(t.op.tiles, std::max<int64_t>(1, engines));
  int64_t compute = waves * ::lathe::accel::tileCycles(d, t.op);
  if (!t.op.tileNnz.empty() || !t.op.tileElements.empty()) {
    // Tiles of their own sizes: each, in order, on the engine free first
    // (as the simulator places them).
    SmallVector<int64_t> free(std::max<int64_t>(1, engines), 0);
    compute = 0;
    for (int64_t i = 0; i < t.op.tiles; ++i) {
      int64_t *first = std::min_element(free.begin(), free.end());
      *first += ::lathe::accel::tileCycles(d, t.op, i);
      compute = std::max(compute, *first);
    }
  }
  int64_t transfer =
      ::lathe::accel::hbmCycles(d, (t.loadBytes + t.storeBytes) * t.op.tiles);
  return {compute, transfer};
}

bool canRunOnMme(const Work &w) { return w.kind == WorkKind::Matmul; }

/// Walks the ops of `func` that occupy the device (describe() gives them
/// work), each with its work; interrupted where describe() fails (it has
/// emitted the error) or `fn` interrupts.
WalkResult walkWork(func::FuncOp func,
                    function_ref<WalkResult(Operation *, Work &)> fn) {
  return func.walk([&](Operation *op) -> WalkResult {
    if (op == func)
      return WalkResult::advance();
    FailureOr<Work> work = describe(op);
    if (failed(work))
      return WalkResult::interrupt();
    if (work->kind == WorkKind::None)
      return WalkResult::advance();
    return fn(op, *work);
  });
}

/// True when `ins` writes a region that no earlier insert of its chain
/// wrote and the chain starts from a tensor.empty (nothing else is in the
/// buffer), so it may run before them.
bool disjointFromChain(tensor::InsertSliceOp ins) {
  auto box = [](tensor::InsertSliceOp op,
                SmallVector<std::pair<int64_t, int64_t>> &out) {
    out.clear();
    for (auto [o, n] : llvm::zip(op.getStaticOffsets(), op.getStaticSizes())) {
      if (ShapedType::isDynamic(o) || ShapedType::isDynamic(n))
        return false;
      out.push_back({o, o + n});
    }
    return op.hasUnitStride();
  };
  SmallVector<std::pair<int64_t, int64_t>> mine, other;
  if (!box(ins, mine))
    return false;
  Value dest = ins.getDest();
  while (auto prev = dest.getDefiningOp<tensor::InsertSliceOp>()) {
    if (!box(prev, other))
      return false;
    bool overlap = true;
    for (auto [a, b] : llvm::zip(mine, other))
      overlap = overlap && a.first < b.second && b.first < a.second;
    if (overlap)
      return false;
    dest = prev.getDest();
  }
  return dest.getDefiningOp<tensor::EmptyOp>() != nullptr;
}

int64_t inputBytesOf(const Work &w, size_t i) {
  if (static_cast<int>(i) == w.gatherTable)
    return w.gatherBytes;
  if (static_cast<int>(i) == w.writeOnly)
    return 0;
  return bytesOf(w.inputs[i]);
}

FailureOr<Device> deviceOf(ModuleOp module, Pass &pass) {
  // The device is the `accel` table of the module's target, looked up as
  // every pass looks up its table (TargetTable); a target without it (or no
  // target: the CPU's default) has no device.
  if (!getAccelDeviceAttr(module)) {
    module.emitError() << "the module's target has no 'accel' table (no "
                          "device): run accel-attach-device{config=FILE} "
                          "first";
    return failure();
  }
  FailureOr<TargetTable> table = TargetTable::lookup(module, kAccelDeviceTable);
  if (failed(table))
    return failure();
  return accelDeviceFromAttr(table->getDictionary());
}

/// True when `v` (or a reshape or slice of it) is returned: it must end in
/// HBM.
bool escapes(Value v) {
  for (Operation *user : v.getUsers()) {
    if (isa<func::ReturnOp>(user))
      return true;
    if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::CastOp,
            tensor::ExtractSliceOp, tensor::ReshapeOp>(user) &&
        escapes(user->getResult(0)))
      return true;
  }
  return false;
}

/// A result stays on chip when it fits in a quarter of the SRAM and is not
/// returned.
bool residentResult(Value v, const Device &d) {
  // An insert writes one region of its destination's buffer, whose other
  // regions its other writers stored: it is stored too, so the buffer is
  // whole in HBM.
  if (v.getDefiningOp<tensor::InsertSliceOp>())
    return false;
  // Likewise a value an insert writes into in place: its other regions must
  // be in HBM for the insert's readers.
  for (OpOperand &use : v.getUses())
    if (auto ins = dyn_cast<tensor::InsertSliceOp>(use.getOwner());
        ins && use.get() == ins.getDest())
      return false;
  return !escapes(v) && bytesOf(v) <= d.sramBytes / 4;
}

//===----------------------------------------------------------------------===//
// accel-attach-device
//===----------------------------------------------------------------------===//

struct AttachDevice
    : public mlir::lathe::impl::AccelAttachDeviceBase<AttachDevice> {
  using Base::Base;
  void runOnOperation() override {
    if (config.empty()) {
      getOperation().emitError()
          << "accel-attach-device needs config=FILE (configs/accel/*.json)";
      return signalPassFailure();
    }
    Device device;
    std::string error;
    if (!loadAccelDevice(config, device, error)) {
      getOperation().emitError() << error;
      return signalPassFailure();
    }
    device.mmeBf16 = mmeType == AccelMmeType::BF16;
    // A device with a sparse engine also prices sparsegcn-tile's per-tile
    // choice (dense engine vs sparse engine) for itself.
    setAccelDeviceAttr(getOperation(), accelDeviceToAttr(&getContext(), device),
                       accelSparseGCNTable(&getContext(), device));
  }
};

//===----------------------------------------------------------------------===//
// accel-place
//===----------------------------------------------------------------------===//

struct Place : public mlir::lathe::impl::AccelPlaceBase<Place> {
  using Base::Base;
  void runOnOperation() override {
    FailureOr<Device> device = deviceOf(getOperation(), *this);
    if (failed(device))
      return signalPassFailure();
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      // Estimated time each value is ready and each engine kind is free.
      llvm::DenseMap<Value, int64_t> ready;
      // Values on chip (as accel-tile decides): they need no loads.
      llvm::DenseSet<Value> onChip;
      int64_t mmeFree = 0, sparseFree = 0;
      // The vector cores one by one, each a calendar of busy intervals: an op
      // of few tiles (a recurrent step's small product or gate kernel) keeps
      // only as many cores busy as it has tiles, and a later op that is
      // ready earlier (another direction's) uses the gaps it leaves.
      SmallVector<SmallVector<std::pair<int64_t, int64_t>>> cores(
          std::max<int64_t>(1, device->tpcCount));
      auto earliest = [](ArrayRef<std::pair<int64_t, int64_t>> busy, int64_t at,
                         int64_t d) {
        for (auto [s, e] : busy) {
          if (at + d <= s)
            return at;
          at = std::max(at, e);
        }
        return at;
      };
      // When an op of `tiles` tiles taking `cycles` in all (waves of tiles
      // over the cores) finishes, each tile in the earliest gap of any core
      // from `at` on, as the simulator places them; `book` keeps them.
      auto tpcFinish = [&](int64_t at, int64_t tiles, int64_t cycles,
                           bool book) {
        int64_t count = static_cast<int64_t>(cores.size());
        tiles = std::max<int64_t>(1, tiles);
        int64_t d = std::max<int64_t>(1, cycles / ceilDiv(tiles, count));
        SmallVector<SmallVector<std::pair<int64_t, int64_t>>> trial;
        auto &cal = book ? cores : (trial = cores);
        // Up to a few waves, tile by tile (a core may take several while
        // others are busy); beyond, one block of back-to-back tiles per core
        // (the waves), longest first, which bounds the work on big ops.
        SmallVector<int64_t> blocks;
        bool perTile = tiles <= 4 * count;
        int64_t waves = ceilDiv(tiles, count);
        if (perTile)
          blocks.assign(tiles, d);
        else
          for (int64_t c = 0; c < count; ++c)
            blocks.push_back(
                d * (c < tiles - (waves - 1) * count ? waves : waves - 1));
        int64_t end = at;
        SmallVector<bool> used(count, false);
        for (int64_t len : blocks) {
          int64_t best = -1, start = 0;
          for (int64_t c = 0; c < count; ++c) {
            if (used[c] && !perTile)
              continue;
            int64_t s = earliest(cal[c], at, len);
            if (best < 0 || s < start) {
              best = c;
              start = s;
            }
          }
          used[best] = true;
          auto &busy = cal[best];
          busy.insert(
              llvm::upper_bound(busy, std::make_pair(start, start + len)),
              {start, start + len});
          end = std::max(end, start + len);
        }
        return end;
      };
      WalkResult walk = walkWork(func, [&](Operation *op, Work &work) {
        int64_t at = 0;
        for (Value v : work.inputs)
          at = std::max(at, ready.lookup(v));
        if (work.kind == WorkKind::View) {
          ready[work.result] = at;
          if (onChip.contains(work.inputs.front()))
            onChip.insert(work.result);
          return WalkResult::advance();
        }
        SmallVector<bool> resident;
        for (Value v : work.inputs)
          resident.push_back(onChip.contains(v));
        bool out = residentResult(work.result, *device);
        if (out)
          onChip.insert(work.result);
        Tiled tpcTiled = tile(work, false, *device, 2, resident, out);
        Cost tpcCost = costOf(tpcTiled, *device);
        int64_t tpcTiles = tpcTiled.op.tiles;
        int64_t splitTpcTiles = 0;
        int64_t tpc = tpcCost.total();
        Cost mmeCost;
        int64_t mme = -1;
        if (canRunOnMme(work)) {
          mmeCost =
              costOf(tile(work, true, *device, 2, resident, out), *device);
          mme = mmeCost.total();
        }
        bool onMme = false;
        // A split: how many of the rows, columns or batch members (of
        // splitExtent) the vector cores take; 0 when not split.
        int64_t tpcExtent = 0, splitExtent = 0;
        int64_t splitMme = 0, splitTpc = 0;
        SplitDim splitDim = SplitDim::Rows;
        StringRef reason = "only the vector cores run it";
        // A sparse aggregation: the device's sparse engine where it has one
        // and it finishes first (the vector cores otherwise).
        bool onSparse = false;
        int64_t sparse = -1;
        if (work.kind == WorkKind::Spmm && device->sparseMacsPerCycle > 0) {
          sparse = costOf(tile(work, true, *device, 2, resident, out), *device)
                       .total();
          if (policy == AccelPolicy::AllTpc) {
            reason = "policy all-tpc";
          } else {
            onSparse = std::max(at, sparseFree) + sparse <=
                       tpcFinish(at, tpcTiles, tpc, false);
            reason = onSparse ? "finishes first on the sparse engine"
                              : "finishes first on the vector cores";
          }
        }
        if (mme >= 0) {
          if (policy == AccelPolicy::AllMme) {
            onMme = true;
            reason = "policy all-mme";
          } else if (policy == AccelPolicy::AllTpc) {
            reason = "policy all-tpc";
          } else {
            int64_t mmeStart = std::max(at, mmeFree);
            int64_t tpcDone = tpcFinish(at, tpcTiles, tpc, false);
            int64_t tpcStart = tpcDone - tpc;
            int64_t mmeFinish = mmeStart + mme;
            onMme = mmeFinish <= tpcDone;
            reason = onMme
                         ? (mme <= tpc ? "cheaper on the matrix engine"
                                       : "finishes first on the matrix engine")
                         : (tpc < mme ? "cheaper on the vector cores"
                                      : "finishes first on the vector cores "
                                        "(matrix engine busy)");
            // Sharing the product so that both engine kinds work on it at
            // once: a fraction f of its rows or columns (f chosen so that
            // both finish their compute together), or whole members of its
            // batch (attention's heads: each count tried), on the vector
            // cores. The parts share HBM, so their transfers add up. Taken
            // when it finishes at least 10% sooner than either engine alone
            // (the margin covers what the estimate leaves out).
            double f = double(mmeStart + mmeCost.compute - tpcStart) /
                       double(mmeCost.compute + tpcCost.compute);
            SmallVector<std::pair<SplitDim, double>> candidates;
            if (f > 0.02 && f < 0.98) {
              candidates.push_back({SplitDim::Rows, f});
              candidates.push_back({SplitDim::Columns, f});
            }
            for (int64_t h = 1; h < work.batch && h <= 64; ++h)
              candidates.push_back(
                  {SplitDim::Batch, double(h) / double(work.batch)});
            int64_t bestEnd = -1;
            for (auto [dim, share] : candidates) {
              // The share in whole rows, columns or batch members: the
              // MME's part rounded, the rest on the cores, at least one each.
              int64_t total = extentOf(work, dim);
              int64_t cores = total - std::llround(double(total) * (1 - share));
              if (cores < 1 || cores >= total)
                continue;
              auto [mp, cp] = splitProduct(work, cores, dim);
              Cost m =
                  costOf(tile(mp, true, *device, 2, resident, out), *device);
              Tiled ct = tile(cp, false, *device, 2, resident, out);
              Cost c = costOf(ct, *device);
              int64_t both = std::max<int64_t>(
                  {mmeStart + m.compute,
                   tpcFinish(at, ct.op.tiles, c.compute, false),
                   at + m.transfer + c.transfer});
              if (bestEnd >= 0 && both >= bestEnd)
                continue;
              bestEnd = both;
              if (both * 10 < std::min(mmeFinish, tpcDone) * 9) {
                tpcExtent = cores;
                splitExtent = total;
                splitDim = dim;
                splitMme = m.compute;
                splitTpc = c.compute;
                splitTpcTiles = ct.op.tiles;
                reason = "split between the engines: both finish sooner";
              }
            }
          }
        }
        bool split = tpcExtent > 0;
        if (split) {
          mmeFree = std::max(at, mmeFree) + splitMme;
          int64_t tpcEnd = tpcFinish(at, splitTpcTiles, splitTpc, true);
          ready[work.result] = std::max(mmeFree, tpcEnd);
        } else if (onMme || onSparse) {
          int64_t &free = onMme ? mmeFree : sparseFree;
          free = std::max(at, free) + (onMme ? mme : sparse);
          ready[work.result] = free;
        } else {
          int64_t tpcEnd = tpcFinish(at, tpcTiles, tpc, true);
          ready[work.result] = tpcEnd;
        }
        setDecision(
            op,
            accel::DecisionAttr::get(
                &getContext(),
                split      ? "split"
                : onMme    ? "mme"
                : onSparse ? "sparse"
                           : "tpc",
                mme >= 0 ? std::optional<int64_t>(mme) : std::nullopt, reason,
                sparse >= 0 ? std::optional<int64_t>(sparse) : std::nullopt,
                split ? splitDimName(splitDim) : "",
                split ? std::optional<int64_t>(splitExtent) : std::nullopt, tpc,
                split ? std::optional<int64_t>(tpcExtent) : std::nullopt));
        return WalkResult::advance();
      });
      if (walk.wasInterrupted())
        return signalPassFailure();
    }
  }
};

//===----------------------------------------------------------------------===//
// accel-tile
//===----------------------------------------------------------------------===//

struct TilePass : public mlir::lathe::impl::AccelTileBase<TilePass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<Device> device = deviceOf(module, *this);
    if (failed(device))
      return signalPassFailure();
    if (buffers < 1) {
      module.emitError() << "accel-tile: buffers must be at least 1, got "
                         << buffers;
      return signalPassFailure();
    }
    // Tiling again replaces the programs of an earlier run.
    for (auto old :
         llvm::make_early_inc_range(module.getOps<accel::ProgramOp>()))
      old.erase();
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp func : funcs) {
      if (func.isExternal())
        continue;
      OpBuilder b(func.getContext());
      b.setInsertionPointAfter(func);
      auto program =
          accel::ProgramOp::create(b, func.getLoc(), func.getSymName(),
                                   /*buffers=*/nullptr,
                                   /*not_executable=*/nullptr);
      Block *body = new Block();
      program.getBody().push_back(body);
      b.setInsertionPointToEnd(body);
      // The token after which a value is readable, and whether it is on chip.
      llvm::DenseMap<Value, SmallVector<Value, 2>> tokenOf;
      llvm::DenseSet<Value> onChip;
      int64_t group = 0, index = 0;
      auto tokenType = accel::TokenType::get(&getContext());
      // What each engine op computes, for lathe-run's functional execution.
      AccelDataBuilder data(func);
      WalkResult walk = walkWork(func, [&](Operation *op, Work &work) {
        if (work.kind == WorkKind::View) {
          if (data.reason.empty())
            data.view(op);
          Value src = work.inputs.front();
          if (tokenOf.count(src))
            tokenOf[work.result] = tokenOf[src];
          if (onChip.contains(src))
            onChip.insert(work.result);
          return WalkResult::advance();
        }
        auto placed = dyn_cast_or_null<accel::DecisionAttr>(getDecision(op));
        if (!placed) {
          op->emitOpError() << "has no #accel.decision: run accel-place first";
          return WalkResult::interrupt();
        }
        bool onMme = placed.getEngine() == "mme";
        bool split = placed.getEngine() == "split";
        bool onSparse = placed.getEngine() == "sparse";
        if (onSparse && work.kind != WorkKind::Spmm) {
          op->emitOpError() << "is placed on the sparse engine, which runs "
                               "only sparse graph aggregations";
          return WalkResult::interrupt();
        }
        if ((onMme || split) && !canRunOnMme(work)) {
          op->emitOpError() << "is placed on the matrix engine, which runs "
                               "only products and convolutions";
          return WalkResult::interrupt();
        }
        SmallVector<bool> resident;
        for (Value v : work.inputs)
          resident.push_back(onChip.contains(v));
        bool out = residentResult(work.result, *device);
        AccelDataBuilder::OpData opData;
        bool executable = data.reason.empty() && data.compute(op, opData);
        Operation *computeOp = nullptr;
        std::string source =
            (op->getName().getStringRef() + "#" + Twine(index++)).str();
        auto sourceAttr = b.getStringAttr(source);
        Location loc = op->getLoc();
        // Tokens of the producers this op waits for: of the loaded inputs
        // (their stores) on its loads, of the on-chip ones on the compute.
        SmallVector<Value> loadDeps, inputDeps;
        // An insert into a region no earlier insert of its chain (on a
        // tensor.empty) wrote need not wait for them: its result carries
        // their tokens instead, so its readers wait for every region.
        SmallVector<Value, 2> carried;
        bool independent = false;
        if (auto ins = dyn_cast<tensor::InsertSliceOp>(op))
          independent = disjointFromChain(ins);
        for (auto [i, v] : llvm::enumerate(work.inputs)) {
          auto it = tokenOf.find(v);
          if (it == tokenOf.end())
            continue;
          if (independent && static_cast<int>(i) == work.writeOnly) {
            carried.append(it->second.begin(), it->second.end());
            continue;
          }
          SmallVector<Value> &list = resident[i] ? inputDeps : loadDeps;
          for (Value tok : it->second)
            if (!llvm::is_contained(list, tok))
              list.push_back(tok);
        }
        // One group: its loads, the compute op, its stores.
        auto emit = [&](const Tiled &t) -> Value {
          bool grouped = t.loadBytes > 0 || t.storeBytes > 0;
          IntegerAttr g = grouped ? b.getI64IntegerAttr(group) : IntegerAttr();
          if (grouped)
            ++group;
          SmallVector<Value> computeDeps(inputDeps);
          if (t.loadBytes > 0) {
            auto load = accel::DmaLoadOp::create(
                b, loc, tokenType, loadDeps, b.getI64IntegerAttr(t.op.tiles),
                b.getI64IntegerAttr(t.loadBytes), b.getI64IntegerAttr(buffers),
                g, sourceAttr);
            computeDeps.push_back(load);
          } else {
            computeDeps.append(loadDeps.begin(), loadDeps.end());
          }
          auto tiles = b.getI64IntegerAttr(t.op.tiles);
          auto i64 = [&](int64_t v) { return b.getI64IntegerAttr(v); };
          auto perTile = [&](ArrayRef<int64_t> sizes) {
            return sizes.empty() ? DenseI64ArrayAttr()
                                 : b.getDenseI64ArrayAttr(sizes);
          };
          // The engine ops differ in their shape attributes only; their data
          // semantics come later (data.attach).
          auto create = [&](auto opTag, auto... shape) -> Value {
            using OpTy = typename decltype(opTag)::type;
            return OpTy::create(b, loc, tokenType, computeDeps, tiles, shape...,
                                g, sourceAttr, nullptr, nullptr, nullptr,
                                nullptr, nullptr);
          };
          Value done;
          switch (t.op.kind) {
          case OpKind::MmeMatmul:
            done =
                create(Tag<accel::MmeMatmulOp>(), i64(t.op.m), i64(t.op.n),
                       i64(t.op.k), b.getStringAttr(t.op.f32 ? "f32" : "bf16"));
            break;
          case OpKind::TpcMatmul:
            done = create(Tag<accel::TpcMatmulOp>(), i64(t.op.m), i64(t.op.n),
                          i64(t.op.k), b.getStringAttr("f32"));
            break;
          case OpKind::TpcSoftmax:
            done = create(Tag<accel::TpcSoftmaxOp>(), i64(t.op.rows),
                          i64(t.op.cols));
            break;
          case OpKind::TpcLayerNorm:
            done = create(Tag<accel::TpcLayerNormOp>(), i64(t.op.rows),
                          i64(t.op.cols));
            break;
          case OpKind::SparseSpMM:
            done = create(Tag<accel::SparseSpmmOp>(), i64(t.op.nnz),
                          i64(t.op.cols), perTile(t.op.tileNnz));
            break;
          case OpKind::TpcReduce:
            done = create(Tag<accel::TpcReduceOp>(), i64(t.op.elements),
                          b.getF64FloatAttr(t.op.opsPerElement),
                          perTile(t.op.tileElements));
            break;
          default:
            done = create(Tag<accel::TpcElementwiseOp>(), i64(t.op.elements),
                          b.getF64FloatAttr(t.op.opsPerElement));
            break;
          }
          computeOp = done.getDefiningOp();
          if (t.storeBytes > 0)
            done = accel::DmaStoreOp::create(
                b, loc, tokenType, ValueRange{done}, tiles,
                b.getI64IntegerAttr(t.storeBytes), g, sourceAttr);
          return done;
        };
        SmallVector<Value, 2> done;
        if (split) {
          // The rows, columns or batch (the decision's split) are shared out:
          // `tpc_extent` of them to the vector cores, the rest to the MMEs,
          // each part tiled for its engine.
          StringRef dimName = placed.getSplit();
          SplitDim dim = dimName == "columns" ? SplitDim::Columns
                         : dimName == "batch" ? SplitDim::Batch
                                              : SplitDim::Rows;
          // The domain [B, M, N, K] dimension of the split.
          int d = dim == SplitDim::Batch ? 0 : dim == SplitDim::Rows ? 1 : 2;
          // The decision's verifier guarantees 1 <= tpc_extent < split_extent;
          // the op must still have that extent.
          int64_t total = extentOf(work, dim);
          if (*placed.getSplitExtent() != total) {
            op->emitOpError()
                << "has a " << dimName
                << " split of split_extent = " << *placed.getSplitExtent()
                << " but its " << dimName << " extent is " << total;
            return WalkResult::interrupt();
          }
          auto [mp, cp] = splitProduct(work, *placed.getTpcExtent(), dim);
          Tiled m = tile(mp, true, *device, buffers, resident, out);
          Tiled c = tile(cp, false, *device, buffers, resident, out);
          // Each part's data semantics: its share of the dimension, from
          // `start`.
          auto emitPart = [&](const Tiled &part, int64_t size, int64_t start) {
            done.push_back(emit(part));
            if (!executable)
              return;
            SmallVector<int64_t, 6> dom(opData.domain), off(4, 0);
            dom[d] = size;
            off[d] = start;
            data.attach(computeOp, opData, dom, off, onChip);
          };
          emitPart(m, extentOf(mp, dim), 0);
          emitPart(c, extentOf(cp, dim), extentOf(mp, dim));
          if (m.storeBytes == 0)
            onChip.insert(work.result);
        } else {
          Tiled t =
              tile(work, onMme || onSparse, *device, buffers, resident, out);
          done.push_back(emit(t));
          if (work.kind == WorkKind::Spmm)
            opData.csrTileRows = t.op.rows;
          if (executable)
            data.attach(computeOp, opData, opData.domain,
                        SmallVector<int64_t>(opData.domain.size(), 0), onChip);
          if (t.storeBytes == 0)
            onChip.insert(work.result);
        }
        for (Value tok : carried)
          if (!llvm::is_contained(done, tok))
            done.push_back(tok);
        tokenOf[work.result] = done;
        return WalkResult::advance();
      });
      if (walk.wasInterrupted())
        return signalPassFailure();
      if (data.reason.empty())
        data.results();
      if (data.reason.empty())
        program.setBuffersAttr(data.buffersAttr(&getContext()));
      else
        program.setNotExecutableAttr(b.getStringAttr(data.reason));
    }
  }
};

//===----------------------------------------------------------------------===//
// accel-schedule
//===----------------------------------------------------------------------===//

struct Schedule : public mlir::lathe::impl::AccelScheduleBase<Schedule> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<Device> device = deviceOf(module, *this);
    if (failed(device))
      return signalPassFailure();
    Builder b(&getContext());
    for (auto program : module.getOps<accel::ProgramOp>()) {
      Block &block = program.getBody().front();
      ::lathe::accel::Program sim;
      std::string error;
      if (!buildAccelProgram(program, sim, error)) {
        program.emitOpError() << error;
        return signalPassFailure();
      }
      SmallVector<Operation *> ops;
      for (Operation &op : block)
        ops.push_back(&op);
      // Units: a group, or an ungrouped op.
      std::map<int, int> unitOfGroup;
      SmallVector<int> unitOf(ops.size());
      SmallVector<SmallVector<int>> members;
      for (size_t i = 0; i < ops.size(); ++i) {
        int g = sim.ops[i].group;
        if (g >= 0 && unitOfGroup.count(g)) {
          unitOf[i] = unitOfGroup[g];
        } else {
          unitOf[i] = static_cast<int>(members.size());
          members.emplace_back();
          if (g >= 0)
            unitOfGroup[g] = unitOf[i];
        }
        members[unitOf[i]].push_back(static_cast<int>(i));
      }
      size_t units = members.size();
      SmallVector<int64_t> unitCost(units, 0), level(units, 0);
      SmallVector<llvm::SmallDenseSet<int, 4>> preds(units), succs(units);
      for (size_t i = 0; i < ops.size(); ++i) {
        const SimOp &op = sim.ops[i];
        auto kind = ::lathe::accel::engineOf(op.kind);
        int64_t engines =
            kind == ::lathe::accel::EngineKind::MME   ? device->mmeCount
            : kind == ::lathe::accel::EngineKind::DMA ? device->dmaCount
                                                      : device->tpcCount;
        unitCost[unitOf[i]] +=
            ceilDiv(op.tiles, std::max<int64_t>(1, engines)) *
            ::lathe::accel::tileCycles(*device, op);
        for (int dep : op.deps)
          if (unitOf[dep] != unitOf[i]) {
            preds[unitOf[i]].insert(unitOf[dep]);
            succs[unitOf[dep]].insert(unitOf[i]);
          }
      }
      // Remaining path to the end (units are in a topological order).
      for (int u = static_cast<int>(units) - 1; u >= 0; --u) {
        int64_t best = 0;
        for (int s : succs[u])
          best = std::max(best, level[s]);
        level[u] = unitCost[u] + best;
      }
      SmallVector<int> missing(units);
      for (size_t u = 0; u < units; ++u)
        missing[u] = static_cast<int>(preds[u].size());
      SmallVector<int> readyUnits, order;
      for (size_t u = 0; u < units; ++u)
        if (!missing[u])
          readyUnits.push_back(static_cast<int>(u));
      while (!readyUnits.empty()) {
        auto best = std::max_element(
            readyUnits.begin(), readyUnits.end(), [&](int a, int c) {
              return level[a] != level[c] ? level[a] < level[c] : a > c;
            });
        int u = *best;
        readyUnits.erase(best);
        order.push_back(u);
        for (int s : succs[u])
          if (--missing[s] == 0)
            readyUnits.push_back(s);
      }
      for (int u : order)
        for (int i : members[u]) {
          ops[i]->moveBefore(&block, block.end());
          ops[i]->setAttr("accel.priority", b.getI64IntegerAttr(level[u]));
        }
    }
  }
};

} // namespace

//===- Bf16Activations.cpp - bf16 tensors between CPU kernels -------------===//
//
// lathe-cpu-bf16-activations: with bf16 precision on a CPU with bf16
// instructions, the outputs of `lathe.conv2d`, `lathe.matmul` and
// `lathe.max_pool2d` that only bf16-capable kernels read become bf16
// tensors. The kernel that writes one rounds its f32 accumulation to bf16
// (oneDNN's bf16 destination), and the kernels that read it take it as their
// bf16 operand, so no f32 copy of the activation exists and nothing converts
// it per call. Generated code (a `linalg.generic`, e.g. the global average
// pooling at a CNN's end) reads a convolution's or pooling's output as a
// bf16 input too: the pass extends the element to f32 (`arith.extf`, exact)
// first thing in the payload, so the kernel before it writes half the bytes
// and the generated loop reads half, with the same f32 arithmetic as before.
// A `linalg.transpose` copies bf16 elements where its readers take bf16. An
// output that anything else reads (a matmul's epilogue in generated code,
// softmax, a layer norm, the function's result, a generic's init, a
// matmul's rhs or residual, an attention product) stays f32: the boundary
// conversion is then the writing kernel's f32 output and the next kernel's
// conversion of its f32 input, as without this pass.
//
// The decision is a greatest fixed point over the candidate values: a
// candidate stays while every use is a bf16-capable operand (a convolution's
// input; a linear layer's lhs; a max pooling's input, whose output must then be
// bf16 too; the residual `init` of an accumulating convolution whose output
// stays bf16; the source of an extract_slice / collapse_shape /
// expand_shape / transpose whose result stays bf16; an input of a generic,
// for convolution and pooling outputs) and, where the kernel reads its
// `init` (an accumulating convolution) or is a pooling or a reshape, what it
// reads stays bf16 too.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/ADT/SetVector.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPUBF16ACTIVATIONS
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// A linear layer: alpha 1, no permutations, a constant rhs. Only these
/// matmuls read or write bf16 activations: attention's products (operands
/// that are activations, scaled, permuted) stay f32 so that
/// lathe-cpu-lower-to-runtime can still fuse them with their softmax.
bool isLinearLayer(MatmulOp op) {
  Operation *rhs = op.getRhs().getDefiningOp();
  return op.getAlpha().convertToFloat() == 1.0f && !op.getLhsPermAttr() &&
         !op.getRhsPermAttr() && !op.getInitPermAttr() && rhs &&
         (rhs->hasTrait<OpTrait::ConstantLike>() || isa<WeightOp>(rhs));
}

bool isStaticF32Tensor(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  return type && type.hasStaticShape() && type.getElementType().isF32();
}

/// The input of a linalg.transpose on tensors (null for other ops): it
/// copies bf16 elements as well as f32 ones, into a bf16 init of its own.
Value transposeSource(Operation *op) {
  auto transpose = dyn_cast<linalg::TransposeOp>(op);
  return transpose && transpose.hasPureTensorSemantics() ? transpose.getInput()
                                                         : Value();
}

/// True if `use` is an input of generated code (a linalg.generic on tensors)
/// that may read bf16 elements and convert them (readBf16InGenerics).
bool isGenericInput(OpOperand &use) {
  auto generic = dyn_cast<linalg::GenericOp>(use.getOwner());
  return generic && generic.hasPureTensorSemantics() &&
         generic.isDpsInput(&use);
}

/// The generics among `value`'s users read its bf16 elements: each payload
/// argument of such an input becomes bf16 and is extended to f32 (exact)
/// before anything else in the payload uses it.
void readBf16InGenerics(Value value) {
  for (OpOperand &use : value.getUses()) {
    if (!isGenericInput(use))
      continue;
    auto generic = cast<linalg::GenericOp>(use.getOwner());
    BlockArgument arg = generic.getMatchingBlockArgument(&use);
    Type f32 = arg.getType();
    if (f32 == getElementTypeOrSelf(value.getType()))
      continue;
    arg.setType(getElementTypeOrSelf(value.getType()));
    OpBuilder builder = OpBuilder::atBlockBegin(arg.getOwner());
    Value wide = arith::ExtFOp::create(builder, generic.getLoc(), f32, arg);
    arg.replaceAllUsesExcept(wide, wide.getDefiningOp());
  }
}

/// The operand a reshape or slice reads its elements from (null for other
/// ops).
Value passThroughSource(Operation *op) {
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op))
    return slice.getSource();
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op))
    return collapse.getSrc();
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op))
    return expand.getSrc();
  return transposeSource(op);
}

/// What `value` is a reshape, slice or transpose of (through any number of
/// them; `value` itself when it is none).
Value passThroughRoot(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    Value source = passThroughSource(def);
    if (!source)
      break;
    value = source;
  }
  return value;
}

/// True if `value` is a convolution's or pooling's output, or a reshape,
/// slice or transpose of one. Only these are read by generated code in
/// bf16 (a CNN's average pooling); a matmul's output that generated code
/// reads (its bias / activation epilogue, the logits) keeps its f32
/// accumulation.
bool isConvActivation(Value value) {
  return isa_and_nonnull<Conv2DOp, MaxPool2DOp>(
      passThroughRoot(value).getDefiningOp());
}

/// What a candidate's producer reads that must be bf16 with it: the residual
/// of an accumulating convolution, a pooling's input, a reshape's source;
/// null when the producer overwrites its output from f32 or bf16 inputs.
Value tiedInput(Operation *producer) {
  if (auto conv = dyn_cast<Conv2DOp>(producer))
    return conv.getAccumulate() ? conv.getInit() : Value();
  if (auto pool = dyn_cast<MaxPool2DOp>(producer))
    return pool.getInput();
  return passThroughSource(producer);
}

/// True if `use` may read a bf16 value, given the values that stay bf16.
bool acceptsBf16(OpOperand &use, const llvm::SetVector<Value> &bf16) {
  Operation *user = use.getOwner();
  auto resultStays = [&] {
    return user->getNumResults() == 1 && bf16.contains(user->getResult(0));
  };
  if (auto conv = dyn_cast<Conv2DOp>(user)) {
    if (&use == &conv.getInputMutable())
      return true;
    return &use == &conv.getInitMutable() && conv.getAccumulate() &&
           resultStays();
  }
  if (auto matmul = dyn_cast<MatmulOp>(user))
    return &use == &matmul.getLhsMutable() && isLinearLayer(matmul);
  if (auto pool = dyn_cast<MaxPool2DOp>(user))
    return &use == &pool.getInputMutable() && resultStays();
  if (Value source = passThroughSource(user))
    return use.get() == source && resultStays();
  return isGenericInput(use) && isConvActivation(use.get());
}

/// Follows `value` through the reshapes, slices and transposes that read
/// it (passThroughSource); calls `onUse` for every other use. False as soon
/// as `onUse` is.
bool allUsesThroughReshapes(Value value,
                            llvm::function_ref<bool(OpOperand &)> onUse) {
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    if (passThroughSource(user) == value && user->getNumResults() == 1) {
      if (!allUsesThroughReshapes(user->getResult(0), onUse))
        return false;
    } else if (!onUse(use)) {
      return false;
    }
  }
  return true;
}

/// Unmasked attention's probabilities: a softmax on tensors over a
/// lathe.matmul's scores (through reshapes) that only products read, as
/// their lhs. Those products get the `lathe.bf16_lhs` attribute:
/// lathe-cpu-lower-to-runtime then has the softmax write the probabilities
/// in bf16 and the products read them so (linalg.softmax has one element
/// type, so the tensors here stay f32). With a mask between scores and
/// softmax (generated code) the products, the mask and the softmax become
/// one f32 kernel instead.
void tagAttentionProbabilities(func::FuncOp func) {
  func.walk([&](linalg::SoftmaxOp softmax) {
    if (!softmax.hasPureTensorSemantics() ||
        !isStaticF32Tensor(softmax.getResult()[0]))
      return;
    if (!passThroughRoot(softmax.getInput()).getDefiningOp<MatmulOp>())
      return;
    SmallVector<MatmulOp> products;
    bool onlyProducts =
        allUsesThroughReshapes(softmax.getResult()[0], [&](OpOperand &use) {
          auto matmul = dyn_cast<MatmulOp>(use.getOwner());
          if (!matmul || &use != &matmul.getLhsMutable())
            return false;
          products.push_back(matmul);
          return true;
        });
    if (!onlyProducts)
      return;
    for (MatmulOp product : products)
      product->setAttr("lathe.bf16_lhs", UnitAttr::get(func.getContext()));
  });
}

struct LatheCPUBf16Activations
    : public lathe::impl::LatheCPUBf16ActivationsBase<LatheCPUBf16Activations> {
  void runOnOperation() override {
    // Candidates, in program order (a reshape after its source).
    llvm::SetVector<Value> bf16;
    getOperation().walk([&](Operation *op) {
      if (op->getNumResults() != 1 || !isStaticF32Tensor(op->getResult(0)))
        return;
      auto matmul = dyn_cast<MatmulOp>(op);
      bool kernel =
          isa<Conv2DOp, MatmulOp, MaxPool2DOp>(op) &&
          !cast<DestinationStyleOpInterface>(op).hasPureBufferSemantics() &&
          (!matmul || isLinearLayer(matmul));
      Value source = passThroughSource(op);
      if (kernel || (source && bf16.contains(source)))
        bf16.insert(op->getResult(0));
    });

    // Drop candidates until every remaining one is read and written in bf16
    // only.
    bool changed = true;
    while (changed) {
      changed = false;
      SmallVector<Value> drop;
      for (Value value : bf16) {
        Value tied = tiedInput(value.getDefiningOp());
        bool keep = (!tied || bf16.contains(tied)) &&
                    llvm::all_of(value.getUses(), [&](OpOperand &use) {
                      return acceptsBf16(use, bf16);
                    });
        if (!keep)
          drop.push_back(value);
      }
      for (Value value : drop)
        bf16.remove(value);
      changed = !drop.empty();
    }

    OpBuilder builder(&getContext());
    Type bf16Type = builder.getBF16Type();
    for (Value value : bf16) {
      auto type = cast<RankedTensorType>(value.getType());
      Operation *producer = value.getDefiningOp();
      auto conv = dyn_cast<Conv2DOp>(producer);
      if (isa<Conv2DOp, MatmulOp, MaxPool2DOp, linalg::TransposeOp>(producer) &&
          !(conv && conv.getAccumulate())) {
        // The kernel overwrites its `init`: a bf16 one of its own.
        auto dps = cast<DestinationStyleOpInterface>(producer);
        builder.setInsertionPoint(producer);
        Value init = tensor::EmptyOp::create(builder, producer->getLoc(),
                                             type.getShape(), bf16Type);
        dps.getDpsInitsMutable()[0].set(init);
      }
      // A transpose's payload copies the element: bf16 in and out.
      if (auto transpose = dyn_cast<linalg::TransposeOp>(producer))
        for (BlockArgument arg : transpose.getBlock()->getArguments())
          arg.setType(bf16Type);
      value.setType(type.clone(bf16Type));
      ++numBf16Values;
    }
    for (Value value : bf16)
      readBf16InGenerics(value);
    tagAttentionProbabilities(getOperation());
  }
};

} // namespace

//===- MatchActivation.h - Activations found by their algebra ---*- C++ -*-===//
//
// Kernel formation fuses an activation into a oneDNN matmul or convolution
// as an eltwise post-op when an element-wise body computes it, however the
// exporter spelled it. Shared by the CPU target's kernel formation patterns.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_LIB_TARGET_CPU_MATCHACTIVATION_H
#define LATHE_LIB_TARGET_CPU_MATCHACTIVATION_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"

#include <optional>

namespace mlir::lathe {

/// An activation that ops of an element-wise body compute of one value.
struct ActivationMatch {
  /// The lathe.matmul / lathe.conv2d activation name ("gelu", "gelu_tanh").
  StringRef name;
  /// The value holding act(x), the last op of the run.
  Value result;
  /// How many ops of the run, from the first, compute it.
  size_t numOps;
};

/// Whether the ops `ops` (consecutive ops of an element-wise body, in order)
/// begin with a run that computes GELU of `x`: the erf form
/// `0.5 x (1 + erf(x / sqrt(2)))` or the tanh form
/// `0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`, in any spelling of
/// +, -, *, / by constants, negation, fma and integer powers. The run is the
/// longest prefix whose operands are `x`, constants and results of the run;
/// every result but the last must be used in the run only. Its value is
/// brought to a normal form (a polynomial in `x` and the one erf or tanh, of
/// the polynomial argument) and compared with the two forms, coefficients
/// equal up to 1e-6 relative. Nothing is evaluated on sample data.
std::optional<ActivationMatch> matchGeluRun(ArrayRef<Operation *> ops, Value x);

} // namespace mlir::lathe

#endif // LATHE_LIB_TARGET_CPU_MATCHACTIVATION_H

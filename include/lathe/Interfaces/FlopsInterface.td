//===- FlopsInterface.td - Operation cost in floating-point ops -*- tablegen -*-===//

#ifndef LATHE_INTERFACES_FLOPSINTERFACE
#define LATHE_INTERFACES_FLOPSINTERFACE

include "mlir/IR/OpBase.td"

def Lathe_FlopsOpInterface : OpInterface<"FlopsOpInterface"> {
  let description = [{
    Implemented by every compute op Lathe knows about (Lathe's own ops and,
    through external models, upstream linalg ops). It reports the number of
    arithmetic operations the op performs as written, so that cost reports are
    computed on the module as given, before target lowering. A multiply-add
    counts as two operations (2·M·N·K for a matmul).
  }];
  let cppNamespace = "::mlir::lathe";
  let methods = [
    InterfaceMethod<
      /*desc=*/[{Number of arithmetic operations, or failure when a size the
                 count depends on is dynamic.}],
      /*retType=*/"::mlir::FailureOr<int64_t>",
      /*methodName=*/"getFlopCount">,
  ];
}

#endif // LATHE_INTERFACES_FLOPSINTERFACE

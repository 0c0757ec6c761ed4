//===- CPUAttrs.td - Attributes private to the CPU target ----*- tablegen -*-===//
//
// The CPU target's own dialect: no ops, only the attributes its passes record
// (today the int8 quantization decision).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_TARGET_CPU_ATTRS
#define LATHE_TARGET_CPU_ATTRS

include "lathe/Interfaces/DecisionInterface.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/OpBase.td"

def CPU_Dialect : Dialect {
  let name = "cpu";
  let summary = "Attributes private to Lathe's CPU target";
  let description = [{
    What the CPU target's passes record in the IR and nothing else reads:
    `#cpu.decision`, the choice of `lathe-cpu-quantize-int8`.
  }];
  let cppNamespace = "::mlir::lathe::cpu";
  let useDefaultAttributePrinterParser = 1;
}

def CPU_DecisionAttr : AttrDef<CPU_Dialect, "Decision", [
    DeclareAttrInterfaceMethods<Lathe_DecisionAttrInterface>]> {
  let mnemonic = "decision";
  let summary = "The precision lathe-cpu-quantize-int8 chose for a kernel site";
  let description = [{
    Records one choice of `lathe-cpu-quantize-int8`, as the `lathe.decision`
    attribute of the kernel op it quantized: the precision (`int8`), the
    kernel site's number and the calibrated input range `[lo, hi]` (f32, as
    `lathe.int8_input_range` gives it to the kernel).

    ```mlir
    #cpu.decision<input_range = [-1.5, 2.0], precision = "int8", site = 0>
    ```
  }];
  let parameters = (ins "::mlir::DenseF32ArrayAttr":$input_range,
                        StringRefParameter<"precision chosen">:$precision,
                        "int64_t":$site);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The flag of the pass that records this decision.
    static constexpr ::llvm::StringLiteral kPassName =
        "lathe-cpu-quantize-int8";
  }];
}

#endif // LATHE_TARGET_CPU_ATTRS

//===- TargetInterface.td - The target a module is compiled for -*- tablegen -*-===//

#ifndef LATHE_INTERFACES_TARGETINTERFACE
#define LATHE_INTERFACES_TARGETINTERFACE

include "mlir/IR/OpBase.td"

def Lathe_TargetAttrInterface : AttrInterface<"TargetAttrInterface"> {
  let description = [{
    The device a module is compiled for, as the `lathe.target` attribute of
    the module carries it (`#lathe.target<...>` implements this interface).
    Passes in any dialect read costs through this interface (see
    `lathe/Interfaces/Target.h`), never from a file: the tools read the
    target description once and attach the attribute.
  }];
  let cppNamespace = "::mlir::lathe";
  let methods = [
    InterfaceMethod<"The device's name (e.g. `cpu`).",
                    "::llvm::StringRef", "getTargetName">,
    InterfaceMethod<"Threads the tables were measured with (0: not fixed, "
                    "the runtime's default).",
                    "int64_t", "getTargetThreads">,
    InterfaceMethod<"ISA features of the device (strings, e.g. `avx512f`).",
                    "::mlir::ArrayAttr", "getTargetFeatures">,
    InterfaceMethod<"Cost tables by consumer (`lowrank`, `sparsegcn`, "
                    "`memred`, ...), each a dictionary.",
                    "::mlir::DictionaryAttr", "getTargetTables">,
  ];
}

#endif // LATHE_INTERFACES_TARGETINTERFACE

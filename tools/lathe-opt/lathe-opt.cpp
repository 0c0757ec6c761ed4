//===- lathe-opt.cpp - mlir-opt with every Lathe dialect and pass ---------===//

#include "lathe/InitAllDialects.h"
#include "lathe/InitAllPasses.h"
#include "lathe/Support/ToolInfo.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::lathe::initTool("lathe-opt");
  mlir::DialectRegistry registry = mlir::lathe::makeRegistry();
  mlir::lathe::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Lathe optimizer driver\n", registry));
}

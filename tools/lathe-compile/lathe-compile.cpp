//===- lathe-compile.cpp - Compile a model ahead of time ------------------===//
//
// lathe-compile MODEL(.mlir|.onnx) [--backend=cpu|cuda] [--precision=f32|bf16]
//               [--cpu=NAME] [--gpu-chip=sm_90] -o model.lathe
//
// Parses flags (and imports ONNX models) and hands over to the driver
// library (lib/Driver/Compile.cpp).
//
//===----------------------------------------------------------------------===//

#include "lathe/Driver/Compile.h"
#include "lathe/InitAllDialects.h"
#include "lathe/InitAllPasses.h"
#include "lathe/Support/ToolInfo.h"
#ifdef LATHE_HAVE_ONNX
#include "lathe/Import/ONNX/ImportONNX.h"
#endif

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::lathe::initTool("lathe-compile");
  static cl::OptionCategory category("lathe-compile options");
  cl::opt<std::string> inputFile(cl::Positional,
                                 cl::desc("<model .mlir or .onnx>"),
                                 cl::Required, cl::cat(category));
  cl::opt<std::string> output("o", cl::desc("The .lathe file to write"),
                              cl::value_desc("file"), cl::Required,
                              cl::cat(category));
  cl::opt<std::string> entry("entry", cl::desc("Function to compile"),
                             cl::init("main"), cl::cat(category));
  cl::opt<std::string> backend(
      "backend",
      cl::desc("Backend: cpu, or cuda (host code with a cubin inside, "
               "loaded by the CUDA runtime: lathe_cuda_model_load)"),
      cl::init("cpu"), cl::cat(category));
  cl::opt<std::string> gpuChip(
      "gpu-chip",
      cl::desc("--backend=cuda: GPU architecture of the cubin (sm_90, "
               "sm_80, ...)"),
      cl::init("sm_90"), cl::cat(category));
  cl::opt<std::string> precision(
      "precision",
      cl::desc("f32 (default) or bf16: matmuls with bf16 operands on CPUs "
               "with AVX512-BF16 or AMX-BF16, decided where the file is "
               "loaded"),
      cl::init("f32"), cl::cat(category));
  cl::opt<std::string> cpu(
      "cpu",
      cl::desc("CPU to compile for: host (default) or an LLVM CPU name, "
               "e.g. x86-64-v3 (any AVX2 machine), x86-64-v4, znver4"),
      cl::init("host"), cl::cat(category));
  cl::opt<std::string> fastMath(
      "fast-math",
      cl::desc("Floating-point freedoms of generated code: reassoc,contract "
               "(default), reassoc, contract or none"),
      cl::init("reassoc,contract"), cl::cat(category));
  cl::opt<bool> trace(
      "trace",
      cl::desc("Mark the regions of generated code for `lathe-run --trace` "
               "(two runtime calls per region; kernel calls are traced "
               "either way)"),
      cl::init(false), cl::cat(category));
  mlir::lathe::registerAllPasses();
  mlir::lathe::parseToolOptions(
      argc, argv, {&category},
      "lathe-compile: compile a model ahead of time into a .lathe file\n\n"
      "  lathe-compile model.mlir|model.onnx -o model.lathe [--cpu=NAME]\n\n"
      "The file holds native code for one CPU (or, --backend=cuda, host "
      "code with a\ncubin inside), the weights and the signature; "
      "lathe-run and programs linking\nthe Lathe runtime "
      "(lathe/runtime/Model.h; lathe/runtime/CUDA.h for --backend=cuda)\n"
      "load it without compiling (docs/Deploy.md).\n\n"
      "Exit status: 0 success; 1 bad input or compile error.\n");

  mlir::lathe::CompileOptions options;
  options.inputFile = inputFile;
  options.outputFile = output;
  options.entry = entry;
  options.backend = backend;
  options.precision = precision;
  options.targetCpu = cpu;
  options.fastMath = fastMath;
  options.trace = trace;
  options.gpuChip = gpuChip;

  mlir::DialectRegistry registry = mlir::lathe::makeRegistry();
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (llvm::StringRef(options.inputFile).ends_with_insensitive(".onnx")) {
#ifdef LATHE_HAVE_ONNX
    mlir::lathe::registerONNXImportDialects(context);
    std::string error;
    module = mlir::lathe::importONNXModel(
        context, options.inputFile, mlir::lathe::ONNXImportOptions(), error);
    if (!module) {
      llvm::errs() << "lathe-compile: error: " << error << "\n";
      return 1;
    }
#else
    llvm::errs() << "lathe-compile: error: this build has no ONNX importer "
                    "(libonnx-dev was not found)\n";
    return 1;
#endif
  } else {
    module = mlir::lathe::parseCompileInput(options, context);
    if (!module)
      return 1;
  }
  return mlir::lathe::compileMain(options, *module);
}

//===- lathe-import-onnx.cpp - ONNX model to Lathe's input IR -------------===//
//
// lathe-import-onnx model.onnx -o model.mlir [--weights=FILE.h5]
//                   [--dim NAME=SIZE]...
//
//===----------------------------------------------------------------------===//

#include "lathe/Import/ONNX/ImportONNX.h"
#include "lathe/Support/ToolInfo.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace llvm;

static bool parseDims(const cl::list<std::string> &specs,
                      std::map<std::string, int64_t> &dims) {
  for (const std::string &spec : specs) {
    StringRef name, size;
    std::tie(name, size) = StringRef(spec).split('=');
    int64_t value;
    if (name.empty() || size.getAsInteger(10, value) || value < 0) {
      errs()
          << "lathe-import-onnx: --dim expects NAME=SIZE with SIZE >= 0, got '"
          << spec << "'\n";
      return false;
    }
    dims[name.str()] = value;
  }
  return true;
}

/// The directory a file is to be written into must exist: say so before any
/// work is done.
static bool checkParentDir(StringRef path, StringRef what) {
  SmallString<256> dir(path);
  sys::path::remove_filename(dir);
  if (dir.empty() || sys::fs::is_directory(dir))
    return true;
  errs() << "lathe-import-onnx: cannot write the " << what << " '" << path
         << "': directory '" << dir << "' does not exist\n";
  return false;
}

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  mlir::lathe::initTool("lathe-import-onnx");
  static cl::OptionCategory category("lathe-import-onnx options");
  cl::opt<std::string> input(cl::Positional, cl::desc("<model.onnx>"),
                             cl::Required, cl::cat(category));
  cl::opt<std::string> output(
      "o", cl::desc("Output .mlir file ('-' for stdout)"),
      cl::value_desc("file"), cl::init("-"), cl::cat(category));
  cl::opt<std::string> weights(
      "weights",
      cl::desc("Write initializers to this HDF5 file and refer to them with "
               "lathe.weight (default: dense_resource blobs in the .mlir)"),
      cl::value_desc("FILE.h5"), cl::cat(category));
  cl::opt<bool> allFloatWeights(
      "all-float-weights",
      cl::desc("With --weights: write every float initializer to the weights "
               "file, small ones (biases) too, so lathe-train trains them"),
      cl::cat(category));
  cl::list<std::string> dimSpecs(
      "dim", cl::desc("Pin a symbolic dimension: NAME=SIZE (repeatable)"),
      cl::value_desc("NAME=SIZE"), cl::cat(category));
  mlir::lathe::parseToolOptions(
      argc, argv, {&category},
      "lathe-import-onnx: ONNX model to Lathe IR\n\n"
      "  lathe-import-onnx model.onnx --weights=w.h5 -o model.mlir\n\n"
      "Exit status: 0 imported; 1 unreadable model, unsupported operator or\n"
      "attribute (named in the message), or an unwritable output.\n");

  mlir::lathe::ONNXImportOptions options;
  if (!parseDims(dimSpecs, options.dims))
    return 1;
  if (output != "-" && !checkParentDir(output, "output"))
    return 1;
  if (!weights.empty()) {
    if (output == "-") {
      errs() << "lathe-import-onnx: --weights needs -o FILE (the weights "
                "path is written relative to the .mlir file)\n";
      return 1;
    }
    if (!checkParentDir(weights, "weights file"))
      return 1;
    if (sys::fs::is_directory(weights)) {
      errs() << "lathe-import-onnx: --weights '" << weights
             << "' is a directory; give the path of the HDF5 file to write "
                "(e.g. --weights="
             << weights << "/weights.h5)\n";
      return 1;
    }
    options.weightsFile = weights;
    options.allFloatWeights = allFloatWeights;
    // Relative to the directory of the .mlir file when it lies under it.
    SmallString<256> absW(weights), absO(output);
    sys::fs::make_absolute(absW);
    sys::fs::make_absolute(absO);
    sys::path::remove_dots(absW, true);
    sys::path::remove_dots(absO, true);
    SmallString<256> outDir(absO);
    sys::path::remove_filename(outDir);
    StringRef w = absW;
    if (w.starts_with(outDir) && w.size() > outDir.size() &&
        sys::path::is_separator(w[outDir.size()]))
      options.weightsRef = w.drop_front(outDir.size() + 1).str();
    else
      options.weightsRef = w.str();
  }

  // The weights go to a temporary file beside the requested one, renamed
  // onto it only once the .mlir is written: a failed import removes what it
  // created and leaves whatever was at the --weights path untouched.
  std::optional<sys::fs::TempFile> weightsTemp;
  if (!weights.empty()) {
    Expected<sys::fs::TempFile> temp =
        sys::fs::TempFile::create(weights + ".tmp-%%%%%%");
    if (!temp) {
      errs() << "lathe-import-onnx: cannot create a temporary file beside the "
                "weights file '"
             << weights << "': " << toString(temp.takeError()) << "\n";
      return 1;
    }
    weightsTemp.emplace(std::move(*temp));
    options.weightsFile = weightsTemp->TmpName;
  }
  auto discardWeights = [&] {
    if (weightsTemp)
      consumeError(weightsTemp->discard());
  };

  mlir::MLIRContext context;
  mlir::lathe::registerONNXImportDialects(context);
  std::string error;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::lathe::importONNXModel(context, input, options, error);
  if (!module) {
    errs() << "lathe-import-onnx: error: " << error << "\n";
    discardWeights();
    return 1;
  }
  if (failed(mlir::verify(*module))) {
    errs() << "lathe-import-onnx: internal error: the imported module does "
              "not verify\n";
    discardWeights();
    return 1;
  }

  std::string openError;
  auto file = mlir::openOutputFile(output, &openError);
  if (!file) {
    errs() << "lathe-import-onnx: " << openError << "\n";
    discardWeights();
    return 1;
  }
  module->print(file->os());
  file->os() << "\n";
  // The .mlir must be written (a full disk shows here) before the weights
  // replace whatever was at the --weights path.
  file->os().flush();
  if (file->os().has_error()) {
    errs() << "lathe-import-onnx: cannot write '" << output
           << "': " << file->os().error().message() << "\n";
    file->os().clear_error();
    discardWeights();
    return 1;
  }
  if (weightsTemp) {
    if (Error err = weightsTemp->keep(weights)) {
      errs() << "lathe-import-onnx: cannot write the weights file '" << weights
             << "': " << toString(std::move(err)) << "\n";
      return 1; // keep() removed the temporary file.
    }
  }
  file->keep();
  return 0;
}

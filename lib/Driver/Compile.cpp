//===- Compile.cpp - lathe-compile: a module into a .lathe file -----------===//
//
// The module goes through the same CPU pipeline as in lathe-run, is compiled
// to a position-independent object whose large constants are reached through
// a table of pointers (compileModule with sharedLibrary), linked by lld into
// a shared library against the runtime library, and written with its
// constants, its signature and the CPU features it was compiled for into one
// file (runtime/include/lathe/runtime/ModelFormat.h, docs/Deploy.md).
//
//===----------------------------------------------------------------------===//

#include "lathe/Driver/Compile.h"

#include "CompileSupport.h"
#include "lathe/Driver/Executable.h"
#include "lathe/Driver/HostTensors.h"
#include "lathe/Support/ParseGuard.h"
#include "lathe/Support/ToolInfo.h"
#include "lathe/Target/CPU/Pipeline.h"
#include "lathe/runtime/ModelFormat.h"
#include "lathe/runtime/Runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <dlfcn.h>
#include <unistd.h>

#ifdef LATHE_HAS_CUDA
#include "lathe/Driver/RunCUDA.h"
#endif

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::compile_support;

int compile_support::fail(const llvm::Twine &message) {
  llvm::errs() << "lathe-compile: error: " << message << "\n";
  return 1;
}

uint64_t compile_support::alignTo(uint64_t value, uint64_t align) {
  return (value + align - 1) / align * align;
}

std::string compile_support::libraryOf(const void *address) {
  Dl_info info;
  if (!address || !::dladdr(address, &info) || !info.dli_fname)
    return "";
  return info.dli_fname;
}

namespace {

/// ld.lld: the one found when Lathe was configured, else on PATH.
std::string findLinker() {
#ifdef LATHE_LLD_PATH
  if (llvm::sys::fs::can_execute(LATHE_LLD_PATH))
    return LATHE_LLD_PATH;
#endif
  for (llvm::StringRef name : {"ld.lld-22", "ld.lld"})
    if (auto path = llvm::sys::findProgramByName(
            name, {"/usr/lib/llvm-22/bin", "/usr/bin"}))
      return *path;
  for (llvm::StringRef name : {"ld.lld-22", "ld.lld"})
    if (auto path = llvm::sys::findProgramByName(name))
      return *path;
  return "";
}

} // namespace

compile_support::TempFiles::~TempFiles() {
  for (const std::string &path : paths)
    llvm::sys::fs::remove(path);
}

bool compile_support::TempFiles::create(llvm::StringRef suffix,
                                        std::string &path, std::string &error) {
  llvm::SmallString<256> p;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("lathe-compile", suffix, p)) {
    error = "cannot create a temporary file: " + ec.message();
    return false;
  }
  path = p.str().str();
  paths.push_back(path);
  return true;
}

bool compile_support::TempFiles::write(StringRef suffix, StringRef bytes,
                                       std::string &path, std::string &error) {
  if (!create(suffix, path, error))
    return false;
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (!ec) {
    os << bytes;
    os.close();
    ec = os.error();
  }
  if (ec)
    error = "cannot write '" + path + "': " + ec.message();
  return !ec;
}

namespace {

/// The libraries a CPU module links against: the Lathe runtime, libomp,
/// libm and libc (for the calls generated code makes), as loaded in this
/// process.
bool cpuLibraries(std::vector<std::string> &libraries, std::string &error) {
  for (const char *symbol :
       {"lathe_rt_alloc", "__kmpc_fork_call", "expf", "memcpy"}) {
    std::string path = libraryOf(::dlsym(RTLD_DEFAULT, symbol));
    if (path.empty() && std::strcmp(symbol, "lathe_rt_alloc") == 0)
      path = libraryOf(reinterpret_cast<const void *>(&lathe_rt_alloc));
    if (path.empty()) {
      error = std::string("cannot find the library that provides ") + symbol +
              " in this process";
      return false;
    }
    if (llvm::find(libraries, path) == libraries.end())
      libraries.push_back(path);
  }
  return true;
}

} // namespace

bool compile_support::linkSharedLibrary(llvm::StringRef object,
                                        llvm::ArrayRef<std::string> libraries,
                                        std::string &library,
                                        std::string &error) {
  std::string lld = findLinker();
  if (lld.empty()) {
    error = "cannot find ld.lld (install lld-22)";
    return false;
  }
  TempFiles temps;
  std::string output, log;
  if (!temps.create("so", output, error) || !temps.create("log", log, error))
    return false;
  std::vector<std::string> args = {lld,
                                   "-shared",
                                   "-o",
                                   output,
                                   object.str(),
                                   "-z",
                                   "defs",
                                   "-z",
                                   "now",
                                   "-z",
                                   "relro",
                                   "-z",
                                   "noexecstack",
                                   "-Bsymbolic",
                                   "--as-needed",
                                   "--eh-frame-hdr",
                                   "--hash-style=gnu",
                                   "-soname",
                                   "lathe-model.so"};
  llvm::append_range(args, libraries);
  std::vector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::optional<llvm::StringRef> redirects[] = {
      std::nullopt, llvm::StringRef(log), llvm::StringRef(log)};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(lld, argRefs, std::nullopt, redirects, 0,
                                     0, &execError);
  if (rc != 0) {
    auto text = llvm::MemoryBuffer::getFile(log);
    error = "linking the shared library with " + lld + " failed" +
            (execError.empty() ? "" : ": " + execError) +
            (text ? ":\n" + (*text)->getBuffer().rtrim().str() : "");
    return false;
  }
  auto bytes = llvm::MemoryBuffer::getFile(output, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
  if (!bytes) {
    error = "cannot read the linked library: " + bytes.getError().message();
    return false;
  }
  library = (*bytes)->getBuffer().str();
  return true;
}

namespace {

/// One line of the metadata's signature: `DTYPE RANK DIMS... NAME`.
bool signatureLine(llvm::raw_ostream &os, llvm::StringRef kind, Type type,
                   llvm::StringRef name, std::string &error) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  std::optional<lathe_dtype> dtype =
      tensor ? dtypeFor(tensor.getElementType()) : std::nullopt;
  if (!dtype) {
    std::string s;
    llvm::raw_string_ostream typeOs(s);
    typeOs << type;
    error = (kind + " '" + name + "' has type " + s +
             "; a .lathe entry takes and returns ranked tensors of a runtime "
             "dtype (f32, f64, f16, bf16, i64, i32, i16, i8, ui8, i1)")
                .str();
    return false;
  }
  if (tensor.getRank() > LATHE_MAX_RANK) {
    error =
        (kind + " '" + name + "' has rank " + llvm::Twine(tensor.getRank()) +
         "; at most " + llvm::Twine(LATHE_MAX_RANK) + " is supported")
            .str();
    return false;
  }
  os << kind << " " << lathe_dtype_name(*dtype) << " " << tensor.getRank();
  for (int64_t dim : tensor.getShape())
    os << " " << (ShapedType::isDynamic(dim) ? int64_t(-1) : dim);
  std::string clean = name.str();
  for (char &c : clean)
    if (c == '\n' || c == '\r')
      c = ' ';
  os << " " << clean << "\n";
  return true;
}

} // namespace

bool compile_support::readExternalWeights(ModuleOp module, StringRef inputFile,
                                          std::vector<ExternalWeight> &weights,
                                          std::vector<HostTensor> &data,
                                          std::string &error) {
  llvm::SmallString<256> baseDir(inputFile);
  llvm::sys::path::remove_filename(baseDir);
  if (baseDir.empty())
    baseDir = ".";
  collectExternalWeights(module, baseDir, weights);
  data = std::vector<HostTensor>(weights.size());
  for (auto [w, tensor] : llvm::zip(weights, data)) {
    std::string why;
    if (lathe_h5_read(w.path.c_str(), w.dataset.c_str(), &tensor.t) != LATHE_OK)
      why = lathe_rt_last_error();
    else if (checkMatchesType(tensor, w.type, why))
      continue;
    error = "external weight " + w.dataset + " of '" + w.path + "': " + why;
    return false;
  }
  return true;
}

bool compile_support::describeSignature(ModuleOp module, StringRef entry,
                                        FunctionType signature,
                                        std::string &text, std::string &error) {
  auto func = module.lookupSymbol<func::FuncOp>(entry);
  auto nameOf = [&](bool input, unsigned i) -> std::string {
    StringAttr name;
    if (func)
      name = input ? func.getArgAttrOfType<StringAttr>(i, "onnx.name")
                   : func.getResultAttrOfType<StringAttr>(i, "onnx.name");
    if (name && !name.getValue().empty())
      return name.getValue().str();
    return (input ? "input" : "output") + std::to_string(i);
  };
  llvm::raw_string_ostream os(text);
  for (auto [i, type] : llvm::enumerate(signature.getInputs()))
    if (!signatureLine(os, "input", type, nameOf(true, i), error))
      return false;
  for (auto [i, type] : llvm::enumerate(signature.getResults()))
    if (!signatureLine(os, "output", type, nameOf(false, i), error))
      return false;
  return true;
}

bool compile_support::checkOutputDirectory(const std::string &path,
                                           std::string &error) {
  llvm::SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (!dir.empty() && !llvm::sys::fs::is_directory(dir)) {
    error = "cannot write '" + path + "': directory '" + dir.str().str() +
            "' does not exist";
    return false;
  }
  return true;
}

bool compile_support::writeModelFile(const std::string &path,
                                     StringRef metadata, StringRef library,
                                     llvm::ArrayRef<DataPiece> data,
                                     uint64_t dataSize, std::string &error) {
  // Header, section table, then META, CODE and DATA at page boundaries.
  lathe_model_section sections[3] = {};
  std::memcpy(sections[0].kind, "META", 4);
  std::memcpy(sections[1].kind, "CODE", 4);
  std::memcpy(sections[2].kind, "DATA", 4);
  uint64_t at = sizeof(lathe_model_file_header) + sizeof(sections);
  sections[0].size = metadata.size();
  sections[1].size = library.size();
  sections[2].size = dataSize;
  for (lathe_model_section &s : sections) {
    s.offset = alignTo(at, LATHE_MODEL_SECTION_ALIGN);
    at = s.offset + s.size;
  }
  sections[0].checksum = lathe_model_checksum(metadata.data(), metadata.size());
  sections[1].checksum = lathe_model_checksum(library.data(), library.size());
  lathe_model_file_header header = {};
  std::memcpy(header.magic, LATHE_MODEL_MAGIC, 8);
  header.format_version = LATHE_MODEL_FORMAT_VERSION;
  header.num_sections = 3;
  header.file_size = at;

  // Written under a private name, then renamed: never a partial file.
  std::string temp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(temp, ec);
    if (ec) {
      error = "cannot write '" + path + "': " + ec.message();
      return false;
    }
    uint64_t written = 0;
    auto padTo = [&](uint64_t offset) {
      os.write_zeros(offset - written);
      written = offset;
    };
    auto put = [&](const char *bytes, uint64_t size) {
      os.write(bytes, size);
      written += size;
    };
    put(reinterpret_cast<const char *>(&header), sizeof(header));
    put(reinterpret_cast<const char *>(sections), sizeof(sections));
    padTo(sections[0].offset);
    put(metadata.data(), metadata.size());
    padTo(sections[1].offset);
    put(library.data(), library.size());
    for (const DataPiece &piece : data) {
      padTo(sections[2].offset + piece.offset);
      put(piece.bytes, piece.size);
    }
    padTo(at);
    os.close();
    if (os.has_error()) {
      std::string why = os.error().message();
      os.clear_error();
      llvm::sys::fs::remove(temp);
      error = "cannot write '" + path + "': " + why;
      return false;
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(temp, path)) {
    llvm::sys::fs::remove(temp);
    error = "cannot write '" + path + "': " + ec.message();
    return false;
  }
  return true;
}

OwningOpRef<ModuleOp>
mlir::lathe::parseCompileInput(const CompileOptions &options,
                               MLIRContext &context) {
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  std::string openError;
  OwningOpRef<ModuleOp> module = parseFileOrExit(
      options.inputFile, &context, sourceMgr, "lathe-compile", openError);
  if (!module && !openError.empty())
    fail("cannot open '" + options.inputFile + "': " + openError);
  else if (!module)
    fail("could not parse or verify '" + options.inputFile + "'");
  return module;
}

int mlir::lathe::compileMain(const CompileOptions &options, ModuleOp module) {
  if (options.backend == "cuda") {
#ifdef LATHE_HAS_CUDA
    return compileCudaMain(options, module);
#else
    return fail("--backend=cuda: this lathe-compile was built without the "
                "CUDA target (no CUDA toolkit at configure time)");
#endif
  }
#ifdef LATHE_HAS_CUDA
  if (options.backend != "cpu")
    return fail("unknown backend '" + options.backend +
                "' (available: cpu, cuda)");
#else
  if (options.backend != "cpu")
    return fail("unknown backend '" + options.backend + "' (available: cpu)");
#endif
  if (options.precision != "f32" && options.precision != "bf16")
    return fail("--precision=" + options.precision +
                ": expected f32 or bf16 (int8 is not implemented yet)");
  if (options.outputFile.empty())
    return fail("no output file: pass -o FILE.lathe");
  CpuPipelineOptions pipelineOptions;
  pipelineOptions.trace = options.trace;
  // The layout of oneDNN's bf16 convolutions where this CPU has them (see
  // checkCpuCompileOptions); elsewhere the artifact still runs, in f32.
  pipelineOptions.channelsLast =
      options.precision == "bf16" && lathe_rt_cpu_has_bf16();
  std::string error;
  if (failed(parseFastMath(options.fastMath, pipelineOptions, error)))
    return fail("--fast-math=" + options.fastMath + ": " + error);
  if (!checkOutputDirectory(options.outputFile, error))
    return fail(error);

  // The signature, with the names an importer gave the arguments.
  FunctionType signature;
  if (failed(getEntrySignature(module, options.entry, signature, error)))
    return fail(error + " in '" + options.inputFile + "'");
  std::string metadata;
  llvm::raw_string_ostream meta(metadata);
  std::string signatureText;
  if (!describeSignature(module, options.entry, signature, signatureText,
                         error))
    return fail(error);

  // External weights go into the file: read them now.
  std::vector<ExternalWeight> weights;
  std::vector<HostTensor> weightData;
  if (!readExternalWeights(module, options.inputFile, weights, weightData,
                           error))
    return fail(error);

  PassManager pm = PassManager::on<ModuleOp>(module.getContext());
  if (failed(buildCpuPipeline(pm, "", error, pipelineOptions)))
    return fail("bad pipeline: " + error);
  if (failed(pm.run(module)))
    return fail("compilation of '" + options.inputFile + "' failed");
  auto entry = module.lookupSymbol<LLVM::LLVMFuncOp>(options.entry);
  if (!entry || entry.isExternal())
    return fail("@" + options.entry + " is not a function after compilation");

  ExecutableOptions executableOptions;
  executableOptions.targetCpu = options.targetCpu;
  executableOptions.sharedLibrary = true;
  for (const ExternalWeight &w : weights)
    executableOptions.tableSymbols.push_back(w.symbol);
  std::string triple, cpu;
  std::vector<std::string> features;
  if (failed(describeTargetFeatures(executableOptions, triple, cpu, features,
                                    error)))
    return fail((options.targetCpu != "host"
                     ? "--cpu=" + options.targetCpu + ": "
                     : std::string()) +
                error);
  CompiledModule compiled;
  if (failed(compileModule(module, executableOptions, compiled, error)))
    return fail(error);

  TempFiles temps;
  std::string objectPath, library;
  if (!temps.write("o", compiled.object->getBuffer(), objectPath, error))
    return fail(error);
  std::vector<std::string> libraries;
  if (!cpuLibraries(libraries, error) ||
      !linkSharedLibrary(objectPath, libraries, library, error))
    return fail(error);

  // DATA: the constants as compileModule laid them out, then the weights.
  std::vector<DataPiece> data;
  uint64_t dataSize = compiled.data.size();
  if (dataSize)
    data.push_back({compiled.data.data(), 0, dataSize});
  meta << "lathe-model 1\n"
       << "entry " << options.entry << "\n"
       << "symbol _mlir_" << options.entry << "\n"
       << "target " << triple << " " << cpu << "\n"
       << "cpu_features " << llvm::join(features, ",") << "\n"
       << "precision " << options.precision << "\n"
       << "fast_math " << pipelineOptions.fastMathName() << "\n"
       << "trace_marks " << (options.trace ? 1 : 0) << "\n"
       << "source " << llvm::sys::path::filename(options.inputFile) << "\n"
       << "lathe_version " << getLatheVersion() << "\n"
       << signatureText;
  for (const ConstantSlice &slice : compiled.constants)
    meta << "constant " << slice.offset << " " << slice.size << " "
         << slice.symbol << "\n";
  for (auto [w, tensor] : llvm::zip(weights, weightData)) {
    uint64_t offset = alignTo(dataSize, 64);
    data.push_back({static_cast<const char *>(tensor.t.data), offset,
                    static_cast<uint64_t>(tensor.numBytes())});
    meta << "constant " << offset << " " << tensor.numBytes() << " " << w.symbol
         << "\n";
    dataSize = offset + tensor.numBytes();
  }

  if (!writeModelFile(options.outputFile, metadata, library, data, dataSize,
                      error))
    return fail(error);
  llvm::outs() << llvm::formatv(
      "wrote {0}: {1} bytes of code, {2} bytes of weights, for {3} {4} ({5})\n",
      options.outputFile, library.size(), dataSize, triple, cpu,
      features.empty() ? std::string("no extensions")
                       : llvm::join(features, ","));
  return 0;
}

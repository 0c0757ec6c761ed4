//===- Executable.cpp - A compiled module, callable from C++ --------------===//

#include "lathe/Driver/Executable.h"
#include "lathe/Support/MemRefDescriptor.h"

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/runtime/ModelFormat.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/RTDyldObjectLinkingLayer.h"
#include "llvm/ExecutionEngine/SectionMemoryManager.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SmallVectorMemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// Identity-layout memrefs stand for the tensors of the same shape (IR from
/// after bufferization); everything else is kept as is.
Type asTensorType(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref || !memref.getLayout().isIdentity())
    return type;
  return RankedTensorType::get(memref.getShape(), memref.getElementType());
}

/// The entry's signature with tensor types, from IR at any phase: a func.func
/// (tensors, or memrefs after bufferization) or, in the LLVM dialect, the
/// `lathe.signature` attribute recorded by lathe-record-signature.
/// A fact about generated code that LLVM cannot see, stated before -O3: the
/// runtime's allocation functions return fresh memory (`noalias`), so the
/// buffers of different ops are known not to overlap and loop-carried
/// accumulators stay in registers. (Floating-point freedoms are not granted
/// here but in the IR, by lathe-llvm-fastmath.)
void markFreshAllocations(llvm::Module &module) {
  for (StringRef name :
       {"_mlir_memref_to_llvm_alloc", "_mlir_memref_to_llvm_aligned_alloc"})
    if (llvm::Function *alloc = module.getFunction(name))
      alloc->addRetAttr(llvm::Attribute::NoAlias);
}

/// Copies a (possibly strided) result memref into a dense host tensor.
void copyStrided(const char *base, int64_t elemSize, ArrayRef<int64_t> sizes,
                 ArrayRef<int64_t> strides, char *&out) {
  if (sizes.empty()) {
    std::memcpy(out, base, elemSize);
    out += elemSize;
    return;
  }
  if (sizes.size() == 1 && strides[0] == 1) {
    std::memcpy(out, base, sizes[0] * elemSize);
    out += sizes[0] * elemSize;
    return;
  }
  for (int64_t i = 0; i < sizes[0]; ++i)
    copyStrided(base + i * strides[0] * elemSize, elemSize, sizes.drop_front(),
                strides.drop_front(), out);
}

} // namespace

void mlir::lathe::collectExternalWeights(ModuleOp module, StringRef baseDir,
                                         std::vector<ExternalWeight> &weights) {
  auto add = [&](StringRef symbol, ExternalWeightAttr source, Type type) {
    for (const ExternalWeight &w : weights)
      if (w.symbol == symbol)
        return;
    SmallString<256> path(source.getPath());
    if (!llvm::sys::path::is_absolute(path)) {
      path = baseDir;
      llvm::sys::path::append(path, source.getPath());
    }
    ExternalWeight w;
    w.symbol = symbol.str();
    w.path = path.str().str();
    w.dataset = source.getDataset().str();
    if (auto memref = dyn_cast<MemRefType>(type))
      w.type =
          RankedTensorType::get(memref.getShape(), memref.getElementType());
    else
      w.type = cast<RankedTensorType>(type);
    weights.push_back(std::move(w));
  };
  module.walk([&](Operation *op) {
    if (auto weight = dyn_cast<WeightOp>(op)) {
      auto tensor = cast<RankedTensorType>(weight.getType());
      auto memref = MemRefType::get(tensor.getShape(), tensor.getElementType());
      add(getExternalWeightSymbol(weight.getSource(), memref),
          weight.getSource(), memref);
    } else if (auto global = dyn_cast<memref::GlobalOp>(op)) {
      if (auto source = global->getAttrOfType<ExternalWeightAttr>(
              kExternalSourceAttrName))
        add(global.getSymName(), source, global.getType());
    }
  });
}

LogicalResult mlir::lathe::getEntrySignature(ModuleOp module, StringRef name,
                                             FunctionType &type,
                                             std::string &error) {
  type = FunctionType();
  Operation *entry = SymbolTable::lookupSymbolIn(module, name);
  auto recorded =
      entry ? entry->getAttrOfType<TypeAttr>("lathe.signature") : TypeAttr();
  if (auto fn = dyn_cast_or_null<func::FuncOp>(entry)) {
    if (!fn.isDeclaration())
      type = recorded ? cast<FunctionType>(recorded.getValue())
                      : fn.getFunctionType();
  } else if (isa_and_nonnull<LLVM::LLVMFuncOp>(entry)) {
    if (!recorded) {
      error = "entry @" + name.str() +
              " is an llvm.func without a lathe.signature attribute (lower "
              "it with Lathe's pipelines, which record it)";
      return failure();
    }
    type = cast<FunctionType>(recorded.getValue());
  }
  if (!type) {
    std::string names;
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn.isDeclaration())
        names += (names.empty() ? "" : ", ") + fn.getSymName().str();
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
      if (!fn.isExternal() && fn->hasAttr("lathe.signature"))
        names += (names.empty() ? "" : ", ") + fn.getSymName().str();
    error = "no function named '" + name.str() +
            "' (functions: " + (names.empty() ? "none" : names) + ")";
    return failure();
  }
  auto convert = [](TypeRange types) {
    return llvm::map_to_vector(types, asTensorType);
  };
  type = FunctionType::get(module.getContext(), convert(type.getInputs()),
                           convert(type.getResults()));
  return success();
}

//===----------------------------------------------------------------------===//
// Executable
//===----------------------------------------------------------------------===//

//===----------------------------------------------------------------------===//
// ConstantData
//===----------------------------------------------------------------------===//

ConstantData::~ConstantData() { release(); }

ConstantData::ConstantData(ConstantData &&other) noexcept
    : bytes(other.bytes), numBytes(other.numBytes), mapped(other.mapped) {
  other.bytes = nullptr;
  other.numBytes = 0;
}

ConstantData &ConstantData::operator=(ConstantData &&other) noexcept {
  if (this != &other) {
    release();
    bytes = other.bytes;
    numBytes = other.numBytes;
    mapped = other.mapped;
    other.bytes = nullptr;
    other.numBytes = 0;
  }
  return *this;
}

void ConstantData::release() {
  if (bytes) {
    if (mapped)
      ::munmap(bytes, numBytes);
    else
      std::free(bytes);
  }
  bytes = nullptr;
  numBytes = 0;
  mapped = false;
}

bool ConstantData::allocate(uint64_t size) {
  release();
  if (size == 0)
    return true;
  uint64_t rounded = (size + 63) / 64 * 64;
  bytes = static_cast<char *>(std::aligned_alloc(64, rounded));
  if (!bytes)
    return false;
  std::memset(bytes, 0, rounded);
  numBytes = size;
  return true;
}

bool ConstantData::mapFile(const std::string &path, uint64_t size,
                           std::string &error) {
  release();
  if (size == 0)
    return true;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  struct stat info;
  if (::fstat(fd, &info) != 0 || static_cast<uint64_t>(info.st_size) != size) {
    ::close(fd);
    error = "'" + path + "' does not hold the " + std::to_string(size) +
            " bytes of constants its object refers to";
    return false;
  }
  // Copy-on-write: the generated code may treat the data as its own memory.
  void *p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) {
    error = "cannot map '" + path + "': " + std::strerror(errno);
    return false;
  }
  bytes = static_cast<char *>(p);
  numBytes = size;
  mapped = true;
  return true;
}

CompiledModule::CompiledModule() = default;
CompiledModule::~CompiledModule() = default;
CompiledModule::CompiledModule(CompiledModule &&) = default;
CompiledModule &CompiledModule::operator=(CompiledModule &&) = default;

//===----------------------------------------------------------------------===//
// Compilation
//===----------------------------------------------------------------------===//

namespace {

/// The bytes of a constant global's initializer in memory order, or nothing
/// where the initializer is not plain data (i1, strings, elided resources).
std::optional<ArrayRef<char>> rawConstantBytes(LLVM::GlobalOp global,
                                               std::vector<char> &splat) {
  auto value = dyn_cast_or_null<ElementsAttr>(global.getValueOrNull());
  if (!value)
    return std::nullopt;
  auto shaped = cast<ShapedType>(value.getType());
  Type element = shaped.getElementType();
  if (!element.isIntOrFloat() || element.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  int64_t elementBytes = element.getIntOrFloatBitWidth() / 8;
  int64_t total = shaped.getNumElements() * elementBytes;
  if (auto dense = dyn_cast<DenseIntOrFPElementsAttr>(value)) {
    ArrayRef<char> raw = dense.getRawData();
    if (!dense.isSplat())
      return raw.size() == static_cast<size_t>(total)
                 ? std::optional<ArrayRef<char>>(raw)
                 : std::nullopt;
    if (raw.size() != static_cast<size_t>(elementBytes))
      return std::nullopt;
    splat.resize(total);
    for (int64_t i = 0; i < total; i += elementBytes)
      std::memcpy(splat.data() + i, raw.data(), elementBytes);
    return ArrayRef<char>(splat);
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != static_cast<size_t>(total))
      return std::nullopt;
    return blob->getData();
  }
  return std::nullopt;
}

/// Moves the initializers of large constant globals into `compiled`'s data
/// and leaves external declarations for the loader to bind.
LogicalResult externalizeConstants(ModuleOp module, int64_t minBytes,
                                   CompiledModule &compiled,
                                   std::string &error) {
  struct Pending {
    LLVM::GlobalOp global;
    uint64_t offset;
  };
  std::vector<Pending> pending;
  uint64_t total = 0;
  std::vector<char> splat;
  for (auto global : module.getOps<LLVM::GlobalOp>()) {
    if (!global.getConstant() || global.getInitializerBlock())
      continue;
    std::optional<ArrayRef<char>> bytes = rawConstantBytes(global, splat);
    if (!bytes || static_cast<int64_t>(bytes->size()) < minBytes)
      continue;
    uint64_t align = std::max<uint64_t>(64, global.getAlignment().value_or(1));
    total = (total + align - 1) / align * align;
    pending.push_back({global, total});
    compiled.constants.push_back({global.getSymName().str(), total,
                                  static_cast<uint64_t>(bytes->size())});
    total += bytes->size();
  }
  if (!compiled.data.allocate(total)) {
    error =
        "out of memory for " + std::to_string(total) + " bytes of constants";
    return failure();
  }
  for (Pending &p : pending) {
    std::optional<ArrayRef<char>> bytes = rawConstantBytes(p.global, splat);
    std::memcpy(compiled.data.data() + p.offset, bytes->data(), bytes->size());
    p.global.removeValueAttr();
    p.global.setLinkage(LLVM::Linkage::External);
    p.global.setVisibility_(LLVM::Visibility::Default);
    p.global.setUnnamedAddr(LLVM::UnnamedAddr::None);
    p.global.setDsoLocal(false);
  }
  return success();
}

/// Replaces every use of the globals `symbols` (constants kept as data,
/// external weights) by a load from one slot of a table of pointers,
/// LATHE_MODEL_CONSTANT_TABLE, that the loader fills, and erases the globals.
/// A shared library built this way has no undefined data symbols: it is
/// loaded with dlopen alone.
LogicalResult routeThroughTable(ModuleOp module, ArrayRef<std::string> symbols,
                                std::string &error) {
  MLIRContext *ctx = module.getContext();
  llvm::StringMap<int64_t> slots;
  for (auto [i, symbol] : llvm::enumerate(symbols))
    slots[symbol] = i;
  Location loc = module.getLoc();
  OpBuilder builder(ctx);
  builder.setInsertionPointToStart(module.getBody());
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  auto tableType =
      LLVM::LLVMArrayType::get(ptrType, std::max<size_t>(symbols.size(), 1));
  auto table = LLVM::GlobalOp::create(
      builder, loc, tableType, /*isConstant=*/false, LLVM::Linkage::External,
      LATHE_MODEL_CONSTANT_TABLE, Attribute(), /*alignment=*/64);
  {
    OpBuilder::InsertionGuard guard(builder);
    Block *init = builder.createBlock(&table.getInitializerRegion());
    builder.setInsertionPointToStart(init);
    Value zero = LLVM::ZeroOp::create(builder, loc, tableType);
    LLVM::ReturnOp::create(builder, loc, zero);
  }
  // Its length, for the loader to check against the file's metadata.
  auto i64 = builder.getI64Type();
  LLVM::GlobalOp::create(builder, loc, i64, /*isConstant=*/true,
                         LLVM::Linkage::External,
                         LATHE_MODEL_CONSTANT_TABLE "_size",
                         builder.getI64IntegerAttr(symbols.size()),
                         /*alignment=*/8);

  SmallVector<LLVM::AddressOfOp> uses;
  module.walk([&](LLVM::AddressOfOp op) {
    if (slots.count(op.getGlobalName()))
      uses.push_back(op);
  });
  for (LLVM::AddressOfOp op : uses) {
    if (!op->getParentOfType<LLVM::LLVMFuncOp>()) {
      error = "the constant @" + op.getGlobalName().str() +
              " is used outside a function; lathe-compile cannot keep it as "
              "data";
      return failure();
    }
    builder.setInsertionPoint(op);
    Value base = LLVM::AddressOfOp::create(builder, op.getLoc(), table);
    Value slot = LLVM::GEPOp::create(
        builder, op.getLoc(), ptrType, tableType, base,
        ArrayRef<LLVM::GEPArg>{
            0, static_cast<int32_t>(slots.lookup(op.getGlobalName()))});
    // Written once by the loader, before any call.
    Value pointer = LLVM::LoadOp::create(builder, op.getLoc(), ptrType, slot,
                                         /*alignment=*/8, /*isVolatile=*/false,
                                         /*isNonTemporal=*/false,
                                         /*isInvariant=*/true);
    op.replaceAllUsesWith(pointer);
    op.erase();
  }
  for (auto global :
       llvm::make_early_inc_range(module.getOps<LLVM::GlobalOp>()))
    if (slots.count(global.getSymName()))
      global.erase();
  return success();
}

/// `_mlir_NAME(void **args)` for every function defined in the module: the
/// packed calling convention Invocation uses (each argument word through a
/// pointer, then a pointer to the result).
void addPackedInterfaces(llvm::Module &module) {
  std::vector<llvm::Function *> functions;
  for (llvm::Function &fn : module)
    if (!fn.isDeclaration() && fn.hasExternalLinkage())
      functions.push_back(&fn);
  llvm::LLVMContext &ctx = module.getContext();
  auto *ptrType = llvm::PointerType::get(ctx, 0);
  for (llvm::Function *fn : functions) {
    auto *type =
        llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrType}, false);
    auto *wrapper =
        llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                               "_mlir_" + fn->getName(), module);
    llvm::IRBuilder<> builder(llvm::BasicBlock::Create(ctx, "entry", wrapper));
    llvm::Value *packed = wrapper->getArg(0);
    SmallVector<llvm::Value *> args;
    for (auto [i, arg] : llvm::enumerate(fn->args())) {
      llvm::Value *slot =
          builder.CreateGEP(ptrType, packed, builder.getInt64(i));
      llvm::Value *argPtr = builder.CreateLoad(ptrType, slot);
      args.push_back(builder.CreateLoad(arg.getType(), argPtr));
    }
    llvm::Value *result = builder.CreateCall(fn, args);
    if (!result->getType()->isVoidTy()) {
      llvm::Value *slot =
          builder.CreateGEP(ptrType, packed, builder.getInt64(fn->arg_size()));
      builder.CreateStore(result, builder.CreateLoad(ptrType, slot));
    }
    builder.CreateRetVoid();
  }
}

llvm::Expected<llvm::orc::JITTargetMachineBuilder>
targetMachineBuilder(const ExecutableOptions &options) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder)
    return llvm::createStringError("cannot detect the host: " +
                                   llvm::toString(tmBuilder.takeError()));
  if (options.targetCpu != "host") {
    std::string lookupError;
    const llvm::Target *target = llvm::TargetRegistry::lookupTarget(
        tmBuilder->getTargetTriple(), lookupError);
    std::unique_ptr<llvm::MCSubtargetInfo> info;
    if (target)
      info.reset(target->createMCSubtargetInfo(tmBuilder->getTargetTriple(),
                                               options.targetCpu, ""));
    if (!info || !info->isCPUStringValid(options.targetCpu))
      return llvm::createStringError(
          "--target-cpu=" + options.targetCpu +
          ": not a CPU LLVM knows for this target (e.g. host, x86-64-v2, "
          "x86-64-v3, x86-64-v4, skylake-avx512)");
    tmBuilder->setCPU(options.targetCpu);
    tmBuilder->getFeatures() = llvm::SubtargetFeatures();
  }
  tmBuilder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  if (options.sharedLibrary)
    tmBuilder->setRelocationModel(llvm::Reloc::PIC_);
  return tmBuilder;
}

/// The target machine `options` describe; null with `error` set when there
/// is none.
std::unique_ptr<llvm::TargetMachine>
createTargetMachine(const ExecutableOptions &options, std::string &error) {
  auto tmBuilder = targetMachineBuilder(options);
  if (!tmBuilder) {
    error = llvm::toString(tmBuilder.takeError());
    return nullptr;
  }
  auto tm = tmBuilder->createTargetMachine();
  if (!tm) {
    error = "cannot create a target machine: " + llvm::toString(tm.takeError());
    return nullptr;
  }
  return std::move(*tm);
}

} // namespace

LogicalResult mlir::lathe::describeTargetFeatures(
    const ExecutableOptions &options, std::string &triple, std::string &cpu,
    std::vector<std::string> &features, std::string &error) {
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(options, error);
  if (!tm)
    return failure();
  const llvm::MCSubtargetInfo *info = tm->getMCSubtargetInfo();
  triple = tm->getTargetTriple().str();
  cpu = tm->getTargetCPU().str();
  features.clear();
  for (int i = 0; const char *name = lathe_model_cpu_feature(i); ++i) {
    // checkFeatures aborts on a name LLVM does not know.
    bool known = llvm::any_of(info->getAllProcessorFeatures(),
                              [&](const llvm::SubtargetFeatureKV &kv) {
                                return StringRef(kv.Key) == name;
                              });
    if (known && info->checkFeatures(("+" + StringRef(name)).str()))
      features.push_back(name);
  }
  llvm::sort(features);
  return success();
}

std::string mlir::lathe::describeTarget(const ExecutableOptions &options) {
  auto tmBuilder = targetMachineBuilder(options);
  if (!tmBuilder) {
    std::string message = llvm::toString(tmBuilder.takeError());
    return "invalid target: " + message;
  }
  return tmBuilder->getTargetTriple().str() + " " + tmBuilder->getCPU() + " " +
         tmBuilder->getFeatures().getString();
}

LogicalResult mlir::lathe::compileModule(ModuleOp module,
                                         const ExecutableOptions &options,
                                         CompiledModule &compiled,
                                         std::string &error) {
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(options, error);
  if (!tm)
    return failure();
  if (failed(
          externalizeConstants(module, options.minDataBytes, compiled, error)))
    return failure();
  if (options.sharedLibrary) {
    compiled.table.clear();
    for (const ConstantSlice &slice : compiled.constants)
      compiled.table.push_back(slice.symbol);
    llvm::append_range(compiled.table, options.tableSymbols);
    if (failed(routeThroughTable(module, compiled.table, error)))
      return failure();
  }

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "lathe");
  if (!llvmModule) {
    error = "translation of the module to LLVM IR failed";
    return failure();
  }
  ExecutionEngine::setupTargetTripleAndDataLayout(llvmModule.get(), tm.get());
  addPackedInterfaces(*llvmModule);
  markFreshAllocations(*llvmModule);
  auto optimize = makeOptimizingTransformer(3, 0, tm.get());
  if (llvm::Error err = optimize(llvmModule.get())) {
    error = "LLVM optimization failed: " + llvm::toString(std::move(err));
    return failure();
  }

  llvm::SmallVector<char, 0> object;
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager codegen;
  if (tm->addPassesToEmitFile(codegen, os, nullptr,
                              llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return failure();
  }
  codegen.run(*llvmModule);
  compiled.object = std::make_unique<llvm::SmallVectorMemoryBuffer>(
      std::move(object), "lathe-module.o", /*RequiresNullTerminator=*/false);
  return success();
}

//===----------------------------------------------------------------------===//
// Executable
//===----------------------------------------------------------------------===//

std::unique_ptr<Executable>
Executable::create(ModuleOp module, std::vector<ExternalWeight> weights,
                   const ExecutableOptions &options, std::string &error) {
  CompiledModule compiled;
  if (failed(compileModule(module, options, compiled, error)))
    return nullptr;
  return load(std::move(compiled), std::move(weights), options, error);
}

std::unique_ptr<Executable>
Executable::load(CompiledModule compiled, std::vector<ExternalWeight> weights,
                 const ExecutableOptions &options, std::string &error) {
  auto tmBuilder = targetMachineBuilder(options);
  if (!tmBuilder) {
    error = llvm::toString(tmBuilder.takeError());
    return nullptr;
  }
  auto maybeJit =
      llvm::orc::LLJITBuilder()
          .setJITTargetMachineBuilder(std::move(*tmBuilder))
          .setObjectLinkingLayerCreator(
              [](llvm::orc::ExecutionSession &es)
                  -> llvm::Expected<std::unique_ptr<llvm::orc::ObjectLayer>> {
                return std::make_unique<llvm::orc::RTDyldObjectLinkingLayer>(
                    es, [](const llvm::MemoryBuffer &) {
                      return std::make_unique<llvm::SectionMemoryManager>();
                    });
              })
          .create();
  if (!maybeJit) {
    error = "cannot create the JIT: " + llvm::toString(maybeJit.takeError());
    return nullptr;
  }
  std::unique_ptr<Executable> exe(new Executable());
  exe->jit = std::move(*maybeJit);
  exe->constants = std::move(compiled.data);
  llvm::orc::JITDylib &main = exe->jit->getMainJITDylib();
  auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      exe->jit->getDataLayout().getGlobalPrefix());
  if (!process) {
    error = "cannot search this process's symbols: " +
            llvm::toString(process.takeError());
    return nullptr;
  }
  main.addGenerator(std::move(*process));

  // The module's runtime session (Runtime.h): its caches, pre-packed
  // constant weights keyed by address among them, die with the executable,
  // before the JIT frees the module's memory.
  lathe_rt_session_options sessionOptions;
  lathe_rt_session_options_init(&sessionOptions);
  sessionOptions.num_threads = options.threads;
  sessionOptions.precision = options.precision;
  exe->session = lathe_rt_session_create(&sessionOptions);
  if (!exe->session) {
    error = std::string("cannot create a runtime session: ") +
            lathe_rt_last_error();
    return nullptr;
  }
  exe->previousSession = lathe_rt_session_bind(exe->session);

  // External weights: loaded once, 64-byte aligned, counted as runtime memory.
  exe->weights = std::move(weights);
  for (ExternalWeight &w : exe->weights) {
    HostTensor data;
    if (lathe_h5_read(w.path.c_str(), w.dataset.c_str(), &data.t) != LATHE_OK) {
      error = "external weight " + w.dataset + " of '" + w.path +
              "': " + lathe_rt_last_error();
      return nullptr;
    }
    std::string typeError;
    if (!checkMatchesType(data, w.type, typeError)) {
      error =
          "external weight " + w.dataset + " of '" + w.path + "': " + typeError;
      return nullptr;
    }
    w.storage = lathe_rt_alloc(std::max<size_t>(data.numBytes(), 1));
    if (!w.storage) {
      error = "out of memory loading external weight " + w.dataset;
      return nullptr;
    }
    std::memcpy(w.storage, data.t.data, data.numBytes());
  }

  llvm::orc::MangleAndInterner mangle(exe->jit->getExecutionSession(),
                                      exe->jit->getDataLayout());
  llvm::orc::SymbolMap symbols;
  for (const ExternalWeight &w : exe->weights)
    symbols[mangle(w.symbol)] = {llvm::orc::ExecutorAddr::fromPtr(w.storage),
                                 llvm::JITSymbolFlags::Exported};
  for (const ConstantSlice &slice : compiled.constants) {
    if (slice.offset + slice.size > exe->constants.size()) {
      error = "constant @" + slice.symbol + " lies outside the module's data";
      return nullptr;
    }
    symbols[mangle(slice.symbol)] = {
        llvm::orc::ExecutorAddr::fromPtr(exe->constants.data() + slice.offset),
        llvm::JITSymbolFlags::Exported};
  }
  if (llvm::Error err = main.define(llvm::orc::absoluteSymbols(symbols))) {
    error = "cannot bind the module's data: " + llvm::toString(std::move(err));
    return nullptr;
  }
  if (llvm::Error err = exe->jit->addObjectFile(std::move(compiled.object))) {
    error =
        "cannot load the compiled module: " + llvm::toString(std::move(err));
    return nullptr;
  }
  if (llvm::Error err = exe->jit->initialize(main)) {
    error = "cannot initialize the compiled module: " +
            llvm::toString(std::move(err));
    return nullptr;
  }
  return exe;
}

Executable::~Executable() {
  if (session) {
    lathe_rt_session_bind(previousSession);
    lathe_rt_session_destroy(session);
  }
  if (jit)
    llvm::consumeError(jit->deinitialize(jit->getMainJITDylib()));
  jit.reset();
  for (ExternalWeight &w : weights)
    lathe_rt_free(w.storage);
}

std::unique_ptr<Invocation>
Executable::prepare(StringRef entry, FunctionType type,
                    ArrayRef<const lathe_host_tensor *> inputs,
                    std::string &error) {
  auto packed = jit->lookup(("_mlir_" + entry).str());
  if (!packed) {
    error = "entry @" + entry.str() + " not found after compilation: " +
            llvm::toString(packed.takeError());
    return nullptr;
  }
  if (inputs.size() != type.getNumInputs()) {
    error = "@" + entry.str() + " takes " +
            std::to_string(type.getNumInputs()) + " argument(s), " +
            std::to_string(inputs.size()) + " given";
    return nullptr;
  }
  std::unique_ptr<Invocation> call(new Invocation());
  call->function = packed->toPtr<void (*)(void **)>();
  call->type = type;
  // Packed arguments: a pointer to every descriptor field ({allocated,
  // aligned, offset, sizes[rank], strides[rank]}, 8 bytes each), then a
  // pointer to the results (one descriptor, or a struct of descriptors).
  for (const lathe_host_tensor *t : inputs)
    call->argWords.push_back(makeMemRefDescriptor(
        t->data, std::vector<int64_t>(t->shape, t->shape + t->rank)));
  for (std::vector<int64_t> &words : call->argWords)
    for (int64_t &word : words)
      call->packedArgs.push_back(&word);
  int64_t resultWords = 0;
  for (Type result : type.getResults()) {
    call->resultOffsets.push_back(resultWords);
    resultWords += 3 + 2 * cast<RankedTensorType>(result).getRank();
  }
  call->resultStorage.assign(std::max<int64_t>(resultWords, 1), 0);
  if (!type.getResults().empty())
    call->packedArgs.push_back(call->resultStorage.data());
  return call;
}

Invocation::~Invocation() { freeResults(); }

bool Invocation::run(std::string &error) {
  freeResults();
  // A failed cf.assert in the generated code returns here (the runtime's
  // setjmp) with its message as the pending error.
  lathe_rt_call_guarded(function, packedArgs.data());
  haveResults = true;
  char message[1024];
  if (lathe_rt_take_pending_error(message, sizeof(message))) {
    error = message;
    return false;
  }
  return true;
}

void Invocation::freeResults() {
  if (!haveResults)
    return;
  for (int64_t offset : resultOffsets) {
    void *allocated = reinterpret_cast<void *>(resultStorage[offset]);
    if (lathe_rt_mem_owns(allocated))
      _mlir_memref_to_llvm_free(allocated);
  }
  haveResults = false;
}

bool Invocation::takeResults(std::vector<HostTensor> &results,
                             std::string &error) {
  results.clear();
  results.resize(type.getNumResults());
  for (auto [i, resultType] : llvm::enumerate(type.getResults())) {
    auto tensorType = cast<RankedTensorType>(resultType);
    int64_t rank = tensorType.getRank();
    const int64_t *d = resultStorage.data() + resultOffsets[i];
    std::optional<lathe_dtype> dtype = dtypeFor(tensorType.getElementType());
    if (!dtype) {
      error = "result #" + std::to_string(i) + " has an unsupported type";
      return false;
    }
    SmallVector<int64_t> shape(d + 3, d + 3 + rank);
    if (lathe_host_tensor_alloc(&results[i].t, *dtype, rank, shape.data()) !=
        LATHE_OK) {
      error = lathe_rt_last_error();
      return false;
    }
    int64_t elemSize = lathe_dtype_size(*dtype);
    const char *base = reinterpret_cast<const char *>(d[1]) + d[2] * elemSize;
    char *out = static_cast<char *>(results[i].t.data);
    if (results[i].numElements() > 0)
      copyStrided(base, elemSize, shape, ArrayRef<int64_t>(d + 3 + rank, rank),
                  out);
  }
  freeResults();
  return true;
}

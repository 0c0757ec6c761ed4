//===- Executable.cpp - A compiled module, callable from C++ --------------===//

#include "lathe/Driver/Executable.h"

#include "lathe/Dialect/Lathe/LatheOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"

#include <algorithm>
#include <cstring>
#include <functional>

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

std::unique_ptr<Executable>
Executable::create(ModuleOp module, std::vector<ExternalWeight> weights,
                   const ExecutableOptions &options, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder) {
    error = "cannot detect the host: " + llvm::toString(tmBuilder.takeError());
    return nullptr;
  }
  if (options.targetCpu != "host") {
    std::string lookupError;
    const llvm::Target *target = llvm::TargetRegistry::lookupTarget(
        tmBuilder->getTargetTriple(), lookupError);
    std::unique_ptr<llvm::MCSubtargetInfo> info;
    if (target)
      info.reset(target->createMCSubtargetInfo(tmBuilder->getTargetTriple(),
                                               options.targetCpu, ""));
    if (!info || !info->isCPUStringValid(options.targetCpu)) {
      error = "--target-cpu=" + options.targetCpu +
              ": not a CPU LLVM knows for this target (e.g. host, "
              "x86-64-v2, x86-64-v3, x86-64-v4, skylake-avx512)";
      return nullptr;
    }
    tmBuilder->setCPU(options.targetCpu);
    tmBuilder->getFeatures() = llvm::SubtargetFeatures();
  }
  tmBuilder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  auto tm = tmBuilder->createTargetMachine();
  if (!tm) {
    error = "cannot create a target machine: " + llvm::toString(tm.takeError());
    return nullptr;
  }
  auto optimize = makeOptimizingTransformer(3, 0, tm->get());
  ExecutionEngineOptions engineOptions;
  std::function<llvm::Error(llvm::Module *)> transformer =
      [&optimize](llvm::Module *m) {
        markFreshAllocations(*m);
        return optimize(m);
      };
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  auto maybeEngine =
      ExecutionEngine::create(module, engineOptions, std::move(*tm));
  if (!maybeEngine) {
    error =
        "JIT compilation failed: " + llvm::toString(maybeEngine.takeError());
    return nullptr;
  }
  std::unique_ptr<Executable> exe(new Executable());
  exe->engine = std::move(*maybeEngine);

  // The module's runtime session (Runtime.h): its caches, pre-packed
  // constant weights keyed by address among them, die with the executable,
  // before the engine frees the module's memory.
  lathe_rt_session_options sessionOptions;
  lathe_rt_session_options_init(&sessionOptions);
  sessionOptions.num_threads = options.threads;
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
  const std::vector<ExternalWeight> &loaded = exe->weights;
  exe->engine->registerSymbols([&loaded](
                                   llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    for (const ExternalWeight &w : loaded)
      map[interner(w.symbol)] = {llvm::orc::ExecutorAddr::fromPtr(w.storage),
                                 llvm::JITSymbolFlags::Exported};
    return map;
  });
  exe->engine->initialize();
  return exe;
}

Executable::~Executable() {
  if (session) {
    lathe_rt_session_bind(previousSession);
    lathe_rt_session_destroy(session);
  }
  for (ExternalWeight &w : weights)
    lathe_rt_free(w.storage);
  engine.reset();
}

std::unique_ptr<Invocation>
Executable::prepare(StringRef entry, FunctionType type,
                    ArrayRef<const lathe_host_tensor *> inputs,
                    std::string &error) {
  auto packed = engine->lookupPacked(entry);
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
  call->function = *packed;
  call->type = type;
  // Packed arguments: a pointer to every descriptor field ({allocated,
  // aligned, offset, sizes[rank], strides[rank]}, 8 bytes each), then a
  // pointer to the results (one descriptor, or a struct of descriptors).
  for (const lathe_host_tensor *t : inputs) {
    std::vector<int64_t> words(3 + 2 * t->rank, 0);
    words[0] = words[1] = reinterpret_cast<int64_t>(t->data);
    int64_t stride = 1;
    for (int r = t->rank - 1; r >= 0; --r) {
      words[3 + r] = t->shape[r];
      words[3 + t->rank + r] = stride;
      stride *= t->shape[r];
    }
    call->argWords.push_back(std::move(words));
  }
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

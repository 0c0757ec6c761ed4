//===- ToolInfo.cpp - --version and --help for Lathe's tools --------------===//

#include "lathe/Support/ToolInfo.h"

#include "lathe/Support/CommandLine.h"

#include "lathe/runtime/Runtime.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir::lathe;

#ifndef LATHE_VERSION_STRING
#define LATHE_VERSION_STRING "unknown"
#endif

llvm::StringRef mlir::lathe::getLatheVersion() { return LATHE_VERSION_STRING; }

std::string mlir::lathe::describeHostCpu() {
  std::string model = "unknown CPU";
  if (auto buffer = llvm::MemoryBuffer::getFileAsStream("/proc/cpuinfo")) {
    llvm::SmallVector<llvm::StringRef> lines;
    (*buffer)->getBuffer().split(lines, '\n');
    for (llvm::StringRef line : lines)
      if (line.starts_with("model name")) {
        model = line.split(':').second.trim().str();
        break;
      }
  }
  std::string text = model + " (" + llvm::sys::getHostCPUName().str() + ")";
  // The features Lathe's code generation and kernels care about, in order.
  static const char *const kFeatures[] = {
      "sse4.2",   "avx",        "avx2",       "fma",
      "f16c",     "avx512f",    "avx512bw",   "avx512vl",
      "avx512dq", "avx512vnni", "avx512bf16", "avx512fp16",
      "avxvnni",  "amx-tile",   "amx-bf16",   "amx-int8"};
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  std::string used;
  for (const char *f : kFeatures)
    if (features.lookup(f))
      used += std::string(used.empty() ? "" : " ") + f;
  return text + "; generated code uses " + (used.empty() ? "none" : used);
}

void mlir::lathe::setToolVersionPrinter(llvm::StringRef tool) {
  static std::string name;
  name = tool.str();
  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << name << " (Lathe " << getLatheVersion() << ")\n"
       << "  MLIR/LLVM " << LLVM_VERSION_STRING << "\n"
       << "  " << lathe_rt_dnnl_description() << "\n"
       << "  CPU: " << describeHostCpu() << "\n";
  });
}

void mlir::lathe::hideUnrelatedOptions(
    llvm::ArrayRef<const llvm::cl::OptionCategory *> categories) {
  for (auto &[name, option] : llvm::cl::getRegisteredOptions()) {
    if (name == "help" || name == "version" ||
        option->getOptionHiddenFlag() != llvm::cl::NotHidden)
      continue;
    bool related = llvm::any_of(option->Categories, [&](auto *category) {
      return llvm::is_contained(categories, category);
    });
    if (!related)
      option->setHiddenFlag(llvm::cl::Hidden);
  }
}

void mlir::lathe::initTool(
    llvm::StringRef name, ToolOwns owns,
    llvm::ArrayRef<const llvm::cl::OptionCategory *> keep) {
  hidePreregisteredOptions({}, keep);
  if (owns == ToolOwns::Threads)
    removePreregisteredOption("threads");
  setToolVersionPrinter(name);
}

void mlir::lathe::parseToolOptions(
    int argc, char **argv,
    llvm::ArrayRef<const llvm::cl::OptionCategory *> categories,
    llvm::StringRef overview) {
  hideUnrelatedOptions(categories);
  llvm::cl::ParseCommandLineOptions(argc, argv, overview);
}

//===- lathe-accel-sim.cpp - Simulate an engine program on a device -------===//
//
// Runs a program given as JSON (lib/Target/Accel/Device.h) on the simulator
// of runtime/accel and prints the result as JSON: for programs that do not
// come from lathe-run (bench/accel's H-GCN tiles).
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/Accel/Device.h"
#include "lathe/runtime/AccelSim.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

static int fail(const llvm::Twine &message) {
  llvm::errs() << "lathe-accel-sim: error: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  static cl::OptionCategory category("lathe-accel-sim options");
  cl::opt<std::string> programFile(cl::Positional, cl::desc("<program.json>"),
                                   cl::Required, cl::cat(category));
  cl::opt<std::string> config("accel-config",
                              cl::desc("Device description (JSON)"),
                              cl::Required, cl::cat(category));
  cl::opt<std::string> trace(
      "accel-trace", cl::desc("Write a Chrome trace here"), cl::cat(category));
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "lathe-accel-sim: simulate an engine program\n");
  ::lathe::accel::Device device;
  std::string error;
  if (!mlir::lathe::loadAccelDevice(config, device, error))
    return fail(error);
  auto buffer = llvm::MemoryBuffer::getFile(programFile);
  if (!buffer)
    return fail("cannot read '" + programFile +
                "': " + buffer.getError().message());
  ::lathe::accel::Program program;
  if (!mlir::lathe::parseAccelProgramJson((*buffer)->getBuffer(), program,
                                          error))
    return fail("'" + programFile + "': " + error);
  ::lathe::accel::Result result;
  if (!::lathe::accel::simulate(device, program, result, error))
    return fail("'" + programFile + "': " + error);
  llvm::json::Array engines;
  for (const auto &e : result.engines)
    if (!e.slices.empty())
      engines.push_back(llvm::json::Object{
          {"name", e.name},
          {"busy_cycles", e.busyCycles},
          {"busy_fraction", ::lathe::accel::busyFraction(result, e)}});
  llvm::json::Object out{{"device", device.name},
                         {"total_cycles", result.totalCycles},
                         {"latency_us", result.timeUs},
                         {"bytes_loaded", result.bytesLoaded},
                         {"bytes_stored", result.bytesStored},
                         {"engines", std::move(engines)}};
  llvm::outs() << llvm::formatv("{0:2}", llvm::json::Value(std::move(out)))
               << "\n";
  if (!trace.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(trace, ec);
    if (ec)
      return fail("cannot write '" + trace + "': " + ec.message());
    os << ::lathe::accel::chromeTrace(device, program, result);
  }
  return 0;
}

//===- ToolInfo.h - --version and --help for Lathe's tools ------*- C++ -*-===//

#ifndef LATHE_SUPPORT_TOOLINFO_H
#define LATHE_SUPPORT_TOOLINFO_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"

#include <string>

namespace mlir::lathe {

/// Lathe's version, e.g. "0.5.0".
llvm::StringRef getLatheVersion();

/// "Intel(R) Xeon(R) Processor (sapphirerapids); generated code uses avx2 fma
/// avx512f ... amx-int8": the host CPU and the features of it that generated
/// code and oneDNN can use.
std::string describeHostCpu();

/// Makes --version print the tool's name, Lathe's, MLIR's and oneDNN's
/// versions and describeHostCpu().
void setToolVersionPrinter(llvm::StringRef tool);

/// Moves every option shown by --help that is in none of `categories` (the
/// MLIR context and printing flags, pass-manager instrumentation) to
/// --help-hidden. --help and --version stay; options already really hidden
/// stay so.
void hideUnrelatedOptions(
    llvm::ArrayRef<const llvm::cl::OptionCategory *> categories);

/// The options of libLLVM's that a tool declares itself instead.
enum class ToolOwns { Nothing, Threads };

/// The first lines of a Lathe tool's main, before it declares its options:
/// every option registered so far (libLLVM's, Polly's) becomes really hidden
/// (absent from --help and from "did you mean" suggestions, still accepted),
/// except those in `keep` (a tool's own global options); libLLVM's --threads
/// is unregistered when the tool owns one; --version prints the tool's name
/// and versions (setToolVersionPrinter).
void initTool(llvm::StringRef name, ToolOwns owns = ToolOwns::Nothing,
              llvm::ArrayRef<const llvm::cl::OptionCategory *> keep = {});

/// The last lines before a tool reads its options: what is in none of
/// `categories` (MLIR's flags the tool registered) goes to --help-hidden, and
/// the command line is parsed, `overview` heading --help.
void parseToolOptions(
    int argc, char **argv,
    llvm::ArrayRef<const llvm::cl::OptionCategory *> categories,
    llvm::StringRef overview);

} // namespace mlir::lathe

#endif // LATHE_SUPPORT_TOOLINFO_H

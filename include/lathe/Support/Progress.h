//===- Progress.h - Progress of long runs on stderr -------------*- C++ -*-===//
//
// On a terminal, one line redrawn in place: a bar, the count, the elapsed
// time and the estimated time left. Elsewhere (a log file, a pipe, CI), a
// plain line every few seconds. Nothing is printed for runs that end within
// the first second or two, so short runs stay quiet.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_SUPPORT_PROGRESS_H
#define LATHE_SUPPORT_PROGRESS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdio>
#include <string>

namespace mlir::lathe {

class Progress {
public:
  /// `what` names the unit ("timed calls", "steps", "shapes"); `total` > 0.
  Progress(llvm::StringRef tool, llvm::StringRef what, int64_t total,
           double quietSeconds = 1.0)
      : tool(tool.str()), what(what.str()), total(total),
        quietSeconds(quietSeconds),
        terminal(llvm::sys::Process::StandardErrIsDisplayed()),
        start(Clock::now()) {}
  ~Progress() { finish(); }
  Progress(const Progress &) = delete;
  Progress &operator=(const Progress &) = delete;

  /// `done` units are complete; `note` (e.g. "loss 0.41") is appended.
  void update(int64_t done, llvm::StringRef note = "") {
    double elapsed = seconds();
    if (elapsed < quietSeconds || done <= 0 || total <= 0)
      return;
    if (!terminal && elapsed < nextLine)
      return;
    double left = elapsed / done * (total - done);
    std::string line =
        llvm::formatv("{0}: {1} of {2} {3}, {4} elapsed, "
                      "about {5} left",
                      tool, done, total, what, formatSeconds(elapsed),
                      formatSeconds(left))
            .str();
    if (!note.empty())
      line += " (" + note.str() + ")";
    if (terminal) {
      constexpr int kWidth = 24;
      int filled = static_cast<int>(kWidth * done / total);
      std::string bar(filled, '#');
      bar.resize(kWidth, '.');
      llvm::errs() << "\r\x1b[K[" << bar << "] " << line;
      drawn = true;
    } else {
      llvm::errs() << line << "\n";
      nextLine = elapsed + 5.0;
    }
    llvm::errs().flush();
  }

  /// Ends the redrawn line (on a terminal) so later output starts cleanly.
  void finish() {
    if (drawn)
      llvm::errs() << "\n";
    drawn = false;
  }

  static std::string formatSeconds(double s) {
    if (s < 60)
      return llvm::formatv("{0:f1} s", s).str();
    long total = static_cast<long>(s + 0.5);
    char text[32];
    if (total < 3600)
      std::snprintf(text, sizeof(text), "%ldm%02lds", total / 60, total % 60);
    else
      std::snprintf(text, sizeof(text), "%ldh%02ldm", total / 3600,
                    (total / 60) % 60);
    return text;
  }

private:
  using Clock = std::chrono::steady_clock;
  double seconds() const {
    return std::chrono::duration<double>(Clock::now() - start).count();
  }

  std::string tool, what;
  int64_t total;
  double quietSeconds;
  bool terminal;
  bool drawn = false;
  double nextLine = 0;
  Clock::time_point start;
};

} // namespace mlir::lathe

#endif // LATHE_SUPPORT_PROGRESS_H

//===- PoolWindow.h - Which pooling windows reach the input -----*- C++ -*-===//
//
// Header-only, standard C++ only (no MLIR, no runtime state): the rule that
// tells whether every window of a padded pooling takes at least one input
// element. lathe-cpu-form-kernels forms a lathe.max_pool2d only when it does
// (a window of padding alone has no defined maximum there) and the runtime's
// pooling kernel checks the same of the shapes it is called with; one copy
// of the rule, so that both agree.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_POOLWINDOW_H
#define LATHE_RUNTIME_POOLWINDOW_H

#include <cstdint>

namespace lathe::pool_window {

/// Whether each of `out` windows along one dimension (`window` taps
/// `dilation` apart, the o-th starting at o * stride - padLow) takes one of
/// the positions [0, in) at least.
inline bool everyWindowTakesInput(int64_t in, int64_t padLow, int64_t window,
                                  int64_t stride, int64_t dilation,
                                  int64_t out) {
  for (int64_t o = 0; o < out; ++o) {
    bool takes = false;
    for (int64_t i = 0; i < window && !takes; ++i) {
      int64_t at = o * stride + i * dilation - padLow;
      takes = at >= 0 && at < in;
    }
    if (!takes)
      return false;
  }
  return true;
}

} // namespace lathe::pool_window

#endif // LATHE_RUNTIME_POOLWINDOW_H

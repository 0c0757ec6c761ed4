//===- Int8.h - Shared pieces of the int8 kernels ---------------*- C++ -*-===//
//
// Post-training static quantization (lathe-run --precision=int8): a kernel's
// f32 input is quantized per tensor over the range calibration observed, its
// constant weight per output channel (symmetric s8), the product accumulates
// in s32 and is written in f32 through oneDNN's output scales. Matmul.cpp and
// Conv.cpp use these helpers; Int8.cpp also keeps the calibration ranges and
// what each kernel site ran in, per session.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_LIB_INT8_H
#define LATHE_RUNTIME_LIB_INT8_H

#include "Dnnl.h"

#include <string>
#include <vector>

namespace lathe::rt {

/// How a kernel's input is quantized: u8 (zero point 0) when the calibrated
/// range is non-negative (inputs after a ReLU, pixels), otherwise s8
/// symmetric; `scale` is the real value of one step.
struct Int8Input {
  bool isSigned = false;
  float scale = 1.f;
  dnnl::memory::data_type type() const {
    return isSigned ? dnnl::memory::data_type::s8 : dnnl::memory::data_type::u8;
  }
};

/// How many f32 floating-point operations one int8 multiply-add is worth in
/// the thread-count decision (KernelThreads): VNNI's vpdpbusd does 4 u8 x s8
/// multiply-adds per 32-bit lane where an f32 FMA does 1 (AMX more), so an
/// int8 kernel of F operations takes about as long as an f32 one of F / 4.
/// Without it the 16x32 convolution of the digits CNN (26.5 M operations,
/// about 0.1 ms on one core with AMX) forked 2 threads, and each call waited
/// for a descheduled team thread on a loaded machine: 3.1 ms median per
/// call of the whole CNN instead of 0.64 ms with one thread (load ~11).
constexpr double kInt8OpsPerF32Flop = 4.0;

/// Convolutions with fewer input channels than this run in f32 (the report
/// says so): VNNI and AMX multiply groups of 4 input channels, and oneDNN
/// 2.6's int8 kernels for such convolutions were 2-4x slower than its f32
/// kernel for few input channels (jit:avx512_core on plain NCHW), measured
/// single-threaded at batch 360, 8x8, 3x3, 16 filters (Intel Xeon, AMX):
/// 1 channel 263 us u8 / 142 us s8 against 69 us f32; 4 channels 284 against
/// 149 us; 8 channels 151 us against 291 us.
constexpr int64_t kInt8MinInputChannels = 8;

/// The quantization of an input calibrated to [lo, hi]; fails (invalid
/// argument) on a range that is not finite or has lo > hi.
Int8Input int8InputFor(float lo, float hi, const char *kernel);

/// A constant weight quantized per output channel: channel c's values are
/// round(w / scales[c]) in s8 (scales[c] = max |w| of the channel / qmax, 1
/// for an all-zero channel), stored densely row-major over `w`'s dims.
struct Int8Weights {
  std::vector<float> scales;
  std::vector<int8_t> values;
};

/// Quantizes `w` (f32, any strides, no NaN/Inf: fails otherwise) per channel
/// along dimension `channelDim` to integers in [-qmax, qmax].
Int8Weights quantizeWeights(const Operand &w, size_t channelDim, float qmax,
                            const char *kernel);

/// The largest weight magnitude (qmax) for a kernel with `input`: 127, except
/// where oneDNN has no VNNI/AMX-INT8 (lathe_rt_cpu_has_int8_dot): its AVX2
/// kernels add pairs of u8 x s8 products in 16 bits (vpmaddubsw), which
/// saturates beyond 7-bit weights, so 63 there; a convolution with an s8
/// input is the exception, since oneDNN then halves the weights itself (its
/// weights adjustment scale) and 127 keeps that to one rounding.
float int8WeightMax(const Int8Input &input, bool convolution);

/// Quantizes `n` dense f32 values to `input`'s type at `out`:
/// saturate(round-half-even(x / scale)), as oneDNN's reorder with an output
/// scale of 1 / scale does, without a primitive call (which costs as much as
/// a small kernel's product).
void quantizeDense(const float *x, int64_t n, const Int8Input &input,
                   void *out);

/// Grow-only buffers of the calling thread for an int8 call's per-call
/// data (threadScratchSlot): the quantized input and the bias divided by the
/// output scales. Fresh buffers each call cost as much as quantizing the
/// digits MLP's 360x64 input.
enum class Int8Scratch { Input, Bias, Count };
void *int8Scratch(Int8Scratch slot, size_t bytes);

/// Records how kernel site `site` ran in the current session (the text
/// lathe_rt_int8_site_info returns). Sites < 0 are not recorded.
void recordInt8Site(int64_t site, const std::string &text);

/// "int8 (u8 x s8 -> f32, <oneDNN implementation>)".
std::string describeInt8(const Int8Input &input,
                         const dnnl::primitive_desc_base &pd);

} // namespace lathe::rt

#endif // LATHE_RUNTIME_LIB_INT8_H

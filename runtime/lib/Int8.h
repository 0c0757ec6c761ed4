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

/// Records how kernel site `site` ran in the current session (the text
/// lathe_rt_int8_site_info returns). Sites < 0 are not recorded.
void recordInt8Site(int64_t site, const std::string &text);

/// "int8 (u8 x s8 -> f32, <oneDNN implementation>)".
std::string describeInt8(const Int8Input &input,
                         const dnnl::primitive_desc_base &pd);

} // namespace lathe::rt

#endif // LATHE_RUNTIME_LIB_INT8_H

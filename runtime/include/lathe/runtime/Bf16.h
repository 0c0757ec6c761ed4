//===- Bf16.h - Typed entry points for bf16 activations ---------*- C++ -*-===//
//
// Generated code declares each runtime function with the element types of
// its memrefs, so a kernel that reads or writes bf16 tensors (the
// LATHE_CONV_BF16_*, LATHE_MM_*_BF16 and LATHE_POOL_BF16 flags of Runtime.h,
// chosen by lathe-cpu-bf16-activations) is called through one of these
// names: the same arguments as the f32 function, with the names' element
// types for (input, output) of a convolution and (A, C) of a matmul; each
// sets the matching flags and calls the f32 function. C callers may use the
// f32 functions with the flags directly. The convolutions with a pooling
// epilogue are the `_pool` forms of lathe_rt_conv2d_pool_f32.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_BF16_H
#define LATHE_RUNTIME_BF16_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LATHE_BF16_CONV_DECL(NAME)                                             \
  void NAME(int64_t rankIn, void *in, int64_t rankFilter, void *filter,        \
            int64_t rankBias, void *bias, int64_t rankOut, void *out,          \
            int64_t layout, int64_t strideH, int64_t strideW, int64_t padTop,  \
            int64_t padLeft, int64_t dilationH, int64_t dilationW,             \
            int64_t flags);
LATHE_BF16_CONV_DECL(lathe_rt_conv2d_bf16_f32)
LATHE_BF16_CONV_DECL(lathe_rt_conv2d_f32_bf16)
LATHE_BF16_CONV_DECL(lathe_rt_conv2d_bf16_bf16)
#undef LATHE_BF16_CONV_DECL

#define LATHE_BF16_CONV_POOL_DECL(NAME)                                        \
  void NAME(int64_t rankIn, void *in, int64_t rankFilter, void *filter,        \
            int64_t rankBias, void *bias, int64_t rankOut, void *out,          \
            int64_t layout, int64_t strideH, int64_t strideW, int64_t padTop,  \
            int64_t padLeft, int64_t dilationH, int64_t dilationW,             \
            int64_t flags, int64_t poolKind, int64_t poolWindowH,              \
            int64_t poolWindowW, int64_t poolStrideH, int64_t poolStrideW,     \
            int64_t poolDilationH, int64_t poolDilationW);
LATHE_BF16_CONV_POOL_DECL(lathe_rt_conv2d_bf16_f32_pool)
LATHE_BF16_CONV_POOL_DECL(lathe_rt_conv2d_f32_bf16_pool)
LATHE_BF16_CONV_POOL_DECL(lathe_rt_conv2d_bf16_bf16_pool)
#undef LATHE_BF16_CONV_POOL_DECL

#define LATHE_BF16_MATMUL_DECL(NAME)                                           \
  void NAME(int64_t rankA, void *a, int64_t rankB, void *b, int64_t rankBias,  \
            void *bias, int64_t rankRes, void *residual, int64_t rankC,        \
            void *c, int64_t flags);
LATHE_BF16_MATMUL_DECL(lathe_rt_matmul_bf16_f32)
LATHE_BF16_MATMUL_DECL(lathe_rt_matmul_f32_bf16)
LATHE_BF16_MATMUL_DECL(lathe_rt_matmul_bf16_bf16)
#undef LATHE_BF16_MATMUL_DECL

/// lathe_rt_pool2d_padded_f32 with bf16 input and output.
void lathe_rt_pool2d_padded_bf16(int64_t rankIn, void *in, int64_t rankOut,
                                 void *out, int64_t layout, int64_t kind,
                                 int64_t windowH, int64_t windowW,
                                 int64_t strideH, int64_t strideW,
                                 int64_t dilationH, int64_t dilationW,
                                 int64_t padTop, int64_t padLeft,
                                 int64_t flags);

/// lathe_rt_softmax_f32 with a bf16 output (attention's probabilities read
/// by a bf16 product).
void lathe_rt_softmax_f32_bf16(int64_t rankIn, void *in, int64_t rankOut,
                               void *out, int64_t axis);

#ifdef __cplusplus
}
#endif

#endif // LATHE_RUNTIME_BF16_H

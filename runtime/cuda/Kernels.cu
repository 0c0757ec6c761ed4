// Lathe's own CUDA kernels (runtime/cuda): what cuBLASLt does not cover.
// Compiled by nvcc into a fatbin (sm_80 and sm_90 code, compute_80 PTX) that
// CudaRuntime.cpp embeds and loads with cuModuleLoadData: the runtime needs
// no libcudart.

#include <stdint.h>

__device__ inline float activate(float x, int act) {
  switch (act) {
  case 1: return x > 0.f ? x : 0.f;                                   // relu
  case 2: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));   // gelu
  case 3: return 0.5f * x * (1.f + tanhf(0.7978845608028654f *
                                         (x + 0.044715f * x * x * x)));
  case 4: return 1.f / (1.f + expf(-x));                              // sigmoid
  case 5: return tanhf(x);
  default: return x;
  }
}

// c[b, i, j] = act(c[b, i, j]) (+ res[b, i, j]); strides in elements.
extern "C" __global__ void lathe_epilogue(float *c, const float *res,
                                          int64_t batch, int64_t rows,
                                          int64_t cols, int64_t cb,
                                          int64_t cr, int64_t cc, int64_t rb,
                                          int64_t rr, int64_t rc, int act,
                                          int hasRes) {
  int64_t n = batch * rows * cols;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < n;
       t += (int64_t)gridDim.x * blockDim.x) {
    int64_t j = t % cols, i = (t / cols) % rows, b = t / (cols * rows);
    float v = activate(c[b * cb + i * cr + j * cc], act);
    if (hasRes)
      v += res[b * rb + i * rr + j * rc];
    c[b * cb + i * cr + j * cc] = v;
  }
}

struct Conv {
  const float *in, *filter, *bias;
  float *out;
  int64_t n, c, h, w;     // input
  int64_t f, kh, kw;      // filter [F, C, KH, KW] (nchw) or [KH, KW, C, F]
  int64_t oh, ow;         // convolution output
  int64_t sh, sw, ph, pw, dh, dw;
  int nhwc, hasBias, act, accumulate;
  // pooling (window 0: none): output [n, f, poh, pow]
  int64_t wh, ww, psh, psw, pdh, pdw, poh, pow;
};

__device__ inline float convAt(const Conv &p, int64_t b, int64_t o, int64_t y,
                               int64_t x) {
  float s = 0.f;
  for (int64_t ci = 0; ci < p.c; ++ci)
    for (int64_t i = 0; i < p.kh; ++i) {
      int64_t iy = y * p.sh + i * p.dh - p.ph;
      if (iy < 0 || iy >= p.h)
        continue;
      for (int64_t j = 0; j < p.kw; ++j) {
        int64_t ix = x * p.sw + j * p.dw - p.pw;
        if (ix < 0 || ix >= p.w)
          continue;
        float a = p.nhwc ? p.in[((b * p.h + iy) * p.w + ix) * p.c + ci]
                         : p.in[((b * p.c + ci) * p.h + iy) * p.w + ix];
        float k = p.nhwc ? p.filter[((i * p.kw + j) * p.c + ci) * p.f + o]
                         : p.filter[((o * p.c + ci) * p.kh + i) * p.kw + j];
        s += a * k;
      }
    }
  if (p.hasBias)
    s += p.bias[o];
  return activate(s, p.act);
}

// One thread per output element (pooled output when there is a window).
extern "C" __global__ void lathe_conv2d(Conv p) {
  bool pool = p.wh > 0;
  int64_t oh = pool ? p.poh : p.oh, ow = pool ? p.pow : p.ow;
  int64_t total = p.n * p.f * oh * ow;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total;
       t += (int64_t)gridDim.x * blockDim.x) {
    int64_t x, y, o, b;
    if (p.nhwc) {
      o = t % p.f; x = (t / p.f) % ow; y = (t / (p.f * ow)) % oh;
      b = t / (p.f * ow * oh);
    } else {
      x = t % ow; y = (t / ow) % oh; o = (t / (ow * oh)) % p.f;
      b = t / (ow * oh * p.f);
    }
    float v;
    if (!pool) {
      v = convAt(p, b, o, y, x);
    } else {
      v = -INFINITY;
      for (int64_t i = 0; i < p.wh; ++i)
        for (int64_t j = 0; j < p.ww; ++j)
          v = fmaxf(v, convAt(p, b, o, y * p.psh + i * p.pdh,
                              x * p.psw + j * p.pdw));
    }
    if (p.accumulate)
      v += p.out[t];
    p.out[t] = v;
  }
}

// Where the pooling kernels' output element t is (batch b, channel ch, row y,
// column x) in an n x c x oh x ow output, NHWC or NCHW.
struct PoolPosition {
  int64_t b, ch, y, x;
};
__device__ inline PoolPosition poolPosition(int64_t t, int64_t c, int64_t oh,
                                            int64_t ow, int nhwc) {
  if (nhwc)
    return {t / (c * ow * oh), t % c, (t / (c * ow)) % oh, (t / c) % ow};
  return {t / (ow * oh * c), (t / (ow * oh)) % c, (t / ow) % oh, t % ow};
}

// Element (b, ch, iy, ix) of the pooling kernels' c x h x w input images.
__device__ inline float poolInput(const float *in, int nhwc, int64_t c,
                                  int64_t h, int64_t w, PoolPosition at,
                                  int64_t iy, int64_t ix) {
  return nhwc ? in[((at.b * h + iy) * w + ix) * c + at.ch]
              : in[((at.b * c + at.ch) * h + iy) * w + ix];
}

// Max pooling (no padding); accumulate keeps max(out, pooled).
extern "C" __global__ void lathe_pool2d(const float *in, float *out, int64_t n,
                                        int64_t c, int64_t h, int64_t w,
                                        int64_t oh, int64_t ow, int64_t wh,
                                        int64_t ww, int64_t sh, int64_t sw,
                                        int64_t dh, int64_t dw, int nhwc,
                                        int accumulate) {
  int64_t total = n * c * oh * ow;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total;
       t += (int64_t)gridDim.x * blockDim.x) {
    PoolPosition at = poolPosition(t, c, oh, ow, nhwc);
    float v = -INFINITY;
    for (int64_t i = 0; i < wh; ++i)
      for (int64_t j = 0; j < ww; ++j) {
        int64_t iy = at.y * sh + i * dh, ix = at.x * sw + j * dw;
        v = fmaxf(v, poolInput(in, nhwc, c, h, w, at, iy, ix));
      }
    out[t] = accumulate ? fmaxf(out[t], v) : v;
  }
}

// out[i] = a[i] * alpha + b[i] * beta over n elements: the bandwidth
// micro-benchmark's kernel (scripts/gpu-check.sh), 2 reads + 1 write.
extern "C" __global__ void lathe_axpby(const float4 *a, const float4 *b,
                                       float4 *out, int64_t n4, float alpha,
                                       float beta) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n4;
       i += (int64_t)gridDim.x * blockDim.x) {
    float4 x = a[i], y = b[i];
    out[i] = make_float4(x.x * alpha + y.x * beta, x.y * alpha + y.y * beta,
                         x.z * alpha + y.z * beta, x.w * alpha + y.w * beta);
  }
}

// Attention, SpMM, RNN gates, row kernels and padded pooling.
#include "ModelKernels.cu"
// memred's cross-modal reduction and memory banks.
#include "MemRedKernels.cu"

// Quantize, dequantize and the Hadamard transform of quantized collectives.
#include "QCommKernels.cu"
// The attention backward (memred.attention_grad).
#include "AttentionBackward.cu"

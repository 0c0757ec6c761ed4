// The qcomm kernels (included by Kernels.cu): group-wise quantize, the
// fused dequantize-reduce-requantize between two gradient hops,
// dequantize (plain, accumulating, summed over parts) and the blockwise
// order-32 Hadamard transform. The element arithmetic is QCommArith.h's,
// shared with the host tests, and gives the CPU runtime's bytes and scales
// bit for bit. Host sides: QComm.cpp.
//
// Quantize: one warp per group (grid-stride over groups): the lanes' largest
// |x| as bits, a shuffle maximum (exact, so the order does not matter), then
// each lane quantizes whole bytes (two values at 4 bits), so a byte is
// written by one lane. The fused requantize reads its input through the
// same loop, summing the parts of an element where quantize reads x; the
// sum is computed twice (for the maximum and for the values), never stored.

#include "QCommArith.h"

extern "C" __global__ void
lathe_qcomm_quantize(lathe_cuda::qcomm::QuantizeParams p) {
  using namespace lathe_cuda::qcomm;
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x / 32);
  const int64_t group = p.group;
  for (int64_t g = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
       g < p.groups; g += warps) {
    const int64_t first = g * group;
    uint32_t m = 0;
    for (int64_t i = lane; i < group; i += 32) {
      uint32_t a = absBits(quantizeSource(p, first + i));
      m = a > m ? a : m;
    }
    for (int o = 16; o > 0; o /= 2) {
      uint32_t other = __shfl_xor_sync(0xffffffffu, m, o);
      m = other > m ? other : m;
    }
    const float scale = scaleOf(m, p.bits);
    if (lane == 0)
      p.scales[g] = scale;
    const int64_t bytes = group * p.bits / 8;
    for (int64_t b = lane; b < bytes; b += 32)
      p.q[first * p.bits / 8 + b] = quantizedByte(p, g, b, scale);
  }
}

// y[e] = sum over parts (or y[e] + that sum), one thread per element.
extern "C" __global__ void
lathe_qcomm_dequantize(lathe_cuda::qcomm::PartsView v, float *y,
                       int accumulate) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < v.n;
       e += (int64_t)gridDim.x * blockDim.x) {
    float s = lathe_cuda::qcomm::sumParts(v, e);
    y[e] = accumulate ? lathe_cuda::qcomm::addRn(y[e], s) : s;
  }
}

// One warp per block of 32 values: five butterfly stages by shuffles
// (distance 16, 8, 4, 2, 1, as the CPU's), then the scaling. y may be x.
extern "C" __global__ void lathe_qcomm_hadamard32(const float *x, float *y,
                                                  int64_t blocks) {
  using namespace lathe_cuda::qcomm;
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x / 32);
  for (int64_t blk = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
       blk < blocks; blk += warps) {
    float v = x[32 * blk + lane];
    for (int h = 16; h >= 1; h /= 2)
      v = butterfly(v, __shfl_xor_sync(0xffffffffu, v, h), (lane & h) != 0);
    y[32 * blk + lane] = mulRn(v, kInvSqrt32);
  }
}

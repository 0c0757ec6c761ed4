//===- Quant.h - Lathe runtime: quantization for communication --*- C -*-===//
//
// Kernels of the qcomm dialect (C ABI, no MLIR headers): group-wise symmetric
// absmax quantization to 4 or 8 bits, dequantization (optionally fused with an
// add, with a sum over several quantized vectors, or with that sum and its
// requantization) and a blockwise
// Walsh-Hadamard transform, for quantized collective communication (SDP4Bit,
// ZeRO++). Memref operands follow Runtime.h's convention: (int64_t rank,
// void *descriptor) pairs with descriptor = {T *allocated, T *aligned,
// int64_t offset, int64_t sizes[rank], int64_t strides[rank]}; T is stated per
// operand. Every operand must be contiguous (identity layout, any rank); only
// its number of elements matters. Bad arguments (sizes, bits, group, flags,
// layouts) become the pending error (lathe_rt_take_pending_error) naming the
// problem, and the kernel writes nothing; nothing aborts on user input.
//
// Results are bit-identical whatever the thread count and whichever
// instruction set runs them (no contraction into FMA; the same operations in
// the same order on every path).
//
// Thread-safety: any thread; kernels may run concurrently on distinct outputs.
// Threads: lathe_rt_set_num_threads (else OpenMP's default) threads, the
// caller and the runtime's pool, split over groups (blocks for the Hadamard
// transform); small calls run on the caller alone.
// Instruction sets: AVX-512 (F, BW, VL, DQ), AVX2 + FMA or baseline x86-64,
// chosen per call from the CPU; LATHE_QUANT_ISA=generic|avx2|avx512|native
// caps the choice (a path the CPU lacks falls back to the best it has; any
// other value is an error of the next call).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_QUANT_H
#define LATHE_RUNTIME_QUANT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Flags of the quantization kernels.
enum {
  /// Quantize: round stochastically instead of to nearest.
  LATHE_QUANT_STOCHASTIC = 1,
  /// Dequantize: add to the output instead of overwriting it.
  LATHE_QUANT_ACCUMULATE = 2,
};

/// Symmetric absmax quantization of x (f32, n elements) in groups of `group`
/// consecutive values (n % group == 0; 4 bits: group even).
/// scale_g = max|x_g| / qmax (f32 division), qmax = 2^(bits-1) - 1 (127 for 8
/// bits, 7 for 4 bits); q = clamp(rint(x / scale), -qmax, qmax) (round half to
/// even), or with LATHE_QUANT_STOCHASTIC clamp(floor(x / scale + u), -qmax,
/// qmax) (f32 operations).
///
/// Stochastic rounding: u in [0, 1) is the top 24 bits of output number
/// `index` of splitmix64 seeded with `seed`, times 2^-24, where index is the
/// element's flat index in x: with z = seed + (index + 1) * 0x9E3779B97F4A7C15,
/// z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9, z = (z ^ z >> 27) *
/// 0x94D049BB133111EB, u = ((z ^ z >> 31) >> 40) * 2^-24. Reproducible for a
/// seed and independent of the thread count.
///
/// Special groups: a group of zeros has scale 0 and q 0 (so does a group whose
/// max|x_g| / qmax rounds to 0 in f32); a group holding NaN or Inf gets a NaN
/// scale and q 0 (it dequantizes to NaN).
///
/// q: int8 memref of n * bits / 8 elements; 8 bits one value per byte; 4 bits
/// two per byte, element 2i in the low nibble and element 2i+1 in the high
/// nibble, two's complement. scales: f32 memref of n / group elements.
/// bits: 4 or 8. flags: 0 or LATHE_QUANT_STOCHASTIC.
void lathe_rt_quantize_f32(int64_t rankX, void *x, int64_t rankQ, void *q,
                           int64_t rankS, void *scales, int64_t bits,
                           int64_t group, int64_t flags, int64_t seed);

/// y = q * scale (f32; LATHE_QUANT_ACCUMULATE: y += q * scale), with q and
/// scales laid out as lathe_rt_quantize_f32 writes them; n = numElements(y).
/// flags: 0 or LATHE_QUANT_ACCUMULATE.
void lathe_rt_dequantize_f32(int64_t rankQ, void *q, int64_t rankS,
                             void *scales, int64_t rankY, void *y, int64_t bits,
                             int64_t group, int64_t flags);

/// q holds `parts` quantized vectors of n = numElements(y) values each, back
/// to back (parts * n * bits / 8 int8 elements), scales parts * n / group f32
/// (part p's scales at p * n / group). Per element, s = d_0, then s = s + d_p
/// for p = 1 .. parts-1 in f32, where d_p = q_p * scale_p; y = s
/// (LATHE_QUANT_ACCUMULATE: y = y + s). parts >= 1.
void lathe_rt_dequantize_reduce_f32(int64_t rankQ, void *q, int64_t rankS,
                                    void *scales, int64_t rankY, void *y,
                                    int64_t parts, int64_t bits, int64_t group,
                                    int64_t flags);

/// The fused dequantize-reduce-requantize between two hops of a quantized
/// reduce-scatter (SDP4Bit's TLq): q and scales hold `parts` vectors of n
/// values quantized at `bits`/`group`, laid out as for
/// lathe_rt_dequantize_reduce_f32; their f32 sum is quantized at
/// `outBits`/`outGroup` into qOut (n * outBits / 8 int8) and scalesOut
/// (n / outGroup f32). n = numElements(scalesOut) * outGroup, a multiple of
/// `group`. The result is bit for bit lathe_rt_dequantize_reduce_f32 (flags
/// 0) into an f32 vector s, then lathe_rt_quantize_f32(s, ..., outBits,
/// outGroup, flags, seed) — stochastic offsets indexed by the element's flat
/// index in s — but s is never written to memory: each output group is
/// summed into a per-thread buffer and quantized from there.
/// flags: 0 or LATHE_QUANT_STOCHASTIC.
void lathe_rt_dequantize_reduce_requantize_f32(
    int64_t rankQ, void *q, int64_t rankS, void *scales, int64_t rankQOut,
    void *qOut, int64_t rankSOut, void *scalesOut, int64_t parts, int64_t bits,
    int64_t group, int64_t outBits, int64_t outGroup, int64_t flags,
    int64_t seed);

/// Blockwise orthonormal Walsh-Hadamard transform of order 32 (f32): each
/// block of 32 consecutive values becomes H32 x / sqrt(32), H32 in Sylvester
/// order (H32[i][j] = (-1)^popcount(i & j)), computed as five butterfly
/// stages (distance 16, 8, 4, 2, 1) and one multiplication by the f32 value
/// of 1/sqrt(32). Self-inverse up to rounding. n % 32 == 0; y has x's number
/// of elements and may be x (in place); a partial overlap is not allowed.
void lathe_rt_hadamard32_f32(int64_t rankX, void *x, int64_t rankY, void *y);

/// The instruction set the next quantization call on this thread would use:
/// "avx512", "avx2" or "generic" (after LATHE_QUANT_ISA; "invalid" when that
/// variable holds an unknown value). For benchmarks and tests.
const char *lathe_rt_quant_isa(void);

#ifdef __cplusplus
}
#endif

#endif // LATHE_RUNTIME_QUANT_H

/*===- CUDAQComm.h - Quantized communication on the CUDA runtime -*- C -*-===*
 *
 * What the CUDA target lowers the qcomm dialect to (libLatheRuntimeCUDA):
 *
 * - The compute kernels of Quant.h (quantize, dequantize, dequantize-reduce,
 *   the fused dequantize-reduce-requantize, the order-32 Hadamard
 *   transform) with the same arguments and flags (LATHE_QUANT_*) on dense
 *   device memrefs. Bytes and scales are the CPU runtime's bit for bit
 *   (same rounding, same int4 packing, the same splitmix64 stream for
 *   stochastic rounding), so a CPU rank and a GPU rank interoperate. Bad
 *   arguments become the pending error, naming the call and the problem;
 *   nothing is launched then.
 * - Comm.h's typed all-gather and all-to-all for every element type
 *   (lathe_cuda_comm_all_gather_T, lathe_cuda_comm_all_to_all_T; T in i8,
 *   i16, i32, i64, f16, bf16, f64; f32 is in CUDAKernels.h) over NCCL on
 *   dense device memrefs: ncclAllGather, and grouped ncclSend/ncclRecv for
 *   the all-to-all.
 * - Per-group communicators: a grid of P processes needs a world of P ranks
 *   (the bootstrap below); a group is the world split by ncclCommSplit with
 *   Comm.h's rule (CommGroups.h: color = coordinates on the other axes, key
 *   = index in the group), made on first use and kept.
 * - Counters with the CPU runtime's names and meaning (Comm.h's
 *   lathe_comm_counter: "all_gather", "all_to_all", "reduce_scatter",
 *   "all_reduce" per packed group; bytes = the send buffer each call hands
 *   to NCCL, own block included).
 *
 *===----------------------------------------------------------------------===*/

#ifndef LATHE_RUNTIME_CUDAQCOMM_H
#define LATHE_RUNTIME_CUDAQCOMM_H

#include "lathe/runtime/Comm.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void lathe_cuda_quantize_f32(int64_t rankX, void *x, int64_t rankQ, void *q,
                             int64_t rankS, void *scales, int64_t bits,
                             int64_t group, int64_t flags, int64_t seed);
void lathe_cuda_dequantize_f32(int64_t rankQ, void *q, int64_t rankS,
                               void *scales, int64_t rankY, void *y,
                               int64_t bits, int64_t group, int64_t flags);
void lathe_cuda_dequantize_reduce_f32(int64_t rankQ, void *q, int64_t rankS,
                                      void *scales, int64_t rankY, void *y,
                                      int64_t parts, int64_t bits,
                                      int64_t group, int64_t flags);
void lathe_cuda_dequantize_reduce_requantize_f32(
    int64_t rankQ, void *q, int64_t rankS, void *scales, int64_t rankQOut,
    void *qOut, int64_t rankSOut, void *scalesOut, int64_t parts, int64_t bits,
    int64_t group, int64_t outBits, int64_t outGroup, int64_t flags,
    int64_t seed);
void lathe_cuda_hadamard32_f32(int64_t rankX, void *x, int64_t rankY, void *y);

#define LATHE_CUDA_COMM_DECLARE_TYPED(NAME, SUFFIX)                            \
  void lathe_cuda_comm_##NAME##_##SUFFIX(int64_t grid, int64_t group,          \
                                         int64_t rankIn, void *in,             \
                                         int64_t rankOut, void *out);
#define LATHE_CUDA_COMM_DECLARE_TYPES(NAME)                                    \
  LATHE_CUDA_COMM_DECLARE_TYPED(NAME, i8)                                      \
  LATHE_CUDA_COMM_DECLARE_TYPED(NAME, i16)                                     \
  LATHE_CUDA_COMM_DECLARE_TYPED(NAME, i32)                                     \
  LATHE_CUDA_COMM_DECLARE_TYPED(NAME, i64)                                     \
  LATHE_CUDA_COMM_DECLARE_TYPED(NAME, f16)                                     \
  LATHE_CUDA_COMM_DECLARE_TYPED(NAME, bf16)                                    \
  LATHE_CUDA_COMM_DECLARE_TYPED(NAME, f64)
LATHE_CUDA_COMM_DECLARE_TYPES(all_gather)
LATHE_CUDA_COMM_DECLARE_TYPES(all_to_all)
#undef LATHE_CUDA_COMM_DECLARE_TYPES
#undef LATHE_CUDA_COMM_DECLARE_TYPED

/* The world of a multi-rank CUDA run: this process's rank, the world size
 * and a broadcast from `root` to every rank (collective; 0 = ok), which
 * carries NCCL's unique id from rank 0. Set it before the first collective,
 * the same on every rank. Without it the runtime looks for the CPU runtime's
 * Open MPI world in the process (lathe_rt_comm_rank, lathe_rt_comm_size,
 * lathe_rt_comm_broadcast_bytes, as lathe-run/lathe-train --ranks start it);
 * with neither, the world is this process alone. */
typedef struct lathe_cuda_bootstrap {
  int64_t rank;
  int64_t size;
  int (*broadcast)(void *data, int64_t bytes, int64_t root);
} lathe_cuda_bootstrap;
/* 0 = ok; LATHE_CUDA_ERROR after the world was made (message in
 * lathe_cuda_last_error). NULL goes back to the default. */
int lathe_cuda_comm_set_bootstrap(const lathe_cuda_bootstrap *bootstrap);

/* Counters of the collectives generated code called (Comm.h's struct and
 * semantics). */
int64_t lathe_cuda_comm_counters(lathe_comm_counter *out, int64_t capacity);
void lathe_cuda_comm_reset_counters(void);

#ifdef __cplusplus
}
#endif

#endif /* LATHE_RUNTIME_CUDAQCOMM_H */

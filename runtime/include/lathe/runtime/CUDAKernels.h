/*===- CUDAKernels.h - Own CUDA kernels called by generated code -*- C -*-===*
 *
 * The lathe_cuda_* kernels of libLatheRuntimeCUDA beyond matmul, conv and
 * pooling (CUDA.h): each takes the arguments of the CPU runtime's lathe_rt_*
 * kernel of the same name (Runtime.h, Attention.h, Sparse.h) on device
 * memory. Errors become the runtime's pending error. qChunk/kvChunk of the
 * attention calls and the tile arguments of the tiled SpMM are CPU layout
 * choices the GPU kernels ignore (results agree to rounding).
 *
 *===----------------------------------------------------------------------===*/

#ifndef LATHE_RUNTIME_CUDAKERNELS_H
#define LATHE_RUNTIME_CUDAKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void lathe_cuda_softmax_f32(int64_t rankIn, void *in, int64_t rankOut,
                            void *out, int64_t axis);
void lathe_cuda_masked_softmax_f32(int64_t rankIn, void *in, int64_t rankMask,
                                   void *mask, int64_t rankOut, void *out,
                                   float fill, int64_t axis, int64_t maskDims,
                                   int64_t maskedWhen);
void lathe_cuda_layer_norm_f32(int64_t rankX, void *x, int64_t rankGamma,
                               void *gamma, int64_t rankBeta, void *beta,
                               int64_t rankOut, void *out, float eps,
                               int64_t flags);
void lathe_cuda_chunked_attention_f32(int64_t rankQ, void *q, int64_t rankK,
                                      void *k, int64_t rankV, void *v,
                                      int64_t rankB0, void *b0, int64_t rankB1,
                                      void *b1, int64_t rankO, void *o,
                                      float scale, int64_t qChunk,
                                      int64_t kvChunk, int64_t numBiases);
void lathe_cuda_chunked_attention_lse_f32(
    int64_t rankQ, void *q, int64_t rankK, void *k, int64_t rankV, void *v,
    int64_t rankB0, void *b0, int64_t rankB1, void *b1, int64_t rankO, void *o,
    int64_t rankL, void *lse, float scale, int64_t qChunk, int64_t kvChunk,
    int64_t numBiases);
/* The gradients of attention (memred.attention_grad; FlashAttention-2's
 * backward with the forward's log-sum-exp), lathe_rt_chunked_attention_
 * backward_f32's arguments. */
void lathe_cuda_chunked_attention_backward_f32(
    int64_t rankQ, void *q, int64_t rankK, void *k, int64_t rankV, void *v,
    int64_t rankO, void *o, int64_t rankDO, void *dO, int64_t rankL, void *lse,
    int64_t rankB0, void *b0, int64_t rankB1, void *b1, int64_t rankDQ,
    void *dq, int64_t rankDK, void *dk, int64_t rankDV, void *dv,
    int64_t rankDB0, void *db0, int64_t rankDB1, void *db1, float scale,
    int64_t qChunk, int64_t kvChunk, int64_t numBiases, int64_t biasGradMask);
/* lathe_rt_masked_attention_f32's arguments (o = softmax(select(mask, fill,
 * scale q kt)) v with kt the transposed keys [..., D, Lk]; a row of -inf only
 * is NaN); the flags have the CPU runtime's values. */
enum {
  LATHE_CUDA_ATTN_HAS_MASK = 1 << 0,
  LATHE_CUDA_ATTN_MASKED_WHEN_TRUE = 1 << 1,
};
void lathe_cuda_masked_attention_f32(int64_t rankQ, void *q, int64_t rankKT,
                                     void *kt, int64_t rankV, void *v,
                                     int64_t rankM, void *mask, int64_t rankO,
                                     void *o, float scale, float fill,
                                     int64_t maskDims, int64_t flags);
void lathe_cuda_spmm_csr_f32(int64_t rankRowPtr, void *rowPtr,
                             int64_t rankColIdx, void *colIdx,
                             int64_t rankValues, void *values, int64_t rankX,
                             void *x, int64_t rankY, void *y, int64_t numRows,
                             int64_t numCols, int64_t flags);
void lathe_cuda_spmm_csr_f32_i32(int64_t rankRowPtr, void *rowPtr,
                                 int64_t rankColIdx, void *colIdx,
                                 int64_t rankValues, void *values,
                                 int64_t rankX, void *x, int64_t rankY, void *y,
                                 int64_t numRows, int64_t numCols,
                                 int64_t flags);
void lathe_cuda_spmm_tiled_f32(int64_t rankRowPtr, void *rowPtr,
                               int64_t rankColIdx, void *colIdx,
                               int64_t rankValues, void *values,
                               int64_t rankClasses, void *classes,
                               int64_t rankPerm, void *perm, int64_t rankX,
                               void *x, int64_t rankY, void *y, int64_t numRows,
                               int64_t numCols, int64_t tileSize,
                               int64_t thresholdPpm, int64_t flags);
void lathe_cuda_spmm_tiled_f32_i32(
    int64_t rankRowPtr, void *rowPtr, int64_t rankColIdx, void *colIdx,
    int64_t rankValues, void *values, int64_t rankClasses, void *classes,
    int64_t rankPerm, void *perm, int64_t rankX, void *x, int64_t rankY,
    void *y, int64_t numRows, int64_t numCols, int64_t tileSize,
    int64_t thresholdPpm, int64_t flags);
/// Aᵀ of a CSR matrix (the CPU runtime's lathe_rt_csr_transpose).
void lathe_cuda_csr_transpose(int64_t rankRowPtr, void *rowPtr,
                              int64_t rankColIdx, void *colIdx,
                              int64_t rankValues, void *values,
                              int64_t rankTRowPtr, void *tRowPtr,
                              int64_t rankTColIdx, void *tColIdx,
                              int64_t rankTValues, void *tValues,
                              int64_t numRows, int64_t numCols);
void lathe_cuda_csr_transpose_i32(int64_t rankRowPtr, void *rowPtr,
                                  int64_t rankColIdx, void *colIdx,
                                  int64_t rankValues, void *values,
                                  int64_t rankTRowPtr, void *tRowPtr,
                                  int64_t rankTColIdx, void *tColIdx,
                                  int64_t rankTValues, void *tValues,
                                  int64_t numRows, int64_t numCols);
void lathe_cuda_rnn_f32(int64_t rankX, void *x, int64_t rankW, void *w,
                        int64_t rankR, void *r, int64_t rankB, void *bias,
                        int64_t rankRb, void *recurrentBias, int64_t rankH0,
                        void *h0, int64_t rankC0, void *c0, int64_t rankY,
                        void *y, int64_t rankHT, void *hT, int64_t rankCT,
                        void *cT, int64_t flags, int64_t gates);
void lathe_cuda_pool2d_padded_f32(int64_t rankIn, void *in, int64_t rankOut,
                                  void *out, int64_t layout, int64_t kind,
                                  int64_t windowH, int64_t windowW,
                                  int64_t strideH, int64_t strideW,
                                  int64_t dilationH, int64_t dilationW,
                                  int64_t padTop, int64_t padLeft,
                                  int64_t flags);

/* memred's cross-modal reduction and memory bank (MemRedKernels.cpp): the
 * arguments of Attention.h's lathe_rt_cross_modal_reduce_f32 and
 * lathe_rt_bank_append_policy_f32. The bank's new count is computed on the
 * host (it depends on the count, the frame and the fractions only), so it
 * is returned without waiting for the device; a bad count, fraction or
 * policy is the pending error with the CPU runtime's message. */
void lathe_cuda_cross_modal_reduce_f32(int64_t rankQ, void *queries,
                                       int64_t rankK, void *keys, int64_t rankT,
                                       void *tokens, int64_t rankO, void *out,
                                       double recent, double keep, float scale);
int64_t lathe_cuda_bank_append_policy_f32(
    int64_t rankF, void *frame, int64_t rankQ, void *queries, int64_t rankB,
    void *bank, int64_t count, double recent, double keep, float scale,
    int64_t policy, int64_t seed, int64_t step);

/* One element of a device buffer read or written by host code
 * (lathe-cuda-host-scalars): `address` is the element's device address,
 * `bytes` its width (1 to 8), little-endian in the low bytes of the i64.
 * The read waits for the stream; the write is ordered on it. */
int64_t lathe_cuda_read_scalar(int64_t address, int64_t bytes);
void lathe_cuda_write_scalar(int64_t address, int64_t bytes, int64_t bits);

/* Index checks of generated kernels: `record` is a device memref<4xi64>
 * {failed, index, lo, hi} that begin zeroes and the kernels fill on their
 * first out-of-range index; end reads it back (waiting for the stream) and
 * makes "<what>: index I out of range [lo, hi)" the pending error, as
 * lathe_rt_index_check_failed does on the CPU. `what` is host memory. */
void lathe_cuda_index_check_begin(int64_t rank, void *record);
void lathe_cuda_index_check_end(int64_t rankWhat, void *what, int64_t rank,
                                void *record);

/* A cf.assert of a generated kernel: begin as above; the failing threads
 * set record[0]; end makes `what` (the assert's message) the pending error
 * when any did. */
void lathe_cuda_assert_check_end(int64_t rankWhat, void *what, int64_t rank,
                                 void *record);

/* A run-time size check of host code failed (lathe_rt_shape_check_failed's
 * arguments and message; `what` is host memory). */
void lathe_cuda_shape_check_failed(int64_t rankWhat, void *what,
                                   int64_t expected, int64_t given);

/* The shard collectives (Comm.h's lathe_rt_comm_*_f32 ABI: packed grid and
 * group, dense f32 device memrefs) through the NCCL wrappers of CUDA.h on a
 * process-wide communicator. One rank only: a grid of more processes is a
 * pending error (multi-rank runs need the NCCL id sent over MPI, not
 * implemented). The rank is 0. */
void lathe_cuda_comm_all_gather_f32(int64_t grid, int64_t group, int64_t rankIn,
                                    void *in, int64_t rankOut, void *out);
void lathe_cuda_comm_reduce_scatter_sum_f32(int64_t grid, int64_t group,
                                            int64_t rankIn, void *in,
                                            int64_t rankOut, void *out);
void lathe_cuda_comm_all_reduce_sum_f32(int64_t grid, int64_t group,
                                        int64_t rankIn, void *in,
                                        int64_t rankOut, void *out);
void lathe_cuda_comm_all_to_all_f32(int64_t grid, int64_t group, int64_t rankIn,
                                    void *in, int64_t rankOut, void *out);
int64_t lathe_cuda_comm_rank(void);

#ifdef __cplusplus
}
#endif

#endif /* LATHE_RUNTIME_CUDAKERNELS_H */

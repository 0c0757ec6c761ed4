//===- Attention.h - Lathe runtime: bounded-memory attention ----*- C -*-===//
//
// Kernels of the memred dialect (C ABI, no MLIR headers). Memref operands
// follow Runtime.h's convention: (int64_t rank, void *descriptor) pairs with
// descriptor = {float *allocated, float *aligned, int64_t offset,
// int64_t sizes[rank], int64_t strides[rank]}; all operands are f32.
// Failures (shape mismatches, bad fractions) become the pending error
// (lathe_rt_take_pending_error) and leave the output unspecified; nothing
// aborts on user input.
//
// Thread-safety: any thread; the kernels keep no state of their own and may
// run concurrently. Their scratch, errors and thread count are the current
// session's (Runtime.h). Work is spread over the OpenMP team oneDNN uses (GNU
// libgomp, looked up at run time), with lathe_rt_set_num_threads' count.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_ATTENTION_H
#define LATHE_RUNTIME_ATTENTION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// o = softmax(scale · q · kᵀ + b0 + b1) · v over the key axis, with
/// q [..., Lq, D], k [..., Lk, D], v [..., Lk, Dv], o [..., Lq, Dv] (rank 2 to
/// 5, equal leading dimensions) and `numBiases` (0, 1 or 2) biases of rank
/// equal to q's whose sizes are those of [..., Lq, Lk] or 1 (broadcast).
/// Unused bias slots are ignored (any descriptor, even null).
///
/// Computed per (batch element, block of qChunk query rows) with an online
/// softmax over blocks of kvChunk key rows: the running row maximum and sum
/// are f32, partial outputs are rescaled by exp(m_old - m_new), and only one
/// qChunk x kvChunk score block per worker thread exists at a time (counted
/// in lathe_rt_mem_peak). Block products use oneDNN's sgemm
/// (single-threaded inside the parallel region); the softmax loops are
/// vectorised. qChunk/kvChunk <= 0 select defaults (64 / 256); chunks larger
/// than the sequence are clamped. A row whose scores are all -inf yields 0.
void lathe_rt_chunked_attention_f32(int64_t rankQ, void *q, int64_t rankK,
                                    void *k, int64_t rankV, void *v,
                                    int64_t rankB0, void *b0, int64_t rankB1,
                                    void *b1, int64_t rankO, void *o,
                                    float scale, int64_t qChunk,
                                    int64_t kvChunk, int64_t numBiases);

/// lathe_rt_chunked_attention_f32 that also writes the f32 log-sum-exp of
/// each score row, lse [..., Lq] = m + log l (the softmax normaliser: p_ij =
/// exp(s_ij - lse_i)); -inf for a row whose scores are all -inf, NaN where
/// the row has a NaN or +Inf score. The backward kernel below takes it.
void lathe_rt_chunked_attention_lse_f32(int64_t rankQ, void *q, int64_t rankK,
                                        void *k, int64_t rankV, void *v,
                                        int64_t rankB0, void *b0,
                                        int64_t rankB1, void *b1, int64_t rankO,
                                        void *o, int64_t rankL, void *lse,
                                        float scale, int64_t qChunk,
                                        int64_t kvChunk, int64_t numBiases);

/// Flags of lathe_rt_masked_attention_f32.
enum {
  LATHE_ATTN_HAS_MASK = 1 << 0,         ///< `mask` is read (else ignored)
  LATHE_ATTN_MASKED_WHEN_TRUE = 1 << 1, ///< true mask elements take `fill`
};

/// o = softmax(select(mask, fill, scale · q · kt)) · v over the key axis, in
/// the reference's arithmetic: q [..., Lq, D], kt [..., D, Lk] (the keys,
/// transposed), v [..., Lk, Dv], o [..., Lq, Dv], any strides, one rank >= 2
/// with equal leading dimensions. With LATHE_ATTN_HAS_MASK, score (.., i, j)
/// is `fill` where the i1 mask (one byte per element) equals
/// LATHE_ATTN_MASKED_WHEN_TRUE != 0; the mask is broadcast onto the scores
/// as lathe_rt_masked_softmax_f32's is (`maskDims`: per mask dimension 4
/// bits, the score dimension it runs along or 0xF for a unit dimension).
/// The softmax is the decomposed one (max with NaN winning, exp(x - max),
/// divided by the sum): a row of -inf only (every key masked with a -inf
/// fill), or holding NaN or +Inf, is NaN, as in PyTorch.
///
/// One task per (batch element, block of query rows): the block's scores
/// (sgemm), mask and softmax stay in the worker's cache and P · V follows
/// (sgemm); the Lq x Lk matrix is never stored. With a -inf fill, keys
/// masked for every row of a block after its last unmasked key are not
/// computed (exact: they contribute 0, unless v has Inf or NaN there, which
/// the kernel checks). In a LATHE_PRECISION_BF16 session on a CPU with
/// AMX-BF16 or AVX512-BF16 (and oneDNN's ISA not capped below it) the two
/// products take bf16 operands with f32 accumulation, on AMX tiles or with
/// AVX512-BF16 dot products; the softmax stays f32.
void lathe_rt_masked_attention_f32(int64_t rankQ, void *q, int64_t rankKT,
                                   void *kt, int64_t rankV, void *v,
                                   int64_t rankM, void *mask, int64_t rankO,
                                   void *o, float scale, float fill,
                                   int64_t maskDims, int64_t flags);

/// The gradients of lathe_rt_chunked_attention_f32 (FlashAttention-2's
/// backward, DeepSpeed4Science's Evoformer attention backward): given q, k,
/// v, the biases, the forward's output o and log-sum-exp lse and the output
/// gradient dO [..., Lq, Dv], writes dq [..., Lq, D], dk [..., Lk, D],
/// dv [..., Lk, Dv] and, for each bias i whose bit (1 << i) is set in
/// biasGradMask, its gradient dbi (the bias' shape: summed over the
/// dimensions it broadcasts along). Outputs are overwritten.
///
/// The L x L probabilities are never stored: per batch element, each block
/// of kvChunk keys is visited once, and for it each block of qChunk query
/// rows recomputes p = exp(scale · q · kᵀ + biases − lse) with sgemm, then
/// dV_j += pᵀ·dO_i, ds = p ∘ (dO_i·V_jᵀ − D_i) with D = rowsum(dO ∘ o),
/// dQ_i += scale · ds·K_j, dK_j += scale · dsᵀ·Q_i, dbias += ds. Each worker
/// owns two qChunk x kvChunk blocks, the kvChunk-row dK/dV accumulators and
/// one batch element's dQ and D (runtime scratch). Tasks are batch elements
/// (batch x heads); leading dimensions along which a requested bias
/// gradient broadcasts are summed inside one task, so every gradient
/// element has one writer and results do not depend on the thread count.
/// A row with lse = -inf (all its scores -inf; the forward gives 0) gets
/// zero gradients; NaN and Inf in the inputs propagate as in the formulas.
/// qChunk/kvChunk <= 0 select defaults (64 / 128).
void lathe_rt_chunked_attention_backward_f32(
    int64_t rankQ, void *q, int64_t rankK, void *k, int64_t rankV, void *v,
    int64_t rankO, void *o, int64_t rankDO, void *dO, int64_t rankL, void *lse,
    int64_t rankB0, void *b0, int64_t rankB1, void *b1, int64_t rankDQ,
    void *dq, int64_t rankDK, void *dk, int64_t rankDV, void *dv,
    int64_t rankDB0, void *db0, int64_t rankDB1, void *db1, float scale,
    int64_t qChunk, int64_t kvChunk, int64_t numBiases, int64_t biasGradMask);

/// AdaCM² cross-modal reduction of a memory of N cached tokens [N, C]
/// (oldest first) to out [M, C]: score_j = sum over heads h and query rows r
/// of softmax_j(scale · queries[h, r] · keys[h, j]) with queries [H, Lq, D]
/// and keys [H, N, D]. Keeps the newest R = ceil(recent · N) tokens and the
/// K = ceil(keep · (N - R)) older tokens with the highest score (ties: the
/// newer), in their original order; M must be R + K. Fractions in (0, 1].
void lathe_rt_cross_modal_reduce_f32(int64_t rankQ, void *queries,
                                     int64_t rankK, void *keys, int64_t rankT,
                                     void *tokens, int64_t rankO, void *out,
                                     double recent, double keep, float scale);

/// memred.bank_append: appends frame [F, C] to the `count` valid rows of
/// bank [capacity, C] in place and returns the new count. When the
/// count + F rows do not fit, they are reduced as
/// lathe_rt_cross_modal_reduce_f32 reduces them (row j's key for head h:
/// columns [h·D, (h+1)·D); queries [Lq, D] or [H, Lq, D]) and the kept rows
/// start the bank. A count outside [0, capacity], or a reduction keeping more
/// than the capacity, is the pending error (the count is returned unchanged).
int64_t lathe_rt_bank_append_f32(int64_t rankF, void *frame, int64_t rankQ,
                                 void *queries, int64_t rankB, void *bank,
                                 int64_t count, double recent, double keep,
                                 float scale);

/// lathe_rt_bank_append_f32 with a reduction policy (memred.bank_append's
/// `policy`): 0 adacm2 (as above), 1 recent (the newest rows), 2 random
/// (the newest ceil(recent · n) rows plus older rows by the priority
/// splitmix64(splitmix64(splitmix64(seed) ^ step) + j), highest first),
/// 3 merge (MA-LMM: average the most cosine-similar adjacent pair until the
/// kept count remains). Every policy keeps the same number of rows.
int64_t lathe_rt_bank_append_policy_f32(
    int64_t rankF, void *frame, int64_t rankQ, void *queries, int64_t rankB,
    void *bank, int64_t count, double recent, double keep, float scale,
    int64_t policy, int64_t seed, int64_t step);

/// The number of tokens lathe_rt_cross_modal_reduce_f32 keeps out of n
/// (R + K above), or -1 for fractions outside (0, 1] or n < 0.
int64_t lathe_rt_cross_modal_kept_count(int64_t n, double recent, double keep);

#ifdef __cplusplus
}
#endif

#endif // LATHE_RUNTIME_ATTENTION_H

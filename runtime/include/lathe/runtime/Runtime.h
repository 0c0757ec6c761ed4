//===- Runtime.h - Lathe runtime C API --------------------------*- C -*-===//
//
// The C ABI that generated code and the Lathe tools call. This header never
// includes MLIR headers. Every fallible call returns a status code (0 = OK) and
// leaves a human-readable message in a thread-local buffer read with
// lathe_rt_last_error(). Kernels called from generated code cannot return a
// status to it, so they record a *sticky* error instead
// (lathe_rt_take_pending_error), which the driver checks after each call.
//
// Memref convention: kernels take unranked memrefs the way MLIR lowers them
// without the C interface: a pair (int64_t rank, void *descriptor), where the
// descriptor is {T *allocated, T *aligned, int64_t offset, int64_t sizes[rank],
// int64_t strides[rank]} (strides in elements).
//
// Sessions: every piece of state that outlives a call (oneDNN primitive
// caches, pre-packed constant weights and the other caches keyed by address,
// the pending error, the memory counters, the thread count) belongs to a
// lathe_rt_session. One session per loaded module: destroying it frees its
// caches, so a cache keyed by an address never outlives the module whose
// buffer had that address. Entry points, including the ones generated code
// calls, act on the calling thread's *current session*: the one bound with
// lathe_rt_session_bind; on a thread with none bound, the session bound on the
// other threads if exactly one session is bound in the process (so the OpenMP
// workers of generated code's parallel loops follow the run that started
// them), else the process's default session (which code that never binds
// uses, and which is never destroyed).
//
// Thread-safety is stated per group of functions below. "Any thread" means
// concurrent calls are safe, including calls on the same session. Kernels of
// two sessions may run at the same time on different threads. While two
// sessions are bound at once, threads nobody bound (OpenMP workers of
// generated code) use the default session: an error they record (a failed
// check in a parallel loop) then goes there, not to either run. Values of
// lathe_host_tensor are owned by one caller.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_RUNTIME_H
#define LATHE_RUNTIME_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LATHE_MAX_RANK 8

//===----------------------------------------------------------------------===//
// Status
//===----------------------------------------------------------------------===//

typedef enum lathe_status {
  LATHE_OK = 0,
  LATHE_ERR_IO = 1,      ///< file missing / unreadable / unwritable
  LATHE_ERR_FORMAT = 2,  ///< malformed or truncated file
  LATHE_ERR_DTYPE = 3,   ///< unsupported or mismatched element type
  LATHE_ERR_SHAPE = 4,   ///< unsupported or mismatched shape
  LATHE_ERR_BACKEND = 5, ///< oneDNN / HDF5 library error
  LATHE_ERR_OOM = 6,     ///< allocation failed
  LATHE_ERR_INVALID = 7, ///< invalid argument
  LATHE_ERR_CPU = 8,     ///< code compiled for CPU features this CPU lacks
  LATHE_ERR_CHECK = 9,   ///< a run-time check of generated code failed
} lathe_status;

/// Message of the last failed call on this thread ("" if none), whichever
/// session it acted on: a call's own result, so it stays per thread (a call on
/// another thread, or in another session, never overwrites it). Any thread;
/// the pointer is valid until this thread's next runtime call.
const char *lathe_rt_last_error(void);

/// Kernels called from generated code record their first failure as the
/// current session's pending error. Returns nonzero and copies the message
/// into `buf` (truncated) if an error was pending in the current session, and
/// clears it. Any thread.
int lathe_rt_take_pending_error(char *buf, size_t bufSize);

//===----------------------------------------------------------------------===//
// Sessions
//===----------------------------------------------------------------------===//

typedef struct lathe_rt_session lathe_rt_session;

typedef struct lathe_rt_session_options {
  /// Threads for oneDNN kernels, the runtime's parallel kernels and generated
  /// code's OpenMP loops on threads bound to the session; 0 = OpenMP's
  /// default (see lathe_rt_set_num_threads).
  int32_t num_threads;
  /// LATHE_PRECISION_F32 (the default) or LATHE_PRECISION_BF16: matmuls run
  /// with bf16 operands and f32 accumulation and results where the CPU has
  /// bf16 instructions (AVX512-BF16 or AMX-BF16; lathe_rt_cpu_has_bf16), in
  /// f32 elsewhere.
  int32_t precision;
} lathe_rt_session_options;

#define LATHE_PRECISION_F32 0
#define LATHE_PRECISION_BF16 1

/// 1 when oneDNN may use bf16 instructions on this CPU (its effective ISA,
/// ONEDNN_MAX_CPU_ISA included, has AVX512-BF16 or AMX-BF16), else 0.
int lathe_rt_cpu_has_bf16(void);

/// "oneDNN 2.6.3 (ISA avx512_core_amx)": the oneDNN library loaded and the
/// instruction set it dispatches to here (ONEDNN_MAX_CPU_ISA included).
const char *lathe_rt_dnnl_description(void);

/// Fills `options` with the defaults (num_threads 0, f32). Any thread.
void lathe_rt_session_options_init(lathe_rt_session_options *options);

/// A new session with empty caches, no pending error, zero memory counts and
/// `options` (NULL: the defaults). Returns NULL (and sets the last error) when
/// out of memory. Any thread; the new session is bound to no thread.
lathe_rt_session *
lathe_rt_session_create(const lathe_rt_session_options *options);

/// Frees the session's caches (its pre-packed weights included) and the
/// session. Call it when the module the session served is unloaded, before
/// that module's memory can be reused. If it is bound on the calling thread it
/// is unbound first; if it is still bound on another thread nothing happens
/// and LATHE_ERR_INVALID is returned. NULL is a no-op. Any thread, but no call
/// acting on the session (a kernel on another thread, a worker of its run) may
/// be in flight. Blocks it counted that are still live (results, weights
/// freed later) stay valid and may be freed afterwards.
lathe_status lathe_rt_session_destroy(lathe_rt_session *session);

/// Makes `session` (NULL: none) the calling thread's session and returns the
/// one bound before (NULL if none), so a caller can restore it; applies the
/// session's thread count to the thread's OpenMP runtime. A session may be
/// bound on several threads at once. Any thread (it changes only the calling
/// thread's binding).
lathe_rt_session *lathe_rt_session_bind(lathe_rt_session *session);

/// The session bound to the calling thread, or NULL. Any thread.
lathe_rt_session *lathe_rt_session_current(void);

//===----------------------------------------------------------------------===//
// Host tensors and file I/O (.npy, HDF5). They use no session state; their
// errors are the calling thread's last error. lathe_dtype_* and
// lathe_host_tensor_*: any thread (a tensor itself belongs to one caller).
// .npy: any thread. HDF5: any thread (the calls are serialised inside).
//===----------------------------------------------------------------------===//

typedef enum lathe_dtype {
  LATHE_F32 = 0,
  LATHE_F64,
  LATHE_F16,
  LATHE_BF16,
  LATHE_I64,
  LATHE_I32,
  LATHE_I16,
  LATHE_I8,
  LATHE_U8,
  LATHE_BOOL,
  LATHE_DTYPE_COUNT
} lathe_dtype;

/// A dense, C-ordered (row-major) host tensor. `data` is owned by the tensor
/// (allocated with malloc) and released with lathe_host_tensor_free.
typedef struct lathe_host_tensor {
  lathe_dtype dtype;
  int32_t rank;
  int64_t shape[LATHE_MAX_RANK];
  void *data;
} lathe_host_tensor;

size_t lathe_dtype_size(lathe_dtype dtype);
/// NumPy-style name: "float32", "float64", "float16", "bfloat16", "int64",
/// "int32", "int16", "int8", "uint8", "bool".
const char *lathe_dtype_name(lathe_dtype dtype);
int64_t lathe_host_tensor_numel(const lathe_host_tensor *t);
/// Allocates zeroed data for the given dtype and shape.
lathe_status lathe_host_tensor_alloc(lathe_host_tensor *t, lathe_dtype dtype,
                                     int32_t rank, const int64_t *shape);
void lathe_host_tensor_free(lathe_host_tensor *t);

/// Reads a .npy file (format 1.0/2.0/3.0). Fortran-ordered arrays are
/// converted to C order. Big-endian or unsupported dtypes are rejected.
lathe_status lathe_npy_read(const char *path, lathe_host_tensor *out);
lathe_status lathe_npy_write(const char *path, const lathe_host_tensor *t);

/// Reads an HDF5 dataset (any native integer/float/bool-as-u8 type maps to the
/// closest lathe_dtype).
lathe_status lathe_h5_read(const char *path, const char *dataset,
                           lathe_host_tensor *out);
/// Writes (creating or truncating the file when `truncate` is nonzero) one
/// dataset; intermediate groups are created.
lathe_status lathe_h5_write(const char *path, const char *dataset,
                            const lathe_host_tensor *t, int truncate);

//===----------------------------------------------------------------------===//
// Memory: allocations of generated code come through here, so the runtime
// knows the high-water mark. (finalize-memref-to-llvm{use-generic-functions})
// Each block is counted in the session that was current when it was
// allocated (whoever frees it, and even after that session is destroyed);
// the counts below are the current session's. All functions: any thread.
//===----------------------------------------------------------------------===//

void *_mlir_memref_to_llvm_alloc(size_t size);
void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size);
void _mlir_memref_to_llvm_free(void *ptr);

/// Allocation for runtime-internal scratch (counted in the same high-water
/// mark). 64-byte aligned.
void *lathe_rt_alloc(size_t size);
void lathe_rt_free(void *ptr);

/// Bytes live / the high-water mark of the current session (requested sizes).
int64_t lathe_rt_mem_current(void);
int64_t lathe_rt_mem_peak(void);
/// Resets the current session's peak to its current usage.
void lathe_rt_mem_reset_peak(void);
/// Nonzero if `ptr` is a live allocation handed out by this runtime (in any
/// session).
int lathe_rt_mem_owns(const void *ptr);

//===----------------------------------------------------------------------===//
// Threads and profiling
//===----------------------------------------------------------------------===//

/// Sets the current session's thread count: the threads oneDNN kernels and
/// the runtime's parallel kernels use, applied to the calling thread's OpenMP
/// runtime now and to any other thread's before its next kernel in the
/// session (or when it binds the session). n <= 0: OpenMP's default again.
/// Any thread.
void lathe_rt_set_num_threads(int n);
/// The current session's count, else the calling thread's OpenMP default.
/// Any thread.
int lathe_rt_get_num_threads(void);

/// Per-kernel-kind accumulated time. Kinds are registered by the kernels
/// ("matmul", "softmax", "conv2d", ...). The profile is process-wide (not per
/// session): with two runs at once the counters add up both. Any thread.
void lathe_rt_profile_reset(void);
int lathe_rt_profile_count(void);
const char *lathe_rt_profile_name(int index);
double lathe_rt_profile_ms(int index);
int64_t lathe_rt_profile_calls(int index);
/// Adds `calls` calls taking `ns` nanoseconds in total to kind `name`
/// (registering it), for time measured outside the runtime's kernels.
void lathe_rt_profile_add(const char *name, int64_t ns, int64_t calls);

/// Tracing: while enabled, every kernel call and every region of generated
/// code that lathe-cpu-instrument-trace marked becomes one event (the driver
/// writes them as Chrome trace events). Enabling clears earlier events and
/// restarts the clock. Process-wide; any thread.
typedef struct lathe_rt_trace_record {
  const char *name;     /* kernel kind or generated-code region */
  const char *category; /* "kernel" or "generated" */
  const char *detail;   /* operand shapes and bytes */
  int64_t start_ns;     /* since lathe_rt_trace_enable(1) */
  int64_t duration_ns;
  int64_t thread; /* OS thread id */
} lathe_rt_trace_record;
void lathe_rt_trace_enable(int enable);
/// Nanoseconds since tracing (or the memory timeline) was last enabled.
int64_t lathe_rt_trace_clock_ns(void);
int64_t lathe_rt_trace_count(void);
/// Fills `out` with event `index` (its strings live until the next enable).
/// Returns 0 when `index` is out of range.
int lathe_rt_trace_get(int64_t index, lathe_rt_trace_record *out);
/// Called by generated code around a region; `name` is a rank-1 i8 memref
/// holding "<name>|<detail>".
void lathe_rt_trace_region_begin(int64_t rank, void *name);
void lathe_rt_trace_region_end(int64_t rank, void *name);
/// The end of a region whose text has '?' for sizes known only at run time:
/// `values` (a rank-1 i64 memref) holds them in the text's order, and each
/// replaces one '?' in the event's detail.
void lathe_rt_trace_region_end_sized(int64_t rank, void *name,
                                     int64_t values_rank, void *values);

/// Memory timeline: while enabled, each allocation and free adds a sample
/// (time since enabling, bytes live in the allocating session). Enabling
/// clears earlier samples.
void lathe_rt_mem_timeline_enable(int enable);
int64_t lathe_rt_mem_timeline_count(void);
int lathe_rt_mem_timeline_sample(int64_t index, int64_t *time_ns,
                                 int64_t *live_bytes);

//===----------------------------------------------------------------------===//
// Kernels called from generated code (f32). Shapes and strides come from the
// descriptors; views with arbitrary strides (e.g. transposed) are accepted.
// Every kernel (here and in Attention.h, Sparse.h) acts on the current
// session: its primitive and constant-weight caches, its pending error, its
// memory counts and thread count. Any thread; calls may run concurrently,
// in one session or in several.
//===----------------------------------------------------------------------===//

/// Flags of lathe_rt_matmul_f32.
enum {
  LATHE_MM_HAS_BIAS = 1 << 0,     ///< add bias [N] (or broadcastable to C)
  LATHE_MM_HAS_RESIDUAL = 1 << 1, ///< add residual tensor of C's shape
  LATHE_MM_CONST_B = 1 << 2,      ///< B is a constant: may be pre-packed once
  /// A's / C's elements are bf16 (lathe-cpu-bf16-activations: bf16 tensors
  /// between kernels). The product then has bf16 operands and f32
  /// accumulation whatever the session's precision; the residual stays f32.
  LATHE_MM_A_BF16 = 1 << 3,
  LATHE_MM_C_BF16 = 1 << 4,
  /// A was last written by a kernel that records a bound on its output's
  /// magnitude (a convolution, pooling or matmul; lathe-cpu-lower-to-runtime
  /// proves nothing wrote it since): that bound may stand in for the scan
  /// of A for NaN and Inf.
  LATHE_MM_A_FROM_KERNEL = 1 << 5,
  LATHE_MM_ACT_SHIFT = 8, ///< bits 8..15: activation
};
enum {
  LATHE_ACT_NONE = 0,
  LATHE_ACT_RELU = 1,
  LATHE_ACT_GELU_ERF = 2,
  LATHE_ACT_GELU_TANH = 3,
  LATHE_ACT_SIGMOID = 4,
  LATHE_ACT_TANH = 5,
};

/// C = act(A x B + bias) + residual.
/// A: [M,K], [batch,M,K] or [batch1,batch2,M,K]; B: [K,N] (broadcast over
/// A's batch) or with A's batch dimensions; C: A's batch dimensions + [M,N].
/// Any operand may be a strided view (e.g. attention heads read in place).
/// Bias/residual descriptors are ignored unless their flag is set (callers
/// then pass any memref).
void lathe_rt_matmul_f32(int64_t rankA, void *a, int64_t rankB, void *b,
                         int64_t rankBias, void *bias, int64_t rankRes,
                         void *residual, int64_t rankC, void *c, int64_t flags);

/// C = act(alpha * A x B) + residual: lathe_rt_matmul_f32 with the product
/// scaled (oneDNN output scale, e.g. attention's 1/sqrt(d)). No bias.
void lathe_rt_matmul_scaled_f32(int64_t rankA, void *a, int64_t rankB, void *b,
                                int64_t rankBias, void *bias, int64_t rankRes,
                                void *residual, int64_t rankC, void *c,
                                float alpha, int64_t flags);

/// Flags of lathe_rt_layer_norm_f32.
enum {
  LATHE_LN_HAS_GAMMA = 1 << 0, ///< scale by gamma [N] (else 1)
  LATHE_LN_HAS_BETA = 1 << 1,  ///< shift by beta [N] (else 0)
};

/// out[r, :] = (x[r, :] - mean_r) / sqrt(var_r + eps) * gamma + beta, over
/// the last dimension (N) of x; all leading dimensions are rows. out has x's
/// shape (it may be x itself). Gamma/beta descriptors are ignored unless
/// their flag is set.
void lathe_rt_layer_norm_f32(int64_t rankX, void *x, int64_t rankGamma,
                             void *gamma, int64_t rankBeta, void *beta,
                             int64_t rankOut, void *out, float eps,
                             int64_t flags);

/// out = softmax(in) along `axis`.
void lathe_rt_softmax_f32(int64_t rankIn, void *in, int64_t rankOut, void *out,
                          int64_t axis);

/// out = softmax(where(mask == maskedWhen, fill, in)) along `axis`: masked
/// and causal attention in one pass over cache-sized blocks of rows. `mask`
/// is boolean (one byte per element, 0 or 1) and broadcast onto in's
/// dimensions: its dimension i is in's dimension (maskDims >> 4i) & 0xF, or a
/// unit dimension when that is 0xF. out has in's shape (it may be in itself).
void lathe_rt_masked_softmax_f32(int64_t rankIn, void *in, int64_t rankMask,
                                 void *mask, int64_t rankOut, void *out,
                                 float fill, int64_t axis, int64_t maskDims,
                                 int64_t maskedWhen);

/// `layout` of the convolution calls: NCHW input / FCHW filter / NCHW output,
/// or NHWC input / HWCF filter / NHWC output; in either, the input and/or the
/// output may instead be channel-blocked (oneDNN's nChw16c): a rank-5
/// [N, C/16, H, W, 16] memref whose element [n, cb, h, w, ci] is channel
/// cb*16+ci (the innermost dimension contiguous).
enum {
  LATHE_CONV_NCHW = 0,
  LATHE_CONV_NHWC = 1,
  LATHE_CONV_BLOCKED_INPUT = 1 << 1,
  LATHE_CONV_BLOCKED_OUTPUT = 1 << 2,
  /// The input's / output's elements are bf16 (lathe-cpu-bf16-activations);
  /// the filter and bias stay f32. The convolution then has bf16 input and
  /// filter and f32 accumulation whatever the session's precision; an
  /// accumulating one reads its residual from the bf16 output.
  LATHE_CONV_BF16_INPUT = 1 << 3,
  LATHE_CONV_BF16_OUTPUT = 1 << 4,
  /// The input / the residual (the output's contents, with
  /// LATHE_MM_HAS_RESIDUAL) was last written by an earlier convolution or
  /// max-pooling call of the same invocation, exactly this view and nothing
  /// in between (the compiler knows; lathe-cpu-lower-to-runtime). The
  /// runtime may then take a bound on its magnitude from that call instead of
  /// scanning it. The pooling entries (lathe_rt_pool2d_*) accept the input
  /// bit as well.
  LATHE_CONV_INPUT_FROM_CONV = 1 << 5,
  LATHE_CONV_RESIDUAL_FROM_CONV = 1 << 6,
};

/// 2-D convolution (`layout` as above).
/// Padding is symmetric-or-not: (padTop, padLeft) before, the rest implied by
/// the output size. Bias [F] ignored unless LATHE_MM_HAS_BIAS; activation in
/// flags as for matmul.
void lathe_rt_conv2d_f32(int64_t rankIn, void *in, int64_t rankFilter,
                         void *filter, int64_t rankBias, void *bias,
                         int64_t rankOut, void *out, int64_t layout,
                         int64_t strideH, int64_t strideW, int64_t padTop,
                         int64_t padLeft, int64_t dilationH, int64_t dilationW,
                         int64_t flags);

/// Run-time checks of generated code (runtime/lib/Check.cpp). They record the
/// current session's pending error; any thread.

/// Called when a
/// run-time size disagrees with the one the code was compiled for. `what` is a
/// rank-1 i8 memref (the message, e.g. naming the ONNX node and operand); the
/// pending error becomes "<what>: expected <expected>, given <given>".
void lathe_rt_shape_check_failed(int64_t rank, void *what, int64_t expected,
                                 int64_t given);

/// Called when generated code finds a data-dependent index outside its range
/// (an ONNX Gather index, an embedding lookup's token id). `what` is as above
/// (naming the ONNX node, or the op and its location); the pending error
/// becomes "<what>: index <index> out of range [<lo>, <hi>)". The code skips
/// the access and goes on; only the first failure is kept.
void lathe_rt_index_check_failed(int64_t rank, void *what, int64_t index,
                                 int64_t lo, int64_t hi);

/// A failed `cf.assert` of generated code; `message` is as `what` above and
/// becomes the pending error. Never returns: on a thread inside
/// lathe_rt_call_guarded (and `inParallelLoop` zero) it longjmps back there;
/// otherwise it prints "error: <message>" to stderr and calls _exit(1).
void lathe_rt_assert_failed(int64_t rank, void *message,
                            int64_t inParallelLoop);

/// Calls the packed entry point `fn(args)` (a compiled module's `_mlir_NAME`
/// wrapper) so that a failed assertion on this thread returns here. Returns 0
/// when `fn` returned, 1 when an assertion failed (its message is the pending
/// error; the results are not valid). Nests; not async-signal-safe. Any thread
/// (the jump target is per thread); it binds no session: bind the module's
/// session first.
int lathe_rt_call_guarded(void (*fn)(void **), void **args);

//===----------------------------------------------------------------------===//
// Pooling, and convolution followed by pooling (small CNNs). Kernels as above:
// they act on the current session; any thread, concurrently too.
//===----------------------------------------------------------------------===//

/// Pooling kinds, and the flags of lathe_rt_pool2d_f32.
enum {
  LATHE_POOL_MAX = 0, ///< max over the window (linalg.pooling_*_max)
};
enum {
  LATHE_POOL_ACCUMULATE = 1 << 0, ///< out = max(out, pooled), not overwritten
  /// Input and output are bf16 (lathe-cpu-bf16-activations); not with
  /// LATHE_POOL_ACCUMULATE.
  LATHE_POOL_BF16 = 1 << 1,
};

/// Max pooling without padding, as linalg.pooling_{nchw,nhwc}_max:
/// out[n,c,h,w] = max_{i,j} in[n, c, h*strideH + i*dilationH,
/// w*strideW + j*dilationW] over the windowH x windowW window. layout 0 =
/// NCHW, 1 = NHWC (both in and out), or LATHE_CONV_BLOCKED_INPUT |
/// LATHE_CONV_BLOCKED_OUTPUT: both channel-blocked like lathe_rt_conv2d_f32's
/// ([N, C/16, H, W, 16] or [N, 1, H, W, C]). Input rows/columns that no
/// window reads are ignored; the input must cover every window.
void lathe_rt_pool2d_f32(int64_t rankIn, void *in, int64_t rankOut, void *out,
                         int64_t layout, int64_t kind, int64_t windowH,
                         int64_t windowW, int64_t strideH, int64_t strideW,
                         int64_t dilationH, int64_t dilationW, int64_t flags);

/// Max pooling of `in` read as if surrounded by -inf: padTop rows above and
/// padLeft columns before it, and as many rows and columns after it as the
/// windows read past its end (lathe.max_pool2d). Padding that is all a
/// window takes gives -inf. Otherwise as lathe_rt_pool2d_f32.
void lathe_rt_pool2d_padded_f32(int64_t rankIn, void *in, int64_t rankOut,
                                void *out, int64_t layout, int64_t kind,
                                int64_t windowH, int64_t windowW,
                                int64_t strideH, int64_t strideW,
                                int64_t dilationH, int64_t dilationW,
                                int64_t padTop, int64_t padLeft, int64_t flags);

/// out = maxpool(act(conv2d(in, filter) + bias)) in one call: the arguments
/// up to `flags` are those of lathe_rt_conv2d_f32 except that `out` is the
/// POOLED output; the convolution's output (as many rows and columns as the
/// pooling windows read) only exists inside the runtime, in oneDNN's
/// preferred (blocked) layout. Pooling as for lathe_rt_pool2d_f32 (no
/// padding, no accumulation).
void lathe_rt_conv2d_pool_f32(
    int64_t rankIn, void *in, int64_t rankFilter, void *filter,
    int64_t rankBias, void *bias, int64_t rankOut, void *out, int64_t layout,
    int64_t strideH, int64_t strideW, int64_t padTop, int64_t padLeft,
    int64_t dilationH, int64_t dilationW, int64_t flags, int64_t poolKind,
    int64_t poolWindowH, int64_t poolWindowW, int64_t poolStrideH,
    int64_t poolStrideW, int64_t poolDilationH, int64_t poolDilationW);

//===----------------------------------------------------------------------===//
// int8: post-training static quantization (lathe-run --precision=int8;
// runtime/lib/Int8.cpp). Kernels act on the current session; any thread.
//===----------------------------------------------------------------------===//

/// 1 when oneDNN may use int8 dot-product instructions on this CPU (its
/// effective ISA, ONEDNN_MAX_CPU_ISA included, has AVX-VNNI, AVX512-VNNI or
/// AMX-INT8), else 0. Without them the int8 kernels still run (oneDNN's
/// AVX2 int8 code), slower.
int lathe_rt_cpu_has_int8_dot(void);

/// Calibration: widens the range recorded for kernel site `site` in the
/// current session by the values of the f32 memref `x` (any strides). A NaN
/// or Inf sets the pending error (naming the site) and records nothing.
void lathe_rt_observe_range_f32(int64_t rank, void *x, int64_t site);

/// The range recorded for `site` in the current session: returns 1 and
/// writes it to `lo` / `hi`, or returns 0 when the site never ran. Any
/// thread.
int lathe_rt_observed_range(int64_t site, float *lo, float *hi);

/// How the int8 kernel of `site` last ran in the current session, e.g.
/// "int8 (u8 x s8 -> f32, brg:avx512_core_amx)" or "f32 (B is not a
/// constant)": copies it (NUL-terminated, truncated) to `buf` and returns 1,
/// or returns 0 when the site never ran. Any thread.
int lathe_rt_int8_site_info(int64_t site, char *buf, size_t bufSize);

/// lathe_rt_matmul_f32 in int8: A quantized per tensor over its calibrated
/// range [lo, hi] (u8 when lo >= 0, else s8 symmetric), B (which must be
/// constant, LATHE_MM_CONST_B) per output column (symmetric s8, once per
/// address), s32 accumulation, f32 C through per-column output scales; bias
/// [N], activation and residual as for lathe_rt_matmul_f32. Calls that
/// cannot run in int8 run in f32 (lathe_rt_int8_site_info says why). `site`
/// identifies the call for lathe_rt_int8_site_info (< 0: not recorded).
void lathe_rt_matmul_int8_f32(int64_t rankA, void *a, int64_t rankB, void *b,
                              int64_t rankBias, void *bias, int64_t rankRes,
                              void *residual, int64_t rankC, void *c, float lo,
                              float hi, int64_t flags, int64_t site);

/// lathe_rt_conv2d_f32 / lathe_rt_conv2d_pool_f32 in int8 (as above: the
/// input per tensor over [lo, hi], the constant filter per output channel).
void lathe_rt_conv2d_int8_f32(int64_t rankIn, void *in, int64_t rankFilter,
                              void *filter, int64_t rankBias, void *bias,
                              int64_t rankOut, void *out, float lo, float hi,
                              int64_t layout, int64_t strideH, int64_t strideW,
                              int64_t padTop, int64_t padLeft,
                              int64_t dilationH, int64_t dilationW,
                              int64_t flags, int64_t site);
void lathe_rt_conv2d_pool_int8_f32(
    int64_t rankIn, void *in, int64_t rankFilter, void *filter,
    int64_t rankBias, void *bias, int64_t rankOut, void *out, float lo,
    float hi, int64_t layout, int64_t strideH, int64_t strideW, int64_t padTop,
    int64_t padLeft, int64_t dilationH, int64_t dilationW, int64_t flags,
    int64_t poolKind, int64_t poolWindowH, int64_t poolWindowW,
    int64_t poolStrideH, int64_t poolStrideW, int64_t poolDilationH,
    int64_t poolDilationW, int64_t site);
/// Cells and flags of lathe_rt_rnn_f32.
enum {
  LATHE_RNN_LSTM = 0,
  LATHE_RNN_GRU = 1,
  LATHE_RNN_LBR_GRU = 2,
  LATHE_RNN_CELL_MASK = 0xF,  ///< bits 0..3: the cell
  LATHE_RNN_REVERSE = 1 << 4, ///< steps from T-1 down to 0
  LATHE_RNN_HAS_RECURRENT_BIAS = 1 << 5,
  LATHE_RNN_CONST_WEIGHTS = 1 << 6, ///< W and R may be reordered once
  LATHE_RNN_BATCH_FIRST = 1 << 7,   ///< x is [N, T, I] and y [N, T, H]
};

/// One direction of an LSTM / GRU layer (lathe.rnn): x [T, N, I], W [G*H, I],
/// R [G*H, H], bias [G*H] (added to the input projection), recurrent bias
/// [G*H] (to the recurrent one; ignored without
/// LATHE_RNN_HAS_RECURRENT_BIAS), h0 / c0 [N, H] in; y [T, N, H], hT / cT
/// [N, H] out (c0 and cT only for an LSTM; pass any memref otherwise).
/// `gates` holds, 4 bits per gate from bit 0, the block of W, R and the
/// biases holding each gate of the cell in its canonical order (LSTM i, f,
/// c, o; GRU z, r, h). LSTMs and linear-before-reset GRUs run on the
/// runtime's own recurrent loop where the CPU has AVX2 + FMA (bf16 recurrent
/// products in a bf16 session on AVX512-BF16); other GRUs and other CPUs run
/// oneDNN's lstm_forward, gru_forward or lbr_gru_forward.
void lathe_rt_rnn_f32(int64_t rankX, void *x, int64_t rankW, void *w,
                      int64_t rankR, void *r, int64_t rankB, void *bias,
                      int64_t rankRb, void *recurrentBias, int64_t rankH0,
                      void *h0, int64_t rankC0, void *c0, int64_t rankY,
                      void *y, int64_t rankHT, void *hT, int64_t rankCT,
                      void *cT, int64_t flags, int64_t gates);

/// Drops every cached oneDNN primitive and every pre-packed constant weight
/// (LATHE_MM_CONST_B) of the current session, and its other caches keyed by
/// address (constant scans, sparse tile plans). Destroying the session does
/// this too; within one session, call it before memory that held a constant
/// weight is reused for different contents. Any thread; a kernel of the same
/// session running on another thread meanwhile keeps the entry it uses.
void lathe_rt_clear_caches(void);

#ifdef __cplusplus
}
#endif

#endif // LATHE_RUNTIME_RUNTIME_H

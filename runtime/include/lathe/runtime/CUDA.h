/*===- CUDA.h - Lathe's CUDA runtime (libLatheRuntimeCUDA.so) ------*- C
 * -*-===//
 *
 * A separate library, loaded (dlopen) only by `lathe-run --backend=cuda` and
 * the GPU-check programs; nothing here is linked into the CPU tools. It
 * dlopens libcuda.so.1 (and, on first use, libcublasLt and libnccl): a
 * machine without a driver or a device loads it fine and gets
 * LATHE_CUDA_NO_DEVICE from lathe_cuda_init.
 *
 * Everything acts on one process-wide device context with ONE stream: every
 * copy, launch and library call is ordered on it, so no call synchronises
 * except lathe_cuda_synchronize and the copies to the host. Thread-safety:
 * the allocator and the profile are guarded by a mutex; launching from
 * several threads at once is allowed but serialises on the stream.
 *
 * Generated code calls the mgpu* wrappers (MLIR's CUDA runtime ABI, which
 * Debian's LLVM does not ship) and the lathe_cuda_<kernel> entry points,
 * which take the CPU runtime's memref convention (Runtime.h) on device
 * memory. Errors inside those (which cannot return a status) become the
 * sticky pending error, read with lathe_cuda_take_pending_error.
 *===----------------------------------------------------------------------===*/

#ifndef LATHE_RUNTIME_CUDA_H
#define LATHE_RUNTIME_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status values. */
enum {
  LATHE_CUDA_OK = 0,
  LATHE_CUDA_NO_DEVICE = 1, /* no libcuda.so.1, a stub driver, no device */
  LATHE_CUDA_ERROR = 2,     /* any other failure; the text says which */
  LATHE_CUDA_OUT_OF_MEMORY = 3,
};

/* Loads the driver, picks device 0, makes its primary context current and
 * creates the stream. Idempotent. On failure the reason (with CUDA's error
 * name and text) is in lathe_cuda_last_error(). */
int lathe_cuda_init(void);

/* The message of this thread's last failed call ("" when none). */
const char *lathe_cuda_last_error(void);

/* The first error met by a call that cannot return a status (kernels and
 * mgpu* wrappers called from generated code); NULL when none. Clears it. The
 * returned text stays valid until the next call. */
const char *lathe_cuda_take_pending_error(void);

/* "NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB" after a successful init. */
const char *lathe_cuda_device_description(void);
/* Compute capability as major*10+minor (90 for sm_90); 0 before init. */
int lathe_cuda_compute_capability(void);

/* Device memory through the caching allocator: freed blocks are kept for
 * reuse (by size class), so the high-water mark is what the run needed. */
int lathe_cuda_alloc(size_t bytes, void **ptr);
void lathe_cuda_free(void *ptr);
/* Bytes in live blocks, and the most there were (reset by the reset). */
int64_t lathe_cuda_live_bytes(void);
int64_t lathe_cuda_peak_bytes(void);
void lathe_cuda_reset_peak(void);
/* Returns the cached free blocks to the driver. */
void lathe_cuda_release_cached(void);

/* Copies on the stream; to the host waits for it. */
int lathe_cuda_copy_to_device(void *dst, const void *src, size_t bytes);
int lathe_cuda_copy_to_host(void *dst, const void *src, size_t bytes);
int lathe_cuda_synchronize(void);

/* Loads a PTX or cubin image; the function handle for `name`. */
int lathe_cuda_module_load(const void *image, size_t bytes, void **module);
int lathe_cuda_module_function(void *module, const char *name, void **fn);

/* Per-kernel timing with events: when on, every launch and library call is
 * bracketed by two events; collecting synchronises and adds each kernel's
 * time under its name. */
void lathe_cuda_profile_enable(int on);
typedef struct {
  const char *name;
  int64_t calls;
  double ms;
} lathe_cuda_kernel_time;
/* Fills up to `max` entries; returns how many kernels there are. */
int lathe_cuda_profile_collect(lathe_cuda_kernel_time *out, int max);
void lathe_cuda_profile_reset(void);

/* Matmuls may use TF32 tensor cores (off by default: f32 accuracy); the
 * setting is process-wide (lathe-run --allow-tf32). */
void lathe_cuda_set_allow_tf32(int allow);

/* Kernels called from generated code: lathe_rt_<name> of Runtime.h, same
 * arguments, on device memory. */
void lathe_cuda_matmul_f32(int64_t rankA, void *a, int64_t rankB, void *b,
                           int64_t rankBias, void *bias, int64_t rankRes,
                           void *residual, int64_t rankC, void *c,
                           int64_t flags);
void lathe_cuda_matmul_scaled_f32(int64_t rankA, void *a, int64_t rankB,
                                  void *b, int64_t rankBias, void *bias,
                                  int64_t rankRes, void *residual,
                                  int64_t rankC, void *c, float alpha,
                                  int64_t flags);
void lathe_cuda_conv2d_f32(int64_t rankIn, void *in, int64_t rankFilter,
                           void *filter, int64_t rankBias, void *bias,
                           int64_t rankOut, void *out, int64_t layout,
                           int64_t strideH, int64_t strideW, int64_t padTop,
                           int64_t padLeft, int64_t dilationH,
                           int64_t dilationW, int64_t flags);
void lathe_cuda_conv2d_pool_f32(
    int64_t rankIn, void *in, int64_t rankFilter, void *filter,
    int64_t rankBias, void *bias, int64_t rankOut, void *out, int64_t layout,
    int64_t strideH, int64_t strideW, int64_t padTop, int64_t padLeft,
    int64_t dilationH, int64_t dilationW, int64_t flags, int64_t poolKind,
    int64_t windowH, int64_t windowW, int64_t poolStrideH, int64_t poolStrideW,
    int64_t poolDilationH, int64_t poolDilationW);
void lathe_cuda_pool2d_f32(int64_t rankIn, void *in, int64_t rankOut, void *out,
                           int64_t layout, int64_t kind, int64_t windowH,
                           int64_t windowW, int64_t strideH, int64_t strideW,
                           int64_t dilationH, int64_t dilationW, int64_t flags);

/* The GPU check's matmul comparison: `iters` calls of lathe_cuda_matmul_f32
 * on [batch, M, K] x [K, N] (B a transposed [N, K] weight) with `flags`
 * (bias, residual, activation) against the same cuBLASLt plan called
 * directly; mean milliseconds of each. */
int lathe_cuda_bench_matmul(int64_t batch, int64_t M, int64_t N, int64_t K,
                            int64_t flags, int iters, double *latheMs,
                            double *cublasLtMs);
/* The device's memory bandwidth from its clock and bus width (bytes/s);
 * 0 when unknown. */
double lathe_cuda_peak_bandwidth(void);

/* .lathe files of the CUDA backend (`lathe-compile --backend=cuda`): host
 * code (an ELF shared library that calls this library's mgpu* and
 * lathe_cuda_* entry points) with the cubin inside, and the constants and
 * weights as data. lathe_cuda_model_load checks the file, initialises the
 * device (LATHE_CUDA_NO_DEVICE without one), loads the code, uploads every
 * constant to device memory once (the model's constant table then points
 * there) and keeps it until lathe_cuda_model_free. Nothing is compiled and
 * neither LLVM nor MLIR is needed. Tensors are dense, row-major, of the
 * dtype the signature names (lathe_cuda_model_input_dtype; f32 mostly).
 * Thread-safety: runs of one model are serialised (a mutex per model);
 * lathe_cuda_model_free must not race with a run of the same model. */
#define LATHE_CUDA_MAX_RANK 8
typedef struct lathe_cuda_model lathe_cuda_model;
typedef struct lathe_cuda_tensor {
  int32_t rank;
  int64_t shape[LATHE_CUDA_MAX_RANK];
  float *data;
} lathe_cuda_tensor;

int lathe_cuda_model_load(const char *path, lathe_cuda_model **model);
void lathe_cuda_model_free(lathe_cuda_model *model);
int32_t lathe_cuda_model_num_inputs(const lathe_cuda_model *model);
int32_t lathe_cuda_model_num_outputs(const lathe_cuda_model *model);
/* The shape of input/output `index` (-1: dynamic) and its name. */
int lathe_cuda_model_input_info(const lathe_cuda_model *model, int32_t index,
                                lathe_cuda_tensor *shape, const char **name);
int lathe_cuda_model_output_info(const lathe_cuda_model *model, int32_t index,
                                 lathe_cuda_tensor *shape, const char **name);
/* The element type of input/output `index` as lathe_dtype_name spells it
 * ("float32", "int64", ...; NULL if out of range). lathe_cuda_tensor's data
 * points to elements of that type (the field is float * for the ABI's
 * sake): the runtime copies them as they are. */
const char *lathe_cuda_model_input_dtype(const lathe_cuda_model *model,
                                         int32_t index);
const char *lathe_cuda_model_output_dtype(const lathe_cuda_model *model,
                                          int32_t index);
/* A META value ("entry", "gpu_chip", "source", ...), or NULL. */
const char *lathe_cuda_model_metadata(const lathe_cuda_model *model,
                                      const char *key);
/* Bytes of constants the model keeps on the device. */
int64_t lathe_cuda_model_constant_bytes(const lathe_cuda_model *model);
/* One call on host tensors: inputs are copied to the device, results back.
 * An output whose data is NULL is allocated with malloc (the caller frees
 * it); otherwise its shape must equal the result's. */
int lathe_cuda_model_run(lathe_cuda_model *model,
                         const lathe_cuda_tensor *inputs, int32_t num_inputs,
                         lathe_cuda_tensor *outputs, int32_t num_outputs);
/* One call on device tensors (dense, e.g. from lathe_cuda_alloc): each
 * output is set to a fresh dense device block of the runtime's allocator,
 * which the caller frees with lathe_cuda_free. Nothing is synchronised
 * beyond what the call needs to check its errors. */
int lathe_cuda_model_run_device(lathe_cuda_model *model,
                                const lathe_cuda_tensor *inputs,
                                int32_t num_inputs, lathe_cuda_tensor *outputs,
                                int32_t num_outputs);

/* Collectives over NCCL (libnccl.so.2, loaded on first use), in place on
 * device buffers of f32, on the runtime's stream. A communicator is made by
 * lathe_cuda_nccl_init from an id that rank 0 made
 * (lathe_cuda_nccl_unique_id, 128 bytes) and every rank received. */
typedef struct lathe_cuda_comm lathe_cuda_comm;
int lathe_cuda_nccl_unique_id(char id[128]);
int lathe_cuda_nccl_init(const char id[128], int nranks, int rank,
                         lathe_cuda_comm **comm);
void lathe_cuda_nccl_destroy(lathe_cuda_comm *comm);
/* ncclCommSplit: the members of `parent` with this `color`, ordered by
 * `key` (collective over parent). */
int lathe_cuda_nccl_split(lathe_cuda_comm *parent, int color, int key,
                          lathe_cuda_comm **comm);
/* The communicator's number of ranks. */
int lathe_cuda_nccl_size(const lathe_cuda_comm *comm);
/* recv[r*count + i] = send_r[i] over the ranks r. */
int lathe_cuda_all_gather_f32(lathe_cuda_comm *comm, const float *send,
                              float *recv, size_t count);
/* recv[i] = sum_r send_r[rank*count + i]. */
int lathe_cuda_reduce_scatter_f32(lathe_cuda_comm *comm, const float *send,
                                  float *recv, size_t count);
/* recv[i] = sum_r send_r[i]. */
int lathe_cuda_all_reduce_f32(lathe_cuda_comm *comm, const float *send,
                              float *recv, size_t count);
/* recv[r*count + i] = send_r[rank*count + i] (grouped sends and receives). */
int lathe_cuda_all_to_all_f32(lathe_cuda_comm *comm, const float *send,
                              float *recv, size_t count);
/* The same on bytes (the quantized collectives exchange int8 payloads and
 * their f32 scales as bytes). */
int lathe_cuda_all_gather_bytes(lathe_cuda_comm *comm, const void *send,
                                void *recv, size_t bytes);
int lathe_cuda_all_to_all_bytes(lathe_cuda_comm *comm, const void *send,
                                void *recv, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* LATHE_RUNTIME_CUDA_H */

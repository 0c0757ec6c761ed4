//===- Model.h - Load and run a compiled model (.lathe) ---------*- C -*-===//
//
// A .lathe file, written by lathe-compile, holds one module compiled ahead of
// time for one CPU: a shared library with the native code, the module's
// weights as data, the entry's signature and the CPU features the code uses
// (the format is described in docs/Deploy.md). This API loads and runs it in
// any process that links the Lathe runtime library: no MLIR, no LLVM and no
// compilation at load.
//
//   lathe_model *model;
//   if (lathe_model_load("model.lathe", &model) != LATHE_OK)
//     fprintf(stderr, "%s\n", lathe_status_message());
//   lathe_host_tensor in = {LATHE_F32, 2, {4, 64}, xData};
//   lathe_host_tensor out = {0};  // data NULL: allocated by the run
//   lathe_model_run(model, &in, 1, &out, 1);
//   ... use out.data ...
//   lathe_host_tensor_free(&out);
//   lathe_model_free(model);
//
// Errors: every call that returns a lathe_status leaves a message naming what
// was wrong for the calling thread, read with lathe_status_message(); nothing
// aborts the process on bad input (a missing, truncated or corrupt file, a
// module compiled for CPU features this CPU lacks, inputs of the wrong dtype
// or shape).
//
// Thread-safety: load and free, any thread (free must not race with a run of
// the same model). Introspection: any thread. lathe_model_run: any thread,
// including several threads running one model at the same time (each call
// binds the model's runtime session on its thread for the call's duration and
// restores the thread's previous binding afterwards). The runs of one model
// share its runtime session, whose pending error is one: when a run-time check
// fails (LATHE_ERR_CHECK) while other threads run the same model, the error
// may be reported by one of those runs instead. Load one model per thread
// where that matters.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_MODEL_H
#define LATHE_RUNTIME_MODEL_H

#include "lathe/runtime/Runtime.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A loaded model: its code, its weights and its runtime session.
typedef struct lathe_model lathe_model;

/// A dimension whose size is given by the input at run time.
#define LATHE_DYNAMIC_DIM (-1)

/// What one input or output of the model's entry is.
typedef struct lathe_tensor_info {
  /// The name the model gives it (ONNX graph input/output names), else
  /// "input<i>" / "output<i>". Valid while the model lives.
  const char *name;
  lathe_dtype dtype;
  int32_t rank;
  /// Sizes; LATHE_DYNAMIC_DIM where the size is chosen at run time.
  int64_t dims[LATHE_MAX_RANK];
} lathe_tensor_info;

typedef struct lathe_model_options {
  /// Threads for the model's kernels and parallel loops; 0 (the default):
  /// OpenMP's default (all cores).
  int32_t num_threads;
  /// Room for options added later without changing the struct's size; set
  /// by lathe_model_options_init, keep zero.
  int32_t reserved[7];
} lathe_model_options;

/// Fills `options` with the defaults (call it before setting fields).
void lathe_model_options_init(lathe_model_options *options);

/// The message of the calling thread's last failed lathe_model_* call; "" if
/// it succeeded. Valid until the thread's next call into the runtime.
const char *lathe_status_message(void);

/// A short name of a status value ("OK", "IO", "FORMAT", ...).
const char *lathe_status_name(lathe_status status);

/// Loads the .lathe file at `path` with default options. On success sets
/// `*model`; on failure sets it to NULL and returns LATHE_ERR_IO (missing or
/// unreadable), LATHE_ERR_FORMAT (not a .lathe file, truncated, corrupt, or
/// written by an incompatible version), LATHE_ERR_CPU (compiled for a CPU
/// feature this CPU lacks; the message names it) or LATHE_ERR_OOM.
lathe_status lathe_model_load(const char *path, lathe_model **model);

/// lathe_model_load with `options` (NULL: the defaults).
lathe_status lathe_model_load_with_options(const char *path,
                                           const lathe_model_options *options,
                                           lathe_model **model);

/// Unloads the model. NULL is a no-op. Tensors returned by earlier runs stay
/// valid (they belong to the caller).
void lathe_model_free(lathe_model *model);

/// Number of inputs / outputs of the model's entry.
int32_t lathe_model_num_inputs(const lathe_model *model);
int32_t lathe_model_num_outputs(const lathe_model *model);

/// Describes input / output `index`; LATHE_ERR_INVALID for an index out of
/// range.
lathe_status lathe_model_input_info(const lathe_model *model, int32_t index,
                                    lathe_tensor_info *info);
lathe_status lathe_model_output_info(const lathe_model *model, int32_t index,
                                     lathe_tensor_info *info);

/// A fact recorded by lathe-compile, or NULL when there is none. Keys:
/// "entry" (the entry function), "target" (LLVM triple and CPU name),
/// "cpu_features" (comma-separated features the code uses, e.g.
/// "avx2,avx512f,fma"), "precision" ("f32" or "bf16"), "source" (the file
/// it was compiled from), "fast_math", "lathe_version" (of the Lathe that
/// compiled it). Valid while the model lives.
const char *lathe_model_metadata(const lathe_model *model, const char *key);

/// Runs the model once. `inputs` are views of caller-owned, dense, C-ordered
/// buffers (not copied; they must stay valid and unchanged during the call)
/// whose dtype, rank and static sizes must match lathe_model_input_info.
/// For each output: if `data` is NULL, the run allocates it (malloc; free it
/// with lathe_host_tensor_free) and sets dtype, rank and shape; otherwise it
/// is a caller-owned buffer whose dtype, rank and shape must equal the
/// result's (checked after the call; on a mismatch nothing is written and
/// LATHE_ERR_SHAPE/LATHE_ERR_DTYPE names both). Returns LATHE_ERR_INVALID for
/// wrong counts or NULL pointers, LATHE_ERR_DTYPE / LATHE_ERR_SHAPE for inputs
/// that do not match, LATHE_ERR_CHECK when a run-time check of the generated
/// code failed (e.g. an index out of range; the message says which).
lathe_status lathe_model_run(lathe_model *model,
                             const lathe_host_tensor *inputs,
                             int32_t num_inputs, lathe_host_tensor *outputs,
                             int32_t num_outputs);

#ifdef __cplusplus
}
#endif

#endif // LATHE_RUNTIME_MODEL_H

//===- Passes.td - CUDA target passes ----------------------*- tablegen -*-===//

#ifndef LATHE_TARGET_CUDA_PASSES
#define LATHE_TARGET_CUDA_PASSES

include "mlir/Pass/PassBase.td"

def LatheCUDAExpandLayerNorm
    : Pass<"lathe-cuda-expand-layer-norm", "func::FuncOp"> {
  let summary = "Expand lathe.layer_norm on tensors into linalg generics";
  let description = [{
    Layer norm as generated GPU code: a row sum, a row sum of squared
    deviations and one element-wise generic
    `(x - mean) * rsqrt(var + eps) * gamma + beta` (biased variance over the
    last dimension, as `lathe.layer_norm` defines it). Not in the CUDA
    pipeline, which calls the runtime's warp-per-row kernel
    (`lathe_cuda_layer_norm_f32`); kept for explicit use and as the
    generated-code reference.

    ```mlir
    %y = lathe.layer_norm ins(%x : tensor<8x16xf32>) outs(%e : tensor<8x16xf32>)
           {epsilon = 1.0e-05 : f32} -> tensor<8x16xf32>
    // becomes two reductions into tensor<8xf32> and one element-wise generic
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatheCUDARetargetCalls : Pass<"lathe-cuda-retarget-calls", "ModuleOp"> {
  let summary = "Point the CPU runtime-call lowering's calls at the CUDA runtime";
  let description = [{
    `lathe-cpu-lower-to-runtime` emits `func.call @lathe_rt_<kernel>` with the
    runtime's memref convention. The CUDA runtime implements the same ABI on
    device memory as `lathe_cuda_<kernel>` (cuBLASLt for matmuls and the
    RNN's projections; Lathe's own kernels for convolutions, pooling,
    softmax, layer norm, chunked attention, the cross-modal reduction and
    memory banks, SpMM and the RNN's gates). This
    pass renames the callees; a call of a kernel the CUDA runtime lacks is an
    error naming it.

    ```mlir
    func.call @lathe_rt_matmul_f32(...)   // becomes
    func.call @lathe_cuda_matmul_f32(...)
    ```
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def LatheCUDAHostLoops : Pass<"lathe-cuda-host-loops", "func::FuncOp"> {
  let summary = "Host loop nests and scalar reads of buffers become GPU code";
  let description = [{
    Host code of the CUDA target handles device buffers only, but gradients
    leave host-side loops that read and write buffers element by element
    (`lathe-differentiate`'s scatter-add of a slice's or a gather's
    gradient, the loss gradient over a training index list) and scalar reads
    of a buffer that a kernel uses (AdamW's step count). This pass moves both
    into the loop nests that become kernels:

    - An outermost `scf.for` nest without results whose body only loads,
      stores and computes (index checks and `cf.assert` included; no call,
      allocation or linalg op) becomes an `scf.parallel` over the loops of
      its perfect nest that are provably independent: every buffer the nest
      writes is a local allocation accessed at one index list, which holds
      each such loop's induction variable (plus a loop-invariant offset) in
      a position of its own, so two iterations never touch the same
      element. The other loops stay sequential inside. A nest with no such
      loop (a scatter through data-dependent indices) becomes a one-thread
      `scf.parallel`, keeping its order exactly.
    - A `memref.reshape` whose shape buffer host code fills with stores
      (the sizes of a dynamic ONNX Reshape) becomes a
      `memref.reinterpret_cast` with those sizes and row-major strides.
    - A `memref.load` outside loops from a buffer that the function never
      writes, and the scalar arithmetic on it, used only inside linalg
      bodies or `scf.parallel` loops, is cloned into each of them.

    ```mlir
    scf.for %i = %c0 to %c3 step %c1 {
      scf.for %j = %c0 to %c32 step %c1 {
        %k = arith.addi %j, %c64 : index
        %a = memref.load %acc[%i, %k] : memref<3x96xf32>
        ... memref.store %s, %acc[%i, %k] : memref<3x96xf32>
    }}
    // becomes
    scf.parallel (%i, %j) = (%c0, %c0) to (%c3, %c32) step (%c1, %c1) { ... }
    ```
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def LatheCUDAIndexChecks : Pass<"lathe-cuda-index-checks", "ModuleOp"> {
  let summary = "Record generated code's failed index checks on the device";
  let description = [{
    `lathe-cpu-guard-indices` calls `lathe_rt_index_check_failed(what,
    index, lo, hi)` where a data-dependent index (an ONNX Gather's, an
    embedding's token id) is out of range. On the GPU that code runs inside a
    kernel, which cannot call the host. Around the outermost loop nest
    (linalg op or `scf.parallel`) holding such a call, a `memref<4xi64>`
    record of that call is allocated and zeroed
    (`lathe_cuda_index_check_begin`); the call becomes an atomic claim of
    the record followed by stores of {index, lo, hi} by the first failing
    thread; after the loop
    `lathe_cuda_index_check_end(what, record)` reads it back and makes the
    CPU backend's message ("<what>: index I out of range [lo, hi)") the
    pending error.

    ```mlir
    func.call @lathe_rt_index_check_failed(%what, %i, %lo, %hi)  // becomes
    %old = memref.atomic_rmw addi %one, %record[%c0]
    scf.if (%old == 0) { memref.store %i, %record[%c1] ... }
    ```
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def LatheCUDAHostScalars : Pass<"lathe-cuda-host-scalars", "ModuleOp"> {
  let summary = "Host code's scalar loads and stores of device buffers";
  let description = [{
    Host code holds device buffers only, but may read or write one element
    of one (`tensor.extract` of an input that becomes an index, as a memory
    bank's count; `tensor.from_elements` of a count in a result). Each
    `memref.load` / `memref.store` outside the loop nests that become
    kernels becomes a runtime call on the element's address (its view's
    aligned pointer plus offset, as i64: one signature for every element
    type): `lathe_cuda_read_scalar(address, bytes) -> i64` waits for the
    stream and returns the element's bits;
    `lathe_cuda_write_scalar(address, bytes, bits)` copies them in stream
    order. Integers, floats and indices of up to 8
    bytes; another element type is an error naming it. Stack buffers
    (`memref.alloca`) are host memory and stay as they are.

    ```mlir
    %n = memref.load %count[%c0] : memref<1xi64>   // becomes
    %a = ... // address of %count[%c0], i64
    %n = call @lathe_cuda_read_scalar(%a, %c8) : (i64, i64) -> i64
    ```
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def LatheCUDADeviceMemory : Pass<"lathe-cuda-device-memory", "ModuleOp"> {
  let summary = "Keep every buffer of host code on the device";
  let description = [{
    Host functions of the CUDA target handle device memory only: their
    arguments and results are device buffers (the driver copies at the
    function boundary). `memref.alloc`/`dealloc` become `gpu.alloc`/`dealloc`
    (the runtime's caching allocator), a `memref.get_global` (constants,
    weights) is copied to a device buffer where it is read, `memref.copy`
    becomes a `linalg.copy` that runs as a GPU kernel, and a host read of a
    rank-0 buffer (a `memref.load` outside every loop nest: the AdamW step
    counter of a training step) reads a host copy (`gpu.memcpy` into a
    `memref.alloca`).

    ```mlir
    %a = memref.alloc() : memref<4xf32>      // becomes
    %a = gpu.alloc () : memref<4xf32>
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::linalg::LinalgDialect"];
}

def LatheCUDASerialKernels
    : Pass<"lathe-cuda-serial-kernels", "::mlir::func::FuncOp"> {
  let summary = "Give loop-less and all-reduction linalg ops a one-thread loop";
  let description = [{
    `convert-linalg-to-parallel-loops` makes no `scf.parallel` for a linalg
    op without parallel dimensions (a fill of a rank-0 buffer, a reduction
    to a scalar such as a loss): its loads and stores would stay in host
    code, which holds device buffers only. Each such op is wrapped in a
    one-iteration `scf.parallel`, so it runs as a kernel of one thread
    (correct, sequential; these ops are small in the e2e models).

    ```mlir
    linalg.fill ins(%z : f32) outs(%s : memref<f32>)   // becomes
    scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
      linalg.fill ins(%z : f32) outs(%s : memref<f32>)
    }
    ```
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def LatheCUDATileParallelLoops
    : Pass<"lathe-cuda-tile-parallel-loops", "func::FuncOp"> {
  let summary = "Tile outermost scf.parallel loops into blocks of threads";
  let description = [{
    Splits each outermost `scf.parallel` into a loop over tiles (mapped to
    CUDA blocks) around a loop inside a tile (mapped to threads). The
    `threads` per block are given to the innermost dimensions first (the
    contiguous ones in an identity layout, so neighbouring threads touch
    neighbouring addresses), then outwards while static sizes allow. Marks
    the loops for `convert-parallel-loops-to-gpu`.

    When the innermost dimension has a static trip count of at least
    `elements-per-thread` x `threads` x 1024 (enough blocks to fill a large
    GPU after coarsening), each thread takes `elements-per-thread` elements
    of it, `threads` apart (a sequential loop between the block and thread
    levels): accesses stay coalesced and the grid shrinks by that factor.

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c1024, %c256) step (%c1, %c1)
    // becomes a (1024, 1) grid of tiles with a (1, 256) loop inside
    ```
  }];
  let options = [
    Option<"threads", "threads", "int64_t", "256",
           "Threads per block (a power of two)">,
    Option<"elementsPerThread", "elements-per-thread", "int64_t", "4",
           "Elements of the innermost dimension each thread takes in large "
           "loops (1: one element per thread)">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::gpu::GPUDialect"];
}

def LatheCUDAMergeGPUModules
    : Pass<"lathe-cuda-merge-gpu-modules", "ModuleOp"> {
  let summary = "Put every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` makes one `gpu.module` per kernel; the CUDA target
    ships one PTX module per compiled module (one `cuModuleLoadData`), so the
    kernels move into `@lathe_kernels` and every `gpu.launch_func` is
    updated.

    ```mlir
    gpu.module @f_kernel { gpu.func @f_kernel ... }  // becomes
    gpu.module @lathe_kernels { gpu.func @f_kernel ... }
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def LatheCUDACheckContract : Pass<"lathe-cuda-check-contract", "ModuleOp"> {
  let summary = "Verify the module is in the form a CUDA phase promises";
  let description = [{
    The backend contract of each phase of the CUDA pipeline
    (`docs/Targets/CUDA.md`):
    - `kernels`: no `lathe.layer_norm`, `linalg.softmax`, `tosa`, `train` or
      `lowrank` op; no op of a dialect the CUDA target has no kernel for yet
      (`memred`, `sparsegcn`, `qcomm`, `shard`, `seqshard`);
    - `bufferize`: no tensor values;
    - `library-calls`: no `lathe` op; calls into the runtime only to
      `lathe_cuda_*`;
    - `gpu`: no `linalg` op or `scf.parallel`; host functions do not load,
      store or copy memory (their buffers are device buffers);
    - `binary`: one `gpu.binary`, `llvm` dialect elsewhere.

    ```
    lathe-opt m.mlir --lathe-cuda-check-contract=phase=gpu
    ```
  }];
  let options = [
    Option<"phase", "phase", "::mlir::lathe::CudaPhase",
           "::mlir::lathe::CudaPhase::Binary",
           "The phase whose contract is checked", [{::llvm::cl::values(
             clEnumValN(::mlir::lathe::CudaPhase::Import, "import", "no tosa or train"),
             clEnumValN(::mlir::lathe::CudaPhase::Kernels, "kernels", "kernel ops formed"),
             clEnumValN(::mlir::lathe::CudaPhase::Bufferize, "bufferize", "no tensors"),
             clEnumValN(::mlir::lathe::CudaPhase::LibraryCalls,
                        "library-calls", "no lathe op; lathe_cuda_* calls"),
             clEnumValN(::mlir::lathe::CudaPhase::GPU, "gpu", "no linalg or scf.parallel"),
             clEnumValN(::mlir::lathe::CudaPhase::Binary, "binary", "one gpu.binary, llvm elsewhere"))}]>,
  ];
}

#endif // LATHE_TARGET_CUDA_PASSES

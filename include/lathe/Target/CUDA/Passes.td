//===- Passes.td - CUDA target passes ----------------------*- tablegen -*-===//

#ifndef LATHE_TARGET_CUDA_PASSES
#define LATHE_TARGET_CUDA_PASSES

include "mlir/Pass/PassBase.td"

def LatheCUDAExpandLayerNorm
    : Pass<"lathe-cuda-expand-layer-norm", "func::FuncOp"> {
  let summary = "Expand lathe.layer_norm on tensors into linalg generics";
  let description = [{
    The CUDA target runs layer norms as generated GPU code: a row sum, a
    row sum of squared deviations and one element-wise generic
    `(x - mean) * rsqrt(var + eps) * gamma + beta` (biased variance over the
    last dimension, as `lathe.layer_norm` defines it).

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
    device memory as `lathe_cuda_<kernel>` (cuBLASLt for matmuls, Lathe's own
    kernels for convolutions and pooling). This pass renames the callees; a
    call of a kernel the CUDA runtime lacks is an error naming it.

    ```mlir
    func.call @lathe_rt_matmul_f32(...)   // becomes
    func.call @lathe_cuda_matmul_f32(...)
    ```
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def LatheCUDADeviceMemory : Pass<"lathe-cuda-device-memory", "ModuleOp"> {
  let summary = "Keep every buffer of host code on the device";
  let description = [{
    Host functions of the CUDA target handle device memory only: their
    arguments and results are device buffers (the driver copies at the
    function boundary). `memref.alloc`/`dealloc` become `gpu.alloc`/`dealloc`
    (the runtime's caching allocator), a `memref.get_global` (constants,
    weights) is copied to a device buffer where it is read, and `memref.copy`
    becomes a `linalg.copy` that runs as a GPU kernel.

    ```mlir
    %a = memref.alloc() : memref<4xf32>      // becomes
    %a = gpu.alloc () : memref<4xf32>
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::linalg::LinalgDialect"];
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

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c1024, %c256) step (%c1, %c1)
    // becomes a (1024, 1) grid of tiles with a (1, 256) loop inside
    ```
  }];
  let options = [
    Option<"threads", "threads", "int64_t", "256",
           "Threads per block (a power of two)">,
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

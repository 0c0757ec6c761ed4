// Every phase of the CPU pipeline ends with its contract: a module that
// breaks it gets an error naming the first offending op, the phase and the
// fix; a module that keeps it passes, and so does each phase's own output.
// RUN: split-file %s %t

// RUN: not lathe-opt %t/tosa.mlir --lathe-check-contract=phase=import 2>&1 | FileCheck %s --check-prefix=IMPORT
// RUN: not lathe-opt %t/unsigned.mlir --lathe-check-contract=phase=import 2>&1 | FileCheck %s --check-prefix=SIGNATURE
// RUN: lathe-opt %t/tosa.mlir --lathe-cpu-import | lathe-opt --lathe-check-contract=phase=import -o /dev/null
// IMPORT: error: phase 'import' must leave no tosa ops, but tosa.add remains: add its conversion to the 'import' phase
// IMPORT: note: 1 more op(s) break the contract of phase 'import'
// RUN: not lathe-opt %t/train.mlir --lathe-check-contract=phase=import 2>&1 | FileCheck %s --check-prefix=TRAIN
// RUN: lathe-opt %t/train.mlir --lathe-cpu-import | lathe-opt --lathe-check-contract=phase=import -o /dev/null
// TRAIN: error: phase 'import' must leave no train ops, but train.sgd remains: train-lower-to-linalg (in the 'import' phase) must lower it
// SIGNATURE: error: phase 'import' must leave a 'lathe.signature' on every public function, but func.func @main has none: run lathe-record-signature first

// RUN: not lathe-opt %t/matmul.mlir --lathe-check-contract=phase=kernels 2>&1 | FileCheck %s --check-prefix=KERNELS
// RUN: lathe-opt %t/matmul.mlir --lathe-cpu-kernels | FileCheck %s --check-prefix=FORMED
// RUN: lathe-opt %t/matmul-i32.mlir --lathe-check-contract=phase=kernels -o /dev/null
// KERNELS: error: phase 'kernels' must leave no linalg.matmul on f32 tensors with the default indexing maps, but one remains: lathe-cpu-form-kernels must raise it to lathe.matmul
// FORMED: lathe.matmul

// RUN: not lathe-opt %t/qcomm.mlir --lathe-check-contract=phase=kernels 2>&1 | FileCheck %s --check-prefix=QCOMM
// RUN: lathe-opt %t/qcomm.mlir --lathe-cpu-kernels | FileCheck %s --check-prefix=EXPANDED
// QCOMM: error: phase 'kernels' must leave no quantized collectives, but qcomm.reduce_scatter remains: qcomm-expand-collectives (in the 'kernels' phase) must expand it into qcomm compute ops and shard collectives
// EXPANDED: qcomm.quantize
// EXPANDED: shard.all_to_all
// EXPANDED: qcomm.dequantize_reduce
// EXPANDED-NOT: qcomm.reduce_scatter

// RUN: not lathe-opt %t/matmul.mlir --lathe-check-contract=phase=bufferize 2>&1 | FileCheck %s --check-prefix=BUFFERIZE
// RUN: lathe-opt %t/matmul.mlir --lathe-cpu-kernels --lathe-cpu-bufferize | lathe-opt --lathe-check-contract=phase=bufferize -o /dev/null
// BUFFERIZE: error: phase 'bufferize' must leave no tensor values, but tensor.empty still has one: the op has no bufferization model

// RUN: not lathe-opt %t/kernel.mlir --lathe-check-contract=phase=runtime-calls 2>&1 | FileCheck %s --check-prefix=CALLS
// RUN: lathe-opt %t/kernel.mlir --lathe-cpu-runtime-calls | FileCheck %s --check-prefix=CALLED
// CALLS: error: phase 'runtime-calls' must leave no ops of the lathe, lowrank, memred, qcomm or sparsegcn dialects, but lathe.matmul remains: the 'runtime-calls' phase has no runtime call for this form of it
// CALLED: call @lathe_rt_matmul_f32

// RUN: not lathe-opt %t/qkernel.mlir --lathe-check-contract=phase=runtime-calls 2>&1 | FileCheck %s --check-prefix=QCALLS
// RUN: lathe-opt %t/qkernel.mlir --lathe-cpu-runtime-calls | FileCheck %s --check-prefix=QCALLED
// QCALLS: error: phase 'runtime-calls' must leave no ops of the lathe, lowrank, memred, qcomm or sparsegcn dialects, but qcomm.hadamard remains
// QCALLED: call @lathe_rt_hadamard32_f32

// RUN: not lathe-opt %t/generic.mlir --lathe-check-contract=phase=loops 2>&1 | FileCheck %s --check-prefix=LOOPS
// RUN: lathe-opt %t/generic.mlir --lathe-cpu-loops | FileCheck %s --check-prefix=PARALLEL
// LOOPS: error: phase 'loops' must leave no linalg ops, but linalg.generic remains: convert-linalg-to-parallel-loops cannot lower it
// PARALLEL: scf.parallel

// RUN: not lathe-opt %t/generic.mlir --lathe-check-contract=phase=llvm 2>&1 | FileCheck %s --check-prefix=LLVM
// RUN: lathe-opt %t/generic.mlir --lathe-cpu-loops --lathe-cpu-llvm | lathe-opt --lathe-check-contract=phase=llvm -o /dev/null
// LLVM: error: phase 'llvm' must leave only the llvm (and omp) dialect, but linalg.generic remains: add a lowering for it to the pipeline

// A misspelled phase is a command-line error that names the phases.
// RUN: not lathe-opt %t/generic.mlir --lathe-check-contract=phase=bufferise 2>&1 | FileCheck %s --check-prefix=SPELLING
// SPELLING: for the --phase option: unknown value 'bufferise' (expected one of: import, kernels, bufferize, runtime-calls, loops, llvm)

//--- tosa.mlir
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32>
    attributes {lathe.signature = (tensor<4xf32>) -> tensor<4xf32>} {
  %s = tosa.add %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %m = tosa.add %s, %s : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %m : tensor<4xf32>
}

//--- train.mlir
func.func @main(%p: tensor<3x4xf32>, %g: tensor<3x4xf32>, %b: tensor<3x4xf32>) -> tensor<3x4xf32>
    attributes {lathe.signature = (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>} {
  %lr = arith.constant 0.1 : f32
  %p1, %b1 = train.sgd %p, %g, %b lr(%lr) {momentum = 0.9 : f32} : tensor<3x4xf32>
  return %p1 : tensor<3x4xf32>
}

//--- unsigned.mlir
func.func @main(%x: memref<4xf32>) {
  return
}

//--- matmul.mlir
func.func @main(%a: tensor<8x16xf32>, %b: tensor<16x32xf32>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %c = linalg.matmul ins(%a, %b : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  return %c : tensor<8x32xf32>
}

//--- matmul-i32.mlir
// Integer matmuls have no kernel: they stay linalg and become loops.
func.func @main(%a: tensor<8x16xi32>, %b: tensor<16x32xi32>, %acc: tensor<8x32xi32>) -> tensor<8x32xi32> {
  %c = linalg.matmul ins(%a, %b : tensor<8x16xi32>, tensor<16x32xi32>) outs(%acc : tensor<8x32xi32>) -> tensor<8x32xi32>
  return %c : tensor<8x32xi32>
}

//--- kernel.mlir
func.func @main(%x: memref<8x16xf32>, %w: memref<16x32xf32>, %c: memref<8x32xf32>) {
  lathe.matmul ins(%x, %w : memref<8x16xf32>, memref<16x32xf32>) outs(%c : memref<8x32xf32>)
  return
}

//--- generic.mlir
func.func @main(%x: memref<8x16xf32>, %y: memref<8x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<8x16xf32>) outs(%y : memref<8x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  }
  return
}

//--- qcomm.mlir
shard.grid @dp(shape = 2x2)
func.func @main(%g: tensor<256xf32>) -> tensor<64xf32>
    attributes {lathe.signature = (tensor<256xf32>) -> tensor<64xf32>} {
  %r = qcomm.reduce_scatter %g on @dp intra(axes = [1] bits = 8 group_size = 32)
         inter(axes = [0] bits = 4 group_size = 32) : tensor<256xf32> -> tensor<64xf32>
  return %r : tensor<64xf32>
}

//--- qkernel.mlir
func.func @main(%x: memref<64xf32>, %y: memref<64xf32>) {
  qcomm.hadamard ins(%x : memref<64xf32>) outs(%y : memref<64xf32>)
  return
}

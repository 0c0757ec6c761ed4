// The CPU pipeline's options reach the passes they configure, on the whole
// pipeline and on each phase, and every phase ends with its contract.
// RUN: lathe-opt %s --lathe-cpu-pipeline --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=DEFAULT
// RUN: lathe-opt %s --lathe-cpu-pipeline='fp-reassoc=false attention-min-scores=0' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=OPTIONS
// RUN: lathe-opt %s --lathe-cpu-kernels='raise-attention=false' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=NORAISE
// RUN: not lathe-opt %s --lathe-cpu-pipeline='fp-reasoc=false' 2>&1 | FileCheck %s --check-prefix=BAD

// DEFAULT: lathe-cpu-guard-indices,
// DEFAULT-NEXT: lathe-check-contract{phase=import},
// DEFAULT: memred-raise-attention{min-scores=-1},
// DEFAULT: lathe-check-contract{phase=kernels},
// DEFAULT: lathe-check-contract{phase=bufferize},
// DEFAULT: lathe-check-contract{phase=runtime-calls},
// DEFAULT: convert-linalg-to-parallel-loops
// DEFAULT: lathe-check-contract{phase=loops},
// DEFAULT: finalize-memref-to-llvm{{.*}}use-generic-functions=true
// DEFAULT: lathe-llvm-fastmath{contract=true reassoc=true},
// DEFAULT-NEXT: lathe-check-contract{phase=llvm}

// OPTIONS: memred-raise-attention{min-scores=0},
// OPTIONS: lathe-llvm-fastmath{contract=true reassoc=false},

// NORAISE-NOT: memred-raise-attention
// NORAISE: lathe-cpu-form-kernels
// NORAISE: lathe-check-contract{phase=kernels}

// BAD: no such option fp-reasoc
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

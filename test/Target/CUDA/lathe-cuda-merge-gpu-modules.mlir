// REQUIRES: cuda
// RUN: lathe-opt %s --lathe-cuda-merge-gpu-modules | FileCheck %s

// Outlined kernels (each in its own module, all named after their function)
// move into one module, each renamed after its old module, and the launches
// follow. A module without kernels still gets the (empty) module: the
// target's output is always one PTX module.

// CHECK: gpu.module @lathe_kernels
// CHECK-DAG: gpu.func @f_kernel() kernel
// CHECK-DAG: gpu.func @f_kernel_0() kernel
// CHECK-NOT: gpu.module
// CHECK-LABEL: func.func @f
// CHECK: gpu.launch_func @lathe_kernels::@f_kernel
// CHECK: gpu.launch_func @lathe_kernels::@f_kernel_0
module attributes {gpu.container_module} {
  gpu.module @f_kernel {
    gpu.func @f_kernel() kernel {
      gpu.return
    }
  }
  gpu.module @f_kernel_0 {
    gpu.func @f_kernel() kernel {
      gpu.return
    }
  }
  func.func @f() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @f_kernel::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @f_kernel_0::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
}

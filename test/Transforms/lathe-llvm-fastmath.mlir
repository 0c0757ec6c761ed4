// RUN: lathe-opt %s --lathe-llvm-fastmath | FileCheck %s
// RUN: lathe-opt %s --lathe-llvm-fastmath="reassoc=false" | FileCheck %s --check-prefix=CONTRACT
// RUN: lathe-opt %s --lathe-llvm-fastmath="reassoc=false contract=false" | FileCheck %s --check-prefix=NONE

// Adds, subtracts and multiplies get reassoc/contract; division, negation
// and comparisons are left alone; flags already present are kept; nothing
// that assumes finite values (nnan, ninf) is ever added.
// CHECK-LABEL: llvm.func @f
// CHECK: llvm.fadd %{{.*}}, %{{.*}} {fastmathFlags = #llvm.fastmath<contract, reassoc>} : f32
// CHECK: llvm.fsub %{{.*}}, %{{.*}} {fastmathFlags = #llvm.fastmath<contract, reassoc>} : vector<4xf32>
// CHECK: llvm.fmul %{{.*}}, %{{.*}} {fastmathFlags = #llvm.fastmath<nsz, contract, reassoc>} : f64
// CHECK: llvm.fdiv %{{.*}}, %{{.*}} : f32
// CHECK-NOT: nnan
// CHECK-NOT: ninf
// CONTRACT-LABEL: llvm.func @f
// CONTRACT: llvm.fadd %{{.*}}, %{{.*}} {fastmathFlags = #llvm.fastmath<contract>} : f32
// NONE-LABEL: llvm.func @f
// NONE: llvm.fadd %{{.*}}, %{{.*}} : f32
// NONE: llvm.fsub %{{.*}}, %{{.*}} : vector<4xf32>
// NONE: llvm.fmul %{{.*}}, %{{.*}} {fastmathFlags = #llvm.fastmath<nsz>} : f64
llvm.func @f(%a: f32, %b: f32, %v: vector<4xf32>, %d: f64) -> f32 {
  %0 = llvm.fadd %a, %b : f32
  %1 = llvm.fsub %v, %v : vector<4xf32>
  %2 = llvm.fmul %d, %d {fastmathFlags = #llvm.fastmath<nsz>} : f64
  %3 = llvm.fdiv %0, %b : f32
  llvm.return %3 : f32
}

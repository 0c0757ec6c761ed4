// REQUIRES: cuda
// RUN: lathe-opt %s --split-input-file --lathe-cuda-device-memory --lathe-cuda-host-scalars | FileCheck %s
// RUN: lathe-opt %s --split-input-file --lathe-cuda-gpu -o /dev/null
// (The gpu phase with its contract accepts the host lists.)

// Ownership-based deallocation's run-time bookkeeping: host code stores the
// aligned pointers of the buffers it may free into an index list and their
// ownership into an i1 list, a private helper compares them, and host code
// frees what the flags say. Those lists never reach a kernel or a runtime
// call: they stay host allocations, read and written directly. The buffers
// they track, a list a kernel reads, and one a runtime call gets are device
// memory; a host store into the latter goes through the runtime.

// CHECK-LABEL: func.func @f
// CHECK: %[[B:.*]] = gpu.alloc () : memref<4xf32>
// CHECK: %[[K:.*]] = gpu.alloc () : memref<2xindex>
// CHECK: %[[R:.*]] = gpu.alloc () : memref<2xindex>
// CHECK: call @lathe_cuda_write_scalar(
// CHECK: call @lathe_cuda_use(
// CHECK: %[[P:.*]] = memref.alloc() : memref<2xindex>
// CHECK: %[[O:.*]] = memref.alloc() : memref<2xi1>
// CHECK: %[[PTR:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
// CHECK: memref.store %[[PTR]], %[[P]][%{{.*}}] : memref<2xindex>
// CHECK: memref.store %{{.*}}, %[[O]][%{{.*}}] : memref<2xi1>
// CHECK: %[[D:.*]] = memref.alloc() : memref<2xi1>
// CHECK: call @helper(
// CHECK: %[[F:.*]] = memref.load %[[D]][%{{.*}}] : memref<2xi1>
// CHECK: scf.if %[[F]]
// CHECK-NEXT: gpu.dealloc %[[B]]
// CHECK-DAG: memref.dealloc %[[P]]
// CHECK-DAG: memref.dealloc %[[O]]
// CHECK-DAG: memref.dealloc %[[D]]
// CHECK-DAG: gpu.dealloc %[[K]]
// CHECK-DAG: gpu.dealloc %[[R]]
// CHECK-LABEL: func.func private @helper
// CHECK-NOT: lathe_cuda_
// CHECK: return
func.func private @lathe_cuda_use(memref<*xindex>)
func.func @f(%a: memref<4xf32>, %c: i1) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %true = arith.constant true
  %b = memref.alloc() : memref<4xf32>
  // Read by a kernel: device memory.
  %k = memref.alloc() : memref<2xindex>
  linalg.generic {indexing_maps = [affine_map<(i) -> (0)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%k : memref<2xindex>) outs(%b : memref<4xf32>) {
  ^bb0(%in: index, %out: f32):
    %x = arith.index_cast %in : index to i64
    %y = arith.sitofp %x : i64 to f32
    linalg.yield %y : f32
  }
  // Passed to a runtime call: device memory.
  %r = memref.alloc() : memref<2xindex>
  memref.store %c0, %r[%c0] : memref<2xindex>
  %ru = memref.cast %r : memref<2xindex> to memref<*xindex>
  call @lathe_cuda_use(%ru) : (memref<*xindex>) -> ()
  %p = memref.alloc() : memref<2xindex>
  %o = memref.alloc() : memref<2xi1>
  %pa = memref.extract_aligned_pointer_as_index %b : memref<4xf32> -> index
  %pb = memref.extract_aligned_pointer_as_index %a : memref<4xf32> -> index
  memref.store %pa, %p[%c0] : memref<2xindex>
  memref.store %pb, %p[%c1] : memref<2xindex>
  memref.store %c, %o[%c0] : memref<2xi1>
  memref.store %true, %o[%c1] : memref<2xi1>
  %d = memref.alloc() : memref<2xi1>
  %pc = memref.cast %p : memref<2xindex> to memref<?xindex>
  %oc = memref.cast %o : memref<2xi1> to memref<?xi1>
  %dc = memref.cast %d : memref<2xi1> to memref<?xi1>
  call @helper(%pc, %oc, %dc) : (memref<?xindex>, memref<?xi1>, memref<?xi1>) -> ()
  %f = memref.load %d[%c0] : memref<2xi1>
  scf.if %f {
    memref.dealloc %b : memref<4xf32>
  }
  memref.dealloc %p : memref<2xindex>
  memref.dealloc %o : memref<2xi1>
  memref.dealloc %d : memref<2xi1>
  memref.dealloc %k : memref<2xindex>
  memref.dealloc %r : memref<2xindex>
  return %a : memref<4xf32>
}
// The helper: a buffer is freed when it is owned and no other entry
// aliases it.
func.func private @helper(%ptrs: memref<?xindex>, %own: memref<?xi1>, %free: memref<?xi1>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %ptrs, %c0 : memref<?xindex>
  scf.for %i = %c0 to %n step %c1 {
    %pi = memref.load %ptrs[%i] : memref<?xindex>
    %oi = memref.load %own[%i] : memref<?xi1>
    %alias = scf.for %j = %c0 to %i step %c1 iter_args(%acc = %oi) -> (i1) {
      %pj = memref.load %ptrs[%j] : memref<?xindex>
      %same = arith.cmpi eq, %pi, %pj : index
      %t = arith.constant true
      %ns = arith.xori %same, %t : i1
      %keep = arith.andi %acc, %ns : i1
      scf.yield %keep : i1
    }
    memref.store %alias, %free[%i] : memref<?xi1>
  }
  return
}

// -----

// A helper that also gets a list a kernel reads: its lists are device
// memory at every call, and host code reaches them through the runtime.
// CHECK-LABEL: func.func @shared
// CHECK: %[[H:.*]] = gpu.alloc () : memref<2xindex>
// CHECK: %[[K:.*]] = gpu.alloc () : memref<2xindex>
// CHECK: call @lathe_cuda_write_scalar(
// CHECK: call @sum(
// CHECK: call @sum(
// CHECK-NOT: memref.alloc
// CHECK-LABEL: func.func private @sum
// CHECK: call @lathe_cuda_read_scalar(
func.func @shared(%out: memref<2xindex>) -> index {
  %c0 = arith.constant 0 : index
  %h = memref.alloc() : memref<2xindex>
  %k = memref.alloc() : memref<2xindex>
  memref.store %c0, %h[%c0] : memref<2xindex>
  linalg.copy ins(%k : memref<2xindex>) outs(%out : memref<2xindex>)
  %hc = memref.cast %h : memref<2xindex> to memref<?xindex>
  %kc = memref.cast %k : memref<2xindex> to memref<?xindex>
  %x = call @sum(%hc) : (memref<?xindex>) -> index
  %y = call @sum(%kc) : (memref<?xindex>) -> index
  %z = arith.addi %x, %y : index
  memref.dealloc %h : memref<2xindex>
  memref.dealloc %k : memref<2xindex>
  return %z : index
}
func.func private @sum(%l: memref<?xindex>) -> index {
  %c0 = arith.constant 0 : index
  %v = memref.load %l[%c0] : memref<?xindex>
  return %v : index
}

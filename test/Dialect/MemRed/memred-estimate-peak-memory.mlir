// RUN: lathe-opt %s --split-input-file --memred-estimate-peak-memory --mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | FileCheck %s
// RUN: lathe-opt %s --split-input-file --memred-estimate-peak-memory="workers=1" --mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | FileCheck %s --check-prefix=ONE

// Two 4 KiB buffers live together (8192), then one is freed; the chunked
// attention's scratch (2 workers x 4 x (16x32 + 16x16 + 32) = 6400) comes on
// top of the 4096 + 4096 bytes live at the call: 14592.
// CHECK: remark: predicted peak memory of 'f': 14592 bytes (3 allocations; memred kernel scratch for 2 workers included
// ONE: remark: predicted peak memory of 'f': 11392 bytes
func.func @f(%q: memref<1x64x16xf32>) -> memref<1x64x16xf32> {
  %a = memref.alloc() : memref<1024xf32>
  %b = memref.alloc() : memref<1024xf32>
  memref.dealloc %a : memref<1024xf32>
  %o = memref.alloc() : memref<1x64x16xf32>
  memred.chunked_attention ins(%q, %q, %q : memref<1x64x16xf32>, memref<1x64x16xf32>, memref<1x64x16xf32>)
    outs(%o : memref<1x64x16xf32>) scale(0.25) chunks(16, 32)
  %v = memref.subview %b[0] [512] [1] : memref<1024xf32> to memref<512xf32, strided<[1]>>
  memref.dealloc %v : memref<512xf32, strided<[1]>>
  return %o : memref<1x64x16xf32>
}

// -----

// Dynamic allocations are named as not counted; tensors are refused.
// CHECK: remark: predicted peak memory of 'dyn': 0 bytes (1 allocations, 1 dynamic ones not counted
func.func @dyn(%n: index) {
  %a = memref.alloc(%n) : memref<?xf32>
  memref.dealloc %a : memref<?xf32>
  return
}

// -----

// CHECK: warning: memred-estimate-peak-memory: 'tensors' still has tensors; run it after bufferization
func.func @tensors(%t: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  return %e : tensor<4xf32>
}

// -----

// A bank of 40 rows (40 x 24 x 4 = 3840 bytes, allocated) and, while a full
// bank takes an 8-row frame, the reduction's scratch of 21 bytes a row:
// 3840 + 21 * 48 = 4848. The attention reading the bank's valid rows (a
// dynamic subview) has at most 40 keys: one task (8 query rows), so one
// worker's 4 x (8x40 + 8x24 + 16) = 2112 on top of the bank: 5952.
// CHECK: remark: predicted peak memory of 'bank': 5952 bytes (1 allocations;
func.func @bank(%f: memref<8x24xf32>, %q: memref<8x24xf32>, %n: index, %o: memref<8x24xf32>) {
  %b = memref.alloc() : memref<40x24xf32>
  %n1 = memred.bank_append ins(%f : memref<8x24xf32>) queries(%q : memref<8x24xf32>)
          outs(%b : memref<40x24xf32>) count(%n) recent(0.1) keep(0.2) scale(0.35) -> index
  %k = memref.subview %b[0, 0] [%n1, 24] [1, 1] : memref<40x24xf32> to memref<?x24xf32, strided<[24, 1]>>
  memred.attention ins(%q, %k, %k : memref<8x24xf32>, memref<?x24xf32, strided<[24, 1]>>, memref<?x24xf32, strided<[24, 1]>>)
    outs(%o : memref<8x24xf32>) scale(0.35)
  memref.dealloc %b : memref<40x24xf32>
  return
}

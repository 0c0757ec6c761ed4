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

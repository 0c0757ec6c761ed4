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

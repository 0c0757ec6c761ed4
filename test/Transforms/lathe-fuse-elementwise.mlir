// RUN: lathe-opt --lathe-fuse-elementwise %s | FileCheck %s
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import numpy as np,sys; r=np.random.default_rng(1); np.save(sys.argv[1]+'/m.npy', r.standard_normal(4).astype(np.float32)); np.save(sys.argv[1]+'/y.npy', r.standard_normal((4, 3)).astype(np.float32))" %t
// RUN: lathe-run %s --entry=reads_init --input=%t/m.npy --input=%t/y.npy --output=%t/out.npy
// RUN: %python -c "import numpy as np,sys; d=sys.argv[1]; m=np.load(d+'/m.npy'); y=np.load(d+'/y.npy'); o=np.load(d+'/out.npy'); assert np.allclose(o, m[:, None] * y, rtol=1e-6, atol=0), o" %t

// A producer that reads its own (zero-filled) output, consumed with a
// broadcast: upstream linalg-fuse-elementwise-ops (MLIR 22) fuses it and the
// fused op accumulates m once per column (the result was 3x too large in the
// last column). It stays a separate op.
#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
#v = affine_map<(i) -> (i)>
// CHECK-LABEL: func.func @reads_init
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel"]}
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]}
func.func @reads_init(%m: tensor<4xf32>, %y: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %z = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<4xf32>
  %f1 = linalg.fill ins(%z : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
  %p = linalg.generic {indexing_maps = [#v, #v], iterator_types = ["parallel"]}
      ins(%m : tensor<4xf32>) outs(%f1 : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %e = tensor.empty() : tensor<4x3xf32>
  %c = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p, %y : tensor<4xf32>, tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<4x3xf32>
  return %c : tensor<4x3xf32>
}

// A producer that does not read its output is fused as upstream does.
// CHECK-LABEL: func.func @fuses
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @fuses(%m: tensor<4xf32>, %y: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %e1 = tensor.empty() : tensor<4xf32>
  %p = linalg.generic {indexing_maps = [#v, #v], iterator_types = ["parallel"]}
      ins(%m : tensor<4xf32>) outs(%e1 : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %e = tensor.empty() : tensor<4x3xf32>
  %c = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p, %y : tensor<4xf32>, tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<4x3xf32>
  return %c : tensor<4x3xf32>
}

// A CNN's global average pooling of a channel-blocked convolution output
// ([N, C/B, H, W, B] copied to [N, C/B, B, H, W] by a transpose, summed over
// H and W): the transpose folds into the reduction's input map, and the
// loops are interchanged so the blocked source is read in storage order
// (channels innermost, the reductions outside them). It still sums what
// numpy sums (random data, through lathe-run).
// RUN: %python -c "import numpy as np,sys; np.save(sys.argv[1]+'/px.npy', np.random.default_rng(2).standard_normal((2, 4, 7, 5, 16)).astype(np.float32))" %t
// RUN: lathe-run %s --entry=pool_blocked --input=%t/px.npy --output=%t/pool.npy
// RUN: %python -c "import numpy as np,sys; d=sys.argv[1]; x=np.load(d+'/px.npy').astype(np.float64); o=np.load(d+'/pool.npy'); r=x.sum(axis=(2, 3)); assert o.shape == r.shape and np.allclose(o, r, rtol=1e-5, atol=1e-5), np.abs(o-r).max()" %t
// RUN: lathe-opt --lathe-fuse-elementwise %s | FileCheck %s --check-prefix=POOL
// POOL-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
// POOL-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>
// POOL-LABEL: func.func @pool_blocked
// POOL-NOT: linalg.transpose
// POOL: linalg.generic {indexing_maps = [#[[ID]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction", "reduction", "parallel"]} ins(%arg0 : tensor<2x4x7x5x16xf32>)
// POOL: arith.addf
// POOL: return
func.func @pool_blocked(%x: tensor<2x4x7x5x16xf32>) -> tensor<2x4x16xf32> {
  %e = tensor.empty() : tensor<2x4x16x7x5xf32>
  %t = linalg.transpose ins(%x : tensor<2x4x7x5x16xf32>) outs(%e : tensor<2x4x16x7x5xf32>) permutation = [0, 1, 4, 2, 3]
  %zero = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<2x4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%o : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(n, g, c, h, w) -> (n, g, c, h, w)>, affine_map<(n, g, c, h, w) -> (n, g, c)>], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%t : tensor<2x4x16x7x5xf32>) outs(%f : tensor<2x4x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = arith.addf %out, %in : f32
    linalg.yield %y : f32
  } -> tensor<2x4x16xf32>
  return %s : tensor<2x4x16xf32>
}

// An element-wise generic of a transpose reads the source through the
// composed map; it writes as many elements as it reads, so its loops keep
// the output's order. A transpose with another use stays.
// RUN: %python -c "import numpy as np,sys; r=np.random.default_rng(3); np.save(sys.argv[1]+'/ex.npy', r.standard_normal((3, 4, 5)).astype(np.float32)); np.save(sys.argv[1]+'/ey.npy', r.standard_normal((3, 4)).astype(np.float32))" %t
// RUN: lathe-run %s --entry=elementwise --input=%t/ex.npy --input=%t/ey.npy --output=%t/e0.npy --output=%t/e1.npy --output=%t/e2.npy
// RUN: %python -c "import numpy as np,sys; d=sys.argv[1]; x=np.load(d+'/ex.npy'); y=np.load(d+'/ey.npy'); assert np.allclose(np.load(d+'/e0.npy'), np.exp(x.transpose(2, 0, 1)), rtol=1e-5); assert np.allclose(np.load(d+'/e1.npy'), np.exp(y.T), rtol=1e-5); assert np.array_equal(np.load(d+'/e2.npy'), y.T)" %t
// CHECK-LABEL: func.func @elementwise
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0 : tensor<3x4x5xf32>) outs(%{{.*}} : tensor<5x3x4xf32>)
// CHECK: %[[T:.*]] = linalg.transpose ins(%arg1
// CHECK: linalg.generic {{.*}} ins(%[[T]] : tensor<4x3xf32>)
func.func @elementwise(%x: tensor<3x4x5xf32>, %y: tensor<3x4xf32>) -> (tensor<5x3x4xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  %e = tensor.empty() : tensor<5x3x4xf32>
  %t = linalg.transpose ins(%x : tensor<3x4x5xf32>) outs(%e : tensor<5x3x4xf32>) permutation = [2, 0, 1]
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b, c)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%t : tensor<5x3x4xf32>) outs(%e : tensor<5x3x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = math.exp %in : f32
    linalg.yield %v : f32
  } -> tensor<5x3x4xf32>
  %e2 = tensor.empty() : tensor<4x3xf32>
  %u = linalg.transpose ins(%y : tensor<3x4xf32>) outs(%e2 : tensor<4x3xf32>) permutation = [1, 0]
  %s = linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (a, b)>], iterator_types = ["parallel", "parallel"]} ins(%u : tensor<4x3xf32>) outs(%e2 : tensor<4x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = math.exp %in : f32
    linalg.yield %v : f32
  } -> tensor<4x3xf32>
  return %r, %s, %u : tensor<5x3x4xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}

// A reduction whose source's outermost dimension is a reduction loop: the
// transpose folds, but the loops keep their order (the parallel one stays
// outermost).
// CHECK-LABEL: func.func @pool_unbatched
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["parallel", "reduction", "reduction"]} ins(%arg0 : tensor<7x5x16xf32>)
func.func @pool_unbatched(%x: tensor<7x5x16xf32>) -> tensor<16xf32> {
  %e = tensor.empty() : tensor<16x7x5xf32>
  %t = linalg.transpose ins(%x : tensor<7x5x16xf32>) outs(%e : tensor<16x7x5xf32>) permutation = [2, 0, 1]
  %zero = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%o : tensor<16xf32>) -> tensor<16xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(c, h, w) -> (c, h, w)>, affine_map<(c, h, w) -> (c)>], iterator_types = ["parallel", "reduction", "reduction"]} ins(%t : tensor<16x7x5xf32>) outs(%f : tensor<16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = arith.addf %out, %in : f32
    linalg.yield %y : f32
  } -> tensor<16xf32>
  return %s : tensor<16xf32>
}

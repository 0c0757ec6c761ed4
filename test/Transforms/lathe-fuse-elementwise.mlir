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

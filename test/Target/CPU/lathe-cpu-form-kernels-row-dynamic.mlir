// RUN: lathe-opt %s --pass-pipeline="builtin.module(func.func(lathe-cpu-form-kernels))" | FileCheck %s
// RUN: lathe-opt %s --lathe-cpu-import --lathe-cpu-kernels | FileCheck %s --check-prefix=PIPE

// Layer norm and softmax as lathe-import-onnx writes them for a dynamic
// batch (PyTorch's LayerNormalization at opset 17, its decomposed softmax):
// row statistics reduced into tensor<?xf32>, expanded to tensor<?x1xf32>,
// broadcast with (d0, d1) -> (d0, 0), and every size an arith.minsi of
// tensor.dims of the operands. The matcher raises them; through the import
// and kernel phases nothing of the statistics may stay (before, the sizes
// read tensor.dim of the statistics, which kept both row reductions running
// beside the kernel). Look-alikes in the same form are left alone.

#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
#cols = affine_map<(d0, d1) -> (d1)>
#bcast = affine_map<(d0, d1) -> (d0, 0)>
#first = affine_map<(d0, d1) -> (0, 0)>

// CHECK-LABEL: func.func @layer_norm
// CHECK: lathe.layer_norm ins(%{{.*}} : tensor<?x8xf32>) gamma(%{{.*}} : tensor<8xf32>) beta(%{{.*}} : tensor<8xf32>)
// CHECK-SAME: epsilon = 9.99999974E-6
// PIPE-LABEL: func.func @layer_norm
// PIPE-NOT: reduction
// PIPE-NOT: tensor.expand_shape
// PIPE: lathe.layer_norm
// PIPE-NOT: reduction
// PIPE: return
func.func @layer_norm(%x: tensor<?x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 8.0 : f32
  %eps = arith.constant 9.99999974E-6 : f32
  %d = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e0 = tensor.empty(%d) : tensor<?xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x8xf32>) outs(%z0 : tensor<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %s, %a : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  %sum1 = tensor.expand_shape %sum [[0, 1]] output_shape [%d, 1] : tensor<?xf32> into tensor<?x1xf32>
  %d1 = tensor.dim %sum1, %c0 : tensor<?x1xf32>
  %e1 = tensor.empty(%d1) : tensor<?x1xf32>
  %mean = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sum1 : tensor<?x1xf32>) outs(%e1 : tensor<?x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.divf %a, %n : f32
    linalg.yield %r : f32
  } -> tensor<?x1xf32>
  %dx = tensor.dim %x, %c0 : tensor<?x8xf32>
  %dm = tensor.dim %mean, %c0 : tensor<?x1xf32>
  %d2 = arith.minsi %dx, %dm : index
  %e2 = tensor.empty(%d2) : tensor<?x8xf32>
  %cen = linalg.generic {indexing_maps = [#id, #bcast, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean : tensor<?x8xf32>, tensor<?x1xf32>) outs(%e2 : tensor<?x8xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.subf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  %d3 = tensor.dim %cen, %c0 : tensor<?x8xf32>
  %e3 = tensor.empty(%d3) : tensor<?x8xf32>
  %sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%cen : tensor<?x8xf32>) outs(%e3 : tensor<?x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %a : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  %d4 = tensor.dim %sq, %c0 : tensor<?x8xf32>
  %e4 = tensor.empty(%d4) : tensor<?xf32>
  %z4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<?xf32>) -> tensor<?xf32>
  %ss = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%sq : tensor<?x8xf32>) outs(%z4 : tensor<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %s, %a : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  %ss1 = tensor.expand_shape %ss [[0, 1]] output_shape [%d4, 1] : tensor<?xf32> into tensor<?x1xf32>
  %d5 = tensor.dim %ss1, %c0 : tensor<?x1xf32>
  %e5 = tensor.empty(%d5) : tensor<?x1xf32>
  %inv = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ss1 : tensor<?x1xf32>) outs(%e5 : tensor<?x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.divf %a, %n : f32
    %ve = arith.addf %v, %eps : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<?x1xf32>
  %dc = tensor.dim %cen, %c0 : tensor<?x8xf32>
  %di = tensor.dim %inv, %c0 : tensor<?x1xf32>
  %d6 = arith.minsi %dc, %di : index
  %e6 = tensor.empty(%d6) : tensor<?x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #bcast, #cols, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%cen, %inv, %g, %b : tensor<?x8xf32>, tensor<?x1xf32>, tensor<8xf32>, tensor<8xf32>) outs(%e6 : tensor<?x8xf32>) {
  ^bb0(%a: f32, %i: f32, %gg: f32, %bb: f32, %o: f32):
    %p = arith.mulf %a, %i : f32
    %q = arith.mulf %p, %gg : f32
    %r = arith.addf %q, %bb : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// exp(x - rowmax(x)) / rowsum(...), the statistics broadcast with (d0, 0).
// CHECK-LABEL: func.func @softmax
// CHECK: linalg.softmax dimension(1) ins(%{{.*}} : tensor<?x8xf32>)
// PIPE-LABEL: func.func @softmax
// PIPE-NOT: reduction
// PIPE: linalg.softmax
// PIPE-NOT: reduction
// PIPE: return
func.func @softmax(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %d = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e0 = tensor.empty(%d) : tensor<?xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e0 : tensor<?xf32>) -> tensor<?xf32>
  %max = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x8xf32>) outs(%m0 : tensor<?xf32>) {
  ^bb0(%a: f32, %m: f32):
    %r = arith.maximumf %m, %a : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  %max1 = tensor.expand_shape %max [[0, 1]] output_shape [%d, 1] : tensor<?xf32> into tensor<?x1xf32>
  %dx = tensor.dim %x, %c0 : tensor<?x8xf32>
  %dm = tensor.dim %max1, %c0 : tensor<?x1xf32>
  %d1 = arith.minsi %dx, %dm : index
  %e1 = tensor.empty(%d1) : tensor<?x8xf32>
  %ex = linalg.generic {indexing_maps = [#id, #bcast, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max1 : tensor<?x8xf32>, tensor<?x1xf32>) outs(%e1 : tensor<?x8xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %s = arith.subf %a, %m : f32
    %r = math.exp %s : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  %d2 = tensor.dim %ex, %c0 : tensor<?x8xf32>
  %e2 = tensor.empty(%d2) : tensor<?xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%ex : tensor<?x8xf32>) outs(%z2 : tensor<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %s, %a : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  %sum1 = tensor.expand_shape %sum [[0, 1]] output_shape [%d2, 1] : tensor<?xf32> into tensor<?x1xf32>
  %de = tensor.dim %ex, %c0 : tensor<?x8xf32>
  %ds = tensor.dim %sum1, %c0 : tensor<?x1xf32>
  %d3 = arith.minsi %de, %ds : index
  %e3 = tensor.empty(%d3) : tensor<?x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #bcast, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ex, %sum1 : tensor<?x8xf32>, tensor<?x1xf32>) outs(%e3 : tensor<?x8xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.divf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// Every row centred and scaled by the statistics of row 0 ((d0, d1) ->
// (0, 0) on the tensor<?x1xf32> statistics): a layer norm when the batch is
// 1, not otherwise.
// CHECK-LABEL: func.func @layer_norm_row0_statistics
// CHECK-NOT: lathe.layer_norm
// CHECK: return
func.func @layer_norm_row0_statistics(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 8.0 : f32
  %eps = arith.constant 9.99999974E-6 : f32
  %d = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e0 = tensor.empty(%d) : tensor<?xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x8xf32>) outs(%z0 : tensor<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %s, %a : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  %sum1 = tensor.expand_shape %sum [[0, 1]] output_shape [%d, 1] : tensor<?xf32> into tensor<?x1xf32>
  %e1 = tensor.empty(%d) : tensor<?x1xf32>
  %mean = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sum1 : tensor<?x1xf32>) outs(%e1 : tensor<?x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.divf %a, %n : f32
    linalg.yield %r : f32
  } -> tensor<?x1xf32>
  %e2 = tensor.empty(%d) : tensor<?x8xf32>
  %cen = linalg.generic {indexing_maps = [#id, #first, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean : tensor<?x8xf32>, tensor<?x1xf32>) outs(%e2 : tensor<?x8xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.subf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  %sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%cen : tensor<?x8xf32>) outs(%e2 : tensor<?x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %a : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  %ss = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%sq : tensor<?x8xf32>) outs(%z0 : tensor<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %s, %a : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  %ss1 = tensor.expand_shape %ss [[0, 1]] output_shape [%d, 1] : tensor<?xf32> into tensor<?x1xf32>
  %inv = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ss1 : tensor<?x1xf32>) outs(%e1 : tensor<?x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.divf %a, %n : f32
    %ve = arith.addf %v, %eps : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<?x1xf32>
  %y = linalg.generic {indexing_maps = [#id, #first, #id], iterator_types = ["parallel", "parallel"]}
      ins(%cen, %inv : tensor<?x8xf32>, tensor<?x1xf32>) outs(%e2 : tensor<?x8xf32>) {
  ^bb0(%a: f32, %i: f32, %o: f32):
    %r = arith.mulf %a, %i : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// exp(x - x[i, 0]) / rowsum(exp(x - x[i, 0])): the shift reads column 0 of
// the data with (d0, d1) -> (d0, 0), not the row maximum. It equals a
// softmax in exact arithmetic and overflows where x[i, j] - x[i, 0] > 88.
// CHECK-LABEL: func.func @softmax_column0_shift
// CHECK-NOT: linalg.softmax
// CHECK: return
func.func @softmax_column0_shift(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %d = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e1 = tensor.empty(%d) : tensor<?x8xf32>
  %ex = linalg.generic {indexing_maps = [#id, #bcast, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %x : tensor<?x8xf32>, tensor<?x8xf32>) outs(%e1 : tensor<?x8xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %s = arith.subf %a, %m : f32
    %r = math.exp %s : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  %e2 = tensor.empty(%d) : tensor<?xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%ex : tensor<?x8xf32>) outs(%z2 : tensor<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %s, %a : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  %sum1 = tensor.expand_shape %sum [[0, 1]] output_shape [%d, 1] : tensor<?xf32> into tensor<?x1xf32>
  %y = linalg.generic {indexing_maps = [#id, #bcast, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ex, %sum1 : tensor<?x8xf32>, tensor<?x1xf32>) outs(%e1 : tensor<?x8xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.divf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

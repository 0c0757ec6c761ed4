// Convolution, ReLU, 2x2 max pooling and an embedding gather (written as the
// ONNX importer writes Gather: a guarded tensor.extract with a run-time index
// check): the gradients of the pooling input and of the table are
// scatter-adds over the forward iteration space; the convolution's are
// convolutions (its own rule).
#id4 = affine_map<(n, c, h, w) -> (n, c, h, w)>
#bias = affine_map<(n, c, h, w) -> (c)>
#all4 = affine_map<(n, c, h, w) -> ()>
#ids = affine_map<(i, j, d) -> (i, j)>
#emb = affine_map<(i, j, d) -> (i, j, d)>
#all3 = affine_map<(i, j, d) -> ()>
func.func private @lathe_rt_index_check_failed(memref<*xi8>, i64, i64, i64)
memref.global "private" constant @msg : memref<2xi8> = dense<[71, 0]>
func.func @loss(%w: tensor<4x1x3x3xf32> {lathe.param}, %b: tensor<4xf32> {lathe.param},
                %e: tensor<10x4xf32> {lathe.param},
                %x: tensor<2x1x8x8xf32> {lathe.param}, %t: tensor<2x4x3x3xf32>, %tok: tensor<2x3xi64>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %c0 = tensor.empty() : tensor<2x4x6x6xf32>
  %cz = linalg.fill ins(%zero : f32) outs(%c0 : tensor<2x4x6x6xf32>) -> tensor<2x4x6x6xf32>
  %conv = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<2x1x8x8xf32>, tensor<4x1x3x3xf32>) outs(%cz : tensor<2x4x6x6xf32>) -> tensor<2x4x6x6xf32>
  %act = linalg.generic {indexing_maps = [#id4, #bias, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv, %b : tensor<2x4x6x6xf32>, tensor<4xf32>) outs(%c0 : tensor<2x4x6x6xf32>) {
  ^bb0(%v: f32, %bb: f32, %o: f32):
    %s = arith.addf %v, %bb : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x4x6x6xf32>
  %p0 = tensor.empty() : tensor<2x4x3x3xf32>
  %pi = linalg.fill ins(%ninf : f32) outs(%p0 : tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %pool = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%act, %win : tensor<2x4x6x6xf32>, tensor<2x2xf32>) outs(%pi : tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32>
  %s0 = tensor.empty() : tensor<f32>
  %si = linalg.fill ins(%zero : f32) outs(%s0 : tensor<f32>) -> tensor<f32>
  %l1 = linalg.generic {indexing_maps = [#id4, #id4, #all4], iterator_types = ["reduction", "reduction", "reduction", "reduction"]}
      ins(%pool, %t : tensor<2x4x3x3xf32>, tensor<2x4x3x3xf32>) outs(%si : tensor<f32>) {
  ^bb0(%v: f32, %tt: f32, %acc: f32):
    %p = arith.mulf %v, %tt : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  // Embedding: rows %e[%tok[i, j]], then the sum of their squares.
  %g0 = tensor.empty() : tensor<2x3x4xf32>
  %c10 = arith.constant 10 : index
  %gath = linalg.generic {indexing_maps = [#ids, #emb], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%tok : tensor<2x3xi64>) outs(%g0 : tensor<2x3x4xf32>) {
  ^bb0(%id: i64, %o: f32):
    %i = arith.index_cast %id : i64 to index
    %ok = arith.cmpi ult, %i, %c10 : index
    %true = arith.constant true
    %bad = arith.xori %ok, %true : i1
    scf.if %bad {
      %m = memref.get_global @msg : memref<2xi8>
      %mc = memref.cast %m : memref<2xi8> to memref<*xi8>
      %z64 = arith.constant 0 : i64
      func.call @lathe_rt_index_check_failed(%mc, %id, %z64, %z64) : (memref<*xi8>, i64, i64, i64) -> ()
    }
    %d = linalg.index 2 : index
    %v = scf.if %ok -> (f32) {
      %x0 = tensor.extract %e[%i, %d] : tensor<10x4xf32>
      scf.yield %x0 : f32
    } else {
      %z = arith.constant 0.0 : f32
      scf.yield %z : f32
    }
    linalg.yield %v : f32
  } -> tensor<2x3x4xf32>
  %l2 = linalg.generic {indexing_maps = [#emb, #all3], iterator_types = ["reduction", "reduction", "reduction"]}
      ins(%gath : tensor<2x3x4xf32>) outs(%l1 : tensor<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %sq = arith.mulf %v, %v : f32
    %r = arith.addf %acc, %sq : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %l2 : tensor<f32>
}

// @loss_grad of grad-mlp.mlir as an early lathe-differentiate generated it:
// all-parallel backward generics accumulate into zero-filled outputs they
// read. Upstream element-wise fusion miscompiled it (gradients off by up to
// 300x); lathe-fuse-elementwise leaves such producers unfused.
#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1)>
#map2 = affine_map<(d0, d1) -> (d0)>
#map3 = affine_map<(d0) -> (d0)>
#map4 = affine_map<(d0) -> ()>
#map5 = affine_map<(d0, d1) -> (d1, d0)>
#map6 = affine_map<(d0, d1, d2) -> (d0, d1)>
#map7 = affine_map<(d0, d1, d2) -> (d1, d2)>
#map8 = affine_map<(d0, d1, d2) -> (d0, d2)>
#map9 = affine_map<(d0, d1, d2) -> (d2, d0)>
#map10 = affine_map<(d0, d1, d2) -> (d2, d1)>
module {
  func.func @loss(%arg0: tensor<64x32xf32> {lathe.param}, %arg1: tensor<32xf32> {lathe.param}, %arg2: tensor<32x10xf32> {lathe.param}, %arg3: tensor<10xf32> {lathe.param}, %arg4: tensor<16x64xf32>, %arg5: tensor<16x10xf32>) -> tensor<f32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 0xFF800000 : f32
    %0 = tensor.empty() : tensor<16x32xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<16x32xf32>) -> tensor<16x32xf32>
    %2 = linalg.matmul ins(%arg4, %arg0 : tensor<16x64xf32>, tensor<64x32xf32>) outs(%1 : tensor<16x32xf32>) -> tensor<16x32xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%2, %arg1 : tensor<16x32xf32>, tensor<32xf32>) outs(%0 : tensor<16x32xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %17 = arith.addf %in, %in_2 : f32
      %18 = arith.maximumf %17, %cst : f32
      linalg.yield %18 : f32
    } -> tensor<16x32xf32>
    %4 = tensor.empty() : tensor<16x10xf32>
    %5 = linalg.fill ins(%cst : f32) outs(%4 : tensor<16x10xf32>) -> tensor<16x10xf32>
    %6 = linalg.matmul ins(%3, %arg2 : tensor<16x32xf32>, tensor<32x10xf32>) outs(%5 : tensor<16x10xf32>) -> tensor<16x10xf32>
    %7 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%6, %arg3 : tensor<16x10xf32>, tensor<10xf32>) outs(%4 : tensor<16x10xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %17 = arith.addf %in, %in_2 : f32
      linalg.yield %17 : f32
    } -> tensor<16x10xf32>
    %8 = tensor.empty() : tensor<16xf32>
    %9 = linalg.fill ins(%cst_0 : f32) outs(%8 : tensor<16xf32>) -> tensor<16xf32>
    %10 = linalg.generic {indexing_maps = [#map, #map2], iterator_types = ["parallel", "reduction"]} ins(%7 : tensor<16x10xf32>) outs(%9 : tensor<16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %17 = arith.maximumf %out, %in : f32
      linalg.yield %17 : f32
    } -> tensor<16xf32>
    %11 = linalg.fill ins(%cst : f32) outs(%8 : tensor<16xf32>) -> tensor<16xf32>
    %12 = linalg.generic {indexing_maps = [#map, #map2, #map2], iterator_types = ["parallel", "reduction"]} ins(%7, %10 : tensor<16x10xf32>, tensor<16xf32>) outs(%11 : tensor<16xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %17 = arith.subf %in, %in_2 : f32
      %18 = math.exp %17 : f32
      %19 = arith.addf %out, %18 : f32
      linalg.yield %19 : f32
    } -> tensor<16xf32>
    %13 = linalg.generic {indexing_maps = [#map, #map, #map2], iterator_types = ["parallel", "reduction"]} ins(%7, %arg5 : tensor<16x10xf32>, tensor<16x10xf32>) outs(%11 : tensor<16xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %17 = arith.mulf %in, %in_2 : f32
      %18 = arith.addf %out, %17 : f32
      linalg.yield %18 : f32
    } -> tensor<16xf32>
    %14 = tensor.empty() : tensor<f32>
    %15 = linalg.fill ins(%cst : f32) outs(%14 : tensor<f32>) -> tensor<f32>
    %cst_1 = arith.constant 6.250000e-02 : f32
    %16 = linalg.generic {indexing_maps = [#map3, #map3, #map3, #map4], iterator_types = ["reduction"]} ins(%12, %10, %13 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) outs(%15 : tensor<f32>) {
    ^bb0(%in: f32, %in_2: f32, %in_3: f32, %out: f32):
      %17 = math.log %in : f32
      %18 = arith.addf %17, %in_2 : f32
      %19 = arith.subf %18, %in_3 : f32
      %20 = arith.mulf %19, %cst_1 : f32
      %21 = arith.addf %out, %20 : f32
      linalg.yield %21 : f32
    } -> tensor<f32>
    return %16 : tensor<f32>
  }
  func.func @loss_grad(%arg0: tensor<64x32xf32> {lathe.param}, %arg1: tensor<32xf32> {lathe.param}, %arg2: tensor<32x10xf32> {lathe.param}, %arg3: tensor<10xf32> {lathe.param}, %arg4: tensor<16x64xf32>, %arg5: tensor<16x10xf32>) -> (tensor<f32>, tensor<64x32xf32>, tensor<32xf32>, tensor<32x10xf32>, tensor<10xf32>) {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 0xFF800000 : f32
    %0 = tensor.empty() : tensor<16x32xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<16x32xf32>) -> tensor<16x32xf32>
    %2 = linalg.matmul ins(%arg4, %arg0 : tensor<16x64xf32>, tensor<64x32xf32>) outs(%1 : tensor<16x32xf32>) -> tensor<16x32xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%2, %arg1 : tensor<16x32xf32>, tensor<32xf32>) outs(%0 : tensor<16x32xf32>) {
    ^bb0(%in: f32, %in_17: f32, %out: f32):
      %65 = arith.addf %in, %in_17 : f32
      %66 = arith.maximumf %65, %cst : f32
      linalg.yield %66 : f32
    } -> tensor<16x32xf32>
    %4 = tensor.empty() : tensor<16x10xf32>
    %5 = linalg.fill ins(%cst : f32) outs(%4 : tensor<16x10xf32>) -> tensor<16x10xf32>
    %6 = linalg.matmul ins(%3, %arg2 : tensor<16x32xf32>, tensor<32x10xf32>) outs(%5 : tensor<16x10xf32>) -> tensor<16x10xf32>
    %7 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%6, %arg3 : tensor<16x10xf32>, tensor<10xf32>) outs(%4 : tensor<16x10xf32>) {
    ^bb0(%in: f32, %in_17: f32, %out: f32):
      %65 = arith.addf %in, %in_17 : f32
      linalg.yield %65 : f32
    } -> tensor<16x10xf32>
    %8 = tensor.empty() : tensor<16xf32>
    %9 = linalg.fill ins(%cst_0 : f32) outs(%8 : tensor<16xf32>) -> tensor<16xf32>
    %10 = linalg.generic {indexing_maps = [#map, #map2], iterator_types = ["parallel", "reduction"]} ins(%7 : tensor<16x10xf32>) outs(%9 : tensor<16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %65 = arith.maximumf %out, %in : f32
      linalg.yield %65 : f32
    } -> tensor<16xf32>
    %11 = linalg.fill ins(%cst : f32) outs(%8 : tensor<16xf32>) -> tensor<16xf32>
    %12 = linalg.generic {indexing_maps = [#map, #map2, #map2], iterator_types = ["parallel", "reduction"]} ins(%7, %10 : tensor<16x10xf32>, tensor<16xf32>) outs(%11 : tensor<16xf32>) {
    ^bb0(%in: f32, %in_17: f32, %out: f32):
      %65 = arith.subf %in, %in_17 : f32
      %66 = math.exp %65 : f32
      %67 = arith.addf %out, %66 : f32
      linalg.yield %67 : f32
    } -> tensor<16xf32>
    %13 = linalg.generic {indexing_maps = [#map, #map, #map2], iterator_types = ["parallel", "reduction"]} ins(%7, %arg5 : tensor<16x10xf32>, tensor<16x10xf32>) outs(%11 : tensor<16xf32>) {
    ^bb0(%in: f32, %in_17: f32, %out: f32):
      %65 = arith.mulf %in, %in_17 : f32
      %66 = arith.addf %out, %65 : f32
      linalg.yield %66 : f32
    } -> tensor<16xf32>
    %14 = tensor.empty() : tensor<f32>
    %15 = linalg.fill ins(%cst : f32) outs(%14 : tensor<f32>) -> tensor<f32>
    %cst_1 = arith.constant 6.250000e-02 : f32
    %16 = linalg.generic {indexing_maps = [#map3, #map3, #map3, #map4], iterator_types = ["reduction"]} ins(%12, %10, %13 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) outs(%15 : tensor<f32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %out: f32):
      %65 = math.log %in : f32
      %66 = arith.addf %65, %in_17 : f32
      %67 = arith.subf %66, %in_18 : f32
      %68 = arith.mulf %67, %cst_1 : f32
      %69 = arith.addf %out, %68 : f32
      linalg.yield %69 : f32
    } -> tensor<f32>
    %cst_2 = arith.constant dense<1.000000e+00> : tensor<f32>
    %17 = tensor.empty() : tensor<16xf32>
    %cst_3 = arith.constant 0.000000e+00 : f32
    %18 = linalg.fill ins(%cst_3 : f32) outs(%17 : tensor<16xf32>) -> tensor<16xf32>
    %19 = linalg.generic {indexing_maps = [#map3, #map3, #map3, #map4, #map3], iterator_types = ["parallel"]} ins(%12, %10, %13, %cst_2 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>) outs(%18 : tensor<16xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %in_19: f32, %out: f32):
      %65 = math.log %in : f32
      %66 = arith.addf %65, %in_17 : f32
      %67 = arith.subf %66, %in_18 : f32
      %68 = arith.mulf %67, %cst_1 : f32
      %69 = arith.mulf %in_19, %cst_1 : f32
      %70 = arith.mulf %in_19, %67 : f32
      %71 = arith.negf %69 : f32
      %72 = arith.divf %69, %in : f32
      %73 = arith.addf %out, %72 : f32
      linalg.yield %73 : f32
    } -> tensor<16xf32>
    %20 = tensor.empty() : tensor<16xf32>
    %cst_4 = arith.constant 0.000000e+00 : f32
    %21 = linalg.fill ins(%cst_4 : f32) outs(%20 : tensor<16xf32>) -> tensor<16xf32>
    %22 = linalg.generic {indexing_maps = [#map3, #map3, #map3, #map4, #map3], iterator_types = ["parallel"]} ins(%12, %10, %13, %cst_2 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>) outs(%21 : tensor<16xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %in_19: f32, %out: f32):
      %65 = math.log %in : f32
      %66 = arith.addf %65, %in_17 : f32
      %67 = arith.subf %66, %in_18 : f32
      %68 = arith.mulf %67, %cst_1 : f32
      %69 = arith.mulf %in_19, %cst_1 : f32
      %70 = arith.mulf %in_19, %67 : f32
      %71 = arith.negf %69 : f32
      %72 = arith.divf %69, %in : f32
      %73 = arith.addf %out, %69 : f32
      linalg.yield %73 : f32
    } -> tensor<16xf32>
    %23 = tensor.empty() : tensor<16xf32>
    %cst_5 = arith.constant 0.000000e+00 : f32
    %24 = linalg.fill ins(%cst_5 : f32) outs(%23 : tensor<16xf32>) -> tensor<16xf32>
    %25 = linalg.generic {indexing_maps = [#map3, #map3, #map3, #map4, #map3], iterator_types = ["parallel"]} ins(%12, %10, %13, %cst_2 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>) outs(%24 : tensor<16xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %in_19: f32, %out: f32):
      %65 = math.log %in : f32
      %66 = arith.addf %65, %in_17 : f32
      %67 = arith.subf %66, %in_18 : f32
      %68 = arith.mulf %67, %cst_1 : f32
      %69 = arith.mulf %in_19, %cst_1 : f32
      %70 = arith.mulf %in_19, %67 : f32
      %71 = arith.negf %69 : f32
      %72 = arith.divf %69, %in : f32
      %73 = arith.addf %out, %71 : f32
      linalg.yield %73 : f32
    } -> tensor<16xf32>
    %26 = tensor.empty() : tensor<16x10xf32>
    %cst_6 = arith.constant 0.000000e+00 : f32
    %27 = linalg.fill ins(%cst_6 : f32) outs(%26 : tensor<16x10xf32>) -> tensor<16x10xf32>
    %28 = linalg.generic {indexing_maps = [#map, #map, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%7, %arg5, %25 : tensor<16x10xf32>, tensor<16x10xf32>, tensor<16xf32>) outs(%27 : tensor<16x10xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %out: f32):
      %65 = arith.mulf %in, %in_17 : f32
      %66 = arith.mulf %in_18, %in_17 : f32
      %67 = arith.mulf %in_18, %in : f32
      %68 = arith.addf %out, %66 : f32
      linalg.yield %68 : f32
    } -> tensor<16x10xf32>
    %29 = tensor.empty() : tensor<16x10xf32>
    %cst_7 = arith.constant 0.000000e+00 : f32
    %30 = linalg.fill ins(%cst_7 : f32) outs(%29 : tensor<16x10xf32>) -> tensor<16x10xf32>
    %31 = linalg.generic {indexing_maps = [#map, #map2, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%7, %10, %19 : tensor<16x10xf32>, tensor<16xf32>, tensor<16xf32>) outs(%30 : tensor<16x10xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %out: f32):
      %65 = arith.subf %in, %in_17 : f32
      %66 = math.exp %65 : f32
      %67 = arith.mulf %in_18, %66 : f32
      %68 = arith.negf %67 : f32
      %69 = arith.addf %out, %67 : f32
      linalg.yield %69 : f32
    } -> tensor<16x10xf32>
    %32 = tensor.empty() : tensor<16x10xf32>
    %33 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%28, %31 : tensor<16x10xf32>, tensor<16x10xf32>) outs(%32 : tensor<16x10xf32>) {
    ^bb0(%in: f32, %in_17: f32, %out: f32):
      %65 = arith.addf %in, %in_17 : f32
      linalg.yield %65 : f32
    } -> tensor<16x10xf32>
    %34 = tensor.empty() : tensor<16xf32>
    %cst_8 = arith.constant 0.000000e+00 : f32
    %35 = linalg.fill ins(%cst_8 : f32) outs(%34 : tensor<16xf32>) -> tensor<16xf32>
    %36 = linalg.generic {indexing_maps = [#map, #map2, #map2, #map2], iterator_types = ["parallel", "reduction"]} ins(%7, %10, %19 : tensor<16x10xf32>, tensor<16xf32>, tensor<16xf32>) outs(%35 : tensor<16xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %out: f32):
      %65 = arith.subf %in, %in_17 : f32
      %66 = math.exp %65 : f32
      %67 = arith.mulf %in_18, %66 : f32
      %68 = arith.negf %67 : f32
      %69 = arith.addf %out, %68 : f32
      linalg.yield %69 : f32
    } -> tensor<16xf32>
    %37 = tensor.empty() : tensor<16xf32>
    %38 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel"]} ins(%22, %36 : tensor<16xf32>, tensor<16xf32>) outs(%37 : tensor<16xf32>) {
    ^bb0(%in: f32, %in_17: f32, %out: f32):
      %65 = arith.addf %in, %in_17 : f32
      linalg.yield %65 : f32
    } -> tensor<16xf32>
    %39 = tensor.empty() : tensor<16x10xf32>
    %cst_9 = arith.constant 0.000000e+00 : f32
    %40 = linalg.fill ins(%cst_9 : f32) outs(%39 : tensor<16x10xf32>) -> tensor<16x10xf32>
    %41 = linalg.generic {indexing_maps = [#map, #map2, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%7, %10, %38 : tensor<16x10xf32>, tensor<16xf32>, tensor<16xf32>) outs(%40 : tensor<16x10xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %out: f32):
      %65 = arith.cmpf oeq, %in, %in_17 : f32
      %cst_19 = arith.constant 0.000000e+00 : f32
      %66 = arith.select %65, %in_18, %cst_19 : f32
      %67 = arith.addf %out, %66 : f32
      linalg.yield %67 : f32
    } -> tensor<16x10xf32>
    %42 = tensor.empty() : tensor<16x10xf32>
    %43 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%33, %41 : tensor<16x10xf32>, tensor<16x10xf32>) outs(%42 : tensor<16x10xf32>) {
    ^bb0(%in: f32, %in_17: f32, %out: f32):
      %65 = arith.addf %in, %in_17 : f32
      linalg.yield %65 : f32
    } -> tensor<16x10xf32>
    %44 = tensor.empty() : tensor<16x10xf32>
    %cst_10 = arith.constant 0.000000e+00 : f32
    %45 = linalg.fill ins(%cst_10 : f32) outs(%44 : tensor<16x10xf32>) -> tensor<16x10xf32>
    %46 = linalg.generic {indexing_maps = [#map, #map1, #map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%6, %arg3, %4, %43 : tensor<16x10xf32>, tensor<10xf32>, tensor<16x10xf32>, tensor<16x10xf32>) outs(%45 : tensor<16x10xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %in_19: f32, %out: f32):
      %65 = arith.addf %in, %in_17 : f32
      %66 = arith.addf %out, %in_19 : f32
      linalg.yield %66 : f32
    } -> tensor<16x10xf32>
    %47 = tensor.empty() : tensor<10xf32>
    %cst_11 = arith.constant 0.000000e+00 : f32
    %48 = linalg.fill ins(%cst_11 : f32) outs(%47 : tensor<10xf32>) -> tensor<10xf32>
    %49 = linalg.generic {indexing_maps = [#map5, #map2, #map5, #map5, #map2], iterator_types = ["parallel", "reduction"]} ins(%6, %arg3, %4, %43 : tensor<16x10xf32>, tensor<10xf32>, tensor<16x10xf32>, tensor<16x10xf32>) outs(%48 : tensor<10xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %in_19: f32, %out: f32):
      %65 = arith.addf %in, %in_17 : f32
      %66 = arith.addf %out, %in_19 : f32
      linalg.yield %66 : f32
    } -> tensor<10xf32>
    %50 = tensor.empty() : tensor<16x32xf32>
    %cst_12 = arith.constant 0.000000e+00 : f32
    %51 = linalg.fill ins(%cst_12 : f32) outs(%50 : tensor<16x32xf32>) -> tensor<16x32xf32>
    %52 = linalg.generic {indexing_maps = [#map6, #map7, #map8, #map6], iterator_types = ["parallel", "parallel", "reduction"]} ins(%3, %arg2, %46 : tensor<16x32xf32>, tensor<32x10xf32>, tensor<16x10xf32>) outs(%51 : tensor<16x32xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %out: f32):
      %65 = arith.mulf %in, %in_17 : f32
      %66 = arith.mulf %in_18, %in_17 : f32
      %67 = arith.mulf %in_18, %in : f32
      %68 = arith.addf %out, %66 : f32
      linalg.yield %68 : f32
    } -> tensor<16x32xf32>
    %53 = tensor.empty() : tensor<32x10xf32>
    %cst_13 = arith.constant 0.000000e+00 : f32
    %54 = linalg.fill ins(%cst_13 : f32) outs(%53 : tensor<32x10xf32>) -> tensor<32x10xf32>
    %55 = linalg.generic {indexing_maps = [#map9, #map6, #map10, #map6], iterator_types = ["parallel", "parallel", "reduction"]} ins(%3, %arg2, %46 : tensor<16x32xf32>, tensor<32x10xf32>, tensor<16x10xf32>) outs(%54 : tensor<32x10xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %out: f32):
      %65 = arith.mulf %in, %in_17 : f32
      %66 = arith.mulf %in_18, %in_17 : f32
      %67 = arith.mulf %in_18, %in : f32
      %68 = arith.addf %out, %67 : f32
      linalg.yield %68 : f32
    } -> tensor<32x10xf32>
    %56 = tensor.empty() : tensor<16x32xf32>
    %cst_14 = arith.constant 0.000000e+00 : f32
    %57 = linalg.fill ins(%cst_14 : f32) outs(%56 : tensor<16x32xf32>) -> tensor<16x32xf32>
    %58 = linalg.generic {indexing_maps = [#map, #map1, #map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%2, %arg1, %0, %52 : tensor<16x32xf32>, tensor<32xf32>, tensor<16x32xf32>, tensor<16x32xf32>) outs(%57 : tensor<16x32xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %in_19: f32, %out: f32):
      %65 = arith.addf %in, %in_17 : f32
      %66 = arith.maximumf %65, %cst : f32
      %cst_20 = arith.constant 0.000000e+00 : f32
      %67 = arith.cmpf ogt, %65, %cst : f32
      %68 = arith.select %67, %in_19, %cst_20 : f32
      %69 = arith.select %67, %cst_20, %in_19 : f32
      %70 = arith.addf %out, %68 : f32
      linalg.yield %70 : f32
    } -> tensor<16x32xf32>
    %59 = tensor.empty() : tensor<32xf32>
    %cst_15 = arith.constant 0.000000e+00 : f32
    %60 = linalg.fill ins(%cst_15 : f32) outs(%59 : tensor<32xf32>) -> tensor<32xf32>
    %61 = linalg.generic {indexing_maps = [#map5, #map2, #map5, #map5, #map2], iterator_types = ["parallel", "reduction"]} ins(%2, %arg1, %0, %52 : tensor<16x32xf32>, tensor<32xf32>, tensor<16x32xf32>, tensor<16x32xf32>) outs(%60 : tensor<32xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %in_19: f32, %out: f32):
      %65 = arith.addf %in, %in_17 : f32
      %66 = arith.maximumf %65, %cst : f32
      %cst_20 = arith.constant 0.000000e+00 : f32
      %67 = arith.cmpf ogt, %65, %cst : f32
      %68 = arith.select %67, %in_19, %cst_20 : f32
      %69 = arith.select %67, %cst_20, %in_19 : f32
      %70 = arith.addf %out, %68 : f32
      linalg.yield %70 : f32
    } -> tensor<32xf32>
    %62 = tensor.empty() : tensor<64x32xf32>
    %cst_16 = arith.constant 0.000000e+00 : f32
    %63 = linalg.fill ins(%cst_16 : f32) outs(%62 : tensor<64x32xf32>) -> tensor<64x32xf32>
    %64 = linalg.generic {indexing_maps = [#map9, #map6, #map10, #map6], iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg4, %arg0, %58 : tensor<16x64xf32>, tensor<64x32xf32>, tensor<16x32xf32>) outs(%63 : tensor<64x32xf32>) {
    ^bb0(%in: f32, %in_17: f32, %in_18: f32, %out: f32):
      %65 = arith.mulf %in, %in_17 : f32
      %66 = arith.mulf %in_18, %in_17 : f32
      %67 = arith.mulf %in_18, %in : f32
      %68 = arith.addf %out, %67 : f32
      linalg.yield %68 : f32
    } -> tensor<64x32xf32>
    return %16, %64, %61, %55, %49 : tensor<f32>, tensor<64x32xf32>, tensor<32xf32>, tensor<32x10xf32>, tensor<10xf32>
  }
}


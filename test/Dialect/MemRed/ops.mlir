// RUN: lathe-opt %s | FileCheck %s
// RUN: lathe-opt %s | lathe-opt | FileCheck %s

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<4x128x64xf32>, %k: tensor<4x128x64xf32>,
                     %v: tensor<4x128x32xf32>) -> tensor<4x128x32xf32> {
  %e = tensor.empty() : tensor<4x128x32xf32>
  // CHECK: memred.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<4x128x64xf32>, tensor<4x128x64xf32>, tensor<4x128x32xf32>)
  // CHECK-SAME: outs(%{{.*}} : tensor<4x128x32xf32>) scale(1.250000e-01) -> tensor<4x128x32xf32>
  %o = memred.attention ins(%q, %k, %v : tensor<4x128x64xf32>, tensor<4x128x64xf32>, tensor<4x128x32xf32>)
         outs(%e : tensor<4x128x32xf32>) scale(0.125) -> tensor<4x128x32xf32>
  return %o : tensor<4x128x32xf32>
}

// CHECK-LABEL: func.func @chunked_two_biases
func.func @chunked_two_biases(%q: tensor<2x4x1024x32xf32>, %k: tensor<2x4x1024x32xf32>,
                              %v: tensor<2x4x1024x32xf32>, %mask: tensor<2x1x1x1024xf32>,
                              %pair: tensor<1x4x1024x1024xf32>) -> tensor<2x4x1024x32xf32> {
  %e = tensor.empty() : tensor<2x4x1024x32xf32>
  // CHECK: memred.chunked_attention
  // CHECK-SAME: biases(%{{.*}}, %{{.*}} : tensor<2x1x1x1024xf32>, tensor<1x4x1024x1024xf32>)
  // CHECK-SAME: scale(0.176776692) chunks(64, 512)
  %o = memred.chunked_attention ins(%q, %k, %v : tensor<2x4x1024x32xf32>, tensor<2x4x1024x32xf32>, tensor<2x4x1024x32xf32>)
         biases(%mask, %pair : tensor<2x1x1x1024xf32>, tensor<1x4x1024x1024xf32>)
         outs(%e : tensor<2x4x1024x32xf32>) scale(0.176776695) chunks(64, 512) -> tensor<2x4x1024x32xf32>
  return %o : tensor<2x4x1024x32xf32>
}

// CHECK-LABEL: func.func @on_memrefs
func.func @on_memrefs(%q: memref<1x8192x64xf32>, %b: memref<1x1x8192xf32>, %o: memref<1x8192x64xf32>) {
  // CHECK: memred.chunked_attention ins({{.*}}) biases(%{{.*}} : memref<1x1x8192xf32>) outs(%{{.*}} : memref<1x8192x64xf32>) scale(1.250000e-01) chunks(128, 512){{$}}
  memred.chunked_attention ins(%q, %q, %q : memref<1x8192x64xf32>, memref<1x8192x64xf32>, memref<1x8192x64xf32>)
    biases(%b : memref<1x1x8192xf32>) outs(%o : memref<1x8192x64xf32>) scale(0.125) chunks(128, 512)
  return
}

// Evoformer shapes (rank 5): the forward with its log-sum-exp, and the
// backward with the gradient of the pair bias only.
// CHECK-LABEL: func.func @evoformer_grad
func.func @evoformer_grad(%q: tensor<2x3x4x16x8xf32>, %mask: tensor<2x3x1x1x16xf32>,
                          %pair: tensor<2x1x4x16x16xf32>, %do: tensor<2x3x4x16x8xf32>)
    -> (tensor<2x3x4x16x8xf32>, tensor<2x1x4x16x16xf32>) {
  %e = tensor.empty() : tensor<2x3x4x16x8xf32>
  %el = tensor.empty() : tensor<2x3x4x16xf32>
  %ep = tensor.empty() : tensor<2x1x4x16x16xf32>
  // CHECK: %[[O:.*]]:2 = memred.attention
  // CHECK-SAME: outs(%{{.*}} : tensor<2x3x4x16x8xf32>) lse(%{{.*}} : tensor<2x3x4x16xf32>) scale({{[^)]*}})
  // CHECK-SAME: -> tensor<2x3x4x16x8xf32>, tensor<2x3x4x16xf32>
  %o:2 = memred.attention ins(%q, %q, %q : tensor<2x3x4x16x8xf32>, tensor<2x3x4x16x8xf32>, tensor<2x3x4x16x8xf32>)
           biases(%mask, %pair : tensor<2x3x1x1x16xf32>, tensor<2x1x4x16x16xf32>)
           outs(%e : tensor<2x3x4x16x8xf32>) lse(%el : tensor<2x3x4x16xf32>) scale(0.353553385)
           -> tensor<2x3x4x16x8xf32>, tensor<2x3x4x16xf32>
  // CHECK: memred.attention_grad ins(%{{.*}}, %{{.*}}, %{{.*}}, %[[O]]#0, %{{.*}}, %[[O]]#1 :
  // CHECK-SAME: biases(%{{.*}}, %{{.*}} : tensor<2x3x1x1x16xf32>, tensor<2x1x4x16x16xf32>)
  // CHECK-SAME: bias_grads [1] (%{{.*}} : tensor<2x1x4x16x16xf32>) scale({{[^)]*}}) chunks(0, 0)
  %g:4 = memred.attention_grad ins(%q, %q, %q, %o#0, %do, %o#1 : tensor<2x3x4x16x8xf32>, tensor<2x3x4x16x8xf32>,
             tensor<2x3x4x16x8xf32>, tensor<2x3x4x16x8xf32>, tensor<2x3x4x16x8xf32>, tensor<2x3x4x16xf32>)
           biases(%mask, %pair : tensor<2x3x1x1x16xf32>, tensor<2x1x4x16x16xf32>)
           outs(%e, %e, %e : tensor<2x3x4x16x8xf32>, tensor<2x3x4x16x8xf32>, tensor<2x3x4x16x8xf32>)
           bias_grads [1] (%ep : tensor<2x1x4x16x16xf32>)
           scale(0.353553385) chunks(0, 0)
           -> tensor<2x3x4x16x8xf32>, tensor<2x3x4x16x8xf32>, tensor<2x3x4x16x8xf32>, tensor<2x1x4x16x16xf32>
  return %g#0, %g#3 : tensor<2x3x4x16x8xf32>, tensor<2x1x4x16x16xf32>
}

// CHECK-LABEL: func.func @grad_on_memrefs
func.func @grad_on_memrefs(%q: memref<2x8x4xf32>, %l: memref<2x8xf32>) {
  // CHECK: memred.attention_grad ins({{.*}}) outs({{.*}}) scale(1.000000e+00) chunks(8, 8){{$}}
  memred.attention_grad ins(%q, %q, %q, %q, %q, %l : memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8xf32>)
    outs(%q, %q, %q : memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>) scale(1.0) chunks(8, 8)
  return
}

// 320 cached tokens, recent 10% = 32 kept whole, 10% of the 288 older = 29.
// CHECK-LABEL: func.func @reduce
func.func @reduce(%q: tensor<8x32x32xf32>, %k: tensor<8x320x32xf32>,
                  %t: tensor<320x256xf32>) -> tensor<61x256xf32> {
  %e = tensor.empty() : tensor<61x256xf32>
  // CHECK: memred.cross_modal_reduce queries(%{{.*}} : tensor<8x32x32xf32>) keys(%{{.*}} : tensor<8x320x32xf32>)
  // CHECK-SAME: ins(%{{.*}} : tensor<320x256xf32>) outs(%{{.*}} : tensor<61x256xf32>) recent(1.000000e-01) keep(1.000000e-01)
  %r = memred.cross_modal_reduce queries(%q : tensor<8x32x32xf32>) keys(%k : tensor<8x320x32xf32>)
         ins(%t : tensor<320x256xf32>) outs(%e : tensor<61x256xf32>)
         recent(0.1) keep(0.1) scale(0.176776695) -> tensor<61x256xf32>
  return %r : tensor<61x256xf32>
}

// A bank of 96 rows taking 16-row frames: full, 112 rows reduce to
// ceil(0.25*112) = 28 recent + ceil(0.25*84) = 21 = 49 <= 96.
// CHECK-LABEL: func.func @bank_append
func.func @bank_append(%f: tensor<16x32xf32>, %q: tensor<4x32xf32>, %b: tensor<96x32xf32>,
                       %n: index) -> (tensor<96x32xf32>, index) {
  // CHECK: %{{.*}}, %{{.*}} = memred.bank_append ins(%{{.*}} : tensor<16x32xf32>) queries(%{{.*}} : tensor<4x32xf32>)
  // CHECK-SAME: outs(%{{.*}} : tensor<96x32xf32>) count(%{{.*}}) recent(2.500000e-01) keep(2.500000e-01)
  // CHECK-SAME: -> tensor<96x32xf32>, index
  %b1, %n1 = memred.bank_append ins(%f : tensor<16x32xf32>) queries(%q : tensor<4x32xf32>)
               outs(%b : tensor<96x32xf32>) count(%n) recent(0.25) keep(0.25) scale(0.176776695)
               -> tensor<96x32xf32>, index
  return %b1, %n1 : tensor<96x32xf32>, index
}

// The other reduction policies round-trip; adacm2 (the default) is elided.
// CHECK-LABEL: func.func @bank_append_policies
func.func @bank_append_policies(%f: tensor<16x32xf32>, %q: tensor<4x32xf32>, %b: tensor<96x32xf32>,
                                %n: index, %t: index) -> (tensor<96x32xf32>, index) {
  // CHECK: memred.bank_append {{.*}} count(%{{.*}}) step(%{{.*}}) recent(2.500000e-01) keep(2.500000e-01) scale({{.*}}) policy(random) seed(7) ->
  %b1, %n1 = memred.bank_append ins(%f : tensor<16x32xf32>) queries(%q : tensor<4x32xf32>)
               outs(%b : tensor<96x32xf32>) count(%n) step(%t) recent(0.25) keep(0.25) scale(0.176776695)
               policy(random) seed(7) -> tensor<96x32xf32>, index
  // CHECK: memred.bank_append {{.*}} scale({{.*}}) policy(merge) ->
  %b2, %n2 = memred.bank_append ins(%f : tensor<16x32xf32>) queries(%q : tensor<4x32xf32>)
               outs(%b1 : tensor<96x32xf32>) count(%n1) recent(0.25) keep(0.25) scale(0.176776695)
               policy(merge) -> tensor<96x32xf32>, index
  // CHECK: memred.bank_append {{.*}} scale({{.*}}) ->
  %b3, %n3 = memred.bank_append ins(%f : tensor<16x32xf32>) queries(%q : tensor<4x32xf32>)
               outs(%b2 : tensor<96x32xf32>) count(%n2) recent(0.25) keep(0.25) scale(0.176776695)
               policy(adacm2) -> tensor<96x32xf32>, index
  return %b3, %n3 : tensor<96x32xf32>, index
}

// Two heads of width 8 read the first 16 of 24 columns; on memrefs only the
// count is returned.
// CHECK-LABEL: func.func @bank_append_memref
func.func @bank_append_memref(%f: memref<8x24xf32>, %q: memref<2x3x8xf32>, %b: memref<40x24xf32>,
                              %n: index) -> index {
  // CHECK: memred.bank_append ins(%{{.*}} : memref<8x24xf32>) queries(%{{.*}} : memref<2x3x8xf32>) outs(%{{.*}} : memref<40x24xf32>) count(%{{.*}}) {{.*}} -> index
  %n1 = memred.bank_append ins(%f : memref<8x24xf32>) queries(%q : memref<2x3x8xf32>)
          outs(%b : memref<40x24xf32>) count(%n) recent(0.1) keep(0.1) scale(0.35) -> index
  return %n1 : index
}

// The decision memred-bound-memory records: fields in alphabetical order,
// absent fields left out, floats at six significant digits.
// CHECK-LABEL: func.func @decision
func.func @decision(%q: tensor<4x128x64xf32>) -> tensor<4x128x64xf32> {
  %e = tensor.empty() : tensor<4x128x64xf32>
  // CHECK: memred.attention
  // CHECK-SAME: {lathe.decision = #memred.decision<action = "kept: scores fit", budget_bytes = 1048576, key_rows_bound = 128, score_bytes = 262144>}
  %o = memred.attention ins(%q, %q, %q : tensor<4x128x64xf32>, tensor<4x128x64xf32>, tensor<4x128x64xf32>)
         outs(%e : tensor<4x128x64xf32>) scale(0.125) {lathe.decision = #memred.decision<score_bytes = 262144, action = "kept: scores fit", key_rows_bound = 128, budget_bytes = 1048576>} -> tensor<4x128x64xf32>
  // CHECK: memred.attention
  // CHECK-SAME: {lathe.decision = #memred.decision<action = "bounded streaming cache", bank_bytes = 16896, budget_bytes = 32768, capacity = 132, frame_rows = 16, keep = 0.0749064, layer = 1, policy = "adacm2", recent = 0.1, scratch_bytes = 3108, total_bytes = 32676>}
  %p = memred.attention ins(%o, %q, %q : tensor<4x128x64xf32>, tensor<4x128x64xf32>, tensor<4x128x64xf32>)
         outs(%e : tensor<4x128x64xf32>) scale(0.125) {lathe.decision = #memred.decision<action = "bounded streaming cache", bank_bytes = 16896, budget_bytes = 32768, capacity = 132, frame_rows = 16, keep = 0.074906367, layer = 1, policy = "adacm2", recent = 0.1, scratch_bytes = 3108, total_bytes = 32676>} -> tensor<4x128x64xf32>
  return %p : tensor<4x128x64xf32>
}

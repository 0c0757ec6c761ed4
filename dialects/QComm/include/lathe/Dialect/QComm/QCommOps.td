//===- QCommOps.td - Quantized communication ops -----------*- tablegen -*-===//

#ifndef LATHE_DIALECT_QCOMM_QCOMMOPS
#define LATHE_DIALECT_QCOMM_QCOMMOPS

include "lathe/Dialect/QComm/QCommBase.td"
include "lathe/Interfaces/FlopsInterface.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def QComm_TensorOrMemRef
    : AnyTypeOf<[AnyRankedTensor, AnyMemRef], "ranked tensor or memref">;

/// A compute op: destination style, on tensors (one result per init) or on
/// memrefs (no results).
class QComm_DpsOp<string mnemonic, list<Trait> traits = []>
    : QComm_Op<mnemonic, !listconcat(traits, [
        DestinationStyleOpInterface,
        DeclareOpInterfaceMethods<Lathe_FlopsOpInterface>,
        DeclareOpInterfaceMethods<MemoryEffectsOpInterface>])>;

//===----------------------------------------------------------------------===//
// qcomm.quantize
//===----------------------------------------------------------------------===//

def QComm_QuantizeOp : QComm_DpsOp<"quantize"> {
  let summary = "Symmetric absmax quantization in groups (4 or 8 bits)";
  let description = [{
    Quantizes the n f32 values of `input` (any rank, read in row-major
    order) in groups of `group_size` consecutive values. Each group g gets
    the f32 scale s_g = max|x_g| / qmax with qmax = 2^(bits-1) - 1 (127 for
    8 bits, 7 for 4 bits), and each value the integer
    q = clamp(rint(x / s_g), -qmax, qmax) (round half to even), or with
    `stochastic(%seed)` floor(x / s_g + u), u in [0, 1) drawn from a
    counter-based hash of (seed, element index): unbiased and reproducible
    whatever the thread count. A group of zeros has scale 0; a group holding
    NaN or Inf gets a NaN scale.

    `q` receives n * bits / 8 bytes: one value per byte at 8 bits, two per
    byte at 4 bits (element 2i in the low nibble, 2i+1 in the high nibble,
    two's complement). `scales` receives n / group_size f32 scales. So a
    value costs bits + 32 / group_size bits on the wire.

    SDP4Bit quantizes the weight differences it all-gathers at 4 bits with
    groups of 2048 (qWD), and the gradients of its two all-to-all hops at
    8 bits, groups of 512 (inside a node), then 4 bits, groups of 128
    (across nodes) (TLq-HS).

    ```mlir
    %q, %s = qcomm.quantize ins(%x : tensor<4096xf32>)
               outs(%q0, %s0 : tensor<2048xi8>, tensor<32xf32>)
               bits = 4 group_size = 128 stochastic(%seed)
               -> tensor<2048xi8>, tensor<32xf32>
    ```
  }];
  let arguments = (ins QComm_TensorOrMemRef:$input,
                       QComm_TensorOrMemRef:$q_init,
                       QComm_TensorOrMemRef:$scales_init,
                       Optional<I64>:$seed,
                       I64Attr:$bits,
                       I64Attr:$group_size);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $input `:` type($input) `)`
    `outs` `(` $q_init `,` $scales_init `:` type($q_init) `,`
      type($scales_init) `)`
    `bits` `=` $bits `group_size` `=` $group_size
    (`stochastic` `(` $seed^ `)`)?
    attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), 1, 2);
    }
    /// Stochastic rounding (a seed is given).
    bool isStochastic() { return static_cast<bool>(getSeed()); }
  }];
}

//===----------------------------------------------------------------------===//
// qcomm.dequantize
//===----------------------------------------------------------------------===//

def QComm_DequantizeOp : QComm_DpsOp<"dequantize"> {
  let summary = "y = q * scale (or y += q * scale: the fused dequantize-add)";
  let description = [{
    The inverse of `qcomm.quantize` with the same `bits` and `group_size`:
    the n = numElements(init) values q_i * s_g(i), written to `init`, or with
    `accumulate` added to it (the fused dequantize-add). `q` holds
    n * bits / 8 bytes and `scales` n / group_size f32 values.

    SDP4Bit's qWD applies the gathered 4-bit weight differences this way:
    every rank adds them to the model copy it computes with
    (`w_model += dequantize(quantize(w_master - w_model))`), so the
    quantization error of one step is corrected by the next instead of
    piling up.

    ```mlir
    %w1 = qcomm.dequantize ins(%q, %s : tensor<8192xi8>, tensor<8xf32>)
            outs(%w : tensor<16384xf32>) bits = 4 group_size = 2048 accumulate
            -> tensor<16384xf32>
    ```
  }];
  let arguments = (ins QComm_TensorOrMemRef:$q,
                       QComm_TensorOrMemRef:$scales,
                       QComm_TensorOrMemRef:$init,
                       I64Attr:$bits,
                       I64Attr:$group_size,
                       UnitAttr:$accumulate);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $q `,` $scales `:` type($q) `,` type($scales) `)`
    `outs` `(` $init `:` type($init) `)`
    `bits` `=` $bits `group_size` `=` $group_size
    (`accumulate` $accumulate^)?
    attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getInitMutable());
    }
  }];
}

//===----------------------------------------------------------------------===//
// qcomm.dequantize_reduce
//===----------------------------------------------------------------------===//

def QComm_DequantizeReduceOp : QComm_DpsOp<"dequantize_reduce"> {
  let summary = "Sum of several quantized vectors, accumulated in f32";
  let description = [{
    `q` and `scales` hold `parts` quantized vectors of n = numElements(init)
    values each, back to back (parts * n * bits / 8 bytes, parts * n /
    group_size scales), as an all-to-all delivers them: part p came from
    group member p. The op writes (or with `accumulate` adds) their sum
    y = sum over p = 0 .. parts-1 of dequantize(part p), accumulated in f32
    in the order of the parts.

    In SDP4Bit's two-hop gradient reduce-scatter (TLq-HS) this is the
    reduction after each all-to-all: after the intra-node hop the f32 sum is
    requantized to 4 bits for the inter-node hop; after that hop it is the
    rank's shard of the reduced gradient.

    ```mlir
    %y = qcomm.dequantize_reduce ins(%q, %s : tensor<4096xi8>, tensor<8xf32>)
           outs(%y0 : tensor<2048xf32>) parts = 2 bits = 8 group_size = 512
           -> tensor<2048xf32>
    ```
  }];
  let arguments = (ins QComm_TensorOrMemRef:$q,
                       QComm_TensorOrMemRef:$scales,
                       QComm_TensorOrMemRef:$init,
                       I64Attr:$parts,
                       I64Attr:$bits,
                       I64Attr:$group_size,
                       UnitAttr:$accumulate);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $q `,` $scales `:` type($q) `,` type($scales) `)`
    `outs` `(` $init `:` type($init) `)`
    `parts` `=` $parts `bits` `=` $bits `group_size` `=` $group_size
    (`accumulate` $accumulate^)?
    attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getInitMutable());
    }
  }];
}

//===----------------------------------------------------------------------===//
// qcomm.hadamard
//===----------------------------------------------------------------------===//

def QComm_HadamardOp : QComm_DpsOp<"hadamard"> {
  let summary = "Blockwise orthonormal Walsh-Hadamard transform of order 32";
  let description = [{
    Each block of 32 consecutive values of `input` (n values, n % 32 == 0)
    becomes H32 x / sqrt(32) in `init` (Sylvester order). The transform is
    orthonormal and symmetric, hence its own inverse; `init` may be the
    input's buffer.

    SDP4Bit smooths gradient outliers with it before quantizing (TLq-HS):
    an outlier spreads over its block of 32, so the group's absmax scale
    no longer crushes the other values. Because the transform is linear it
    commutes with the sums of the reduce-scatter, so one forward transform
    before the first quantization and one inverse after the last
    dequantize-reduce suffice.

    ```mlir
    %y = qcomm.hadamard ins(%x : tensor<4096xf32>) outs(%y0 : tensor<4096xf32>)
           -> tensor<4096xf32>
    ```
  }];
  let arguments = (ins QComm_TensorOrMemRef:$input,
                       QComm_TensorOrMemRef:$init);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $input `:` type($input) `)`
    `outs` `(` $init `:` type($init) `)`
    attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getInitMutable());
    }
  }];
}

//===----------------------------------------------------------------------===//
// qcomm.all_gather
//===----------------------------------------------------------------------===//

def QComm_AllGatherOp : QComm_Op<"all_gather", [
    Pure, AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Quantized all-gather over a shard grid (SDP4Bit's qWD)";
  let description = [{
    Every process of the group that `grid_axes` of `grid` define (ordered as
    upstream `shard.all_gather` orders them) contributes its S f32 values;
    the result, on every member, is the concatenation over the group of
    dequantize(quantize(x_i)) with `bits` and `group_size` (L = S x group
    size values), plus `addend` when one is given.

    SDP4Bit's qWD sends the 4-bit quantized difference between the updated
    master shard and the model copy (groups of 2048); every rank adds the
    gathered differences to its model copy (`addend`), so the model changes
    only by what was sent and quantization errors do not accumulate.

    `qcomm-expand-collectives` turns it into `qcomm.quantize`, two
    `shard.all_gather`s (the bytes and the scales) and `qcomm.dequantize`
    (`accumulate` onto the addend). The grid's sizes on `grid_axes` must be
    static; S must be a multiple of `group_size`.

    ```mlir
    shard.grid @dp(shape = 2x2)
    %w = qcomm.all_gather %d on @dp grid_axes = [0, 1] bits = 4
           group_size = 2048 addend(%w0 : tensor<16384xf32>)
           : tensor<4096xf32> -> tensor<16384xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       Optional<I64>:$seed,
                       Optional<AnyRankedTensor>:$addend,
                       FlatSymbolRefAttr:$grid,
                       DenseI16ArrayAttr:$grid_axes,
                       I64Attr:$bits,
                       I64Attr:$group_size);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `on` $grid `grid_axes` `=` $grid_axes
    `bits` `=` $bits `group_size` `=` $group_size
    (`stochastic` `(` $seed^ `)`)?
    (`addend` `(` $addend^ `:` type($addend) `)`)?
    attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// qcomm.reduce_scatter
//===----------------------------------------------------------------------===//

def QComm_ReduceScatterOp : QComm_Op<"reduce_scatter", [
    Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Quantized reduce-scatter by all-to-all hops (SDP4Bit's TLq-HS)";
  let description = [{
    Computes what `shard.reduce_scatter %g on @grid grid_axes = intra ++
    inter scatter_axis = 0` computes — the sum of the L f32 values over the
    group, member k keeping block k of S = L / group size values — with
    quantized all-to-alls instead of an f32 reduce-scatter:

    1. hop 1 (`intra`, inside a node): quantize the input at `intra` bits
       and group size, all-to-all over the intra axes (chunk j of L / G1
       values goes to intra member j), dequantize and sum the G1 received
       parts in f32;
    2. hop 2 (`inter`, across nodes; optional): requantize that partial sum
       at `inter` bits and group size, all-to-all over the inter axes
       (block j of S values to inter member j), dequantize and sum the G2
       parts.

    With `hadamard`, one blockwise Walsh-Hadamard transform (order 32)
    precedes the first quantization and one follows the last
    dequantize-reduce: the transform is linear, so it commutes with the
    sums, and it is its own inverse. `stochastic(%seed)` rounds
    stochastically (the expansion derives a distinct seed per rank and
    hop).

    SDP4Bit runs hop 1 at 8 bits, groups of 512, hop 2 at 4 bits, groups of
    128, with the transform. The grid's sizes on the axes must be static;
    each hop's chunk (L / G1 values for hop 1, S for hop 2) must be a
    multiple of that hop's group size, and S of 32 with `hadamard`.

    ```mlir
    shard.grid @dp(shape = 2x2)
    %s = qcomm.reduce_scatter %g on @dp
           intra(axes = [1] bits = 8 group_size = 512)
           inter(axes = [0] bits = 4 group_size = 128) hadamard
           : tensor<16384xf32> -> tensor<4096xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       Optional<I64>:$seed,
                       FlatSymbolRefAttr:$grid,
                       DenseI16ArrayAttr:$intra_axes,
                       I64Attr:$intra_bits,
                       I64Attr:$intra_group_size,
                       OptionalAttr<DenseI16ArrayAttr>:$inter_axes,
                       OptionalAttr<I64Attr>:$inter_bits,
                       OptionalAttr<I64Attr>:$inter_group_size,
                       UnitAttr:$hadamard);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `on` $grid
    `intra` `(` `axes` `=` $intra_axes `bits` `=` $intra_bits
      `group_size` `=` $intra_group_size `)`
    (`inter` `(` `axes` `=` $inter_axes^ `bits` `=` $inter_bits
      `group_size` `=` $inter_group_size `)`)?
    (`hadamard` $hadamard^)?
    (`stochastic` `(` $seed^ `)`)?
    attr-dict `:` type($input) `->` type($result)
  }];
  let builders = [
    // One or two hops: an empty `interAxes` leaves out the second hop (its
    // bits and group size are then ignored). `seed` (i64) enables
    // stochastic rounding.
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input,
                   "::mlir::FlatSymbolRefAttr":$grid,
                   "::llvm::ArrayRef<int16_t>":$intraAxes,
                   "int64_t":$intraBits, "int64_t":$intraGroupSize,
                   "::llvm::ArrayRef<int16_t>":$interAxes,
                   "int64_t":$interBits, "int64_t":$interGroupSize,
                   "bool":$hadamard,
                   CArg<"::mlir::Value", "{}">:$seed), [{
      auto i64 = [&](int64_t v) { return $_builder.getI64IntegerAttr(v); };
      bool twoHops = !interAxes.empty();
      build($_builder, $_state, result, input, seed, grid,
            $_builder.getDenseI16ArrayAttr(intraAxes), i64(intraBits),
            i64(intraGroupSize),
            twoHops ? $_builder.getDenseI16ArrayAttr(interAxes) : nullptr,
            twoHops ? i64(interBits) : nullptr,
            twoHops ? i64(interGroupSize) : nullptr,
            hadamard ? $_builder.getUnitAttr() : nullptr);
    }]>
  ];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// True when there is a second (inter-node) hop.
    bool hasInterHop() { return static_cast<bool>(getInterAxesAttr()); }
    /// The axes of the whole reduction: intra ++ inter.
    ::llvm::SmallVector<int16_t> getGroupAxes();
  }];
}

#endif // LATHE_DIALECT_QCOMM_QCOMMOPS

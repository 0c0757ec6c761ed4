//===- QCommBase.td - Quantized communication dialect ------*- tablegen -*-===//

#ifndef LATHE_DIALECT_QCOMM_QCOMMBASE
#define LATHE_DIALECT_QCOMM_QCOMMBASE

include "mlir/IR/OpBase.td"

def QComm_Dialect : Dialect {
  let name = "qcomm";
  let cppNamespace = "::mlir::lathe::qcomm";
  let summary = "Quantized collective communication (SDP4Bit)";
  let description = [{
    Communication of sharded data parallelism at about 4 bits per value, after
    SDP4Bit (NeurIPS'24). Compute ops in destination style on tensors or
    memrefs: symmetric absmax quantization in groups with f32 scales and int4
    packing (`qcomm.quantize`), dequantization with an optional fused add
    (`qcomm.dequantize`), dequantize-and-sum of several received parts
    (`qcomm.dequantize_reduce`), the same fused with the requantization
    between two hops (`qcomm.dequantize_reduce_requantize`) and the blockwise Walsh-Hadamard transform
    of order 32 (`qcomm.hadamard`). Communication ops on tensors over an
    upstream `shard.grid`: a quantized all-gather (qWD's weight
    differences, `qcomm.all_gather`) and a one- or two-hop quantized
    all-to-all reduce-scatter (TLq-HS's gradients, `qcomm.reduce_scatter`),
    which `qcomm-expand-collectives` turns into the compute ops plus
    upstream `shard.all_gather` / `shard.all_to_all` on the bytes and the
    scales. See docs/Dialects/QComm.md.
  }];
  let dependentDialects = ["::mlir::shard::ShardDialect"];
}

class QComm_Op<string mnemonic, list<Trait> traits = []>
    : Op<QComm_Dialect, mnemonic, traits>;

#endif // LATHE_DIALECT_QCOMM_QCOMMBASE

#!/usr/bin/env bash
# Builds the GPU-check payload here (issue 19): the CUDA runtime library, the
# models compiled for the GPU (`lathe-compile --backend=cuda`: one .lathe file
# each, host code with the cubin inside and the weights as data, loaded by
# the runtime's lathe_cuda_model_load), their inputs and CPU-backend
# reference outputs, the matmul shapes for the cuBLASLt comparison, a 256 MiB
# element-wise model, lathe-gpu-check (the host program) and gpu-check.sh.
# Nothing in it needs LLVM or MLIR, and nothing is compiled on the GPU
# machine.
#
#   scripts/pack-gpu-check.sh [BUILD_DIR] [OUT_DIR]   -> OUT_DIR.tar.gz
#
# The payload must stay under 60 MiB (checked). cuBLASLt and NCCL are not in
# it (hundreds of MiB): the GPU machine's CUDA libraries are used.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
OUT="${2:-$BUILD/gpu-check}"
BIN="$BUILD/bin"
EX="$BUILD/examples"
die() { echo "pack-gpu-check: error: $*" >&2; exit 1; }
[ -x "$BIN/lathe-gpu-check" ] && [ -x "$BIN/lathe-compile" ] &&
  [ -f "$BUILD/lib/libLatheRuntimeCUDA.so" ] ||
  die "no CUDA target in $BUILD (configure with a CUDA toolkit and build lathe-gpu-check)"
if [ ! -f "$EX/transformer/encoder_b8.mlir" ]; then
  /usr/bin/python3 "$ROOT/scripts/gen_examples.py" "$EX" > /dev/null
fi
rm -rf "$OUT" "$OUT.tar.gz"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# name mlir input: the .lathe file, the input and the CPU backend's output.
pack_model() {
  local name=$1 mlir=$2 input=$3
  "$BIN/lathe-compile" "$mlir" --backend=cuda -o "$OUT/$name.lathe" > /dev/null
  cp "$input" "$OUT/${name}_x.npy"
  "$BIN/lathe-run" "$mlir" --no-cache --input="$input" --output="$OUT/${name}_ref.npy" > /dev/null
  echo "model $name $name.lathe ${name}_x.npy ${name}_ref.npy 50" >> "$OUT/manifest.txt"
}

/usr/bin/python3 "$ROOT/test/e2e/Inputs/cnn-gen.py" "$WORK" > /dev/null
pack_model encoder_b1 "$EX/transformer/encoder_b1.mlir" "$EX/transformer/x_b1.npy"
pack_model encoder_b8 "$EX/transformer/encoder_b8.mlir" "$EX/transformer/x_b8.npy"
pack_model mlp "$EX/mlp/mlp.mlir" "$EX/mlp/test_x.npy"
pack_model cnn_nchw "$WORK/nchw.mlir" "$WORK/x.npy"
pack_model cnn_chain "$WORK/chain.mlir" "$WORK/xc.npy"
# The runtime's own kernels beyond matmul and conv: the GCN (CSR SpMM, warp
# per row) and causal self-attention (masked softmax, warp per row).
/usr/bin/python3 "$ROOT/scripts/sparsegcn/train_gcn.py" --synthetic --out "$WORK/gcn" > /dev/null
pack_model gcn "$WORK/gcn/gcn.mlir" "$WORK/gcn/x.npy"
mkdir -p "$WORK/causal"
/usr/bin/python3 "$ROOT/test/e2e/Inputs/causal_attention.py" "$WORK/causal" > /dev/null
"$BIN/lathe-import-onnx" "$WORK/causal/model.onnx" -o "$WORK/causal.mlir"
pack_model causal_attention "$WORK/causal.mlir" "$WORK/causal/x.npy"

# Element-wise: y = 2x + 1 on 64M floats (256 MiB in, 256 MiB out), inputs
# made on the GPU machine.
N=67108864
cat > "$WORK/eltwise.mlir" <<MLIR
#id = affine_map<(d0) -> (d0)>
func.func @main(%x: tensor<${N}xf32>) -> tensor<${N}xf32> {
  %two = arith.constant 2.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<${N}xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<${N}xf32>) outs(%e : tensor<${N}xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %two : f32
    %s = arith.addf %m, %one : f32
    linalg.yield %s : f32
  } -> tensor<${N}xf32>
  return %y : tensor<${N}xf32>
}
MLIR
"$BIN/lathe-compile" "$WORK/eltwise.mlir" --backend=cuda -o "$OUT/eltwise.lathe" > /dev/null
echo "eltwise eltwise eltwise.lathe $N 20" >> "$OUT/manifest.txt"

# The transformer layer's matmuls at batch 8 (flags: 1 bias, 2 residual,
# 256 ReLU): q/k/v and output projections, FFN up (ReLU), FFN down
# (residual).
cat >> "$OUT/manifest.txt" <<M
matmul 1 1024 256 256 1 200
matmul 1 1024 256 256 3 200
matmul 1 1024 1024 256 257 200
matmul 1 1024 256 1024 3 200
matmul 32 128 128 64 0 200
nccl 1048576
M

cp "$BUILD/lib/libLatheRuntimeCUDA.so" "$BIN/lathe-gpu-check" "$OUT/"
patchelf --set-rpath '$ORIGIN' "$OUT/lathe-gpu-check" 2>/dev/null ||
  chrpath -r '$ORIGIN' "$OUT/lathe-gpu-check" 2>/dev/null || true
cp "$ROOT/scripts/gpu-check.sh" "$OUT/"
tar -C "$(dirname "$OUT")" -czf "$OUT.tar.gz" "$(basename "$OUT")"
bytes=$(stat -c %s "$OUT.tar.gz")
unpacked=$(du -sb "$OUT" | cut -f1)
echo "pack-gpu-check: $OUT.tar.gz: $bytes bytes packed, $unpacked unpacked"
[ "$unpacked" -le $((60 * 1024 * 1024)) ] || die "payload above 60 MiB"

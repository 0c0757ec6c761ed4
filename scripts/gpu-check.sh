#!/usr/bin/env bash
# Runs the GPU-check payload that scripts/pack-gpu-check.sh made, on a
# machine with an NVIDIA GPU, its driver and the CUDA libraries (cuBLASLt,
# NCCL); no LLVM, MLIR or compiler is used. Prints each model's error against
# the CPU backend, latency, peak device memory and per-kernel times, each
# matmul against cuBLASLt, the element-wise bandwidth, and ends with
#   RESULT max_rel_err=... matmul_vs_cublaslt=... eltwise_bw_fraction=... layer_b8_ms=...
# Budget: well under 5 minutes (about 50 calls per model).
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/lib/x86_64-linux-gnu; do
  [ -d "$d" ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
export LD_LIBRARY_PATH="$HERE${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
exec timeout 280 "$HERE/lathe-gpu-check" "$HERE/manifest.txt"

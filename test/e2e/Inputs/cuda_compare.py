"""Compares a CUDA-backend output with the CPU backend's: the same NaN and
infinity positions, finite values within 1e-4 relative (floor 1e-5 of the
largest magnitude). usage: cuda_compare.py GPU.npy CPU.npy"""
import sys

import numpy as np

gpu, cpu = (np.load(p).astype(np.float64) for p in sys.argv[1:3])
assert gpu.shape == cpu.shape, (gpu.shape, cpu.shape)
assert np.array_equal(np.isnan(gpu), np.isnan(cpu)), "NaN positions differ"
assert np.array_equal(np.isposinf(gpu), np.isposinf(cpu)), "+inf differs"
assert np.array_equal(np.isneginf(gpu), np.isneginf(cpu)), "-inf differs"
fin = np.isfinite(cpu)
scale = np.abs(cpu[fin]).max() if fin.any() else 0.0
err = np.abs(gpu[fin] - cpu[fin])
bound = 1e-4 * np.abs(cpu[fin]) + 1e-5 * scale
assert (err <= bound).all(), f"max error {err.max()} (scale {scale})"
print(f"ok: {gpu.size} values, {int((~fin).sum())} non-finite, max error "
      f"{err.max() if err.size else 0.0:.3g}")

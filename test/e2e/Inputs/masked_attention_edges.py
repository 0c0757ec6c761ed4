"""Writes the models and inputs of test/e2e/attention-masked-edges.test.

usage: masked_attention_edges.py OUTDIR

Attention on q, k, v [B, H, S, D] in the form torch-mlir writes it: kᵀ by a
transposing generic, batch_matmul on [B·H, ...] collapses, the 1/sqrt(D)
scale as a divide generic, masked_fill as an arith.select generic on an i1
constant, the softmax decomposed (max, subtract + exp, sum, divide), P·V by a
second batch_matmul. References: PyTorch (float64) on the same float32
inputs, rounded to float32.

  pad.mlir     B 5, H 2, S 24, D 8; key padding mask [B, S] (true = masked,
               select(mask, -inf, x)) with valid lengths 24, 9, 0, 13, 1:
               batch 2 has every key masked, so every row is NaN as in
               PyTorch; batch 1 has NaN and +Inf in k at masked keys (the
               select discards those scores: finite output); batch 3 has
               +Inf in v at a masked key (0 · Inf: NaN rows, as in PyTorch);
               batch 4 has NaN in q at one query row (that row is NaN).
  causal.mlir  B 2, H 3, S 20, D 16; causal mask [S, S] that keeps where
               true (select(mask, x, -1e4)), query row 0 masked entirely
               (the finite fill makes that row the mean of v).
Inputs pad_{q,k,v}.npy, causal_{q,k,v}.npy; references pad_ref.npy,
causal_ref.npy.
"""
import math
import os
import sys
from dataclasses import dataclass

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "scripts"))
from mlir_emit import Emitter, Val, tensor_type  # noqa: E402


@dataclass(frozen=True)
class IVal(Val):
    """An i1 value."""

    @property
    def ty(self):
        return tensor_type(self.shape, "i1")


def _map(n, results):
    dims = ", ".join(f"d{i}" for i in range(n))
    return f"affine_map<({dims}) -> ({results})>"


class Em(Emitter):
    def gen(self, ins, maps, iters, out_shape, body, init=None, hint="g", elts=None):
        n = len(iters)
        out = init if init is not None else self.empty(out_shape)
        elts = elts or ["f32"] * len(ins)
        amaps = ", ".join(_map(n, m) for m in maps)
        its = ", ".join(f'"{t}"' for t in iters)
        args = [self.fresh("in") for _ in ins] + [self.fresh("out")]
        from mlir_emit import Body
        b = Body(self, self.ind * 2)
        result = body(b, *args)
        block = ", ".join(f"{a}: {t}" for a, t in zip(args, elts + ["f32"]))
        head = (f"linalg.generic {{indexing_maps = [{amaps}], iterator_types = [{its}]}} "
                f"ins({', '.join(v.name for v in ins)} : {', '.join(v.ty for v in ins)}) "
                f"outs({out.name} : {out.ty}) {{")
        v = self.emit(head, hint, out_shape)
        self.lines.append(f"{self.ind}^bb0({block}):")
        self.lines.extend(b.lines)
        self.lines.append(f"{self.ind * 2}linalg.yield {result} : f32")
        self.lines.append(f"{self.ind}}} -> {out.ty}")
        return v


def attention_mlir(shape, mask, mask_map, masked_when_true, fill):
    """mask: bool ndarray; mask_map: its affine results over (b, h, i, j)."""
    B, H, S, D = shape
    em = Em()
    q, k, v = (Val(f"%{n}", shape) for n in "qkv")
    kt = em.gen([k], ["d0, d1, d3, d2", "d0, d1, d2, d3"], ["parallel"] * 4, (B, H, D, S),
                lambda bb, a, o: a, hint="kt")
    q3 = em.collapse(q, [[0, 1], [2], [3]])
    kt3 = em.collapse(kt, [[0, 1], [2], [3]])
    sc = em.expand(em.batch_matmul(q3, kt3, transpose_b=False, hint="scores"),
                   [[0, 1], [2], [3]], (B, H, S, S))
    sc = em.gen([sc], ["d0, d1, d2, d3"] * 2, ["parallel"] * 4, sc.shape,
                lambda bb, a, o: bb.divf(a, bb.const(math.sqrt(D))), hint="scaled")
    rows = np.vectorize(lambda t: "true" if t else "false")(mask)

    def lit(a):
        if a.ndim == 1:
            return "[" + ", ".join(a) + "]"
        return "[" + ", ".join(lit(r) for r in a) + "]"
    m = em.emit(f"arith.constant dense<{lit(rows)}> : {tensor_type(mask.shape, 'i1')}", "mask",
                mask.shape)
    m = IVal(m.name, m.shape)

    def select(bb, a, mv, o):
        f = bb.const(fill)
        if masked_when_true:
            return bb.op(f"arith.select {mv}, {f}, {a} : f32", "sel")
        return bb.op(f"arith.select {mv}, {a}, {f} : f32", "sel")
    masked = em.gen([sc, m], ["d0, d1, d2, d3", mask_map, "d0, d1, d2, d3"], ["parallel"] * 4,
                    sc.shape, select, hint="masked", elts=["f32", "i1"])
    red = ["parallel"] * 3 + ["reduction"]
    mx = em.gen([masked], ["d0, d1, d2, d3", "d0, d1, d2"], red, (B, H, S),
                lambda bb, a, o: bb.maxf(a, o), init=em.filled((B, H, S), -np.inf), hint="max")
    ex = em.gen([masked, mx], ["d0, d1, d2, d3", "d0, d1, d2", "d0, d1, d2, d3"],
                ["parallel"] * 4, masked.shape, lambda bb, a, m_, o: bb.exp(bb.subf(a, m_)),
                hint="exp")
    sm = em.gen([ex], ["d0, d1, d2, d3", "d0, d1, d2"], red, (B, H, S),
                lambda bb, a, o: bb.addf(a, o), init=em.filled((B, H, S), 0.0), hint="sum")
    pr = em.gen([ex, sm], ["d0, d1, d2, d3", "d0, d1, d2", "d0, d1, d2, d3"],
                ["parallel"] * 4, ex.shape, lambda bb, a, s_, o: bb.divf(a, s_), hint="probs")
    ctx = em.batch_matmul(em.collapse(pr, [[0, 1], [2], [3]]),
                          em.collapse(v, [[0, 1], [2], [3]]), transpose_b=False, hint="ctx")
    out = em.expand(ctx, [[0, 1], [2], [3]], shape)
    return em.function("main", [q, k, v], out)


def reference(q, k, v, full_mask, fill):
    """full_mask: bool [B, H, S, S] broadcastable, True = masked."""
    t = [torch.from_numpy(a).double() for a in (q, k, v)]
    s = t[0] @ t[1].transpose(-2, -1) / math.sqrt(q.shape[-1])
    s = s.masked_fill(torch.from_numpy(full_mask), fill)
    return (torch.softmax(s, dim=-1) @ t[2]).float().numpy()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rs = np.random.RandomState(7)

    # Padding mask.
    B, H, S, D = 5, 2, 24, 8
    q, k, v = (rs.randn(B, H, S, D).astype(np.float32) for _ in range(3))
    valid = [24, 9, 0, 13, 1]
    mask = np.zeros((B, S), bool)
    for b, n in enumerate(valid):
        mask[b, n:] = True
    k[1, 0, 15, 3] = np.nan
    k[1, 1, 20, 0] = np.inf
    v[3, 1, 17, 2] = np.inf
    q[4, 0, 5, 1] = np.nan
    with open(os.path.join(out, "pad.mlir"), "w") as f:
        f.write(attention_mlir((B, H, S, D), mask, "d0, d3", True, -np.inf))
    for n, a in zip("qkv", (q, k, v)):
        np.save(os.path.join(out, f"pad_{n}.npy"), a)
    ref = reference(q, k, v, mask[:, None, None, :], float("-inf"))
    assert np.isnan(ref[2]).all() and np.isfinite(ref[1]).all()
    assert np.isnan(ref[3, 1]).any() and np.isfinite(ref[3, 0]).all()
    assert np.isnan(ref[4, 0, 5]).all() and np.isfinite(ref[4, 0, :5]).all()
    np.save(os.path.join(out, "pad_ref.npy"), ref)

    # Causal mask kept where true, a finite fill, row 0 fully masked.
    B, H, S, D = 2, 3, 20, 16
    q, k, v = (rs.randn(B, H, S, D).astype(np.float32) for _ in range(3))
    keep = np.tril(np.ones((S, S), bool))
    keep[0, :] = False
    with open(os.path.join(out, "causal.mlir"), "w") as f:
        f.write(attention_mlir((B, H, S, D), keep, "d2, d3", False, -1e4))
    for n, a in zip("qkv", (q, k, v)):
        np.save(os.path.join(out, f"causal_{n}.npy"), a)
    ref = reference(q, k, v, ~keep[None, None], -1e4)
    assert np.allclose(ref[:, :, 0], v.astype(np.float64).mean(axis=2), atol=1e-5)
    np.save(os.path.join(out, "causal_ref.npy"), ref)


if __name__ == "__main__":
    main()

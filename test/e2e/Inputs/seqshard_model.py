"""A pre-LN transformer stack written as linalg on tensors, for seqshard tests.

usage: seqshard_model.py OUT_DIR [--layers=2] [--batch=2] [--seq=256]
                         [--hidden=64] [--heads=4] [--seed=0]
                         [--mask=causal|none] [--no-ref]
       seqshard_model.py OUT_DIR --train [--h5] [same options]
       seqshard_model.py OUT_DIR --check-logs A.jsonl B.jsonl [--tol=1e-5]
       seqshard_model.py OUT_DIR --check A.npy B.npy [--tol=1e-5]
       seqshard_model.py OUT_DIR --check-comm REPORT.json --ranks=P
                         [--quant-bits=8 --quant-group=128]

Writes OUT_DIR/model.mlir (@main(x: [B, N, h]) -> [B, N, h]; weights as
dense constants from --seed), OUT_DIR/x.npy and OUT_DIR/ref.npy (the same
model in float64 numpy). Each layer: x + pos (first layer) -> LN -> q, k, v
projections -> [B, H, N, D] -> memred.attention with a causal mask [1, 1, N, N]
-> output projection + residual -> LN -> MLP (x * sigmoid(1.702 x)) +
residual. --mask=none leaves the mask out (bidirectional attention: a causal
mask is a dense [N, N] constant, 1 GiB at N = 16k); --no-ref skips the
float64 reference (O(N^2) memory). --check compares max|a - b| / max|b| with --tol; --check-comm checks
the all-to-all bytes of lathe-run's report against 4 all-to-alls per attention
of B * N/P * h f32 values each per rank (every rank's send buffer, its own
block included), and one all-gather of the output. With --quant-bits the
all-to-alls are quantized (seqshard-ulysses quantize=...): each sends
B * N/P * h * bits / 8 bytes and 4 bytes per group of --quant-group values
(two calls: bytes and scales). --train writes @loss(params..., x, t) =
mean((y - t)^2) with the weights as lathe.param arguments (p0.npy ...);
--h5 also params.h5 and data.h5 for lathe-train; --check-logs compares the
losses of two lathe-train --log files (the first sequence-parallel).
"""

import json
import sys

import numpy as np


def arg(name, default):
    for a in sys.argv:
        if a.startswith("--" + name + "="):
            return type(default)(a.split("=", 1)[1])
    return default


def hexconst(a):
    return 'dense<"0x' + np.ascontiguousarray(a, dtype="<f4").tobytes().hex().upper() + '">'


def ty(shape):
    return "tensor<" + "".join(str(s) + "x" for s in shape) + "f32>"


class Gen:
    def __init__(self):
        self.lines = []
        self.n = 0
        self.consts = {}
        self.params = None  # a list when the weights are arguments

    def v(self):
        self.n += 1
        return "%v" + str(self.n)

    def emit(self, s):
        self.lines.append("    " + s)

    def param(self, a):
        """A weight: a constant, or with --train an argument marked lathe.param."""
        if self.params is None:
            return self.const(a)
        self.params.append(a)
        return f"%p{len(self.params) - 1}"

    def const(self, a):
        name = self.v()
        self.emit(f"{name} = arith.constant {hexconst(a)} : {ty(a.shape)}")
        return name

    def empty(self, shape, fill=None):
        e = self.v()
        self.emit(f"{e} = tensor.empty() : {ty(shape)}")
        if fill is None:
            return e
        f = self.v()
        self.emit(f"{f} = linalg.fill ins(%c{fill} : f32) outs({e} : {ty(shape)}) -> {ty(shape)}")
        return f

    def generic(self, dims, iters, ins, outs, body, out_shape):
        """ins/outs: [(value, type, map)], body: lines using %a0.. %o0."""
        r = self.v()
        maps = ", ".join(f"affine_map<({dims}) -> ({m})>" for _, _, m in ins + outs)
        it = ", ".join(f'"{i}"' for i in iters)
        ins_s = ", ".join(v for v, _, _ in ins)
        ins_t = ", ".join(t for _, t, _ in ins)
        outs_s = ", ".join(v for v, _, _ in outs)
        outs_t = ", ".join(t for _, t, _ in outs)
        args = ", ".join([f"%a{i}: f32" for i in range(len(ins))] + [f"%o{i}: f32" for i in range(len(outs))])
        self.emit(f"{r} = linalg.generic {{indexing_maps = [{maps}], iterator_types = [{it}]}} "
                  f"ins({ins_s} : {ins_t}) outs({outs_s} : {outs_t}) {{")
        self.emit(f"^bb0({args}):")
        for line in body:
            self.emit("  " + line)
        self.emit(f"}} -> {ty(out_shape)}")
        return r


def build(B, N, C, H, L, seed, causal=True, reference=True, train=False):
    D = C // H
    F = 2 * C
    rng = np.random.default_rng(seed)
    w = lambda *s: (rng.standard_normal(s) / np.sqrt(s[0])).astype(np.float32)
    pos = (0.1 * rng.standard_normal((N, C))).astype(np.float32)
    layers = []
    for _ in range(L):
        layers.append(dict(
            g1=(1 + 0.1 * rng.standard_normal(C)).astype(np.float32),
            b1=(0.1 * rng.standard_normal(C)).astype(np.float32),
            wq=w(C, C), wk=w(C, C), wv=w(C, C), wo=w(C, C),
            g2=(1 + 0.1 * rng.standard_normal(C)).astype(np.float32),
            b2=(0.1 * rng.standard_normal(C)).astype(np.float32),
            w1=w(C, F), w2=w(F, C)))
    x = rng.standard_normal((B, N, C)).astype(np.float32)
    mask = (np.where(np.tril(np.ones((N, N))) > 0, 0.0, -np.inf).astype(np.float32)[None, None]
            if causal else np.zeros((1, 1, 1, 1), np.float32))

    g = Gen()
    if train:
        g.params = []
    X = ty((B, N, C))
    row = ty((B, N))
    d3 = "b, n, c"
    cur = g.generic(d3, ["parallel"] * 3, [("%x", X, "b, n, c"), (g.param(pos), ty((N, C)), "n, c")],
                    [(g.empty((B, N, C)), X, "b, n, c")], ["%s = arith.addf %a0, %a1 : f32", "linalg.yield %s : f32"],
                    (B, N, C))
    maskv = g.const(mask) if causal else None

    def layernorm(x, gamma, beta):
        s = g.generic(d3, ["parallel", "parallel", "reduction"], [(x, X, "b, n, c")],
                      [(g.empty((B, N), 0), row, "b, n")],
                      [f"%m = arith.mulf %a0, %cinv : f32", "%s = arith.addf %o0, %m : f32", "linalg.yield %s : f32"],
                      (B, N))
        var = g.generic(d3, ["parallel", "parallel", "reduction"], [(x, X, "b, n, c"), (s, row, "b, n")],
                        [(g.empty((B, N), 0), row, "b, n")],
                        ["%d = arith.subf %a0, %a1 : f32", "%q = arith.mulf %d, %d : f32",
                         "%m = arith.mulf %q, %cinv : f32", "%s = arith.addf %o0, %m : f32", "linalg.yield %s : f32"],
                        (B, N))
        return g.generic(d3, ["parallel"] * 3,
                         [(x, X, "b, n, c"), (s, row, "b, n"), (var, row, "b, n"),
                          (g.param(gamma), ty((C,)), "c"), (g.param(beta), ty((C,)), "c")],
                         [(g.empty((B, N, C)), X, "b, n, c")],
                         ["%d = arith.subf %a0, %a1 : f32", "%ve = arith.addf %a2, %ceps : f32",
                          "%sd = math.sqrt %ve : f32", "%nrm = arith.divf %d, %sd : f32",
                          "%sc = arith.mulf %nrm, %a3 : f32", "%r = arith.addf %sc, %a4 : f32", "linalg.yield %r : f32"],
                         (B, N, C))

    def proj(x, W):
        K, M = W.shape
        return g.generic("b, n, k, c", ["parallel", "parallel", "reduction", "parallel"],
                         [(x, ty((B, N, K)), "b, n, k"), (g.param(W), ty((K, M)), "k, c")],
                         [(g.empty((B, N, M), 0), ty((B, N, M)), "b, n, c")],
                         ["%m = arith.mulf %a0, %a1 : f32", "%s = arith.addf %o0, %m : f32", "linalg.yield %s : f32"],
                         (B, N, M))

    def add(a, b, shape):
        t = ty(shape)
        return g.generic(d3, ["parallel"] * 3, [(a, t, "b, n, c"), (b, t, "b, n, c")],
                         [(g.empty(shape), t, "b, n, c")],
                         ["%s = arith.addf %a0, %a1 : f32", "linalg.yield %s : f32"], shape)

    def heads(x):
        e = g.v()
        g.emit(f"{e} = tensor.expand_shape {x} [[0], [1], [2, 3]] output_shape [{B}, {N}, {H}, {D}] : {X} into {ty((B, N, H, D))}")
        t = g.v()
        g.emit(f"{t} = linalg.transpose ins({e} : {ty((B, N, H, D))}) outs({g.empty((B, H, N, D))} : {ty((B, H, N, D))}) permutation = [0, 2, 1, 3]")
        return t

    for p in layers:
        h = layernorm(cur, p["g1"], p["b1"])
        q, k, v = heads(proj(h, p["wq"])), heads(proj(h, p["wk"])), heads(proj(h, p["wv"]))
        a = g.v()
        T4 = ty((B, H, N, D))
        biases = f"biases({maskv} : {ty((1, 1, N, N))}) " if causal else ""
        g.emit(f"{a} = memred.attention ins({q}, {k}, {v} : {T4}, {T4}, {T4}) {biases}"
               f"outs({g.empty((B, H, N, D))} : {T4}) scale({1 / np.sqrt(D):.8e}) -> {T4}")
        t = g.v()
        g.emit(f"{t} = linalg.transpose ins({a} : {T4}) outs({g.empty((B, N, H, D))} : {ty((B, N, H, D))}) permutation = [0, 2, 1, 3]")
        c = g.v()
        g.emit(f"{c} = tensor.collapse_shape {t} [[0], [1], [2, 3]] : {ty((B, N, H, D))} into {X}")
        cur = add(cur, proj(c, p["wo"]), (B, N, C))
        h2 = layernorm(cur, p["g2"], p["b2"])
        u = proj(h2, p["w1"])
        act = g.generic(d3, ["parallel"] * 3, [(u, ty((B, N, F)), "b, n, c")], [(g.empty((B, N, F)), ty((B, N, F)), "b, n, c")],
                        ["%z = arith.mulf %a0, %cgelu : f32", "%nz = arith.negf %z : f32", "%e = math.exp %nz : f32",
                         "%den = arith.addf %e, %cone : f32", "%r = arith.divf %a0, %den : f32", "linalg.yield %r : f32"],
                        (B, N, F))
        cur = add(cur, proj(act, p["w2"]), (B, N, C))

    if train:
        # mean((y - t)^2) over all of y: a replicated loss after sharding.
        loss = g.generic(d3, ["reduction"] * 3, [(cur, X, "b, n, c"), ("%t", X, "b, n, c")],
                         [(g.empty((), 0), "tensor<f32>", "")],
                         ["%d = arith.subf %a0, %a1 : f32", "%q = arith.mulf %d, %d : f32",
                          "%m = arith.mulf %q, %cmean : f32", "%s = arith.addf %o0, %m : f32",
                          "linalg.yield %s : f32"], ())
        args = [f'%p{i}: {ty(a.shape)} {{lathe.param, lathe.name = "p{i}"}}'
                for i, a in enumerate(g.params)]
        data = [f'%x: {X} {{lathe.name = "x"}}', f'%t: {X} {{lathe.name = "t"}}']
        head = [f"  func.func @loss({', '.join(args + data)}) -> tensor<f32> {{",
                f"    %cmean = arith.constant {1.0 / (B * N * C):.8e} : f32"]
        ret, rty = loss, "tensor<f32>"
    else:
        head = [f"  func.func @main(%x: {X}) -> {X} {{"]
        ret, rty = cur, X
    head += [
             "    %c0 = arith.constant 0.0 : f32",
            "    %cone = arith.constant 1.0 : f32",
            f"    %cinv = arith.constant {1.0 / C:.8e} : f32",
            "    %ceps = arith.constant 1.0e-05 : f32",
            "    %cgelu = arith.constant 1.702 : f32"]
    text = "module {\n" + "\n".join(head + g.lines + [f"    return {ret} : {rty}", "  }", "}"]) + "\n"

    if train:
        t = rng.standard_normal((B, N, C)).astype(np.float32)
        return text, x, (g.params, t)
    if not reference:
        return text, x, None
    # float64 reference
    def ln(z, gamma, beta):
        m = z.mean(-1, keepdims=True)
        va = ((z - m) ** 2).mean(-1, keepdims=True)
        return (z - m) / np.sqrt(va + 1e-5) * gamma + beta

    z = x.astype(np.float64) + pos
    for p in layers:
        hh = ln(z, p["g1"], p["b1"])
        sp = lambda t: t.reshape(B, N, H, D).transpose(0, 2, 1, 3)
        q, k, v = sp(hh @ p["wq"]), sp(hh @ p["wk"]), sp(hh @ p["wv"])
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(D) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = (s @ v).transpose(0, 2, 1, 3).reshape(B, N, C)
        z = z + o @ p["wo"]
        u = ln(z, p["g2"], p["b2"]) @ p["w1"]
        z = z + (u / (1 + np.exp(-1.702 * u))) @ p["w2"]
    return text, x, z


def sgd(out, mlir):
    """--sgd GRAD.mlir --ranks=P --steps=K --lr=LR --work=DIR: K SGD steps,
    each one lathe-run of @loss_grad (params from OUT_DIR, updated in numpy);
    writes DIR/losses.npy and the first step's gradients DIR/g<i>.npy."""
    import subprocess
    work, P, K, lr = arg("work", out), arg("ranks", 1), arg("steps", 5), arg("lr", 0.1)
    n = int(open(out + "/params.txt").read())
    params = [np.load(out + f"/p{i}.npy") for i in range(n)]
    losses = []
    for step in range(K):
        for i, a in enumerate(params):
            np.save(work + f"/cur{i}.npy", a)
        cmd = [arg("lathe-run", "lathe-run"), mlir, "--entry=loss_grad", f"--ranks={P}", f"--cache-dir={work}/cache"]
        cmd += [f"--input={work}/cur{i}.npy" for i in range(n)]
        cmd += [f"--input={out}/x.npy", f"--input={out}/t.npy", f"--output={work}/loss.npy"]
        cmd += [f"--output={work}/g{i}.npy" for i in range(n)] if step == 0 else \
               [f"--output={work}/s{i}.npy" for i in range(n)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        losses.append(float(np.load(work + "/loss.npy")))
        pre = "g" if step == 0 else "s"
        params = [a - lr * np.load(work + f"/{pre}{i}.npy") for i, a in enumerate(params)]
    np.save(work + "/losses.npy", np.array(losses))
    print("losses", " ".join(f"{l:.6f}" for l in losses))


def check_train(a, b, tol):
    """--check-train DIR_A DIR_B: the first step's gradients (max|a-b|/max|b|
    per parameter) and every step's loss (relative) of two --sgd runs."""
    n = len([f for f in __import__("os").listdir(b) if f.startswith("g") and f.endswith(".npy")])
    worst = 0.0
    for i in range(n):
        ga, gb = np.load(f"{a}/g{i}.npy"), np.load(f"{b}/g{i}.npy")
        assert ga.shape == gb.shape, (i, ga.shape, gb.shape)
        assert np.abs(gb).max() > 0, f"gradient #{i} is zero"
        err = float(np.abs(ga.astype(np.float64) - gb).max() / np.abs(gb).max())
        assert np.isfinite(err) and err <= tol, f"gradient #{i}: max_rel_err={err:.3e}"
        worst = max(worst, err)
    la, lb = np.load(a + "/losses.npy"), np.load(b + "/losses.npy")
    lerr = float(np.max(np.abs(la - lb) / np.abs(lb)))
    print(f"{n} gradients: max_rel_err={worst:.3e}; {len(lb)} losses: max_rel_diff={lerr:.3e} (tolerance {tol:g})")
    assert len(la) == len(lb) and lerr <= tol, (la, lb)
    assert lb[-1] < lb[0], f"the loss did not fall: {lb}"


def check_logs(a, b, tol, layers):
    """--check-logs A.jsonl B.jsonl: lathe-train's losses of a sequence-
    parallel run (A) against single-rank training (B), every step within
    `tol` relative; A's all-to-alls: 8 per layer and step (4 forward, their
    adjoints in the backward)."""
    la = [json.loads(line) for line in open(a)]
    lb = [json.loads(line) for line in open(b)]
    assert len(la) == len(lb) and la, (len(la), len(lb))
    diff = max(abs(x["loss"] - y["loss"]) / abs(y["loss"]) for x, y in zip(la, lb))
    print(f"{len(la)} losses: max_rel_diff={diff:.3e} (tolerance {tol:g}); "
          f"{lb[0]['loss']:.6f} -> {lb[-1]['loss']:.6f}")
    assert diff <= tol, [(x["loss"], y["loss"]) for x, y in zip(la, lb)]
    assert lb[-1]["loss"] < lb[0]["loss"], "the loss did not fall"
    for e in la:
        a2a = [c for c in e["comm"] if c["collective"] == "all_to_all"]
        assert len(a2a) == 1 and a2a[0]["calls"] == 8 * layers, e["comm"]


def main():
    out = sys.argv[1]
    if "--check" in sys.argv:
        i = sys.argv.index("--check")
        a, b = np.load(sys.argv[i + 1]), np.load(sys.argv[i + 2])
        tol = arg("tol", 1e-5)
        assert a.shape == b.shape, (a.shape, b.shape)
        err = float(np.abs(a.astype(np.float64) - b).max() / np.abs(b).max())
        print(f"max_rel_err={err:.3e} (tolerance {tol:g})")
        assert np.isfinite(err) and err <= tol, err
        return
    if "--check-comm" in sys.argv:
        i = sys.argv.index("--check-comm")
        report = json.load(open(sys.argv[i + 1]))
        P = arg("ranks", 1)
        B, N, C, L = arg("batch", 2), arg("seq", 256), arg("hidden", 64), arg("layers", 2)
        comm = {c["collective"]: c for c in report["comm"]}
        a2a = comm["all_to_all"]
        bits, group = arg("quant-bits", 0), arg("quant-group", 128)
        values = B * (N // P) * C
        if bits:
            expect = 4 * L * (values * bits // 8 + values // group * 4)
            f32 = 4 * L * values * 4
            print(f"all_to_all: {a2a['calls']} calls, {a2a['bytes']} bytes per rank; formula 4 * L * (B * N/P * h * {bits} / 8 + 4 * B * N/P * h / {group}) = {expect}; ratio to f32 {a2a['bytes'] / f32:.4f}")
            calls = 8 * L
        else:
            expect = 4 * L * values * 4
            print(f"all_to_all: {a2a['calls']} calls, {a2a['bytes']} bytes per rank; formula 4 * L * B * N/P * h * 4 = {expect}")
            calls = 4 * L
        assert report["ranks"] == P, report["ranks"]
        assert a2a["calls"] == calls and a2a["bytes"] == expect, a2a
        ag = comm["all_gather"]
        assert ag["calls"] == 1 and ag["bytes"] == B * (N // P) * C * 4, ag
        return
    if "--sgd" in sys.argv:
        sgd(out, sys.argv[sys.argv.index("--sgd") + 1])
        return
    if "--check-logs" in sys.argv:
        i = sys.argv.index("--check-logs")
        check_logs(sys.argv[i + 1], sys.argv[i + 2], arg("tol", 1e-5), arg("layers", 2))
        return
    if "--check-train" in sys.argv:
        i = sys.argv.index("--check-train")
        check_train(sys.argv[i + 1], sys.argv[i + 2], arg("tol", 1e-5))
        return
    B, N, C, H, L = arg("batch", 2), arg("seq", 256), arg("hidden", 64), arg("heads", 4), arg("layers", 2)
    if "--train" in sys.argv:
        text, x, (params, t) = build(B, N, C, H, L, arg("seed", 0), arg("mask", "causal") != "none",
                                     False, train=True)
        open(out + "/model.mlir", "w").write(text)
        np.save(out + "/x.npy", x)
        np.save(out + "/t.npy", t)
        for i, a in enumerate(params):
            np.save(out + f"/p{i}.npy", a)
        open(out + "/params.txt", "w").write(str(len(params)))
        if "--h5" in sys.argv:
            # For lathe-train: the parameters (--params) and one batch of
            # data (--data), datasets named after @loss's arguments.
            import h5py
            with h5py.File(out + "/params.h5", "w") as f:
                for i, a in enumerate(params):
                    f[f"p{i}"] = a
            with h5py.File(out + "/data.h5", "w") as f:
                f["x"], f["t"] = x, t
        return
    text, x, ref = build(B, N, C, H, L, arg("seed", 0), arg("mask", "causal") != "none",
                         "--no-ref" not in sys.argv)
    open(out + "/model.mlir", "w").write(text)
    np.save(out + "/x.npy", x)
    if ref is not None:
        np.save(out + "/ref.npy", ref)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""A procedurally generated video-question task and a streaming Q-Former-style model for it.

    videoqa.py make DIR --episodes E [--seed S] [--tiny]
        writes DIR/frames.npy [E, T, F, D], DIR/text.npy [E, 2, V], DIR/answers.npy [E],
        DIR/qtype.npy [E] and DIR/target.npy [E] (the frame the answer is about; for an order
        question the later of the two events)
    videoqa.py weights DIR [--tiny] [--random SEED]
        writes the model's weights as DIR/w_*.npy (trained, cached under
        $LATHE_BUILD_DIR/memred/, trained first when missing; --random: untrained weights)
    videoqa.py gen OUT.mlir --episodes E [--tiny]
        writes the streaming model for E episodes as MLIR (see below)
    videoqa.py ref DIR WDIR OUT.npy [--report REPORT.json] [--policy P] [--seed N]
        the independent numpy model of the streaming run (f64), with the banks the report's
        memred.bank_append decisions describe (capacity, recent, keep per layer) and the
        policy's reduction written from the op's definition; without --report, unbounded
    videoqa.py torch DIR WDIR OUT.npy
        PyTorch's forward of the same model with all frames in memory (the training graph)

The task ("no dataset downloads"): an episode is T frames of a 2 x 2 grid (F = 4 visual
tokens per frame). Each frame shows one object, with a colour and a shape drawn anew every
frame, in a random cell; the other cells are background. Four of the six event types
happen in an episode, each once, at four distinct frames drawn uniformly over the stream.
A token is a rendered feature vector (D floats): fixed random embeddings of colour, shape,
event (object cells), background, cell, and a time code (sinusoids of the frame index in
fixed random directions), plus Gaussian noise. Questions (text: two tokens, each the
question type plus an event id), uniformly one of:
  colour   "what colour was the object when event X happened?"     (6 answers)
  shape    "what shape was the object when event X happened?"      (6 answers)
  order    "did event A happen before event B?"                     (yes / no)
The answer needs the content of the frame where the event happened (its object's colour
or shape, or its time); the target frame is uniform over the stream, so a memory that
keeps only the last k frames answers about k/T of the attribute questions from memory.
Chance (knowing the question type): 1/6, 1/6, 1/2.

The model (a Q-Former reduced to what streams): query rows = NQ learnable queries + the two
text tokens (one-hot · embedding + position), width C. Per frame t and layer l, the frame's
tokens are projected (x_t · Wp[l], [F, C]) and appended to layer l's cache; the layer's
query rows cross-attend to the cache (memred.attention, key = value = the cache, scale
1/sqrt(C)) and update the next layer's query rows: q[l+1] = q[l] + attn · Wq[l]. After the
last frame the final query rows (flattened) go through a ReLU MLP to the answer logits.
Trained with cross-entropy on the answer only (no attention supervision), all frames in
memory (PyTorch, `forward_full`).

MLIR (`gen`): @main(frames [E, T, F, D], text [E, 2, V], weights...) -> logits [E, A]: an
scf.for over the E episodes, inside it an scf.for over the T frames whose two caches grow by
tensor.concat and are read by memred.attention; memred-bound-memory turns them into
memred.bank_append banks (policies as its options) and lathe-run runs it.
"""
import argparse
import hashlib
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

FULL = dict(frames=32, tokens=4, feat=32, width=32, queries=4, layers=2, hidden=128,
            colors=6, shapes=6, events=6, per_episode=4, noise=0.6)
TINY = dict(FULL, frames=12, feat=16, width=16, queries=2, hidden=16)
QTYPES = 3
TRAIN = dict(steps=900, batch=64, lr=1e-2, seed=0, short=8, short_steps=300)
RENDER_SEED = 20261207


def cfg_of(tiny):
    return TINY if tiny else FULL


def vocab(cfg):
    return QTYPES + cfg["events"]


def answers(cfg):
    return cfg["colors"] + cfg["shapes"] + 2


# ---------------------------------------------------------------------------------------
# The task
# ---------------------------------------------------------------------------------------

def render_tables(cfg):
    rng = np.random.default_rng(RENDER_SEED)
    d = cfg["feat"]

    def emb(n):
        return rng.standard_normal((n, d)) / math.sqrt(d) * 2.0

    return dict(color=emb(cfg["colors"]), shape=emb(cfg["shapes"]),
                event=2.0 * emb(cfg["events"]),
                cell=emb(cfg["tokens"]), bg=emb(1)[0],
                time=rng.standard_normal((8, d)) / math.sqrt(8 * d) * 2.0)


def time_code(t, frames):
    k = np.arange(1, 5)
    a = np.pi * t / frames * k
    return np.concatenate([np.cos(a), np.sin(a)])


def make_episodes(n, seed, cfg, frames=None):
    """frames [n, T, F, D] f32, text [n, 2, V] f32, answers [n], qtype [n], target [n].
    `frames` < T makes shorter episodes (the training curriculum; same time code)."""
    tab = render_tables(cfg)
    rng = np.random.default_rng(seed)
    t_, f_, d = frames or cfg["frames"], cfg["tokens"], cfg["feat"]
    k = cfg["per_episode"]
    tcode = np.stack([time_code(t, cfg["frames"]) @ tab["time"] for t in range(t_)])
    x = np.broadcast_to(tab["cell"][None, None] + tcode[None, :, None], (n, t_, f_, d)).copy()
    color = rng.integers(cfg["colors"], size=(n, t_))
    shape = rng.integers(cfg["shapes"], size=(n, t_))
    cell = rng.integers(f_, size=(n, t_))
    ev_types = np.argsort(rng.random((n, cfg["events"])), 1)[:, :k]
    ev_times = np.argsort(rng.random((n, t_)), 1)[:, :k]
    obj = tab["color"][color] + tab["shape"][shape]  # [n, T, D]
    rows = np.arange(n)[:, None]
    obj[rows, ev_times] += tab["event"][ev_types]
    is_obj = np.zeros((n, t_, f_), bool)
    is_obj[rows, np.arange(t_)[None], cell] = True
    x += np.where(is_obj[..., None], obj[:, :, None, :], tab["bg"])
    x += rng.standard_normal(x.shape) * cfg["noise"] / math.sqrt(d)
    qtype = rng.integers(QTYPES, size=n)
    pick = np.argsort(rng.random((n, k)), 1)[:, :2]
    a_ev, b_ev = ev_types[rows, pick][:, 0], ev_types[rows, pick][:, 1]
    a_t, b_t = ev_times[rows, pick][:, 0], ev_times[rows, pick][:, 1]
    r = np.arange(n)
    nc, ns = cfg["colors"], cfg["shapes"]
    ans = np.where(qtype == 0, color[r, a_t],
                   np.where(qtype == 1, nc + shape[r, a_t], nc + ns + (a_t > b_t)))
    target = np.where(qtype == 2, np.maximum(a_t, b_t), a_t)
    second = np.where(qtype == 2, b_ev, a_ev)
    text = np.zeros((n, 2, vocab(cfg)), np.float32)
    text[r, :, qtype] = 1.0
    text[r, 0, QTYPES + a_ev] = 1.0
    text[r, 1, QTYPES + second] = 1.0
    return x.astype(np.float32), text, ans.astype(np.int64), qtype, target


# ---------------------------------------------------------------------------------------
# Weights: names, shapes, training (PyTorch), cache
# ---------------------------------------------------------------------------------------

def weight_shapes(cfg):
    c, lq = cfg["width"], cfg["queries"] + 2
    return [("qlearn", (cfg["queries"], c)), ("etext", (vocab(cfg), c)), ("tpos", (2, c)),
            ("wproj", (cfg["layers"], cfg["feat"], c)), ("wq", (cfg["layers"], c, c)),
            ("w1", (lq * c, cfg["hidden"])), ("b1", (cfg["hidden"],)),
            ("w2", (cfg["hidden"], answers(cfg))), ("b2", (answers(cfg),))]


def random_weights(cfg, seed):
    rng = np.random.default_rng(seed)
    w = {}
    for name, shape in weight_shapes(cfg):
        fan = shape[-2] if len(shape) >= 2 else 1
        w[name] = (rng.standard_normal(shape) / math.sqrt(fan) *
                   (2.0 if name in ("qlearn", "etext") else 1.0)).astype(np.float32)
    return w


def forward_full(torch, w, frames, text, cfg):
    """The model with every frame in memory (what training sees; = the stream's output
    after the last frame when nothing is dropped)."""
    e = frames.shape[0]
    x = frames.reshape(e, -1, cfg["feat"])
    trow = text @ w["etext"] + w["tpos"]
    q = torch.cat([w["qlearn"].expand(e, -1, -1), trow], 1)
    scale = 1.0 / math.sqrt(cfg["width"])
    for l in range(cfg["layers"]):
        k = x @ w["wproj"][l]
        p = torch.softmax(q @ k.transpose(1, 2) * scale, -1)
        q = q + (p @ k) @ w["wq"][l]
    h = torch.relu(q.reshape(e, -1) @ w["w1"] + w["b1"])
    return h @ w["w2"] + w["b2"]


def cache_key(cfg):
    """Hash of what the trained weights depend on: the task generator, the model, the
    training loop and their settings (not the rest of this file)."""
    import inspect
    fns = [render_tables, time_code, make_episodes, weight_shapes, random_weights,
           forward_full, train]
    src = "".join(inspect.getsource(f) for f in fns).encode()
    blob = src + json.dumps([cfg, TRAIN, RENDER_SEED], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def build_dir():
    return os.environ.get("LATHE_BUILD_DIR", os.path.join(ROOT, "build"))


def train(cfg, log=print):
    import torch
    torch.manual_seed(TRAIN["seed"])
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    w0 = random_weights(cfg, TRAIN["seed"])
    w = {k: torch.tensor(v, requires_grad=True) for k, v in w0.items()}
    opt = torch.optim.Adam(w.values(), lr=TRAIN["lr"])
    seed = 1_000_000
    for step in range(TRAIN["steps"]):
        short = TRAIN["short"] if step < TRAIN["short_steps"] else None
        fr, tx, an, _, _ = make_episodes(TRAIN["batch"], seed + step, cfg, short)
        logits = forward_full(torch, w, torch.tensor(fr), torch.tensor(tx), cfg)
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(an))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 150 == 0 or step == TRAIN["steps"] - 1:
            acc = (logits.argmax(-1) == torch.tensor(an)).float().mean().item()
            log(f"  train step {step}: loss {loss.item():.4f}, batch accuracy {acc:.3f}")
    return {k: v.detach().numpy().astype(np.float32) for k, v in w.items()}


def load_or_train(cfg, log=print):
    """Trained weights from the cache (keyed by this file's hash and the settings), trained
    and saved first when missing. Returns (weights, path, trained_now)."""
    path = os.path.join(build_dir(), "memred", f"videoqa-{cache_key(cfg)}.npz")
    if os.path.exists(path):
        z = np.load(path)
        return {k: z[k] for k in z.files}, path, False
    log(f"training the streaming model ({TRAIN['steps']} steps of {TRAIN['batch']} episodes, "
        f"answer cross-entropy only) -> {path}")
    w = train(cfg, log)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path + ".tmp.npz", **w)
    os.replace(path + ".tmp.npz", path)
    return w, path, True


def save_weights(w, wdir, cfg):
    os.makedirs(wdir, exist_ok=True)
    for name, _ in weight_shapes(cfg):
        np.save(os.path.join(wdir, f"w_{name}.npy"), w[name].astype(np.float32))


def load_weights(wdir, cfg):
    return {name: np.load(os.path.join(wdir, f"w_{name}.npy")) for name, _ in weight_shapes(cfg)}


def weight_inputs(wdir, cfg):
    return [os.path.join(wdir, f"w_{name}.npy") for name, _ in weight_shapes(cfg)]


# ---------------------------------------------------------------------------------------
# MLIR
# ---------------------------------------------------------------------------------------

def generate(episodes, cfg):
    e_, t_, f_, d = episodes, cfg["frames"], cfg["tokens"], cfg["feat"]
    c, nq, v, h, a, layers = (cfg["width"], cfg["queries"], vocab(cfg), cfg["hidden"],
                              answers(cfg), cfg["layers"])
    lq = nq + 2
    ten = lambda *s: "tensor<" + "x".join(str(x) for x in s) + "xf32>"  # noqa: E731
    dyn = f"tensor<?x{c}xf32>"
    scale = repr(1.0 / math.sqrt(c))
    shapes = dict(weight_shapes(cfg))
    args = [f"%frames: {ten(e_, t_, f_, d)}", f"%text: {ten(e_, 2, v)}"]
    args += [f"%{n}: {ten(*s)}" for n, s in shapes.items()]
    ident2 = "affine_map<(i, j) -> (i, j)>"
    L = []
    emit = L.append
    emit(f"// Generated by scripts/memred/videoqa.py gen --episodes {e_}"
         f"{' --tiny' if cfg is TINY else ''}")
    emit(f"func.func @main({', '.join(args)}) -> {ten(e_, a)} {{")
    emit("  %c0 = arith.constant 0 : index")
    emit("  %c1 = arith.constant 1 : index")
    emit(f"  %cE = arith.constant {e_} : index")
    emit(f"  %cT = arith.constant {t_} : index")
    emit("  %zero = arith.constant 0.0 : f32")
    emit(f"  %none = tensor.empty() : tensor<0x{c}xf32>")
    emit(f"  %empty = tensor.cast %none : tensor<0x{c}xf32> to {dyn}")

    def zeros(name, *s):
        emit(f"  %{name}e = tensor.empty() : {ten(*s)}")
        emit(f"  %{name} = linalg.fill ins(%zero : f32) outs(%{name}e : {ten(*s)}) -> {ten(*s)}")

    zeros("zFC", f_, c)
    zeros("zLC", lq, c)
    zeros("z2C", 2, c)
    zeros("z1H", 1, h)
    zeros("z1A", 1, a)
    emit(f"  %eLC = tensor.empty() : {ten(lq, c)}")
    emit(f"  %e2C = tensor.empty() : {ten(2, c)}")
    emit(f"  %e1H = tensor.empty() : {ten(1, h)}")
    emit(f"  %e1A = tensor.empty() : {ten(1, a)}")
    for l in range(layers):
        emit(f"  %wp{l} = tensor.extract_slice %wproj[{l}, 0, 0] [1, {d}, {c}] [1, 1, 1] : "
             f"{ten(layers, d, c)} to {ten(d, c)}")
        emit(f"  %wq{l} = tensor.extract_slice %wq[{l}, 0, 0] [1, {c}, {c}] [1, 1, 1] : "
             f"{ten(layers, c, c)} to {ten(c, c)}")
    emit(f"  %out0 = tensor.empty() : {ten(e_, a)}")
    emit(f"  %res = scf.for %e = %c0 to %cE step %c1 iter_args(%out = %out0) -> ({ten(e_, a)}) {{")
    emit(f"    %txt = tensor.extract_slice %text[%e, 0, 0] [1, 2, {v}] [1, 1, 1] : "
         f"{ten(e_, 2, v)} to {ten(2, v)}")
    emit(f"    %te = linalg.matmul ins(%txt, %etext : {ten(2, v)}, {ten(v, c)}) "
         f"outs(%z2C : {ten(2, c)}) -> {ten(2, c)}")
    emit(f"    %tr = linalg.add ins(%te, %tpos : {ten(2, c)}, {ten(2, c)}) "
         f"outs(%e2C : {ten(2, c)}) -> {ten(2, c)}")
    emit(f"    %q0a = tensor.insert_slice %qlearn into %eLC[0, 0] [{nq}, {c}] [1, 1] : "
         f"{ten(nq, c)} into {ten(lq, c)}")
    emit(f"    %q0 = tensor.insert_slice %tr into %q0a[{nq}, 0] [2, {c}] [1, 1] : "
         f"{ten(2, c)} into {ten(lq, c)}")
    iters = ", ".join([f"%k{l} = %empty" for l in range(layers)] +
                      [f"%s{l} = %zLC" for l in range(layers)])
    itypes = ", ".join([dyn] * layers + [ten(lq, c)] * layers)
    emit(f"    %r:{2 * layers} = scf.for %t = %c0 to %cT step %c1 iter_args({iters}) -> ({itypes}) {{")
    emit(f"      %fr = tensor.extract_slice %frames[%e, %t, 0, 0] [1, 1, {f_}, {d}] [1, 1, 1, 1] : "
         f"{ten(e_, t_, f_, d)} to {ten(f_, d)}")
    q = "%q0"
    for l in range(layers):
        emit(f"      %p{l} = linalg.matmul ins(%fr, %wp{l} : {ten(f_, d)}, {ten(d, c)}) "
             f"outs(%zFC : {ten(f_, c)}) -> {ten(f_, c)}")
        emit(f"      %g{l} = tensor.concat dim(0) %k{l}, %p{l} : ({dyn}, {ten(f_, c)}) -> {dyn}")
        emit(f"      %a{l} = memred.attention ins({q}, %g{l}, %g{l} : {ten(lq, c)}, {dyn}, {dyn}) "
             f"outs(%s{l} : {ten(lq, c)}) scale({scale}) -> {ten(lq, c)}")
        if l + 1 < layers:
            emit(f"      %u{l} = linalg.matmul ins(%a{l}, %wq{l} : {ten(lq, c)}, {ten(c, c)}) "
                 f"outs(%zLC : {ten(lq, c)}) -> {ten(lq, c)}")
            emit(f"      %q{l + 1} = linalg.add ins({q}, %u{l} : {ten(lq, c)}, {ten(lq, c)}) "
                 f"outs(%eLC : {ten(lq, c)}) -> {ten(lq, c)}")
            q = f"%q{l + 1}"
    yields = ", ".join([f"%g{l}" for l in range(layers)] + [f"%a{l}" for l in range(layers)])
    emit(f"      scf.yield {yields} : {itypes}")
    emit("    }")
    # The query rows after the last frame, from the layers' final attention outputs.
    q = "%q0"
    for l in range(layers):
        emit(f"    %fu{l} = linalg.matmul ins(%r#{layers + l}, %wq{l} : {ten(lq, c)}, {ten(c, c)}) "
             f"outs(%zLC : {ten(lq, c)}) -> {ten(lq, c)}")
        emit(f"    %fq{l + 1} = linalg.add ins({q}, %fu{l} : {ten(lq, c)}, {ten(lq, c)}) "
             f"outs(%eLC : {ten(lq, c)}) -> {ten(lq, c)}")
        q = f"%fq{l + 1}"
    emit(f"    %flat = tensor.collapse_shape {q} [[0, 1]] : {ten(lq, c)} into {ten(lq * c)}")
    emit(f"    %row = tensor.expand_shape %flat [[0, 1]] output_shape [1, {lq * c}] : "
         f"{ten(lq * c)} into {ten(1, lq * c)}")
    emit(f"    %hm = linalg.matmul ins(%row, %w1 : {ten(1, lq * c)}, {ten(lq * c, h)}) "
         f"outs(%z1H : {ten(1, h)}) -> {ten(1, h)}")
    emit(f"    %hr = linalg.generic {{indexing_maps = [{ident2}, affine_map<(i, j) -> (j)>, "
         f"{ident2}], iterator_types = [\"parallel\", \"parallel\"]}} "
         f"ins(%hm, %b1 : {ten(1, h)}, {ten(h)}) outs(%e1H : {ten(1, h)}) {{")
    emit("    ^bb0(%x: f32, %b: f32, %o: f32):")
    emit("      %s = arith.addf %x, %b : f32")
    emit("      %m = arith.maximumf %s, %zero : f32")
    emit("      linalg.yield %m : f32")
    emit(f"    }} -> {ten(1, h)}")
    emit(f"    %lm = linalg.matmul ins(%hr, %w2 : {ten(1, h)}, {ten(h, a)}) "
         f"outs(%z1A : {ten(1, a)}) -> {ten(1, a)}")
    emit(f"    %lo = linalg.generic {{indexing_maps = [{ident2}, affine_map<(i, j) -> (j)>, "
         f"{ident2}], iterator_types = [\"parallel\", \"parallel\"]}} "
         f"ins(%lm, %b2 : {ten(1, a)}, {ten(a)}) outs(%e1A : {ten(1, a)}) {{")
    emit("    ^bb0(%x: f32, %b: f32, %o: f32):")
    emit("      %s = arith.addf %x, %b : f32")
    emit("      linalg.yield %s : f32")
    emit(f"    }} -> {ten(1, a)}")
    emit(f"    %next = tensor.insert_slice %lo into %out[%e, 0] [1, {a}] [1, 1] : "
         f"{ten(1, a)} into {ten(e_, a)}")
    emit(f"    scf.yield %next : {ten(e_, a)}")
    emit("  }")
    emit(f"  return %res : {ten(e_, a)}")
    emit("}")
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------------------------------
# The numpy reference of the streaming run (policies from memred.bank_append's definition)
# ---------------------------------------------------------------------------------------

MASK = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def ceil_frac(f, m):
    return min(m, math.ceil(f * m - 1e-9))


def softmax(s):
    p = np.exp(s - s.max(-1, keepdims=True))
    return p / p.sum(-1, keepdims=True)


def cosine(a, b):
    den = math.sqrt(float(a @ a)) * math.sqrt(float(b @ b))
    return float(a @ b) / den if den > 0 else 0.0


def append(bank, frame, query, scale, layer, policy, seed, step):
    rows = np.concatenate([bank, frame])
    n = rows.shape[0]
    if layer is None or n <= layer["capacity"]:
        return rows
    recent = ceil_frac(layer["recent"], n)
    older = n - recent
    m = recent + ceil_frac(layer["keep"], older)
    assert m <= layer["capacity"], (m, layer)
    if policy == "recent":
        return rows[n - m:]
    if policy == "merge":
        rows = [r.copy() for r in rows]
        sims = [cosine(rows[j], rows[j + 1]) for j in range(n - 1)]
        while len(rows) > m:
            j = int(np.argmax(sims))  # the first (oldest) maximum
            rows[j] = (rows[j] + rows[j + 1]) * 0.5
            del rows[j + 1]
            del sims[j]
            if j < len(sims):
                sims[j] = cosine(rows[j], rows[j + 1])
            if j > 0:
                sims[j - 1] = cosine(rows[j - 1], rows[j])
        return np.stack(rows)
    if policy == "random":
        key = splitmix64(splitmix64(seed & MASK) ^ (step & MASK))
        score = [splitmix64((key + j) & MASK) for j in range(older)]
    else:
        score = softmax((query @ rows.T) * scale).sum(0)
    top = sorted(range(older), key=lambda j: (-score[j], -j))[:m - recent]
    return rows[sorted(top) + list(range(older, n))]


def layers_from_report(path, count):
    report = json.load(open(path))
    banks = [d["decision"] for d in report["decisions"]
             if d["decision"].get("action") == "bounded streaming cache"]
    banks.sort(key=lambda d: d["layer"])
    assert [d["layer"] for d in banks] == list(range(count)), banks
    return banks


def reference(frames, text, w, cfg, layers=None, policy="adacm2", seed=0):
    """Logits [E, A] of the streaming run, f64; `layers` the banks (None: unbounded).
    Also returns the largest bank row count seen per layer."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    e_, t_ = frames.shape[:2]
    scale = 1.0 / math.sqrt(cfg["width"])
    nl = cfg["layers"]
    layers = layers or [None] * nl
    out = np.empty((e_, answers(cfg)))
    most = [0] * nl
    for e in range(e_):
        q0 = np.concatenate([w["qlearn"], text[e].astype(np.float64) @ w["etext"] + w["tpos"]])
        banks = [np.zeros((0, cfg["width"])) for _ in range(nl)]
        states = [None] * nl
        for t in range(t_):
            x = frames[e, t].astype(np.float64)
            q = q0
            for l in range(nl):
                banks[l] = append(banks[l], x @ w["wproj"][l], q, scale, layers[l], policy,
                                  seed, t + (e << 20))
                most[l] = max(most[l], banks[l].shape[0])
                k = banks[l]
                states[l] = softmax(q @ k.T * scale) @ k
                q = q + states[l] @ w["wq"][l]
        hid = np.maximum(q.reshape(-1) @ w["w1"] + w["b1"], 0)
        out[e] = hid @ w["w2"] + w["b2"]
    return out, most


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------

def save_episodes(d, n, seed, cfg):
    os.makedirs(d, exist_ok=True)
    for name, arr in zip(("frames", "text", "answers", "qtype", "target"),
                         make_episodes(n, seed, cfg)):
        np.save(os.path.join(d, f"{name}.npy"), arr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("--episodes", type=int, required=True)
    m.add_argument("--seed", type=int, default=7)
    m.add_argument("--tiny", action="store_true")
    wp = sub.add_parser("weights")
    wp.add_argument("dir")
    wp.add_argument("--tiny", action="store_true")
    wp.add_argument("--random", type=int, default=None)
    g = sub.add_parser("gen")
    g.add_argument("out")
    g.add_argument("--episodes", type=int, required=True)
    g.add_argument("--tiny", action="store_true")
    r = sub.add_parser("ref")
    r.add_argument("dir")
    r.add_argument("wdir")
    r.add_argument("out")
    r.add_argument("--report")
    r.add_argument("--policy", default="adacm2")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--tiny", action="store_true")
    tp = sub.add_parser("torch")
    tp.add_argument("dir")
    tp.add_argument("wdir")
    tp.add_argument("out")
    tp.add_argument("--tiny", action="store_true")
    args = parser.parse_args()
    cfg = cfg_of(args.tiny)
    if args.cmd == "make":
        save_episodes(args.dir, args.episodes, args.seed, cfg)
    elif args.cmd == "weights":
        w = (random_weights(cfg, args.random) if args.random is not None
             else load_or_train(cfg)[0])
        save_weights(w, args.dir, cfg)
    elif args.cmd == "gen":
        with open(args.out, "w") as f:
            f.write(generate(args.episodes, cfg))
    elif args.cmd == "ref":
        frames, text = (np.load(os.path.join(args.dir, f"{n}.npy")) for n in ("frames", "text"))
        layers = layers_from_report(args.report, cfg["layers"]) if args.report else None
        out, most = reference(frames, text, load_weights(args.wdir, cfg), cfg, layers,
                              args.policy, args.seed)
        np.save(args.out, out.astype(np.float32))
        print("largest bank rows per layer", most,
              "capacities", [d["capacity"] for d in layers] if layers else "unbounded")
        if layers:
            assert all(n <= d["capacity"] for n, d in zip(most, layers)), (most, layers)
    elif args.cmd == "torch":
        import torch
        frames, text = (np.load(os.path.join(args.dir, f"{n}.npy")) for n in ("frames", "text"))
        w = {k: torch.tensor(v) for k, v in load_weights(args.wdir, cfg).items()}
        with torch.no_grad():
            out = forward_full(torch, w, torch.tensor(frames), torch.tensor(text), cfg)
        np.save(args.out, out.numpy().astype(np.float32))


if __name__ == "__main__":
    main()

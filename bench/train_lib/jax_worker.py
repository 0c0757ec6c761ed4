"""The JAX/XLA side of bench/train (runs in the benchmark's virtual
environment, which has jax and numpy only).

usage: jax_worker.py MODEL DIR STEPS BATCH LR
MODEL: mlp | cnn | gpt. DIR holds params.npz (PyTorch names and layouts, the
same initial values lathe-train starts from), x.npy / labels.npy (the batches
in order: step k uses rows [k*BATCH, (k+1)*BATCH)), and for gpt val_x.npy /
val_labels.npy. The model is the same function as the PyTorch module Lathe
imports; the update is a hand-written AdamW (PyTorch's formula, weight decay
0.01), not optax, so both sides compute the same step. Writes DIR/jax.json
(losses, step times) and DIR/jax_grads.npz (gradients at step 0).
"""
import json
import math
import os
import sys
import time

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", False)
model, d = sys.argv[1], sys.argv[2]
steps, batch, lr = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
params = dict(np.load(f"{d}/params.npz"))
frozen = {k: jnp.asarray(v) for k, v in params.items() if k.endswith(".mask")}
params = {k: jnp.asarray(v) for k, v in params.items() if not k.endswith(".mask")}
x_all, y_all = np.load(f"{d}/x.npy"), np.load(f"{d}/labels.npy")


def linear(p, name, x):
    return x @ p[name + ".weight"].T + p[name + ".bias"]


def layer_norm(p, name, x):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / jnp.sqrt(var + 1e-5) * p[name + ".weight"] + p[name + ".bias"]


def conv(p, name, x):
    y = jax.lax.conv_general_dilated(x, p[name + ".weight"], (1, 1), ((1, 1), (1, 1)),
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return y + p[name + ".bias"][None, :, None, None]


def maxpool2(x):
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


def forward(p, x):
    if model == "mlp":
        return linear(p, "2", jax.nn.relu(linear(p, "0", x)))
    if model == "cnn":
        h = maxpool2(jax.nn.relu(conv(p, "0", x)))
        h = maxpool2(jax.nn.relu(conv(p, "3", h)))
        return linear(p, "7", h.reshape(h.shape[0], -1))
    # gpt
    h = p["tok.weight"][x] + p["pos"]
    B, T, D = h.shape
    heads = 4
    hd = D // heads
    layers = sorted({int(k.split(".")[1]) for k in p if k.startswith("blocks.")})
    for i in layers:
        b = f"blocks.{i}"
        qkv = linear(p, b + ".qkv", layer_norm(p, b + ".ln1", h))
        q, k, v = jnp.split(qkv, 3, axis=2)
        q, k, v = (t.reshape(B, T, heads, hd).transpose(0, 2, 1, 3) for t in (q, k, v))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd) + frozen[b + ".mask"]
        a = jax.nn.softmax(s, -1) @ v
        h = h + linear(p, b + ".proj", a.transpose(0, 2, 1, 3).reshape(B, T, D))
        f = jax.nn.gelu(linear(p, b + ".fc", layer_norm(p, b + ".ln2", h)), approximate=False)
        h = h + linear(p, b + ".out", f)
    return linear(p, "head", layer_norm(p, "ln", h))


def loss_fn(p, x, y):
    logits = forward(p, x)
    logp = jax.nn.log_softmax(logits, -1)
    return -jnp.take_along_axis(logp, y[..., None], -1).mean()


b1, b2, eps, wd = 0.9, 0.999, 1e-8, 0.01


@jax.jit
def step(p, m, v, t, x, y):
    loss, g = jax.value_and_grad(loss_fn)(p, x, y)
    c1, c2 = 1 - b1 ** t, 1 - b2 ** t
    new_p, new_m, new_v = {}, {}, {}
    for k in p:
        pk = p[k] * (1 - lr * wd)
        mk = b1 * m[k] + (1 - b1) * g[k]
        vk = b2 * v[k] + (1 - b2) * g[k] * g[k]
        new_p[k] = pk - lr * (mk / c1) / (jnp.sqrt(vk / c2) + eps)
        new_m[k], new_v[k] = mk, vk
    return loss, new_p, new_m, new_v


grads0 = jax.grad(loss_fn)(params, x_all[:batch], y_all[:batch])
np.savez(f"{d}/jax_grads.npz", **{k: np.asarray(v) for k, v in grads0.items()})
m = {k: jnp.zeros_like(v) for k, v in params.items()}
v = {k: jnp.zeros_like(w) for k, w in params.items()}
losses, times = [], []
for k in range(steps):
    x, y = x_all[k * batch:(k + 1) * batch], y_all[k * batch:(k + 1) * batch]
    t0 = time.perf_counter()
    loss, params, m, v = step(params, m, v, jnp.float32(k + 1), x, y)
    loss = float(loss)  # waits for the step
    times.append((time.perf_counter() - t0) * 1000)
    losses.append(loss)
out = {"losses": losses, "step_ms": times[1:] if len(times) > 1 else times,
       "jax": jax.__version__}
if os.path.exists(f"{d}/val_x.npy"):
    vx, vy = np.load(f"{d}/val_x.npy"), np.load(f"{d}/val_labels.npy")
    out["val_loss"] = float(jax.jit(loss_fn)(params, vx, vy))
if os.path.exists(f"{d}/test_x.npy"):
    tx, ty = np.load(f"{d}/test_x.npy"), np.load(f"{d}/test_labels.npy")
    out["test_acc"] = float((np.asarray(forward(params, tx)).argmax(-1) == ty).mean())
json.dump(out, open(f"{d}/jax.json", "w"))

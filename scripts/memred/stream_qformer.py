#!/usr/bin/python3
"""A streaming Q-Former-style model for the AdaCM² part of bench/memred (PyTorch).

Task (synthetic retrieval): a stream of T frames, each 32 visual tokens of width 256
(Gaussian noise). One frame, uniform over the stream, carries the queried pattern p (one of
16 fixed random directions) in 4 of its tokens; every frame carries, with probability 1/2,
a distractor pattern (any other of the 16) in 4 tokens. The text query names p; the model
reports the frame that carried it. Chance is 1/T.

Model: 8 learnable queries plus the text token (an embedding of p) form 9 query rows of
width 256. Each of the 3 layers caches, per frame, keys and values of the frame's tokens
(its memory bank) and updates the query rows by 4-head cross-attention to its bank, then
an FFN (pre-LN, residual). The answer is the frame whose tokens receive the most
cross-attention from the text row in the last layer (a pointer readout: no T-sized head,
so the model trained on 8-frame streams runs on any T). Training (deep supervision): at
every layer, -log of the text row's attention mass on the target frame's tokens.

Memory (AdaCM²): with a bank capacity, after each frame every layer whose bank exceeds it
is reduced by the Lathe runtime's lathe_rt_cross_modal_reduce_f32 (ctypes; the kernel
memred.cross_modal_reduce lowers to): scores = cross-attention of the layer's 9 query rows
(its current input state) to the cached keys, summed over rows and heads; the newest
`recent` fraction is kept whole, plus the top `keep` fraction of the rest. Baselines at the
same memory: keep-recent-only (the newest tokens, as many as AdaCM² keeps) and random-keep
(the same recent part plus a random subset of the rest, as many as AdaCM² keeps).

    stream_qformer.py train [--out FILE]      trains (about a minute on 2 cores) and saves
"""
import argparse
import ctypes
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTH = 256
HEADS = 4
HEAD_DIM = WIDTH // HEADS
NUM_QUERIES = 8
LAYERS = 3
TOKENS = 32
PATTERNS = 16
PATTERN_TOKENS = 4
TRAIN_FRAMES = 8

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_dir():
    return os.environ.get("LATHE_BUILD_DIR", os.path.join(ROOT, "build"))


def default_weights():
    return os.path.join(build_dir(), "memred", "stream_qformer.pt")


#===------------------------------------------------------------------------===#
# Data
#===------------------------------------------------------------------------===#

def patterns():
    g = torch.Generator().manual_seed(1234)
    return F.normalize(torch.randn(PATTERNS, WIDTH, generator=g), dim=-1) * 0.6 * math.sqrt(WIDTH)


def make_batch(batch, frames, gen, pats):
    """frames [B, T, TOKENS, WIDTH], query pattern [B], target frame [B]."""
    x = torch.randn(batch, frames, TOKENS, WIDTH, generator=gen)
    p = torch.randint(PATTERNS, (batch,), generator=gen)
    target = torch.randint(frames, (batch,), generator=gen)
    bi = torch.arange(batch)[:, None].expand(batch, frames)
    ti = torch.arange(frames)[None, :].expand(batch, frames)
    other = (p[:, None] + torch.randint(1, PATTERNS, (batch, frames), generator=gen)) % PATTERNS
    has = torch.rand(batch, frames, generator=gen) < 0.5
    pos = torch.randint(TOKENS, (batch, frames, PATTERN_TOKENS), generator=gen)
    for k in range(PATTERN_TOKENS):
        x[bi, ti, pos[..., k]] += has[..., None] * pats[other]
    tpos = torch.stack([torch.randperm(TOKENS, generator=gen)[:PATTERN_TOKENS]
                        for _ in range(batch)])
    for k in range(PATTERN_TOKENS):
        x[torch.arange(batch), target, tpos[:, k]] += pats[p]
    return x, p, target


#===------------------------------------------------------------------------===#
# Model
#===------------------------------------------------------------------------===#

def split_heads(x):  # [B, N, C] -> [B, H, N, D]
    b, n, _ = x.shape
    return x.view(b, n, HEADS, HEAD_DIM).transpose(1, 2)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.kv_norm = nn.LayerNorm(WIDTH)
        self.wk = nn.Linear(WIDTH, WIDTH)
        self.wv = nn.Linear(WIDTH, WIDTH)
        self.q_norm = nn.LayerNorm(WIDTH)
        self.wq = nn.Linear(WIDTH, WIDTH)
        self.wo = nn.Linear(WIDTH, WIDTH)
        self.ffn_norm = nn.LayerNorm(WIDTH)
        self.ffn = nn.Sequential(nn.Linear(WIDTH, 2 * WIDTH), nn.GELU(),
                                 nn.Linear(2 * WIDTH, WIDTH))

    def keys_values(self, tokens):  # [B, N, C] -> keys, values [B, N, C]
        h = self.kv_norm(tokens)
        return self.wk(h), self.wv(h)

    def query_heads(self, state):  # [B, R, C] -> [B, H, R, D]
        return split_heads(self.wq(self.q_norm(state)))

    def forward(self, state, keys, values):
        q = self.query_heads(state)
        att = torch.softmax(q @ split_heads(keys).transpose(-1, -2) / math.sqrt(HEAD_DIM), -1)
        out = (att @ split_heads(values)).transpose(1, 2).reshape(state.shape)
        state = state + self.wo(out)
        state = state + self.ffn(self.ffn_norm(state))
        return state, att


class StreamQFormer(nn.Module):
    def __init__(self):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(NUM_QUERIES, WIDTH) * 0.02)
        self.text = nn.Embedding(PATTERNS, WIDTH)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))

    def initial_state(self, p):
        b = p.shape[0]
        return torch.cat([self.queries[None].expand(b, -1, -1), self.text(p)[:, None]], 1)

    def encode(self, frames):
        """Per-layer (keys, values) of the frames' tokens, [B, T*TOKENS, C] each."""
        b = frames.shape[0]
        tokens = frames.reshape(b, -1, WIDTH)
        return [layer.keys_values(tokens) for layer in self.layers]

    def query_pass(self, state, banks):
        """Runs the query rows through the layers over `banks` (per-layer keys, values).
        Returns the per-layer input states and attention maps."""
        inputs, atts = [], []
        for layer, (k, v) in zip(self.layers, banks):
            inputs.append(state)
            state, att = layer(state, k, v)
            atts.append(att)
        return inputs, atts


def text_attention(att):
    """The text row's attention mass per cached token, mean over heads: [B, N]."""
    return att[:, :, -1, :].mean(1)


def train(out, steps=260, batch=24, seed=0, log=print, device="cpu"):
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = StreamQFormer().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed + 1)
    pats = patterns()
    start = time.time()
    for step in range(steps):
        x, p, target = (t.to(device) for t in make_batch(batch, TRAIN_FRAMES, gen, pats))
        frame_of = torch.arange(TRAIN_FRAMES, device=device).repeat_interleave(TOKENS)
        on_target = (frame_of[None, :] == target[:, None]).float()
        _, atts = model.query_pass(model.initial_state(p), model.encode(x))
        loss = 0
        for att in atts:
            mass = (text_attention(att) * on_target).sum(-1)
            loss = loss - torch.log(mass + 1e-9).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 40 == 0 or step == steps - 1:
            log(f"  step {step:4d}  loss {loss.item():.4f}  ({time.time() - start:.0f} s)")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    model = model.cpu()
    torch.save(model.state_dict(), out)
    return model


def load_or_train(path=None, log=print):
    path = path or default_weights()
    model = StreamQFormer()
    if os.path.exists(path):
        model.load_state_dict(torch.load(path))
    else:
        log(f"training the streaming Q-Former ({path} not found; 120 steps of 8 streams) ...")
        model = train(path, steps=120, batch=8, log=log)
    model.eval()
    return model


#===------------------------------------------------------------------------===#
# The Lathe runtime's reduction kernel
#===------------------------------------------------------------------------===#

class Reducer:
    """ctypes access to lathe_rt_cross_modal_reduce_f32 (runtime/include/lathe/runtime/
    Attention.h); descriptors as MLIR lowers unranked memrefs."""

    def __init__(self, path=None):
        path = path or os.path.join(build_dir(), "lib", "libLatheRuntime.so")
        self.lib = ctypes.CDLL(path)
        i64, vp = ctypes.c_int64, ctypes.c_void_p
        self.lib.lathe_rt_cross_modal_reduce_f32.argtypes = [i64, vp] * 4 + [
            ctypes.c_double, ctypes.c_double, ctypes.c_float]
        self.lib.lathe_rt_cross_modal_kept_count.argtypes = [i64, ctypes.c_double,
                                                             ctypes.c_double]
        self.lib.lathe_rt_cross_modal_kept_count.restype = i64
        self.lib.lathe_rt_take_pending_error.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        self.lib.lathe_rt_take_pending_error.restype = ctypes.c_int

    @staticmethod
    def _desc(a, keep):
        rank = a.ndim
        words = (ctypes.c_int64 * (3 + 2 * rank))()
        words[0] = words[1] = a.ctypes.data
        words[2] = 0
        for i in range(rank):
            words[3 + i] = a.shape[i]
            words[3 + rank + i] = a.strides[i] // a.itemsize
        keep.append(words)
        return rank, ctypes.cast(words, ctypes.c_void_p)

    def kept(self, n, recent, keep):
        return self.lib.lathe_rt_cross_modal_kept_count(n, recent, keep)

    def reduce(self, queries, keys, tokens, recent, keep):
        """queries [H, R, D], keys [H, N, D], tokens [N, W] (float32, contiguous)."""
        m = self.kept(tokens.shape[0], recent, keep)
        out = np.empty((m, tokens.shape[1]), np.float32)
        hold = []
        args = [*self._desc(queries, hold), *self._desc(keys, hold), *self._desc(tokens, hold),
                *self._desc(out, hold), recent, keep, 1.0 / math.sqrt(HEAD_DIM)]
        self.lib.lathe_rt_cross_modal_reduce_f32(*args)
        buf = ctypes.create_string_buffer(1024)
        if self.lib.lathe_rt_take_pending_error(buf, 1024):
            raise RuntimeError(buf.value.decode())
        return out


#===------------------------------------------------------------------------===#
# Streaming evaluation
#===------------------------------------------------------------------------===#

def per_layer(value):
    return list(value) if isinstance(value, (list, tuple)) else [value] * LAYERS


ROW_BYTES = (2 * WIDTH + 1) * 4


def choose_layer_budget(budget_bytes, recent=0.1, keep=0.1, depth_decay=0.75):
    """AdaCM²'s depth observation as a rule: layer l gets a share of the bank budget and a
    keep fraction proportional to depth_decay**l (deeper layers keep less). Returns
    (capacities, keep fractions) whose peak (capacity + one frame per layer) fits
    `budget_bytes`, or raises ValueError when even one frame per layer does not fit."""
    weights = [depth_decay ** l for l in range(LAYERS)]
    rows = budget_bytes // ROW_BYTES - LAYERS * TOKENS  # room left above one frame each
    if rows < LAYERS * TOKENS:
        raise ValueError(f"a bank budget of {budget_bytes} bytes cannot hold two frames per "
                         f"layer ({2 * LAYERS * TOKENS * ROW_BYTES} bytes)")
    caps = [max(TOKENS, int(rows * w / sum(weights))) for w in weights]
    keeps = [min(1.0, keep * w) for w in weights]
    return caps, keeps


@torch.no_grad()
def stream(model, kv, p, policy, capacity, recent, keep, reducer, rng):
    """Streams the frames whose per-layer keys and values are `kv` (model.encode: a list of
    ([B, T*TOKENS, C], [B, T*TOKENS, C])) frame by frame through per-layer banks bounded by
    `capacity` tokens (a number, or one per layer), with policy 'adacm2', 'recent' or
    'random' ('full' keeps everything); `keep` may also be given per layer.
    Returns (predicted frame [B], peak bank bytes per episode over the stream: the rows
    held, f32, all layers)."""
    b = p.shape[0]
    t = kv[0][0].shape[1] // TOKENS
    caps, keeps = per_layer(capacity), per_layer(keep)
    state0 = model.initial_state(p)
    # Bank rows [key (C) | value (C) | frame index], all episodes of equal length; the
    # buffers are preallocated (appending by concatenation would copy the bank per frame).
    buffers = [torch.empty(b, t * TOKENS if policy == "full" else caps[l] + TOKENS,
                           2 * WIDTH + 1) for l in range(LAYERS)]
    lengths = [0] * LAYERS
    peak = 0
    for f in range(t):
        rows = slice(f * TOKENS, (f + 1) * TOKENS)
        for l in range(LAYERS):
            k, v = kv[l]
            dst = buffers[l][:, lengths[l]:lengths[l] + TOKENS]
            dst[..., :WIDTH] = k[:, rows]
            dst[..., WIDTH:2 * WIDTH] = v[:, rows]
            dst[..., -1] = float(f)
            lengths[l] += TOKENS
        peak = max(peak, sum(lengths) * ROW_BYTES)
        full = [policy != "full" and lengths[l] > caps[l] for l in range(LAYERS)]
        if not any(full):
            continue
        banks = [buf[:, :n] for buf, n in zip(buffers, lengths)]
        inputs = None
        if policy == "adacm2":
            inputs, _ = model.query_pass(
                state0, [(bk[..., :WIDTH], bk[..., WIDTH:2 * WIDTH]) for bk in banks])
        for l, layer in enumerate(model.layers):
            if not full[l]:
                continue
            n = lengths[l]
            m = reducer.kept(n, recent, keeps[l])
            r = min(n, math.ceil(recent * n - 1e-9))
            if policy == "recent":
                kept = banks[l][:, n - m:].clone()
            elif policy == "random":
                older = n - r
                rows = [torch.cat([torch.from_numpy(np.sort(rng.choice(older, m - r,
                                                                        replace=False))),
                                   torch.arange(older, n)]) for _ in range(b)]
                kept = torch.stack([banks[l][i, rows[i]] for i in range(b)])
            else:
                q = layer.query_heads(inputs[l])  # [B, H, R, D]
                out = []
                for i in range(b):
                    keys = split_heads(banks[l][i:i + 1, :, :WIDTH])[0]
                    out.append(torch.from_numpy(reducer.reduce(
                        np.ascontiguousarray(q[i].numpy()),
                        np.ascontiguousarray(keys.numpy()),
                        np.ascontiguousarray(banks[l][i].numpy()), recent, keeps[l])))
                kept = torch.stack(out)
            buffers[l][:, :m] = kept
            lengths[l] = m
    banks = [buf[:, :n] for buf, n in zip(buffers, lengths)]
    _, atts = model.query_pass(
        state0, [(bk[..., :WIDTH], bk[..., WIDTH:2 * WIDTH]) for bk in banks])
    mass = text_attention(atts[-1])  # [B, N]
    frame_of = banks[-1][..., -1].long()  # [B, N]
    per_frame = torch.zeros(b, t).scatter_add_(1, frame_of, mass)
    return per_frame.argmax(-1), peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--out", default=None)
    t.add_argument("--steps", type=int, default=260)
    t.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.cmd == "train":
        train(args.out or default_weights(), steps=args.steps, device=args.device)


if __name__ == "__main__":
    main()

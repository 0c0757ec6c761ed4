"""linalg-on-tensors models of bench/realmodels, written the way other projects' exporters write
them (not the way Lathe's own generators do), each with the same network in PyTorch (the
reference, computed in float64, and the ONNX file that onnxruntime and OpenVINO run).

  jax_resnet   JAX/StableHLO style, NHWC with HWIO filters, batch 8 of 28x28x1: every
               convolution is a 7-loop `linalg.generic` behind a `tensor.pad` (SAME padding, the
               extra row/column of a stride-2 convolution on the high side), biases broadcast by a
               generic and added with `arith.addf` on tensors, ReLU as `arith.maximumf` of the
               tensor and a zero tensor constant, two residual blocks (32 and 64 channels, a
               stride-2 convolution between), global mean as a reduction generic and
               `arith.divf` on tensors, the dense layer as a contraction generic (dot_general)
  mlp_splat    torch-mlir (dynamo) style MLP 784-1024-1024-10, batch 128, whose weights and biases
               are splat constants (`arith.constant dense<0.01>`): each weight goes through a
               transposing `linalg.generic` (aten.t) into `linalg.matmul`, bias adds are
               broadcasting generics, ReLU is `arith.cmpf ugt` + `arith.select`
  bn_cnn       torch-mlir style small ResNet, NCHW, batch 2 of 3x56x56: `tensor.pad` +
               `linalg.conv_2d_nchw_fchw` without bias, then eval-mode batch norm as one
               5-input generic (x, mean, var, gamma, beta: (x - mean) * rsqrt(var + eps) * gamma
               + beta), ReLU generics, residual adds, a stride-2 convolution, global average
               pooling (sum generic + divide generic) and a linear layer (transposed weight
               generic + matmul + bias generic)
  masked_attn  torch-mlir style multi-head self-attention with a key padding mask, batch 8,
               seq 128, d 256, 4 heads: each projection broadcasts its transposed weight to the
               batch and runs `linalg.batch_matmul`; heads split by expand_shape + transposing
               generics; `masked_fill` as an `arith.select` generic on an i1 mask constant;
               softmax decomposed as torch-mlir does it (max reduction, subtract + exp, sum
               reduction, divide)

Every function returns (mlir text, torch module (eval, float32), input ndarray, FLOPs of the
contractions).
"""
import math

import numpy as np
import torch
from torch import nn

from mlir_emit import Emitter, Val, f32_lit, tensor_type  # scripts/ is on sys.path


class Em(Emitter):
    """mlir_emit.Emitter plus what foreign exporters write: generics with arbitrary affine maps
    and element types, arith on whole tensors, splat constants, tensor.pad."""

    def splat(self, shape, value, hint="splat"):
        return self.emit(f"arith.constant dense<{f32_lit(value)}> : {tensor_type(shape)}", hint,
                         shape)

    def tensor_op(self, op, a, b, hint):
        """arith on whole tensors (what JAX's lowering leaves for element-wise ops)."""
        return self.emit(f"{op} {a.name}, {b.name} : {a.ty}", hint, a.shape)

    def pad(self, x, low, high, hint="pad"):
        shape = tuple(d + lo + hi for d, lo, hi in zip(x.shape, low, high))
        c = self.fresh("zero")
        self.lines.append(f"{self.ind}{c} = arith.constant 0.0 : f32")
        idx = ", ".join(f"{self.fresh('i')}: index" for _ in shape)
        text = (f"tensor.pad {x.name} low[{', '.join(map(str, low))}] "
                f"high[{', '.join(map(str, high))}] {{\n{self.ind}^bb0({idx}):\n"
                f"{self.ind * 2}tensor.yield {c} : f32\n{self.ind}}} : {x.ty} to "
                f"{tensor_type(shape)}")
        return self.emit(text, hint, shape)

    def broadcast(self, v, shape, dims, hint="bcast"):
        """Generic that broadcasts v (indexed by loop dims `dims`) to `shape`."""
        n = len(shape)
        return self.generic([v], [tuple(dims), tuple(range(n))], ["parallel"] * n, shape,
                            lambda b, a, o: a, hint=hint)


def _param(rs, *shape, scale=None):
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    s = scale if scale is not None else 1.0 / math.sqrt(fan_in)
    return (rs.uniform(-1, 1, shape) * s).astype(np.float32)


# ------------------------------------------------------------------------------------------
# JAX-style ResNet (NHWC, generic convolutions)
# ------------------------------------------------------------------------------------------
JAX_BATCH = 8


class JaxResNetTorch(nn.Module):
    """The same network in PyTorch; the input stays NHWC as in JAX."""

    def __init__(self, p):
        super().__init__()
        self.p = {k: torch.from_numpy(v) for k, v in p.items()}
        for k, v in self.p.items():
            self.register_buffer(k.replace(".", "_"), v)

    def conv(self, x, name, stride):
        w = getattr(self, f"{name}_w").permute(3, 2, 0, 1)  # HWIO -> OIHW
        if stride == 1:
            x = nn.functional.pad(x, (1, 1, 1, 1))
        else:
            x = nn.functional.pad(x, (0, 1, 0, 1))
        return nn.functional.conv2d(x, w, getattr(self, f"{name}_b"), stride=stride)

    def forward(self, x):
        x = x.permute(0, 3, 1, 2)
        x = torch.relu(self.conv(x, "c1", 1))
        y = torch.relu(self.conv(x, "b1a", 1))
        x = torch.relu(self.conv(y, "b1b", 1) + x)
        x = torch.relu(self.conv(x, "down", 2))
        y = torch.relu(self.conv(x, "b2a", 1))
        x = torch.relu(self.conv(y, "b2b", 1) + x)
        x = x.mean(dim=(2, 3))
        return x @ self.dense_w + self.dense_b


def jax_resnet():
    rs = np.random.RandomState(21)
    p = {}
    for name, cin, cout in [("c1", 1, 32), ("b1a", 32, 32), ("b1b", 32, 32), ("down", 32, 64),
                            ("b2a", 64, 64), ("b2b", 64, 64)]:
        p[f"{name}.w"] = _param(rs, 3, 3, cin, cout, scale=math.sqrt(2.0 / (9 * cin)) * 1.7)
        p[f"{name}.b"] = _param(rs, cout, scale=0.1)
    p["dense.w"] = _param(rs, 64, 10, scale=0.3)
    p["dense.b"] = _param(rs, 10, scale=0.1)
    x = rs.randn(JAX_BATCH, 28, 28, 1).astype(np.float32)

    em = Em()
    xv = Val("%x", x.shape)
    flops = [0]

    def conv(h, name, stride):
        n, hh, ww, c = h.shape
        w = em.weight(f"{name}.w", p[f"{name}.w"], f"{name}_w")
        b = em.weight(f"{name}.b", p[f"{name}.b"], f"{name}_b")
        f = w.shape[3]
        if stride == 1:
            padded = em.pad(h, (0, 1, 1, 0), (0, 1, 1, 0))
            oh, ow = hh, ww
        else:
            padded = em.pad(h, (0, 0, 0, 0), (0, 1, 1, 0))
            oh, ow = (hh + 1) // 2, (ww + 1) // 2
        out_shape = (n, oh, ow, f)
        init = em.filled(out_shape, 0.0)
        s = stride
        ih = f"d1 * {s} + d4" if s != 1 else "d1 + d4"
        iw = f"d2 * {s} + d5" if s != 1 else "d2 + d5"
        y = em.generic([padded, w], [f"d0, {ih}, {iw}, d6", "d4, d5, d6, d3", "d0, d1, d2, d3"],
                       ["parallel"] * 4 + ["reduction"] * 3, out_shape,
                       lambda bb, a, ww_, o: bb.addf(o, bb.mulf(a, ww_)), init=init, hint="conv")
        flops[0] += 2 * n * oh * ow * f * 9 * c
        bb_ = em.broadcast(b, out_shape, (3,), "bias_b")
        return em.tensor_op("arith.addf", y, bb_, "biased")

    def relu(h):
        return em.tensor_op("arith.maximumf", h, em.splat(h.shape, 0.0, "zeros"), "relu")

    h = relu(conv(xv, "c1", 1))
    y = relu(conv(h, "b1a", 1))
    h = relu(em.tensor_op("arith.addf", conv(y, "b1b", 1), h, "res"))
    h = relu(conv(h, "down", 2))
    y = relu(conv(h, "b2a", 1))
    h = relu(em.tensor_op("arith.addf", conv(y, "b2b", 1), h, "res"))
    n, hh, ww, c = h.shape
    s = em.generic([h], ["d0, d1, d2, d3", "d0, d3"],
                   ["parallel", "reduction", "reduction", "parallel"], (n, c),
                   lambda bb, a, o: bb.addf(o, a), init=em.filled((n, c), 0.0), hint="sum")
    mean = em.tensor_op("arith.divf", s, em.splat((n, c), float(hh * ww), "count"), "mean")
    w = em.weight("dense.w", p["dense.w"], "dense_w")
    logits = em.generic([mean, w], ["d0, d2", "d2, d1", "d0, d1"],
                        ["parallel", "parallel", "reduction"], (n, 10),
                        lambda bb, a, b_, o: bb.addf(o, bb.mulf(a, b_)),
                        init=em.filled((n, 10), 0.0), hint="dot")
    flops[0] += 2 * n * c * 10
    db = em.broadcast(em.weight("dense.b", p["dense.b"], "dense_b"), (n, 10), (1,), "bias_b")
    out = em.tensor_op("arith.addf", logits, db, "logits")
    head = ("// bench/realmodels: ResNet-ish CNN in the form JAX/StableHLO lowering writes it "
            "(generic convolutions, arith on tensors)\n")
    text = em.function("main", [xv], out, header=head)
    return text, JaxResNetTorch(p).eval(), x, flops[0]


# ------------------------------------------------------------------------------------------
# torch-mlir MLP with splat weights
# ------------------------------------------------------------------------------------------
MLP_BATCH = 128
MLP_DIMS = (784, 1024, 1024, 10)
MLP_SPLATS = [(0.002, 0.1), (-0.001, 0.05), (0.003, -0.02)]  # (weight, bias) per layer


class SplatMLPTorch(nn.Module):
    def __init__(self):
        super().__init__()
        self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(MLP_DIMS[:-1], MLP_DIMS[1:]))
        with torch.no_grad():
            for fc, (w, b) in zip(self.fcs, MLP_SPLATS):
                fc.weight.fill_(w)
                fc.bias.fill_(b)

    def forward(self, x):
        for i, fc in enumerate(self.fcs):
            x = fc(x)
            if i + 1 < len(self.fcs):
                x = torch.relu(x)
        return x


def mlp_splat():
    x = np.random.RandomState(22).randn(MLP_BATCH, MLP_DIMS[0]).astype(np.float32)
    em = Em()
    xv = Val("%x", x.shape)
    h = xv
    flops = 0
    for i, ((din, dout), (wv, bv)) in enumerate(zip(zip(MLP_DIMS[:-1], MLP_DIMS[1:]), MLP_SPLATS)):
        w = em.splat((dout, din), wv, f"w{i}")            # torch's [out, in] parameter
        wt = em.transpose_generic(w, (1, 0), f"w{i}_t")   # aten.t
        mm = em.matmul(h, wt, transpose_b=False, hint=f"mm{i}")
        flops += 2 * MLP_BATCH * din * dout
        b = em.splat((dout,), bv, f"b{i}")
        h = em.generic([mm, b], ["d0, d1", "d1", "d0, d1"], ["parallel", "parallel"], mm.shape,
                       lambda bb, a, c, o: bb.addf(a, c), hint=f"add{i}")
        if i + 1 < len(MLP_SPLATS):
            def relu(bb, a, o):
                z = bb.const(0.0)
                gt = bb.op(f"arith.cmpf ugt, {a}, {z} : f32", "gt")
                return bb.op(f"arith.select {gt}, {a}, {z} : f32", "sel")
            h = em.generic([h], ["d0, d1", "d0, d1"], ["parallel", "parallel"], h.shape, relu,
                           hint=f"relu{i}")
    head = ("// bench/realmodels: MLP in the form torch-mlir writes a dynamo export with splat "
            "weights (transposing generics, select ReLU)\n")
    return em.function("main", [xv], h, header=head), SplatMLPTorch().eval(), x, flops


# ------------------------------------------------------------------------------------------
# torch-mlir ResNet-ish CNN with batch-norm generics
# ------------------------------------------------------------------------------------------
BN_BATCH, BN_HW = 2, 56
BN_EPS = 1e-5


class BnCnnTorch(nn.Module):
    def __init__(self):
        super().__init__()

        def cbr(cin, cout, stride):
            return nn.ModuleDict({"conv": nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                                  "bn": nn.BatchNorm2d(cout, eps=BN_EPS)})
        self.layers = nn.ModuleDict({
            "stem": cbr(3, 32, 1), "b1a": cbr(32, 32, 1), "b1b": cbr(32, 32, 1),
            "down": cbr(32, 64, 2), "b2a": cbr(64, 64, 1), "b2b": cbr(64, 64, 1)})
        self.fc = nn.Linear(64, 10)

    def cb(self, name, x):
        return self.layers[name]["bn"](self.layers[name]["conv"](x))

    def forward(self, x):
        x = torch.relu(self.cb("stem", x))
        x = torch.relu(self.cb("b1b", torch.relu(self.cb("b1a", x))) + x)
        x = torch.relu(self.cb("down", x))
        x = torch.relu(self.cb("b2b", torch.relu(self.cb("b2a", x))) + x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def bn_cnn():
    torch.manual_seed(23)
    m = BnCnnTorch()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.1, 0.1)
    m = m.eval()
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in m.state_dict().items()
          if not k.endswith("num_batches_tracked")}
    x = np.random.RandomState(24).randn(BN_BATCH, 3, BN_HW, BN_HW).astype(np.float32)

    em = Em()
    xv = Val("%x", x.shape)
    flops = [0]

    def cbn(h, name, stride):
        n, c, hh, ww = h.shape
        pre = f"layers.{name}"
        w = em.weight(f"{pre}.conv.weight", sd[f"{pre}.conv.weight"], f"{name}_w")
        f = w.shape[0]
        padded = em.pad(h, (0, 0, 1, 1), (0, 0, 1, 1))
        oh, ow = (hh - 1) // stride + 1, (ww - 1) // stride + 1
        shape = (n, f, oh, ow)
        init = em.filled(shape, 0.0)
        y = em.emit(f"linalg.conv_2d_nchw_fchw {{dilations = dense<1> : vector<2xi64>, "
                    f"strides = dense<{stride}> : vector<2xi64>}} "
                    f"ins({padded.name}, {w.name} : {padded.ty}, {w.ty}) "
                    f"outs({init.name} : {init.ty}) -> {init.ty}", "conv", shape)
        flops[0] += 2 * n * f * oh * ow * c * 9
        stats = [em.weight(f"{pre}.bn.{k}", sd[f"{pre}.bn.{k}"], f"{name}_{k}")
                 for k in ("running_mean", "running_var", "weight", "bias")]

        def bn(bb, xe, mean, var, g, beta, o):
            eps = bb.const(BN_EPS)
            d = bb.subf(xe, mean)
            r = bb.rsqrt(bb.addf(var, eps))
            return bb.addf(bb.mulf(bb.mulf(d, r), g), beta)
        return em.generic([y] + stats, ["d0, d1, d2, d3"] + ["d1"] * 4 + ["d0, d1, d2, d3"],
                          ["parallel"] * 4, shape, bn, hint="bn")

    def relu(h):
        def body(bb, a, o):
            z = bb.const(0.0)
            gt = bb.op(f"arith.cmpf ugt, {a}, {z} : f32", "gt")
            return bb.op(f"arith.select {gt}, {a}, {z} : f32", "sel")
        return em.generic([h], ["d0, d1, d2, d3"] * 2, ["parallel"] * 4, h.shape, body, hint="relu")

    def add(a, b):
        return em.generic([a, b], ["d0, d1, d2, d3"] * 3, ["parallel"] * 4, a.shape,
                          lambda bb, p_, q, o: bb.addf(p_, q), hint="res")

    h = relu(cbn(xv, "stem", 1))
    h = relu(add(cbn(relu(cbn(h, "b1a", 1)), "b1b", 1), h))
    h = relu(cbn(h, "down", 2))
    h = relu(add(cbn(relu(cbn(h, "b2a", 1)), "b2b", 1), h))
    n, c, hh, ww = h.shape
    s = em.generic([h], ["d0, d1, d2, d3", "d0, d1"],
                   ["parallel", "parallel", "reduction", "reduction"], (n, c),
                   lambda bb, a, o: bb.addf(o, a), init=em.filled((n, c), 0.0), hint="sum")
    count = float(hh * ww)
    mean = em.generic([s], ["d0, d1", "d0, d1"], ["parallel", "parallel"], (n, c),
                      lambda bb, a, o: bb.divf(a, bb.const(count)), hint="avg")
    w = em.weight("fc.weight", sd["fc.weight"], "fc_w")
    wt = em.transpose_generic(w, (1, 0), "fc_wt")
    mm = em.matmul(mean, wt, transpose_b=False, hint="fc")
    flops[0] += 2 * n * c * 10
    b = em.weight("fc.bias", sd["fc.bias"], "fc_b")
    out = em.generic([mm, b], ["d0, d1", "d1", "d0, d1"], ["parallel", "parallel"], mm.shape,
                     lambda bb, a, c_, o: bb.addf(a, c_), hint="logits")
    head = ("// bench/realmodels: ResNet-ish CNN in the form torch-mlir writes it (named "
            "convolutions, batch norm as generics)\n")
    return em.function("main", [xv], out, header=head), m, x, flops[0]


# ------------------------------------------------------------------------------------------
# torch-mlir masked multi-head self-attention
# ------------------------------------------------------------------------------------------
ATT_B, ATT_S, ATT_E, ATT_H = 8, 128, 256, 4


def attn_valid_lengths():
    return [ATT_S - 12 * b for b in range(ATT_B)]


class MaskedAttnTorch(nn.Module):
    def __init__(self, p):
        super().__init__()
        for k, v in p.items():
            self.register_buffer(k, torch.from_numpy(v))
        mask = np.zeros((ATT_B, ATT_S), bool)
        for b, n in enumerate(attn_valid_lengths()):
            mask[b, n:] = True
        self.register_buffer("pad_mask", torch.from_numpy(mask))

    def forward(self, x):
        b, s, e = x.shape
        dh = e // ATT_H

        def heads(t):
            return t.view(b, s, ATT_H, dh).transpose(1, 2)
        q = heads(x @ self.wq.t() + self.bq)
        k = heads(x @ self.wk.t() + self.bk)
        v = heads(x @ self.wv.t() + self.bv)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(dh)
        att = att.masked_fill(self.pad_mask[:, None, None, :], float("-inf"))
        att = torch.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, s, e)
        return y @ self.wo.t() + self.bo


def masked_attn():
    rs = np.random.RandomState(25)
    E = ATT_E
    p = {}
    for n in ("q", "k", "v", "o"):
        p[f"w{n}"] = _param(rs, E, E)
        p[f"b{n}"] = _param(rs, E, scale=0.1)
    x = rs.randn(ATT_B, ATT_S, E).astype(np.float32)
    B, S, H, Dh = ATT_B, ATT_S, ATT_H, E // ATT_H

    em = Em()
    xv = Val("%x", x.shape)
    flops = [0]

    def linear(h, n):
        w = em.weight(f"w{n}", p[f"w{n}"], f"w{n}")
        wt = em.transpose_generic(w, (1, 0), f"w{n}_t")
        wb = em.broadcast(wt, (B, E, E), (1, 2), f"w{n}_b")   # aten.matmul 3-D x 2-D
        y = em.batch_matmul(h, wb, transpose_b=False, hint=f"proj_{n}")
        flops[0] += 2 * B * S * E * E
        b = em.weight(f"b{n}", p[f"b{n}"], f"b{n}")
        return em.generic([y, b], ["d0, d1, d2", "d2", "d0, d1, d2"], ["parallel"] * 3, y.shape,
                          lambda bb, a, c, o: bb.addf(a, c), hint=f"bias_{n}")

    def split_heads(t):
        e4 = em.expand(t, [[0], [1], [2, 3]], (B, S, H, Dh))
        return em.transpose_generic(e4, (0, 2, 1, 3), "heads")  # (B, H, S, Dh)

    q, k, v = (split_heads(linear(xv, n)) for n in ("q", "k", "v"))
    mask = np.zeros((B, S), bool)
    for b, n in enumerate(attn_valid_lengths()):
        mask[b, n:] = True
    ctx4 = em.masked_attention(q, k, v, mask, "d0, d3", True, -np.inf)   # (B, H, S, Dh)
    flops[0] += 2 * 2 * B * H * S * S * Dh
    merged = em.transpose_generic(ctx4, (0, 2, 1, 3), "merge")  # (B, S, H, Dh)
    merged = em.collapse(merged, [[0], [1], [2, 3]])
    out = linear(merged, "o")
    head = ("// bench/realmodels: masked multi-head self-attention in the form torch-mlir writes "
            "it (broadcast batch_matmul projections, select mask, decomposed softmax)\n")
    return em.function("main", [xv], out, header=head), MaskedAttnTorch(p).eval(), x, flops[0]

"""The models of bench/peers, each in every form a contender needs (Debian's Python side).

For every model this writes, into the run's temporary folder:
  NAME.mlir        linalg on tensors with dense_resource weights (Lathe and IREE read this file)
  NAME.onnx        the same PyTorch module exported with torch.onnx.export, opset 17, static shapes
                   (onnxruntime; IREE's ONNX importer as a fallback; lathe-import-onnx if built)
  NAME.x.npy       the input
  NAME.ref.npy     the reference output (PyTorch in float64 for the transformer and the CNN,
                   PyTorch's f32 logits for the digits MLP, as gen_examples.py wrote them)
and returns the PyTorch module itself (the PyTorch contender).

Every contender runs the same weights on the same input: the transformer's and the MLP's weights
are the ones scripts/gen_examples.py seeded (the encoder is rebuilt by its make_encoder(), the MLP's
weights are read from mlp_weights.h5, which holds the blobs of mlp.mlir); the CNN is defined here
and emitted from its PyTorch parameters.
"""
import os
import re
import warnings

import numpy as np

warnings.filterwarnings("ignore")
import torch  # noqa: E402

from mlir_emit import Emitter, Val, f32_lit  # noqa: E402  (scripts/ is on sys.path via common)

CNN_BATCH = 8


class Model:
    def __init__(self, name, title, mlir, onnx, x, ref, module, group, core_flops):
        self.name, self.title, self.group = name, title, group
        self.mlir, self.onnx, self.x, self.ref = mlir, onnx, x, ref
        self.module = module  # torch.nn.Module (eval), or None
        # 2*M*N*K over the matmuls and convolutions: the fallback when no lathe-run report
        # (whose FLOP count also includes the element-wise ops) is available
        self.core_flops = core_flops
        self.flops = 0


def _save(tmp, name, x, ref):
    xp, rp = os.path.join(tmp, f"{name}.x.npy"), os.path.join(tmp, f"{name}.ref.npy")
    np.save(xp, np.ascontiguousarray(x, np.float32))
    np.save(rp, np.ascontiguousarray(ref, np.float32))
    return xp, rp


def export_onnx(module, x, path):
    """torch.onnx.export, opset 17, static shapes, input 'x' and output 'y'.

    Grad mode on (parameters require grad): that keeps PyTorch 1.13's TransformerEncoderLayer
    and MultiheadAttention off their inference fast paths (aten::_transformer_encoder_layer_fwd),
    which the ONNX exporter cannot translate; the exported graph is the same math."""
    with torch.enable_grad():
        torch.onnx.export(module, (torch.from_numpy(x),), path, opset_version=17,
                          input_names=["x"], output_names=["y"], do_constant_folding=True)
    return path


# ------------------------------------------------------------------------------------------
# Transformer encoder layer (gen_examples.py's, batch 1 and 8)
# ------------------------------------------------------------------------------------------
def encoder(ex, tmp, batch):
    import gen_examples
    layer, _ = gen_examples.make_encoder()
    torch.use_deterministic_algorithms(False)  # make_encoder turns it on; not wanted for speed
    layer = layer.eval()
    tdir = os.path.join(ex, "transformer")
    x = np.load(os.path.join(tdir, f"x_b{batch}.npy"))
    ref = np.load(os.path.join(tdir, f"ref_b{batch}.npy"))
    name = f"enc_b{batch}"
    xp, rp = _save(tmp, name, x, ref)
    onnx = export_onnx(layer, x, os.path.join(tmp, f"{name}.onnx"))
    return Model(name, f"transformer layer, batch {batch}", os.path.join(tdir, f"encoder_b{batch}.mlir"),
                 onnx, xp, rp, layer, "transformer", encoder_core_flops(batch))


def encoder_core_flops(batch, d=256, heads=4, ff=1024, seq=128):
    t = batch * seq
    return 2 * t * d * d * 4 + 2 * t * d * ff * 2 + 2 * 2 * batch * seq * seq * d


# ------------------------------------------------------------------------------------------
# Digits MLP (static batch: the 360-image test split)
# ------------------------------------------------------------------------------------------
class MLP(torch.nn.Module):
    def __init__(self, params):
        super().__init__()
        self.fc1 = torch.nn.Linear(64, 256)
        self.fc2 = torch.nn.Linear(256, 256)
        self.fc3 = torch.nn.Linear(256, 10)
        self.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def static_mlp_text(text, batch):
    """mlp.mlir with its dynamic batch pinned: tensor<?x..> -> tensor<Bx..>, no tensor.dim."""
    out = []
    for line in text.splitlines():
        if re.search(r"=\s*tensor\.dim\b", line):
            continue
        line = re.sub(r"tensor\.empty\(%[\w]+\)", "tensor.empty()", line)
        line = line.replace("tensor<?x", f"tensor<{batch}x")
        out.append(line)
    out = "\n".join(out) + "\n"
    if "?" in re.sub(r'"0x[0-9A-Fa-f]*"', "", out.split("{-#")[0]):
        raise RuntimeError("static MLP variant still has a dynamic dimension")
    return out


def mlp(ex, tmp):
    import h5py
    mdir = os.path.join(ex, "mlp")
    params = {}
    with h5py.File(os.path.join(mdir, "mlp_weights.h5"), "r") as f:
        for layer in ("fc1", "fc2", "fc3"):
            for kind in ("weight", "bias"):
                params[f"{layer}.{kind}"] = np.asarray(f[f"/{layer}/{kind}"], np.float32)
    module = MLP(params).eval()
    x = np.load(os.path.join(mdir, "test_x.npy"))
    ref = np.load(os.path.join(mdir, "ref_logits.npy"))
    batch = x.shape[0]
    with open(os.path.join(mdir, "mlp.mlir")) as f:
        text = static_mlp_text(f.read(), batch)
    path = os.path.join(tmp, "mlp.mlir")
    with open(path, "w") as f:
        f.write(text)
    xp, rp = _save(tmp, "mlp", x, ref)
    onnx = export_onnx(module, x, os.path.join(tmp, "mlp.onnx"))
    return Model("mlp", f"digits MLP 64-256-256-10, batch {batch} (static)", path, onnx, xp, rp,
                 module, "mlp", 2 * batch * (64 * 256 + 256 * 256 + 256 * 10))


# ------------------------------------------------------------------------------------------
# Small CNN: conv3x3(3->32)+ReLU, maxpool 2, conv3x3(32->64)+ReLU, maxpool 2, flatten, fc 10
# ------------------------------------------------------------------------------------------
class CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 32, 3)
        self.conv2 = torch.nn.Conv2d(32, 64, 3)
        self.fc = torch.nn.Linear(64 * 6 * 6, 10)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


def _conv(em, x, w, b):
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    shape = (n, f, h - kh + 1, wd - kw + 1)
    init = em.filled(shape, 0.0)
    y = em.emit("linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, "
                "strides = dense<1> : tensor<2xi64>} "
                f"ins({x.name}, {w.name} : {x.ty}, {w.ty}) outs({init.name} : {init.ty}) -> {init.ty}",
                "conv", shape)
    y = em.elementwise([y, b], lambda bb, a, c, o: bb.addf(a, c), "bias", {1: (1,)})
    return em.relu(y)


def _maxpool2(em, x):
    n, c, h, w = x.shape
    shape = (n, c, (h - 2) // 2 + 1, (w - 2) // 2 + 1)
    win = em.emit("tensor.empty() : tensor<2x2xf32>", "win", (2, 2))
    init = em.filled(shape, -np.inf)
    return em.emit("linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, "
                   "strides = dense<2> : tensor<2xi64>} "
                   f"ins({x.name}, {win.name} : {x.ty}, {win.ty}) outs({init.name} : {init.ty}) "
                   f"-> {init.ty}", "pool", shape)


def emit_cnn(p, batch):
    em = Emitter()
    x = Val("%x", (batch, 3, 32, 32))
    h = _conv(em, x, em.weight("conv1.weight", p["conv1.weight"], "c1_w"),
              em.weight("conv1.bias", p["conv1.bias"], "c1_b"))
    h = _maxpool2(em, h)
    h = _conv(em, h, em.weight("conv2.weight", p["conv2.weight"], "c2_w"),
              em.weight("conv2.bias", p["conv2.bias"], "c2_b"))
    h = _maxpool2(em, h)
    h = em.collapse(h, [[0], [1, 2, 3]], "flat")
    h = em.matmul(h, em.weight("fc.weight", p["fc.weight"], "fc_w"), transpose_b=True)
    h = em.bias_add(h, em.weight("fc.bias", p["fc.bias"], "fc_b"))
    head = ("// bench/peers: small CNN, conv3x3(3->32)+ReLU, maxpool2, conv3x3(32->64)+ReLU, "
            "maxpool2, fc 2304->10\n")
    return em.function("main", [x], h, header=head)


def cnn(tmp, batch=CNN_BATCH):
    torch.manual_seed(3)
    module = CNN()
    with torch.no_grad():  # non-trivial biases
        for name, prm in module.named_parameters():
            if name.endswith("bias"):
                prm.copy_(0.1 * torch.randn_like(prm))
    module = module.eval()
    p = {k: v.detach().numpy().astype(np.float32) for k, v in module.state_dict().items()}
    x = np.random.RandomState(4).randn(batch, 3, 32, 32).astype(np.float32)
    import copy
    with torch.no_grad():
        ref = copy.deepcopy(module).double()(torch.from_numpy(x).double()).numpy()
    path = os.path.join(tmp, "cnn.mlir")
    with open(path, "w") as f:
        f.write(emit_cnn(p, batch))
    xp, rp = _save(tmp, "cnn", x, ref)
    onnx = export_onnx(module, x, os.path.join(tmp, "cnn.onnx"))
    return Model("cnn", f"small CNN (2 conv + 2 maxpool + fc), batch {batch}, 3x32x32", path, onnx,
                 xp, rp, module, "cnn",
                 2 * batch * (32 * 30 * 30 * 27 + 64 * 13 * 13 * 288 + 2304 * 10))


def sgemm_text(n):
    """C = A @ B, n x n x n, both operands arguments (lathe-run --fill-missing)."""
    em = Emitter()
    a, b = Val("%a", (n, n)), Val("%b", (n, n))
    y = em.matmul(a, b, transpose_b=False)
    return em.function("main", [a, b], y, header=f"// bench/peers: sgemm {n}^3\n")


def sgemm_onnx(tmp, n):
    """Y = X @ B, n x n x n, B a constant initializer (onnxruntime pre-packs it): the rate of
    onnxruntime's own sgemm (MLAS) on this machine in this run."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    b = np.random.RandomState(5).randn(n, n).astype(np.float32)
    x = np.random.RandomState(6).randn(n, n).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "b"], ["y"])], "sgemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])],
        initializer=[numpy_helper.from_array(b, "b")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    path = os.path.join(tmp, f"sgemm_{n}.onnx")
    onnx.save(m, path)
    xp, rp = _save(tmp, f"sgemm_{n}", x, x.astype(np.float64) @ b.astype(np.float64))
    return Model(f"sgemm_{n}", f"sgemm {n}^3", None, path, xp, rp, None, "sgemm", 2 * n ** 3)


__all__ = ["Model", "encoder", "mlp", "cnn", "sgemm_text", "export_onnx", "f32_lit"]

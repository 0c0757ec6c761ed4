"""The models of bench/realmodels: build(NAME, FOLDER) writes NAME.onnx (and NAME.mlir for the
linalg models), the input NAME.x.npy and the float64 PyTorch reference NAME.ref.npy (stored as
float32). Runs under Debian's /usr/bin/python3 (torch 1.13, onnx); scripts/ must be on sys.path.
"""
import copy
import os

import numpy as np
import torch

import linalg_models
import resnet
import torch_models

ONNX_MODELS = ["resnet18", "resnet50", "gpt2_block", "encoder_b8", "lstm_cls", "gru_cls"]
LINALG_MODELS = ["jax_resnet", "mlp_splat", "bn_cnn", "masked_attn"]


def export_onnx(module, x, path, opset=17):
    # Grad mode on keeps PyTorch 1.13's TransformerEncoderLayer off its inference fast path,
    # which the exporter cannot translate (bench/peers_lib/models.py says the same).
    with torch.enable_grad():
        torch.onnx.export(module, (x,), path, opset_version=opset, input_names=["x"],
                          output_names=["y"], do_constant_folding=True)


def reference(module, x):
    """float64 PyTorch output (int inputs stay int)."""
    m = copy.deepcopy(module).double().eval()
    xd = x.double() if x.is_floating_point() else x
    with torch.enable_grad():
        return m(xd).detach().numpy()


def build(name, folder):
    """Writes NAME.onnx (and NAME.mlir for linalg models), NAME.x.npy, NAME.ref.npy; returns
    (title, kind, FLOPs)."""
    onnx = os.path.join(folder, f"{name}.onnx")
    if name in ("resnet18", "resnet50"):
        depth = int(name[6:])
        module, x = resnet.export(depth, onnx)
        kind, title = "onnx", f"ResNet-{depth}, batch 1, 3x224x224 (PyTorch -> ONNX)"
        flops = {18: 3.64e9, 50: 8.18e9}[depth]
    elif name == "gpt2_block":
        module, x = torch_models.gpt2_block()
        export_onnx(module, x, onnx)
        kind = "onnx"
        title = (f"GPT-2-style decoder block, causal mask, d {torch_models.GPT2_D}, seq "
                 f"{torch_models.GPT2_SEQ}, batch 1 (PyTorch -> ONNX)")
        flops = torch_models.gpt2_flops()
    elif name == "encoder_b8":
        import gen_examples
        module, _ = gen_examples.make_encoder()
        torch.use_deterministic_algorithms(False)
        module = module.eval()
        x = torch.from_numpy(np.random.RandomState(31).randn(8, 128, 256).astype(np.float32))
        export_onnx(module, x, onnx)
        kind, title = "onnx", "transformer encoder layer d 256, seq 128, batch 8 (PyTorch -> ONNX)"
        t = 8 * 128
        flops = 2 * t * 256 * 256 * 4 + 2 * t * 256 * 1024 * 2 + 2 * 2 * 8 * 128 * 128 * 256
    elif name in ("lstm_cls", "gru_cls"):
        cell = name[:-4]
        module, x = torch_models.rnn_classifier(cell)
        export_onnx(module, x, onnx)
        kind = "onnx"
        title = (f"{cell.upper()} text classifier, batch {torch_models.RNN_BATCH} x "
                 f"{torch_models.RNN_SEQ} tokens (PyTorch -> ONNX)")
        flops = torch_models.rnn_flops(cell)
    elif name in LINALG_MODELS:
        text, module, xn, flops = getattr(linalg_models, name)()
        with open(os.path.join(folder, f"{name}.mlir"), "w") as f:
            f.write(text)
        x = torch.from_numpy(xn)
        export_onnx(module, x, onnx)
        kind = "linalg"
        title = {"jax_resnet": "ResNet-ish CNN, JAX form (generic convs, arith on tensors), "
                               "batch 8, 28x28x1",
                 "mlp_splat": "MLP 784-1024-1024-10, torch-mlir form, splat weights, batch 128",
                 "bn_cnn": "ResNet-ish CNN, torch-mlir form (batch-norm generics), batch 2, "
                           "3x56x56",
                 "masked_attn": "masked multi-head self-attention, torch-mlir form, batch 8, "
                                "seq 128, d 256"}[name]
    else:
        raise ValueError(f"unknown model {name!r}")
    np.save(os.path.join(folder, f"{name}.x.npy"), x.numpy())
    np.save(os.path.join(folder, f"{name}.ref.npy"), reference(module, x).astype(np.float32))
    return title, kind, int(flops)

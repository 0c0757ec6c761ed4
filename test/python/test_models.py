"""The bundled models compiled in Python: outputs equal to lathe-run's on the
same inputs and to independent references (PyTorch's, computed when the
examples were generated; NumPy's for an ONNX graph built here)."""
import os
import subprocess

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import lathe
from conftest import close_to_reference, lathe_run, tool

# Same code, same machine: lathe-run's outputs and the package's agree to the
# last bits; the bound only allows for a different reduction order between
# kernel threads.
SAME = dict(rtol=1e-6, atol=1e-6)


def test_mlp_equals_lathe_run_and_pytorch(examples, tmp_path):
    model = os.path.join(examples, "mlp", "mlp.mlir")
    x = np.load(os.path.join(examples, "mlp", "test_x.npy"))
    m = lathe.compile(model)
    assert m.signature.inputs == [lathe.TensorSpec("arg#0", "float32", (None, 64))]
    assert m.signature.results == [lathe.TensorSpec("result#0", "float32", (None, 10))]
    x_before = x.copy()
    y = m(x)
    assert isinstance(y, np.ndarray) and y.shape == (360, 10) and y.dtype == np.float32
    np.testing.assert_array_equal(x, x_before)  # inputs are borrowed, never written
    (ref_tool,) = lathe_run(model, [x], tmp_path)
    np.testing.assert_allclose(y, ref_tool, **SAME)
    assert close_to_reference(y, np.load(os.path.join(examples, "mlp", "ref_logits.npy")))
    labels = np.load(os.path.join(examples, "mlp", "test_y.npy"))
    accuracy = float((y.argmax(1) == labels).mean())
    assert abs(accuracy - float(open(os.path.join(examples, "mlp", "ref_accuracy.txt")).read())) < 1e-9


def test_mlp_external_weights(examples, tmp_path):
    """Weights in an HDF5 file, named relative to the .mlir file."""
    model = os.path.join(examples, "mlp", "mlp_hdf5.mlir")
    x = np.load(os.path.join(examples, "mlp", "x1.npy"))
    y = lathe.compile(model)(x)
    np.testing.assert_allclose(y, lathe_run(model, [x], tmp_path)[0], **SAME)
    assert close_to_reference(y, np.load(os.path.join(examples, "mlp", "ref1.npy")))


def test_transformer_layer(examples, tmp_path):
    for batch in (1, 8):
        model = os.path.join(examples, "transformer", "encoder_b%d.mlir" % batch)
        x = np.load(os.path.join(examples, "transformer", "x_b%d.npy" % batch))
        m = lathe.compile(model)
        assert m.signature.inputs[0].shape == (batch, 128, 256)
        y = m(x)
        np.testing.assert_allclose(y, lathe_run(model, [x], tmp_path)[0], **SAME)
        assert close_to_reference(y, np.load(os.path.join(examples, "transformer", "ref_b%d.npy" % batch)))


def test_report(examples):
    m = lathe.compile(os.path.join(examples, "transformer", "encoder_b1.mlir"))
    r = m.report()
    assert r["calls"] == 0 and r["latency_ms"] is None and r["kernels"] == {}
    assert r["entry"] == "main" and r["backend"] == "cpu" and r["precision"]["requested"] == "f32"
    assert r["compile_cache"] in ("hit", "miss")
    x = np.load(os.path.join(examples, "transformer", "x_b1.npy"))
    m(x)
    m(x)
    r = m.report()
    assert r["calls"] == 2
    assert 0 < r["latency_ms"]["min"] <= r["latency_ms"]["median"]
    # One post-LN encoder layer: Q, K, V, output and two FFN matmuls (the
    # batched score and context matmuls too), two layer norms, one softmax.
    assert r["kernels"]["layer_norm"]["calls"] == 2
    assert r["kernels"]["matmul"]["calls"] >= 6
    assert "generated_code" in r["kernels"]
    # At least the input, the output and the 128x1024 FFN activation are live.
    assert r["peak_memory_bytes"] >= (2 * 128 * 256 + 128 * 1024) * 4
    assert r["flops"] > 0


def test_compile_cache(examples, cache_dir):
    model = os.path.join(examples, "mlp", "mlp.mlir")
    lathe.compile(model)
    assert lathe.compile(model).report()["compile_cache"] == "hit"
    assert lathe.compile(model, options={"no_cache": True}).report()["compile_cache"] == "off"


def test_target_keys_the_cache(examples, tmp_path):
    """target= attaches a target description (lathe-run --target); another
    target is another cache entry, the same one a hit."""
    model = os.path.join(examples, "mlp", "mlp.mlir")
    inputs = os.path.join(os.path.dirname(__file__), "..", "Transforms", "Inputs")
    flat = os.path.join(os.path.dirname(__file__), "..", "Dialect", "LowRank", "Inputs", "flat.json")
    cache = {"cache_dir": str(tmp_path / "c")}
    first = lathe.compile(model, options=cache, target=os.path.join(inputs, "target.json"))
    assert first.report()["compile_cache"] == "miss"
    again = lathe.compile(model, options=cache, target=os.path.join(inputs, "target.json"))
    assert again.report()["compile_cache"] == "hit"
    other = lathe.compile(model, options=dict(cache, target=flat))
    assert other.report()["compile_cache"] == "miss"
    assert len(os.listdir(tmp_path / "c")) == 2
    x = np.load(os.path.join(examples, "mlp", "test_x.npy"))
    assert np.array_equal(first(x), other(x))


def _onnx_mlp(rng):
    """A two-layer ONNX graph (Gemm, Relu, MatMul, Add, Softmax) and its
    weights."""
    w1 = rng.standard_normal((16, 32)).astype(np.float32)
    b1 = rng.standard_normal(32).astype(np.float32)
    w2 = rng.standard_normal((32, 5)).astype(np.float32)
    b2 = rng.standard_normal(5).astype(np.float32)
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "w2"], ["z"]),
        helper.make_node("Add", ["z", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 5])],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)

    def reference(x):
        z = np.maximum(x.astype(np.float64) @ w1 + b1, 0) @ w2 + b2
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)
    return model, reference


def test_onnx_model_proto_and_path(tmp_path):
    model, reference = _onnx_mlp(np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((7, 16)).astype(np.float32)
    m = lathe.compile(model)
    assert m.signature.inputs == [lathe.TensorSpec("x", "float32", (None, 16))]
    assert m.signature.results == [lathe.TensorSpec("probs", "float32", (None, 5))]
    y = m(x)
    np.testing.assert_allclose(y, reference(x), rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "mlp.onnx")
    onnx.save(model, path)
    np.testing.assert_array_equal(lathe.compile(path)(x), y)
    # lathe-import-onnx + lathe-run on the same model.
    subprocess.run([tool("lathe-import-onnx"), path, "-o", str(tmp_path / "mlp.mlir")], check=True)
    np.testing.assert_allclose(y, lathe_run(tmp_path / "mlp.mlir", [x], tmp_path)[0], **SAME)


def test_onnx_cnn_from_pytorch(digits, tmp_path):
    """PyTorch's CNN exported to ONNX by scripts/train/make_digits.py."""
    with h5py.File(os.path.join(digits, "test_img.h5")) as f:
        x = f["x"][:]
    path = os.path.join(digits, "cnn.onnx")
    y = lathe.compile(path)(x)
    subprocess.run([tool("lathe-import-onnx"), path, "-o", str(tmp_path / "cnn.mlir")], check=True)
    np.testing.assert_allclose(y, lathe_run(tmp_path / "cnn.mlir", [x], tmp_path)[0], **SAME)


def test_several_results_and_dtypes(tmp_path):
    """Two results (a tuple), integer inputs and outputs."""
    path = tmp_path / "two.mlir"
    path.write_text("""
func.func @main(%a: tensor<4xi64>, %b: tensor<4xi64>) -> (tensor<4xi64>, tensor<4xi1>) {
  %e = tensor.empty() : tensor<4xi64>
  %s = linalg.add ins(%a, %b : tensor<4xi64>, tensor<4xi64>) outs(%e : tensor<4xi64>) -> tensor<4xi64>
  %z = arith.constant dense<0> : tensor<4xi64>
  %c = arith.cmpi sgt, %s, %z : tensor<4xi64>
  return %s, %c : tensor<4xi64>, tensor<4xi1>
}
""")
    m = lathe.compile(str(path))
    assert [s.dtype for s in m.signature.results] == ["int64", "bool"]
    a, b = np.array([1, -2, 3, -4]), np.array([0, 1, -5, 5])
    s, c = m(a, b)
    np.testing.assert_array_equal(s, a + b)
    np.testing.assert_array_equal(c, a + b > 0)
    # Lists take the argument's dtype.
    np.testing.assert_array_equal(m([1, 2, 3, 4], [1, 1, 1, 1])[0], [2, 3, 4, 5])


def test_bf16_precision(examples, tmp_path):
    """precision="bf16" is lathe-run's --precision=bf16 (bf16 matmul operands
    where the CPU has bf16 instructions, f32 elsewhere)."""
    model = os.path.join(examples, "transformer", "encoder_b1.mlir")
    x = np.load(os.path.join(examples, "transformer", "x_b1.npy"))
    m = lathe.compile(model, precision="bf16")
    assert m.report()["precision"] == {"requested": "bf16",
                                       "effective": "bf16" if lathe._native.cpu_has_bf16() else "f32"}
    y = m(x)
    np.testing.assert_allclose(y, lathe_run(model, [x], tmp_path, "--precision=bf16")[0], **SAME)
    # bf16 operands (8 bits of mantissa) through a layer: close to PyTorch's f64 result, not equal.
    ref = np.load(os.path.join(examples, "transformer", "ref_b1.npy"))
    assert np.abs(y - ref).max() < 0.1 * np.abs(ref).max()

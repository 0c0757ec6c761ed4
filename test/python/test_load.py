"""lathe.load: a module compiled ahead of time by lathe-compile, run through
the runtime's Model.h API (no compilation in the process)."""
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

import lathe
from conftest import close_to_reference, lathe_run, tool


@pytest.fixture(scope="module")
def artifact(examples, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("aot") / "mlp.lathe")
    subprocess.run([tool("lathe-compile"), os.path.join(examples, "mlp", "mlp.mlir"), "-o", out], check=True)
    return out


def test_load_equals_compile_and_lathe_run(examples, artifact, tmp_path):
    x = np.load(os.path.join(examples, "mlp", "test_x.npy"))
    m = lathe.load(artifact)
    assert [(s.dtype, s.shape) for s in m.signature.inputs] == [("float32", (None, 64))]
    assert [(s.dtype, s.shape) for s in m.signature.results] == [("float32", (None, 10))]
    y = m(x)
    model = os.path.join(examples, "mlp", "mlp.mlir")
    np.testing.assert_allclose(y, lathe.compile(model)(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(y, lathe_run(model, [x], tmp_path)[0], rtol=1e-6, atol=1e-6)
    assert close_to_reference(y, np.load(os.path.join(examples, "mlp", "ref_logits.npy")))
    r = m.report()
    assert r["calls"] == 1 and r["entry"] == "main" and r["compile_cache"] == "artifact"
    assert r["peak_memory_bytes"] is None and r["kernels"]["matmul"]["calls"] == 3
    # PyTorch in, PyTorch out.
    t = m(torch.from_numpy(x))
    assert isinstance(t, torch.Tensor)
    np.testing.assert_array_equal(t.numpy(), y)


def test_load_threads(examples, artifact):
    m = lathe.load(artifact, threads=1)
    x = np.load(os.path.join(examples, "mlp", "test_x.npy"))
    batches = [x[i:i + 40] for i in range(0, 360, 40)]
    serial = [m(b) for b in batches]
    with ThreadPoolExecutor(2) as pool:
        for a, b in zip(serial, pool.map(m, batches)):
            np.testing.assert_array_equal(a, b)


def test_load_errors(examples, artifact, tmp_path):
    with pytest.raises(lathe.Error):
        lathe.load(str(tmp_path / "missing.lathe"))
    with pytest.raises(lathe.Error):
        lathe.load(os.path.join(examples, "mlp", "mlp.mlir"))  # not a .lathe file
    with pytest.raises(lathe.Error, match="threads"):
        lathe.load(artifact, threads=0)
    m = lathe.load(artifact)
    with pytest.raises(lathe.Error):
        m(np.zeros((2, 64), np.float64))
    with pytest.raises(lathe.Error):
        m(np.zeros((2, 65), np.float32))
    assert m(np.zeros((2, 64), np.float32)).shape == (2, 10)

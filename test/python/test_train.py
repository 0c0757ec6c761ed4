"""lathe.train runs lathe-train's library entry in the process: the same
losses as the tool with the same options, its errors as exceptions."""
import json
import os
import subprocess

import h5py
import numpy as np
import pytest

import lathe
from conftest import tool

OPTIONS = dict(loss="cross-entropy", batch=32, steps=12, lr=0.01, seed=3, schedule="cosine", warmup_steps=2)


def flags(options):
    return ["--%s=%s" % (k.replace("_", "-"), v) for k, v in options.items()]


def test_train_equals_lathe_train(digits, tmp_path):
    model = os.path.join(digits, "mlp.mlir")
    data = os.path.join(digits, "train.h5")
    result = lathe.train(model, data=data, save=str(tmp_path / "py.h5"), **OPTIONS)
    log = result["log"]
    assert [e["step"] for e in log if "loss" in e] == list(range(12))
    subprocess.run([tool("lathe-train"), model, "--data=" + data, "--log=%s" % (tmp_path / "tool.jsonl"),
                    "--save=%s" % (tmp_path / "tool.h5")] + flags(OPTIONS), check=True, capture_output=True)
    with open(tmp_path / "tool.jsonl") as f:
        tool_log = [json.loads(line) for line in f]
    np.testing.assert_allclose([e["loss"] for e in log], [e["loss"] for e in tool_log], rtol=1e-6)
    assert result["save"] == str(tmp_path / "py.h5")
    with h5py.File(tmp_path / "py.h5") as a, h5py.File(tmp_path / "tool.h5") as b:
        names = []
        a.visit(lambda n: names.append(n) if isinstance(a[n], h5py.Dataset) else None)
        assert len(names) == 4
        for n in names:
            np.testing.assert_allclose(a[n][:], b[n][:], rtol=1e-5, atol=1e-6)
    # Training lowers the loss.
    assert np.mean([e["loss"] for e in log[-3:]]) < np.mean([e["loss"] for e in log[:3]])


def test_trained_weights_run(digits, tmp_path):
    """The saved parameters, under the name the model refers to, run through
    lathe.compile with a better accuracy than the initial ones."""
    import shutil
    for name in ("mlp.mlir", "w.h5", "train.h5"):
        shutil.copy(os.path.join(digits, name), tmp_path / name)
    with h5py.File(os.path.join(digits, "test.h5")) as f:
        x, labels = f["x"][:], f["labels"][:]
    before = float((lathe.compile(str(tmp_path / "mlp.mlir"))(x).argmax(1) == labels).mean())
    lathe.train(str(tmp_path / "mlp.mlir"), data=str(tmp_path / "train.h5"), epochs=3,
                save=str(tmp_path / "w.h5"), **{k: v for k, v in OPTIONS.items() if k != "steps"})
    after = float((lathe.compile(str(tmp_path / "mlp.mlir"))(x).argmax(1) == labels).mean())
    assert after > max(before, 0.8)


@pytest.mark.parametrize("options", [dict(loss="hinge"), dict(loss="cross-entropy", batch=0),
                                     dict(loss="cross-entropy", optimizer="lion")])
def test_train_errors(digits, options):
    model = os.path.join(digits, "mlp.mlir")
    data = os.path.join(digits, "train.h5")
    with pytest.raises(lathe.Error) as e:
        lathe.train(model, data=data, **options)
    p = subprocess.run([tool("lathe-train"), model, "--data=" + data] + flags(options), capture_output=True, text=True)
    assert p.returncode != 0
    assert "lathe-train: error: " + str(e.value) in p.stderr


def test_train_option_errors(digits):
    with pytest.raises(lathe.Error, match="unknown option 'learning_rate'"):
        lathe.train(os.path.join(digits, "mlp.mlir"), learning_rate=0.1)
    with pytest.raises(lathe.Error, match="needs the lathe-train tool"):
        lathe.train(os.path.join(digits, "mlp.mlir"), ranks=2)

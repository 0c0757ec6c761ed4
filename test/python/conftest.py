"""Fixtures of the Python package's tests (run by ctest as python/pytest).

Environment: PYTHONPATH=build/python; LATHE_BUILD_DIR (the build folder, for
lathe-run, lathe-train and lathe-import-onnx) and LATHE_EXAMPLES_DIR (what
scripts/gen_examples.py wrote; the ctest fixture `examples`) default to the
repository's build/ and build/examples.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LATHE_BUILD_DIR", os.path.join(REPO, "build"))
EXAMPLES = os.environ.get("LATHE_EXAMPLES_DIR", os.path.join(BUILD, "examples"))


def tool(name):
    return os.path.join(BUILD, "bin", name)


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory):
    """One compile cache for the session, shared with the tools it runs."""
    d = str(tmp_path_factory.mktemp("cache"))
    os.environ["LATHE_CACHE_DIR"] = d
    return d


@pytest.fixture(scope="session")
def examples():
    if not os.path.exists(os.path.join(EXAMPLES, "mlp", "mlp.mlir")):
        pytest.fail("no example models in %s: run scripts/gen_examples.py (ctest's setup/gen-examples)" % EXAMPLES)
    return EXAMPLES


@pytest.fixture(scope="session")
def digits(tmp_path_factory):
    """scripts/train/make_digits.py's data and ONNX models, and the MLP
    imported with its weights in an HDF5 file (as test/e2e/train-digits.test)."""
    d = str(tmp_path_factory.mktemp("digits"))
    subprocess.run([sys.executable, os.path.join(REPO, "scripts", "train", "make_digits.py"), d],
                   check=True, capture_output=True)
    subprocess.run([tool("lathe-import-onnx"), os.path.join(d, "mlp.onnx"), "--weights=" + os.path.join(d, "w.h5"),
                    "--all-float-weights", "-o", os.path.join(d, "mlp.mlir")], check=True)
    return d


def lathe_run(model, inputs, tmp_path, *flags, n_outputs=1):
    """Runs lathe-run on `inputs` (arrays, saved as .npy) and returns its
    outputs, or raises with its stderr."""
    args = [tool("lathe-run"), str(model)] + list(flags)
    for i, x in enumerate(inputs):
        path = os.path.join(str(tmp_path), "in%d.npy" % i)
        np.save(path, x)
        args.append("--input=" + path)
    outs = [os.path.join(str(tmp_path), "out%d.npy" % i) for i in range(n_outputs)]
    args += ["--output=" + p for p in outs]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    return [np.load(o) for o in outs]


def lathe_run_error(*args):
    """lathe-run's error message (its first 'lathe-run: error: ' line, without
    the prefix) for a run that must fail."""
    p = subprocess.run([tool("lathe-run")] + [str(a) for a in args], capture_output=True, text=True)
    assert p.returncode != 0, p.stdout
    for line in p.stderr.splitlines():
        if line.startswith("lathe-run: error: "):
            return line[len("lathe-run: error: "):]
    raise AssertionError("no error line in: " + p.stderr)


def close_to_reference(out, ref):
    """scripts/compare_npy.py's bound: |out - ref| <= 1e-4 (|ref| + 0.1 max|ref|)."""
    bound = 1e-4 * (np.abs(ref) + 0.1 * np.abs(ref).max())
    return bool(np.all(np.abs(out.astype(np.float64) - ref) <= bound))

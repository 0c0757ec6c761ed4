"""Failures raise lathe.Error (a RuntimeError) with lathe-run's messages; the
module stays usable after a failed call."""
import os

import numpy as np
import pytest

import lathe
from conftest import lathe_run_error


def message(excinfo):
    return str(excinfo.value)


def test_error_is_runtime_error():
    assert issubclass(lathe.Error, RuntimeError)


def test_bad_path(tmp_path):
    missing = str(tmp_path / "missing.mlir")
    with pytest.raises(lathe.Error) as e:
        lathe.compile(missing)
    assert message(e) == lathe_run_error(missing)
    with pytest.raises(TypeError):
        lathe.compile(42)


def test_bad_ir(tmp_path):
    bad = tmp_path / "bad.mlir"
    bad.write_text("func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {\n  return %y : tensor<4xf32>\n}\n")
    with pytest.raises(lathe.Error) as e:
        lathe.compile(str(bad))
    first, _, diagnostics = message(e).partition("\n")
    assert first == lathe_run_error(bad)
    assert "use of undeclared SSA value name" in diagnostics


@pytest.mark.parametrize("kwargs,flags", [
    (dict(backend="tpu"), ["--backend=tpu"]),
    (dict(precision="int4"), ["--precision=int4"]),
    (dict(options={"fast_math": "fastest"}), ["--fast-math=fastest"]),
    (dict(options={"pipeline": "quick"}), ["--pipeline=quick"]),
    (dict(options={"threads": 0}), ["--threads=0"]),
    (dict(options={"entry": "forward"}), ["--entry=forward"]),
    (dict(options={"target_cpu": "pentium9"}), ["--target-cpu=pentium9"]),
    (dict(target="/nonexistent/target.json"), ["--target=/nonexistent/target.json"]),
])
def test_bad_option_values(examples, tmp_path, kwargs, flags):
    """The same message as lathe-run's for the same flag."""
    model = os.path.join(examples, "mlp", "mlp.mlir")
    with pytest.raises(lathe.Error) as e:
        lathe.compile(model, **kwargs)
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 64), np.float32))
    # lathe-run also lists the CUDA backend when it is built; the Python API
    # runs on the CPU only.
    expected = lathe_run_error(model, "--input=%s" % x, "--no-cache", *flags)
    assert message(e) == expected.replace("(available: cpu, accel, cuda)", "(available: cpu, accel)")


def test_bad_option_names_and_types(examples):
    model = os.path.join(examples, "mlp", "mlp.mlir")
    with pytest.raises(lathe.Error, match="unknown option 'fastmath'"):
        lathe.compile(model, options={"fastmath": "none"})
    with pytest.raises(lathe.Error, match="option 'threads' expects a int"):
        lathe.compile(model, options={"threads": "2"})
    # Dashes as on the command line.
    assert lathe.compile(model, options={"fast-math": "none"}).report()["fast_math"] == "none"


@pytest.fixture(scope="module")
def mlp(examples):
    return lathe.compile(os.path.join(examples, "mlp", "mlp.mlir"))


def test_bad_shape(examples, mlp, tmp_path):
    x = np.zeros((3, 65), np.float32)
    with pytest.raises(lathe.Error) as e:
        mlp(x)
    np.save(tmp_path / "x.npy", x)
    tool = lathe_run_error(os.path.join(examples, "mlp", "mlp.mlir"), "--input=%s" % (tmp_path / "x.npy"))
    assert message(e) == "input #0 for argument #0 of @main: expected shape [?, 64] (tensor<?x64xf32>), got [3, 65]"
    assert tool.endswith(message(e).split("@main")[1])


def test_bad_dtype(examples, mlp, tmp_path):
    x = np.zeros((3, 64), np.float64)
    with pytest.raises(lathe.Error) as e:
        mlp(x)
    np.save(tmp_path / "x.npy", x)
    tool = lathe_run_error(os.path.join(examples, "mlp", "mlp.mlir"), "--input=%s" % (tmp_path / "x.npy"))
    assert message(e) == "input #0 for argument #0 of @main: expected dtype float32 (tensor<?x64xf32>), got float64"
    assert tool.endswith(message(e).split("@main")[1])
    with pytest.raises(lathe.Error, match="NumPy dtype complex64 is not one Lathe passes"):
        mlp(np.zeros((3, 64), np.complex64))


def test_bad_input_count(mlp):
    with pytest.raises(lathe.Error, match=r"missing input for argument #0 of @main \(expected tensor<\?x64xf32>\)"):
        mlp()
    x = np.zeros((1, 64), np.float32)
    with pytest.raises(lathe.Error, match=r"too many inputs: 2 given, but @main takes 1 argument\(s\)"):
        mlp(x, x)
    assert mlp(x).shape == (1, 10)


def test_failed_runtime_check(tmp_path):
    """A failed cf.assert in generated code is an exception; the module is
    still usable."""
    path = tmp_path / "assert.mlir"
    path.write_text("""
func.func @main(%x: tensor<?xf32>, %y: tensor<?xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %a = tensor.dim %x, %c0 : tensor<?xf32>
  %b = tensor.dim %y, %c0 : tensor<?xf32>
  %eq = arith.cmpi eq, %a, %b : index
  cf.assert %eq, "mismatched size for broadcast"
  %e = tensor.empty(%a) : tensor<?xf32>
  %r = linalg.add ins(%x, %y : tensor<?xf32>, tensor<?xf32>) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  return %r : tensor<?xf32>
}
""")
    m = lathe.compile(str(path))
    with pytest.raises(lathe.Error, match="mismatched size for broadcast"):
        m(np.ones(3, np.float32), np.ones(4, np.float32))
    np.testing.assert_array_equal(m(np.ones(3, np.float32), np.ones(3, np.float32)), [2, 2, 2])


@pytest.mark.parametrize("entry,python_names", [
    (lathe._native.compile_file, set(lathe._COMPILE_OPTIONS) | {"backend", "precision"}),
    (lathe._native.train, set(lathe._TRAIN_OPTIONS)),
])
def test_native_keyword_tables(entry, python_names):
    """The extension's keyword tables: an unknown keyword is an error that
    names it and lists the known ones, which are the Python side's."""
    with pytest.raises(lathe.Error) as e:
        entry("unused.mlir", {"bogus_option": 1})
    head, _, listed = message(e).partition(" (expected one of: ")
    assert head == "unknown option 'bogus_option'"
    names = listed.rstrip(")").split(", ")
    assert names == sorted(names)
    assert set(names) == python_names

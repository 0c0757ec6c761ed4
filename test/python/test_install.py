"""The package installs into a virtual environment from the repository
(python/setup.py over the built package) and works there, outside the build
tree."""
import os
import shutil
import subprocess
import sys

from conftest import BUILD, REPO


def test_pip_install_into_venv(examples, tmp_path):
    venv = tmp_path / "venv"
    # Debian's NumPy from the system; no network: no build isolation, no index.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    source = tmp_path / "src"
    shutil.copytree(os.path.join(REPO, "python"), source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    env = dict(os.environ, LATHE_BUILD_DIR=BUILD)
    env.pop("PYTHONPATH", None)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-build-isolation", "--no-index", str(source)],
                   check=True, env=env, capture_output=True)
    script = ("import lathe, numpy as np, sys; m = lathe.compile(sys.argv[1]); "
              "print(lathe.__file__); print(m(np.load(sys.argv[2])).shape)")
    p = subprocess.run([str(venv / "bin" / "python"), "-c", script, os.path.join(examples, "mlp", "mlp.mlir"),
                        os.path.join(examples, "mlp", "x1.npy")],
                       check=True, env=env, cwd=str(tmp_path), capture_output=True, text=True)
    where, shape = p.stdout.split("\n")[:2]
    assert where.startswith(str(venv))
    assert shape == "(4, 10)"

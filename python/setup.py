"""Installs the `lathe` package that the CMake build assembled.

Build Lathe first (scripts/build.sh): the package, its extension and the
runtime library are in build/python/lathe. Then, into a virtual environment:

    python3 -m venv --system-site-packages .venv   # Debian's NumPy (and PyTorch)
    .venv/bin/pip install --no-build-isolation ./python

LATHE_BUILD_DIR names another build folder. See docs/Python.md.
"""
import glob
import os
import shutil

from setuptools import setup
from setuptools.dist import Distribution

here = os.path.dirname(os.path.abspath(__file__))
build = os.path.abspath(os.environ.get("LATHE_BUILD_DIR", os.path.join(here, "..", "build")))
built = os.path.join(build, "python", "lathe")
if not glob.glob(os.path.join(built, "_lathe*.so")):
    raise SystemExit("setup.py: no built extension in %s: build Lathe first (scripts/build.sh), "
                     "or set LATHE_BUILD_DIR to the build folder" % built)

# setuptools wants the package under this folder: a copy of the built one.
staged = os.path.join(here, "build", "package", "lathe")
shutil.rmtree(staged, ignore_errors=True)
shutil.copytree(built, staged, ignore=shutil.ignore_patterns("__pycache__"))


class BinaryDistribution(Distribution):
    """Platform-specific: the package holds compiled libraries."""

    def has_ext_modules(self):
        return True


setup(
    name="lathe",
    version="0.1.dev0",
    description="Lathe: an MLIR compiler for ML models, from Python",
    packages=["lathe"],
    package_dir={"lathe": os.path.relpath(staged, here)},
    package_data={"lathe": ["*.so"]},
    install_requires=["numpy"],
    python_requires=">=3.9",
    distclass=BinaryDistribution,
    zip_safe=False,
)

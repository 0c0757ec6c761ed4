"""Every ```python block of docs/Python.md runs (in a folder where examples/
and digits/ are what the docs say they are)."""
import os
import re
import subprocess
import sys

import pytest

import lathe

from conftest import REPO, tool

DOC = os.path.join(REPO, "docs", "Python.md")
BLOCKS = re.findall(r"```python\n(.*?)```", open(DOC).read(), re.S)


def test_docs_have_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_doc_example(index, examples, digits, tmp_path):
    os.symlink(examples, tmp_path / "examples")
    os.symlink(digits, tmp_path / "digits")
    if "encoder.lathe" in BLOCKS[index]:
        subprocess.run([tool("lathe-compile"), os.path.join(examples, "transformer", "encoder_b1.mlir"), "-o",
                        str(tmp_path / "encoder.lathe")], check=True, capture_output=True)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(lathe.__file__))))
    p = subprocess.run([sys.executable, "-c", BLOCKS[index]], cwd=str(tmp_path), env=env, capture_output=True,
                       text=True)
    assert p.returncode == 0, "docs/Python.md example %d failed:\n%s\n%s" % (index, BLOCKS[index], p.stderr)

"""Runs every example of a Markdown page, in order, in one scratch folder.

A fenced block whose info string is `sh` runs under `bash -euo pipefail`; one
that is `python` runs under the Python that runs this script; `cpp` blocks
with a first line `// file: NAME` are written to NAME (for a later `sh` block
to build). Blocks marked otherwise (`text`, `console`, `mlir`, `json`) are
illustrations and are not run. The tools come first on PATH, the package on
PYTHONPATH, the repository's examples are in $LATHE_EXAMPLES, and the build
folder is $LATHE_BUILD. Any block that fails fails the page, with its text.

usage: run_doc_examples.py PAGE.md BUILD_DIR SCRATCH_DIR
"""
import os
import re
import shutil
import subprocess
import sys

page, build, scratch = sys.argv[1:4]
text = open(page).read()
blocks = re.findall(r"^```([a-z+]*)[^\n]*\n(.*?)^```", text, re.S | re.M)
shutil.rmtree(scratch, ignore_errors=True)
os.makedirs(scratch)
env = dict(os.environ)
env["PATH"] = os.path.join(build, "bin") + os.pathsep + env.get("PATH", "")
env["PYTHONPATH"] = os.path.join(build, "python") + (
    os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
env["LATHE_BUILD"] = build
env["LATHE_EXAMPLES"] = os.path.join(build, "examples")
env.setdefault("LATHE_CACHE_DIR", os.path.join(scratch, ".cache"))
ran = 0
for index, (kind, body) in enumerate(blocks):
    if kind == "cpp":
        first = body.splitlines()[0] if body else ""
        m = re.match(r"//\s*file:\s*(\S+)", first)
        if m:
            with open(os.path.join(scratch, m.group(1)), "w") as f:
                f.write(body)
        continue
    if kind == "sh":
        cmd = ["bash", "-euo", "pipefail", "-c", body]
    elif kind == "python":
        cmd = [sys.executable, "-c", body]
    else:
        continue
    ran += 1
    r = subprocess.run(cmd, cwd=scratch, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=600)
    if r.returncode != 0:
        sys.stderr.write("%s: example %d (%s) failed with status %d:\n%s\n"
                         "--- its output ---\n%s\n" %
                         (page, index + 1, kind, r.returncode, body,
                          r.stdout[-4000:]))
        sys.exit(1)
print("%s: %d examples ran" % (os.path.basename(page), ran))

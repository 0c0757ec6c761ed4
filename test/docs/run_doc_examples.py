"""Runs every example of a Markdown page, in order, in one scratch folder.

A fenced block whose info string is `sh` runs under `bash -euo pipefail`; one
that is `python` runs under the Python that runs this script; a `cpp` block
whose first line is `// file: NAME` is written to NAME (for a later `sh` block
to build). Blocks marked otherwise (`text`, `console`, `mlir`, `json`, `c`, or
none) are illustrations and are not run. The scratch folder looks like the
repository root: `build`, `scripts`, `test`, `examples`, `python` and
`configs` are links to the real ones, so examples are written as a user types
them there; the tools are also on PATH and the package on PYTHONPATH. Any
block that fails fails the page, with its text and output.

usage: run_doc_examples.py PAGE.md SOURCE_DIR BUILD_DIR SCRATCH_DIR
"""
import os
import re
import shutil
import subprocess
import sys

page, source, build, scratch = sys.argv[1:5]
text = open(page).read()
blocks = re.findall(r"^```([a-z+]*)[^\n]*\n(.*?)^```", text, re.S | re.M)
shutil.rmtree(scratch, ignore_errors=True)
os.makedirs(scratch)
os.symlink(os.path.abspath(build), os.path.join(scratch, "build"))
for name in ("scripts", "test", "examples", "python", "configs"):
    if os.path.exists(os.path.join(source, name)):
        os.symlink(os.path.abspath(os.path.join(source, name)),
                   os.path.join(scratch, name))
env = dict(os.environ)
env["PATH"] = os.path.join(os.path.abspath(build), "bin") + os.pathsep + \
    env.get("PATH", "")
env["PYTHONPATH"] = os.path.join(os.path.abspath(build), "python") + (
    os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
env["LATHE_CACHE_DIR"] = os.path.join(scratch, ".cache")
# Pages may also name the folders through these.
env["LATHE_BUILD"] = os.path.abspath(build)
env["LATHE_EXAMPLES"] = os.path.join(os.path.abspath(build), "examples")
ran = 0
for index, (kind, body) in enumerate(blocks):
    if kind == "cpp":
        m = re.match(r"//\s*file:\s*(\S+)", body)
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
                       stderr=subprocess.STDOUT, text=True, timeout=900)
    if r.returncode != 0:
        sys.stderr.write("%s: example %d (%s) failed with status %d:\n%s\n"
                         "--- its output ---\n%s\n" %
                         (page, index + 1, kind, r.returncode, body,
                          r.stdout[-4000:]))
        sys.exit(1)
if ran == 0:
    sys.exit("%s: no examples found" % page)
print("%s: %d examples ran" % (os.path.basename(page), ran))

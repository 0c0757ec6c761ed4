"""Runs every example of a Markdown page, in order, in one scratch folder.

Every fenced block of a page must say what it is (its info string); a block
without one, or of an unknown kind, fails the page, so nothing is skipped
silently:

  sh, bash   run under `bash -euo pipefail`.
  console    lines starting with `$ ` are commands (run in order, as one
             script); the other lines are their output, checked as `text`
             blocks marked `output` are (below).
  python     run under the Python that runs this script (Debian's
             /usr/bin/python3, the `python3` of the examples' PATH too).
  mlir       parsed and verified by `lathe-opt`; a block with `// RUN:` lines
             is a lit test and runs as one (below). A first line
             `// file: NAME` also writes the block to NAME.
  lit        a lit test file (`RUN:` lines, FileCheck directives), run as lit
             would: `%s` is the block, `%t` a temporary path, `%S` the scratch
             folder (or the `lit-dir` marker's folder), `%python`, `%scripts`,
             `%examples`, `%lathe_src` as in test/lit.cfg.py.
  cpp, c     must start with `// file: NAME`: written to NAME for a later
             block to build.
  json       must parse as JSON; with an `output-of` marker, every key it
             shows (through nested objects) must be in the JSON the command
             prints on stdout (values are not compared; stderr is apart).
  text       output or an illustration (a diagram, a usage synopsis, recorded
             benchmark numbers): not run. Marked `output` (or `output-of`), its
             lines must appear, in order, in what the last example printed (or
             what the marker's command prints): numbers match any number and
             `...` anything, so the structure is checked, not the values.

Markers are HTML comments on the lines right before a block's fence (one per
line; a marker anywhere else fails the page):

  <!-- doc-test: skip REASON -->          not run; listed with its reason.
  <!-- doc-test: requires FEATURE -->     run only where the lit feature is
                                           available (`--features=`), else listed.

A `sh` block that does not run is still checked (check_held): every command's
program is on PATH or is a file of the repository or build (executable when
run directly; a script given to bash or python must exist), and every flag
given to a Lathe tool (`lathe-*`: listed by its `--help-hidden`), to a
repository Python script that uses argparse (listed by its `--help`) or to
another repository script (named in its text) is one that tool accepts, so a
renamed flag or script fails the page even where the block cannot run.
  <!-- doc-test: setup NAME ARGS -->      run the named set-up (SETUPS below)
                                           first: data files the example reads.
  <!-- doc-test: output -->               (text) check against the output of
                                           the last example that ran.
  <!-- doc-test: output-of COMMAND -->    (text, json) run COMMAND (bash) and
                                           check against its output.
  <!-- doc-test: lit-dir DIR -->          (lit, mlir) `%S` is SOURCE_DIR/DIR.

The scratch folder looks like the repository root: `build`, `scripts`, `test`,
`examples`, `configs`, `bench` and `docs` are links to the real ones (`python`
a copy, since installing it writes beside it),
so examples are written as a user types them there; the tools are also on PATH
and the package on PYTHONPATH. Any example that fails fails the page, with its
text and output.

usage: run_doc_examples.py PAGE.md SOURCE_DIR BUILD_DIR SCRATCH_DIR [--features=a,b]
       run_doc_examples.py --check-coverage SOURCE_DIR TEST_DIR
         (every docs/**/*.md page and README.md is named by a test in TEST_DIR)
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys


def fail(message):
    sys.stderr.write(message.rstrip() + "\n")
    sys.exit(1)


def check_coverage(source, test_dir):
    pages = sorted(
        os.path.relpath(p, source)
        for p in glob.glob(os.path.join(source, "docs", "**", "*.md"),
                           recursive=True))
    pages.append("README.md")
    named = ""
    for test in glob.glob(os.path.join(test_dir, "*.test")):
        named += "\n".join(line for line in open(test) if "RUN:" in line)
    missing = [p for p in pages if "%lathe_src/" + p + " " not in named]
    if missing:
        fail("pages no test in %s runs (add a RUN line of run_doc_examples.py "
             "for each):\n  %s" % (test_dir, "\n  ".join(missing)))
    print("docs coverage: %d pages, every one run by a test" % len(pages))
    # The blocks that do not run here, in one list.
    held = []
    for p in pages:
        for kind, _, line, markers in parse(os.path.join(source, p)):
            for key, value in markers:
                if key in ("skip", "requires"):
                    held.append("  %s:%d (%s): %s%s" % (
                        p, line, kind, "requires " if key == "requires" else "",
                        value))
    print("%d blocks are not run here (doc-test: skip or requires):" % len(held))
    print("\n".join(held))


FENCE = re.compile(r"^(\s*)(```+)\s*([^\s`]*)[^`]*$")
MARKER = re.compile(r"^\s*<!--\s*doc-test:\s*(\S+)\s*(.*?)\s*-->\s*$")


def parse(page):
    """Returns [(kind, body, line, markers)]; fails on a stray marker."""
    lines = open(page).read().split("\n")
    blocks, pending, i = [], [], 0
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line)
        if m:
            pending.append((m.group(1), m.group(2), i + 1))
            i += 1
            continue
        f = FENCE.match(line)
        if f:
            indent, ticks, kind = f.group(1), f.group(2), f.group(3)
            body, j = [], i + 1
            while j < len(lines) and not re.match(
                    r"^\s*" + ticks + r"\s*$", lines[j]):
                body.append(lines[j][len(indent):]
                            if lines[j].startswith(indent) else lines[j])
                j += 1
            if j == len(lines):
                fail("%s:%d: the block is not closed" % (page, i + 1))
            blocks.append((kind, "\n".join(body) + "\n", i + 1,
                           [(k, v) for k, v, _ in pending]))
            pending = []
            i = j + 1
            continue
        if pending:
            fail("%s:%d: doc-test marker not right before a block" %
                 (page, pending[0][2]))
        i += 1
    if pending:
        fail("%s:%d: doc-test marker not right before a block" %
             (page, pending[0][2]))
    return blocks


NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def line_pattern(line):
    """A regex for one expected output line: numbers match any number."""
    parts = []
    for piece in re.split(r"(\.\.\.)", line.strip()):
        if piece == "...":
            parts.append(".*")
            continue
        pos = 0
        for m in NUMBER.finditer(piece):
            parts.append(re.escape(piece[pos:m.start()]))
            parts.append(r"[-+]?(?:\d+\.?\d*|\.\d+|nan|inf)(?:[eE][-+]?\d+)?")
            pos = m.end()
        parts.append(re.escape(piece[pos:]))
    return re.compile("".join(parts))


def check_output(expected, output):
    """The missing expected line, or None when all appear in order."""
    out = output.split("\n")
    at = 0
    for line in expected:
        if not line.strip():
            continue
        pattern = line_pattern(line)
        while at < len(out) and not pattern.search(out[at]):
            at += 1
        if at == len(out):
            return line
        at += 1
    return None


def missing_keys(shown, real, path):
    """The keys of `shown` (recursively, through objects) that `real` lacks."""
    if not isinstance(shown, dict):
        return []
    if not isinstance(real, dict):
        return [path or "(top)"]
    missing = []
    for key, value in shown.items():
        if key not in real:
            missing.append(path + key)
        else:
            missing += missing_keys(value, real[key], path + key + ".")
    return missing


def main():
    if sys.argv[1] == "--check-coverage":
        check_coverage(sys.argv[2], sys.argv[3])
        return
    args = [a for a in sys.argv[1:] if not a.startswith("--features=")]
    features = set()
    for a in sys.argv[1:]:
        if a.startswith("--features="):
            features.update(f for f in a.split("=", 1)[1].split(",") if f)
    page, source, build, scratch = args[:4]
    source, build = os.path.abspath(source), os.path.abspath(build)
    name = os.path.relpath(os.path.abspath(page), source)
    blocks = parse(page)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    scratch = os.path.abspath(scratch)
    os.symlink(build, os.path.join(scratch, "build"))
    for d in ("scripts", "test", "examples", "configs", "bench", "docs"):
        if os.path.exists(os.path.join(source, d)):
            os.symlink(os.path.join(source, d), os.path.join(scratch, d))
    # A copy: `pip install ./python` writes build/ and *.egg-info beside it.
    if os.path.exists(os.path.join(source, "python")):
        shutil.copytree(os.path.join(source, "python"),
                        os.path.join(scratch, "python"),
                        ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                      "__pycache__"))
    shim = os.path.join(scratch, ".bin")
    os.makedirs(shim)
    os.symlink(sys.executable, os.path.join(shim, "python3"))
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(
        [shim, os.path.join(build, "bin"), env.get("PATH", "")])
    # FileCheck and not for lit blocks: on lit's PATH already; run by hand,
    # from the LLVM the build used.
    cache = os.path.join(build, "CMakeCache.txt")
    if not shutil.which("FileCheck", path=env["PATH"]) and os.path.exists(cache):
        m = re.search(r"^LLVM_EXTERNAL_LIT:\w+=(.*)$", open(cache).read(), re.M)
        if m:
            env["PATH"] += os.pathsep + os.path.dirname(m.group(1))
    env["PYTHONPATH"] = os.path.join(build, "python") + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["LATHE_CACHE_DIR"] = os.path.join(scratch, ".cache")
    # Pages may also name the folders through these.
    env["LATHE_BUILD"] = build
    env["LATHE_EXAMPLES"] = os.path.join(build, "examples")
    env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"

    def run(cmd, what, stdout_only=False):
        """The command's output, stderr included unless `stdout_only` (JSON
        on stdout: a tool's progress lines on stderr, which appear only when
        a run is slow, e.g. on a loaded machine, must not break it)."""
        r = subprocess.run(cmd, cwd=scratch, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE if stdout_only else
                           subprocess.STDOUT, text=True, timeout=900)
        if r.returncode != 0:
            fail("%s: %s failed with status %d:\n%s\n--- its output ---\n%s%s" %
                 (name, what, r.returncode,
                  cmd[-1] if isinstance(cmd, list) else cmd,
                  r.stdout[-6000:], r.stderr[-6000:] if stdout_only else ""))
        return r.stdout

    def run_lit(body, where, lit_dir):
        path = os.path.join(scratch, "doc-%d.test" % where)
        with open(path, "w") as f:
            f.write(body)
        subst = [
            ("%python", sys.executable),
            ("%scripts", os.path.join(source, "scripts")),
            ("%examples", os.path.join(build, "examples")),
            ("%lathe_src", source),
            ("%shared_data",
             os.path.join(os.path.dirname(source), "shared", "data")),
            ("%s", path),
            ("%S", lit_dir or scratch),
            ("%t", os.path.join(scratch, "doc-%d.tmp" % where)),
        ]
        commands, current = [], ""
        for line in body.split("\n"):
            m = re.search(r"\bRUN:(.*)$", line)
            if not m:
                continue
            part = m.group(1).rstrip()
            if part.endswith("\\"):
                current += part[:-1] + " "
                continue
            commands.append(current + part)
            current = ""
        if not commands:
            fail("%s:%d: a lit block without RUN lines" % (name, where))
        out = ""
        for c in commands:
            for key, value in subst:
                c = c.replace(key, value)
            out += run(["bash", "-o", "pipefail", "-c", c],
                       "the lit block at line %d" % where)
        return out

    ran, checked, skipped, last_output = 0, 0, [], ""
    help_cache = {}
    for kind, body, line, markers in blocks:
        where = "%s:%d" % (name, line)
        marks = dict(markers)
        for key in marks:
            if key not in ("skip", "requires", "setup", "output", "output-of",
                           "lit-dir"):
                fail("%s: unknown doc-test marker '%s'" % (where, key))
        if kind not in ("sh", "bash", "console", "python", "mlir", "lit",
                        "cpp", "c", "json", "text"):
            fail("%s: a block %s: mark it sh, console, python, mlir, lit, "
                 "cpp, json or text (output, diagrams, synopses), and give "
                 "it a doc-test marker if it cannot run here" %
                 (where, "without an info string" if not kind else
                  "of unknown kind '%s'" % kind))
        if "skip" in marks:
            if not marks["skip"]:
                fail("%s: `doc-test: skip` needs a reason" % where)
            check_held(kind, body, where, scratch, env, help_cache)
            skipped.append("%s (%s): %s" % (where, kind, marks["skip"]))
            continue
        if "requires" in marks and marks["requires"] not in features:
            check_held(kind, body, where, scratch, env, help_cache)
            skipped.append("%s (%s): requires %s" %
                           (where, kind, marks["requires"]))
            continue
        for key, value in markers:
            if key == "setup":
                setup(value, scratch, source, build, env, run, where)
        file_line = re.match(r"//\s*file:\s*(\S+)", body)
        if file_line:
            with open(os.path.join(scratch, file_line.group(1)), "w") as f:
                f.write(body)
        if kind in ("cpp", "c"):
            if not file_line:
                fail("%s: a %s block must start with `// file: NAME` (a "
                     "later sh block builds it)" % (where, kind))
            continue
        if kind == "json":
            try:
                shown = json.loads(body)
            except ValueError as e:
                fail("%s: the json block does not parse: %s" % (where, e))
            if "output-of" in marks:
                out = run(["bash", "-euo", "pipefail", "-c", marks["output-of"]],
                          "the output-of command at %s" % where,
                          stdout_only=True)
                try:
                    real = json.loads(out)
                except ValueError as e:
                    fail("%s: the output-of command did not print JSON: %s\n%s"
                         % (where, e, out[-3000:]))
                missing = missing_keys(shown, real, "")
                if missing:
                    fail("%s: the JSON shown has keys the command's JSON lacks:"
                         " %s\n--- it printed ---\n%s" %
                         (where, ", ".join(missing), out[-6000:]))
            checked += 1
            continue
        if kind == "text":
            if "output" in marks or "output-of" in marks:
                if "output-of" in marks:
                    last_output = run(["bash", "-euo", "pipefail", "-c",
                                       marks["output-of"]],
                                      "the output-of command at %s" % where)
                missing = check_output(body.split("\n"), last_output)
                if missing is not None:
                    fail("%s: the output shown is not what the example "
                         "printed; no line like\n  %s\n--- it printed ---\n%s"
                         % (where, missing.strip(), last_output[-6000:]))
                checked += 1
            continue
        ran += 1
        what = "example at line %d (%s)" % (line, kind)
        if kind in ("sh", "bash"):
            last_output = run(["bash", "-euo", "pipefail", "-c", body], what)
        elif kind == "python":
            last_output = run([sys.executable, "-c", body], what)
        elif kind == "console":
            commands = [l[2:] for l in body.split("\n") if l.startswith("$ ")]
            if not commands:
                fail("%s: a console block without `$ ` commands" % where)
            last_output = run(["bash", "-euo", "pipefail", "-c",
                               "\n".join(commands)], what)
            checked += 1
            missing = check_output(
                [l for l in body.split("\n") if not l.startswith("$ ")],
                last_output)
            if missing is not None:
                fail("%s: the console output shown is not what the commands "
                     "printed; no line like\n  %s\n--- they printed ---\n%s" %
                     (where, missing.strip(), last_output[-6000:]))
        elif kind == "lit" or (kind == "mlir" and re.search(r"\bRUN:", body)):
            lit_dir = marks.get("lit-dir")
            last_output = run_lit(
                body, line, os.path.join(source, lit_dir) if lit_dir else None)
        else:  # mlir: parse and verify
            path = os.path.join(scratch, "doc-%d.mlir" % line)
            with open(path, "w") as f:
                f.write(body)
            last_output = run([os.path.join(build, "bin", "lathe-opt"), path,
                               "-o", os.devnull], what + ": lathe-opt")
    print("%s: %d examples ran, %d outputs checked, %d skipped, %d blocks in all"
          % (os.path.basename(page), ran, checked, len(skipped), len(blocks)))
    for s in skipped:
        print("  skipped %s" % s)


SHELL_BUILTINS = {"export", "cd", "set", "unset", "source", ".", "echo",
                  "true", "false", "exit"}
PYTHONS = {"python", "python3", "/usr/bin/python3"}
FLAG = re.compile(r"^(--?[A-Za-z][\w-]*)")


def held_commands(body):
    """The simple commands of a shell block, as word lists: continuation
    lines joined, comments dropped, split at `&&`, `||`, `;` and `|`, leading
    `NAME=value` assignments removed."""
    import shlex
    text = re.sub(r"\\\n", " ", body)
    commands = []
    for line in text.split("\n"):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = []
        for word in list(lexer) + [";"]:
            if word and set(word) <= set(";&|"):
                while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
                    words.pop(0)
                if words:
                    commands.append(words)
                words = []
            else:
                words.append(word)
    return commands


def accepted_flags(command, env, cwd):
    """The flags listed by `command` (a help invocation), without dashes."""
    r = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    flags = set()
    for line in r.stdout.split("\n"):
        for word in re.split(r"[\s,]+", line.strip()):
            m = FLAG.match(word)
            if m:
                flags.add(m.group(1).lstrip("-"))
    return flags


def check_held(kind, body, where, scratch, env, help_cache):
    """Checks a block that does not run (see the module docstring)."""
    if kind not in ("sh", "bash"):
        return
    for words in held_commands(body):
        prog, args = words[0], words[1:]
        what = "%s: a command of the block that does not run here, '%s'" % (
            where, " ".join(words))
        if prog in SHELL_BUILTINS:
            continue
        script = None
        if prog in ("bash", "sh") or prog in PYTHONS:
            if prog in PYTHONS and not os.path.isabs(prog) and not \
                    shutil.which(prog, path=env["PATH"]):
                fail("%s: '%s' is not on PATH" % (what, prog))
            if {"-c", "-m"} & set(args):
                continue  # Inline code or a module: nothing to look up.
            positional = [a for a in args if not a.startswith("-")]
            if not positional:
                continue  # An interactive shell or interpreter.
            script = os.path.join(scratch, positional[0])
            if not os.path.isfile(script):
                fail("%s: no script '%s'" % (what, positional[0]))
            args = args[args.index(positional[0]) + 1:]
            key = script
            if prog in PYTHONS and "argparse" in open(script).read():
                listing = [sys.executable, script, "--help"]
            else:
                listing = None
        elif "/" in prog:
            path = os.path.join(scratch, prog)
            if not os.path.isfile(path) or not os.access(path, os.X_OK):
                fail("%s: '%s' is not an executable file" % (what, prog))
            key, listing = path, [path, "--help-hidden"]
            if not os.path.basename(prog).startswith("lathe-"):
                continue  # Not Lathe's: its flags are not ours to check.
        else:
            path = shutil.which(prog, path=env["PATH"])
            if not path:
                fail("%s: '%s' is not on PATH" % (what, prog))
            if not prog.startswith("lathe-"):
                continue
            key, listing = path, [path, "--help-hidden"]
        flags = [FLAG.match(a).group(1) for a in args if FLAG.match(a)]
        if not flags:
            continue
        if key not in help_cache:
            if listing:
                help_cache[key] = accepted_flags(listing, env, scratch)
            else:
                text = open(script).read()
                help_cache[key] = {
                    f.lstrip("-") for f in flags if re.search(
                        r"(?<![\w-])" + re.escape(f) + r"(?![\w-])", text)}
        for f in flags:
            if f.lstrip("-") not in help_cache[key]:
                fail("%s: %s does not accept %s (not in %s)" % (
                    what, os.path.relpath(key, scratch)
                    if key.startswith(scratch) else key, f,
                    listing[-1] if listing else "its text"))


def setup(spec, scratch, source, build, env, run, where):
    """The named set-ups of `<!-- doc-test: setup NAME ARGS -->`."""
    words = spec.split()
    what, args = words[0], words[1:]
    if what == "npy":
        # npy NAME.npy=4x8[:int64] ...: seeded random arrays (int64: class
        # labels in [0, 10)).
        code = ["import numpy as np", "r = np.random.RandomState(0)"]
        for a in args:
            path, shape = a.split("=")
            dims, _, dtype = shape.partition(":")
            dims = tuple(int(d) for d in dims.split("x")) if dims else ()
            if dtype == "int64":
                code.append("np.save(%r, r.randint(0, 10, %r).astype(np.int64))"
                            % (path, dims))
            else:
                code.append("np.save(%r, r.randn(*%r).astype(np.float32))" %
                            (path, dims))
        run([sys.executable, "-c", "\n".join(code)], "set-up at " + where)
    elif what == "digits-h5":
        # digits-h5 [INPUT]: train.h5 / val.h5 from scikit-learn's digits, the
        # pixels under INPUT (default `x`) and `labels`, as lathe-train reads.
        name = args[0] if args else "x"
        run([sys.executable, "-c", """
import h5py, numpy as np
from sklearn.datasets import load_digits
d = load_digits()
x = (d.data / 16.0).astype(np.float32); y = d.target.astype(np.int64)
for path, sl in (("train.h5", slice(0, 1437)), ("val.h5", slice(1437, None))):
    with h5py.File(path, "w") as f:
        f[%r] = x[sl]; f["labels"] = y[sl]
""" % name], "set-up at " + where)
    elif what == "digits-onnx":
        # digits-onnx: model.onnx, a digits MLP (64-32-10, input `x`, batch
        # dynamic) exported by PyTorch for training (docs/Training.md).
        run([sys.executable, "-c", """
import torch
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
torch.onnx.export(m, torch.randn(1, 64), "model.onnx", input_names=["x"],
                  dynamic_axes={"x": {0: "n"}}, training=torch.onnx.TrainingMode.PRESERVE,
                  do_constant_folding=False)
"""], "set-up at " + where)
    elif what == "copy":
        # copy SRC DEST: SRC relative to the scratch folder (build/... works).
        shutil.copy(os.path.join(scratch, args[0]),
                    os.path.join(scratch, args[1]))
    elif what == "sh":
        run(["bash", "-euo", "pipefail", "-c", " ".join(args)],
            "set-up at " + where)
    else:
        fail("%s: unknown set-up '%s'" % (where, what))


if __name__ == "__main__":
    main()

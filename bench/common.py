"""Shared helpers for Lathe's benchmarks (bench/cpu and later ones).

Everything here runs with Debian's /usr/bin/python3 (numpy, torch 1.13, h5py). Paths are
relative to the repository root, which is found from this file's location, so a benchmark
can be started from anywhere; the convention is `/usr/bin/python3 bench/NAME` from the root.
"""
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(ROOT, "scripts")
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)

# The tolerance of scripts/compare_npy.py: |out - ref| <= RTOL * (|ref| + FLOOR * max|ref|).
RTOL = 1e-4
FLOOR = 0.1


class BenchError(Exception):
    """A step of a benchmark failed; the message says which and why."""


# A typed decision's fields: `key = "string"`, an integer, a float at six significant digits,
# or a non-finite float as its bits (0x7FF0000000000000).
_DECISION_FIELD = re.compile(r'(\w+) = ("(?:[^"\\]|\\.)*"|0x[0-9A-Fa-f]+|[-+0-9.eE]+)')


def parse_decision(text, dialect):
    """The first `lathe.decision = #DIALECT.decision<...>` in `text` (lathe-opt output): its
    text and a dict of its fields (strings unquoted, numbers as float), or (None, None) when
    there is none."""
    m = re.search(r"lathe\.decision = #" + re.escape(dialect)
                  + r'\.decision<((?:"(?:[^"\\]|\\.)*"|[^">])*)>', text)
    if not m:
        return None, None
    fields = {}
    for key, value in _DECISION_FIELD.findall(m.group(1)):
        if value.startswith('"'):
            fields[key] = value[1:-1]
        elif value.lower().startswith("0x"):
            fields[key] = struct.unpack("<d", int(value, 16).to_bytes(8, "little"))[0]
        else:
            fields[key] = float(value)
    return m.group(1), fields


def build_dir():
    """The build folder: $LATHE_BUILD_DIR, else <root>/build."""
    return os.environ.get("LATHE_BUILD_DIR", os.path.join(ROOT, "build"))


def tool(name):
    path = os.path.join(build_dir(), "bin", name)
    if not os.access(path, os.X_OK):
        raise BenchError(f"{path} not found: build first "
                         "(cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build)")
    return path


def examples_dir(tmp):
    """<build>/examples (or <root>/build/examples) if gen_examples.py already wrote it, else
    generate into `tmp`."""
    for d in (os.path.join(build_dir(), "examples"), os.path.join(ROOT, "build", "examples")):
        if os.path.exists(os.path.join(d, "transformer", "encoder_b8.mlir")) and \
                os.path.exists(os.path.join(d, "mlp", "mlp.mlir")):
            return d
    d = os.path.join(tmp, "examples")
    print(f"(generating the examples into {d})", flush=True)
    subprocess.run([sys.executable, os.path.join(SCRIPTS, "gen_examples.py"), d], check=True,
                   stdout=subprocess.DEVNULL)
    return d


def within_tolerance(out, ref):
    """(ok, max abs error) under compare_npy.py's rule."""
    out = np.asarray(out, np.float64)
    ref = np.asarray(ref, np.float64)
    if out.shape != ref.shape:
        return False, float("inf")
    err = np.abs(out - ref)
    bound = RTOL * (np.abs(ref) + FLOOR * np.abs(ref).max())
    return bool(np.all(err <= bound)), float(err.max())


# ------------------------------------------------------------------------------------------
# Virtual environments with PyPI peers (bench/peers, bench/realmodels)
# ------------------------------------------------------------------------------------------
def _sh(cmd, timeout):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def _last_line(text):
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[-1].strip()[:160] if lines else ""


def ensure_venv(root, packages, probe, log=print):
    """The virtual environment `root` with `packages` from PyPI: reused when its python runs
    `probe` (an import line), else created with the first interpreter that has venv and
    ensurepip, and `pip install --upgrade packages` run in it. Returns root."""
    py = os.path.join(root, "bin", "python")

    def ok():
        return os.access(py, os.X_OK) and _sh([py, "-c", probe], 120).returncode == 0
    if ok():
        log(f"peers: reusing the virtual environment {root}")
        return root
    t0 = time.time()
    if not os.access(py, os.X_OK):
        candidates = [sys.executable, "/usr/bin/python3", shutil.which("python3"),
                      shutil.which("python3.11"), shutil.which("python3.12"), shutil.which("python")]
        interp = next((c for c in candidates if c and os.access(c, os.X_OK) and
                       _sh([c, "-c", "import venv, ensurepip"], 60).returncode == 0), None)
        if interp is None:
            raise BenchError("no Python with the venv and ensurepip modules (Debian: apt-get "
                             "install python3-venv)")
        log(f"peers: creating the virtual environment {root} with {interp} (one time)")
        p = _sh([interp, "-m", "venv", root], 300)
        if p.returncode != 0:
            raise BenchError(f"python -m venv {root} failed: {_last_line(p.stderr)}")
    log(f"peers: pip install {' '.join(packages)} into {root} (one time)")
    p = _sh([py, "-m", "pip", "install", "--upgrade"] + list(packages), 1200)
    if p.returncode != 0 or not ok():
        raise BenchError(f"pip install into {root} failed:\n{p.stdout[-1500:]}{p.stderr[-1500:]}")
    log(f"peers: virtual environment ready in {time.time() - t0:.0f} s")
    return root


# ------------------------------------------------------------------------------------------
# lathe-run
# ------------------------------------------------------------------------------------------
def run_lathe(mlir, tmp, tag, inputs=(), repeat=10, pipeline=None, fill_missing=False,
              output=None, env=None, extra=(), timeout=600):
    """Runs lathe-run once; returns (report dict, its stdout + stderr text).

    The report is lathe-run's own --report JSON: latency_ms {min, median} over `repeat`
    timed calls after one warm-up, compile_ms, flops, peak_memory_bytes and
    kernels {kind: {ms, calls}} per call."""
    report = os.path.join(tmp, f"{tag}.report.json")
    cmd = [tool("lathe-run"), mlir, f"--repeat={repeat}", f"--report={report}"]
    cmd += [f"--input={i}" for i in inputs]
    if output:
        cmd.append(f"--output={output}")
    if pipeline:
        cmd.append(f"--pipeline={pipeline}")
    if fill_missing:
        cmd.append("--fill-missing")
    cmd += list(extra)
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=full_env, timeout=timeout)
    if proc.returncode != 0:
        raise BenchError(f"lathe-run failed ({' '.join(cmd)}):\n{proc.stderr.strip()}")
    with open(report) as f:
        return json.load(f), proc.stdout + proc.stderr


def kernel_ms(report, kind):
    return report.get("kernels", {}).get(kind, {}).get("ms", 0.0)


def kernel_calls(report, kind):
    return report.get("kernels", {}).get(kind, {}).get("calls", 0)


# oneDNN 2.x verbose lines:
# onednn_verbose,exec,cpu,matmul,brg:avx512_core,undef,<mds>,<attrs>,<aux>,<problem>,<ms>
_VERBOSE = re.compile(r"^(?:onednn|dnnl)_verbose,exec,cpu,(\w+),([^,]*),[^,]*,([^,]*),([^,]*),"
                      r"([^,]*),([^,]*),([0-9.eE+-]+)\s*$")


def onednn_exec_times(text):
    """{(primitive, problem, post_ops): [ms, ...]} from ONEDNN_VERBOSE=1 output (stdout)."""
    times = {}
    for line in text.splitlines():
        m = _VERBOSE.match(line.strip())
        if not m:
            continue
        prim, _impl, _mds, attrs, _aux, problem, ms = m.groups()
        # attrs is space-separated, e.g. "attr-scratchpad:user attr-post-ops:binary_add:...";
        # only the post-ops identify the epilogue.
        post = " ".join(a[len("attr-post-ops:"):] for a in attrs.split()
                        if a.startswith("attr-post-ops:"))
        times.setdefault((prim, problem, post), []).append(float(ms))
    return times


# ------------------------------------------------------------------------------------------
# Timing Python callables (PyTorch)
# ------------------------------------------------------------------------------------------
def time_callable(fn, min_iters=20, max_iters=500, budget_s=2.0, warmup=5):
    """Median wall time (ms) of fn() measured with time.perf_counter, after a warm-up."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    est = max(time.perf_counter() - t0, 1e-6)
    iters = int(min(max_iters, max(min_iters, budget_s / est)))
    samples = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e3, iters


# ------------------------------------------------------------------------------------------
# Printing
# ------------------------------------------------------------------------------------------
def table(headers, rows, title=None, left=()):
    """Prints a plain-text table; cells are already strings. The first column and the columns
    in `left` are left-aligned, the others right-aligned."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    if title:
        print(f"\n{title}")
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line.rstrip())
    print("-" * len(line.rstrip()))
    for r in cells:
        print("  ".join(c.rjust(w) if i and i not in left else c.ljust(w)
                        for i, (c, w) in enumerate(zip(r, widths))).rstrip())


def fmt(x, digits=2):
    if x is None:
        return "n/a"
    if isinstance(x, float) and not np.isfinite(x):
        return "n/a"
    return f"{x:.{digits}f}"


def cpu_name():
    """'Intel(R) Xeon(R) Processor (AMX-BF16, AMX-INT8, AVX-512-BF16, VNNI)': /proc/cpuinfo's
    model name and the ISA extensions that decide bf16/int8 speed."""
    name, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and name == "unknown CPU":
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [label for flag, label in (("amx_bf16", "AMX-BF16"), ("amx_int8", "AMX-INT8"),
                                     ("avx512_bf16", "AVX-512-BF16"), ("avx512_vnni", "VNNI"),
                                     ("avx512f", "AVX-512"), ("avx2", "AVX2"))
           if flag in flags]
    return f"{name} ({', '.join(isa)})" if isa else name


def load_average():
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3

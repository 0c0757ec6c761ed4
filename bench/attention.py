#!/usr/bin/python3
"""Chunked attention against real peers: Lathe vs JAX vs onnxruntime (CPU).

usage (from the repository root, after the build):  /usr/bin/python3 bench/attention.py
      [--seqs 1024,2048,...] [--rounds 5] [--heads 4] [--dim 32] [--mem-cap-gib 12]
      (tools from $LATHE_BUILD_DIR, else ./build; peers in the virtual environment
      $LATHE_BENCH_JAX_VENV, default ~/.cache/lathe-bench-venv-jax, with jax, onnx and
      onnxruntime from PyPI, created or completed by common.ensure_venv when missing)

Workload: Evoformer-style multi-head attention softmax(Q·Kᵀ/√D + mask + pair)·V, batch 1,
H heads (default 4), head dim D (default 32, Evoformer's), f32. Q, K, V standard normal; the
mask is an additive key mask [1, 1, 1, L] (10 % of the keys −1e9, the same keys for every
query row, as Evoformer's MSA mask) over every L; the pair bias [1, H, L, L] (standard
normal) is added for L ≤ PAIR_MAX_L = 4096 only (at 16k it is 1 GiB per head, the issue's
limit). The same .npy inputs go to all three:
  lathe  a module with one `memred.attention` (rank 4, biases(mask, pair)) run by
         `lathe-run` (default CPU pipeline: the fused chunked kernel
         lathe_rt_chunked_attention_f32, 2 threads);
  jax    `jax.nn.dot_product_attention` jitted on XLA's CPU backend (the mask as its
         boolean `mask`, the pair bias as `bias`; Q/K/V in its [B, T, N, H] layout);
  ort    onnxruntime's com.microsoft `MultiHeadAttention` contrib op on the CPU execution
         provider, 2 intra-op threads (mask as `key_padding_mask`, pair bias as
         `attention_bias`; the CPU arena is off so freed memory is returned).
Peers run in bench/attention_lib/peer.py, see its docstring.

Correctness first: at L = 256 (mask and pair bias) each output is compared with a float64
numpy reference under scripts/compare_npy.py's rule (|out − ref| ≤ 1e-4·(|ref| + 0.1·max|ref|));
a system that fails is reported and the benchmark exits non-zero. At the first L of the grid
the three outputs are compared with each other too (max |a − b| / max |b|).

Timing: per L, `rounds` interleaved rounds (the order of the systems rotates each round). A
peer is one long-lived process per L (inputs loaded and one warm-up call before round 1),
asked for one timed call per round; Lathe is one `lathe-run --repeat=1` per round (its own
untimed warm-up, then one timed call; compile time excluded). Each cell is the median of the
rounds. Memory: the whole process's RSS high-water mark (VmHWM for the peers, wait4's
ru_maxrss for lathe-run), the same method for all three, so each includes its runtime and the
inputs (the `inputs` column); Lathe's allocator high-water mark (`peak_memory_bytes` of
lathe-run's report, inputs excluded) is printed beside it. Every peer process runs under
RLIMIT_AS = --mem-cap-gib (default 12 GiB, the machine is shared): a peer that cannot
allocate, dies, or takes longer than CALL_TIMEOUT_S for one call is recorded as `OOM`/
`timeout`/`died` for that L, and larger L are not tried for it.

Ends with
  RESULT max_L_lathe=... max_L_jax=... max_L_ort=... speedup_vs_jax_L4096=...
         speedup_vs_ort_L4096=... peak_mem_ratio_vs_jax_L4096=... peak_mem_ratio_vs_ort_L4096=...
         speedup_vs_jax_Lmax=... speedup_vs_ort_Lmax=...
speedup = peer median ms / Lathe median ms; peak_mem_ratio = peer RSS high-water / Lathe RSS
high-water (> 1: Lathe uses less); *_Lmax at the largest L that both completed; `nan` where
a peer has no result at that L.
"""
import argparse
import json
import os
import resource
import select
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (ROOT, BenchError, cpu_name, ensure_venv, load_average,  # noqa: E402
                    table, tool, within_tolerance)

SEQS = [1024, 2048, 4096, 8192, 16384]
PAIR_MAX_L = 4096
CHECK_L = 256
CALL_TIMEOUT_S = 240
START_TIMEOUT_S = 600
PEER = os.path.join(ROOT, "bench", "attention_lib", "peer.py")
PEERS = ["jax", "ort"]


def log(msg):
    print(msg, flush=True)


def venv_python():
    root = os.environ.get("LATHE_BENCH_JAX_VENV") or \
        os.path.join(os.path.expanduser("~"), ".cache", "lathe-bench-venv-jax")
    ensure_venv(root, ["jax", "onnx", "onnxruntime"], "import jax, onnx, onnxruntime", log)
    return os.path.join(root, "bin", "python")


def make_inputs(d, seq, heads, dim, pair):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seq)
    for n in ("q", "k", "v"):
        np.save(f"{d}/{n}.npy", rng.standard_normal((1, heads, seq, dim), dtype=np.float32))
    mask = np.where(rng.random((1, 1, 1, seq)) < 0.1, -1e9, 0.0).astype(np.float32)
    np.save(f"{d}/mask.npy", mask)
    if pair:
        np.save(f"{d}/pair.npy", rng.standard_normal((1, heads, seq, seq), dtype=np.float32))
    return sum(os.path.getsize(f"{d}/{f}") for f in os.listdir(d) if f.endswith(".npy"))


def write_module(path, seq, heads, dim, pair):
    t = f"tensor<1x{heads}x{seq}x{dim}xf32>"
    m = f"tensor<1x1x1x{seq}xf32>"
    p = f"tensor<1x{heads}x{seq}x{seq}xf32>"
    args = f"%q: {t}, %k: {t}, %v: {t}, %mask: {m}" + (f", %pair: {p}" if pair else "")
    biases = f"biases(%mask, %pair : {m}, {p})" if pair else f"biases(%mask : {m})"
    with open(path, "w") as f:
        f.write(f"func.func @main({args}) -> {t} {{\n"
                f"  %e = tensor.empty() : {t}\n"
                f"  %o = memred.attention ins(%q, %k, %v : {t}, {t}, {t}) {biases}\n"
                f"         outs(%e : {t}) scale({dim ** -0.5:.9e}) -> {t}\n"
                f"  return %o : {t}\n}}\n")


def reference(d):
    q, k, v, mask = (np.load(f"{d}/{n}.npy").astype(np.float64) for n in ("q", "k", "v", "mask"))
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(q.shape[-1]) + mask
    if os.path.exists(f"{d}/pair.npy"):
        s = s + np.load(f"{d}/pair.npy").astype(np.float64)
    s -= s.max(-1, keepdims=True)
    e = np.exp(s)
    return (e / e.sum(-1, keepdims=True)) @ v


# ------------------------------------------------------------------------------------------
# Lathe: one lathe-run per round
# ------------------------------------------------------------------------------------------
class _Popen(subprocess.Popen):
    """Popen that keeps the child's own rusage (wait4) for its RSS high-water mark."""

    def _try_wait(self, wait_flags):
        try:
            pid, sts, ru = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return self.pid, 0
        if pid == self.pid:
            self._lathe_rusage = ru.ru_maxrss * 1024
        return pid, sts


def lathe_round(module, d, pair, out=None, repeat=1):
    rep = os.path.join(d, "lathe.report.json")
    cmd = [tool("lathe-run"), module, "--threads=2", f"--repeat={repeat}", f"--report={rep}"]
    cmd += [f"--input={d}/{n}.npy" for n in (["q", "k", "v", "mask"] + (["pair"] if pair else []))]
    if out:
        cmd.append(f"--output={out}")
    p = _Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = p.communicate(timeout=CALL_TIMEOUT_S * 3)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return {"status": "timeout"}
    # RUSAGE_CHILDREN would be the maximum over all children so far: the child's own rusage.
    usage = getattr(p, "_lathe_rusage", None)
    if p.returncode != 0:
        return {"status": "OOM" if p.returncode in (-9, 137) or "alloc" in stderr.lower()
                else "failed", "msg": stderr.strip()[-300:]}
    r = json.load(open(rep))
    if "attention" not in r.get("kernels", {}):
        raise BenchError(f"lathe-run made no attention kernel call: {r.get('kernels')}")
    return {"status": "ok", "ms": (r.get("latency_ms") or {}).get("median"), "peak": r["peak_memory_bytes"],
            "rss": usage}


# ------------------------------------------------------------------------------------------
# Peers: one long-lived process per L
# ------------------------------------------------------------------------------------------
class Peer:
    def __init__(self, py, which, d, cap_bytes):
        self.which, self.status, self.msg = which, "ok", ""

        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))
        self.p = _Popen([py, PEER, which, d, "--threads", "2"], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                        preexec_fn=limit)
        line = self._read(START_TIMEOUT_S)
        if not line.startswith("READY"):
            self._fail(line)

    def _read(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return "TIMEOUT"
        return self.p.stdout.readline().strip() or "EOF"

    def _fail(self, line):
        if self.p.poll() is None:
            self.p.kill()
        try:
            _, err = self.p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            err = ""
        text = f"{line} {err}"
        if line == "TIMEOUT":
            self.status = "timeout"
        elif ("alloc" in text.lower() or "memory" in text.lower() or
              self.p.returncode in (-9, 137)):
            self.status = "OOM"
        else:
            self.status = "died"
        self.msg = (line + " | " + err.strip().splitlines()[-1] if err.strip() else line)[:300]

    def ask(self, cmd):
        if self.status != "ok":
            return None
        try:
            self.p.stdin.write(cmd + "\n")
            self.p.stdin.flush()
        except BrokenPipeError:
            self._fail("EOF")
            return None
        line = self._read(CALL_TIMEOUT_S)
        if line.startswith(("MS", "OK", "HWM")):
            return line
        self._fail(line)
        return None

    def run(self):
        line = self.ask("run")
        return float(line.split()[1]) if line else None

    def finish(self):
        """The process's RSS high-water mark, then it exits."""
        line = self.ask("quit")
        if self.p.poll() is None:
            self.p.communicate(timeout=60)
        return int(line.split()[1]) if line else None


# ------------------------------------------------------------------------------------------
def check(py, tmp, heads, dim, cap):
    d = os.path.join(tmp, f"check{CHECK_L}")
    make_inputs(d, CHECK_L, heads, dim, True)
    ref = reference(d)
    module = os.path.join(d, "attn.mlir")
    write_module(module, CHECK_L, heads, dim, True)
    outs = {}
    r = lathe_round(module, d, True, out=f"{d}/lathe.npy", repeat=0)
    if r["status"] != "ok":
        raise BenchError(f"lathe-run failed at L={CHECK_L}: {r.get('msg')}")
    outs["lathe"] = np.load(f"{d}/lathe.npy")
    for w in PEERS:
        p = Peer(py, w, d, cap)
        if not p.ask(f"out {d}/{w}.npy"):
            raise BenchError(f"{w} failed at L={CHECK_L}: {p.status} {p.msg}")
        p.finish()
        outs[w] = np.load(f"{d}/{w}.npy")
    bad = []
    for name, o in outs.items():
        ok, err = within_tolerance(o, ref)
        log(f"check L={CHECK_L}, H={heads}, D={dim}, mask + pair bias: {name:5s} vs float64 "
            f"numpy: max abs err {err:.2e} ({'ok' if ok else 'FAILS'} the tolerance "
            f"1e-4·(|ref| + 0.1·max|ref|), max|ref| = {np.abs(ref).max():.3f})")
        if not ok:
            bad.append(name)
    if bad:
        raise BenchError(f"outputs outside the tolerance: {', '.join(bad)}")


def bench_seq(py, tmp, seq, heads, dim, rounds, cap, alive, compare):
    pair = seq <= PAIR_MAX_L
    d = os.path.join(tmp, f"L{seq}")
    in_bytes = make_inputs(d, seq, heads, dim, pair)
    module = os.path.join(d, "attn.mlir")
    write_module(module, seq, heads, dim, pair)
    row = {"seq": seq, "pair": pair, "inputs": in_bytes}
    peers = {}
    for w in PEERS:
        if alive[w]:
            peers[w] = Peer(py, w, d, cap)
        else:
            row[w] = {"status": f"not tried ({alive_reason[w]})"}
    times = {s: [] for s in ["lathe"] + PEERS}
    lathe = []
    order = ["lathe"] + PEERS
    for r in range(rounds):
        for s in order[r % 3:] + order[:r % 3]:
            if s == "lathe":
                res = lathe_round(module, d, pair)
                lathe.append(res)
                if res["status"] == "ok":
                    times[s].append(res["ms"])
            elif s in peers:
                ms = peers[s].run()
                if ms is not None:
                    times[s].append(ms)
    ok = [x for x in lathe if x["status"] == "ok"]
    row["lathe"] = ({"status": "ok", "ms": statistics.median(times["lathe"]),
                     "rss": max(x["rss"] for x in ok), "peak": max(x["peak"] for x in ok)}
                    if len(ok) == rounds else lathe[-1] if not ok else
                    {"status": "failed", "msg": "some rounds failed"})
    if compare:
        lathe_round(module, d, pair, out=f"{d}/lathe.npy", repeat=0)
        for w, p in peers.items():
            p.ask(f"out {d}/{w}.npy")
    for w, p in peers.items():
        if p.status == "ok":
            hwm = p.finish()
            row[w] = {"status": "ok", "ms": statistics.median(times[w]), "rss": hwm}
        if p.status != "ok":
            row[w] = {"status": p.status, "msg": p.msg}
            alive[w] = False
            alive_reason[w] = f"{p.status} at L={seq}"
            log(f"  {w} at L={seq}: {p.status}: {p.msg}")
    if compare:
        a = np.load(f"{d}/lathe.npy").astype(np.float64)
        for w in PEERS:
            if os.path.exists(f"{d}/{w}.npy"):
                b = np.load(f"{d}/{w}.npy").astype(np.float64)
                log(f"  L={seq}: max|lathe - {w}| / max|{w}| = "
                    f"{np.abs(a - b).max() / np.abs(b).max():.2e}")
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    return row


alive_reason = {}


def cell(x, key, fmt):
    return fmt(x[key]) if x.get("status") == "ok" else x.get("status", "-")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seqs", default=",".join(map(str, SEQS)))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--mem-cap-gib", type=float, default=12.0)
    a = ap.parse_args()
    seqs = [int(s) for s in a.seqs.split(",")]
    cap = int(a.mem_cap_gib * 2**30)
    start = time.time()
    log(f"CPU: {cpu_name()}, {os.cpu_count()} logical cores; load average at start "
        f"{' '.join(f'{x:.2f}' for x in load_average())}")
    rows = []
    try:
        py = venv_python()
        vers = subprocess.run([py, "-c", "import jax, onnxruntime; print('jax', jax.__version__,"
                               " 'onnxruntime', onnxruntime.__version__)"],
                              capture_output=True, text=True).stdout.strip()
        log(f"peers: {vers}; H={a.heads}, D={a.dim}, f32, batch 1; pair bias up to "
            f"L={PAIR_MAX_L}; {a.rounds} interleaved rounds; RLIMIT_AS {a.mem_cap_gib:g} GiB "
            "per peer process")
        with tempfile.TemporaryDirectory(prefix="lathe-attn-") as tmp:
            check(py, tmp, a.heads, a.dim, cap)
            alive = {w: True for w in PEERS}
            for i, seq in enumerate(seqs):
                t0 = time.time()
                row = bench_seq(py, tmp, seq, a.heads, a.dim, a.rounds, cap, alive, i == 0)
                rows.append(row)
                ms = {s: cell(row[s], "ms", lambda v: f"{v:.1f} ms") for s in ["lathe"] + PEERS}
                log(f"  L={seq}: lathe {ms['lathe']}, jax {ms['jax']}, ort {ms['ort']} "
                    f"({time.time() - t0:.0f} s)")
    except BenchError as e:
        sys.exit(f"bench/attention: {e}")

    mib = lambda v: f"{v / 2**20:.0f}"  # noqa: E731
    out = []
    for r in rows:
        sp = {w: (f"{r[w]['ms'] / r['lathe']['ms']:.2f}"
                  if r[w].get("status") == "ok" and r["lathe"].get("status") == "ok" else "-")
              for w in PEERS}
        out.append([str(r["seq"]), "mask+pair" if r["pair"] else "mask",
                    cell(r["lathe"], "ms", lambda v: f"{v:.1f}"),
                    cell(r["jax"], "ms", lambda v: f"{v:.1f}"),
                    cell(r["ort"], "ms", lambda v: f"{v:.1f}"), sp["jax"], sp["ort"],
                    mib(r["inputs"]), cell(r["lathe"], "rss", mib),
                    cell(r["lathe"], "peak", lambda v: f"{v / 2**20:.1f}"),
                    cell(r["jax"], "rss", mib), cell(r["ort"], "rss", mib)])
    table(["L", "biases", "lathe ms", "jax ms", "ort ms", "vs jax", "vs ort", "inputs MiB",
           "lathe RSS MiB", "lathe alloc MiB", "jax RSS MiB", "ort RSS MiB"], out,
          title=f"attention, H={a.heads}, D={a.dim}, f32 (median of {a.rounds} interleaved "
                f"rounds; RSS = process high-water mark incl. runtime and inputs)", left=(1,))
    log(f"load average at end {' '.join(f'{x:.2f}' for x in load_average())}; "
        f"total {time.time() - start:.0f} s")

    def max_l(s):
        done = [r["seq"] for r in rows if r[s].get("status") == "ok"]
        return str(max(done)) if done else "0"

    def ratio(seq, w, key):
        r = next((x for x in rows if x["seq"] == seq), None)
        if not r or r[w].get("status") != "ok" or r["lathe"].get("status") != "ok":
            return "nan"
        return f"{r[w][key] / r['lathe'][key]:.2f}"

    def at_max(w):
        both = [r["seq"] for r in rows if r[w].get("status") == "ok"
                and r["lathe"].get("status") == "ok"]
        return ratio(max(both), w, "ms") if both else "nan"
    fields = [("max_L_lathe", max_l("lathe")), ("max_L_jax", max_l("jax")),
              ("max_L_ort", max_l("ort")),
              ("speedup_vs_jax_L4096", ratio(4096, "jax", "ms")),
              ("speedup_vs_ort_L4096", ratio(4096, "ort", "ms")),
              ("peak_mem_ratio_vs_jax_L4096", ratio(4096, "jax", "rss")),
              ("peak_mem_ratio_vs_ort_L4096", ratio(4096, "ort", "rss")),
              ("speedup_vs_jax_Lmax", at_max("jax")), ("speedup_vs_ort_Lmax", at_max("ort"))]
    log("RESULT " + " ".join(f"{k}={v}" for k, v in fields))


if __name__ == "__main__":
    main()

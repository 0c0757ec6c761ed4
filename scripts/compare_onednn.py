#!/usr/bin/python3
"""Compares Debian's oneDNN 2.6 (what Lathe's CPU runtime links) with PyPI's newest oneDNN on
this CPU, kernel by kernel, as issue 17 asks ("if a newer oneDNN from PyPI's onednn-devel is
markedly faster, say so with numbers").

usage (from the repository root): /usr/bin/python3 scripts/compare_onednn.py [--rounds 5]
      [--calls 20] [--venv DIR]

It creates (or reuses) a virtual environment with `onednn-devel` from PyPI (build/onednn-venv;
about 1 GiB: the wheel brings Intel's SYCL and compiler runtimes), builds
scripts/onednn_compare/kernels.cpp twice with clang++-22 (against /usr/include's oneDNN 2.6
and against the wheel's oneDNN 3.x), and runs the two programs in interleaved rounds. Each
program times the convolutions of ResNet-50 (batch 1, 224 x 224, fused ReLU, format_tag::any,
so each library picks its preferred layouts) and the four matmuls of a BERT-base-sized encoder
layer at 8 x 128 tokens, in f32 and bf16: a median of CALLS calls per kernel and round; the
table shows the median over rounds. Threads: both use every core (OpenMP for Debian's build,
TBB for PyPI's). The ResNet-50 line sums each convolution's time times its count in the network.
Ends with `RESULT` ratios Debian / PyPI (above 1: PyPI's oneDNN is faster).
"""
import argparse
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "scripts", "onednn_compare", "kernels.cpp")


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def run(cmd, env=None):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--venv", default=os.path.join(ROOT, "build", "onednn-venv"))
    args = ap.parse_args()
    if args.rounds < 1 or args.calls < 1:
        sys.exit("compare_onednn: --rounds and --calls must be positive")

    venv = args.venv
    if not os.path.exists(os.path.join(venv, "include", "oneapi", "dnnl", "dnnl.hpp")):
        print(f"creating {venv} with onednn-devel from PyPI", flush=True)
        subprocess.run(["/usr/bin/python3", "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "onednn-devel"],
                       check=True)
    out_dir = os.path.join(ROOT, "build", "onednn-compare")
    os.makedirs(out_dir, exist_ok=True)
    deb, pypi = os.path.join(out_dir, "kernels-debian"), os.path.join(out_dir, "kernels-pypi")
    flags = ["clang++-22", "-O2", "-std=c++17", SRC]
    subprocess.run(flags + ["-o", deb, "-ldnnl"], check=True)
    subprocess.run(flags + ["-I", os.path.join(venv, "include"), "-o", pypi,
                            "-L", os.path.join(venv, "lib"), "-Wl,-rpath-link," + os.path.join(venv, "lib"),
                            "-ldnnl"], check=True)

    ncpu = os.cpu_count() or 1
    env_deb = dict(os.environ, OMP_NUM_THREADS=str(ncpu))
    env_deb.pop("ONEDNN_VERBOSE", None)
    env_pypi = dict(env_deb)
    lib = os.path.join(venv, "lib")
    env_pypi["LD_LIBRARY_PATH"] = lib + (":" + os.environ["LD_LIBRARY_PATH"]
                                         if os.environ.get("LD_LIBRARY_PATH") else "")
    env_pypi["OCL_ICD_FILENAMES"] = os.path.join(lib, "libintelocl.so")

    print(f"CPU: {cpu_name()}, {ncpu} logical cores; load average at start "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    times = {"debian": {}, "pypi": {}}
    impl = {"debian": {}, "pypi": {}}
    version = {}
    for r in range(args.rounds):
        order = [("debian", deb, env_deb), ("pypi", pypi, env_pypi)]
        if r % 2:
            order.reverse()
        for name, exe, env in order:
            for line in run([exe, str(args.calls)], env).splitlines():
                f = line.split()
                if f[0] == "version":
                    version[name] = f[1]
                    continue
                if f[0] not in ("conv", "matmul"):
                    continue  # the SYCL build's verbose banner
                kind, case, count, prec, im, ms = f[0], f[1], int(f[2]), f[3], f[4], float(f[5])
                key = (kind, case, prec)
                times[name].setdefault(key, []).append(ms)
                impl[name][key] = (im, count)
        print(f"round {r + 1}/{args.rounds} done", flush=True)

    med = {n: {k: statistics.median(v) for k, v in times[n].items()} for n in times}
    print(f"\noneDNN {version.get('debian', '?')} (Debian) vs {version.get('pypi', '?')} "
          f"(PyPI onednn-devel); median over {args.rounds} interleaved rounds of the median of "
          f"{args.calls} calls; ms")
    print(f"{'kernel':<16}{'prec':<6}{'count':>6}{'debian ms':>11}{'pypi ms':>10}{'deb/pypi':>10}"
          f"  debian impl / pypi impl")
    totals = {}
    for key in med["debian"]:
        kind, case, prec = key
        d, p = med["debian"][key], med["pypi"].get(key, float("nan"))
        count = impl["debian"][key][1]
        print(f"{case:<16}{prec:<6}{count:>6}{d:>11.4f}{p:>10.4f}{d / p:>10.2f}  "
              f"{impl['debian'][key][0]} / {impl['pypi'].get(key, ('?',))[0]}")
        group = ("resnet50" if kind == "conv" else "encoder", prec)
        t = totals.setdefault(group, [0.0, 0.0])
        t[0] += count * d
        t[1] += count * p
    print()
    result = []
    for (model, prec), (d, p) in totals.items():
        print(f"{model} {prec}: Debian {d:.2f} ms, PyPI {p:.2f} ms, Debian/PyPI {d / p:.2f}")
        result.append(f"{model}_{prec}_debian_over_pypi={d / p:.2f}")
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("RESULT " + " ".join(result))


if __name__ == "__main__":
    main()

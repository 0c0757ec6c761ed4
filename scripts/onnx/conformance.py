#!/usr/bin/env python3
"""Runs the ONNX backend node tests through lathe-import-onnx and lathe-run.

Generates the node test cases with Debian's python3-onnx (model.onnx plus
test_data_set_*/{input,output}_*.pb per case; the 1.12 generator needs
NumPy's removed aliases restored), imports each, runs it with lathe-run (one
process per case) and compares every output with the expected tensor
(|out - ref| <= atol + rtol*|ref|, ONNX's backend-test defaults; integers and
booleans exactly; shapes and dtypes must match).

Cases the importer declines are skipped with the reason it gives (an
unsupported operator, element type or opset); every other failure counts as
failed. Prints one line per failure, the skip reasons, and

    N passed, N failed, N skipped

Exit status: 1 if a case fails that is not listed in --xfail FILE (one
"case_name  reason" per line), or a listed case no longer fails.

usage: conformance.py --bin BUILD/bin --work DIR [--jobs 2] [--filter REGEX]
                      [--xfail FILE] [-v]
"""
import argparse
import collections
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np

for _alias, _type in [("float", float), ("int", int), ("bool", bool),
                      ("object", object), ("complex", complex), ("str", str)]:
    if _alias not in np.__dict__:
        setattr(np, _alias, _type)

import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402

RTOL, ATOL = 1e-3, 1e-7


def generate(data_dir):
    """Writes the node test cases under data_dir (once per onnx version)."""
    stamp = os.path.join(data_dir, "onnx-" + onnx.__version__)
    if os.path.exists(stamp):
        return
    import onnx.backend.test.case.node as node_test
    if os.path.isdir(data_dir):
        shutil.rmtree(data_dir)
    os.makedirs(data_dir)
    for case in node_test.collect_testcases(None):
        out = os.path.join(data_dir, case.name)
        if os.path.isdir(out):  # a few names repeat: the last one wins, as in cmd_tools
            shutil.rmtree(out)
        os.makedirs(out)
        with open(os.path.join(out, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        for i, (inputs, outputs) in enumerate(case.data_sets):
            ds = os.path.join(out, f"test_data_set_{i}")
            os.makedirs(ds)
            graph = case.model.graph
            for kind, values, infos in (("input", inputs, graph.input),
                                        ("output", outputs, graph.output)):
                for j, v in enumerate(values):
                    if not infos[j].type.HasField("tensor_type"):
                        continue  # sequences/optionals: the importer skips these
                    with open(os.path.join(ds, f"{kind}_{j}.pb"), "wb") as f:
                        f.write(numpy_helper.from_array(
                            np.asarray(v), infos[j].name).SerializeToString())
    open(stamp, "w").close()


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


SKIP_PATTERNS = [
    (re.compile(r"unsupported operator\(s\):\s*(.*)", re.S), "operator"),
    (re.compile(r"has element type (\w+), which lathe-import-onnx does not support"), "element type"),
    (re.compile(r"uses ONNX opset (\d+); "), "opset"),
    (re.compile(r"is not a tensor"), "non-tensor value"),
    (re.compile(r"imports no version of the default ONNX operator set"), "opset"),
]


def skip_reason(err):
    for pattern, kind in SKIP_PATTERNS:
        m = pattern.search(err)
        if m:
            detail = m.group(1).split("(")[0].strip() if m.groups() else ""
            return f"{kind} {detail}".strip()
    return None


def compare(out, ref):
    if out.shape != ref.shape:
        return f"shape {out.shape} != expected {ref.shape}"
    if out.dtype != ref.dtype:
        return f"dtype {out.dtype} != expected {ref.dtype}"
    if ref.dtype.kind in "biu":
        bad = out != ref
        if bad.any():
            return f"{int(bad.sum())} of {ref.size} elements differ"
        return None
    o, r = out.astype(np.float64), ref.astype(np.float64)
    same_nan = np.isnan(o) == np.isnan(r)
    ok = (np.abs(o - r) <= ATOL + RTOL * np.abs(r)) | (np.isnan(o) & np.isnan(r)) | (o == r)
    ok &= same_nan
    if not ok.all():
        idx = np.unravel_index(np.argmin(ok), ok.shape) if ok.ndim else ()
        return (f"{int((~ok).sum())} of {ref.size} elements out of tolerance, "
                f"e.g. at {tuple(int(i) for i in idx)}: {o[idx]} vs {r[idx]}")
    return None


def run_case(case_dir, bin_dir, work):
    name = os.path.basename(case_dir)
    wd = os.path.join(work, name)
    os.makedirs(wd, exist_ok=True)
    mlir = os.path.join(wd, "model.mlir")
    p = subprocess.run([os.path.join(bin_dir, "lathe-import-onnx"),
                        os.path.join(case_dir, "model.onnx"), "-o", mlir],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        err = p.stderr.strip()
        reason = skip_reason(err)
        if reason:
            return name, "skip", reason
        return name, "fail", "import: " + err.replace("lathe-import-onnx: error: ", "")
    model = onnx.load(os.path.join(case_dir, "model.onnx"), load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    arg_idx = [j for j, vi in enumerate(model.graph.input) if vi.name not in inits]
    for ds in sorted(glob.glob(os.path.join(case_dir, "test_data_set_*"))):
        args = []
        for j in arg_idx:
            pb = os.path.join(ds, f"input_{j}.pb")
            if not os.path.exists(pb):
                return name, "skip", "input without data"
            npy = os.path.join(wd, f"in_{j}.npy")
            np.save(npy, load_pb(pb))
            args.append("--input=" + npy)
        outs = []
        for j in range(len(model.graph.output)):
            outs.append(os.path.join(wd, f"out_{j}.npy"))
        cmd = [os.path.join(bin_dir, "lathe-run"), mlir] + args + \
              ["--output=" + o for o in outs]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return name, "fail", "lathe-run timed out"
        if p.returncode != 0:
            lines = [l for l in (p.stderr + p.stdout).splitlines() if "error" in l.lower()]
            msg = lines[0] if lines else (p.stderr.strip().splitlines() or ["?"])[-1]
            return name, "fail", f"lathe-run exit {p.returncode}: {msg[:300]}"
        for j, o in enumerate(outs):
            ref = load_pb(os.path.join(ds, f"output_{j}.pb"))
            got = np.load(o)
            why = compare(got, ref)
            if why:
                return name, "fail", f"output {j}: {why}"
    shutil.rmtree(wd, ignore_errors=True)
    return name, "pass", ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", help="directory with lathe-import-onnx and lathe-run "
                    "(default: where PATH finds lathe-import-onnx)")
    ap.add_argument("--work", required=True, help="scratch directory (cases are generated here)")
    ap.add_argument("--data", help="node test data (default: WORK/../onnx-node-tests)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--filter", default="", help="only cases whose name matches")
    ap.add_argument("--xfail", help="known failures, one 'name reason' per line")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    if not a.bin:
        tool = shutil.which("lathe-import-onnx")
        if not tool:
            sys.exit("conformance.py: lathe-import-onnx is not on PATH; pass --bin")
        a.bin = os.path.dirname(tool)

    data = a.data or os.path.join(os.path.dirname(os.path.abspath(a.work)), "onnx-node-tests")
    generate(data)
    os.makedirs(a.work, exist_ok=True)
    cases = sorted(d for d in glob.glob(os.path.join(data, "test_*"))
                   if re.search(a.filter, os.path.basename(d)))
    xfail = {}
    if a.xfail:
        for line in open(a.xfail):
            line = line.split("#")[0].strip()
            if line:
                parts = line.split(None, 1)
                xfail[parts[0]] = parts[1] if len(parts) > 1 else ""

    start = time.time()
    results = []
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        futures = [pool.submit(run_case, c, a.bin, a.work) for c in cases]
        for f in concurrent.futures.as_completed(futures):
            try:
                results.append(f.result())
            except Exception as e:  # a broken case must not stop the run
                results.append(("?", "fail", f"harness: {e}"))
    results.sort()
    counts = collections.Counter(r[1] for r in results)
    skips = collections.Counter(r[2] for r in results if r[1] == "skip")
    unexpected, fixed = [], []
    for name, status, why in results:
        if status == "fail":
            tag = "XFAIL" if name in xfail else "FAIL"
            print(f"{tag}: {name}: {why}")
            if name not in xfail:
                unexpected.append(name)
        elif status == "pass" and name in xfail:
            fixed.append(name)
        if a.verbose and status != "fail":
            print(f"{status.upper()}: {name} {why}")
    print("skipped, by reason:")
    for why, n in skips.most_common():
        print(f"  {n:4d}  {why}")
    for name in fixed:
        print(f"UNEXPECTED PASS: {name} (remove it from the xfail list)")
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped"
          f" ({len(results)} cases, {time.time() - start:.0f} s; "
          f"{counts['fail'] - len(unexpected)} failures expected)")
    return 1 if unexpected or fixed else 0


if __name__ == "__main__":
    sys.exit(main())

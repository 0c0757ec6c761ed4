#!/usr/bin/python3
"""Run an example model through *upstream* MLIR (mlir-opt + mlir-runner) and compare to a reference.

usage: /usr/bin/python3 scripts/check_with_upstream.py MODEL.mlir INPUT.npy REF.npy
           [--out OUT.npy] [--keep DIR]

This is an independent check of the example files (not of Lathe): the model's @main is renamed,
a harness @main feeds INPUT (as a dense_resource blob) to it and prints the result with
printMemrefI32 (the f32 bits, so exactly); linalg.softmax is decomposed with the transform dialect
(transform.structured.decompose_interface), then the scalar upstream CPU pipeline lowers it all,
mlir-runner runs it, and compare_npy.py judges the printed output against REF.
Lathe's `lathe.weight #lathe.external<"F.h5", "/dset">` ops are first replaced by dense_resource
constants read from the HDF5 file (h5py), so the HDF5 variant is checked too.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mlir_emit import affine_map, resource_hex, tensor_type  # noqa: E402

LLVM = "/usr/lib/llvm-22"
PIPELINE = [
    "--transform-preload-library=transform-library-paths={td}",
    "--transform-interpreter",
    "--one-shot-bufferize=bufferize-function-boundaries",
    "--convert-linalg-to-loops",
    "--buffer-deallocation-pipeline",
    "--convert-scf-to-cf",
    "--expand-strided-metadata",
    "--lower-affine",
    "--finalize-memref-to-llvm",
    "--convert-math-to-llvm",
    "--convert-arith-to-llvm",
    "--convert-func-to-llvm",
    "--convert-cf-to-llvm",
    "--reconcile-unrealized-casts",
]
DECOMPOSE_SOFTMAX = """module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %sm = transform.structured.match ops{["linalg.softmax"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %d = transform.structured.decompose_interface %sm : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}
"""


def build_harness(model_text, x):
    body, sep, resources = model_text.partition("{-#")
    m = re.search(r"func\.func @main\((%\w+): ([^)]*)\) -> (tensor<[^>]*>)", body)
    if not m:
        sys.exit("check_with_upstream: cannot find `func.func @main(%x: T) -> T` in the model")
    arg_t, res_t = m.group(2), m.group(3)
    body = body.replace("func.func @main(", "func.func @lathe_model(", 1)
    in_t = tensor_type(x.shape)
    # A dynamic result (tensor<?x10xf32>) is cast to the static shape implied by the input batch.
    res_dims = res_t[len("tensor<"):-1].split("x")[:-1]
    res_dims = [str(x.shape[0]) if d == "?" else d for d in res_dims]
    out_t = "tensor<" + "x".join(res_dims + ["f32"]) + ">"
    out_i = "tensor<" + "x".join(res_dims + ["i32"]) + ">"
    mem_i = "memref<" + "x".join(res_dims + ["i32"]) + ">"
    call_arg = "%in"
    lines = ["func.func private @printMemrefI32(memref<*xi32>) attributes {llvm.emit_c_interface}",
             "func.func @main() {",
             f"  %in = arith.constant dense_resource<__harness_input> : {in_t}"]
    if arg_t != in_t:
        lines.append(f"  %arg = tensor.cast %in : {in_t} to {arg_t}")
        call_arg = "%arg"
    # Print the f32 bits as i32 (exact, unlike printMemrefF32's 6 significant digits).
    ident = affine_map(len(res_dims), range(len(res_dims)))
    par = ", ".join(['"parallel"'] * len(res_dims))
    lines += [
        f"  %r = call @lathe_model({call_arg}) : ({arg_t}) -> {res_t}",
        f"  %rs = tensor.cast %r : {res_t} to {out_t}",
        f"  %e = tensor.empty() : {out_i}",
        f"  %bits = linalg.generic {{indexing_maps = [{ident}, {ident}], iterator_types = [{par}]}} "
        f"ins(%rs : {out_t}) outs(%e : {out_i}) {{",
        "  ^bb0(%a: f32, %b: i32):",
        "    %c = arith.bitcast %a : f32 to i32",
        "    linalg.yield %c : i32",
        f"  }} -> {out_i}",
        f"  %m = bufferization.to_buffer %bits : {out_i} to {mem_i}",
        f"  %u = memref.cast %m : {mem_i} to memref<*xi32>",
        "  call @printMemrefI32(%u) : (memref<*xi32>) -> ()",
        "  return",
        "}",
    ]
    entry = f'      __harness_input: "{resource_hex(x)}",\n'
    if sep:
        resources = resources.replace("builtin: {\n", "builtin: {\n" + entry, 1)
    else:
        resources = "\n  dialect_resources: {\n    builtin: {\n" + entry.rstrip(",\n") + "\n    }\n  }\n#-}\n"
    return body + "\n".join(lines) + "\n\n{-#" + resources


EXTERNAL = re.compile(r'(%[\w.$-]+) = lathe\.weight #lathe\.external<"([^"]+)", "([^"]+)"> : (tensor<[^>]+>)')


def resolve_external_weights(text, model_dir):
    """Replace Lathe's `lathe.weight #lathe.external<FILE, DATASET>` by dense_resource constants
    read from the HDF5 file with h5py, so that upstream mlir-opt can take the model."""
    blobs = {}

    def sub(m):
        import h5py
        name, path, dset, ty = m.groups()
        with h5py.File(os.path.join(model_dir, path), "r") as f:
            arr = np.asarray(f[dset], dtype=np.float32)
        if tensor_type(arr.shape) != ty:
            sys.exit(f"check_with_upstream: {path}:{dset} has shape {arr.shape}, IR says {ty}")
        key = "h5" + re.sub(r"\W", "_", dset)
        blobs[key] = resource_hex(arr)
        return f"{name} = arith.constant dense_resource<{key}> : {ty}"

    text = EXTERNAL.sub(sub, text)
    if not blobs:
        return text
    if "{-#" in text:
        sys.exit("check_with_upstream: external weights plus a resource section: not supported")
    entries = ",\n".join(f'      {k}: "{v}"' for k, v in blobs.items())
    return text + "\n{-#\n  dialect_resources: {\n    builtin: {\n" + entries + "\n    }\n  }\n#-}\n"


def parse_printed(text, shape):
    data = text.split("data =", 1)
    if len(data) != 2:
        sys.exit("check_with_upstream: no printMemrefI32 output:\n" + text[:2000])
    bits = np.array([int(v) for v in re.findall(r"-?\d+", data[1])], dtype=np.int64)
    vals = bits.astype(np.int32).view(np.float32)
    if vals.size != int(np.prod(shape)):
        sys.exit(f"check_with_upstream: printed {vals.size} values, expected shape {shape}")
    return vals.reshape(shape)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"check_with_upstream: `{' '.join(cmd[:2])} ...` failed ({r.returncode}):\n"
                 + r.stderr[-4000:])
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description="check an example model with upstream MLIR")
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("ref")
    ap.add_argument("--out", help="also save the computed output here")
    ap.add_argument("--keep", help="keep the intermediate files in this directory")
    args = ap.parse_args()

    x = np.load(args.input).astype(np.float32)
    ref = np.load(args.ref)
    with open(args.model) as f:
        model = resolve_external_weights(f.read(), os.path.dirname(os.path.abspath(args.model)))
    harness = build_harness(model, x)
    work = args.keep or tempfile.mkdtemp(prefix="lathe_upstream_")
    os.makedirs(work, exist_ok=True)
    td, src, ll = (os.path.join(work, n) for n in ("decompose.mlir", "harness.mlir", "lowered.mlir"))
    with open(td, "w") as f:
        f.write(DECOMPOSE_SOFTMAX)
    with open(src, "w") as f:
        f.write(harness)
    t0 = time.time()
    run([f"{LLVM}/bin/mlir-opt", src, "-o", ll] + [p.format(td=td) for p in PIPELINE])
    t1 = time.time()
    libs = f"{LLVM}/lib/libmlir_runner_utils.so,{LLVM}/lib/libmlir_c_runner_utils.so"
    out_text = run([f"{LLVM}/bin/mlir-runner", "-O3", "-e", "main", "-entry-point-result=void",
                    f"-shared-libs={libs}", ll])
    t2 = time.time()
    out = parse_printed(out_text, ref.shape)
    out_path = args.out or os.path.join(work, "out.npy")
    np.save(out_path, out)
    print(f"check_with_upstream: {os.path.basename(args.model)}: lowered in {t1 - t0:.1f} s, "
          f"ran in {t2 - t1:.1f} s")
    r = subprocess.run([sys.executable, os.path.join(HERE, "compare_npy.py"), out_path, args.ref])
    if r.returncode != 0 and not args.keep:
        print(f"check_with_upstream: intermediate files kept in {work}")
    if not args.keep and r.returncode == 0:
        for p in (td, src, ll, out_path if not args.out else None):
            if p:
                os.remove(p)
        os.rmdir(work) if not os.listdir(work) else None
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The ONNX-imported transformer layer vs the hand-written linalg layer vs onnxruntime.

Reuses bench/peers' models and contenders (same weights, input and reference; every output is
checked against the reference first): the encoder layer of bench/peers (d 256, 4 heads, FFN 1024,
seq 128, ReLU) at batch 1 and 8, run by
  lathe           lathe-run on the foundation's linalg example (build/examples/transformer)
  lathe-onnx      lathe-run on the layer's ONNX export imported by build/bin/lathe-import-onnx
  lathe-onnx-old  (with --old-importer PATH) the same with another lathe-import-onnx binary,
                  e.g. one built from an earlier commit; the same lathe-run
  ort             onnxruntime (bench/peers' virtual environment), 2 intra-op threads
in interleaved rounds; prints each contender's median over rounds and its ratio to onnxruntime.

usage: /usr/bin/python3 scripts/onnx/bench_layer.py [--rounds 5] [--old-importer PATH]
(from the repository root, after the build and scripts/gen_examples.py build/examples)
"""
import argparse
import importlib.machinery
import importlib.util
import os
import statistics
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--old-importer")
    args = ap.parse_args()
    os.chdir(ROOT)
    loader = importlib.machinery.SourceFileLoader("peers", os.path.join("bench", "peers"))
    spec = importlib.util.spec_from_loader("peers", loader)
    peers = importlib.util.module_from_spec(spec)
    loader.exec_module(peers)

    class OldOnnx(peers.LatheOnnx):
        label = "lathe-onnx-old"

        def mlir_for(self, model):
            path = os.path.join(self.tmp, f"{model.name}.old.mlir")
            p = peers.sh([self.importer, model.onnx, "-o", path])
            if p.returncode != 0:
                raise peers.Failed(p.stderr.strip())
            return path

    venv = peers.ensure_venv()
    tmp = tempfile.mkdtemp(prefix="lathe-onnx-bench-")
    ex = peers.examples_dir(tmp)
    mods = [peers.models.encoder(ex, tmp, 1), peers.models.encoder(ex, tmp, 8)]
    importer = os.path.join(peers.build_dir(), "bin", "lathe-import-onnx")
    cs = [peers.Lathe(tmp), peers.LatheOnnx(tmp, importer)]
    if args.old_importer:
        cs.append(OldOnnx(tmp, args.old_importer))
    cs.append(peers.Ort(tmp, os.path.join(venv, "bin", "python")))
    iters = {}
    for m in mods:
        for c in cs:
            err, est = c.prepare(m)
            iters[(m.name, c.label)] = int(min(200, max(5, 350 / max(est, 1e-3))))
            print(f"{m.name} {c.label}: max abs err {err:.2e} (checked)", flush=True)
    print("load average at start: %.1f %.1f %.1f" % os.getloadavg(), flush=True)
    res = {}
    jobs = [(m, c) for m in mods for c in cs]
    for r in range(args.rounds):
        k = (r * len(jobs)) // args.rounds
        for m, c in jobs[k:] + jobs[:k]:
            med, _ = c.time(m, iters[(m.name, c.label)])
            res.setdefault((m.name, c.label), []).append(med)
    print("load average at end: %.1f %.1f %.1f" % os.getloadavg())
    for m in mods:
        ort = statistics.median(res[(m.name, "ort")])
        for c in cs:
            v = res[(m.name, c.label)]
            med = statistics.median(v)
            print(f"{m.name:7s} {c.label:15s} median {med:8.3f} ms "
                  f"(round medians {min(v):.3f}..{max(v):.3f})  {med / ort:.2f}x ort")
    for c in cs:
        if hasattr(c, "close"):
            c.close()


if __name__ == "__main__":
    main()

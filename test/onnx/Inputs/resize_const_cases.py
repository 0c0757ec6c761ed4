#!/usr/bin/env python3
"""Writes ONNX's Resize backend node tests with their scales/sizes as initializers.

usage: resize_const_cases.py OUTDIR

The backend tests pass roi, scales and sizes as graph inputs; lathe-import-onnx needs
them known at import time, so each case's values (from its test data) become
initializers. Cubic and tf_crop_and_resize cases, which the importer rejects, are left
out. OUTDIR then holds the layout scripts/onnx/conformance.py reads (--data OUTDIR).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "scripts", "onnx"))
import conformance  # noqa: E402  (restores NumPy's aliases that onnx 1.12 uses)
import onnx  # noqa: E402
import onnx.backend.test.case.node as node_test  # noqa: E402
from onnx import numpy_helper  # noqa: E402


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = 0
    for case in node_test.collect_testcases(None):
        if not case.name.startswith("test_resize") or "cubic" in case.name \
                or "crop" in case.name:
            continue
        model = case.model
        graph = model.graph
        inputs, outputs = case.data_sets[0]
        for j in range(len(graph.input) - 1, 0, -1):
            graph.initializer.append(numpy_helper.from_array(inputs[j], graph.input[j].name))
            del graph.input[j]
        d = os.path.join(out, case.name)
        os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
        onnx.save(model, os.path.join(d, "model.onnx"))
        ds = os.path.join(d, "test_data_set_0")
        onnx.save_tensor(numpy_helper.from_array(inputs[0], graph.input[0].name),
                         os.path.join(ds, "input_0.pb"))
        for j, v in enumerate(outputs):
            onnx.save_tensor(numpy_helper.from_array(v, graph.output[j].name),
                             os.path.join(ds, f"output_{j}.pb"))
        n += 1
    open(os.path.join(out, "onnx-" + onnx.__version__), "w").close()
    print(f"{n} Resize cases")


if __name__ == "__main__":
    main()

"""Checks the generated-code events of `lathe-run --trace` on
dynamic_regions.mlir: each region shows its operands' actual shapes and the
bytes they span, computed here with numpy from the input and the results.
argv = trace.json x.npy y.npy rows.npy i.npy"""
import json
import sys

import numpy as np

trace_path, x, y, rows, i = sys.argv[1], *map(np.load, sys.argv[2:6])
NAMES = {np.dtype(np.float32): "f32", np.dtype(np.int16): "i16"}


def describe(inputs, outputs):
    def one(a):
        return "%s[%s]" % (NAMES[a.dtype], "x".join(map(str, a.shape)))
    text = " ".join(map(one, inputs))
    text += (" -> " if inputs else "-> ") + " ".join(map(one, outputs))
    return "%s, %d bytes" % (text, sum(a.nbytes for a in inputs + outputs))


expected = {
    "linalg.generic at dynamic_regions.mlir:13": describe([x], [y]),
    "linalg.fill at dynamic_regions.mlir:20": describe([], [rows]),
    "linalg.generic at dynamic_regions.mlir:21": describe([y], [rows]),
    "linalg.generic at dynamic_regions.mlir:28": describe([x], [i]),
}
events = [e for e in json.load(open(trace_path))["traceEvents"]
          if e.get("cat") == "generated"]
seen = {e["name"]: e["args"]["shapes"] for e in events}
assert len(events) == len(expected) and seen == expected, (seen, expected)
print("dynamic regions ok:", seen["linalg.generic at dynamic_regions.mlir:28"])

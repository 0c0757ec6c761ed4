"""Checks that lathe-train logs (JSON lines) hold the same losses, bit for bit.

Usage: losses_equal.py A.jsonl B.jsonl [C.jsonl ...]
Compares every step's loss and every validation loss of each log with the
first log's (exact equality of the logged float32 values); prints how many
were compared.
"""
import json
import sys


def losses(path):
    steps, vals = [], []
    for line in open(path):
        e = json.loads(line)
        if "step" in e:
            steps.append((e["step"], e["loss"]))
        elif "val_loss" in e:
            vals.append(e["val_loss"])
    return steps, vals


def main():
    ref_steps, ref_vals = losses(sys.argv[1])
    if not ref_steps:
        sys.exit(f"{sys.argv[1]}: no steps logged")
    for path in sys.argv[2:]:
        steps, vals = losses(path)
        if len(steps) != len(ref_steps) or len(vals) != len(ref_vals):
            sys.exit(f"{path}: {len(steps)} steps and {len(vals)} validations, "
                     f"{sys.argv[1]}: {len(ref_steps)} and {len(ref_vals)}")
        for (k, a), (_, b) in zip(ref_steps, steps):
            if a != b:
                sys.exit(f"{path}: step {k} loss {b!r} != {a!r} of {sys.argv[1]}")
        for k, (a, b) in enumerate(zip(ref_vals, vals)):
            if a != b:
                sys.exit(f"{path}: validation {k} loss {b!r} != {a!r}")
    print(f"{len(sys.argv) - 1} logs: {len(ref_steps)} step losses and "
          f"{len(ref_vals)} validation losses equal")


main()

import json
import sys

events = json.load(open(sys.argv[1]))["traceEvents"]
steps = [e for e in events if e.get("cat") == "call"]
assert [e["name"] for e in steps] == ["step 0", "step 1", "step 2", "step 3"], steps
kernels = [e for e in events if e.get("cat") == "kernel"]
generated = [e for e in events if e.get("cat") == "generated"]
# Forward and backward matmuls of a 3-layer MLP: at least 3 per step.
assert len([e for e in kernels if e["name"].startswith("matmul")]) >= 3 * 4, kernels
assert generated, "no generated-code regions in a training step"
for e in kernels + generated:
    assert any(s["ts"] - 1e-3 <= e["ts"] and e["ts"] + e["dur"] <= s["ts"] + s["dur"] + 1e-3
               for s in steps), e
loss = lambda f: [r["loss"] for r in map(json.loads, open(f)) if "loss" in r]
assert loss(sys.argv[2]) == loss(sys.argv[3]), (loss(sys.argv[2]), loss(sys.argv[3]))
print("ok")

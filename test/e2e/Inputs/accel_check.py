"""Checks lathe-run --backend=accel's report and Chrome trace for the encoder layer.

usage: accel_check.py REPORT.json TRACE.json
"""
import json
import sys

r = json.load(open(sys.argv[1]))
assert r["backend"] == "accel" and r["latency_kind"] == "simulated", r
s = r["simulated"]
assert s["device"] == "gaudi2" and s["policy"] == "cost", s
assert s["total_cycles"] > 0 and abs(s["latency_us"] - s["total_cycles"] / 1650.0) < 1e-6 * s["latency_us"], s
assert abs(r["simulated_latency_ms"] * 1e3 - s["latency_us"]) < 1e-9, r
assert "latency_ms" not in r and "latency_ms" in r["host_reference"], r
# The result (128 x 256 floats) goes back to HBM.
assert s["bytes_loaded"] > 0 and s["bytes_stored"] >= 128 * 256 * 4, s
engines = {e["name"]: e for e in s["engines"]}
assert engines["MME0"]["busy_fraction"] > 0 and engines["MME1"]["busy_fraction"] > 0, engines
assert all(0 <= e["busy_fraction"] <= 1 for e in engines.values()), engines
ops = {}
for d in s["placement"]:
    ops.setdefault(d["op"], []).append(d["engine"])
# The attention scores' heads are shared between the MMEs and the vector cores
# (the cores are idle while the MMEs compute the V projection); every other
# product is on the MMEs.
assert sorted(ops["lathe.matmul"]) == ["mme"] * 7 + ["split"], ops
split = [d for d in s["placement"] if d["engine"] == "split"]
assert split[0]["split"] == "batch" and split[0]["tpc_fraction"] == 0.5, split
assert ops["linalg.softmax"] == ["tpc"] and ops["lathe.layer_norm"] == ["tpc"] * 2, ops

t = json.load(open(sys.argv[2]))
names = {e["tid"]: e["args"]["name"] for e in t["traceEvents"] if e["ph"] == "M"}
spans = {}
for e in t["traceEvents"]:
    if e["ph"] == "X":
        spans.setdefault(names[e["tid"]][:3], []).append((e["ts"], e["ts"] + e["dur"]))
assert {"MME", "TPC", "DMA"} <= set(spans), spans.keys()
overlap = any(a0 < b1 and b0 < a1 for a0, a1 in spans["MME"] for b0, b1 in spans["DMA"])
assert overlap, "no MME event overlaps a DMA transfer"
# The engines overlap: an MME tile runs while a vector core computes.
overlap = any(a0 < b1 and b0 < a1 for a0, a1 in spans["MME"] for b0, b1 in spans["TPC"])
assert overlap, "no MME event overlaps a vector-core event"
print("accel report and trace: ok")

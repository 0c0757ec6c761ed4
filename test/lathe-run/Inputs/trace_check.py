"""Checks a Chrome trace written by `lathe-run --trace` against what the run
must have done: argv = trace.json report.json calls kernel count shapes."""
import json
import sys

trace_path, report_path, calls, kind, per_call, shapes = sys.argv[1:7]
kernel = kind.split(":", 1)
calls, per_call = int(calls), int(per_call)
doc = json.load(open(trace_path))
events = doc["traceEvents"]
spans = [e for e in events if e.get("ph") == "X"]
assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in spans), spans
call_events = [e for e in spans if e["cat"] == "call"]
assert len(call_events) == calls, call_events
# Calls follow each other on one thread.
call_events.sort(key=lambda e: e["ts"])
for a, b in zip(call_events, call_events[1:]):
    assert a["ts"] + a["dur"] <= b["ts"] + 1e-3, (a, b)
found = [e for e in spans if e["cat"] == kernel[0] and e["name"] == kernel[1]]
assert len(found) == calls * per_call, (len(found), calls, per_call)
assert any(e["args"].get("shapes", "").startswith(shapes) for e in found), \
    [e["args"] for e in found][:4]
# Every traced event lies inside one of the calls.
for e in spans:
    if e["cat"] == "call":
        continue
    assert any(c["ts"] - 1e-3 <= e["ts"] and
               e["ts"] + e["dur"] <= c["ts"] + c["dur"] + 1e-3
               for c in call_events), e
report = json.load(open(report_path))
assert report["trace"] == trace_path, report["trace"]
if kernel[0] == "kernel":
    assert report["kernels"][kernel[1]]["calls"] == per_call, report["kernels"]
print("trace ok:", len(spans), "events")

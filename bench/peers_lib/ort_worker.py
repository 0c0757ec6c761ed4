"""onnxruntime worker for bench/peers; runs under the benchmark's virtual environment's python.

One JSON request per stdin line, one JSON answer per stdout line, so that the benchmark keeps one
onnxruntime process (sessions created once, weights pre-packed once, as a deployment would) and
can interleave its timed batches with the other contenders:
  {"cmd": "load", "key": K, "onnx": PATH, "input": X.npy, "output": Y.npy, "threads": 2}
      creates the session (2 intra-op threads, ORT_ENABLE_ALL, sequential), runs it once on X
      and writes the result to Y (the benchmark checks it against the reference)
  {"cmd": "time", "key": K, "iters": N, "warmup": W}
      W untimed calls, then N calls timed one by one with time.perf_counter: the median in ms
  {"cmd": "quit"}
"""
import json
import statistics
import sys
import time
import traceback

import numpy as np
import onnxruntime as ort


def main():
    sessions = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        try:
            if req["cmd"] == "quit":
                break
            if req["cmd"] == "load":
                so = ort.SessionOptions()
                so.intra_op_num_threads = int(req.get("threads", 2))
                so.inter_op_num_threads = 1
                so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                sess = ort.InferenceSession(req["onnx"], so, providers=["CPUExecutionProvider"])
                x = np.load(req["input"])
                feed = {sess.get_inputs()[0].name: x}
                y = sess.run(None, feed)[0]
                np.save(req["output"], y)
                sessions[req["key"]] = (sess, feed)
                ans = {"ok": True, "version": ort.__version__,
                       "providers": sess.get_providers()}
            elif req["cmd"] == "time":
                sess, feed = sessions[req["key"]]
                for _ in range(int(req.get("warmup", 3))):
                    sess.run(None, feed)
                samples = []
                for _ in range(int(req["iters"])):
                    t = time.perf_counter()
                    sess.run(None, feed)
                    samples.append(time.perf_counter() - t)
                ans = {"ok": True, "median_ms": statistics.median(samples) * 1e3,
                       "min_ms": min(samples) * 1e3, "iters": len(samples)}
            else:
                ans = {"ok": False, "error": f"unknown command {req['cmd']!r}"}
        except Exception as e:  # noqa: BLE001 - reported to the benchmark, which goes on
            ans = {"ok": False, "error": f"{type(e).__name__}: {e}",
                   "trace": traceback.format_exc()[-2000:]}
        print(json.dumps(ans), flush=True)


if __name__ == "__main__":
    main()

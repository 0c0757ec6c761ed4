"""OpenVINO worker for bench/realmodels; runs under the benchmark's virtual environment's python.

The protocol of bench/peers_lib/ort_worker.py (one JSON request per stdin line, one JSON answer
per stdout line), so that compiled models stay loaded and timed batches interleave with the
other contenders:
  {"cmd": "load", "key": K, "onnx": PATH, "input": X.npy, "output": Y.npy, "threads": 2,
   "precision": "f32" | null, "cache_dir": DIR | null}
      reads the ONNX file, compiles it for the CPU plugin (INFERENCE_NUM_THREADS, one stream,
      the LATENCY hint; INFERENCE_PRECISION_HINT only when "precision" is given, so that null
      keeps OpenVINO's default, bf16 on CPUs with AMX), runs it once on X and writes Y; answers
      the precision the compiled model reports
  {"cmd": "time", "key": K, "iters": N, "warmup": W}
      W untimed calls, then N calls timed one by one with time.perf_counter
  {"cmd": "quit"}
"""
import json
import statistics
import sys
import time
import traceback

import numpy as np
import openvino as ov


def main():
    core = ov.Core()
    requests = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        try:
            if req["cmd"] == "quit":
                break
            if req["cmd"] == "load":
                if req.get("cache_dir"):
                    core.set_property({"CACHE_DIR": req["cache_dir"]})
                cfg = {"INFERENCE_NUM_THREADS": int(req.get("threads", 2)),
                       "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
                if req.get("precision"):
                    cfg["INFERENCE_PRECISION_HINT"] = req["precision"]
                compiled = core.compile_model(core.read_model(req["onnx"]), "CPU", cfg)
                infer = compiled.create_infer_request()
                x = np.load(req["input"])
                infer.infer({0: x})
                np.save(req["output"], np.array(infer.get_output_tensor(0).data))
                requests[req["key"]] = (compiled, infer, x)
                ans = {"ok": True, "version": ov.get_version(),
                       "precision": str(compiled.get_property("INFERENCE_PRECISION_HINT"))}
            elif req["cmd"] == "time":
                _, infer, x = requests[req["key"]]
                feed = {0: x}
                for _ in range(int(req.get("warmup", 3))):
                    infer.infer(feed)
                samples = []
                for _ in range(int(req["iters"])):
                    t = time.perf_counter()
                    infer.infer(feed)
                    samples.append(time.perf_counter() - t)
                ans = {"ok": True, "median_ms": statistics.median(samples) * 1e3,
                       "min_ms": min(samples) * 1e3, "iters": len(samples)}
            else:
                ans = {"ok": False, "error": f"unknown command {req['cmd']!r}"}
        except Exception as e:  # noqa: BLE001 - reported to the benchmark, which goes on
            ans = {"ok": False, "error": f"{type(e).__name__}: {e}".replace("\n", " "),
                   "trace": traceback.format_exc()[-2000:]}
        print(json.dumps(ans), flush=True)


if __name__ == "__main__":
    main()

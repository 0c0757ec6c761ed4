#!/usr/bin/env python3
"""kill -9 during training, then --resume: the losses of every step run
(before the kill, and again from the last checkpoint) equal those of an
uninterrupted run with the same seed.

usage: kill_resume.py LATHE_TRAIN [FLAGS...] DIR   (DIR holds mlp.mlir, w.h5,
train.h5; lit may add flags such as --target-cpu to the tool)
"""
import json
import os
import signal
import subprocess
import sys
import time

train, d = sys.argv[1:-1], sys.argv[-1]
common = [*train, f"{d}/mlp.mlir", "--loss=cross-entropy", f"--data={d}/train.h5",
          "--steps=8000", "--lr=0.003", "--seed=5", "--checkpoint-every=50"]
subprocess.run(common + [f"--log={d}/full.jsonl"], check=True,
               stdout=subprocess.DEVNULL)

ck = f"{d}/ck"
proc = subprocess.Popen(common + [f"--checkpoint={ck}", f"--log={d}/part.jsonl"],
                        stdout=subprocess.DEVNULL)
deadline = time.time() + 120
while not os.path.exists(f"{ck}/checkpoint.h5") and proc.poll() is None:
    assert time.time() < deadline, "no checkpoint after 120 s"
    time.sleep(0.01)
time.sleep(0.05)
killed = proc.poll() is None
if killed:
    os.kill(proc.pid, signal.SIGKILL)
proc.wait()
assert killed, "training finished before it could be killed"
subprocess.run(common + [f"--checkpoint={ck}", "--resume", f"--log={d}/part.jsonl"],
               check=True, stdout=subprocess.DEVNULL)

full = {e["step"]: e["loss"] for e in map(json.loads, open(f"{d}/full.jsonl"))}
part = [json.loads(line) for line in open(f"{d}/part.jsonl") if line.strip()]
steps = [e["step"] for e in part]
assert steps[-1] == 7999 and set(steps) == set(full), "steps missing"
bad = [e["step"] for e in part if e["loss"] != full[e["step"]]]
assert not bad, f"losses differ from the uninterrupted run at steps {bad[:5]}"
print(f"killed after {len(steps) - len(full)} repeated step(s) were needed; "
      f"{len(part)} logged steps match the uninterrupted run")

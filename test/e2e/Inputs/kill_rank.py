"""Kills one rank of a multi-rank lathe-train run mid-training and checks that
the whole job ends within 30 s with a non-zero exit and a message naming the
failed rank.

usage: kill_rank.py LOG.jsonl RANK -- lathe-train ARGS... --log=LOG.jsonl
"""
import os
import signal
import subprocess
import sys
import time

log, victim = sys.argv[1], int(sys.argv[2])
cmd = sys.argv[sys.argv.index("--") + 1:]
proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def steps():
    try:
        return sum(1 for line in open(log) if '"step"' in line)
    except FileNotFoundError:
        return 0


deadline = time.time() + 120
while steps() < 3:
    assert proc.poll() is None, "training ended before it could be killed:\n" + proc.stdout.read()
    assert time.time() < deadline, "no training steps within 120 s"
    time.sleep(0.1)

# The rank's process: a lathe-train whose environment says it is that rank.
target = None
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    if (f"OMPI_COMM_WORLD_RANK={victim}".encode() in env
            and any(a.endswith(b"lathe-train") for a in argv[:1])
            and f"--log={log}".encode() in argv):
        target = int(pid)
assert target, f"rank {victim} not found"
os.kill(target, signal.SIGKILL)
killed = time.time()
try:
    out, _ = proc.communicate(timeout=60)
except subprocess.TimeoutExpired:
    proc.kill()
    sys.exit("the job did not end within 60 s of the kill")
took = time.time() - killed
print(out)
assert took <= 30, f"the job took {took:.1f} s to end"
assert proc.returncode != 0, "the job exited with status 0"
assert f"rank {victim}" in out, "no message names the failed rank"
print(f"job ended {took:.1f} s after rank {victim} was killed, status {proc.returncode}")

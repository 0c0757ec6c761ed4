"""Runs a command, waits for its first progress line on stderr, sends SIGINT,
and checks that it exits with 130 after saying it was interrupted."""
import signal
import subprocess
import sys
import time

proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
deadline = time.time() + 120
line = ""
while time.time() < deadline:
    line = proc.stderr.readline()
    if not line or "timed calls," in line:
        break
assert "timed calls," in line, f"no progress line; got {line!r}"
proc.send_signal(signal.SIGINT)
try:
    out, err = proc.communicate(timeout=60)
except subprocess.TimeoutExpired:
    proc.kill()
    sys.exit("lathe-run did not stop after SIGINT")
assert proc.returncode == 130, (proc.returncode, err)
assert "interrupted after" in err, err
print(line.strip())
print(err.strip())

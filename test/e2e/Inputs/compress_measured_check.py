"""Checks lathe-compress --objective=measured's output (test/e2e/lathe-compress.test)
without assuming any timing: every candidate is run (one line each); if a model was written,
its ranks are those of the accepted line with the least measured latency (a fraction of the
dense model's, < 1); otherwise the error says none within the budget was measured faster and
no file exists. usage: compress_measured_check.py OUTPUT.txt WRITTEN.mlir N_CANDIDATES_MIN"""
import os
import re
import sys

text = open(sys.argv[1]).read()
lines = re.findall(r"^  ranks \[([^\]]*)\] flops ([0-9.]+) predicted ([0-9.]+) measured ([0-9.]+) "
                   r"val_accuracy [0-9.]+ \(.*\) (accepted|rejected)$", text, re.M)
m = re.search(r"^(\d+) operating point\(s\); running all", text, re.M)
assert m, text
assert len(lines) == int(m.group(1)) >= int(sys.argv[3]), (len(lines), m.group(1))
accepted = [(float(meas), ranks) for ranks, _, _, meas, verdict in lines if verdict == "accepted"]
chosen = re.search(r"^chosen by measured latency: ranks \[([^\]]*)\]$", text, re.M)
if chosen:
    best = min(accepted)
    assert chosen.group(1) == best[1], (chosen.group(1), best)
    assert best[0] < 1.0, best
    assert os.path.exists(sys.argv[2])
    print("chosen", best)
else:
    assert "was measured faster than the dense model" in text, text
    assert not os.path.exists(sys.argv[2])
    print("none faster", accepted)

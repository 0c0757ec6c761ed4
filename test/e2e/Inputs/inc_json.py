"""Extracts the JSON of a C++ raw string R"json(...)json" (lib/Target/CPU/CpuLowRankTable.inc).
usage: inc_json.py IN.inc OUT.json"""
import json
import sys

text = open(sys.argv[1]).read()
body = text[text.index('R"json(') + len('R"json('):text.rindex(')json"')]
json.loads(body)  # must be valid JSON
open(sys.argv[2], "w").write(body)

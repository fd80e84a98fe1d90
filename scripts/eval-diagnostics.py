#!/usr/bin/env python3
"""Shape-agnostic diagnostics from a `lidit eval --json` report: what a model has learned before it
draws recognisable shapes. Not the benchmark score (that is GenEval's rules, which demand shapes).

    python3 scripts/eval-diagnostics.py REPORT.json

Per case it checks, ignoring the detected shapes:
  - drawn:        at least one object was detected;
  - object count: the number of detected objects equals the number the prompt asks for;
  - colors:       every colored object in the prompt has at least its count of objects in that color.
"""
import json, sys

report = json.load(open(sys.argv[1]))
totals = {"cases": 0, "drawn": 0, "count": 0, "color_cases": 0, "colors": 0}
for case in report["cases"]:
    expected, detected = case["expected"], case["detected"]
    totals["cases"] += 1
    totals["drawn"] += bool(detected)
    totals["count"] += len(detected) == sum(e["count"] for e in expected)
    colored = [e for e in expected if e.get("color")]
    if colored:
        totals["color_cases"] += 1
        totals["colors"] += all(sum(o["color"] == e["color"] for o in detected) >= e["count"] for e in colored)
n = max(totals["cases"], 1)
print(f"cases {totals['cases']}: drawn {totals['drawn'] / n:.3f} · object count right {totals['count'] / n:.3f} · "
      f"named colors present {totals['colors'] / max(totals['color_cases'], 1):.3f} (of {totals['color_cases']} cases naming colors)")

#!/usr/bin/env python3
"""Shape-agnostic diagnostics from a `lidit eval --json` report: what a model has learned before it
draws recognisable shapes. Not the benchmark score (that is GenEval's rules, which demand shapes).

    python3 scripts/eval-diagnostics.py REPORT.json

Per case it checks, ignoring the detected shapes:
  - drawn:        at least one object was detected;
  - object count: the number of detected objects equals the number the prompt asks for;
  - colors:       every colored object in the prompt has at least its count of objects in that color;
  - shapes:       of the detected objects, the share whose outline the detector recognised as one
                  of the eight shapes (any shape; whether it is the asked one is the benchmark's job).
For a positional-bias probe report it also prints, per prompt length and place in the prompt, how
often the object named there was drawn in its color (the probe's question without the shape test).
"""
import json, sys
from collections import defaultdict


def diagnostics(report):
    """Fractions of cases: drawn, count (object count right), colors (named colors present), and
    shapes (share of detected objects with a recognised shape)."""
    t = defaultdict(int)
    for case in report["cases"]:
        expected, detected = case["expected"], case["detected"]
        t["cases"] += 1
        t["drawn"] += bool(detected)
        t["count"] += len(detected) == sum(e["count"] for e in expected)
        t["objects"] += len(detected)
        t["shaped"] += sum(o["shape"] is not None for o in detected)
        colored = [e for e in expected if e.get("color")]
        if colored:
            t["color_cases"] += 1
            t["colors"] += all(sum(o["color"] == e["color"] for o in detected) >= e["count"] for e in colored)
    n = max(t["cases"], 1)
    return {"cases": t["cases"], "drawn": t["drawn"] / n, "count": t["count"] / n,
            "colors": t["colors"] / max(t["color_cases"], 1), "color_cases": t["color_cases"],
            "shapes": t["shaped"] / max(t["objects"], 1)}


def probe_colors(report):
    """{(segments, position): fraction of images where the object named at that place was drawn in
    its color}, positions counted from 1."""
    hits, totals = defaultdict(int), defaultdict(int)
    for case in report["cases"]:
        expected, detected = case["expected"], case["detected"]
        for place, e in enumerate(expected, start=1):
            key = (len(expected), place)
            totals[key] += 1
            hits[key] += any(o["color"] == e["color"] for o in detected)
    return {key: hits[key] / totals[key] for key in sorted(totals)}


if __name__ == "__main__":
    report = json.load(open(sys.argv[1]))
    d = diagnostics(report)
    print(f"cases {d['cases']}: drawn {d['drawn']:.3f} · object count right {d['count']:.3f} · "
          f"named colors present {d['colors']:.3f} (of {d['color_cases']} cases naming colors) · "
          f"detected objects with a recognised shape {d['shapes']:.3f}")
    if report["cases"] and report["cases"][0]["task"] == "positional_bias":
        for (segments, place), share in probe_colors(report).items():
            print(f"probe {segments} objects, place {place}: named color drawn {share:.3f}")

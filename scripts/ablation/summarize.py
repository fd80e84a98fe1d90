#!/usr/bin/env python3
"""Prints the ablation tables (markdown) from runs/ablation/*/{eval,heldout,probe}.json: GenEval's
rules per task, the shape-agnostic diagnostics of scripts/eval-diagnostics.py, and the
positional-bias probe both ways (GenEval's segment score and "the named color was drawn")."""
import glob, importlib.util, json, os

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("diag", os.path.join(here, "..", "eval-diagnostics.py"))
diag = importlib.util.module_from_spec(spec)
spec.loader.exec_module(diag)

tasks = ["single_object", "two_object", "counting", "colors", "position", "color_attr"]
runs = []
for run in sorted(glob.glob("runs/ablation/*")):
    reports = {}
    for kind in ("eval", "heldout", "probe"):
        path = f"{run}/{kind}.json"
        if os.path.exists(path):
            reports[kind] = json.load(open(path))
    if "eval" in reports:
        runs.append((os.path.basename(run), reports))

nan = float("nan")
print("GenEval rules (fraction of images passing):\n")
print("| variant | " + " | ".join(tasks) + " | overall | held-out |")
print("|---" * (len(tasks) + 3) + "|")
for name, r in runs:
    ev, held = r["eval"], r.get("heldout", {})
    row = [f"{ev['tasks'].get(t, nan):.3f}" for t in tasks]
    print(f"| {name} | " + " | ".join(row) + f" | {ev['overall']:.3f} | {held.get('overall', nan):.3f} |")

print("\nShape-agnostic diagnostics (main set; held-out in the last column):\n")
print("| variant | drawn | object count right | named colors present | recognised shapes | held-out colors present |")
print("|---|---|---|---|---|---|")
for name, r in runs:
    d = diag.diagnostics(r["eval"])
    h = diag.diagnostics(r["heldout"])["colors"] if "heldout" in r else nan
    print(f"| {name} | {d['drawn']:.3f} | {d['count']:.3f} | {d['colors']:.3f} | {d['shapes']:.3f} | {h:.3f} |")

probed = [(name, r["probe"]) for name, r in runs if "probe" in r]
if probed:
    places = sorted({(p["segments"], p["position"]) for _, rep in probed for p in rep["positional_bias"]})
    header = " | ".join(f"{s}:{p}" for s, p in places)
    for title, value in (
        ("GenEval segment score", lambda rep: {(p["segments"], p["position"]): p["score"] for p in rep["positional_bias"]}),
        ("named color drawn", diag.probe_colors),
    ):
        print(f"\nPositional-bias probe, {title} by (objects in the prompt : place of the object):\n")
        print(f"| variant | {header} |")
        print("|---" * (len(places) + 1) + "|")
        for name, rep in probed:
            v = value(rep)
            print(f"| {name} | " + " | ".join(f"{v.get(k, nan):.3f}" for k in places) + " |")

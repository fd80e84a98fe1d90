#!/usr/bin/env python3
"""Prints the ablation tables (markdown) from runs/ablation/*/{eval,heldout,probe}.json."""
import glob, json, os

tasks = ["single_object", "two_object", "counting", "colors", "position", "color_attr"]
print("| variant | " + " | ".join(tasks) + " | overall | held-out |")
print("|---" * (len(tasks) + 3) + "|")
probes = {}
for run in sorted(glob.glob("runs/ablation/*")):
    name = os.path.basename(run)
    try:
        ev = json.load(open(f"{run}/eval.json"))
    except FileNotFoundError:
        continue
    held = json.load(open(f"{run}/heldout.json")) if os.path.exists(f"{run}/heldout.json") else {}
    row = [f"{ev['tasks'].get(t, float('nan')):.3f}" for t in tasks]
    print(f"| {name} | " + " | ".join(row) + f" | {ev['overall']:.3f} | {held.get('overall', float('nan')):.3f} |")
    if os.path.exists(f"{run}/probe.json"):
        probes[name] = json.load(open(f"{run}/probe.json")).get("positional_bias")
if probes:
    print("\nPositional-bias probe (segment accuracy by position in the prompt):\n")
    for name, p in probes.items():
        print(f"- {name}: {json.dumps(p)}")

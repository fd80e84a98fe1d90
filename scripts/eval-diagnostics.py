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
Per asked shape it prints how often an object of that shape was drawn (any color, any place) and
what the detector saw instead: the one diagnostic here that does look at shapes, to follow which
outlines a model has learned while the benchmark still fails them.
For prompts that name two different shapes it prints how often both were drawn, and how often every
recognised object has one shape (the model drew one of the asked shapes for both objects: shape
binding has failed even though the count and colors may be right). Where the two objects also have
two different colors, it counts, over the detected objects in each named color with a recognised
shape, how many have their own asked shape and how many the other object's: equal counts mean the
shape is chosen for the picture as a whole, not bound to the object's color.
For relation prompts it prints how often the subject is on the asked side, per relation and split
by whether every object's color is named (without a color an object is found by its shape alone).
Per (color, shape) pair a prompt names, the pass rate of its prompts, split by whether the pair's
size is named: on the held-out set this shows which unseen pairing fails and whether a size word
rescues it.
For a positional-bias probe report it also prints, per prompt length and place in the prompt, how
often the object named there was drawn in its color (the probe's question without the shape test).
"""
import json, sys
from collections import Counter, defaultdict


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


def shape_recall(report):
    """{asked shape: (hits, asked, Counter of what single-object cases drew instead)}: an object
    named with a shape counts as drawn when at least its count of detected objects has that shape."""
    hits, asked, instead = defaultdict(int), defaultdict(int), defaultdict(Counter)
    for case in report["cases"]:
        expected, detected = case["expected"], case["detected"]
        for e in expected:
            if not e.get("shape"):
                continue
            asked[e["shape"]] += 1
            hits[e["shape"]] += sum(o["shape"] == e["shape"] for o in detected) >= e["count"]
        if len(expected) == 1 and expected[0].get("shape") and expected[0]["count"] == 1:
            for o in detected:
                if o["shape"] != expected[0]["shape"]:
                    instead[expected[0]["shape"]][o["shape"] or "blob"] += 1
    return {s: (hits[s], asked[s], instead[s]) for s in sorted(asked)}


def pair_binding(report):
    """(cases naming exactly two different shapes, cases with both drawn, cases whose two or more
    recognised objects all have the same shape)."""
    cases = both = one_shape = 0
    for case in report["cases"]:
        asked = {e["shape"] for e in case["expected"] if e.get("shape")}
        if len(case["expected"]) != 2 or len(asked) != 2:
            continue
        cases += 1
        drawn = [o["shape"] for o in case["detected"] if o["shape"]]
        both += asked <= set(drawn)
        one_shape += len(drawn) >= 2 and len(set(drawn)) == 1
    return cases, both, one_shape


def color_shape_binding(report):
    """(objects in a named color with a recognised shape, of those with their own asked shape, of
    those with the other object's asked shape), over prompts naming two colors and two shapes."""
    total = own = other = 0
    for case in report["cases"]:
        e = case["expected"]
        if len(e) != 2 or not all(o.get("shape") and o.get("color") for o in e):
            continue
        if e[0]["shape"] == e[1]["shape"] or e[0]["color"] == e[1]["color"]:
            continue
        for i, asked in enumerate(e):
            for o in case["detected"]:
                if o["color"] == asked["color"] and o["shape"]:
                    total += 1
                    own += o["shape"] == asked["shape"]
                    other += o["shape"] == e[1 - i]["shape"]
    return total, own, other


def pair_pass_rates(report):
    """{(color, shape): {size named: (prompts, passed)}} over the prompts' colored objects."""
    rates = defaultdict(lambda: {True: [0, 0], False: [0, 0]})
    for case in report["cases"]:
        for o in {(o["color"], o["shape"], o.get("size") is not None) for o in case["expected"] if o.get("color")}:
            rates[o[:2]][o[2]][0] += 1
            rates[o[:2]][o[2]][1] += bool(case["passed"])
    return rates


def relation_direction(report):
    """{relation: (cases where both the subject and the object were found, of those with the
    subject on the asked side along the relation's axis)}. An object is found by its asked shape
    and color, else by its color alone, so a misdrawn shape still shows where the model put it.
    Coordinates are image ones (y grows downwards). Near one half means the relation is ignored."""
    found, right = defaultdict(int), defaultdict(int)

    def locate(asked, detected):
        for match in (lambda o: o["shape"] == asked["shape"] and asked.get("color") in (None, o["color"]),
                      lambda o: asked.get("color") is not None and o["color"] == asked["color"]):
            hits = [o for o in detected if match(o)]
            if hits:
                return hits[0]
        return None

    for case in report["cases"]:
        relation = case.get("relation")
        if not relation:
            continue
        subject = locate(case["expected"][relation["subject"]], case["detected"])
        target = locate(case["expected"][relation["object"]], case["detected"])
        if subject is None or target is None or subject is target:
            continue
        kind = relation["relation"]
        found[kind] += 1
        right[kind] += {"left of": subject["x"] < target["x"], "right of": subject["x"] > target["x"],
                        "above": subject["y"] < target["y"], "below": subject["y"] > target["y"]}[kind]
    return {k: (found[k], right[k]) for k in sorted(found)}


if __name__ == "__main__":
    report = json.load(open(sys.argv[1]))
    d = diagnostics(report)
    print(f"cases {d['cases']}: drawn {d['drawn']:.3f} · object count right {d['count']:.3f} · "
          f"named colors present {d['colors']:.3f} (of {d['color_cases']} cases naming colors) · "
          f"detected objects with a recognised shape {d['shapes']:.3f}")
    if report["cases"] and report["cases"][0]["task"] == "positional_bias":
        for (segments, place), share in probe_colors(report).items():
            print(f"probe {segments} objects, place {place}: named color drawn {share:.3f}")
    pairs, both, one_shape = pair_binding(report)
    if pairs:
        print(f"two-shape prompts {pairs}: both asked shapes drawn {both / pairs:.3f} · "
              f"every recognised object the same shape {one_shape / pairs:.3f}")
    total, own, other = color_shape_binding(report)
    if total:
        print(f"objects in a named color ({total}): with their own asked shape {own / total:.3f} · "
              f"with the other object's {other / total:.3f}")
    recall = shape_recall(report)
    if recall:
        total = sum(h for h, _, _ in recall.values()) / max(sum(a for _, a, _ in recall.values()), 1)
        print(f"asked shape drawn {total:.3f}: " + " · ".join(
            f"{s} {h}/{a}" for s, (h, a, _) in recall.items()))
        for s, (_, _, instead) in recall.items():
            if instead:
                print(f"  single {s} drawn as: " + ", ".join(f"{k} {v}" for k, v in instead.most_common()))
    rates = pair_pass_rates(report)
    if rates:
        def share(n, k): return f"{k}/{n}" if n else "-"
        worst = sorted(rates.items(), key=lambda kv: sum(v[1] for v in kv[1].values()) / sum(v[0] for v in kv[1].values()))
        print("named (color, shape) pairs, worst first, passed with / without a size word: " + " · ".join(
            f"{c} {s} {share(*r[True])} / {share(*r[False])}" for (c, s), r in worst[:8]))
    direction = relation_direction(report)
    if direction:
        n = sum(f for f, _ in direction.values())
        print(f"relation prompts with both objects found ({n}): subject on the asked side "
              f"{sum(r for _, r in direction.values()) / n:.3f} · " +
              " · ".join(f"{k} {r}/{f}" for k, (f, r) in direction.items()))
        # Colorless prompts locate objects by shape alone: this split tells a model that places
        # colors by the relation apart from one that also binds shapes to places.
        for label, named in (("every object's color named", True), ("some color not named", False)):
            group = {"cases": [c for c in report["cases"] if c.get("relation")
                               and all(o.get("color") for o in c["expected"]) == named]}
            f, r = map(sum, zip(*relation_direction(group).values() or [(0, 0)]))
            if f:
                print(f"  {label}: subject on the asked side {r}/{f}")

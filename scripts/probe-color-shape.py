#!/usr/bin/env python3
"""Which color-shape pairs does an LLM read as more than a color plus a shape?

Encodes "a C S" for every palette color C and shape S (the encoder's instruction template on,
layer -3, as the model reads them) and fits the shape word's hidden state as mean + color effect +
shape effect. What is left over is the pair's interaction: a pair the LLM reads as a phrase of its
own ("red cross", "blue cross") lands away from where its color and shape put it, and a DiT that
never saw the pair has to compose it from tokens unlike any it was trained on. Prints, per encoder,
the largest interactions (relative to the shape's own effect) and the held-out pairs' ranks.

Usage: scripts/probe-color-shape.py [LIDIT] (default .build/release/lidit)
"""
import os, subprocess, sys, tempfile
import numpy as np

lidit = sys.argv[1] if len(sys.argv) > 1 else ".build/release/lidit"
colors = "red orange yellow green blue purple pink brown black white".split()
shapes = "circle square triangle star heart cross diamond ring".split()
# Sources/Shapes/Scene.swift, HeldOut: the pairs no training picture shows.
held_out = {("red", "triangle"), ("orange", "ring"), ("yellow", "heart"), ("green", "star"), ("blue", "cross"), ("purple", "circle"),
            ("pink", "diamond"), ("brown", "square")}


def shape_token(encoder, color, shape, folder):
    path = os.path.join(folder, f"{encoder}-{color}-{shape}.npy")
    subprocess.run([lidit, "encode", "--encoder", encoder, "--prompt", f"a {color} {shape}", "--npy", path],
                   check=True, stdout=subprocess.DEVNULL)
    h = np.load(path)[-1]
    return (h - h.mean()) / h.std()  # per-token standardisation, as the refiner's feature normalisation


with tempfile.TemporaryDirectory() as folder:
    for encoder in ["smollm2", "gemma3"]:
        h = {(c, s): shape_token(encoder, c, s, folder) for s in shapes for c in colors}
        mean = np.mean(list(h.values()), 0)
        color_effect = {c: np.mean([h[c, s] for s in shapes], 0) - mean for c in colors}
        shape_effect = {s: np.mean([h[c, s] for c in colors], 0) - mean for s in shapes}
        interaction = {(c, s): np.linalg.norm(v - mean - color_effect[c] - shape_effect[s]) / np.linalg.norm(shape_effect[s])
                       for (c, s), v in h.items()}
        order = sorted(interaction, key=interaction.get, reverse=True)
        print(f"{encoder}: largest interactions (residual / shape effect; * held out)")
        print("  " + "  ".join(f"{c} {s} {interaction[c, s]:.2f}{'*' if (c, s) in held_out else ''}" for c, s in order[:10]))
        print("  held-out pairs' ranks of", len(order), ": " +
              ", ".join(f"{c} {s} {order.index((c, s)) + 1}" for c, s in sorted(held_out, key=order.index)))

#!/usr/bin/env python3
"""Does an LLM's hidden state tell a relation word it was never trained on apart from its opposite?

For each encoder and layer, encodes "a triangle R a ring" for the trained pairs (left of / right of,
above / below) and for untrained words (west / east, farther left / right than, north / south, higher / lower than), and projects each untrained
word's hidden state onto the trained pair's axis: +1 reads like the first word of the pair ("left
of", "above"), -1 like the second. A word the DiT could follow without being taught it lands near
its meaning's sign and apart from its opposite; two opposites landing together carry nothing the
DiT can use. Token positions count from the end of the prompt: -1 is "ring" (it has read the whole
prompt), -3 the relation's last token ("of", "above").

Usage: scripts/probe-relation-words.py [LIDIT] (default .build/release/lidit)
"""
import os, subprocess, sys, tempfile
import numpy as np

lidit = sys.argv[1] if len(sys.argv) > 1 else ".build/release/lidit"
layers = {"smollm2": [6, 12, 18, 24, -3], "gemma3": [3, 6, 9, 12, -3]}
axes = [("left of", "right of", ["west of", "east of"]), ("left of", "right of", ["farther left than", "farther right than"]),
        ("above", "below", ["north of", "south of"]), ("above", "below", ["higher than", "lower than"])]
positions = [-1, -3]


def hidden(encoder, layer, relation, folder):
    path = os.path.join(folder, f"{encoder}-{layer}-{relation.replace(' ', '_')}.npy")
    if not os.path.exists(path):
        subprocess.run([lidit, "encode", "--encoder", encoder, "--layer", str(layer),
                        "--prompt", f"a triangle {relation} a ring", "--npy", path],
                       check=True, stdout=subprocess.DEVNULL)
    h = np.load(path)
    # Per-token standardisation, as the refiner's feature normalisation does.
    return (h - h.mean(1, keepdims=True)) / h.std(1, keepdims=True)


with tempfile.TemporaryDirectory() as folder:
    for encoder, encoder_layers in layers.items():
        for layer in encoder_layers:
            cells = []
            for first, second, untrained in axes:
                for position in positions:
                    a = hidden(encoder, layer, first, folder)[position]
                    b = hidden(encoder, layer, second, folder)[position]
                    axis, middle = a - b, (a + b) / 2
                    projections = [2 * float(np.dot(hidden(encoder, layer, word, folder)[position] - middle, axis)
                                             / np.dot(axis, axis)) for word in untrained]
                    cells.append(f"{untrained[0]} / {untrained[1]} @{position} "
                                 + " ".join(f"{p:+.2f}" for p in projections))
            print(f"{encoder} layer {layer}:\n    " + "\n    ".join(cells))

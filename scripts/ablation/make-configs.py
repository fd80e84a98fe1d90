#!/usr/bin/env python3
"""Writes configs/ablation/*.json: the LI-DiT ablation variants (issue 7), all with the same data,
steps, seed and DiT size, differing only in the prompt encoder. Usage (from the repo root):
    .build/release/lidit train --print-config > /tmp/standard.json
    python3 scripts/ablation/make-configs.py /tmp/standard.json
"""
import copy, json, sys

base = json.load(open(sys.argv[1]))
base["optimizer"]["totalSteps"] = 1600
base["optimizer"]["warmupSteps"] = 160
base["data"]["captions"] = 3000
base["batchSize"] = 32
base["sampleEvery"] = 800
# A smaller DiT than the default model (same 64x64 pictures and 8x8 patches) so that all eight
# variants train in one budget on 2 cores; only the prompt encoder differs between them.
base["model"]["width"] = 128
base["model"]["depth"] = 4
base["model"]["refiner"]["width"] = 128
smol, gemma = base["encoders"]
smol_branch, gemma_branch = base["model"]["refiner"]["branches"]

def variant(encoders, branches, layer, instruction, refiner, collaborative=True, causal=False):
    c = copy.deepcopy(base)
    c["encoders"] = []
    for e in encoders:
        e = copy.deepcopy(e)
        e["layer"] = layer
        e["template"]["enabled"] = instruction
        c["encoders"].append(e)
    c["model"]["refiner"]["branches"] = copy.deepcopy(branches)
    c["model"]["refiner"]["tokenRefiner"] = refiner
    c["model"]["refiner"]["collaborativeRefiner"] = collaborative
    c["model"]["refiner"]["causalMask"] = causal
    return c

variants = {
    "a-smollm2-naive": variant([smol], [smol_branch], -1, False, False),
    "b-smollm2-instruction": variant([smol], [smol_branch], -1, True, False),
    "c-smollm2-refiner": variant([smol], [smol_branch], -1, False, True),
    "d-smollm2-instruction-refiner-l3": variant([smol], [smol_branch], -3, True, True),
    "e-smollm2-causal-refiner": variant([smol], [smol_branch], -3, True, True, causal=True),
    "f-gemma3-full": variant([gemma], [gemma_branch], -3, True, True),
    "g-both-concat": variant([smol, gemma], [smol_branch, gemma_branch], -3, True, True, collaborative=False),
    "h-both-collaborative": variant([smol, gemma], [smol_branch, gemma_branch], -3, True, True, collaborative=True),
}
for name, c in variants.items():
    with open(f"configs/ablation/{name}.json", "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"configs/ablation/{name}.json")

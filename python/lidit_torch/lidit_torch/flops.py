"""FLOPs per sample (2 × multiply-adds of every GEMM and attention product), as the Swift
`LIDiTModel.forwardFlopsPerSample`, and what they imply for throughput on a GPU.

    python -m lidit_torch.flops --model models/lidit-shapes.safetensors [--widen 4] [--peak-tflops 989] [--mfu 0.3]

A training step costs about 3× the forward FLOPs (forward + backward). Samples/s per GPU =
peak · utilisation / (3 · forward FLOPs); the utilisation is an assumption, not a measurement.
"""
from __future__ import annotations

import argparse
import copy

from .modelfile import ModelFile, model_settings, refiner_settings


def attention_flops(queries, keys, dim, context_dim, heads):
    return 2 * (queries * dim * dim * 2 + keys * context_dim * dim * 2) + 2 * heads * queries * keys * (dim // heads) * 2


def forward_flops_per_sample(model_cfg: dict, text_tokens) -> int:
    r = refiner_settings(model_cfg["refiner"])
    m = model_settings(model_cfg)
    d, h = r["width"], r["mlpRatio"] * r["width"]
    L = list(text_tokens)
    total = sum(L)
    f = 0
    for a, b in enumerate(r["branches"]):
        f += 2 * L[a] * b["width"] * d
        if r["conditioned"]:
            f += 2 * (b["width"] * d + d * d + 256 * d + d * d)
        for _ in range(r["effectiveBlocks"]):
            f += 2 * d * 2 * d + attention_flops(L[a], L[a], d, d, r["heads"]) + 2 * L[a] * 2 * d * h
        for _ in range(r["effectiveCollaborativeBlocks"]):
            f += 2 * d * 6 * d + attention_flops(L[a], total - L[a], d, d, r["heads"]) + 2 * L[a] * 2 * d * h
    ly = sum(max(0, l - b["instructionTokens"]) for l, b in zip(L, r["branches"]))
    D, p = m["width"], m["patch"]
    T = (m["imageSize"] // p) ** 2
    P = p * p * m["channels"]
    f += 2 * T * P * D + 2 * (256 * D + D * D) + 2 * D * 2 * D + 2 * T * D * P
    if m["pooledText"]:
        f += 2 * (d * D + D * D)
    for _ in range(m["depth"]):
        f += (2 * D * 9 * D + attention_flops(T, T, D, D, m["heads"]) + attention_flops(T, ly, D, d, m["heads"])
              + 2 * T * 2 * D * m["mlpRatio"] * D)
    return f


def widened(model_cfg: dict, factor: int) -> dict:
    cfg = copy.deepcopy(model_cfg)
    cfg["width"] = model_settings(cfg)["width"] * factor
    cfg["heads"] = model_settings(cfg)["heads"] * factor
    return cfg


def parameter_count(model_cfg: dict) -> int:
    from .modelfile import layout
    import numpy as np
    return sum(int(np.prod(s)) for _, s in layout(model_cfg))


def main(argv=None):
    p = argparse.ArgumentParser(prog="lidit_torch.flops")
    p.add_argument("--model", default="models/lidit-shapes.safetensors")
    p.add_argument("--widen", type=int, default=1, help="multiply the DiT width and heads by this")
    p.add_argument("--text-tokens", default=None, help="tokens per LLM branch, e.g. 45,36 (default: instruction + 12)")
    p.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak of the GPU (H100/H200 SXM: 989)")
    p.add_argument("--mfu", type=float, default=0.3, help="assumed share of the peak a training step reaches")
    a = p.parse_args(argv)
    cfg = ModelFile.read(a.model).model_config
    if a.widen > 1:
        cfg = widened(cfg, a.widen)
    branches = cfg["refiner"]["branches"]
    L = [int(x) for x in a.text_tokens.split(",")] if a.text_tokens else [b["instructionTokens"] + 12 for b in branches]
    f = forward_flops_per_sample(cfg, L)
    train = 3 * f
    sps = a.peak_tflops * 1e12 * a.mfu / train
    print(f"parameters {parameter_count(cfg)}  text tokens {L}  forward {f / 1e9:.3f} GFLOP/sample  "
          f"training {train / 1e9:.3f} GFLOP/sample  estimate {sps:,.0f} samples/s per GPU "
          f"at {a.mfu:.0%} of {a.peak_tflops:.0f} TFLOP/s")


if __name__ == "__main__":
    main()

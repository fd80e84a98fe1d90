"""AdamW + EMA + schedule exactly as `Sources/Training/Optimizer.swift` (`lidit train`).

    lr(step)  = peak·(step+1)/warmup during warmup, then cosine to finalLearningRateFraction·peak
    g         = grad · min(1, clip/‖grad‖)          (global norm, summed in float64)
    m, v      = β₁m + (1−β₁)g,  β₂v + (1−β₂)g²
    w        -= lr·( m̂/(√v̂ + 1e-8) + wd·w )          (wd only on matrices: tensors of rank ≥ 2)
    ema       = d·ema + (1−d)·w,  d = min(emaDecay, (1+t)/(10+t)), t = step+1

The scalars are computed in float32 as the Swift code does. Works on plain tensors and on FSDP2
DTensor shards alike (the norm is reduced over the shards).
"""
from __future__ import annotations

import math
from typing import List, Tuple

import numpy as np
import torch

f32 = np.float32


def learning_rate(opt: dict, step: int) -> float:
    peak = f32(opt["learningRate"])
    warm = int(opt["warmupSteps"])
    if step < warm:
        return float(peak * f32(step + 1) / f32(warm))
    total = int(opt["totalSteps"])
    progress = min(f32(1), f32(step - warm) / f32(max(1, total - warm)))
    cosine = f32(0.5) * (f32(1) + f32(math.cos(float(f32(math.pi) * progress))))
    final = f32(opt["finalLearningRateFraction"])
    return float(peak * (final + (f32(1) - final) * cosine))


def _full(x: torch.Tensor) -> torch.Tensor:
    return x.full_tensor() if hasattr(x, "full_tensor") else x


class AdamWEMA:
    def __init__(self, named_params: List[Tuple[str, torch.nn.Parameter]], opt: dict):
        self.names = [n for n, _ in named_params]
        self.params = [p for _, p in named_params]
        self.opt = opt
        self.m = [torch.zeros_like(p, dtype=torch.float32) for p in self.params]
        self.v = [torch.zeros_like(p, dtype=torch.float32) for p in self.params]
        self.ema = [p.detach().clone().float() for p in self.params]
        self.decays = [p.dim() >= 2 for p in self.params]

    @torch.no_grad()
    def gradient_norm(self) -> float:
        total = None
        for p in self.params:
            if p.grad is None:
                continue
            s = p.grad.double().pow(2).sum()
            total = s if total is None else total + s
        return math.sqrt(float(_full(total))) if total is not None else 0.0

    @torch.no_grad()
    def step(self, step: int) -> float:
        """One update at 0-based `step`; returns the gradient norm before clipping."""
        o = self.opt
        norm = self.gradient_norm()
        clip = f32(1)
        if o["gradientClip"] > 0 and norm > float(f32(o["gradientClip"])):
            clip = f32(float(f32(o["gradientClip"])) / norm)
        lr = f32(learning_rate(o, step))
        b1, b2, wd = f32(o["beta1"]), f32(o["beta2"]), f32(o["weightDecay"])
        t = f32(step + 1)
        c1 = f32(1) / (f32(1) - np.power(b1, t))
        c2 = f32(1) / (f32(1) - np.power(b2, t))
        decay = min(f32(o["emaDecay"]), (f32(1) + t) / (f32(10) + t))
        for p, m, v, e, dec in zip(self.params, self.m, self.v, self.ema, self.decays):
            if p.grad is None:
                continue
            g = p.grad.float() * float(clip) if clip != 1 else p.grad.float()
            m.mul_(float(b1)).add_(g * float(f32(1) - b1))
            v.mul_(float(b2)).add_(g * g * float(f32(1) - b2))
            update = (m * float(c1)) / ((v * float(c2)).sqrt() + 1e-8)
            if dec and wd != 0:
                update = update + p.data.float() * float(wd)
            p.data.sub_((update * float(lr)).to(p.dtype))
            e.mul_(float(decay)).add_(p.data.float() * float(f32(1) - decay))
        return norm

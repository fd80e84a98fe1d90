"""The LI-DiT network in PyTorch, the twin of the Swift one (Sources/PromptEncoder, Sources/Diffusion).

Parameter names and shapes are the Swift `ParameterStore` names (`encoder.smollm2.refiner.input.weight`,
`dit.blocks.0.cross_attn.q_norm.weight`, ...); `flat_parameters` / `load_flat` convert to and from
the model file's flat buffer in the Swift declaration order (`modelfile.layout`).

    prompt encoder (per LLM branch a):
        x̃   = LN(x) (no affine, eps 1e-6; `normalizeFeatures`)
        c_a  = TimeEmb(1000σ) + MLP_c(masked mean of x̃)
        h    = Linear_in(x̃) → token-refiner blocks (gates from SiLU(c_a); bidirectional attention over
               valid tokens plus token 0)
        → collaborative blocks (each branch cross-attends to the other branches' pre-block tokens)
        Y    = concat over branches of fusion_a · h[instruction tokens dropped]  (masked: padding, null text)
    DiT:
        h₀   = Linear(patchify(x_σ)) + PE₂ᴅ;  c = TimeEmb(1000σ) + MLP_y(masked mean of Y)
        blocks: adaLN-Zero [self-attn (QK RMSNorm) → cross-attn(Y) → MLP]
        out  = unpatchify(Linear(LN(h)(1+scale)+shift))
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .modelfile import layout, model_settings, refiner_settings

ACTIVATIONS = {
    "silu": F.silu,
    "geluTanh": lambda x: F.gelu(x, approximate="tanh"),
    "identity": lambda x: x,
}


def timestep_sinusoid(t: torch.Tensor, dim: int = 256, max_period: float = 10000.0) -> torch.Tensor:
    """[cos(t·f), sin(t·f)], f_i = exp(−ln(max_period)·i/half), in float64 as the Swift code."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float64, device=t.device) / half)
    a = t.to(torch.float64)[:, None] * freqs[None]
    return torch.cat([torch.cos(a), torch.sin(a)], dim=1).to(torch.float32)


def sincos_position_embedding_2d(dim: int, grid_h: int, grid_w: int) -> torch.Tensor:
    """[T, dim]: column sin, column cos, row sin, row cos, ω_i = 10000^(−i/(dim/4))."""
    q = dim // 4
    omega = 1.0 / np.power(10000.0, np.arange(q, dtype=np.float64) / q)
    rows, cols = np.meshgrid(np.arange(grid_h, dtype=np.float64), np.arange(grid_w, dtype=np.float64), indexing="ij")
    a = cols.reshape(-1)[:, None] * omega[None]
    b = rows.reshape(-1)[:, None] * omega[None]
    pe = np.concatenate([np.sin(a), np.cos(a), np.sin(b), np.cos(b)], axis=1).astype(np.float32)
    return torch.from_numpy(pe)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """x [B, L, D], mask [B, L] bool → [B, D]; a row without valid tokens pools to zero."""
    m = mask.to(x.dtype)
    n = m.sum(1, keepdim=True)
    return (x * m[..., None]).sum(1) * torch.where(n > 0, 1.0 / n.clamp_min(1), torch.zeros_like(n))


def modulate(x, shift, scale):
    return x * (1 + scale[:, None]) + shift[:, None]


class MLP(nn.Module):
    def __init__(self, i, h, o, activation):
        super().__init__()
        self.fc1 = nn.Linear(i, h)
        self.fc2 = nn.Linear(h, o)
        self.act = ACTIVATIONS[activation]

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TimestepEmbedder(nn.Module):
    def __init__(self, dim, frequency_dim=256):
        super().__init__()
        self.frequency_dim = frequency_dim
        self.mlp = MLP(frequency_dim, dim, dim, "silu")

    def forward(self, t):
        return self.mlp(timestep_sinusoid(t, self.frequency_dim))


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight.to(x.dtype)


class Attention(nn.Module):
    """q/k/v/out with biases, optional per-head QK RMSNorm; `context` given = cross-attention.

    Masking as the Swift kernels: key j is attended when key_valid[b, j] (and j ≤ t when causal);
    a query row with no allowed key gets zero probabilities (output = the out projection's bias)."""

    def __init__(self, dim, heads, qk_norm, context_dim=None):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        cd = context_dim or dim
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(cd, dim)
        self.v = nn.Linear(cd, dim)
        self.out = nn.Linear(dim, dim)
        if qk_norm:
            self.q_norm = RMSNorm(self.head_dim)
            self.k_norm = RMSNorm(self.head_dim)
        else:
            self.q_norm = None
            self.k_norm = None

    def forward(self, x, key_valid, context=None, causal=False):
        B, T, _ = x.shape
        ctx = x if context is None else context
        S = ctx.shape[1]
        q = self.q(x).view(B, T, self.heads, self.head_dim)
        k = self.k(ctx).view(B, S, self.heads, self.head_dim)
        v = self.v(ctx).view(B, S, self.heads, self.head_dim)
        if self.q_norm is not None:
            q = self.q_norm(q)
            k = self.k_norm(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-1, -2)).float() * (1.0 / math.sqrt(self.head_dim))
        allowed = key_valid[:, None, None, :].expand(B, 1, T, S)
        if causal:
            allowed = allowed & torch.ones(T, S, dtype=torch.bool, device=x.device).tril()[None, None]
        has_key = allowed.any(-1, keepdim=True)
        # Rows without a key: softmax over zeros (finite), then zeroed — no NaN in either direction.
        effective = allowed | ~has_key
        p = torch.softmax(scores.masked_fill(~effective, float("-inf")), dim=-1) * has_key
        o = torch.matmul(p.to(v.dtype), v).transpose(1, 2).reshape(B, T, -1)
        return self.out(o)


class TokenRefinerBlock(nn.Module):
    """HunyuanVideo's IndividualTokenRefinerBlock: gates only, affine LayerNorms."""

    def __init__(self, d, heads, ratio, activation):
        super().__init__()
        self.adaLN = nn.Linear(d, 2 * d)
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.attn = Attention(d, heads, False)
        self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.mlp = MLP(d, ratio * d, d, activation)

    def forward(self, h, silu_c, key_valid, causal):
        g_attn, g_mlp = self.adaLN(silu_c).chunk(2, dim=-1)
        h = h + g_attn[:, None] * self.attn(self.norm1(h), key_valid, causal=causal)
        return h + g_mlp[:, None] * self.mlp(self.norm2(h))


class TokenRefiner(nn.Module):
    def __init__(self, llm_width, d, heads, blocks, ratio, activation, conditioned):
        super().__init__()
        self.input = nn.Linear(llm_width, d)
        if conditioned:
            self.t_embedder = TimestepEmbedder(d)
            self.c_embedder = MLP(llm_width, d, d, "silu")
        else:
            self.t_embedder = None
            self.c_embedder = None
        self.blocks = nn.ModuleList([TokenRefinerBlock(d, heads, ratio, activation) for _ in range(blocks)])


class CollaborativeRefinerBlock(nn.Module):
    def __init__(self, d, heads, ratio, activation, qk_norm):
        super().__init__()
        self.adaLN = nn.Linear(d, 6 * d)
        self.cross_attn = Attention(d, heads, qk_norm, context_dim=d)
        self.mlp = MLP(d, ratio * d, d, activation)
        self.d = d

    def forward(self, h, context, context_valid, silu_c):
        s1, sc1, g1, s2, sc2, g2 = self.adaLN(silu_c).chunk(6, dim=-1)
        n = F.layer_norm(h, (self.d,), eps=1e-6)
        h = h + g1[:, None] * self.cross_attn(modulate(n, s1, sc1), context_valid, context=context)
        n = F.layer_norm(h, (self.d,), eps=1e-6)
        return h + g2[:, None] * self.mlp(modulate(n, s2, sc2))


class Branch(nn.Module):
    def __init__(self, refiner, collaborative):
        super().__init__()
        self.refiner = refiner
        self.collaborative = nn.ModuleList(collaborative)


class PromptEncoder(nn.Module):
    def __init__(self, refiner_cfg: dict):
        super().__init__()
        r = refiner_settings(refiner_cfg)
        self.r = r
        self.width = r["width"]
        self.branches = nn.ModuleDict()
        for b in r["branches"]:
            self.branches[b["name"]] = Branch(
                TokenRefiner(b["width"], r["width"], r["heads"], r["effectiveBlocks"], r["mlpRatio"], r["activation"],
                             r["conditioned"]),
                [CollaborativeRefinerBlock(r["width"], r["heads"], r["mlpRatio"], r["activation"], r["collaborativeQKNorm"])
                 for _ in range(r["effectiveCollaborativeBlocks"])])

    def forward(self, features: Sequence[torch.Tensor], masks: Sequence[torch.Tensor], sigmas: torch.Tensor,
                fusion: Optional[Sequence[float]] = None, drop: Optional[torch.Tensor] = None):
        """features[a] [B, L_a, D_a], masks[a] [B, L_a] bool, sigmas [B] → (Y [B, Ly, d], Y mask [B, Ly])."""
        r = self.r
        names = [b["name"] for b in r["branches"]]
        weights = list(fusion) if fusion is not None else [1.0] * len(names)
        t = sigmas.float() * 1000
        states, silu_cs = [], []
        for a, name in enumerate(names):
            br = self.branches[name].refiner
            x = features[a].float()
            mask = masks[a]
            if r["normalizeFeatures"]:
                x = F.layer_norm(x, (x.shape[-1],), eps=1e-6)
            key_valid = mask.clone()
            key_valid[:, 0] = True
            silu_c = None
            if r["conditioned"]:
                c = br.t_embedder(t) + br.c_embedder(masked_mean(x, mask))
                silu_c = F.silu(c)
            h = br.input(x)
            for blk in br.blocks:
                h = blk(h, silu_c, key_valid, r["causalMask"])
            states.append(h)
            silu_cs.append(silu_c)
        for l in range(r["effectiveCollaborativeBlocks"]):
            before = states
            states = []
            for a, name in enumerate(names):
                others = [o for o in range(len(names)) if o != a]
                ctx = torch.cat([before[o] for o in others], dim=1)
                ctx_valid = torch.cat([masks[o] & (weights[o] != 0) for o in others], dim=1)
                states.append(self.branches[name].collaborative[l](before[a], ctx, ctx_valid, silu_cs[a]))
        ys, ymasks = [], []
        for a, b in enumerate(r["branches"]):
            n = b["instructionTokens"]
            valid = masks[a][:, n:] & (weights[a] != 0)
            if drop is not None:
                valid = valid & ~drop[:, None]
            part = states[a][:, n:]
            if weights[a] != 1:
                part = part * weights[a]
            ys.append(torch.where(valid[..., None], part, torch.zeros((), dtype=part.dtype, device=part.device)))
            ymasks.append(valid)
        return torch.cat(ys, dim=1), torch.cat(ymasks, dim=1)


class DiTBlock(nn.Module):
    def __init__(self, D, text_width, heads, ratio, activation, qk_norm):
        super().__init__()
        self.adaLN = nn.Linear(D, 9 * D)
        self.attn = Attention(D, heads, qk_norm)
        self.cross_attn = Attention(D, heads, qk_norm, context_dim=text_width)
        self.mlp = MLP(D, ratio * D, D, activation)
        self.D = D

    def forward(self, h, silu_c, y, y_valid, self_valid):
        s1, sc1, g1, s2, sc2, g2, s3, sc3, g3 = self.adaLN(silu_c).chunk(9, dim=-1)
        D = self.D
        h = h + g1[:, None] * self.attn(modulate(F.layer_norm(h, (D,), eps=1e-6), s1, sc1), self_valid)
        h = h + g2[:, None] * self.cross_attn(modulate(F.layer_norm(h, (D,), eps=1e-6), s2, sc2), y_valid, context=y)
        return h + g3[:, None] * self.mlp(modulate(F.layer_norm(h, (D,), eps=1e-6), s3, sc3))


class Final(nn.Module):
    def __init__(self, D, P):
        super().__init__()
        self.adaLN = nn.Linear(D, 2 * D)
        self.linear = nn.Linear(D, P)


class DiT(nn.Module):
    def __init__(self, model_cfg: dict):
        super().__init__()
        m = model_settings(model_cfg)
        self.m = m
        r = refiner_settings(model_cfg["refiner"])
        D, p, C = m["width"], m["patch"], m["channels"]
        self.grid = m["imageSize"] // p
        P = p * p * C
        self.x_embedder = nn.Linear(P, D)
        self.register_buffer("pos_embed", sincos_position_embedding_2d(D, self.grid, self.grid), persistent=False)
        self.t_embedder = TimestepEmbedder(D)
        self.y_embedder = MLP(r["width"], D, D, "silu") if m["pooledText"] else None
        self.blocks = nn.ModuleList([DiTBlock(D, r["width"], m["heads"], m["mlpRatio"], m["activation"], m["qkNorm"])
                                     for _ in range(m["depth"])])
        self.final = Final(D, P)

    def patchify(self, x):
        B, C, H, W = x.shape
        p, g = self.m["patch"], self.grid
        return x.reshape(B, C, g, p, g, p).permute(0, 2, 4, 3, 5, 1).reshape(B, g * g, p * p * C)

    def unpatchify(self, t):
        B = t.shape[0]
        p, g, C = self.m["patch"], self.grid, self.m["channels"]
        return t.reshape(B, g, g, p, p, C).permute(0, 5, 1, 3, 2, 4).reshape(B, C, g * p, g * p)

    def forward(self, x, sigmas, y, y_valid):
        D = self.m["width"]
        h = self.x_embedder(self.patchify(x)) + self.pos_embed
        c = self.t_embedder(sigmas.float() * 1000)
        if self.y_embedder is not None:
            c = c + self.y_embedder(masked_mean(y, y_valid))
        silu_c = F.silu(c)
        self_valid = torch.ones(x.shape[0], h.shape[1], dtype=torch.bool, device=x.device)
        for blk in self.blocks:
            h = blk(h, silu_c, y, y_valid, self_valid)
        shift, scale = self.final.adaLN(silu_c).chunk(2, dim=-1)
        out = self.final.linear(modulate(F.layer_norm(h, (D,), eps=1e-6), shift, scale))
        return self.unpatchify(out)


class LIDiT(nn.Module):
    """The whole trainable model: `encoder` (refiners) and `dit`, as one Swift `LIDiTModel`."""

    def __init__(self, model_cfg: dict):
        super().__init__()
        self.model_cfg = model_cfg
        self.m = model_settings(model_cfg)
        self.branch_names = [b["name"] for b in model_cfg["refiner"]["branches"]]
        self.encoder = PromptEncoder(model_cfg["refiner"])
        self.dit = DiT(model_cfg)
        self.layout = layout(model_cfg)
        names = dict(self.swift_named_parameters())
        assert set(names) == {n for n, _ in self.layout}, "parameter names differ from the Swift layout"
        for n, s in self.layout:
            assert list(names[n].shape) == s, f"{n}: shape {list(names[n].shape)} ≠ {s}"

    def swift_named_parameters(self):
        """(Swift name, parameter): `encoder.branches.smollm2.refiner…` is `encoder.smollm2.refiner…`."""
        for n, p in self.named_parameters():
            yield swift_name(n), p

    def forward(self, noisy, sigmas, features, masks, fusion=None, drop=None):
        """The raw prediction (x̂₀ for a clean-image model, v̂ for a velocity model), [B, C, H, W]."""
        y, y_valid = self.encoder(features, masks, sigmas, fusion, drop)
        return self.dit(noisy, sigmas, y, y_valid)


def swift_name(torch_name: str) -> str:
    for prefix in ("module.", "_orig_mod.", "_fsdp_wrapped_module."):
        torch_name = torch_name.replace(prefix, "")
    return torch_name.replace("encoder.branches.", "encoder.", 1)


def flat_parameters(model: LIDiT, tensors=None) -> torch.Tensor:
    """The model's parameters (or `tensors`, a name → tensor dict) as one float32 vector in the
    model file's order."""
    named = dict(model.swift_named_parameters()) if tensors is None else tensors
    return torch.cat([named[n].detach().reshape(-1).float().cpu() for n, _ in model.layout])


@torch.no_grad()
def load_flat(model: LIDiT, flat) -> None:
    flat = torch.as_tensor(np.asarray(flat, dtype=np.float32))
    named = dict(model.swift_named_parameters())
    o = 0
    for n, s in model.layout:
        k = int(np.prod(s))
        named[n].copy_(flat[o:o + k].view(s))
        o += k
    assert o == flat.numel(), f"{flat.numel()} weights for a model of {o}"


def prediction_loss(model_cfg: dict, out: torch.Tensor, images: torch.Tensor, noise: torch.Tensor,
                    sigmas: torch.Tensor):
    """`LIDiTModel.forwardLoss`: (mean loss over every pixel, per-sample mean) for x_σ = (1−σ)x₀ + σε."""
    m = model_settings(model_cfg)
    out = out.float()
    if m["prediction"] == "velocity":
        e = out - (noise - images)
    elif m["loss"] == "velocity":
        s = sigmas.float().clamp_min(m["minimumSigma"])[:, None, None, None]
        e = (images - out) / s
    else:
        e = out - images
    sq = e * e
    return sq.mean(), sq.flatten(1).mean(1)


def noisy_images(images, noise, sigmas):
    s = sigmas.float()[:, None, None, None]
    return (1 - s) * images + s * noise

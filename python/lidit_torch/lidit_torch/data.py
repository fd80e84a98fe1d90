"""Streaming the shards `lidit dataset export` writes (format: README.md in this package).

Each rank reads only its own shards (shard i belongs to rank i mod world) and keeps one shard in
memory at a time. What a rank trains on at a step is a pure function of (seed, step, rank):
samples in a per-epoch permutation of its shards and of each shard's samples, then noise, σ
(logit-normal, as `lidit train`) and caption dropout from a generator seeded by (seed, step, rank),
so a resumed run continues exactly.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List

import numpy as np
import torch

from .modelfile import read_safetensors


class Batch:
    """One rank's batch: clean images [b, C, H, W], noise, σ [b], caption dropout [b] (bool),
    per LLM branch padded features [b, L, D] and masks [b, L] (bool), and the captions."""

    def __init__(self, images, noise, sigmas, drop, features, masks, captions):
        self.images, self.noise, self.sigmas, self.drop = images, noise, sigmas, drop
        self.features, self.masks, self.captions = features, masks, captions

    def to(self, device):
        return Batch(self.images.to(device), self.noise.to(device), self.sigmas.to(device), self.drop.to(device),
                     [f.to(device) for f in self.features], [m.to(device) for m in self.masks], self.captions)


def pad_branch(samples: List[np.ndarray], width: int):
    """Per-sample [tokens_i, width] → features [b, T, width] (zero padded) and mask [b, T] (`branchInput`)."""
    T = max(1, max(s.shape[0] for s in samples))
    feats = np.zeros((len(samples), T, width), dtype=np.float32)
    mask = np.zeros((len(samples), T), dtype=bool)
    for i, s in enumerate(samples):
        feats[i, :s.shape[0]] = s
        mask[i, :s.shape[0]] = True
    return torch.from_numpy(feats), torch.from_numpy(mask)


class Shard:
    def __init__(self, path: str, encoders: List[str]):
        tensors, meta = read_safetensors(path)
        self.images = tensors["images"]
        self.n = self.images.shape[0]
        self.captions = json.loads(meta.get("lidit.captions", "[]"))
        self.branches = []
        for e in encoders:
            lengths = tensors[f"{e}.lengths"].astype(np.int64)
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            self.branches.append((tensors[f"{e}.prefix"].astype(np.float32), tensors[f"{e}.features"], offsets))

    def sample_features(self, i: int, branch: int) -> np.ndarray:
        prefix, rows, offsets = self.branches[branch]
        return np.concatenate([prefix, rows[offsets[i]:offsets[i + 1]].astype(np.float32)], axis=0)


class ShardStream:
    def __init__(self, folder: str, rank: int = 0, world: int = 1, seed: int = 0, timestep_mean: float = 0.0,
                 timestep_std: float = 1.0, caption_dropout: float = 0.1):
        with open(os.path.join(folder, "dataset.json")) as f:
            self.index = json.load(f)
        if self.index.get("format") != 1:
            raise ValueError(f"{folder}: dataset format {self.index.get('format')} is not 1")
        self.folder = folder
        self.encoders = [e["id"] for e in self.index["encoders"]]
        self.widths = [e["width"] for e in self.index["encoders"]]
        shards = self.index["shards"]
        if len(shards) < world:
            raise ValueError(f"{folder}: {len(shards)} shards for {world} ranks; export with a smaller --shard-size")
        self.own = [s for i, s in enumerate(shards) if i % world == rank]
        self.sizes = [s["samples"] for s in self.own]
        self.total = sum(self.sizes)
        self.rank, self.world, self.seed = rank, world, seed
        self.timestep_mean, self.timestep_std, self.caption_dropout = timestep_mean, timestep_std, caption_dropout
        self._cache: Dict[str, Shard] = {}

    @property
    def training_config_json(self) -> str:
        return self.index["training_config"]

    def _shard(self, k: int) -> Shard:
        name = self.own[k]["file"]
        if name not in self._cache:
            self._cache.clear()
            self._cache[name] = Shard(os.path.join(self.folder, name), self.encoders)
        return self._cache[name]

    def _epoch_order(self, epoch: int):
        rng = np.random.default_rng([self.seed, epoch, self.rank, 0x5A4D])
        order = rng.permutation(len(self.own))
        within = [rng.permutation(self.sizes[k]) for k in range(len(self.own))]
        return order, within

    def positions(self, step: int, batch: int):
        """(own shard, sample) for each slot of `step`: sample p = step·batch + slot of the rank's stream."""
        out = []
        cached = {}
        for slot in range(batch):
            p = step * batch + slot
            epoch, r = divmod(p, self.total)
            if epoch not in cached:
                cached[epoch] = self._epoch_order(epoch)
            order, within = cached[epoch]
            for k in order:
                if r < self.sizes[k]:
                    out.append((int(k), int(within[k][r])))
                    break
                r -= self.sizes[k]
        return out

    def batch(self, step: int, batch: int) -> Batch:
        pos = self.positions(step, batch)
        images, per_branch, captions = [], [[] for _ in self.encoders], []
        for k, i in pos:
            sh = self._shard(k)
            images.append(sh.images[i].astype(np.float32))
            for b in range(len(self.encoders)):
                per_branch[b].append(sh.sample_features(i, b))
            captions.append(sh.captions[i] if i < len(sh.captions) else "")
        feats, masks = [], []
        for b, w in enumerate(self.widths):
            f, m = pad_branch(per_branch[b], w)
            feats.append(f)
            masks.append(m)
        x0 = torch.from_numpy(np.stack(images))
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + step * 65_537 + self.rank * 7919 + 0x7A11) % (1 << 63))
        noise = torch.randn(x0.shape, generator=g)
        z = torch.randn(batch, generator=g)
        u = torch.rand(batch, generator=g)
        sigmas = torch.sigmoid(self.timestep_mean + self.timestep_std * z)
        drop = u < self.caption_dropout
        return Batch(x0, noise, sigmas, drop, feats, masks, captions)


def write_synthetic_dataset(folder: str, training_config: dict, samples: int, shard_size: int, seed: int = 0,
                            prefix_tokens=(3, 2), max_tokens: int = 6) -> None:
    """A dataset in the export format with random pictures and features (for tests without the LLMs)."""
    from .modelfile import swift_json, write_safetensors
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    m = training_config["model"]
    C, S = m.get("channels", 3), m["imageSize"]
    branches = m["refiner"]["branches"]
    prefixes = [rng.standard_normal((prefix_tokens[i % len(prefix_tokens)], b["width"])).astype(np.float32)
                for i, b in enumerate(branches)]
    shards = []
    first = 0
    while first < samples:
        n = min(shard_size, samples - first)
        tensors = [("images", rng.uniform(-1, 1, (n, C, S, S)).astype(np.float16)),
                   ("caption_index", np.arange(first, first + n, dtype=np.float32))]
        for b, prefix in zip(branches, prefixes):
            lengths = rng.integers(1, max_tokens + 1, n)
            tensors += [(f"{b['name']}.prefix", prefix), (f"{b['name']}.lengths", lengths.astype(np.float32)),
                        (f"{b['name']}.features", (3 * rng.standard_normal((int(lengths.sum()), b["width"]))).astype(np.float16))]
        name = "shard-%05d.safetensors" % len(shards)
        write_safetensors(os.path.join(folder, name), tensors, {
            "lidit.dataset_format": "1", "lidit.first_sample": str(first),
            "lidit.captions": json.dumps([f"caption {k}" for k in range(first, first + n)]),
            "lidit.training_config": swift_json(training_config)})
        shards.append({"file": name, "samples": n, "first_sample": first})
        first += n
    with open(os.path.join(folder, "dataset.json"), "w") as f:
        json.dump({"format": 1, "samples": samples, "shards": shards, "channels": C, "image_size": S,
                   "encoders": [{"id": b["name"], "width": b["width"], "prefix_tokens": p.shape[0]}
                                for b, p in zip(branches, prefixes)],
                   "training_config": swift_json(training_config)}, f, indent=2)

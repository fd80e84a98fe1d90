"""`lidit dataset export` → the twin's shard stream: shapes, per-rank shards, and the twin's forward
on exported LLM features equal to the Swift forward on the same batch."""
import json
import os
import subprocess

import numpy as np
import pytest
import torch

from conftest import DEFAULT_MODEL, REPO
from lidit_torch import LIDiT, ModelFile, load_flat
from lidit_torch.data import ShardStream
from lidit_torch.modelfile import read_safetensors, write_safetensors


def models_folder():
    if os.environ.get("LIDIT_MODELS"):
        return os.environ["LIDIT_MODELS"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lidit", "models")


@pytest.fixture(scope="module")
def exported(tmp_path_factory, request):
    lidit = request.getfixturevalue("lidit")
    models = models_folder()
    if not all(os.path.exists(os.path.join(models, f)) for f in
               ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"]):
        if os.environ.get("LIDIT_REQUIRE_SWIFT"):
            pytest.fail(f"the LLM files are not in {models} (run `lidit models fetch`)")
        pytest.skip("the LLM files are not fetched")
    root = tmp_path_factory.mktemp("export")
    out = str(root / "shards")
    # Features go to a private cache; the LLM files are read where they are.
    env = dict(os.environ, LIDIT_MODELS=models, XDG_CACHE_HOME=str(root / "cache"),
               LIDIT_FEATURES=str(root / "cache" / "lidit" / "features"))
    subprocess.run([lidit, "dataset", "export", "--out", out, "--samples", "10", "--shard-size", "4", "--captions", "16",
                    "--config", DEFAULT_MODEL], check=True, env=env, cwd=REPO)
    return out, lidit


def test_export_layout(exported):
    out, _ = exported
    with open(os.path.join(out, "dataset.json")) as f:
        index = json.load(f)
    assert index["format"] == 1 and index["samples"] == 10
    assert [s["samples"] for s in index["shards"]] == [4, 4, 2]
    cfg = json.loads(index["training_config"])
    tensors, meta = read_safetensors(os.path.join(out, index["shards"][0]["file"]))
    assert tensors["images"].shape == (4, 3, 32, 32) and tensors["images"].dtype == np.float16
    assert -1 <= tensors["images"].min() and tensors["images"].max() <= 1
    for b in cfg["model"]["refiner"]["branches"]:
        assert tensors[f"{b['name']}.prefix"].shape == (b["instructionTokens"], b["width"])
        assert tensors[f"{b['name']}.features"].shape == (int(tensors[f"{b['name']}.lengths"].sum()), b["width"])
    captions = json.loads(meta["lidit.captions"])
    assert len(captions) == 4 and all(isinstance(c, str) and c for c in captions)


def test_each_rank_reads_its_own_shards(exported):
    out, _ = exported
    streams = [ShardStream(out, rank=r, world=2) for r in range(2)]
    assert [s.total for s in streams] == [6, 4]  # shards 0 and 2 / shard 1
    files = [[s_["file"] for s_ in s.own] for s in streams]
    assert files == [["shard-00000.safetensors", "shard-00002.safetensors"], ["shard-00001.safetensors"]]
    b = streams[0].batch(0, 3)
    assert b.images.shape == (3, 3, 32, 32) and len(b.features) == 2
    assert b.masks[0].shape == b.features[0].shape[:2]
    # Steps are pure functions of (seed, step, rank): the same batch twice.
    again = ShardStream(out, rank=0, world=2).batch(0, 3)
    assert torch.equal(b.images, again.images) and torch.equal(b.noise, again.noise)


def test_twin_forward_on_exported_features_matches_swift(exported, tmp_path):
    out, lidit = exported
    mf = ModelFile.read(DEFAULT_MODEL)
    model = LIDiT(mf.model_config)
    load_flat(model, mf.weights)
    b = ShardStream(out, rank=0, world=1, caption_dropout=0.0).batch(0, 3)
    noisy = ((1 - b.sigmas[:, None, None, None]) * b.images + b.sigmas[:, None, None, None] * b.noise)
    tensors = [("noisy", noisy.numpy()), ("sigmas", b.sigmas.numpy())]
    for br, f, m in zip(mf.model_config["refiner"]["branches"], b.features, b.masks):
        tensors += [(f"text.{br['name']}.features", f.numpy()), (f"text.{br['name']}.mask", m.float().numpy())]
    inp, res = str(tmp_path / "in.safetensors"), str(tmp_path / "out.safetensors")
    write_safetensors(inp, tensors, {})
    subprocess.run([lidit, "debug", "forward", "--model", DEFAULT_MODEL, "--inputs", inp, "--out", res], check=True)
    swift = read_safetensors(res)[0]["output"]
    with torch.no_grad():
        ours = model(noisy, b.sigmas, b.features, b.masks).numpy()
    err = np.linalg.norm(ours - swift) / np.linalg.norm(swift)
    print(f"forward parity on exported LLM features: relative error {err:.2e}")
    assert err <= 1e-4

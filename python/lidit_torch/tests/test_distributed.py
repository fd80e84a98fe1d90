"""Training with torchrun: a 2-process run's averaged gradient equals the single-process gradient
of the same global batch; resume is exact; FSDP computes what DDP computes; the export opens."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import PACKAGE, tiny_training_config
from lidit_torch import LIDiT, ModelFile, flat_parameters, load_flat, noisy_images, prediction_loss
from lidit_torch.data import ShardStream, pad_branch, write_synthetic_dataset
from lidit_torch.modelfile import read_safetensors, swift_json, write_model_file

ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=PACKAGE + os.pathsep + os.environ.get("PYTHONPATH", ""))


def initial_model(tmp_path):
    """A model file of seed-initialised weights, so a test knows the weights a run starts from."""
    cfg = tiny_training_config()
    torch.manual_seed(5)
    path = str(tmp_path / "init.safetensors")
    write_model_file(path, swift_json(cfg), flat_parameters(LIDiT(cfg["model"])).numpy(), "init", 0)
    return path


def torchrun(nproc, *args):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "lidit_torch.train", "--threads", "1", *args]
    r = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def train(*args):
    r = subprocess.run([sys.executable, "-m", "lidit_torch.train", "--threads", "1", *args], env=ENV,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("shards"))
    write_synthetic_dataset(d, tiny_training_config(), samples=40, shard_size=10)
    return d


def test_two_process_gradient_equals_single_process_gradient(shards, tmp_path):
    dump = str(tmp_path / "step0")
    init = initial_model(tmp_path)
    torchrun(2, "--data", shards, "--run-dir", str(tmp_path / "run"), "--init-from", init, "--dump-first-step", dump)
    ranks = [read_safetensors(f"{dump}.rank{r}.safetensors")[0] for r in range(2)]
    averaged = ranks[0]["gradients"]
    # Both ranks' batches form the global batch; rank batches differ (each reads its own shards).
    assert not np.array_equal(ranks[0]["images"], ranks[1]["images"])
    cfg = tiny_training_config()
    model = LIDiT(cfg["model"])
    load_flat(model, ModelFile.read(init).weights)
    images = torch.from_numpy(np.concatenate([r["images"] for r in ranks]))
    noise = torch.from_numpy(np.concatenate([r["noise"] for r in ranks]))
    sigmas = torch.from_numpy(np.concatenate([r["sigmas"] for r in ranks]))
    drop = torch.from_numpy(np.concatenate([r["drop"] for r in ranks]) != 0)
    feats, masks = [], []
    for b in cfg["model"]["refiner"]["branches"]:
        per = []
        for r in ranks:
            f, m = r[f"text.{b['name']}.features"], r[f"text.{b['name']}.mask"] != 0
            per += [f[i, :int(m[i].sum())] for i in range(f.shape[0])]
        f, m = pad_branch(per, b["width"])
        feats.append(f)
        masks.append(m)
    out = model(noisy_images(images, noise, sigmas), sigmas, feats, masks, drop=drop)
    loss, _ = prediction_loss(cfg["model"], out, images, noise, sigmas)
    loss.backward()
    single = flat_parameters(model, {n: p.grad for n, p in model.swift_named_parameters()}).numpy()
    err = np.linalg.norm(averaged - single) / np.linalg.norm(single)
    print(f"2-process averaged gradient vs single process: relative error {err:.2e}")
    assert err < 1e-5
    # And it is not the gradient of one rank's half alone.
    model.zero_grad()
    out = model(noisy_images(images[:2], noise[:2], sigmas[:2]), sigmas[:2], [f[:2] for f in feats],
                [m[:2] for m in masks], drop=drop[:2])
    prediction_loss(cfg["model"], out, images[:2], noise[:2], sigmas[:2])[0].backward()
    half = flat_parameters(model, {n: p.grad for n, p in model.swift_named_parameters()}).numpy()
    assert np.linalg.norm(averaged - half) / np.linalg.norm(single) > 1e-2


def test_resume_is_exact(shards, tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    train("--data", shards, "--run-dir", a, "--steps", "6")
    train("--data", shards, "--run-dir", b, "--steps", "3")
    train("--data", shards, "--run-dir", b, "--steps", "6")
    ta, ma = read_safetensors(os.path.join(a, "checkpoint.safetensors"))
    tb, mb = read_safetensors(os.path.join(b, "checkpoint.safetensors"))
    assert ma["lidit.step"] == mb["lidit.step"] == "6"
    for k in ("weights", "adam_m", "adam_v", "ema"):
        np.testing.assert_array_equal(ta[k], tb[k], err_msg=k)


def test_fsdp_with_resume_matches_ddp_and_export_opens(shards, tmp_path):
    ddp, fsdp = str(tmp_path / "ddp"), str(tmp_path / "fsdp")
    torchrun(2, "--data", shards, "--run-dir", ddp, "--steps", "3", "--export", str(tmp_path / "ddp.safetensors"))
    torchrun(2, "--data", shards, "--run-dir", fsdp, "--steps", "2", "--fsdp")
    torchrun(2, "--data", shards, "--run-dir", fsdp, "--steps", "3", "--fsdp")  # resumes the sharded state
    td, _ = read_safetensors(os.path.join(ddp, "checkpoint.safetensors"))
    tf, _ = read_safetensors(os.path.join(fsdp, "checkpoint.safetensors"))
    for k in ("weights", "ema"):
        err = np.linalg.norm(td[k] - tf[k]) / np.linalg.norm(td[k])
        assert err < 1e-5, (k, err)
    mf = ModelFile.read(str(tmp_path / "ddp.safetensors"))
    np.testing.assert_array_equal(mf.weights, td["ema"].astype(np.float16).astype(np.float32))
    assert mf.metadata["lidit.step"] == "3"


def test_bf16_autocast_runs_and_stays_close_to_fp32(shards, tmp_path):
    """What a GPU run does (bf16 autocast, float32 master weights), here on the CPU."""
    init = initial_model(tmp_path)
    fp32, bf16 = str(tmp_path / "fp32"), str(tmp_path / "bf16")
    train("--data", shards, "--run-dir", fp32, "--steps", "2", "--init-from", init, "--precision", "fp32")
    r = train("--data", shards, "--run-dir", bf16, "--steps", "2", "--init-from", init, "--precision", "bf16")
    assert "bf16" in r.stderr
    a = read_safetensors(os.path.join(fp32, "checkpoint.safetensors"))[0]
    b = read_safetensors(os.path.join(bf16, "checkpoint.safetensors"))[0]
    assert a["weights"].dtype == b["weights"].dtype == np.float32
    assert not np.array_equal(a["adam_m"], b["adam_m"])  # autocast really ran in bf16
    err = np.linalg.norm(a["adam_m"] - b["adam_m"]) / np.linalg.norm(a["adam_m"])
    assert err < 0.1, err

"""The twin against the Swift network: `lidit debug forward` and `lidit debug train-step` on the
committed default model and fixed inputs must agree with the twin within 1e-4 (relative)."""
import subprocess

import numpy as np
import pytest
import torch

from conftest import DEFAULT_MODEL
from lidit_torch import LIDiT, ModelFile, flat_parameters, load_flat, noisy_images, prediction_loss
from lidit_torch.modelfile import optimizer_settings, read_safetensors, write_safetensors
from lidit_torch.optim import AdamWEMA

TOL = 1e-4


def relative_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def fixed_inputs(mf, batch=3, seed=11):
    """Noisy images, σ (one small, one large), text features with padding, one null-text sample."""
    rng = np.random.default_rng(seed)
    m = mf.model_config
    C, S = m["channels"], m["imageSize"]
    images = rng.uniform(-1, 1, (batch, C, S, S)).astype(np.float32)
    noise = rng.standard_normal((batch, C, S, S)).astype(np.float32)
    sigmas = np.array([0.03, 0.5, 0.93][:batch], dtype=np.float32)
    tensors = {"images": images, "noise": noise, "sigmas": sigmas,
               "drop": np.array([0, 0, 1][:batch], dtype=np.float32)}
    for k, b in enumerate(m["refiner"]["branches"]):
        n = b["instructionTokens"]
        lengths = [n + 11 - 4 * i - k for i in range(batch)]
        L = max(lengths)
        f = np.zeros((batch, L, b["width"]), dtype=np.float32)
        mask = np.zeros((batch, L), dtype=np.float32)
        for i, l in enumerate(lengths):
            f[i, :l] = rng.standard_normal((l, b["width"])) * 2
            f[i, :l, 7] += 60  # an LLM's "massive activation" channel
            mask[i, :l] = 1
        tensors[f"text.{b['name']}.features"] = f
        tensors[f"text.{b['name']}.mask"] = mask
    tensors["noisy"] = ((1 - sigmas[:, None, None, None]) * images + sigmas[:, None, None, None] * noise).astype(np.float32)
    return tensors


def twin_inputs(mf, t):
    names = [b["name"] for b in mf.model_config["refiner"]["branches"]]
    feats = [torch.from_numpy(t[f"text.{n}.features"]) for n in names]
    masks = [torch.from_numpy(t[f"text.{n}.mask"] != 0) for n in names]
    return feats, masks, torch.from_numpy(t["sigmas"]), torch.from_numpy(t["drop"] != 0)


@pytest.fixture(scope="module")
def default_model():
    mf = ModelFile.read(DEFAULT_MODEL)
    model = LIDiT(mf.model_config)
    load_flat(model, mf.weights)
    return mf, model


def test_forward_matches_swift(lidit, default_model, tmp_path):
    mf, model = default_model
    t = fixed_inputs(mf)
    inputs, out = str(tmp_path / "in.safetensors"), str(tmp_path / "out.safetensors")
    write_safetensors(inputs, list(t.items()), {})
    subprocess.run([lidit, "debug", "forward", "--model", DEFAULT_MODEL, "--inputs", inputs, "--out", out], check=True)
    swift = read_safetensors(out)[0]["output"]
    feats, masks, sigmas, drop = twin_inputs(mf, t)
    with torch.no_grad():
        ours = model(torch.from_numpy(t["noisy"]), sigmas, feats, masks, drop=drop).numpy()
    err = relative_error(ours, swift)
    print(f"forward parity: relative error {err:.2e}, max abs diff {np.abs(ours - swift).max():.2e}")
    assert err <= TOL
    # Per sample too: the null-text sample and the padded ones each match.
    for i in range(ours.shape[0]):
        assert relative_error(ours[i], swift[i]) <= TOL


def test_forward_check_can_fail(lidit, default_model, tmp_path):
    """The comparison is sensitive: one weight nudged by 1% breaks it."""
    mf, model = default_model
    t = fixed_inputs(mf)
    inputs, out = str(tmp_path / "in.safetensors"), str(tmp_path / "out.safetensors")
    write_safetensors(inputs, list(t.items()), {})
    subprocess.run([lidit, "debug", "forward", "--model", DEFAULT_MODEL, "--inputs", inputs, "--out", out], check=True)
    swift = read_safetensors(out)[0]["output"]
    other = LIDiT(mf.model_config)
    w = mf.weights.copy()
    w[-1000:] *= 1.01  # the output projection's last rows and bias
    load_flat(other, w)
    feats, masks, sigmas, drop = twin_inputs(mf, t)
    with torch.no_grad():
        ours = other(torch.from_numpy(t["noisy"]), sigmas, feats, masks, drop=drop).numpy()
    assert relative_error(ours, swift) > TOL


def test_training_step_matches_swift(lidit, default_model, tmp_path):
    mf, model = default_model
    t = fixed_inputs(mf)
    step = 150
    inputs, out = str(tmp_path / "in.safetensors"), str(tmp_path / "out.safetensors")
    write_safetensors(inputs, list(t.items()), {})
    subprocess.run([lidit, "debug", "train-step", "--model", DEFAULT_MODEL, "--inputs", inputs, "--out", out,
                    "--step", str(step)], check=True)
    swift = read_safetensors(out)[0]
    model = LIDiT(mf.model_config)
    load_flat(model, mf.weights)
    w0 = flat_parameters(model).numpy()
    feats, masks, sigmas, drop = twin_inputs(mf, t)
    images, noise = torch.from_numpy(t["images"]), torch.from_numpy(t["noise"])
    out_t = model(noisy_images(images, noise, sigmas), sigmas, feats, masks, drop=drop)
    loss, per_sample = prediction_loss(mf.model_config, out_t, images, noise, sigmas)
    loss.backward()
    grads = flat_parameters(model, {n: p.grad for n, p in model.swift_named_parameters()}).numpy()
    opt = AdamWEMA(list(model.swift_named_parameters()), optimizer_settings(mf.training_config))
    norm = opt.step(step)
    w1 = flat_parameters(model).numpy()
    ema = flat_parameters(model, dict(zip([n for n, _ in model.swift_named_parameters()], opt.ema))).numpy()
    errors = {
        "loss": abs(float(loss.detach()) - float(swift["loss"][0])) / float(swift["loss"][0]),
        "per_sample": relative_error(per_sample.detach().numpy(), swift["per_sample"]),
        "gradient_norm": abs(norm - float(swift["gradient_norm"][0])) / float(swift["gradient_norm"][0]),
        "gradients": relative_error(grads, swift["gradients"]),
        # The update itself (w1 − w0), not only the weights, which barely move in one step.
        "update": relative_error(w1 - w0, swift["weights"] - w0),
        "weights": relative_error(w1, swift["weights"]),
        "ema": relative_error(ema, swift["ema"]),
    }
    print("training-step parity:", ", ".join(f"{k} {v:.2e}" for k, v in errors.items()))
    for k, v in errors.items():
        assert v <= TOL, (k, v)


# ---------------------------------------------------------------- every switch of the configuration

VARIANTS = {
    # the default design, small
    "clean-image+v-loss": {},
    # velocity target, SiLU DiT MLP, no QK-norm, no pooled text, the causal-mask refiner ablation,
    # raw (unnormalised) LLM features, no QK-norm in the collaborative refiner
    "velocity+ablations": {"model": {"prediction": "velocity", "activation": "silu", "qkNorm": False, "pooledText": False},
                           "refiner": {"causalMask": True, "normalizeFeatures": False, "collaborativeQKNorm": False}},
    # x₀ loss, neither refiner (h = Linear_in(x) only), fusion weights 0.5 and 0 (branch off)
    "x0-loss+no-refiners+fusion": {"model": {"loss": "cleanImage"},
                                   "refiner": {"tokenRefiner": False, "collaborativeRefiner": False},
                                   "fusion": [0.5, 0.0]},
}


def variant_model(tmp_path, name):
    import copy
    from conftest import tiny_training_config
    from lidit_torch.modelfile import swift_json, write_model_file
    cfg = tiny_training_config()
    v = VARIANTS[name]
    cfg["model"].update(v.get("model", {}))
    cfg["model"]["refiner"].update(v.get("refiner", {}))
    torch.manual_seed(1)
    model = LIDiT(cfg["model"])
    with torch.no_grad():
        for p in model.parameters():  # every gate and zero-initialised projection active
            p.add_(torch.randn_like(p) * 0.05)
    path = str(tmp_path / "variant.safetensors")
    write_model_file(path, swift_json(cfg), flat_parameters(model).numpy(), name, 0)
    return path, v.get("fusion")


@pytest.mark.parametrize("name", list(VARIANTS))
def test_configuration_variants_match_swift(lidit, tmp_path, name):
    path, fusion = variant_model(tmp_path, name)
    mf = ModelFile.read(path)
    t = fixed_inputs(mf)
    if fusion is not None:
        t["fusion"] = np.array(fusion, dtype=np.float32)
    inputs = str(tmp_path / "in.safetensors")
    write_safetensors(inputs, list(t.items()), {})
    fwd, step = str(tmp_path / "fwd.safetensors"), str(tmp_path / "step.safetensors")
    subprocess.run([lidit, "debug", "forward", "--model", path, "--inputs", inputs, "--out", fwd], check=True)
    subprocess.run([lidit, "debug", "train-step", "--model", path, "--inputs", inputs, "--out", step, "--step", "0"], check=True)
    model = LIDiT(mf.model_config)
    load_flat(model, mf.weights)
    w0 = flat_parameters(model).numpy()
    feats, masks, sigmas, drop = twin_inputs(mf, t)
    with torch.no_grad():
        out = model(torch.from_numpy(t["noisy"]), sigmas, feats, masks, fusion=fusion, drop=drop).numpy()
    assert relative_error(out, read_safetensors(fwd)[0]["output"]) <= TOL
    images, noise = torch.from_numpy(t["images"]), torch.from_numpy(t["noise"])
    o = model(noisy_images(images, noise, sigmas), sigmas, feats, masks, fusion=fusion, drop=drop)
    loss, _ = prediction_loss(mf.model_config, o, images, noise, sigmas)
    loss.backward()
    named = list(model.swift_named_parameters())
    grads = flat_parameters(model, {n: (p.grad if p.grad is not None else torch.zeros_like(p)) for n, p in named}).numpy()
    swift = read_safetensors(step)[0]
    assert abs(float(loss.detach()) - float(swift["loss"][0])) <= TOL * float(swift["loss"][0])
    assert relative_error(grads, swift["gradients"]) <= TOL
    # The optimizer on Swift's own gradients: Adam's first update is about g/|g| per element, so
    # elements whose gradient is ~1e-8 would turn a 1e-6 gradient difference into a sign flip;
    # given the same gradients, the update must agree closely.
    by_name, o = dict(named), 0
    for n, shape in model.layout:
        k = int(np.prod(shape))
        by_name[n].grad = torch.from_numpy(swift["gradients"][o:o + k].copy()).view(shape)
        o += k
    opt = AdamWEMA(named, optimizer_settings(mf.training_config))
    opt.step(0)
    assert relative_error(flat_parameters(model).numpy() - w0, swift["weights"] - w0) <= 1e-6
    ema = flat_parameters(model, dict(zip([n for n, _ in named], opt.ema))).numpy()
    assert relative_error(ema - w0, swift["ema"] - w0) <= 1e-6

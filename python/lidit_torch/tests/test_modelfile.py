"""The model file format: the committed default model reads, and writes back byte for byte."""
import json
import os

import numpy as np
import pytest

from conftest import DEFAULT_MODEL, tiny_training_config
from lidit_torch import LIDiT, ModelFile, flat_parameters, layout, layout_fingerprint, load_flat
from lidit_torch.modelfile import read_safetensors, serialize_safetensors, swift_json, write_model_file


def test_default_model_layout_matches_its_fingerprint():
    mf = ModelFile.read(DEFAULT_MODEL)
    entries = layout(mf.model_config)
    assert layout_fingerprint(entries) == mf.metadata["lidit.layout"]
    assert sum(int(np.prod(s)) for _, s in entries) == mf.weights.size == 9932976


def test_default_model_round_trips_byte_for_byte():
    mf = ModelFile.read(DEFAULT_MODEL)
    model = LIDiT(mf.model_config)
    load_flat(model, mf.weights)
    again = serialize_safetensors([("weights", flat_parameters(model).numpy().astype(np.float16))], mf.metadata)
    with open(DEFAULT_MODEL, "rb") as f:
        assert again == f.read()


def test_parameter_names_are_the_swift_names():
    model = LIDiT(tiny_training_config()["model"])
    names = [n for n, _ in model.swift_named_parameters()]
    assert "encoder.smollm2.refiner.input.weight" in names
    assert "encoder.gemma3.collaborative.0.cross_attn.k_norm.weight" in names
    assert "dit.blocks.1.cross_attn.k.weight" in names
    assert sorted(names) == sorted(n for n, _ in model.layout)


def test_layout_fingerprint_sees_a_changed_shape():
    cfg = tiny_training_config()["model"]
    a = layout_fingerprint(layout(cfg))
    cfg = json.loads(json.dumps(cfg))
    cfg["refiner"]["branches"][0]["width"] += 1
    assert layout_fingerprint(layout(cfg)) != a


def test_swift_json_escapes_like_foundation():
    assert swift_json({"b": 1, "a": "x/y\n\"z\"", "c": [0.1, 1.0, True, None]}) == '{"a":"x\\/y\\n\\"z\\"","b":1,"c":[0.1,1,true,null]}'


def test_written_model_file_reads_back_and_is_checked(tmp_path):
    cfg = tiny_training_config()
    model = LIDiT(cfg["model"])
    flat = flat_parameters(model).numpy()
    path = str(tmp_path / "m.safetensors")
    write_model_file(path, swift_json(cfg), flat, "test", 7)
    mf = ModelFile.read(path)
    assert mf.metadata["lidit.step"] == "7"
    np.testing.assert_array_equal(mf.weights, flat.astype(np.float16).astype(np.float32))
    # The standard library reads it too.
    from safetensors.numpy import load_file
    assert load_file(path)["weights"].shape == flat.shape
    # A file whose configuration does not match its weights is refused.
    tensors, meta = read_safetensors(path)
    meta = dict(meta)
    bad = json.loads(meta["lidit.training_config"])
    bad["model"]["depth"] = 3
    meta["lidit.training_config"] = swift_json(bad)
    bad_path = str(tmp_path / "bad.safetensors")
    with open(bad_path, "wb") as f:
        f.write(serialize_safetensors([("weights", tensors["weights"])], meta))
    with pytest.raises(ValueError):
        ModelFile.read(bad_path)


def test_settings_this_trainer_lacks_are_refused():
    from lidit_torch.modelfile import training_settings
    assert training_settings({"captionDropout": 0.2})["captionDropout"] == 0.2
    with pytest.raises(SystemExit, match="pooledTextDropout"):
        training_settings({"pooledTextDropout": 0.3})

#!/usr/bin/env python3
"""Averages the weights of LI-DiT model files of one layout (a "model soup": fine-tunes of one
model, averaged parameter by parameter). Reads and writes through the PyTorch twin's model-file
code (`lidit_torch.modelfile`, byte-exact with the Swift side); the output keeps the first file's
training config and step, and its model id names the averaged weights.

usage: scripts/average-models.py OUT.safetensors A.safetensors B.safetensors [...]
Run with the twin's environment (`scripts/install-torch-venv`): .venv-torch/bin/python scripts/average-models.py …
"""
import hashlib, os, sys
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python", "lidit_torch"))
from lidit_torch.modelfile import ModelFile, write_model_file


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip().splitlines()[-2])
    out, inputs = sys.argv[1], sys.argv[2:]
    models = []
    for path in inputs:
        try:
            models.append(ModelFile.read(path))
        except (OSError, ValueError, KeyError) as error:
            sys.exit(f"{path}: not a readable LI-DiT model file ({error})")
    first = models[0]
    for path, model in zip(inputs, models):
        if model.metadata.get("lidit.layout") != first.metadata.get("lidit.layout") or model.weights.shape != first.weights.shape:
            sys.exit(f"{path}: another layout than {inputs[0]}")
    mean = np.mean([m.weights for m in models], axis=0).astype(np.float16)
    model_id = "lidit-shapes-soup-" + hashlib.sha256(mean.tobytes()).hexdigest()[:8]
    write_model_file(out, first.training_config_json, mean, model_id, int(first.metadata.get("lidit.step", "0")))
    print(f"{out}: {model_id}, the mean of {len(inputs)} models")


main()

import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(PACKAGE))
sys.path.insert(0, PACKAGE)

DEFAULT_MODEL = os.path.join(REPO, "models", "lidit-shapes.safetensors")


def tiny_training_config():
    """A small model with every part of the default one (two branches, both refiners, QK-norm, pooled text)."""
    return {
        "batchSize": 4, "captionDropout": 0.25, "seed": 3, "timestepMean": 0, "timestepStd": 1,
        "checkpointSeconds": 300, "sampleEvery": 1000, "logEvery": 10,
        "data": {"captions": 10, "seed": 1, "maxObjects": 4},
        "encoders": [{"id": "smollm2", "layer": -3, "template": {"enabled": True, "text": "{prompt}"}},
                     {"id": "gemma3", "layer": -3, "template": {"enabled": True, "text": "{prompt}"}}],
        "model": {"imageSize": 8, "channels": 3, "patch": 4, "width": 32, "depth": 2, "heads": 2, "mlpRatio": 4,
                  "activation": "geluTanh", "qkNorm": True, "pooledText": True, "prediction": "cleanImage",
                  "loss": "velocity", "minimumSigma": 0.05,
                  "refiner": {"branches": [{"name": "smollm2", "width": 24, "instructionTokens": 3},
                                           {"name": "gemma3", "width": 20, "instructionTokens": 2}],
                              "width": 16, "heads": 2, "blocks": 2, "collaborativeBlocks": 1, "mlpRatio": 4}},
        "optimizer": {"learningRate": 0.001, "beta1": 0.9, "beta2": 0.99, "weightDecay": 0.01, "warmupSteps": 2,
                      "totalSteps": 6, "finalLearningRateFraction": 0.1, "gradientClip": 1.0, "emaDecay": 0.99},
    }


def lidit_binary():
    """The Swift `lidit` to check against: $LIDIT_BIN, else the release build beside the repo."""
    candidates = [os.environ.get("LIDIT_BIN"), os.path.join(REPO, ".build", "release", "lidit")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


@pytest.fixture(scope="session")
def lidit():
    b = lidit_binary()
    if b is None:
        if os.environ.get("LIDIT_REQUIRE_SWIFT"):
            pytest.fail("LIDIT_REQUIRE_SWIFT is set but no lidit binary was found (set LIDIT_BIN)")
        pytest.skip("no lidit binary (build the Swift package or set LIDIT_BIN)")
    return b

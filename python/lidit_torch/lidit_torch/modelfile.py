"""The studio's files, read and written byte for byte as the Swift side does.

A model file (what `lidit generate --model` reads) is safetensors with one F16 tensor
`weights` [n]: every parameter of the network flattened in the Swift declaration order
(`layout`), plus metadata strings: `lidit.training_config` (the TrainingConfig JSON),
`lidit.layout` (SHA-256 over each parameter's name and shape, in order), `lidit.model_id`,
`lidit.step`. A training checkpoint has the same layout in F32 with `adam_m`, `adam_v`, `ema`.

The Swift writer (Foundation's JSONSerialization, sorted keys, no spaces, `/` escaped) pads the
header with spaces to a multiple of 8 bytes; `write_safetensors` reproduces that exactly, so
reading a Swift file and writing it back gives the same bytes.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from typing import Dict, List, Tuple

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None}


# ---------------------------------------------------------------- JSON as Swift writes it

def _swift_json_string(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "/":
            out.append("\\/")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif o < 0x20:
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def swift_json(obj) -> str:
    """Compact JSON with sorted keys and escaped slashes, as Swift's JSONEncoder/JSONSerialization
    (`.sortedKeys`) write it. Floats print in their shortest round-trip form; integral values that
    came in as integers stay integers."""
    if isinstance(obj, dict):
        return "{" + ",".join(_swift_json_string(k) + ":" + swift_json(obj[k]) for k in sorted(obj)) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(swift_json(v) for v in obj) + "]"
    if isinstance(obj, str):
        return _swift_json_string(obj)
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if obj is None:
        return "null"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        if obj == int(obj) and abs(obj) < 1e15:
            return str(int(obj))
        return repr(obj)
    raise TypeError(f"cannot encode {type(obj)}")


# ---------------------------------------------------------------- safetensors

def read_safetensors(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """All tensors (as numpy arrays of their stored dtype) and the metadata strings."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file (too short)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: corrupt safetensors header length")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, info in header.items():
        dt = DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError(f"{path}: tensor {name}: dtype {info['dtype']} not supported")
        a, b = info["data_offsets"]
        arr = np.frombuffer(body[a:b], dtype=np.dtype(dt).newbyteorder("<")).reshape(info["shape"])
        tensors[name] = arr
    return tensors, meta


def serialize_safetensors(tensors: List[Tuple[str, np.ndarray]], metadata: Dict[str, str]) -> bytes:
    """Tensors in the given order (F32 or F16 arrays), metadata strings; Swift's exact bytes."""
    header = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    offset = 0
    chunks = []
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr)
        if arr.dtype == np.float32:
            dt = "F32"
        elif arr.dtype == np.float16:
            dt = "F16"
        else:
            raise TypeError(f"{name}: only float32 and float16 tensors are written")
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"data_offsets": [offset, offset + len(raw)], "dtype": dt, "shape": list(arr.shape)}
        chunks.append(raw)
        offset += len(raw)
    js = swift_json(header).encode("utf-8")
    while (8 + len(js)) % 8 != 0:
        js += b" "
    return struct.pack("<Q", len(js)) + js + b"".join(chunks)


def write_safetensors(path: str, tensors: List[Tuple[str, np.ndarray]], metadata: Dict[str, str]) -> None:
    """Atomic, as the Swift writer: a temporary file beside the target, fsync, rename."""
    data = serialize_safetensors(tensors, metadata)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ---------------------------------------------------------------- the parameter layout

def layout(model_cfg: dict) -> List[Tuple[str, List[int]]]:
    """(name, shape) of every parameter in the Swift `ParameterStore` declaration order
    (`LIDiTModel.init`: the prompt encoder's refiners, its collaborative blocks, then the DiT)."""
    out: List[Tuple[str, List[int]]] = []

    def linear(name, i, o):
        out.append((name + ".weight", [o, i]))
        out.append((name + ".bias", [o]))

    def mlp(name, i, h, o):
        linear(name + ".fc1", i, h)
        linear(name + ".fc2", h, o)

    def attention(name, dim, ctx, heads, qk):
        linear(name + ".q", dim, dim)
        linear(name + ".k", ctx, dim)
        linear(name + ".v", ctx, dim)
        linear(name + ".out", dim, dim)
        if qk:
            out.append((name + ".q_norm.weight", [dim // heads]))
            out.append((name + ".k_norm.weight", [dim // heads]))

    r = refiner_settings(model_cfg["refiner"])
    d, heads, ratio = r["width"], r["heads"], r["mlpRatio"]
    for b in r["branches"]:
        name = f"encoder.{b['name']}.refiner"
        linear(name + ".input", b["width"], d)
        if r["conditioned"]:
            mlp(name + ".t_embedder.mlp", 256, d, d)
            mlp(name + ".c_embedder", b["width"], d, d)
        for i in range(r["effectiveBlocks"]):
            blk = f"{name}.blocks.{i}"
            linear(blk + ".adaLN", d, 2 * d)
            out.append((blk + ".norm1.weight", [d]))
            out.append((blk + ".norm1.bias", [d]))
            attention(blk + ".attn", d, d, heads, False)
            out.append((blk + ".norm2.weight", [d]))
            out.append((blk + ".norm2.bias", [d]))
            mlp(blk + ".mlp", d, ratio * d, d)
    for b in r["branches"]:
        for l in range(r["effectiveCollaborativeBlocks"]):
            blk = f"encoder.{b['name']}.collaborative.{l}"
            linear(blk + ".adaLN", d, 6 * d)
            attention(blk + ".cross_attn", d, d, heads, r["collaborativeQKNorm"])
            mlp(blk + ".mlp", d, ratio * d, d)
    m = model_settings(model_cfg)
    D, P = m["width"], m["patch"] * m["patch"] * m["channels"]
    linear("dit.x_embedder", P, D)
    mlp("dit.t_embedder.mlp", 256, D, D)
    if m["pooledText"]:
        mlp("dit.y_embedder", d, D, D)
    for i in range(m["depth"]):
        blk = f"dit.blocks.{i}"
        linear(blk + ".adaLN", D, 9 * D)
        attention(blk + ".attn", D, D, m["heads"], m["qkNorm"])
        attention(blk + ".cross_attn", D, d, m["heads"], m["qkNorm"])
        mlp(blk + ".mlp", D, m["mlpRatio"] * D, D)
    linear("dit.final.adaLN", D, 2 * D)
    linear("dit.final.linear", D, P)
    return out


def layout_fingerprint(entries: List[Tuple[str, List[int]]]) -> str:
    """`parameterLayoutFingerprint`: SHA-256 over "name[shape, ...]" of every entry in order."""
    h = hashlib.sha256()
    for name, shape in entries:
        h.update((name + "[" + ", ".join(str(s) for s in shape) + "]").encode("utf-8"))
    return h.hexdigest()


# ---------------------------------------------------------------- configs with Swift's defaults

MODEL_DEFAULTS = dict(imageSize=64, channels=3, patch=8, width=192, depth=6, heads=4, mlpRatio=4,
                      activation="geluTanh", qkNorm=True, pooledText=True, prediction="cleanImage",
                      loss="velocity", minimumSigma=0.05)
REFINER_DEFAULTS = dict(width=192, heads=4, blocks=2, collaborativeBlocks=1, mlpRatio=4, activation="silu",
                        tokenRefiner=True, collaborativeRefiner=True, causalMask=False, collaborativeQKNorm=True,
                        normalizeFeatures=True)
OPTIMIZER_DEFAULTS = dict(learningRate=3e-4, beta1=0.9, beta2=0.99, weightDecay=0.01, warmupSteps=500,
                          totalSteps=40000, finalLearningRateFraction=0.1, gradientClip=1.0, emaDecay=0.999)
TRAINING_DEFAULTS = dict(batchSize=32, captionDropout=0.1, timestepMean=0.0, timestepStd=1.0, seed=0)


def model_settings(model_cfg: dict) -> dict:
    m = dict(MODEL_DEFAULTS)
    m.update({k: v for k, v in model_cfg.items() if k != "refiner"})
    return m


def refiner_settings(refiner_cfg: dict) -> dict:
    r = dict(REFINER_DEFAULTS)
    r.update(refiner_cfg)
    r["branches"] = [dict(instructionTokens=0, **b) if "instructionTokens" not in b else dict(b) for b in r["branches"]]
    r["effectiveBlocks"] = r["blocks"] if r["tokenRefiner"] else 0
    r["effectiveCollaborativeBlocks"] = (r["collaborativeBlocks"]
                                         if r["collaborativeRefiner"] and len(r["branches"]) >= 2 else 0)
    r["conditioned"] = r["effectiveBlocks"] > 0 or r["effectiveCollaborativeBlocks"] > 0
    return r


def optimizer_settings(training_cfg: dict) -> dict:
    o = dict(OPTIMIZER_DEFAULTS)
    o.update(training_cfg.get("optimizer", {}))
    return o


def training_settings(training_cfg: dict) -> dict:
    # A setting this trainer does not implement must not be ignored silently.
    if training_cfg.get("pooledTextDropout"):
        raise SystemExit("pooledTextDropout is not implemented by the PyTorch trainer; train this configuration with `lidit train`")
    t = dict(TRAINING_DEFAULTS)
    t.update({k: training_cfg[k] for k in TRAINING_DEFAULTS if k in training_cfg})
    return t


# ---------------------------------------------------------------- model files

class ModelFile:
    """A model file's configuration, flat weights (float32) and metadata."""

    def __init__(self, training_config_json: str, weights: np.ndarray, metadata: Dict[str, str]):
        self.training_config_json = training_config_json
        self.training_config = json.loads(training_config_json)
        self.weights = weights
        self.metadata = metadata

    @property
    def model_config(self) -> dict:
        return self.training_config["model"]

    @staticmethod
    def read(path: str) -> "ModelFile":
        tensors, meta = read_safetensors(path)
        key = "lidit.training_config"
        if key not in meta:
            raise ValueError(f"{path}: not an LI-DiT model (no {key} metadata)")
        if "weights" not in tensors:
            raise ValueError(f"{path}: not an LI-DiT model file (no weights tensor)")
        mf = ModelFile(meta[key], tensors["weights"].astype(np.float32).reshape(-1), meta)
        entries = layout(mf.model_config)
        count = sum(int(np.prod(s)) for _, s in entries)
        if count != mf.weights.size:
            raise ValueError(f"{path}: {mf.weights.size} weights, its configuration declares {count}")
        if "lidit.layout" in meta and meta["lidit.layout"] != layout_fingerprint(entries):
            raise ValueError(f"{path}: weights do not match the model's configuration (layout)")
        return mf


def write_model_file(path: str, training_config_json: str, flat_weights: np.ndarray, model_id: str, step: int) -> None:
    """The EMA weights in fp16 with the configuration: what `Trainer.exportModel` writes."""
    entries = layout(json.loads(training_config_json)["model"])
    write_safetensors(path, [("weights", np.asarray(flat_weights, dtype=np.float32).astype(np.float16))], {
        "lidit.training_config": training_config_json,
        "lidit.model_id": model_id,
        "lidit.layout": layout_fingerprint(entries),
        "lidit.step": str(step),
    })

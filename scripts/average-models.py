#!/usr/bin/env python3
"""Averages the weights of LI-DiT model files of one layout (a "model soup": fine-tunes of one
model, averaged parameter by parameter). The output keeps the first file's training config and
layout; its model id names the averaged weights.

usage: scripts/average-models.py OUT.safetensors A.safetensors B.safetensors [...]
"""
import hashlib, json, struct, sys
import numpy as np


def read(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
        size = struct.unpack("<Q", data[:8])[0]
        if not 2 <= size <= len(data) - 8:
            raise ValueError("header size out of range")
        header = json.loads(data[8:8 + size])
        data = data[8 + size:]
    except (OSError, ValueError, struct.error) as error:
        sys.exit(f"{path}: not a readable safetensors file ({error})")
    meta = header.pop("__metadata__", {})
    if list(header) != ["weights"] or header["weights"]["dtype"] != "F16":
        sys.exit(f"{path}: not an LI-DiT model file (one F16 tensor named weights)")
    start, end = header["weights"]["data_offsets"]
    if end > len(data) or (end - start) != 2 * header["weights"]["shape"][0]:
        sys.exit(f"{path}: truncated weights")
    return meta, np.frombuffer(data[start:end], dtype=np.float16)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    out, inputs = sys.argv[1], sys.argv[2:]
    files = [read(p) for p in inputs]
    meta = dict(files[0][0])
    for path, (m, w) in zip(inputs, files):
        if m.get("lidit.layout") != meta.get("lidit.layout") or w.shape != files[0][1].shape:
            sys.exit(f"{path}: another layout than {inputs[0]}")
    mean = np.mean([w.astype(np.float32) for _, w in files], axis=0).astype(np.float16)
    blob = mean.tobytes()
    meta["lidit.model_id"] = "lidit-shapes-soup-" + hashlib.sha256(blob).hexdigest()[:8]
    meta["lidit.averaged_from"] = json.dumps([m.get("lidit.model_id", p) for p, (m, _) in zip(inputs, files)])
    header = {"__metadata__": meta, "weights": {"dtype": "F16", "shape": [int(mean.size)], "data_offsets": [0, len(blob)]}}
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + blob)
    print(f"{out}: {meta['lidit.model_id']}, the mean of {len(inputs)} models")


main()

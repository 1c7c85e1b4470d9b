#!/usr/bin/env python3
"""Writes malformed safetensors files for the bad-input end-to-end tests.

make_malformed.py OUTDIR  -> OUTDIR/<case>.safetensors for every case below, each a small MLP
(fc1 16x20, fc2 10x16) broken in exactly one way."""
import json
import os
import struct
import sys

import numpy as np


def tensors():
    rng = np.random.default_rng(7)
    return {"fc1.weight": rng.standard_normal((16, 20)).astype(np.float32),
            "fc2.weight": rng.standard_normal((10, 16)).astype(np.float32)}


def layout(arrays):
    header, blobs, offset = {}, [], 0
    for name, a in arrays.items():
        raw = a.tobytes()
        header[name] = {"dtype": "F64" if a.dtype == np.float64 else "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    return header, b"".join(blobs)


def pack(header_text, data, length=None):
    raw = header_text.encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def cases():
    header, data = layout(tensors())
    good = json.dumps(header)
    out = {"empty": b"", "short": b"\x01\x02\x03"}
    out["header_longer_than_file"] = pack(good, data, length=len(good) + len(data) + 4096)
    out["header_absurd"] = pack(good, data, length=1 << 40)
    out["invalid_json"] = pack(good[:-5] + "{{", data)
    out["duplicate_keys"] = pack(good[:-1] + ', "fc1.weight": ' + json.dumps(header["fc1.weight"]) + "}", data)
    h = json.loads(good); h["fc2.weight"]["dtype"] = "F128"
    out["unknown_dtype"] = pack(json.dumps(h), data)
    h = json.loads(good); h["fc2.weight"]["data_offsets"] = [1280, 1280 + 640 + 10**6]; h["fc2.weight"]["shape"] = [10, 16 + 250000]
    out["offsets_out_of_file"] = pack(json.dumps(h), data)
    h = json.loads(good); h["fc2.weight"]["data_offsets"] = [640, 1280]
    out["overlapping_offsets"] = pack(json.dumps(h), data[:1280])
    h = json.loads(good); h["fc2.weight"]["shape"] = [10, 15]
    out["shape_size_mismatch"] = pack(json.dumps(h), data)
    h = json.loads(good); h["fc2.weight"]["data_offsets"] = [1288, 1928]
    out["gap_in_data"] = pack(json.dumps(h), data[:1280] + b"\0" * 8 + data[1280:])
    out["trailing_bytes"] = pack(good, data + b"\0" * 16)
    # torchvision's ResNet names but a classifier called "head": a residual network of no family
    # svr recognises.
    rng = np.random.default_rng(3)
    residual = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in [
        ("conv1.weight", (8, 3, 3, 3)), ("layer1.0.conv1.weight", (8, 8, 3, 3)),
        ("layer1.0.conv2.weight", (8, 8, 3, 3)), ("head.weight", (10, 8))]}
    residual_header, residual_data = layout(residual)
    out["residual_unknown"] = pack(json.dumps(residual_header), residual_data)
    # F64 weights with one entry beyond float's range: fine in double, refused by
    # --precision single.
    wide = {name: a.astype(np.float64) for name, a in tensors().items()}
    wide["fc2.weight"][3, 5] = 1e39
    wide_header, wide_data = layout(wide)
    out["beyond_float"] = pack(json.dumps(wide_header), wide_data)
    return out


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for name, blob in cases().items():
        with open(os.path.join(outdir, name + ".safetensors"), "wb") as f:
            f.write(blob)
    print("wrote %d malformed files to %s" % (len(cases()), outdir))


if __name__ == "__main__":
    main()

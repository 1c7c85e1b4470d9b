#!/usr/bin/env python3
"""Minimal safetensors reader/writer on NumPy only (no torch, no `safetensors`).

Format: 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
{name: {"dtype", "shape", "data_offsets": [b, e]}, "__metadata__": {str: str}},
then the data section (offsets relative to its start). BF16 is returned as
float32 (exact widening).
"""

import json
import struct
from collections import OrderedDict

import numpy as np

NP_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
    "U16": np.dtype("<u2"), "U32": np.dtype("<u4"), "U64": np.dtype("<u8"),
    "BF16": np.dtype("<u2"),
}
FLOAT_DTYPES = ("F64", "F32", "F16", "BF16")


class SafetensorsError(ValueError):
    pass


def read_safetensors(path):
    """Return (tensors: OrderedDict name -> np.ndarray in header order,
    dtypes: name -> dtype string, metadata: dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise SafetensorsError(f"{path}: file shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise SafetensorsError(f"{path}: header length {n} exceeds the file size")
    header = json.loads(raw[8:8 + n].decode("utf-8"), object_pairs_hook=OrderedDict)
    data = memoryview(raw)[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    tensors, dtypes = OrderedDict(), {}
    for name, info in header.items():
        dt = info["dtype"]
        if dt not in NP_DTYPES:
            raise SafetensorsError(f"{path}: tensor {name}: unknown dtype {dt}")
        b, e = info["data_offsets"]
        shape = tuple(int(s) for s in info["shape"])
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not (0 <= b <= e <= len(data)) or e - b != count * NP_DTYPES[dt].itemsize:
            raise SafetensorsError(f"{path}: tensor {name}: bad data_offsets {b},{e}")
        a = np.frombuffer(data[b:e], dtype=NP_DTYPES[dt]).reshape(shape)
        if dt == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = a.copy()
        dtypes[name] = dt
    return tensors, dtypes, meta


def write_safetensors(path, tensors, metadata=None, dtypes=None, sort=True):
    """Write name -> ndarray. dtypes may force e.g. {"x": "BF16"} (float32 input,
    truncated with round-to-nearest-even). Returns the bytes written."""
    dtypes = dtypes or {}
    inv = {"<f8": "F64", "<f4": "F32", "<f2": "F16", "<i8": "I64", "<i4": "I32",
           "<i2": "I16", "|i1": "I8", "|u1": "U8", "|b1": "BOOL"}
    header = OrderedDict()
    if metadata:
        header["__metadata__"] = OrderedDict((str(k), str(v)) for k, v in metadata.items())
    chunks, off = [], 0
    for name in (sorted(tensors) if sort else list(tensors)):
        a = np.asarray(tensors[name])
        dt = dtypes.get(name)
        if dt == "BF16":
            u = np.ascontiguousarray(a, dtype="<f4").view("<u4")
            u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")
            b = u.tobytes()
        else:
            if dt is not None:
                a = a.astype(NP_DTYPES[dt])
            a = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<")))
            dt = inv[a.dtype.str]
            b = a.tobytes()
        header[name] = OrderedDict([("dtype", dt), ("shape", list(a.shape)),
                                    ("data_offsets", [off, off + len(b)])])
        chunks.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    blob = struct.pack("<Q", len(h)) + h + b"".join(chunks)
    with open(path, "wb") as f:
        f.write(blob)
    return blob

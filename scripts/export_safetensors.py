#!/usr/bin/env python3
"""Write a PyTorch model or state_dict to a .safetensors file, without the
`safetensors` package (the format is written by hand).

Usage (Debian's interpreter has torch):

    /usr/bin/python3 scripts/export_safetensors.py IN.pth OUT.safetensors

IN may be a state_dict saved with torch.save, or a checkpoint dict holding one
under "state_dict", "model_state_dict", "model" or "net". Every tensor is
written with its own dtype (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL),
keys in alphabetical order (as the official library does), and
__metadata__["svr.layers"] = JSON list of the weight names of the layers in
state_dict order (keys ending in ".weight" with >= 2 dims).

Importable:
    export_state_dict(state_dict, path, layers=None, extra_metadata=None)
    export_model(model, path)   # layers = Linear/Conv modules in module order

File layout: 8-byte little-endian u64 header length N, N bytes of JSON header
(padded with spaces to a multiple of 8), then the data section; each tensor's
data_offsets [begin, end) are relative to the data section.
"""

import argparse
import json
import struct
import sys
from collections import OrderedDict

import torch

DTYPES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}

CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model", "net")


def tensor_bytes(t):
    """Raw little-endian bytes of a tensor in row-major order."""
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    a = t.numpy()
    if a.dtype.byteorder == ">":
        a = a.byteswap().newbyteorder()
    return a.tobytes()


def default_layers(state_dict):
    """Weight names of the linear/conv layers in state_dict order: keys ending
    in '.weight' (or equal to 'weight') whose tensor has >= 2 dims."""
    out = []
    for k, v in state_dict.items():
        if (k.endswith(".weight") or k == "weight") and torch.is_tensor(v) \
                and v.dim() >= 2 and v.is_floating_point():
            out.append(k)
    return out


def build_file(tensors, metadata=None):
    """Return the bytes of a safetensors file. `tensors` maps name -> torch
    tensor; written in alphabetical key order."""
    header = OrderedDict()
    if metadata:
        header["__metadata__"] = OrderedDict((str(k), str(v)) for k, v in metadata.items())
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype not in DTYPES:
            raise ValueError(f"tensor {name}: unsupported dtype {t.dtype}")
        b = tensor_bytes(t)
        header[name] = OrderedDict([
            ("dtype", DTYPES[t.dtype]),
            ("shape", list(t.shape)),
            ("data_offsets", [offset, offset + len(b)]),
        ])
        chunks.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)


def export_state_dict(state_dict, path, layers=None, extra_metadata=None):
    """Write `state_dict` to `path`. `layers` (list of weight names) defaults to
    default_layers(state_dict); pass layers=[] to omit svr.layers."""
    tensors = OrderedDict((k, v) for k, v in state_dict.items() if torch.is_tensor(v))
    if layers is None:
        layers = default_layers(tensors)
    for name in layers:
        if name not in tensors:
            raise KeyError(f"layer {name} is not a tensor of the state_dict")
    meta = OrderedDict()
    if layers:
        meta["svr.layers"] = json.dumps(list(layers))
    if extra_metadata:
        meta.update(extra_metadata)
    data = build_file(tensors, meta)
    with open(path, "wb") as f:
        f.write(data)
    return layers


def model_layers(model):
    """Weight names of nn.Linear / nn.ConvNd modules, in module order."""
    kinds = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
    return [f"{name}.weight" if name else "weight"
            for name, m in model.named_modules() if isinstance(m, kinds)]


def export_model(model, path, extra_metadata=None):
    return export_state_dict(model.state_dict(), path, layers=model_layers(model),
                             extra_metadata=extra_metadata)


def find_state_dict(obj):
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        if obj and all(torch.is_tensor(v) for v in obj.values()):
            return obj
        for k in CHECKPOINT_KEYS:
            if k in obj:
                return find_state_dict(obj[k])
        tens = OrderedDict((k, v) for k, v in obj.items() if torch.is_tensor(v))
        if tens:
            return tens
    raise ValueError("no state_dict found (expected a dict of tensors or a checkpoint "
                     "holding one under " + "/".join(CHECKPOINT_KEYS) + ")")


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Convert a PyTorch state_dict / checkpoint (.pt/.pth) to .safetensors "
                    "with __metadata__['svr.layers'] (the layer order svr uses). "
                    "Tensors are written in alphabetical key order with their own dtype.",
        epilog="Example: /usr/bin/python3 scripts/export_safetensors.py "
               "examples/digits_cnn_bn.pth /tmp/digits.safetensors")
    ap.add_argument("input", metavar="IN.pth",
                    help="torch.save'd state_dict, or checkpoint dict with a "
                         "'state_dict'/'model_state_dict'/'model'/'net' entry, or a full nn.Module")
    ap.add_argument("output", metavar="OUT.safetensors", help="file to write (overwritten)")
    ap.add_argument("--layers", default=None,
                    help="comma list of weight names for svr.layers (default: keys ending in "
                         "'.weight' with >= 2 dims, in state_dict order)")
    ap.add_argument("--no-layers", action="store_true",
                    help="do not write the svr.layers metadata")
    ap.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE",
                    help="extra __metadata__ string entry (repeatable)")
    a = ap.parse_args(argv)
    obj = torch.load(a.input, map_location="cpu")
    sd = find_state_dict(obj)
    layers = [] if a.no_layers else (a.layers.split(",") if a.layers else None)
    extra = OrderedDict()
    for kv in a.metadata:
        if "=" not in kv:
            ap.error(f"--metadata expects KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        extra[k] = v
    layers = export_state_dict(sd, a.output, layers=layers, extra_metadata=extra)
    print(f"wrote {a.output}: {len(sd)} tensors, {len(layers)} layers: {', '.join(layers)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

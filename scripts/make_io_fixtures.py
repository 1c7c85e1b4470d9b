#!/usr/bin/python3
"""Writes the small reader fixtures of tests/unit/io into tests/data/io (fixed seeds).

Run with Debian's python3 (it has torch): /usr/bin/python3 scripts/make_io_fixtures.py
Every file is a few KB. expected.json holds, per fixture, every tensor's name, dtype, shape,
float64 sum and a few element values, all computed by torch, for the C++ tests to compare.
"""
import json
import os
import struct
import sys
from collections import OrderedDict

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "io")
DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
          torch.uint8: "U8", torch.bool: "BOOL"}


def small_net():
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(3 * 2 * 2, 4), nn.ReLU(), nn.Linear(4, 3))


def mixed_state_dict():
    """A state_dict of a conv/BN/linear net with F64, F32, F16 and BF16 tensors (keeps _metadata)."""
    torch.manual_seed(1234)
    net = small_net()
    with torch.no_grad():  # non-trivial BN statistics
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 1.5)
        net[1].num_batches_tracked.fill_(7)
    sd = net.state_dict()
    sd["0.weight"] = sd["0.weight"].double()
    sd["0.bias"] = sd["0.bias"].half()
    sd["4.weight"] = sd["4.weight"].bfloat16()
    sd["6.weight"] = sd["6.weight"].half()
    return sd


def describe(sd):
    rows = []
    for name, t in sd.items():
        if not isinstance(t, torch.Tensor):
            continue
        flat = t.detach().double().contiguous().reshape(-1)
        picks = sorted({0, flat.numel() // 2, flat.numel() - 1}) if flat.numel() else []
        rows.append({"name": name, "dtype": DTYPES[t.dtype], "shape": list(t.shape),
                     "sum": flat.sum().item(), "abs_sum": flat.abs().sum().item(),
                     "values": [[i, flat[i].item()] for i in picks]})
    return rows


def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """The safetensors format by hand (Debian has no `safetensors` package)."""
    header, data = OrderedDict(), b""
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        b = raw_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


class Refused:
    """Pickles as a call of os.system; saving never runs it and svr must never run it either."""

    def __reduce__(self):
        return (os.system, ("true",))


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = OrderedDict()

    sd = mixed_state_dict()
    torch.save(sd, os.path.join(OUT, "small_zip.pth"))
    torch.save(sd, os.path.join(OUT, "small_legacy.pth"), _use_new_zipfile_serialization=False)
    expected["small_zip.pth"] = describe(sd)
    expected["small_legacy.pth"] = describe(sd)
    # Protocol 4 exercises FRAME, SHORT_BINUNICODE, MEMOIZE and STACK_GLOBAL.
    torch.save(sd, os.path.join(OUT, "small_zip_p4.pth"), pickle_protocol=4)
    expected["small_zip_p4.pth"] = describe(sd)

    # A full training checkpoint: the model dict sits under "model" next to optimizer state.
    torch.manual_seed(99)
    net = small_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(5, 2, 4, 4)
    net(x).square().sum().backward()
    opt.step()
    ckpt = {"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}
    torch.save(ckpt, os.path.join(OUT, "checkpoint.pth"))
    expected["checkpoint.pth"] = describe(ckpt["model"])

    # Views: a transposed tensor and a row sharing one storage (storage_offset != 0).
    torch.manual_seed(7)
    base = torch.randn(4, 6)
    views = OrderedDict([("fc.weight_t", base.t()), ("row2", base[2]), ("every_other", base[:, ::2]),
                         ("fc.bias", torch.randn(3))])
    for name in ("transposed_zip.pth", "transposed_legacy.pth"):
        torch.save(views, os.path.join(OUT, name), _use_new_zipfile_serialization=name.endswith("zip.pth"))
        expected[name] = describe(views)

    # Hand-written safetensors with the svr.layers metadata (a JSON list inside a string).
    st = OrderedDict((k, v) for k, v in sd.items())
    layers = ["0.weight", "4.weight", "6.weight"]
    write_safetensors(os.path.join(OUT, "small.safetensors"), st,
                      {"format": "pt", "svr.layers": json.dumps(layers)})
    expected["small.safetensors"] = describe(st)

    # Sharded: two shards and an index whose weight_map order is the model order.
    names = list(st)
    shard_names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    split = 4
    os.makedirs(os.path.join(OUT, "sharded"), exist_ok=True)
    for i, part in enumerate([names[:split], names[split:]]):
        write_safetensors(os.path.join(OUT, "sharded", shard_names[i]),
                          OrderedDict((k, st[k]) for k in part), {"format": "pt"})
    index = OrderedDict([("metadata", {"total_size": sum(len(raw_bytes(t)) for t in st.values()),
                                       "svr.layers": json.dumps(layers)}),
                         ("weight_map", OrderedDict((k, shard_names[0 if j < split else 1])
                                                    for j, k in enumerate(names)))])
    with open(os.path.join(OUT, "sharded", "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
    expected["sharded/model.safetensors.index.json"] = describe(st)

    # A state_dict with one value that would call os.system("true") if unpickled by pickle.
    torch.manual_seed(3)
    refused = OrderedDict([("fc.weight", torch.randn(2, 3)), ("evil", Refused())])
    torch.save(refused, os.path.join(OUT, "refused_entry.pth"))
    expected["refused_entry.pth"] = describe(refused)

    expected["_layers"] = layers
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    for root, _, files in os.walk(OUT):
        for name in files:
            size = os.path.getsize(os.path.join(root, name))
            assert size < 50_000, (name, size)
    print("fixtures written to", os.path.normpath(OUT), file=sys.stderr)


if __name__ == "__main__":
    main()

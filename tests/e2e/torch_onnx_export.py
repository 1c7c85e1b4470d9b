#!/usr/bin/env python3
"""e2e.onnx.torch_export: the example CNN exported by torch.onnx.export (PyTorch's own ONNX
writer, eval mode, default options) gives the same SVR as its safetensors. Skipped when torch
or onnx cannot be imported (the committed fixtures of tests/data/onnx, made without torch,
cover the reader then).

Usage: torch_onnx_export.py --svr SVR --np N SAFETENSORS
"""
import argparse
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--svr", required=True)
    parser.add_argument("--np", type=int, default=1)
    parser.add_argument("safetensors")
    a = parser.parse_args()
    try:
        import numpy as np
        import torch
        import onnx  # noqa: F401  (torch.onnx.export needs it)
    except ImportError:
        print("skipped 'torch is not importable'")
        return 0
    spec = importlib.util.spec_from_file_location(
        "train_examples", os.path.join(ROOT, "scripts", "train_examples.py"))
    examples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(examples)
    model = examples.make_model(False)
    with open(a.safetensors, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    state = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        values = np.frombuffer(data[8 + n + begin:8 + n + end], dtype="<f4").reshape(entry["shape"])
        state[name] = torch.from_numpy(values.copy())
    model.load_state_dict(state)
    model.eval()
    work = tempfile.mkdtemp(prefix="svr_torch_onnx_")
    exported = os.path.join(work, "digits_cnn_plain.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 8, 8), exported)
    proc = subprocess.run([sys.executable, os.path.join(HERE, "svr_e2e.py"), "--svr", a.svr,
                           "--np", str(a.np), "same", a.safetensors, exported])
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""e2e.onnx.torch_export: the example CNN exported by torch.onnx.export (PyTorch's own ONNX
writer, eval mode, default options) gives the same SVR as its safetensors. Skipped when torch
or onnx cannot be imported (the committed fixtures of tests/data/onnx, made without torch,
cover the reader then).

Usage: torch_onnx_export.py --svr SVR --np N SAFETENSORS
"""
import argparse
import importlib.util
import os
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
    # The fixtures' reader of the example's safetensors (F32 tensors as NumPy arrays).
    spec = importlib.util.spec_from_file_location(
        "make_onnx_fixtures", os.path.join(ROOT, "tests", "data", "onnx", "make_onnx_fixtures.py"))
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    weights = fixtures.read_safetensors(a.safetensors)
    model.load_state_dict({name: torch.from_numpy(v.copy()) for name, v in weights.items()})
    model.eval()
    work = tempfile.mkdtemp(prefix="svr_torch_onnx_")
    exported = os.path.join(work, "digits_cnn_plain.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 8, 8), exported)
    proc = subprocess.run([sys.executable, os.path.join(HERE, "svr_e2e.py"), "--svr", a.svr,
                           "--np", str(a.np), "same", a.safetensors, exported])
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A torchvision architecture with random weights, made without torch: the state_dict's names,
shapes and dtypes come from ARCH.tensors.json (written from torchvision by
make_family_fixtures.py) and every tensor is drawn from the law torchvision's own
initialisation uses for that family, so the file is what `torchvision.models.ARCH(weights=None)`
saves, up to the random stream:

  convolutions  normal, std sqrt(2 / fan) with fan = fan_out (ResNet family, MobileNet,
                EfficientNet-style) or fan_in (DenseNet), as in their __init__;
  linear        uniform(+-1/sqrt(in)) (nn.Linear's default; ResNet, DenseNet, Inception),
                normal(0, 0.01) (MobileNetV2/V3, EfficientNet: uniform(+-1/sqrt(out)));
  batch norms   weight 1, bias 0, running mean 0, running variance 1;
  biases        0; integer tensors 0.

Independent entries make every spectral direction uniform, which is the null of the SVR test:
the e2e tests check that the raw p-values of each pair are calibrated and that nothing is
significant. NumPy only, deterministic (--seed).

    random_weights.py FAMILIES_DIR ARCH OUT.safetensors [--seed N]
"""
import argparse
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "oracle"))
from safetensors_np import write_safetensors  # noqa: E402

NUMPY_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64,
                "I32": np.int32}


def family_of(arch):
    for prefix in ("resnet", "resnext", "wide_resnet", "densenet", "mobilenet", "efficientnet",
                   "inception", "vgg"):
        if arch.startswith(prefix):
            return prefix
    raise SystemExit(f"random_weights.py: {arch}: no torchvision initialisation rule")


def draw(rng, family, name, shape):
    """The initial value torchvision gives tensor `name` of `shape` in `family`."""
    fan_in = int(np.prod(shape[1:])) if len(shape) >= 2 else 0
    fan_out = shape[0] * int(np.prod(shape[2:])) if len(shape) >= 2 else 0
    if len(shape) >= 3:  # a convolution
        fan = fan_in if family in ("densenet",) else fan_out
        if family == "inception":  # truncated normal, std 0.1
            return np.clip(rng.standard_normal(shape), -2.0, 2.0) * 0.1
        return rng.standard_normal(shape) * math.sqrt(2.0 / fan)
    if len(shape) == 2:  # a linear layer
        if family == "mobilenet":
            return rng.standard_normal(shape) * 0.01
        if family == "efficientnet":
            bound = 1.0 / math.sqrt(shape[0])
        elif family == "vgg":
            return rng.standard_normal(shape) * 0.01
        else:
            bound = 1.0 / math.sqrt(shape[1])
        return rng.uniform(-bound, bound, size=shape)
    if name.endswith("running_var") or (name.endswith(".weight") and len(shape) == 1):
        return np.ones(shape)
    return np.zeros(shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("families_dir")
    parser.add_argument("arch")
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args()
    with open(os.path.join(a.families_dir, a.arch + ".tensors.json")) as f:
        described = json.load(f)["tensors"]
    family = family_of(a.arch)
    rng = np.random.default_rng(a.seed)
    tensors, dtypes = {}, {}
    for t in described:
        value = draw(rng, family, t["name"], tuple(t["shape"]))
        tensors[t["name"]] = np.asarray(value).astype(NUMPY_DTYPES[t["dtype"]])
    # state_dict order, as torch.save and safetensors' torch writer keep it.
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    write_safetensors(a.out, tensors, dtypes=dtypes, sort=False)
    print(f"{a.out}: {len(tensors)} tensors of torchvision.models.{a.arch} with random weights")


if __name__ == "__main__":
    main()

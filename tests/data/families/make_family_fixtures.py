#!/usr/bin/env python3
"""Writes, for every architecture family svr recognises from a state_dict alone, the names,
shapes and dtypes of its state_dict (ARCH.tensors.json) and the topology that
scripts/export_topology.py traces from the torchvision model (ARCH.topology.json). The test
tests/topology/check_recogniser.py (no torch needed) rebuilds a weightless model file from the
first and checks that svr recognises exactly the pairs of the second.

    /usr/bin/python3 tests/data/families/make_family_fixtures.py [OUTDIR]   (needs torch, torchvision)
"""
import json
import os
import sys

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "scripts"))
from export_topology import export_topology, write_topology  # noqa: E402

ARCHITECTURES = {
    "resnet18": dict(),
    "resnet34": dict(),
    "resnet50": dict(),
    "resnet101": dict(),
    "resnet152": dict(),
    "resnext50_32x4d": dict(),
    "wide_resnet50_2": dict(),
    "densenet121": dict(),
    "mobilenet_v2": dict(),
    "mobilenet_v3_small": dict(),
    "mobilenet_v3_large": dict(),
    "efficientnet_b0": dict(),
    "vgg16_bn": dict(),
    "inception_v3": dict(aux_logits=False, init_weights=False),
}
DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def main(outdir=HERE):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    for arch, kwargs in ARCHITECTURES.items():
        model = getattr(torchvision.models, arch)(weights=None, **kwargs).eval()
        tensors = [{"name": k, "dtype": DTYPES[v.dtype], "shape": list(v.shape)}
                   for k, v in model.state_dict().items()]
        with open(os.path.join(outdir, arch + ".tensors.json"), "w") as f:
            json.dump({"model": "torchvision.models." + arch, "tensors": tensors}, f, indent=0)
            f.write("\n")
        topology = export_topology(model, model_name="torchvision.models." + arch)
        write_topology(topology, os.path.join(outdir, arch + ".topology.json"))
        pairs = sum(len(layer.get("reads_from", [])) for layer in topology["layers"])
        print(f"{arch}: {len(tensors)} tensors, {len(topology['layers'])} layers, {pairs} pairs")


if __name__ == "__main__":
    main(*sys.argv[1:])

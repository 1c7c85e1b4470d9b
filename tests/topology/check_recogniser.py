#!/usr/bin/env python3
"""svr's recogniser of architecture families against scripts/export_topology.py: for every
family of tests/data/families, a weightless model file with the state_dict's names, shapes and
dtypes (a sparse safetensors file: svr --plan reads only its header) is given to
`svr --plan --export-topology`, and the topology svr recognises must be the one the exporter
traced from the torchvision model: the same layers in the same order (kind, groups, folded
batch norm, flatten order) and the same reads (producer, map, source, offset, permutation).
Standard library only.

    check_recogniser.py SVR FAMILIES_DIR [ARCH ...]
    check_recogniser.py SVR --model MODEL TOPOLOGY [MODEL TOPOLOGY ...]   real model files
"""
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile

SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4}


def write_weightless(tensors, path):
    header, offset = {}, 0
    for t in tensors:
        n = 1
        for d in t["shape"]:
            n *= d
        size = n * SIZES[t["dtype"]]
        header[t["name"]] = {"dtype": t["dtype"], "shape": t["shape"],
                             "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.truncate(8 + len(text) + offset)  # sparse: no data written


def normalised(topology):
    layers = []
    for layer in topology["layers"]:
        reads = []
        for r in layer.get("reads_from", []):
            reads.append({k: r[k] for k in ("layer", "map", "source", "offset", "permutation")
                          if k in r})
        layers.append({"name": layer["name"], "kind": layer["kind"],
                       "groups": layer.get("groups", 1), "batchnorm": layer.get("batchnorm"),
                       "flatten_order": layer.get("flatten_order") if reads else None,
                       "reads_from": reads})
    return layers


def check(svr, directory, arch, work):
    with open(os.path.join(directory, arch + ".tensors.json")) as f:
        tensors = json.load(f)["tensors"]
    model = os.path.join(work, arch + ".safetensors")
    write_weightless(tensors, model)
    return check_model(svr, model, os.path.join(directory, arch + ".topology.json"), arch, work)


def check_model(svr, model, topology_file, label, work):
    """svr's recognised topology of MODEL against TOPOLOGY_FILE; the problems found."""
    with open(topology_file) as f:
        expected = normalised(json.load(f))
    exported = os.path.join(work, label + ".exported.json")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    proc = subprocess.run([svr, model, "--plan", "--export-topology", exported],
                          capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != 0:
        return [f"svr failed: {proc.stderr.strip()}"]
    with open(exported) as f:
        topology = json.load(f)
    got = normalised(topology)
    problems = []
    if [l["name"] for l in got] != [l["name"] for l in expected]:
        missing = sorted({l["name"] for l in expected} - {l["name"] for l in got})
        extra = sorted({l["name"] for l in got} - {l["name"] for l in expected})
        problems.append(f"layers differ (missing {missing[:5]}, extra {extra[:5]}, or order)")
    else:
        for a, b in zip(got, expected):
            if a != b:
                problems.append(f"layer {a['name']}: svr {a} vs exporter {b}")
    pairs = sum(len(l["reads_from"]) for l in got)
    print(f"{label}: {len(got)} layers, {pairs} pairs, recognised as {topology.get('model')}: "
          f"{'same topology' if not problems else 'DIFFERENT'}")
    return problems


def main(svr, directory, *archs):
    if directory == "--model":  # real model files, each with its exported topology
        if not archs or len(archs) % 2:
            print("check_recogniser.py SVR --model MODEL TOPOLOGY [MODEL TOPOLOGY ...]")
            return 2
        cases = [(os.path.basename(archs[k]), archs[k], archs[k + 1])
                 for k in range(0, len(archs), 2)]
    else:
        archs = archs or sorted(os.path.basename(p)[:-len(".tensors.json")]
                                for p in glob.glob(os.path.join(directory, "*.tensors.json")))
        cases = [(arch, None, None) for arch in archs]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="svr-recognise-") as work:
        for label, model, topology in cases:
            problems = (check(svr, directory, label, work) if model is None
                        else check_model(svr, model, topology, label, work))
            for p in problems[:10]:
                print("  " + p)
            failures += bool(problems)
    print(f"{len(cases) - failures} of {len(cases)} models recognised as exported")
    return 1 if failures or not cases else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

#!/usr/bin/env python3
"""Generate the fixtures of tests/data/graph/ (see tests/data/graph/README.md).

    /usr/bin/python3 tests/data/make_graph_fixtures.py [--out tests/data/graph]

NumPy only, deterministic (fixed seeds). Each model is MODEL.safetensors (F32 weights, BatchNorm
tensors where a layer has one, I64 num_batches_tracked) with its topology MODEL.json
(docs/input-formats.md, "Topology files"); bad/ holds malformed topology files.

Planted structure: every layer's *folded* matrix M (BN folded, spec section 1) is
    noise (i.i.d. N(0, 1/fan_in), block diagonal for grouped convolutions)
    + sum_q strength_q x_q y_q^T
with x_q unit output directions (orthonormal; inside one group's rows for a grouped layer) and
y_q unit input directions built from the producers' x_q along the channel maps:
y_q[col(pi(a), p)] = sum over reads of x_q(producer)[a] h_q[p] (h_q a random unit vector over the
z positions), restricted to one group's columns for a grouped layer, then orthonormalised.
So the top singular triplets of consecutive layers are aligned along each pair's channel map
and the (q, q) edges are significant. The weights stored are M / (BN scale) so that folding
gives M back. random_tiny has i.i.d. Gaussian weights only (calibration: no planted edge).
"""

import argparse
import json
import os
import sys
from collections import OrderedDict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "oracle"))
from safetensors_np import write_safetensors  # noqa: E402

KINDS = {2: "linear", 3: "conv1d", 4: "conv2d", 5: "conv3d"}


def R(layer, kind="direct", **kw):
    """One entry of reads_from."""
    d = OrderedDict(layer=layer, map=kind)
    d.update(kw)
    return d


def Lyr(name, shape, reads=(), groups=1, bn=None, flatten_order=None, spikes=(5.0, 3.0),
        concentrate=None, sources=None, block=None):
    """A layer: weight name and shape (PyTorch layout), its reads, planted spikes
    (strengths), optional output channels to concentrate x_q on, what each y_q
    follows (sources[q] = list of (read index, producer spike index); default: spike
    q of every read's producer) and, for a grouped layer, the group of each spike
    (default: the group where y_q has most mass)."""
    return dict(name=name, shape=tuple(shape), reads=list(reads), groups=groups, bn=bn,
                flatten_order=flatten_order, spikes=list(spikes), concentrate=concentrate,
                sources=sources, block=block)


def unit(v):
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def geometry(spec, done):
    """(c_B, z, col(t, p)) of a layer's input from its reads (the format's rules)."""
    shape, g = spec["shape"], spec["groups"]
    if len(shape) > 2:
        c_b, z = shape[1] * g, int(np.prod(shape[2:]))
        return c_b, z, (lambda t, p: t * z + p)
    prods = [done[r["layer"]] for r in spec["reads"]]
    if not prods or all(len(P["spec"]["shape"]) == 2 for P in prods):
        return shape[1], 1, (lambda t, p: t)
    if spec["reads"][0]["map"] in ("direct", "add"):
        c_b = prods[0]["spec"]["shape"][0]
    else:
        c_b = sum(slice_of(r, P)[1] for r, P in zip(spec["reads"], prods))
    z = shape[1] // c_b
    assert z * c_b == shape[1], spec["name"]
    if spec["flatten_order"] == "hwc":
        return c_b, z, (lambda t, p: p * c_b + t)
    return c_b, z, (lambda t, p: t * z + p)


def slice_of(r, P):
    out = P["spec"]["shape"][0]
    if "source" in r:
        return r["source"][0], r["source"][1]
    return 0, out


def targets(r, P):
    first, count = slice_of(r, P)
    if r["map"] == "permute":
        return list(range(first, first + count)), list(r["permutation"])
    off = r.get("offset", 0)
    return list(range(first, first + count)), [off + k for k in range(count)]


def build(specs, seed, planted=True):
    """Weights (folded M reshaped, then unfolded by BN) and BN tensors of every layer."""
    rng = np.random.default_rng(seed)
    done, tensors = OrderedDict(), OrderedDict()
    for spec in specs:
        shape, g = spec["shape"], spec["groups"]
        out = shape[0]
        c_b, z, col = geometry(spec, done) if spec["reads"] else \
            (shape[1] * g, int(np.prod(shape[2:])) if len(shape) > 2 else 1, None)
        cols = c_b * z
        m, cols_g = out // g, cols // g
        M = np.zeros((out, cols))
        for b in range(g):
            M[b * m:(b + 1) * m, b * cols_g:(b + 1) * cols_g] = \
                rng.standard_normal((m, cols_g)) / np.sqrt(cols_g)
        X = []
        if planted:
            Y, blocks = [], []
            for q, strength in enumerate(spec["spikes"]):
                y = np.zeros(cols)
                h = unit(rng.standard_normal(z))
                if spec["sources"] is not None:
                    src = spec["sources"][q]
                else:
                    src = [(k, q) for k in range(len(spec["reads"]))]
                for k, qa in src:
                    r = spec["reads"][k]
                    P = done[r["layer"]]
                    if qa >= len(P["X"]):
                        continue
                    for a, t in zip(*targets(r, P)):
                        for p in range(z):
                            y[col(t, p)] += P["X"][qa][a] * h[p]
                if not np.any(y):
                    y = rng.standard_normal(cols)
                b = 0
                if g > 1:
                    if spec["block"] is not None:
                        b = spec["block"][q]
                    else:
                        b = int(np.argmax([np.sum(y[k * cols_g:(k + 1) * cols_g] ** 2)
                                           for k in range(g)]))
                    if sum(1 for bb in blocks if bb == b) >= min(m, cols_g):
                        continue                     # no room for another spike in this block
                    mask = np.zeros(cols)
                    mask[b * cols_g:(b + 1) * cols_g] = 1.0
                    y = y * mask
                    if not np.any(y):
                        y = rng.standard_normal(cols) * mask
                for yy in Y:                         # Gram-Schmidt (keeps block supports)
                    y = y - (yy @ y) * yy
                y = unit(y)
                rows = np.zeros(out)
                rows[b * m:(b + 1) * m] = 1.0
                x = rng.standard_normal(out) * rows
                if spec["concentrate"] is not None and q < len(spec["concentrate"]):
                    e = np.zeros(out)
                    e[spec["concentrate"][q]] = 1.0
                    x = 4.0 * e + 0.25 * unit(x)
                for xx, bb in zip(X, blocks):
                    x = x - (xx @ x) * xx
                x = unit(x)
                M += strength * np.outer(x, y)
                X.append(x)
                Y.append(y)
                blocks.append(b)
        # M -> weight tensor (a grouped row holds only its group's columns)
        if g > 1:
            W = np.stack([M[o, (o // m) * cols_g:(o // m + 1) * cols_g] for o in range(out)])
        else:
            W = M
        W = W.reshape(shape)
        if spec["bn"]:
            p = spec["bn"]
            gamma = rng.uniform(0.7, 1.3, out)
            var = rng.uniform(0.5, 2.0, out)
            scale = gamma / np.sqrt(var + 1e-5)
            W = W / scale.reshape((-1,) + (1,) * (W.ndim - 1))
            tensors[p + ".weight"] = gamma.astype(np.float32)
            tensors[p + ".bias"] = (0.1 * rng.standard_normal(out)).astype(np.float32)
            tensors[p + ".running_mean"] = (0.1 * rng.standard_normal(out)).astype(np.float32)
            tensors[p + ".running_var"] = var.astype(np.float32)
            tensors[p + ".num_batches_tracked"] = np.array(100, dtype=np.int64)
        tensors[spec["name"]] = W.astype(np.float32)
        done[spec["name"]] = {"spec": spec, "X": X}
    return tensors


def topology(specs, model):
    layers = []
    for s in specs:
        d = OrderedDict(name=s["name"], kind=KINDS[len(s["shape"])])
        if s["groups"] != 1:
            d["groups"] = s["groups"]
        if s["bn"]:
            d["batchnorm"] = s["bn"]
        if s["flatten_order"]:
            d["flatten_order"] = s["flatten_order"]
        if s["reads"]:
            d["reads_from"] = s["reads"]
        layers.append(d)
    return OrderedDict(format="svr-topology", schema_version=1, model=model, layers=layers)


# ------------------------------------------------------------------ models --

def resnet_tiny():
    """Stem with BN, two basic blocks (the second with a 1x1 downsample and 8 -> 16
    channels), global average pooling, fc reading the last Add (z = 1)."""
    return [
        Lyr("conv1.weight", (8, 3, 3, 3), bn="bn1"),
        Lyr("layer1.0.conv1.weight", (8, 8, 3, 3), [R("conv1.weight")], bn="layer1.0.bn1"),
        Lyr("layer1.0.conv2.weight", (8, 8, 3, 3), [R("layer1.0.conv1.weight")],
            bn="layer1.0.bn2"),
        Lyr("layer2.0.conv1.weight", (16, 8, 3, 3),
            [R("conv1.weight", "add"), R("layer1.0.conv2.weight", "add")], bn="layer2.0.bn1"),
        Lyr("layer2.0.conv2.weight", (16, 16, 3, 3), [R("layer2.0.conv1.weight")],
            bn="layer2.0.bn2"),
        Lyr("layer2.0.downsample.0.weight", (16, 8, 1, 1),
            [R("conv1.weight", "add"), R("layer1.0.conv2.weight", "add")],
            bn="layer2.0.downsample.1", spikes=(4.0,), sources=[[(1, 0)]]),
        Lyr("fc.weight", (10, 16),
            [R("layer2.0.conv2.weight", "add"), R("layer2.0.downsample.0.weight", "add")],
            spikes=(5.0, 4.0), sources=[[(0, 0)], [(1, 0)]]),
    ]


def densenet_tiny():
    """Stem, dense block (growth 4, two layers reading concatenations), 1x1
    transition, dense block, fc reading the last concatenation (z = 1)."""
    return [
        Lyr("features.conv0.weight", (8, 3, 3, 3), bn="features.norm0"),
        Lyr("features.db1.l1.weight", (4, 8, 3, 3), [R("features.conv0.weight")]),
        Lyr("features.db1.l2.weight", (4, 12, 3, 3),
            [R("features.conv0.weight", "concat", offset=0),
             R("features.db1.l1.weight", "concat", offset=8)]),
        Lyr("features.trans1.weight", (8, 16, 1, 1),
            [R("features.conv0.weight", "concat", offset=0),
             R("features.db1.l1.weight", "concat", offset=8),
             R("features.db1.l2.weight", "concat", offset=12)], bn="features.trans1_norm",
            spikes=(5.0, 4.0, 3.5), sources=[[(0, 0)], [(1, 0)], [(2, 0)]]),
        Lyr("features.db2.l1.weight", (4, 8, 3, 3), [R("features.trans1.weight")]),
        Lyr("features.db2.l2.weight", (4, 12, 3, 3),
            [R("features.trans1.weight", "concat", offset=0),
             R("features.db2.l1.weight", "concat", offset=8)], sources=[[(1, 0)], [(1, 1)]]),
        Lyr("classifier.weight", (10, 16),
            [R("features.trans1.weight", "concat", offset=0),
             R("features.db2.l1.weight", "concat", offset=8),
             R("features.db2.l2.weight", "concat", offset=12)],
            spikes=(5.0, 4.0, 3.5), sources=[[(0, 0)], [(1, 0)], [(2, 0)]]),
    ]


def branches_tiny():
    """Split of the stem into two branches, concatenation with a channel shuffle
    (2 groups: branch a -> even channels, b -> odd), conv -> linear flatten chw
    (z = 16), an auxiliary head reading two slices with an hwc flatten (z = 4),
    and a linear -> linear pair."""
    return [
        Lyr("stem.weight", (12, 3, 3, 3), bn="stem_bn"),
        Lyr("branch_a.weight", (8, 6, 3, 3), [R("stem.weight", "split", source=[0, 6])]),
        Lyr("branch_b.weight", (8, 6, 1, 1),
            [R("stem.weight", "split", source=[6, 6], offset=0)]),
        Lyr("merge.weight", (8, 16, 3, 3),
            [R("branch_a.weight", "permute", permutation=list(range(0, 16, 2))),
             R("branch_b.weight", "permute", permutation=list(range(1, 16, 2)))],
            bn="merge_bn"),
        Lyr("head.fc1.weight", (10, 8 * 16), [R("merge.weight")], flatten_order="chw"),
        Lyr("head.fc2.weight", (4, 10), [R("head.fc1.weight")]),
        Lyr("aux.fc.weight", (5, 8 * 4),
            [R("branch_a.weight", "split", source=[2, 4], offset=0),
             R("branch_b.weight", "split", source=[0, 4], offset=4)], flatten_order="hwc"),
    ]


def grouped_tiny():
    """Grouped conv (2 groups), MobileNet-style depthwise + pointwise pairs (one
    depthwise with channel multiplier 2), fc after global pooling."""
    return [
        Lyr("stem.weight", (16, 3, 3, 3), bn="stem_bn"),
        Lyr("gconv.weight", (16, 8, 3, 3), [R("stem.weight")], groups=2, bn="gconv_bn",
            block=[0, 1]),
        Lyr("pw1.weight", (16, 16, 1, 1), [R("gconv.weight")], bn="pw1_bn", concentrate=[3, 10]),
        Lyr("dw.weight", (16, 1, 3, 3), [R("pw1.weight")], groups=16, bn="dw_bn"),
        Lyr("pw2.weight", (24, 16, 1, 1), [R("dw.weight")], bn="pw2_bn", concentrate=[5, 17]),
        Lyr("dw2.weight", (48, 1, 3, 3), [R("pw2.weight")], groups=24),
        Lyr("fc.weight", (10, 48), [R("dw2.weight")]),
    ]


def random_tiny():
    """i.i.d. Gaussian weights, no BN, every map kind, groups, depthwise and both
    flatten orders: a calibration model (no planted edge)."""
    return [
        Lyr("stem.weight", (16, 3, 3, 3)),
        Lyr("a.weight", (16, 16, 3, 3), [R("stem.weight")]),
        Lyr("b.weight", (16, 16, 3, 3), [R("stem.weight", "add"), R("a.weight", "add")]),
        Lyr("g.weight", (16, 4, 3, 3), [R("b.weight")], groups=4),
        Lyr("dw.weight", (16, 1, 3, 3), [R("g.weight")], groups=16),
        Lyr("pw.weight", (24, 16, 1, 1), [R("dw.weight")]),
        Lyr("s1.weight", (12, 12, 3, 3), [R("pw.weight", "split", source=[0, 12])]),
        Lyr("s2.weight", (12, 12, 1, 1), [R("pw.weight", "split", source=[12, 12])]),
        Lyr("m.weight", (16, 24, 3, 3),
            [R("s1.weight", "permute", permutation=list(range(0, 24, 2))),
             R("s2.weight", "permute", permutation=list(range(1, 24, 2)))]),
        Lyr("cat.weight", (16, 32, 1, 1),
            [R("m.weight", "concat", offset=0), R("b.weight", "concat", offset=16)]),
        Lyr("fc_chw.weight", (10, 16 * 4), [R("cat.weight")], flatten_order="chw"),
        Lyr("fc_hwc.weight", (8, 24 * 4), [R("pw.weight")], flatten_order="hwc"),
    ]


MODELS = [
    ("resnet_tiny", resnet_tiny, 101, True),
    ("densenet_tiny", densenet_tiny, 102, True),
    ("branches_tiny", branches_tiny, 103, True),
    ("grouped_tiny", grouped_tiny, 104, True),
    ("random_tiny", random_tiny, 106, False),
]


# -------------------------------------------------------------- bad files --

def bad_files(out):
    """Malformed topology files, each against resnet_tiny.safetensors unless noted:
    name -> (content, model, the oracle's error text)."""
    base = topology(resnet_tiny(), "resnet_tiny")
    files = OrderedDict()

    def variant(fn):
        t = json.loads(json.dumps(base), object_pairs_hook=OrderedDict)
        fn(t)
        return json.dumps(t, indent=1) + "\n"

    def cycle(t):   # conv1 reads fc: a read of a layer listed after it
        t["layers"][0]["reads_from"] = [OrderedDict(layer="fc.weight", map="direct")]
    files["cycle.json"] = (variant(cycle), "resnet_tiny", "not listed before it")

    def unknown_name(t):
        t["layers"][2]["name"] = "layer1.0.conv3.weight"
        t["layers"][3]["reads_from"][1]["layer"] = "layer1.0.conv3.weight"
        t["layers"][5]["reads_from"][1]["layer"] = "layer1.0.conv3.weight"
    files["unknown_layer.json"] = (variant(unknown_name), "resnet_tiny", "no tensor of that name")

    def channels(t):   # layer2.0.conv2 (16 in) reads layer1.0.conv2 (8 out)
        t["layers"][4]["reads_from"] = [OrderedDict(layer="layer1.0.conv2.weight", map="direct")]
    files["channel_mismatch.json"] = (variant(channels), "resnet_tiny",
                                      "8 output channels, but has 16 input channels")

    def overlap(t):    # fc (16 in) reads two concats both at offset 0..7 and 4..11
        t["layers"][6]["reads_from"] = [
            OrderedDict(layer="layer2.0.conv2.weight", map="split", source=[0, 8], offset=0),
            OrderedDict(layer="layer2.0.downsample.0.weight", map="concat", source=[0, 8],
                        offset=4)]
    files["overlapping_concat.json"] = (variant(overlap), "resnet_tiny", "overlapping reads")

    def kind(t):
        t["layers"][1]["kind"] = "conv2dd"
    files["unknown_kind.json"] = (variant(kind), "resnet_tiny", "unknown kind")

    def groups(t):     # layer1.0.conv1 has 8 outputs: 3 groups do not divide
        t["layers"][1]["groups"] = 3
    files["groups_not_dividing.json"] = (variant(groups), "resnet_tiny", "do not divide")

    # fc.weight (10 x 16) reading one conv of 8 channels through a 5-channel slice
    def flatten(t):
        t["layers"][6]["reads_from"] = [
            OrderedDict(layer="layer2.0.conv2.weight", map="split", source=[0, 5])]
    files["flatten_not_dividing.json"] = (variant(flatten), "resnet_tiny",
                                          "channels do not divide the 16 input features")

    def no_format(t):
        del t["format"]
    files["missing_format.json"] = (variant(no_format), "resnet_tiny", "missing 'format'")

    files["not_json.json"] = ("layers: [conv1.weight, fc.weight]\n", "resnet_tiny", "not JSON")
    d = os.path.join(out, "bad")
    os.makedirs(d, exist_ok=True)
    expected = OrderedDict()
    for name, (text, model, expect) in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
        expected[name] = OrderedDict(model=f"{model}.safetensors", oracle_error=expect)
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "graph"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name, fn, seed, planted in MODELS:
        specs = fn()
        tensors = build(specs, seed, planted)
        write_safetensors(os.path.join(a.out, name + ".safetensors"), tensors,
                          metadata={"format": "pt", "svr.fixture": name})
        with open(os.path.join(a.out, name + ".json"), "w") as f:
            json.dump(topology(specs, f"{name} (tests/data/make_graph_fixtures.py)"), f, indent=1)
            f.write("\n")
        print(f"{name}: {len(specs)} layers, "
              f"{os.path.getsize(os.path.join(a.out, name + '.safetensors'))} bytes")
    bad_files(a.out)


if __name__ == "__main__":
    main()

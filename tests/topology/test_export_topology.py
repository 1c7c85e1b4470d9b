#!/usr/bin/env python3
"""Tests of scripts/export_topology.py (unittest; skipped when torch is not importable).

    /usr/bin/python3 -m unittest -v tests/topology/test_export_topology.py
    /usr/bin/python3 tests/topology/test_export_topology.py -v

torchvision architectures with random weights (nothing downloaded), small hand-written modules
for channel slices, shuffles, channels-last flattens, attention and every refusal. Besides
checking counts and key facts, each architecture's topology is checked numerically
(check_by_perturbation): one output channel of a producer is perturbed while every other weight
layer's output is frozen to its unperturbed value, so that only channel-preserving paths carry
the change; the input channels of every consumer that change must be exactly the ones the
channel maps name (and none for layers that do not read the producer, where no flow was ended
by gating). Prints a table of (architecture, layers, pairs, pairs by map kind).
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    HAVE_TORCH = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_TORCH = False

try:
    import torchvision
    HAVE_TORCHVISION = HAVE_TORCH
except ImportError:  # pragma: no cover
    HAVE_TORCHVISION = False

if HAVE_TORCH:
    import export_topology as E
    torch.set_num_threads(1)

needs_torch = unittest.skipUnless(HAVE_TORCH, "torch is not importable")
needs_torchvision = unittest.skipUnless(HAVE_TORCHVISION, "torch/torchvision not importable")


# ------------------------------------------------------------------------- numerical check

def _kinds(model):
    return {f"{n}.weight": (m, E._weight_kind(m)) for n, m in model.named_modules()
            if E._weight_kind(m)}


def _channel_sets(diff, kind, reads_c, flatten_order):
    """Input channels of a consumer whose values differ (diff: consumer input difference)."""
    if kind == "linear":
        d = diff.abs().reshape(-1, diff.shape[-1]).amax(0)
        if reads_c is not None and reads_c != d.numel():
            z = d.numel() // reads_c
            if flatten_order == "hwc":
                d = d.reshape(z, reads_c).amax(0)
            else:
                d = d.reshape(reads_c, z).amax(1)
    else:
        d = diff.abs().transpose(0, 1).reshape(diff.shape[1], -1).amax(1)
    return {int(i) for i in torch.nonzero(d > 0).flatten()}


def _expected(read, a, out_channels):
    first, count = read.get("source", [0, out_channels])
    if not first <= a < first + count:
        return set()
    if read["map"] == "permute":
        return {read["permutation"][a - first]}
    return {read.get("offset", 0) + a - first}


def _reads_channels(layer, shapes, topo_out):
    """c_B of a linear consumer reading convolutions (the channels its reads cover)."""
    reads = layer.get("reads_from", [])
    if not reads:
        return None
    if reads[0]["map"] in ("direct", "add"):
        return topo_out[reads[0]["layer"]]
    n = 0
    for r in reads:
        n += r.get("source", [0, topo_out[r["layer"]]])[1]
    return n


def check_by_perturbation(test, model, topo, example, complete=True, producers=None, seed=0):
    """See the module docstring. complete=False: only the listed pairs are checked (models
    whose gating ends flows that still carry changes)."""
    model.eval()
    mods = _kinds(model)
    layers = {L["name"]: L for L in topo["layers"]}
    out_ch = {n: (m.out_features if k == "linear" else m.out_channels) for n, (m, k) in mods.items()}
    reads_c = {n: _reads_channels(L, None, out_ch) for n, L in layers.items()}
    base_out, base_in = {}, {}
    handles = []

    def rec_hooks():
        for n, (m, _) in mods.items():
            handles.append(m.register_forward_hook(
                lambda mod, inp, out, n=n: base_out.__setitem__(n, out.detach().clone())))
            handles.append(m.register_forward_pre_hook(
                lambda mod, inp, n=n: base_in.__setitem__(n, inp[0].detach().clone())))
    rec_hooks()
    with torch.no_grad():
        model(example)
    for h in handles:
        h.remove()
    handles.clear()
    gen = torch.Generator().manual_seed(seed)
    names = [L["name"] for L in topo["layers"]]
    checked = 0
    for A in (producers if producers is not None else names):
        mA, kA = mods[A]
        a = int(torch.randint(out_ch[A], (1,), generator=gen))
        cur_in = {}

        def out_hook(mod, inp, out, n):
            o = base_out[n].clone()
            if n == A:
                sl = (Ellipsis, a) if mods[n][1] == "linear" else (slice(None), a)
                o[sl] += 20.0 * (1.0 + torch.randn(o[sl].shape, generator=gen).abs())
            return o

        for n, (m, _) in mods.items():
            handles.append(m.register_forward_hook(
                lambda mod, inp, out, n=n: out_hook(mod, inp, out, n)))
            handles.append(m.register_forward_pre_hook(
                lambda mod, inp, n=n: cur_in.__setitem__(n, inp[0].detach().clone())))
        try:
            with torch.no_grad():
                model(example)
        finally:
            for h in handles:
                h.remove()
            handles.clear()
        for B in names:
            L = layers[B]
            reads = [r for r in L.get("reads_from", []) if r["layer"] == A]
            if not reads and not complete:
                continue
            got = _channel_sets(cur_in[B] - base_in[B], mods[B][1], reads_c[B],
                                L.get("flatten_order"))
            want = set()
            for r in reads:
                want |= _expected(r, a, out_ch[A])
            test.assertEqual(got, want, f"perturbing channel {a} of {A}: input channels of {B} "
                                        f"that change, {sorted(got)[:8]}, differ from the "
                                        f"topology's {sorted(want)[:8]}")
            checked += bool(reads)
    return checked


# ------------------------------------------------------------------------- torchvision

ARCHS = [
    # name, factory kwargs, input size for the numerical check, complete
    ("resnet18", {}, 64, True),
    ("resnet50", {}, 64, True),
    ("resnext50_32x4d", {}, 64, True),
    ("wide_resnet50_2", {}, 64, True),
    ("densenet121", {}, 64, True),
    ("mobilenet_v2", {}, 64, True),
    ("mobilenet_v3_small", {}, 64, False),
    ("efficientnet_b0", {}, 64, False),
    ("vgg11_bn", {}, 32, True),
    ("inception_v3", {"aux_logits": False, "init_weights": False}, 96, True),
    ("shufflenet_v2_x0_5", {}, 64, True),      # extra: split and permute maps
]

_CACHE = {}


def exported(name):
    if name not in _CACHE:
        kw = dict(next(a[1] for a in ARCHS if a[0] == name))
        size = next(a[2] for a in ARCHS if a[0] == name)
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)(weights=None, **kw)
        example = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
        topo = E.export_topology(model, example, model_name=name)
        _CACHE[name] = (model, topo, example)
    return _CACHE[name]


def reads(topo, name):
    return next(L for L in topo["layers"] if L["name"] == name).get("reads_from", [])


def layer(topo, name):
    return next(L for L in topo["layers"] if L["name"] == name)


@needs_torchvision
class TorchvisionArchitectures(unittest.TestCase):
    @classmethod
    def tearDownClass(cls):
        rows = []
        for name, *_ in ARCHS:
            if name in _CACHE:
                n, p, kinds = E.summary(_CACHE[name][1])
                rows.append((name, n, p, ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))))
        if rows:
            out = ["", f"{'architecture':<20} {'layers':>6} {'pairs':>6}  pairs by map"]
            out += [f"{r[0]:<20} {r[1]:>6} {r[2]:>6}  {r[3]}" for r in rows]
            print("\n".join(out), file=sys.stderr)

    def check_common(self, name):
        model, topo, example = exported(name)
        self.assertTrue(E.check_topology(topo, model))
        E.validate_schema(topo)
        names = [L["name"] for L in topo["layers"]]
        self.assertEqual(sorted(names), sorted(_kinds(model)))   # every Linear/Conv, once
        return model, topo, example

    def check_numerics(self, name):
        model, topo, example = exported(name)
        complete = next(a[3] for a in ARCHS if a[0] == name)
        self.assertGreater(check_by_perturbation(self, model, topo, example, complete), 0)

    def test_resnet18(self):
        model, topo, _ = self.check_common("resnet18")
        self.assertEqual(len(topo["layers"]), 21)
        self.assertEqual(sum(L["kind"] == "conv2d" for L in topo["layers"]), 20)
        self.assertEqual(E.summary(topo)[1:], (38, {"direct": 9, "add": 29}))
        self.assertEqual(layer(topo, "conv1.weight").get("batchnorm"), "bn1")
        self.assertEqual(layer(topo, "layer2.0.downsample.0.weight")["batchnorm"],
                         "layer2.0.downsample.1")
        # the block after a downsample reads both summands of the Add
        self.assertEqual(reads(topo, "layer2.1.conv1.weight"),
                         [{"layer": "layer2.0.conv2.weight", "map": "add"},
                          {"layer": "layer2.0.downsample.0.weight", "map": "add"}])
        # the classifier reads the last block's summands: its conv2 and (through the identity)
        # the previous block's Add, i.e. layer4.0.conv2 and the downsample
        fc = layer(topo, "fc.weight")
        self.assertEqual(fc["flatten_order"], "chw")
        self.assertEqual({r["layer"] for r in fc["reads_from"]},
                         {"layer4.1.conv2.weight", "layer4.0.conv2.weight",
                          "layer4.0.downsample.0.weight"})
        self.assertTrue(all(r["map"] == "add" for r in fc["reads_from"]))
        self.check_numerics("resnet18")

    def test_resnet50(self):
        model, topo, _ = self.check_common("resnet50")
        self.assertEqual(len(topo["layers"]), 54)
        self.assertEqual(E.summary(topo)[1:], (109, {"direct": 34, "add": 75}))
        self.assertEqual(reads(topo, "layer1.0.downsample.0.weight"),
                         [{"layer": "conv1.weight", "map": "direct"}])
        self.check_numerics("resnet50")

    def test_resnext50(self):
        model, topo, _ = self.check_common("resnext50_32x4d")
        grouped = [L for L in topo["layers"] if L.get("groups", 1) != 1]
        self.assertEqual(len(grouped), 16)
        self.assertTrue(all(L["groups"] == 32 and L["name"].endswith("conv2.weight")
                            for L in grouped))
        self.check_numerics("resnext50_32x4d")

    def test_wide_resnet50(self):
        model, topo, _ = self.check_common("wide_resnet50_2")
        self.assertEqual(E.summary(topo)[1:], (109, {"direct": 34, "add": 75}))
        self.assertEqual(model.layer1[0].conv2.out_channels, 128)
        # No perturbation check: the graph is resnet50's (same pairs and maps, checked above),
        # whose numerics run in test_resnet50; here they took 40 s of this file's 80.

    def test_densenet121(self):
        model, topo, _ = self.check_common("densenet121")
        self.assertEqual(len(topo["layers"]), 121)
        out = {n: m.out_channels if k != "linear" else m.out_features
               for n, (m, k) in _kinds(model).items()}
        for L in topo["layers"]:
            rs = L.get("reads_from", [])
            if rs and rs[0]["map"] == "concat":
                # concat offsets tile the consumer's input channels exactly, in order
                pos = 0
                for r in rs:
                    self.assertEqual(r["map"], "concat")
                    self.assertEqual(r["offset"], pos, L["name"])
                    pos += out[r["layer"]]
                mod = _kinds(model)[L["name"]][0]
                self.assertEqual(pos, mod.in_channels if L["kind"] != "linear"
                                 else mod.in_features, L["name"])
        cls = reads(topo, "classifier.weight")
        self.assertEqual(len(cls), 17)
        self.assertEqual(cls[0], {"layer": "features.transition3.conv.weight", "map": "concat",
                                  "offset": 0})
        self.assertEqual(cls[-1]["offset"], 1024 - 32)
        self.assertEqual(layer(topo, "features.denseblock1.denselayer1.conv1.weight")["batchnorm"],
                         "features.denseblock1.denselayer1.norm2")
        self.assertNotIn("batchnorm", layer(topo, "features.denseblock1.denselayer1.conv2.weight"))
        self.check_numerics("densenet121")

    def test_mobilenet_v2(self):
        model, topo, _ = self.check_common("mobilenet_v2")
        depthwise = [L for L in topo["layers"] if L.get("groups", 1) > 1]
        self.assertEqual(len(depthwise), 17)
        mods = _kinds(model)
        for L in depthwise:
            m = mods[L["name"]][0]
            self.assertEqual(L["groups"], m.in_channels)
            self.assertEqual(m.in_channels, m.out_channels)
        self.assertEqual(E.summary(topo)[2]["add"], 26)
        self.check_numerics("mobilenet_v2")

    def test_mobilenet_v3_small(self):
        model, topo, _ = self.check_common("mobilenet_v3_small")
        # squeeze-excitation: fc1 reads the depthwise conv through the pooling; the gate
        # (x * hardsigmoid(fc2(...))) ends the flow, so the projection reads nothing
        self.assertEqual(reads(topo, "features.4.block.2.fc1.weight"),
                         [{"layer": "features.4.block.1.0.weight", "map": "direct"}])
        self.assertEqual(reads(topo, "features.4.block.3.0.weight"), [])
        self.check_numerics("mobilenet_v3_small")

    def test_efficientnet_b0(self):
        model, topo, _ = self.check_common("efficientnet_b0")
        self.assertEqual(len(topo["layers"]), 82)
        self.assertEqual(reads(topo, "features.2.0.block.3.0.weight"), [])
        # stochastic depth keeps channels: the residual Add is read
        self.assertEqual(E.summary(topo)[2]["add"], 23)
        self.check_numerics("efficientnet_b0")

    def test_vgg11_bn(self):
        model, topo, _ = self.check_common("vgg11_bn")
        self.assertEqual(E.summary(topo)[1:], (10, {"direct": 10}))
        c0 = layer(topo, "classifier.0.weight")
        self.assertEqual(c0["flatten_order"], "chw")
        self.assertEqual(c0["reads_from"], [{"layer": "features.25.weight", "map": "direct"}])
        self.assertEqual(model.classifier[0].in_features // 512, 49)     # z = 7 x 7
        self.check_numerics("vgg11_bn")

    def test_inception_v3(self):
        model, topo, _ = self.check_common("inception_v3")
        self.assertEqual(len(topo["layers"]), 95)
        self.assertEqual(reads(topo, "Mixed_6a.branch3x3.conv.weight"), [
            {"layer": "Mixed_5d.branch1x1.conv.weight", "map": "concat", "offset": 0},
            {"layer": "Mixed_5d.branch5x5_2.conv.weight", "map": "concat", "offset": 64},
            {"layer": "Mixed_5d.branch3x3dbl_3.conv.weight", "map": "concat", "offset": 128},
            {"layer": "Mixed_5d.branch_pool.conv.weight", "map": "concat", "offset": 224}])
        # Mixed_6a's max-pool branch passes Mixed_5d's four convs on at offsets 480 ..
        r = reads(topo, "Mixed_6b.branch1x1.conv.weight")
        self.assertEqual([x["offset"] for x in r], [0, 384, 480, 544, 608, 704])
        self.check_numerics("inception_v3")

    def test_shufflenet_v2(self):
        model, topo, _ = self.check_common("shufflenet_v2_x0_5")
        self.assertEqual(E.summary(topo)[1:], (119, {"direct": 38, "permute": 72, "split": 9}))
        # the right half of a unit's input is read as a slice of the previous shuffle
        self.assertEqual(reads(topo, "stage2.1.branch2.0.weight"), [
            {"layer": "stage2.0.branch1.2.weight", "map": "permute", "source": [12, 12],
             "permutation": list(range(0, 24, 2))},
            {"layer": "stage2.0.branch2.5.weight", "map": "permute", "source": [12, 12],
             "permutation": list(range(1, 24, 2))}])
        self.check_numerics("shufflenet_v2_x0_5")

    def test_default_input_and_cli(self):
        # default example input (224 x 224) and the command line
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r18.json")
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                rc = E.main(["torchvision.models:resnet18", "num_classes=10", "-o", path])
            self.assertEqual(rc, 0)
            self.assertIn("21 layers, 38 pairs", err.getvalue())
            with open(path) as f:
                topo = json.load(f)
        self.assertEqual(topo["model"], "torchvision.models:resnet18(num_classes=10)")
        self.assertEqual(topo["layers"][-1]["name"], "fc.weight")
        E.validate_schema(topo)

    def test_cli_refusal(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = E.main(["torchvision.models:VisionTransformer", "image_size=32", "patch_size=16",
                         "num_layers=1", "num_heads=2", "hidden_dim=8", "mlp_dim=8"])
        self.assertEqual(rc, 1)
        self.assertIn("MultiheadAttention", err.getvalue())


# ------------------------------------------------------------------------- small modules

if HAVE_TORCH:
    def _shuffle(x, g):
        n, c, h, w = x.shape    # unpacking a proxy: needs the 3.11 fix in the exporter
        return x.view(n, g, c // g, h, w).transpose(1, 2).contiguous().view(n, c, h, w)

    class ShuffleUnit(nn.Module):
        """ShuffleNet V2 style: chunk, one half through a conv, cat, channel shuffle."""

        def __init__(self, module_shuffle=False):
            super().__init__()
            self.a = nn.Conv2d(3, 16, 1)
            self.b = nn.Conv2d(8, 8, 3, padding=1)
            self.c = nn.Conv2d(16, 4, 1)
            self.shuffle = nn.ChannelShuffle(2) if module_shuffle else None

        def forward(self, x):
            x1, x2 = self.a(x).chunk(2, dim=1)
            y = torch.cat([x1, F.relu(self.b(x2))], 1)
            y = self.shuffle(y) if self.shuffle is not None else _shuffle(y, 2)
            return self.c(y)

    class ChannelsLast(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 4, 3, padding=1)
            self.fc = nn.Linear(4 * 64, 10)

        def forward(self, x):
            return self.fc(self.a(x).permute(0, 2, 3, 1).flatten(1))

    class Slices(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 8, 1)
            self.b = nn.Conv2d(4, 2, 1)
            self.c = nn.Conv2d(3, 4, 1)
            self.d = nn.Conv2d(8, 2, 1)
            self.e = nn.Conv1d(8, 2, 1)

        def forward(self, x):
            y = self.a(x)
            p, q = torch.split(y, [3, 5], dim=1)
            return (self.b(y[:, 2:6]), self.d(torch.cat([q, self.c(x)[:, 1:4]], 1)),
                    self.e(y.flatten(2)), p)

    class Gating(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 4, 1)
            self.g = nn.Conv2d(4, 4, 1)
            self.b = nn.Conv2d(4, 2, 1)
            self.s = nn.Conv2d(4, 2, 1)
            self.t = nn.Conv2d(4, 2, 1)
            self.m = nn.Linear(4, 2)

        def forward(self, x):
            a = self.a(x)
            return (self.b(a * torch.sigmoid(self.g(a))),     # gating: ends
                    self.s(F.softmax(a, dim=1)),             # softmax over channels: ends
                    self.t(F.softmax(a, dim=-1)),            # over positions: kept
                    self.m(a.mean(dim=(2, 3))))              # mean over positions: kept

    class EndedSummand(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.k = nn.Conv2d(3, 4, 1), nn.Conv2d(4, 2, 1)

        def forward(self, x):
            a = self.a(x)
            return self.k(a * 0.5 + a.mean(1, keepdim=True))   # the channel mean adds nothing

    class Attention(nn.Module):
        def __init__(self, d=8, h=2):
            super().__init__()
            self.h = h
            self.emb = nn.Linear(4, d)
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
            self.up, self.down = nn.Linear(d, 16), nn.Linear(16, d)
            self.head = nn.Linear(d, 3)

        def forward(self, x):   # (N, L, 4)
            x = self.emb(x)
            n, l, d = x.shape
            y = F.relu(x)
            q = self.q(y).view(n, l, self.h, d // self.h).transpose(1, 2)
            k = self.k(y).view(n, l, self.h, d // self.h).transpose(1, 2)
            v = self.v(y).view(n, l, self.h, d // self.h).transpose(1, 2)
            att = F.softmax(q @ k.transpose(-2, -1) / 2.0, dim=-1)
            x = x + self.o((att @ v).transpose(1, 2).reshape(n, l, d))
            x = x + self.down(F.gelu(self.up(x)))
            return self.head(x.mean(1))

    class InputResidual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 3, 1)
            self.b = nn.Conv2d(3, 2, 1)

        def forward(self, x):
            return self.b(self.a(x) + x)

    class AddConcat(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 4, 1)
            self.c, self.d = nn.Conv2d(3, 8, 1), nn.Conv2d(8, 2, 1)

        def forward(self, x):
            return self.d(torch.cat([self.a(x), self.b(x)], 1) + self.c(x))

    class InputConcat(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 3, 1), nn.Conv2d(6, 2, 1)

        def forward(self, x):
            return self.b(torch.cat([x, self.a(x)], 1))

    class Strided(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 8, 1), nn.Conv2d(4, 2, 1)

        def forward(self, x):
            return self.b(self.a(x)[:, ::2])

    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 3, 1)

        def forward(self, x):
            return self.a(self.a(x))

    class FunctionalLinear(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(5, 5)
            self.w = nn.Parameter(torch.randn(3, 5))

        def forward(self, x):
            return F.linear(self.a(x), self.w)

    class Transposed(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 4, 1), nn.ConvTranspose2d(4, 2, 2)

        def forward(self, x):
            return self.b(self.a(x))

    class Unknown(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(4, 2, 1)

        def forward(self, x):
            y = self.a(x)
            return self.b(torch.roll(y, 1, dims=1))

    class LinearFlatten(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 3), nn.Linear(15, 2)

        def forward(self, x):   # (N, 5, 4)
            return self.b(self.a(x).flatten(1))


def _img(c=3, s=8):
    return torch.randn(2, c, s, s, generator=torch.Generator().manual_seed(0))


@needs_torch
class SmallModules(unittest.TestCase):
    def export(self, model, example, complete=True):
        topo = E.export_topology(model, example)
        E.validate_schema(topo)
        self.assertTrue(E.check_topology(topo, model))
        check_by_perturbation(self, model, topo, example, complete)
        return {L["name"]: L for L in topo["layers"]}

    def test_channel_shuffle(self):
        for module_shuffle in (False, True):
            L = self.export(ShuffleUnit(module_shuffle), _img())
            self.assertEqual(L["b.weight"]["reads_from"],
                             [{"layer": "a.weight", "map": "split", "source": [8, 8], "offset": 0}])
            self.assertEqual(L["c.weight"]["reads_from"], [
                {"layer": "a.weight", "map": "permute", "source": [0, 8],
                 "permutation": list(range(0, 16, 2))},
                {"layer": "b.weight", "map": "permute", "permutation": list(range(1, 16, 2))}])

    def test_channels_last_flatten(self):
        L = self.export(ChannelsLast(), torch.zeros(2, 1, 8, 8))
        self.assertEqual(L["fc.weight"]["flatten_order"], "hwc")
        self.assertEqual(L["fc.weight"]["reads_from"], [{"layer": "a.weight", "map": "direct"}])

    def test_slices(self):
        L = self.export(Slices(), _img())
        self.assertEqual(L["b.weight"]["reads_from"],
                         [{"layer": "a.weight", "map": "split", "source": [2, 4], "offset": 0}])
        self.assertEqual(L["d.weight"]["reads_from"], [
            {"layer": "a.weight", "map": "split", "source": [3, 5], "offset": 0},
            {"layer": "c.weight", "map": "split", "source": [1, 3], "offset": 5}])
        self.assertEqual(L["e.weight"]["reads_from"], [{"layer": "a.weight", "map": "direct"}])

    def test_flow_ends(self):
        L = self.export(Gating(), _img(), complete=False)   # gating still carries changes
        self.assertEqual(L["g.weight"]["reads_from"], [{"layer": "a.weight", "map": "direct"}])
        self.assertNotIn("reads_from", L["b.weight"])
        self.assertNotIn("reads_from", L["s.weight"])
        self.assertEqual(L["t.weight"]["reads_from"], [{"layer": "a.weight", "map": "direct"}])
        self.assertEqual(L["m.weight"]["reads_from"], [{"layer": "a.weight", "map": "direct"}])
        self.assertNotIn("flatten_order", L["m.weight"])
        topo = E.export_topology(EndedSummand(), _img())
        self.assertEqual(topo["layers"][1]["reads_from"], [{"layer": "a.weight", "map": "direct"}])

    def test_attention(self):
        x = torch.randn(2, 5, 4, generator=torch.Generator().manual_seed(0))
        model = Attention()
        topo = E.export_topology(model, x)
        L = {l["name"]: l for l in topo["layers"]}
        for name in ("q", "k", "v"):
            self.assertEqual(L[f"{name}.weight"]["reads_from"],
                             [{"layer": "emb.weight", "map": "direct"}])
        self.assertEqual(L["o.weight"]["reads_from"], [{"layer": "v.weight", "map": "direct"}])
        self.assertEqual(L["up.weight"]["reads_from"], [{"layer": "emb.weight", "map": "add"},
                                                        {"layer": "o.weight", "map": "add"}])
        self.assertEqual([r["layer"] for r in L["head.weight"]["reads_from"]],
                         ["emb.weight", "o.weight", "down.weight"])
        # the softmax weights carry v's channel a to o's input channel a (q, k frozen)
        check_by_perturbation(self, model, topo, x, complete=False)

    def test_input_summand_is_dropped(self):
        L = self.export(InputResidual(), _img())
        self.assertEqual(L["b.weight"]["reads_from"], [{"layer": "a.weight", "map": "direct"}])

    def test_refusals(self):
        cases = [
            (AddConcat(), _img(), "sum combined with a concat"),
            (InputConcat(), _img(), "come from no weight layer"),
            (Strided(), _img(), "not one contiguous range"),
            (Shared(), _img(), "called more than once"),
            (FunctionalLinear(), torch.zeros(2, 5), "not an nn.Linear/nn.Conv module"),
            (Transposed(), _img(), "ConvTranspose2d"),
            (Unknown(), _img(), "unsupported operation 'roll'"),
            (LinearFlatten(), torch.zeros(2, 5, 4), "through a flatten"),
        ]
        for model, x, msg in cases:
            with self.subTest(type(model).__name__):
                with self.assertRaises(E.TopologyError) as cm:
                    E.export_topology(model, x)
                self.assertIn(msg, str(cm.exception))

    def test_model_state_restored_and_unused_module_warned(self):
        class Extra(nn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.unused = nn.Conv2d(3, 4, 1), nn.Linear(2, 2)
                self.b = nn.Conv2d(4, 2, 1)

            def forward(self, x):
                return self.b(F.dropout(self.a(x), 0.5, self.training))
        m = Extra().train()
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            topo = E.export_topology(m, _img())
        self.assertTrue(m.training)
        self.assertTrue(any("unused" in str(x.message) for x in w))
        self.assertEqual([l["name"] for l in topo["layers"]], ["a.weight", "b.weight"])


@needs_torch
class ExampleModels(unittest.TestCase):
    """examples/*.topology.json are what export_topology writes for the models of
    scripts/train_examples.py."""

    def test_examples_match(self):
        try:
            import train_examples as T
        except ImportError as e:  # sklearn missing
            self.skipTest(f"scripts/train_examples.py not importable: {e}")
        makers = getattr(T, "GRAPH_MODELS", {})
        if not makers:
            self.skipTest("no graph example models")
        for name, make in makers.items():
            path = os.path.join(ROOT, "examples", f"{name}.topology.json")
            with self.subTest(name):
                self.assertTrue(os.path.exists(path), path)
                with open(path) as f:
                    on_disk = f.read()
                torch.manual_seed(0)
                model = make()
                topo = E.export_topology(model, torch.zeros(2, 1, 8, 8), model_name=name)
                E.validate_schema(topo)
                self.assertEqual(json.loads(on_disk)["layers"], topo["layers"])
                check_by_perturbation(self, model.eval(), topo, _img(1))


if __name__ == "__main__":
    unittest.main()

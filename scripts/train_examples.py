#!/usr/bin/env python3
"""Train the two example CNNs shipped in examples/ (CPU, fixed seeds, < 2 min).

    /usr/bin/python3 scripts/train_examples.py [--out examples] [--epochs 30]
                                               [--checkpoints K]

Data: scikit-learn's bundled digits (load_digits: 1797 8x8 grey images, 10
classes, no download), pixel values scaled to [0, 1], stratified split of 75%
train / 25% test (random_state 0).

Models (torchvision-like naming, a small VGG):
  features:   Conv2d(1,16,3,p=1) [BN] ReLU  Conv2d(16,32,3,p=1) [BN] ReLU  MaxPool2d(2)
              Conv2d(32,64,3,p=1) [BN] ReLU  MaxPool2d(2)          -> 64 x 2 x 2
  classifier: flatten -> Linear(256,128) ReLU Linear(128,10)
i.e. 5 linear maps; the conv -> linear flatten has c = 64, z = H*W = 4.
"digits_cnn_bn" has BatchNorm2d after each conv, "digits_cnn_plain" does not.

Writes to --out: digits_cnn_bn.safetensors, digits_cnn_plain.safetensors
(with __metadata__["svr.layers"], written by scripts/export_safetensors.py) and
digits_cnn_bn.pth (torch.save zip state_dict). With --checkpoints K it also
writes OUT/checkpoints/digits_cnn_{bn,plain}_epochNNN.safetensors every K
epochs (not committed; for studying the SVR during training).

Then three networks that are graphs, not chains (GRAPH_MODELS; trained after the two
chains, which stay byte for byte as they were, with one thread each):
  digits_resnet_bn   a small ResNet with BatchNorm: stem conv 1->16, three basic blocks
                     (identity, 1x1 downsample shortcut, identity), global average pool, fc 10
  digits_mobilenet   MobileNetV2-style: inverted residual blocks (1x1 expand, 3x3 depthwise
                     with groups = channels, 1x1 project, residual Add when shapes match), BN
  digits_densenet    DenseNet-style: two dense blocks of three conv-BN-ReLU layers, each
                     reading the concatenation of all earlier maps of its block, a 1x1
                     transition conv with average pooling between, global pool, linear 10
each written as NAME.pth, NAME.safetensors and NAME.topology.json (scripts/export_topology.py).
--models chain|graph|all (default all) picks the group to train.
"""

import argparse
import os
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_safetensors import export_model, export_state_dict  # noqa: E402

SEED = 0


def make_model(batch_norm):
    def block(cin, cout):
        layers = [nn.Conv2d(cin, cout, 3, padding=1)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(cout))
        layers.append(nn.ReLU(inplace=True))
        return layers

    class DigitsCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*block(1, 16), *block(16, 32), nn.MaxPool2d(2),
                                          *block(32, 64), nn.MaxPool2d(2))
            self.classifier = nn.Sequential(nn.Linear(64 * 2 * 2, 128), nn.ReLU(inplace=True),
                                            nn.Linear(128, 10))

        def forward(self, x):
            return self.classifier(torch.flatten(self.features(x), 1))

    return DigitsCNN()


# ----------------------------------------------------------------------------- graph models

class BasicBlock(nn.Module):
    """torchvision's ResNet basic block: conv-BN-ReLU-conv-BN, + shortcut, ReLU."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class DigitsResNet(nn.Module):
    """conv1 1->16 (8x8); layer1: block 16->16 (identity); layer2: block 16->32 stride 2 with
    a 1x1 downsample (4x4), block 32->32 (identity); global average pool; fc 32->10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(16, 16))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2), BasicBlock(32, 32))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def conv_bn_relu6(cin, cout, k=3, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """MobileNetV2: 1x1 expand (x t) - 3x3 depthwise (groups = channels) - 1x1 project (linear
    bottleneck); x + block(x) when stride 1 and cin == cout."""

    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        self.use_res_connect = stride == 1 and cin == cout
        self.conv = nn.Sequential(conv_bn_relu6(cin, hidden, 1),
                                  conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
                                  nn.Conv2d(hidden, cout, 1, bias=False),
                                  nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class DigitsMobileNet(nn.Module):
    """features: conv 1->16 (8x8); IR 16->16 t4 (+x); IR 16->24 t4 stride 2 (4x4);
    IR 24->24 t4 (+x); 1x1 conv 24->64; global average pool; classifier: dropout, linear."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(conv_bn_relu6(1, 16),
                                      InvertedResidual(16, 16, 1, 4),
                                      InvertedResidual(16, 24, 2, 4),
                                      InvertedResidual(24, 24, 1, 4),
                                      conv_bn_relu6(24, 64, 1))
        self.classifier = nn.Sequential(nn.Dropout(0.1), nn.Linear(64, 10))

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class DenseLayer(nn.Module):
    """conv 3x3 -> BN -> ReLU on the concatenation of all earlier maps of the block."""

    def __init__(self, cin, growth):
        super().__init__()
        self.conv = nn.Conv2d(cin, growth, 3, 1, 1, bias=False)
        self.norm = nn.BatchNorm2d(growth)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, features):
        return self.relu(self.norm(self.conv(torch.cat(features, 1))))


class DenseBlock(nn.ModuleDict):
    def __init__(self, n, cin, growth):
        super().__init__()
        for i in range(n):
            self[f"denselayer{i + 1}"] = DenseLayer(cin + i * growth, growth)

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class DigitsDenseNet(nn.Module):
    """features: conv0 1->16 (8x8); denseblock1: 3 layers, growth 12 (16 -> 52 channels);
    transition1: 1x1 conv 52->32, BN, ReLU, avg pool 2 (4x4); denseblock2: 3 layers, growth 12
    (32 -> 68); global average pool; classifier: linear 68->10 (reads the concatenation)."""

    def __init__(self, growth=12):
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module("conv0", nn.Conv2d(1, 16, 3, 1, 1, bias=False))
        self.features.add_module("norm0", nn.BatchNorm2d(16))
        self.features.add_module("relu0", nn.ReLU(inplace=True))
        self.features.add_module("denseblock1", DenseBlock(3, 16, growth))
        c = 16 + 3 * growth
        self.features.add_module("transition1", nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(c, 32, 1, bias=False)), ("norm", nn.BatchNorm2d(32)),
            ("relu", nn.ReLU(inplace=True)), ("pool", nn.AvgPool2d(2))])))
        self.features.add_module("denseblock2", DenseBlock(3, 32, growth))
        self.classifier = nn.Linear(32 + 3 * growth, 10)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


GRAPH_MODELS = OrderedDict([
    ("digits_resnet_bn", DigitsResNet),
    ("digits_mobilenet", DigitsMobileNet),
    ("digits_densenet", DigitsDenseNet),
])
GRAPH_DESCRIPTIONS = {
    "digits_resnet_bn": "a small ResNet with BatchNorm (3 basic blocks, one 1x1 downsample)",
    "digits_mobilenet": "a MobileNetV2-style net (inverted residuals, depthwise convs, BN)",
    "digits_densenet": "a DenseNet-style net (2 dense blocks of 3 layers, 1x1 transition)",
}


def train_graph_examples(data, epochs, out, ckpt_every, meta_common, min_accuracy):
    """Train and export the GRAPH_MODELS (one thread): NAME.pth, NAME.safetensors,
    NAME.topology.json. Returns True when every test accuracy reaches min_accuracy."""
    from export_topology import export_topology, validate_schema, write_topology
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    ok = True
    try:
        for name, make in GRAPH_MODELS.items():
            model, tr, te = train(name, make, data, epochs, out, ckpt_every)
            meta = dict(meta_common, test_accuracy=f"{te:.4f}", train_accuracy=f"{tr:.4f}",
                        epochs=str(epochs))
            path = os.path.join(out, f"{name}.safetensors")
            # No svr.layers metadata: it declares a chain; a graph comes from its topology file
            # (or from the names, for a family svr recognises).
            export_state_dict(model.state_dict(), path, layers=[], extra_metadata=meta)
            print(f"  wrote {path} ({os.path.getsize(path)} bytes)")
            p = os.path.join(out, f"{name}.pth")
            torch.save(model.state_dict(), p)
            print(f"  wrote {p} ({os.path.getsize(p)} bytes)")
            topo = export_topology(model, torch.zeros(2, 1, 8, 8),
                                   model_name=f"{name}: {GRAPH_DESCRIPTIONS[name]}, "
                                              f"scripts/train_examples.py")
            validate_schema(topo)
            p = os.path.join(out, f"{name}.topology.json")
            write_topology(topo, p)
            pairs = sum(len(L.get("reads_from", [])) for L in topo["layers"])
            print(f"  wrote {p} ({len(topo['layers'])} layers, {pairs} pairs)")
            ok &= te >= min_accuracy
    finally:
        torch.set_num_threads(threads)
    return ok


def load_data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    X = (d.images / 16.0).astype(np.float32)[:, None, :, :]
    y = d.target.astype(np.int64)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=SEED, stratify=y)
    return (torch.from_numpy(Xtr), torch.from_numpy(ytr),
            torch.from_numpy(Xte), torch.from_numpy(yte))


def accuracy(model, X, y):
    model.eval()
    with torch.no_grad():
        return (model(X).argmax(1) == y).double().mean().item()


def train(name, make, data, epochs, out, ckpt_every):
    """Train the model make() returns (built right after torch.manual_seed(SEED))."""
    Xtr, ytr, Xte, yte = data
    torch.manual_seed(SEED)
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    lossf = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)
    bs = 64
    t0 = time.time()
    for ep in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(Xtr), generator=gen)
        for k in range(0, len(Xtr), bs):
            idx = perm[k:k + bs]
            opt.zero_grad()
            loss = lossf(model(Xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        sched.step()
        if ckpt_every and ep % ckpt_every == 0:
            d = os.path.join(out, "checkpoints")
            os.makedirs(d, exist_ok=True)
            model.eval()
            export_model(model, os.path.join(d, f"{name}_epoch{ep:03d}.safetensors"),
                         extra_metadata={"epoch": str(ep)})
    model.eval()
    tr, te = accuracy(model, Xtr, ytr), accuracy(model, Xte, yte)
    print(f"{name}: {epochs} epochs in {time.time() - t0:.1f} s, "
          f"train accuracy {tr:.4f}, test accuracy {te:.4f} ({len(yte)} held-out images)")
    return model, tr, te


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Train the example VGG-style CNNs (with and without batch norm) on "
                    "sklearn's bundled 8x8 digits and export them for svr.")
    ap.add_argument("--out", default="examples", help="output directory (default: examples)")
    ap.add_argument("--epochs", type=int, default=30, help="training epochs (default: 30)")
    ap.add_argument("--checkpoints", type=int, default=0, metavar="K",
                    help="also save the weights every K epochs to OUT/checkpoints/ "
                         "(default 0: off)")
    ap.add_argument("--min-accuracy", type=float, default=0.95,
                    help="exit with status 1 if a test accuracy is below this (default 0.95)")
    ap.add_argument("--models", choices=("all", "chain", "graph"), default="all",
                    help="chain: the two VGG-style CNNs; graph: the ResNet, MobileNet and "
                         "DenseNet examples (with topology files); all: both (default)")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    try:
        torch.use_deterministic_algorithms(True)
    except Exception:
        pass
    os.makedirs(a.out, exist_ok=True)
    data = load_data()
    ok = True
    meta_common = {"dataset": "sklearn load_digits 8x8, 75/25 stratified split, seed 0"}
    chains = (("digits_cnn_bn", True), ("digits_cnn_plain", False))
    for name, bn in chains if a.models in ("all", "chain") else ():
        model, tr, te = train(name, lambda bn=bn: make_model(bn), data, a.epochs, a.out,
                              a.checkpoints)
        meta = dict(meta_common, test_accuracy=f"{te:.4f}", train_accuracy=f"{tr:.4f}",
                    epochs=str(a.epochs))
        path = os.path.join(a.out, f"{name}.safetensors")
        layers = export_model(model, path, extra_metadata=meta)
        print(f"  wrote {path} ({os.path.getsize(path)} bytes), layers: {', '.join(layers)}")
        if bn:
            p = os.path.join(a.out, f"{name}.pth")
            torch.save(model.state_dict(), p)
            print(f"  wrote {p} ({os.path.getsize(p)} bytes)")
        ok &= te >= a.min_accuracy
    if a.models in ("all", "graph"):
        ok &= train_graph_examples(data, a.epochs, a.out, a.checkpoints, meta_common,
                                   a.min_accuracy)
    if not ok:
        print(f"error: a test accuracy is below {a.min_accuracy}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
"""

import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_safetensors import export_model  # noqa: E402

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


def train(name, batch_norm, data, epochs, out, ckpt_every):
    Xtr, ytr, Xte, yte = data
    torch.manual_seed(SEED)
    model = make_model(batch_norm)
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
    for name, bn in (("digits_cnn_bn", True), ("digits_cnn_plain", False)):
        model, tr, te = train(name, bn, data, a.epochs, a.out, a.checkpoints)
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
    if not ok:
        print(f"error: a test accuracy is below {a.min_accuracy}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

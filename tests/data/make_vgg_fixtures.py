#!/usr/bin/env python3
"""Generate the fixtures of tests/data/vgg/ (see tests/data/vgg/README.md).

    /usr/bin/python3 tests/data/make_vgg_fixtures.py [--out tests/data/vgg] [--oracle]

Deterministic (fixed seeds, CPU). Needs Debian's python3-torch/torchvision;
never downloads anything. --oracle also writes the NumPy oracle's outputs for
the VGG twins into OUT/oracle/ (tests/oracle/svr_oracle.py).
"""

import argparse
import math
import os
import subprocess
import sys
from collections import OrderedDict

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from export_safetensors import export_state_dict  # noqa: E402

SEED = 20230216
CFG = [8, "M", 16, "M", 16, 16, "M"]   # on a 3 x 16 x 16 input: features end at 16 x 2 x 2


def torchvision_init(model):
    """torchvision.models.vgg.VGG's own initialisation (kaiming normal convs,
    N(0, 0.01) linears, zero biases)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.constant_(m.bias, 0)


def make_vgg(batch_norm):
    from torchvision.models.vgg import VGG, make_layers
    model = VGG(make_layers(CFG, batch_norm=batch_norm), num_classes=10, init_weights=False)
    model.avgpool = nn.AdaptiveAvgPool2d((2, 2))
    model.classifier = nn.Sequential(
        nn.Linear(16 * 2 * 2, 32), nn.ReLU(True), nn.Dropout(p=0.5),
        nn.Linear(32, 32), nn.ReLU(True), nn.Dropout(p=0.5),
        nn.Linear(32, 10))
    torch.manual_seed(SEED)
    torchvision_init(model)
    if batch_norm:
        g = torch.Generator().manual_seed(SEED + 1)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                with torch.no_grad():
                    m.weight.copy_(1.0 + 0.5 * torch.randn(n, generator=g))
                    m.bias.copy_(0.1 * torch.randn(n, generator=g))
                    m.running_mean.copy_(0.2 * torch.randn(n, generator=g))
                    m.running_var.copy_(0.1 + 3.0 * torch.rand(n, generator=g))
                    m.num_batches_tracked.fill_(100)
    model.eval()
    with torch.no_grad():   # the net must actually run on the small input
        assert model(torch.zeros(1, 3, 16, 16)).shape == (1, 10)
    return model


def save_all(sd, base):
    """base.pth (zip), base_legacy.pth (pre-zip stream), base.safetensors
    (alphabetical, NO svr.layers metadata)."""
    torch.save(sd, base + ".pth")
    torch.save(sd, base + "_legacy.pth", _use_new_zipfile_serialization=False)
    export_state_dict(sd, base + ".safetensors", layers=[])


def mlp(sizes, seed, names=None):
    g = torch.Generator().manual_seed(seed)
    sd = OrderedDict()
    for k in range(len(sizes) - 1):
        n = names[k] if names else f"fc{k + 1}"
        sd[n + ".weight"] = torch.randn(sizes[k + 1], sizes[k], generator=g) / math.sqrt(sizes[k])
        sd[n + ".bias"] = torch.zeros(sizes[k + 1])
    return sd


def small_bn_net(seed, var=None, bn_size=8):
    """features.0 conv(8,3,3,3) features.1 BN features.3 conv(16,8,3,3) classifier.0 (10, 16*4)."""
    g = torch.Generator().manual_seed(seed)
    sd = OrderedDict()
    sd["features.0.weight"] = torch.randn(8, 3, 3, 3, generator=g) * 0.2
    sd["features.0.bias"] = torch.zeros(8)
    sd["features.1.weight"] = 1.0 + 0.3 * torch.randn(bn_size, generator=g)
    sd["features.1.bias"] = torch.zeros(bn_size)
    sd["features.1.running_mean"] = 0.1 * torch.randn(bn_size, generator=g)
    sd["features.1.running_var"] = 0.5 + torch.rand(bn_size, generator=g) if var is None else var
    sd["features.1.num_batches_tracked"] = torch.tensor(10, dtype=torch.int64)
    sd["features.3.weight"] = torch.randn(16, 8, 3, 3, generator=g) * 0.1
    sd["features.3.bias"] = torch.zeros(16)
    sd["classifier.0.weight"] = torch.randn(10, 64, generator=g) * 0.1
    sd["classifier.0.bias"] = torch.zeros(10)
    return sd


def layers_of(sd):
    return [k for k, v in sd.items() if k.endswith(".weight") and v.dim() >= 2]


class Evil:
    """Unpickling this calls os.system: svr must refuse, never run it."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/svr_pwned",))


def tiny_resnet():
    """A residual net with torchvision ResNet naming (conv1, bn1, layer1.0.conv1,
    layer2.0.downsample.0, fc), built from torchvision's own BasicBlock."""
    from torchvision.models.resnet import BasicBlock

    class TinyResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU(inplace=True)
            self.layer1 = nn.Sequential(BasicBlock(8, 8))
            self.layer2 = nn.Sequential(BasicBlock(8, 16, stride=2, downsample=nn.Sequential(
                nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer2(self.layer1(x))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    torch.manual_seed(SEED + 7)
    m = TinyResNet().eval()
    with torch.no_grad():
        assert m(torch.zeros(1, 3, 16, 16)).shape == (1, 10)
    return m


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate tests/data/vgg fixtures (deterministic).")
    ap.add_argument("--out", default=os.path.join(HERE, "vgg"))
    ap.add_argument("--oracle", action="store_true",
                    help="also write the oracle outputs (all edges) OUT/oracle/vgg_bn_default "
                         "(BN folded, BH) and OUT/oracle/vgg_plain_reference (--reference)")
    a = ap.parse_args(argv)
    out = a.out
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    P = lambda name: os.path.join(out, name)  # noqa: E731

    # --- the VGG twins -------------------------------------------------------
    for name, bn in (("vgg_bn", True), ("vgg_plain", False)):
        sd = make_vgg(bn).state_dict()
        save_all(sd, P(name))
        print(f"{name}: layers {layers_of(sd)}")

    # --- bad inputs ------------------------------------------------------------
    res = tiny_resnet()
    torch.save(res.state_dict(), P("resnet_tiny.pth"))
    export_state_dict(res.state_dict(), P("resnet_tiny.safetensors"), layers=[])

    g = torch.Generator().manual_seed(SEED + 3)
    grouped = OrderedDict([
        ("features.0.weight", torch.randn(8, 3, 3, 3, generator=g) * 0.2),
        ("features.2.weight", torch.randn(16, 4, 3, 3, generator=g) * 0.2),  # groups=2
        ("features.4.weight", torch.randn(16, 16, 3, 3, generator=g) * 0.1),
        ("classifier.0.weight", torch.randn(10, 64, generator=g) * 0.1)])
    export_state_dict(grouped, P("grouped_conv.safetensors"))
    depthwise = OrderedDict([
        ("features.0.weight", torch.randn(8, 3, 3, 3, generator=g) * 0.2),
        ("features.2.weight", torch.randn(8, 1, 3, 3, generator=g) * 0.2),   # groups=8
        ("features.4.weight", torch.randn(16, 8, 1, 1, generator=g) * 0.3),
        ("classifier.0.weight", torch.randn(10, 64, generator=g) * 0.1)])
    export_state_dict(depthwise, P("depthwise_conv.safetensors"))

    export_state_dict(OrderedDict([("fc1.bias", torch.zeros(16)), ("fc2.bias", torch.zeros(10)),
                                   ("bn.running_mean", torch.zeros(16)),
                                   ("bn.running_var", torch.ones(16))]),
                      P("mlp_1d_only.safetensors"))
    export_state_dict(mlp([20, 10], SEED + 4, ["fc"]), P("single_layer.safetensors"))
    nochain = mlp([20, 16], SEED + 5)
    nochain["fc2.weight"] = torch.randn(10, 12, generator=g)
    nochain["fc2.bias"] = torch.zeros(10)
    export_state_dict(nochain, P("nochain.safetensors"))
    zero = mlp([20, 16, 16, 10], SEED + 6)
    zero["fc2.weight"].zero_()
    export_state_dict(zero, P("zero_layer.safetensors"))
    nan = mlp([20, 16, 16, 10], SEED + 6)
    nan["fc2.weight"][3, 5] = float("nan")
    export_state_dict(nan, P("nan_weight.safetensors"))
    inf = mlp([20, 16, 16, 10], SEED + 6)
    inf["fc2.weight"][7, 1] = float("-inf")
    export_state_dict(inf, P("inf_weight.safetensors"))

    var = 0.5 + torch.rand(8, generator=g)
    var[2] = -0.25
    export_state_dict(small_bn_net(SEED + 8, var=var), P("bn_bad_var.safetensors"))
    var = 0.5 + torch.rand(8, generator=g)
    var[5] = float("nan")
    export_state_dict(small_bn_net(SEED + 8, var=var), P("bn_nan_var.safetensors"))
    var = 0.5 + torch.rand(8, generator=g)
    var[0] = 0.0
    export_state_dict(small_bn_net(SEED + 8, var=var), P("bn_zero_var.safetensors"))
    export_state_dict(small_bn_net(SEED + 8, bn_size=7), P("bn_wrong_size.safetensors"))
    export_state_dict(small_bn_net(SEED + 8), P("bn_good.safetensors"))

    # A zip .pth whose data.pkl would call os.system('touch /tmp/svr_pwned') when
    # unpickled. Written with torch.save, never loaded here.
    evil = OrderedDict([("fc1.weight", torch.randn(16, 20, generator=g)),
                        ("fc2.weight", Evil()),
                        ("fc3.weight", torch.randn(10, 16, generator=g))])
    torch.save(evil, P("pickle_os_system.pth"))

    for f in sorted(os.listdir(out)):
        if os.path.isfile(P(f)):
            print(f"  {f:32s} {os.path.getsize(P(f)):8d} bytes")

    if a.oracle:
        oracle = os.path.join(ROOT, "tests", "oracle", "svr_oracle.py")
        runs = [("vgg_bn", "default", []), ("vgg_plain", "reference", ["--reference"])]
        for name, tag, extra in runs:
            od = os.path.join(out, "oracle", f"{name}_{tag}")
            subprocess.check_call([sys.executable, oracle, P(name + ".safetensors"), "-o", od]
                                  + extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Write the svr topology (docs/topology.schema.json) of a PyTorch nn.Module.

The model is traced with torch.fx (symbolic_trace) and run once on an example input, so that
every node's shape is known; the channels of each weight layer's output are then followed
forward through the graph, channel by channel, to the weight layers that read them
(SVR-SPEC.md section 7, docs/input-formats.md section "Topology files"). Needs only torch
(jsonschema, when importable, checks the result against the schema).

    /usr/bin/python3 scripts/export_topology.py torchvision.models:resnet18 -o r18.json
    /usr/bin/python3 scripts/export_topology.py torchvision.models:inception_v3 \\
        aux_logits=False init_weights=False -o inception.json
    /usr/bin/python3 scripts/export_topology.py path/to/file.py:make_model --input-shape 1,1,8,8

Importable:
    export_topology(model, example_input=None, model_name="") -> dict
    write_topology(topology, path)       # JSON, one layer per line
    validate_schema(topology)            # jsonschema against docs/topology.schema.json
    check_topology(topology, model)      # svr's coverage rules, against the model's shapes

Rules (what the exporter decides; the C++ recogniser follows the same):
  * weight layers: the nn.Linear / nn.Conv1d/2d/3d modules called in the traced graph, in graph
    (topological) order; name "<module>.weight", kind from the type, groups from the module.
  * batchnorm: a BatchNorm module whose input is the layer's output and which is that output's
    only user.
  * each tensor carries, for each channel c of its channel dimension, the set T_c of
    (producer layer, producer channel) reaching it. Channel-preserving ops keep T; Add/Sub
    unions T channel by channel; cat along the channel dim concatenates; split/chunk/slicing
    along it cuts; view/transpose patterns (channel shuffle) and nn.ChannelShuffle permute;
    flatten / view(N, -1) merges the channel dim with the positions (z per channel, "chw" if
    the channel dim comes first, "hwc" if last). Ops that mix channels without a weight
    (softmax over channels, reductions over channels, products of two activations: gating,
    Q K^T) end the flow: their output reaches no layer. A @ V keeps V's channels when A
    carries no layer (attention weights) and V's channels are not the contracted dim (spec:
    V -> O is a pair). Sub is treated as Add; a product with a constant keeps channels.
  * the reads of a consumer from the T_c of its input (C channels):
      - every T_c empty: no reads (it reads the network input);
      - every |T_c| = 1: per producer P, its channels a -> consumer channels c; the a must be a
        contiguous range [first, first+count) reaching distinct c. c = offset + a - first for
        all: "direct" if P is the only producer and all its channels are read in place, else
        "concat" (all of P's channels, "offset") or "split" ("source", "offset"); otherwise
        "permute" ("source" when not all of P, "permutation" = c for each a in order);
      - every T_c = {(P, c) : P in S} for one set S of >= 2 producers, each with C output
        channels: one "add" read per producer;
      - anything else (add combined with concat/split/permute, channels reached by no layer
        next to channels reached by layers, a producer channel reaching two channels) is refused.
    Summands that carry no layer (the network input, constants, ended flows) add nothing; a sum
    left with one producer is "direct".
  * flatten_order ("chw"/"hwc") on a linear layer that reads convolutions through a flatten
    (flatten/view/reshape merging the channel dim with the dims after it, even of size 1);
    not after a mean over the positions.
  * refused (TopologyError, one line naming the node): what torch.fx cannot trace; a weight
    module called twice; weights that are not Linear/ConvNd modules (F.linear/conv with a
    Parameter, matmul with a Parameter, ConvTranspose, MultiheadAttention, RNNs, other leaf
    modules with parameters); unknown ops on layer outputs; the map cases above; a linear
    layer reading linear layers through a flatten; a linear/conv not acting on the producers'
    channel dim; pooling/padding over channels; cat/stack of different layers along a
    non-channel dim; flattens with the channel dim between position dims. Linear/Conv
    modules never called are left out with a warning.
"""

import argparse
import importlib
import importlib.util
import json
import operator
import os
import sys
import warnings

import numpy as np
import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))),
                           "docs", "topology.schema.json")


class TopologyError(ValueError):
    """The model cannot be expressed as an svr topology (or cannot be traced)."""


# ----------------------------------------------------------------------------- op tables

WEIGHT_KINDS = ((nn.Conv1d, "conv1d"), (nn.Conv2d, "conv2d"), (nn.Conv3d, "conv3d"),
                (nn.Linear, "linear"))

_BN = (nn.modules.batchnorm._BatchNorm,)

# Modules that keep every channel apart and the tensor's shape.
_UNARY_MODULES = tuple(getattr(nn, n) for n in (
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
    "Mish", "Hardswish", "Hardsigmoid", "Hardtanh", "Sigmoid", "Tanh", "Softplus", "Softsign",
    "Tanhshrink", "Threshold", "LogSigmoid", "Hardshrink", "Softshrink", "Identity",
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "InstanceNorm1d",
    "InstanceNorm2d", "InstanceNorm3d", "LayerNorm", "GroupNorm", "LocalResponseNorm",
    "CrossMapLRN2d") if hasattr(nn, n))
# Modules that act on the positions (dims 2, 3, ...) and keep the channel dim 1.
_SPATIAL_MODULES = tuple(getattr(nn, n) for n in (
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "FractionalMaxPool2d",
    "FractionalMaxPool3d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
    "ReplicationPad2d", "ReplicationPad3d", "Upsample", "UpsamplingNearest2d",
    "UpsamplingBilinear2d") if hasattr(nn, n))
_SOFTMAX_MODULES = (nn.Softmax, nn.LogSoftmax, nn.Softmin, nn.Softmax2d)
_SOURCE_MODULES = (nn.Embedding, nn.EmbeddingBag)

_FUNC_TABLE = {
    "unary": ["relu", "relu_", "relu6", "elu", "elu_", "selu", "celu", "gelu", "silu", "mish",
              "hardswish", "hardsigmoid", "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_",
              "softplus", "sigmoid", "tanh", "logsigmoid", "tanhshrink", "softsign",
              "threshold", "hardshrink", "softshrink", "rrelu", "prelu", "dropout",
              "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
              "neg", "pos", "abs", "exp", "sqrt", "square", "clamp", "clip", "batch_norm",
              "instance_norm", "layer_norm", "group_norm", "local_response_norm", "normalize"],
    "spatial": ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d",
                "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
                "adaptive_max_pool3d", "lp_pool1d", "lp_pool2d", "interpolate", "upsample",
                "upsample_nearest", "upsample_bilinear", "pad"],
    "softmax": ["softmax", "log_softmax", "softmin"],
    "addsub": ["add", "iadd", "sub", "isub"],
    "muldiv": ["mul", "imul", "truediv", "itruediv", "div", "true_divide", "pow", "ipow"],
    "matmul": ["matmul", "imatmul", "bmm", "mm", "einsum", "baddbmm", "addmm", "addbmm"],
    "weightfunc": ["linear", "bilinear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                   "conv_transpose2d", "conv_transpose3d", "embedding", "embedding_bag"],
    "cat": ["cat", "concat"],
    "stack": ["stack"],
    "split": ["split", "chunk", "tensor_split", "unbind"],
    "flatten": ["flatten"],
    "reshape": ["reshape", "squeeze", "unsqueeze", "unflatten"],
    "permute": ["permute", "transpose", "swapaxes", "swapdims", "movedim", "moveaxis"],
    "reduce": ["mean", "sum", "amax", "amin", "max", "min", "std", "var", "logsumexp", "norm"],
    "shuffle": ["channel_shuffle", "native_channel_shuffle"],
    "getitem": ["getitem"],
}
_FUNCS = {}
for _cat, _names in _FUNC_TABLE.items():
    for _name in _names:
        for _ns in (torch, F, operator):
            _obj = getattr(_ns, _name, None)
            if callable(_obj):
                _FUNCS.setdefault(_obj, (_cat, _name))

_METHOD_TABLE = {
    "unary": ["relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "contiguous", "clone",
              "detach", "float", "double", "half", "bfloat16", "to", "type", "type_as", "cpu",
              "cuda", "neg", "abs", "exp", "sqrt", "square", "clamp", "clamp_", "clamp_min",
              "clamp_max", "clip", "requires_grad_", "hardtanh", "hardtanh_"],
    "addsub": ["add", "add_", "sub", "sub_", "__add__", "__radd__", "__iadd__", "__sub__"],
    "muldiv": ["mul", "mul_", "div", "div_", "pow", "pow_", "__mul__", "__rmul__",
               "__truediv__"],
    "matmul": ["matmul", "bmm", "mm", "__matmul__"],
    "softmax": ["softmax", "log_softmax"],
    "split": ["split", "chunk", "tensor_split", "unbind", "split_with_sizes"],
    "flatten": ["flatten"],
    "reshape": ["view", "reshape", "view_as", "reshape_as", "squeeze", "unsqueeze",
                "unflatten", "squeeze_", "unsqueeze_"],
    "permute": ["permute", "transpose", "transpose_", "t", "swapaxes", "swapdims", "movedim",
                "moveaxis"],
    "reduce": ["mean", "sum", "amax", "amin", "max", "min", "std", "var", "logsumexp", "norm"],
    "expand": ["expand", "expand_as", "repeat", "tile"],
    "shuffle": ["channel_shuffle"],
}
_METHODS = {n: (c, n) for c, ns in _METHOD_TABLE.items() for n in ns}


def _classify_function(target):
    try:
        hit = _FUNCS.get(target)
    except TypeError:
        hit = None
    if hit:
        return hit
    name = getattr(target, "__name__", "")
    if name == "stochastic_depth" and getattr(target, "__module__", "").startswith("torchvision"):
        return ("unary", name)
    return (None, name or str(target))


# ----------------------------------------------------------------------------- values

class _Const:
    """A value with no channels to follow: a number, a constant tensor (param=True: derived
    from a Parameter)."""

    def __init__(self, param):
        self.param = param

    def __repr__(self):
        return "PARAM" if self.param else "CONST"


CONST = _Const(False)
PARAM = _Const(True)


class _Empty:
    """An activation that no weight layer reaches (the network input, an ended flow)."""

    def __repr__(self):
        return "EMPTY"


EMPTY = _Empty()


class Act:
    """An activation some weight layers reach. chans[c] is the frozenset of (layer index,
    producer channel) reaching channel c. cdims: tensor dims whose row-major combination is
    the channel index (one dim, or several after a view that splits the channels, as in a
    channel shuffle). z > 1: the channel dim holds C*z features after a flatten, in `order`."""

    __slots__ = ("chans", "cdims", "shape", "z", "order", "flattened")

    def __init__(self, chans, cdims, shape, z=1, order="chw", flattened=False):
        self.chans = tuple(chans)
        self.cdims = tuple(cdims)
        self.shape = tuple(shape)
        self.z = z
        self.order = order
        self.flattened = flattened

    def with_(self, **kw):
        d = {k: getattr(self, k) for k in self.__slots__}
        d.update(kw)
        return Act(**d)

    @property
    def channels(self):
        return len(self.chans)


def _iter_values(x):
    if isinstance(x, (list, tuple)):
        for y in x:
            yield from _iter_values(y)
    elif isinstance(x, dict):
        for y in x.values():
            yield from _iter_values(y)
    else:
        yield x


def _no_act_result(values, meta):
    """Result of an op none of whose inputs carries layers: EMPTY if an activation is among
    them, else a constant."""
    if any(v is EMPTY for v in values):
        r = EMPTY
    elif any(isinstance(v, _Const) and v.param for v in values):
        r = PARAM
    else:
        r = CONST
    return _like(meta, r)


def _like(meta, v):
    if isinstance(meta, _Shape):
        return v
    if isinstance(meta, list):
        return [_like(m, v) for m in meta]
    return CONST


class _Shape(tuple):
    """The shape of a tensor result (as recorded by the interpreter)."""


def _summary(x):
    if isinstance(x, torch.Tensor):
        return _Shape(x.shape)
    if isinstance(x, (list, tuple)) and not isinstance(x, torch.Size):
        return [_summary(y) for y in x]
    if isinstance(x, torch.Size):
        return tuple(x)
    return x


class _Recorder(torch.fx.Interpreter):
    def __init__(self, gm):
        super().__init__(gm)
        self.meta = {}

    def run_node(self, n):
        result = super().run_node(n)
        self.meta[n] = _summary(result)
        return result


# ----------------------------------------------------------------------------- the analysis

class _Analysis:
    def __init__(self, gm, meta):
        self.gm = gm
        self.meta = meta
        self.env = {}
        self.layers = []          # dicts: name, kind, groups, module, node, out_channels
        self.layer_of_module = {}
        self.reads = {}           # layer index -> (reads list, flatten_order or None)

    # -- helpers
    def err(self, node, msg):
        return TopologyError(f"node {node.name} ({_describe(node, self.gm)}): {msg}")

    def names(self, act):
        idx = sorted({p for s in act.chans for (p, _) in s})
        return ", ".join(self.layers[i]["name"] for i in idx[:4]) + (" ..." if len(idx) > 4 else "")

    def val(self, a):
        if isinstance(a, torch.fx.Node):
            return self.env[a]
        if isinstance(a, (list, tuple)):
            return [self.val(x) for x in a]
        if isinstance(a, dict):
            return {k: self.val(x) for k, x in a.items()}
        return CONST

    def concrete(self, a):
        """A non-tensor argument's Python value (node results from the recorded run)."""
        if isinstance(a, torch.fx.Node):
            return self.meta[a]
        if isinstance(a, (list, tuple)):
            return type(a)(self.concrete(x) for x in a) if not isinstance(a, slice) else a
        if isinstance(a, slice):
            return slice(self.concrete(a.start), self.concrete(a.stop), self.concrete(a.step))
        return a

    def shape_of(self, a):
        m = self.meta.get(a) if isinstance(a, torch.fx.Node) else None
        return m if isinstance(m, _Shape) else None

    # -- the pass
    def run(self):
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                self.env[node] = EMPTY
            elif node.op == "get_attr":
                obj = _fetch_attr(self.gm, node.target)
                self.env[node] = PARAM if isinstance(obj, nn.Parameter) else CONST
            elif node.op == "output":
                continue
            else:
                self.env[node] = self.visit(node)
                name = node.target if isinstance(node.target, str) else \
                    getattr(node.target, "__name__", "")
                if node.op in ("call_method", "call_function") and \
                        (name in ("iadd", "isub", "imul", "itruediv") or
                         (name.endswith("_") and not name.endswith("__"))) and \
                        node.args and isinstance(node.args[0], torch.fx.Node) and \
                        isinstance(self.meta.get(node), _Shape):
                    self.env[node.args[0]] = self.env[node]   # in-place: later uses see it

    def visit(self, node):
        meta = self.meta.get(node)
        if node.op == "call_module":
            mod = self.gm.get_submodule(node.target)
            kind = _weight_kind(mod)
            if kind is not None:
                return self.weight_layer(node, mod, kind)
        if not _has_tensor(meta):
            return CONST
        args = [self.val(a) for a in node.args]
        kwargs = {k: self.val(a) for k, a in node.kwargs.items()}
        values = list(_iter_values(args)) + list(_iter_values(kwargs))
        if node.op == "call_module":
            mod = self.gm.get_submodule(node.target)
            return self.module_op(node, mod, args, values, meta)
        if node.op == "call_function":
            cat, name = _classify_function(node.target)
        else:
            cat, name = _METHODS.get(node.target, (None, node.target))
        if cat == "weightfunc" or (cat == "matmul" and any(
                isinstance(v, _Const) and v.param for v in values)):
            raise self.err(node, f"{name} with a weight that is not an nn.Linear/nn.Conv "
                                 f"module: svr cannot name it as a layer")
        if not any(isinstance(v, Act) for v in values):
            return _no_act_result(values, meta)
        if cat is None:
            raise self.err(node, f"unsupported operation {name!r} on the output of "
                                 f"{self.names(_first_act(values))}: cannot tell whether it "
                                 f"keeps channels apart")
        return getattr(self, "op_" + cat)(node, name, args, values, meta)

    # -- weight layers
    def weight_layer(self, node, mod, kind):
        if node.target in self.layer_of_module:
            raise self.err(node, f"module {node.target} is called more than once (shared "
                                 f"weights): one weight layer cannot have two inputs")
        if len(node.args) != 1 or node.kwargs:
            raise self.err(node, "unexpected call arguments")
        meta = self.meta[node]
        out_ch = mod.out_features if kind == "linear" else mod.out_channels
        idx = len(self.layers)
        self.layers.append(dict(name=f"{node.target}.weight" if node.target else "weight",
                                kind=kind, groups=getattr(mod, "groups", 1), module=mod,
                                node=node, out_channels=out_ch, target=node.target))
        self.layer_of_module[node.target] = idx
        self.reads[idx] = self.consumer_reads(node, self.val(node.args[0]), idx)
        cdim = len(meta) - 1 if kind == "linear" else 1
        if meta[cdim] != out_ch:
            raise self.err(node, "output shape does not match the module")
        return Act([frozenset({(idx, a)}) for a in range(out_ch)], (cdim,), meta)

    def consumer_reads(self, node, v, idx):
        layer = self.layers[idx]
        if not isinstance(v, Act):
            return [], None
        if len(v.cdims) != 1:
            raise self.err(node, f"its input's channels are split over several dims (a "
                                 f"view without the matching merge) from {self.names(v)}")
        cd = v.cdims[0]
        nd = len(v.shape)
        mod = layer["module"]
        C = v.channels
        if layer["kind"] == "linear":
            if cd != nd - 1:
                raise self.err(node, f"the linear layer acts on dim {nd - 1}, but the channels "
                                     f"of {self.names(v)} are on dim {cd}")
            if C * v.z != mod.in_features:
                raise self.err(node, f"internal: {C} channels x {v.z} != in_features "
                                     f"{mod.in_features}")
        else:
            if cd != 1 or v.z != 1:
                raise self.err(node, f"the convolution's input channels (dim 1) are not the "
                                     f"channels of {self.names(v)} (dim {cd}, z {v.z})")
            if C != mod.in_channels:
                raise self.err(node, "internal: channel count mismatch")
        reads = self.map_reads(node, v)
        kinds = {self.layers[p]["kind"] for p in {p for s in v.chans for (p, _) in s}}
        flatten_order = None
        if layer["kind"] == "linear" and reads:
            if v.z > 1 and "linear" in kinds:
                raise self.err(node, f"a linear layer reading linear layers ({self.names(v)}) "
                                     f"through a flatten of {v.z} positions: svr reads a linear "
                                     f"layer's inputs as the producers' features")
            if v.flattened and kinds - {"linear"}:
                flatten_order = v.order
        return reads, flatten_order

    def map_reads(self, node, v):
        C = v.channels
        sizes = [len(s) for s in v.chans]
        if max(sizes) == 0:
            return []
        if min(sizes) == 0:
            empty = [c for c in range(C) if not v.chans[c]]
            raise self.err(node, f"input channels {_ranges(empty)} of {C} come from no weight "
                                 f"layer (network input, a constant or an ended flow) while the "
                                 f"others come from {self.names(v)}: not expressible")
        if max(sizes) == 1:
            return self.one_to_one(node, v)
        producers = sorted({p for s in v.chans for (p, _) in s})
        want = [frozenset((p, c) for p in producers) for c in range(C)]
        if list(v.chans) != want or any(self.layers[p]["out_channels"] != C for p in producers):
            raise self.err(node, f"its input is a sum combined with a concat/split/permute of "
                                 f"{self.names(v)}: svr's channel maps cannot express it")
        return [dict(layer=self.layers[p]["name"], map="add") for p in producers]

    def one_to_one(self, node, v):
        per = {}
        for c, s in enumerate(v.chans):
            (p, a), = s
            per.setdefault(p, []).append((a, c))
        out = []
        for p, lst in per.items():
            lst.sort()
            A = [a for a, _ in lst]
            name = self.layers[p]["name"]
            if len(set(A)) != len(A):
                raise self.err(node, f"a channel of {name} reaches two input channels")
            first, count = A[0], len(A)
            if A != list(range(first, first + count)):
                raise self.err(node, f"the channels of {name} it reads ({_ranges(A)}) are not "
                                     f"one contiguous range")
            targets = [c for _, c in lst]
            full = first == 0 and count == self.layers[p]["out_channels"]
            offset = targets[0]
            if targets == list(range(offset, offset + count)):
                if full and len(per) == 1 and offset == 0:
                    r = dict(layer=name, map="direct")
                elif full:
                    r = dict(layer=name, map="concat", offset=offset)
                else:
                    r = dict(layer=name, map="split", source=[first, count], offset=offset)
            else:
                r = dict(layer=name, map="permute")
                if not full:
                    r["source"] = [first, count]
                r["permutation"] = targets
            out.append((min(targets), r))
        out.sort(key=lambda t: t[0])
        return [r for _, r in out]

    # -- modules
    def module_op(self, node, mod, args, values, meta):
        if isinstance(mod, _SOURCE_MODULES):
            if any(isinstance(v, Act) for v in values):
                raise self.err(node, "an embedding reading layer outputs")
            return EMPTY
        if not any(isinstance(v, Act) for v in values):
            if isinstance(mod, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)) \
                    or (not isinstance(mod, _UNARY_MODULES + _SPATIAL_MODULES + _SOFTMAX_MODULES)
                        and any(True for _ in mod.parameters())):
                raise self.err(node, f"{type(mod).__name__} has weights but is not a "
                                     f"Linear/Conv1d/2d/3d module: svr cannot read it as a layer")
            return _no_act_result(values, meta)
        x = args[0] if args else None
        if isinstance(mod, _UNARY_MODULES):
            return self.unary(node, x, meta)
        if isinstance(mod, _SPATIAL_MODULES):
            return self.spatial(node, x, meta)
        if isinstance(mod, _SOFTMAX_MODULES):
            dim = -3 if isinstance(mod, nn.Softmax2d) else mod.dim
            return self.softmax_dim(node, x, dim, meta)
        if isinstance(mod, nn.Flatten):
            return self.flatten(node, x, mod.start_dim, mod.end_dim, meta)
        if isinstance(mod, nn.Unflatten):
            return self.reshape(node, x, meta)
        if hasattr(nn, "ChannelShuffle") and isinstance(mod, nn.ChannelShuffle):
            return self.shuffle(node, x, mod.groups, meta)
        raise self.err(node, f"unsupported module {type(mod).__name__} on the output of "
                             f"{self.names(_first_act(values))}")

    # -- op families
    def op_unary(self, node, name, args, values, meta):
        return self.unary(node, args[0], meta, extra=args[1:], values=values)

    def unary(self, node, x, meta, extra=(), values=()):
        if any(isinstance(v, Act) for v in _iter_values(list(extra))):
            raise self.err(node, "a layer output used as a parameter of a pointwise op")
        if not isinstance(x, Act):
            return _no_act_result(list(values) or [x], meta)
        if tuple(meta) != x.shape:
            raise self.err(node, f"shape changes from {list(x.shape)} to {list(meta)}")
        return x

    def op_spatial(self, node, name, args, values, meta):
        if isinstance(meta, list):   # max_pool with return_indices
            return [self.spatial(node, args[0], meta[0])] + [CONST] * (len(meta) - 1)
        return self.spatial(node, args[0], meta)

    def spatial(self, node, x, meta):
        if not isinstance(x, Act):
            return _no_act_result([x], meta)
        if x.cdims != (1,) or x.z != 1 or len(meta) != len(x.shape) or meta[1] != x.shape[1]:
            raise self.err(node, f"pooling/padding/resizing whose dim 1 is not the channel dim "
                                 f"of {self.names(x)} (or changes it)")
        return x.with_(shape=meta)

    def op_softmax(self, node, name, args, values, meta):
        dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
        dim = self.concrete(dim)
        x = args[0]
        if dim is None:
            nd = len(x.shape)
            dim = 0 if nd in (0, 1, 3) else 1
        return self.softmax_dim(node, x, dim, meta)

    def softmax_dim(self, node, x, dim, meta):
        if not isinstance(x, Act):
            return _no_act_result([x], meta)
        if dim is None:
            dim = 0 if len(x.shape) in (0, 1, 3) else 1
        if dim % len(x.shape) in x.cdims:
            return EMPTY     # mixes channels without a weight: the flow ends
        return x

    def op_addsub(self, node, name, args, values, meta):
        operands = list(args[:2]) + [self.val(node.kwargs["other"])] \
            if "other" in node.kwargs else list(args[:2])
        acts = [v for v in operands if isinstance(v, Act)]
        if not acts:
            return _no_act_result(operands, meta)
        nd = len(meta)
        cd, z, order = None, None, None
        for a in acts:
            if len(a.cdims) != 1:
                raise self.err(node, "a sum of tensors whose channels are split over dims")
            d = a.cdims[0] + nd - len(a.shape)
            if a.shape[a.cdims[0]] != meta[d]:
                raise self.err(node, f"a sum that broadcasts the channels of {self.names(a)}")
            if cd is None:
                cd, z, order = d, a.z, a.order
            elif (d, a.z) != (cd, z) or (z > 1 and a.order != order):
                raise self.err(node, "a sum of tensors whose channels lie on different dims")
        C = acts[0].channels
        chans = [frozenset().union(*(a.chans[c] for a in acts)) for c in range(C)]
        return Act(chans, (cd,), meta, z, order, any(a.flattened for a in acts))

    def op_muldiv(self, node, name, args, values, meta):
        operands = [v for v in args[:2]] + \
            ([self.val(node.kwargs["other"])] if "other" in node.kwargs else [])
        acts = [v for v in operands if isinstance(v, Act)]
        others = [v for v in operands if not isinstance(v, Act)]
        if len(acts) == 1 and all(isinstance(v, _Const) for v in others):
            a = acts[0]                 # a scale by a constant: channels kept
            off = len(meta) - len(a.shape)
            if off < 0 or any(meta[c + off] != a.shape[c] for c in a.cdims):
                raise self.err(node, f"a product that broadcasts the channels of {self.names(a)}")
            return a.with_(shape=meta, cdims=tuple(c + off for c in a.cdims))
        return EMPTY    # a product of two activations (gating, attention): the flow ends

    def op_matmul(self, node, name, args, values, meta):
        """A @ V keeps V's channels when A carries no layer (attention weights: softmax of
        Q K^T, whose product already ended Q's and K's flow) and V's channels are not on the
        contracted dim (V's second-to-last): attention mixes positions, each channel kept
        (spec section 7, V -> O). Anything else mixes channels without a weight: the flow
        ends."""
        if name in ("matmul", "imatmul", "bmm", "__matmul__") and len(args) >= 2:
            a, v = args[0], args[1]
            if isinstance(v, Act) and (a is EMPTY or a is CONST) and len(v.shape) >= 2 \
                    and isinstance(meta, _Shape) and len(meta) >= 2:
                contracted = len(v.shape) - 2
                if contracted not in v.cdims:
                    off = len(meta) - len(v.shape)
                    cd = tuple(d + off for d in v.cdims)
                    if off >= 0 and all(meta[d + off] == v.shape[d] for d in v.cdims):
                        return v.with_(cdims=cd, shape=meta)
        return EMPTY

    def op_cat(self, node, name, args, values, meta):
        tensors = args[0]
        dim = self.concrete(node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0))
        shapes = [self.shape_of(a) for a in node.args[0]]
        nd = len(meta)
        dim %= nd
        acts = [v for v in tensors if isinstance(v, Act)]
        a0 = acts[0]
        for a in acts:
            if len(a.cdims) != 1 or a.cdims[0] != a0.cdims[0] or a.z != a0.z or \
                    (a.z > 1 and a.order != a0.order):
                raise self.err(node, "a concatenation of tensors whose channels lie on "
                                     "different dims")
        cd = a0.cdims[0]
        if dim == cd:
            chans = []
            for v, s in zip(tensors, shapes):
                if isinstance(v, Act):
                    chans.extend(v.chans)
                else:
                    n = (s[dim] if s is not None else 0)
                    if n % a0.z:
                        raise self.err(node, "a concatenation that splits a flattened channel")
                    chans.extend([frozenset()] * (n // a0.z))
            return Act(chans, (cd,), meta, a0.z, a0.order, any(a.flattened for a in acts))
        if len({a.chans for a in acts}) > 1:
            raise self.err(node, f"a concatenation along dim {dim} (not the channel dim) of "
                                 f"different layers' outputs ({self.names(acts[0])} | "
                                 f"{self.names(acts[1])})")
        return a0.with_(shape=meta)

    def op_stack(self, node, name, args, values, meta):
        acts = [v for v in args[0] if isinstance(v, Act)]
        if len({a.chans for a in acts}) > 1 or len(acts[0].cdims) != 1:
            raise self.err(node, "a stack of different layers' outputs")
        dim = self.concrete(node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0))
        dim %= len(meta)
        a = acts[0]
        cd = a.cdims[0] + (1 if dim <= a.cdims[0] else 0)
        return a.with_(shape=meta, cdims=(cd,))

    def op_split(self, node, name, args, values, meta):
        x = args[0]
        if not isinstance(x, Act):
            return _no_act_result([x], meta)
        if name == "unbind":
            dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
        else:
            dim = node.kwargs.get("dim", node.args[2] if len(node.args) > 2 else 0)
        nd = len(x.shape)
        dim = self.concrete(dim) % nd
        if len(x.cdims) != 1:
            raise self.err(node, "a split of channels spread over several dims")
        cd = x.cdims[0]
        out = []
        if name == "unbind":
            if dim == cd:
                raise self.err(node, "unbind along the channel dim")
            nc = cd - (1 if dim < cd else 0)
            return [x.with_(shape=m, cdims=(nc,)) for m in meta]
        if dim != cd:
            return [x.with_(shape=m) for m in meta]
        if x.z != 1:
            raise self.err(node, "a split of flattened features")
        off = 0
        for m in meta:
            n = m[dim]
            out.append(x.with_(chans=x.chans[off:off + n], shape=m))
            off += n
        return out

    def op_getitem(self, node, name, args, values, meta):
        base, idx = args[0], self.concrete(node.args[1])
        if isinstance(base, list):
            return base[idx]
        if not isinstance(base, Act):
            return _no_act_result([base], meta)
        return self.index(node, base, idx, meta)

    def index(self, node, x, idx, meta):
        if not isinstance(idx, tuple):
            idx = (idx,)
        nd = len(x.shape)
        used = sum(1 for i in idx if i is not None and i is not Ellipsis)
        dim_map = {}     # input dim -> output dim
        chans = x.chans
        i_in = i_out = 0
        for i in idx:
            if i is Ellipsis:
                for _ in range(nd - used):
                    dim_map[i_in] = i_out
                    i_in += 1
                    i_out += 1
            elif i is None:
                i_out += 1
            elif isinstance(i, int):
                if i_in in x.cdims:
                    raise self.err(node, "indexing a single channel")
                i_in += 1
            elif isinstance(i, slice):
                if i_in in x.cdims:
                    if len(x.cdims) != 1 or x.z != 1:
                        if i.indices(x.shape[i_in]) != (0, x.shape[i_in], 1):
                            raise self.err(node, "slicing flattened or split channels")
                    else:
                        chans = tuple(chans[k] for k in range(*i.indices(len(chans))))
                dim_map[i_in] = i_out
                i_in += 1
                i_out += 1
            else:
                if any(d in x.cdims for d in range(i_in, i_in + 1)):
                    raise self.err(node, "advanced indexing of the channels")
                raise self.err(node, f"advanced indexing ({type(i).__name__}) of the output "
                                     f"of {self.names(x)}")
        while i_in < nd:
            dim_map[i_in] = i_out
            i_in += 1
            i_out += 1
        return x.with_(chans=chans, cdims=tuple(dim_map[d] for d in x.cdims), shape=meta)

    def op_flatten(self, node, name, args, values, meta):
        x = args[0]
        if node.op == "call_method":
            start = node.kwargs.get("start_dim", node.args[1] if len(node.args) > 1 else 0)
            end = node.kwargs.get("end_dim", node.args[2] if len(node.args) > 2 else -1)
        else:
            start = node.kwargs.get("start_dim", node.args[1] if len(node.args) > 1 else 0)
            end = node.kwargs.get("end_dim", node.args[2] if len(node.args) > 2 else -1)
        return self.flatten(node, x, self.concrete(start), self.concrete(end), meta)

    def flatten(self, node, x, start, end, meta):
        if not isinstance(x, Act):
            return _no_act_result([x], meta)
        nd = len(x.shape)
        start %= max(nd, 1)
        end %= max(nd, 1)
        if len(x.cdims) != 1:
            return self.reshape(node, x, meta)
        cd = x.cdims[0]
        if not (start <= cd <= end) or start == end:
            return self.reshape(node, x, meta)
        if x.z != 1:
            raise self.err(node, "a second flatten of flattened features")
        others = [d for d in range(start, end + 1) if d != cd and x.shape[d] != 1]
        z = int(np.prod([x.shape[d] for d in others])) if others else 1
        if not others or all(d > cd for d in others):
            order = "chw"
        elif all(d < cd for d in others):
            order = "hwc"
        else:
            raise self.err(node, "a flatten with the channel dim between position dims")
        return Act(x.chans, (start,), meta, z, order, True)

    def op_reshape(self, node, name, args, values, meta):
        return self.reshape(node, args[0], meta)

    def op_expand(self, node, name, args, values, meta):
        x = args[0]
        if not isinstance(x, Act):
            return _no_act_result([x], meta)
        off = len(meta) - len(x.shape)
        if off < 0 or any(meta[d + off] != x.shape[d] for d in x.cdims):
            raise self.err(node, f"{name} that repeats channels of {self.names(x)}")
        return x.with_(shape=meta, cdims=tuple(d + off for d in x.cdims))

    def reshape(self, node, x, meta):
        if not isinstance(x, Act):
            return _no_act_result([x], meta)
        ins, outs = tuple(x.shape), tuple(meta)
        if ins == outs:
            return x
        C = x.channels
        if int(np.prod([ins[d] for d in x.cdims])) == 1:
            # one channel: where it goes is ambiguous; accept (N, F) flattens only
            if len(outs) == 2 and len(ins) > 2:
                return Act(x.chans, (1,), outs, int(outs[1]), "chw", True)
            raise self.err(node, "a reshape of a one-channel output")
        groups = _shape_groups(ins, outs)
        if groups is None:
            raise self.err(node, f"cannot follow the reshape {list(ins)} -> {list(outs)}")
        cd_sig = [d for d in x.cdims if ins[d] != 1]
        gmap = {}
        for gi, gj in groups:
            for d in gi:
                gmap[d] = (gi, gj)
        touched = []
        for d in cd_sig:
            if gmap[d] not in touched:
                touched.append(gmap[d])
        if len(cd_sig) == 1:
            d = cd_sig[0]
            gi, gj = gmap[d]
            if gi == [d] and len(gj) == 1:
                e = gj[0]
                flat = x.flattened or (e == len(outs) - 1 and d < len(ins) - 1)
                return x.with_(cdims=(e,), shape=outs, flattened=flat)
            if gi == [d]:
                if x.z != 1:
                    raise self.err(node, "a reshape splitting flattened features")
                return x.with_(cdims=tuple(gj), shape=outs)
            if len(gj) == 1 and len(x.cdims) == 1:
                if x.z != 1:
                    raise self.err(node, "a second flatten of flattened features")
                others = [k for k in gi if k != d]
                z = int(np.prod([ins[k] for k in others]))
                if all(k > d for k in others):
                    order = "chw"
                elif all(k < d for k in others):
                    order = "hwc"
                else:
                    raise self.err(node, "a flatten with the channel dim between position dims")
                return Act(x.chans, (gj[0],), outs, z, order, True)
            raise self.err(node, f"a reshape {list(ins)} -> {list(outs)} that mixes the channel "
                                 f"dim with others")
        # channels spread over several dims (after a channel split)
        if len(touched) == 1:
            gi, gj = touched[0]
            if sorted(gi) == sorted(cd_sig) and len(gj) == 1:
                sizes = [ins[d] for d in cd_sig]          # channel (row-major) order
                idx = np.arange(C).reshape(sizes)
                axes = [cd_sig.index(t) for t in sorted(gi)]
                perm = idx.transpose(axes).reshape(-1)
                chans = tuple(x.chans[int(p)] for p in perm)
                return x.with_(chans=chans, cdims=(gj[0],), shape=outs)
        if all(len(gi) == 1 and len(gj) == 1 for gi, gj in touched):
            return x.with_(cdims=tuple(gmap[d][1][0] for d in cd_sig), shape=outs)
        raise self.err(node, f"a reshape {list(ins)} -> {list(outs)} of channels split over "
                             f"several dims")

    def op_permute(self, node, name, args, values, meta):
        x = args[0]
        if not isinstance(x, Act):
            return _no_act_result([x], meta)
        nd = len(x.shape)
        rest = [self.concrete(a) for a in node.args[1:]]
        if name in ("permute",):
            p = rest[0] if len(rest) == 1 and isinstance(rest[0], (list, tuple)) else rest
            if not p:
                p = self.concrete(node.kwargs.get("dims"))
            p = [d % nd for d in p]
        elif name in ("t",):
            p = list(range(nd))[::-1] if nd == 2 else list(range(nd))
        elif name in ("transpose", "transpose_", "swapaxes", "swapdims"):
            if len(rest) < 2:
                rest = rest + [self.concrete(v) for v in node.kwargs.values()]
            i, j = rest[0] % nd, rest[1] % nd
            p = list(range(nd))
            p[i], p[j] = p[j], p[i]
        else:   # movedim
            src = rest[0] if rest else self.concrete(node.kwargs.get("source"))
            dst = rest[1] if len(rest) > 1 else self.concrete(node.kwargs.get("destination"))
            src = [src] if isinstance(src, int) else list(src)
            dst = [dst] if isinstance(dst, int) else list(dst)
            src = [s % nd for s in src]
            dst = [d % nd for d in dst]
            p = [None] * nd
            for s, d in zip(src, dst):
                p[d] = s
            rem = iter([d for d in range(nd) if d not in src])
            p = [q if q is not None else next(rem) for q in p]
        new_cd = tuple(p.index(d) for d in x.cdims)
        return x.with_(cdims=new_cd, shape=meta)

    def op_reduce(self, node, name, args, values, meta):
        x = args[0]
        out_meta = meta[0] if isinstance(meta, list) else meta
        dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
        if name == "norm":
            dim = node.kwargs.get("dim", node.args[2] if len(node.args) > 2 else None)
        dim = self.concrete(dim)
        if isinstance(dim, _Shape):    # torch.max(x, y): elementwise, like a product
            return self.op_muldiv(node, name, args, values, meta)
        nd = len(x.shape)
        if dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 0):
            r = EMPTY
        else:
            dims = [dim] if isinstance(dim, int) else list(dim)
            dims = {d % nd for d in dims}
            if dims & set(x.cdims):
                r = EMPTY   # a reduction over the channels mixes them: the flow ends
            else:
                keep = len(out_meta) == nd
                cd = tuple(d if keep else d - sum(1 for k in dims if k < d) for d in x.cdims)
                r = x.with_(cdims=cd, shape=out_meta)
        if isinstance(meta, list):
            return [r] + [CONST] * (len(meta) - 1)
        return r

    def op_shuffle(self, node, name, args, values, meta):
        g = self.concrete(node.kwargs.get("groups", node.args[1] if len(node.args) > 1 else None))
        return self.shuffle(node, args[0], g, meta)

    def shuffle(self, node, x, g, meta):
        if not isinstance(x, Act):
            return _no_act_result([x], meta)
        if x.cdims != (1,) or x.z != 1:
            raise self.err(node, "a channel shuffle whose dim 1 is not the channel dim")
        C = x.channels
        k = C // g
        chans = tuple(x.chans[(m % g) * k + m // g] for m in range(C))
        return x.with_(chans=chans, shape=meta)


def _shape_groups(ins, outs):
    """Pair the non-1 dims of two shapes of equal size into groups of equal products:
    list of (input dims, output dims)."""
    a = [d for d in range(len(ins)) if ins[d] != 1]
    b = [d for d in range(len(outs)) if outs[d] != 1]
    groups = []
    i = j = 0
    while i < len(a) and j < len(b):
        gi, gj = [a[i]], [b[j]]
        pi, pj = ins[a[i]], outs[b[j]]
        i += 1
        j += 1
        while pi != pj:
            if pi < pj:
                if i >= len(a):
                    return None
                gi.append(a[i])
                pi *= ins[a[i]]
                i += 1
            else:
                if j >= len(b):
                    return None
                gj.append(b[j])
                pj *= outs[b[j]]
                j += 1
        groups.append((gi, gj))
    if i != len(a) or j != len(b):
        return None
    return groups


def _has_tensor(meta):
    if isinstance(meta, _Shape):
        return True
    if isinstance(meta, list):
        return any(_has_tensor(m) for m in meta)
    return False


def _first_act(values):
    return next(v for v in values if isinstance(v, Act))


def _weight_kind(mod):
    if isinstance(mod, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        return None
    for cls, kind in WEIGHT_KINDS:
        if isinstance(mod, cls):
            return kind
    return None


def _fetch_attr(gm, target):
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _describe(node, gm):
    if node.op == "call_module":
        return f"{type(gm.get_submodule(node.target)).__name__} {node.target}"
    if node.op == "call_function":
        return getattr(node.target, "__name__", str(node.target))
    return f"{node.op} {node.target}"


def _ranges(xs):
    xs = sorted(xs)
    out, k = [], 0
    while k < len(xs):
        j = k
        while j + 1 < len(xs) and xs[j + 1] == xs[j] + 1:
            j += 1
        out.append(str(xs[k]) if j == k else f"{xs[k]}-{xs[j]}")
        k = j + 1
    return ",".join(out[:6]) + (",..." if len(out) > 6 else "")


# ----------------------------------------------------------------------------- driver

def _default_inputs(gm):
    """Candidate example inputs from the first weight layer of the graph."""
    for node in gm.graph.nodes:
        if node.op == "call_module":
            mod = gm.get_submodule(node.target)
            kind = _weight_kind(mod)
            if kind == "linear":
                return [(1, mod.in_features)]
            if kind == "conv1d":
                return [(1, mod.in_channels, n) for n in (224, 64, 32, 16, 8)]
            if kind == "conv2d":
                return [(1, mod.in_channels, n, n) for n in (224, 299, 64, 32, 28, 16, 8)]
            if kind == "conv3d":
                return [(1, mod.in_channels, d, n, n) for d, n in ((16, 112), (8, 32), (4, 8))]
    return []


def _proxy_iter(self):
    """torch.fx's Proxy.__iter__ with the unpacking instruction found by its byte offset:
    torch 1.13 indexes dis.get_instructions by f_lasti // 2, which misses on Python >= 3.11
    (inline caches), so `a, b = x.chunk(2, 1)` or `n, c, h, w = x.shape` fail to trace."""
    import dis
    import inspect
    frame = inspect.currentframe().f_back
    for inst in dis.get_instructions(frame.f_code):
        if inst.offset == frame.f_lasti:
            if inst.opname == "UNPACK_SEQUENCE":
                return (self[i] for i in range(inst.argval))
            break
    return self.tracer.iter(self)


def _trace(model):
    proxy = torch.fx.proxy.Proxy
    saved = proxy.__iter__
    proxy.__iter__ = _proxy_iter
    try:
        return torch.fx.symbolic_trace(model)
    finally:
        proxy.__iter__ = saved


def export_topology(model, example_input=None, model_name=""):
    """The svr topology (a dict following docs/topology.schema.json) of `model`.
    example_input: a tensor (or tuple of tensors) to run the model on; default: a batch of one
    image/vector shaped for the first weight layer (224x224, 299x299, 64x64, ... tried in turn).
    Raises TopologyError for what the format cannot express."""
    if not isinstance(model, nn.Module):
        raise TypeError("export_topology expects an nn.Module")
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        try:
            gm = _trace(model)
        except Exception as e:   # noqa: BLE001 - report any tracing failure the same way
            text = (str(e).splitlines() or [""])[0].split(". ")[0]
            raise TopologyError(f"torch.fx cannot trace {type(model).__name__}: "
                                f"{type(e).__name__}: {text}") from e
        placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
        if example_input is None:
            if len(placeholders) != 1:
                raise TopologyError(f"the model takes {len(placeholders)} inputs: pass "
                                    f"example_input")
            candidates = [(torch.zeros(s),) for s in _default_inputs(gm)]
            if not candidates:
                raise TopologyError("no Linear/Conv layer found in the traced graph")
        else:
            ex = example_input if isinstance(example_input, tuple) else (example_input,)
            candidates = [ex]
        rec, errors = None, []
        for args in candidates:
            r = _Recorder(gm)
            try:
                with torch.no_grad():
                    r.run(*args)
                rec = r
                break
            except Exception as e:  # noqa: BLE001
                errors.append(f"{[tuple(a.shape) for a in args]}: {type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''}")
        if rec is None:
            raise TopologyError("the traced model does not run on the example input(s) "
                                + "; ".join(errors[:3]) + " - pass example_input")
        an = _Analysis(gm, rec.meta)
        an.run()
    finally:
        for m, t in modes.items():
            m.training = t
    if not an.layers:
        raise TopologyError("no Linear/Conv1d/2d/3d layer is called in the traced graph")
    called = set(an.layer_of_module)
    for name, mod in model.named_modules():
        if _weight_kind(mod) is not None and name not in called:
            warnings.warn(f"export_topology: {type(mod).__name__} {name} is never called in "
                          f"the traced forward pass; it is not in the topology")
    layers = []
    for idx, L in enumerate(an.layers):
        entry = {"name": L["name"], "kind": L["kind"]}
        if L["groups"] != 1:
            entry["groups"] = L["groups"]
        bn = _batchnorm_of(gm, L)
        if bn:
            entry["batchnorm"] = bn
        reads, order = an.reads[idx]
        if order:
            entry["flatten_order"] = order
        if reads:
            entry["reads_from"] = reads
        layers.append(entry)
    topo = {"format": "svr-topology", "schema_version": 1,
            "model": model_name or f"{type(model).__name__} (torch.fx, scripts/export_topology.py)",
            "layers": layers}
    check_topology(topo, model)
    return topo


def _batchnorm_of(gm, L):
    node = L["node"]
    users = list(node.users)
    if len(users) != 1:
        return None
    u = users[0]
    if u.op != "call_module" or not u.args or u.args[0] is not node:
        return None
    mod = gm.get_submodule(u.target)
    if isinstance(mod, _BN) and mod.num_features == L["out_channels"]:
        return u.target
    return None


# ----------------------------------------------------------------------------- checks

def layer_shapes(model):
    """name.weight -> (kind, weight shape, groups) of every Linear/ConvNd module."""
    out = {}
    for name, mod in model.named_modules():
        kind = _weight_kind(mod)
        if kind:
            out[f"{name}.weight" if name else "weight"] = (kind, tuple(mod.weight.shape),
                                                           getattr(mod, "groups", 1))
    return out


def check_topology(topo, model_or_shapes):
    """Check `topo` against svr's rules (docs/input-formats.md) with the model's weight shapes:
    names, kinds, order, channel counts and exact coverage. Raises TopologyError."""
    shapes = model_or_shapes if isinstance(model_or_shapes, dict) else layer_shapes(model_or_shapes)
    seen = {}
    for L in topo["layers"]:
        name = L["name"]
        if name in seen:
            raise TopologyError(f"{name}: listed twice")
        if name not in shapes:
            raise TopologyError(f"{name}: not a Linear/Conv weight of the model")
        kind, wshape, groups = shapes[name]
        if kind != L["kind"] or groups != L.get("groups", 1):
            raise TopologyError(f"{name}: kind/groups do not match the module")
        out_ch = wshape[0]
        reads = L.get("reads_from", [])
        for r in reads:
            if r["layer"] not in seen:
                raise TopologyError(f"{name}: reads {r['layer']}, which is not listed before it")
        if kind == "linear":
            kinds = {shapes[r["layer"]][0] for r in reads}
            if kinds and kinds != {"linear"}:
                cb = None     # the channels the reads cover
            else:
                cb = wshape[1]
        else:
            cb = wshape[1] * groups
        if reads:
            maps = {r["map"] for r in reads}
            if maps <= {"direct", "add"}:
                if maps == {"direct"} and len(reads) != 1 or maps == {"add"} and len(reads) < 2 \
                        or maps == {"direct", "add"}:
                    raise TopologyError(f"{name}: one direct read or two or more add reads")
                for r in reads:
                    pc = seen[r["layer"]]
                    if cb is None:
                        cb = pc
                    if pc != cb:
                        raise TopologyError(f"{name}: {r['layer']} has {pc} channels, the "
                                            f"layer reads {cb}")
            else:
                if maps & {"direct", "add"}:
                    raise TopologyError(f"{name}: direct/add mixed with concat/split/permute")
                targets = []
                for r in reads:
                    pc = seen[r["layer"]]
                    first, count = r.get("source", [0, pc])
                    if first + count > pc:
                        raise TopologyError(f"{name}: source outside {r['layer']}'s channels")
                    if r["map"] == "permute":
                        perm = r["permutation"]
                        if len(perm) != count:
                            raise TopologyError(f"{name}: permutation length != source count")
                        targets.extend(perm)
                    else:
                        off = r.get("offset", 0)
                        targets.extend(range(off, off + count))
                if cb is None:
                    cb = len(targets)
                if sorted(targets) != list(range(cb)):
                    raise TopologyError(f"{name}: the reads do not cover input channels "
                                        f"0..{cb - 1} exactly once")
            if kind == "linear" and wshape[1] % cb:
                raise TopologyError(f"{name}: {cb} channels do not divide {wshape[1]} features")
        seen[name] = out_ch
    return True


def validate_schema(topo, schema_path=SCHEMA_PATH):
    """Validate against docs/topology.schema.json with jsonschema; returns False (and checks
    nothing) when jsonschema is not importable."""
    try:
        import jsonschema
    except ImportError:
        return False
    with open(schema_path) as f:
        schema = json.load(f)
    cls = getattr(jsonschema, "Draft202012Validator", None) or jsonschema.validators.validator_for(schema)
    errors = sorted(cls(schema).iter_errors(topo), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        raise TopologyError(f"schema: {'/'.join(map(str, e.path))}: {e.message}")
    return True


def to_json(topo):
    """JSON text with one layer per line."""
    head = {k: v for k, v in topo.items() if k != "layers"}
    lines = ["{"]
    for k, v in head.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v)},")
    lines.append('  "layers": [')
    n = len(topo["layers"])
    for i, L in enumerate(topo["layers"]):
        lines.append("    " + json.dumps(L, separators=(", ", ": ")) + ("," if i + 1 < n else ""))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_topology(topo, path):
    with open(path, "w") as f:
        f.write(to_json(topo))


def summary(topo):
    """(layers, pairs, {map: count})."""
    kinds = {}
    pairs = 0
    for L in topo["layers"]:
        for r in L.get("reads_from", []):
            pairs += 1
            kinds[r["map"]] = kinds.get(r["map"], 0) + 1
    return len(topo["layers"]), pairs, kinds


# ----------------------------------------------------------------------------- CLI

def _load_factory(spec):
    if ":" not in spec:
        raise SystemExit(f"export_topology: expected MODULE:FACTORY or FILE.py:FACTORY, got {spec!r}")
    mod_name, attr = spec.rsplit(":", 1)
    if mod_name.endswith(".py") or os.path.sep in mod_name:
        s = importlib.util.spec_from_file_location("_svr_user_model", mod_name)
        module = importlib.util.module_from_spec(s)
        sys.path.insert(0, os.path.dirname(os.path.abspath(mod_name)))
        s.loader.exec_module(module)
    else:
        module = importlib.import_module(mod_name)
    obj = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _parse_value(text):
    import ast
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Write the svr topology JSON of a PyTorch model (torch.fx trace).",
        epilog="Example: /usr/bin/python3 scripts/export_topology.py torchvision.models:resnet18 "
               "num_classes=10 -o resnet18.topology.json")
    ap.add_argument("factory", help="MODULE:FACTORY or FILE.py:FACTORY, called with the KEY=VALUE "
                                    "arguments to build the model (or a module instance)")
    ap.add_argument("kwargs", nargs="*", metavar="KEY=VALUE",
                    help="keyword arguments of the factory (Python literals, else strings)")
    ap.add_argument("-o", "--output", help="file to write (default: standard output)")
    ap.add_argument("--input-shape", help="example input shape, e.g. 1,3,224,224 "
                                          "(default: guessed from the first layer)")
    ap.add_argument("--state-dict", help="load this torch.save'd state_dict into the model "
                                         "(the topology does not depend on the weights)")
    ap.add_argument("--model-name", default="", help="the file's 'model' text")
    a = ap.parse_args(argv)
    kwargs = {}
    for kv in a.kwargs:
        if "=" not in kv:
            ap.error(f"expected KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        kwargs[k] = _parse_value(v)
    torch.set_num_threads(1)
    obj = _load_factory(a.factory)
    model = obj if isinstance(obj, nn.Module) else obj(**kwargs)
    if a.state_dict:
        model.load_state_dict(torch.load(a.state_dict, map_location="cpu"))
    ex = None
    if a.input_shape:
        ex = torch.zeros(tuple(int(s) for s in a.input_shape.split(",")))
    name = a.model_name or a.factory + ("(" + ", ".join(a.kwargs) + ")" if a.kwargs else "")
    try:
        topo = export_topology(model, ex, model_name=name)
        validate_schema(topo)
    except TopologyError as e:
        print(f"export_topology: {e}", file=sys.stderr)
        return 1
    text = to_json(topo)
    if a.output:
        with open(a.output, "w") as f:
            f.write(text)
        n, p, kinds = summary(topo)
        print(f"wrote {a.output}: {n} layers, {p} pairs "
              f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes the ONNX fixtures of the tests (tests/data/onnx/) with the onnx package's helper, from
examples/digits_cnn_plain.safetensors, so that no PyTorch export is needed:

  digits_cnn_plain.onnx           the example CNN as torch.onnx exports it (Conv, Relu, MaxPool,
                                  Flatten, Gemm with transB=1), weights in raw_data
  digits_cnn_plain_matmul.onnx    the same network with its linear layers as MatMul of the
                                  transposed weight plus an Add of the bias (as tf2onnx writes
                                  them), the convolutions' weights in packed float_data, a
                                  Reshape for the flatten and an Identity
  digits_cnn_plain_external.onnx  the same as the first with every weight in external data,
  digits_cnn_plain_external.bin   one file beside the model, at aligned offsets
  digits_cnn_bn.onnx              examples/digits_cnn_bn.safetensors with its batch norms as
                                  BatchNormalization nodes (as torch.onnx.export writes them
                                  with do_constant_folding=False), folded by svr
  digits_cnn_plain_keras.onnx     the same network channels-last, as a Keras export: a Transpose
                                  to NHWC before the flatten, the linear weight in that order
  digits_resnet_bn.onnx           examples/digits_resnet_bn.safetensors as a graph: residual Adds,
                                  batch norms, a global pool (the graph svr recognises from the
                                  safetensors' names)
  digits_densenet.onnx            examples/digits_densenet.safetensors as a graph: every dense
                                  layer reads a Concat (its topology file's graph)
  digits_mobilenet.onnx           examples/digits_mobilenet.safetensors as a graph: depthwise
                                  convolutions (group), Clip, residual Adds, Dropout
  silu_and_gate.onnx              a SiLU (x * sigmoid(x)), which keeps channels apart, a gated
                                  linear unit (both layers read), and a product with a scalar
                                  gate, which ends the flow
  norms_as_operators.onnx         an RMSNorm written as operators (its weight folded into the
                                  next layer), and per-position statistics used otherwise
  positions.onnx                  token positions sliced, split and concatenated (channels kept),
                                  a slice of the channels, a global average as a ReduceMean
  repeated_heads.onnx             heads repeated as a grouped-query attention's V, then mixed;
                                  an Expand svr cannot follow
  batchnorm_after_relu.onnx       a batch norm that cannot fold: the flow ends there
  mlp_f16.onnx, mlp_bf16.onnx, mlp_f64.onnx   a two-layer MLP in FLOAT16, BFLOAT16 and DOUBLE
  gpt2_tiny_{model,fused,sliced}.onnx, llama_tiny_model.onnx, llama_gqa_tiny_model.onnx,
  vit_tiny_model.onnx             not written here: tests/e2e/make_transformer_models.py gpt2
                                  (llama, llama_gqa, vit) OUT --onnx
                                  writes them (model.onnx, fused.onnx, sliced.onnx; the e2e tests
                                  make their own); kept as seeds of the onnx_model fuzz harness
                                  (Gather, LayerNormalization, norms as operators, heads,
                                  attention, rotary embeddings, repeated heads, SwiGLU, class token, Split,
                                  Slice)
  bad/*.onnx                      malformed models, one problem each (tests/unit/io/onnx_test.cpp
                                  and tests/e2e)

svr reads all three digits models as the same network as the safetensors (tests/e2e). Run it
again after changing the example; the files are committed.

Usage: make_onnx_fixtures.py [OUT_DIR] [SAFETENSORS]
"""
import json
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            continue  # num_batches_tracked
        begin, end = entry["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + begin:8 + n + end], dtype="<f4").reshape(entry["shape"])
    return out


def model_of(nodes, inits, name="digits_cnn_plain"):
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="svr make_onnx_fixtures.py")
    onnx.checker.check_model(model)
    return model


PLAIN = [("features.0", None), ("features.2", None), ("features.5", None)]
WITH_BN = [("features.0", "features.1"), ("features.3", "features.4"), ("features.7", "features.8")]


def features(w, float_data=False, blocks=PLAIN):
    """Conv(/BatchNormalization)/Relu blocks and pools of the example, as nodes and initializers."""
    nodes, inits, x = [], [], "input"
    for k, (conv, bn) in enumerate(blocks):
        weight, bias = w[conv + ".weight"], w[conv + ".bias"]
        if float_data:
            inits.append(helper.make_tensor(conv + ".weight", TensorProto.FLOAT, weight.shape,
                                            weight.flatten().tolist()))
        else:
            inits.append(numpy_helper.from_array(weight, conv + ".weight"))
        inits.append(numpy_helper.from_array(bias, conv + ".bias"))
        nodes.append(helper.make_node("Conv", [x, conv + ".weight", conv + ".bias"], [conv],
                                      name="/" + conv + "/Conv", kernel_shape=[3, 3],
                                      pads=[1, 1, 1, 1]))
        x = conv
        if bn:
            names = [bn + suffix for suffix in (".weight", ".bias", ".running_mean", ".running_var")]
            inits += [numpy_helper.from_array(w[name], name) for name in names]
            nodes.append(helper.make_node("BatchNormalization", [x] + names, [bn],
                                          name="/" + bn + "/BatchNormalization", epsilon=1e-5))
            x = bn
        nodes.append(helper.make_node("Relu", [x], [conv + ".relu"]))
        x = conv + ".relu"
        if k >= 1:
            nodes.append(helper.make_node("MaxPool", [x], [conv + ".pool"], kernel_shape=[2, 2],
                                          strides=[2, 2]))
            x = conv + ".pool"
    return nodes, inits, x


def gemm_model(w, blocks=PLAIN):
    nodes, inits, x = features(w, blocks=blocks)
    nodes.append(helper.make_node("Flatten", [x], ["flat"], axis=1))
    x = "flat"
    for k, fc in enumerate(["classifier.0", "classifier.2"]):
        inits += [numpy_helper.from_array(w[fc + ".weight"], fc + ".weight"),
                  numpy_helper.from_array(w[fc + ".bias"], fc + ".bias")]
        out = "logits" if k == 1 else fc
        nodes.append(helper.make_node("Gemm", [x, fc + ".weight", fc + ".bias"], [out],
                                      name="/" + fc + "/Gemm", transB=1))
        if k == 0:
            nodes.append(helper.make_node("Relu", [out], [fc + ".relu"]))
            x = fc + ".relu"
    return model_of(nodes, inits)


def matmul_model(w):
    nodes, inits, x = features(w, float_data=True)
    inits.append(numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "flat_shape"))
    nodes.append(helper.make_node("Reshape", [x, "flat_shape"], ["flat"]))
    nodes.append(helper.make_node("Identity", ["flat"], ["flat_copy"]))
    matmul_classifier(w, {}, "flat_copy", nodes, inits, named=True)
    return model_of(nodes, inits)


def matmul_classifier(w, weights, x, nodes, inits, named=False):
    """The two linear layers as tf2onnx writes them: MatMul of the (in, out) weight, then an Add
    of the bias; `weights` replaces a layer's (out, in) weight."""
    for k, fc in enumerate(["classifier.0", "classifier.2"]):
        weight = weights.get(fc, w[fc + ".weight"])
        inits += [numpy_helper.from_array(np.ascontiguousarray(weight.T), fc + ".weight"),
                  numpy_helper.from_array(w[fc + ".bias"], fc + ".bias")]
        nodes.append(helper.make_node("MatMul", [x, fc + ".weight"], [fc + ".mm"],
                                      name="/" + fc + "/MatMul" if named else None))
        out = "logits" if k == 1 else fc
        nodes.append(helper.make_node("Add", [fc + ".mm", fc + ".bias"], [out]))
        if k == 0:
            nodes.append(helper.make_node("Relu", [out], [fc + ".relu"]))
            x = fc + ".relu"


def external_model(w, out_dir):
    model = gemm_model(w)
    blob = bytearray()
    for t in model.graph.initializer:
        data = t.raw_data
        while len(blob) % 64:
            blob.append(0)
        offset = len(blob)
        blob += data
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", "digits_cnn_plain_external.bin"), ("offset", str(offset)),
                           ("length", str(len(data)))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
    with open(os.path.join(out_dir, "digits_cnn_plain_external.bin"), "wb") as f:
        f.write(bytes(blob))
    return model


def mlp_model(data_type, np_type):
    rng = np.random.default_rng(7)
    w1 = rng.standard_normal((6, 5)).astype(np.float32)
    w2 = rng.standard_normal((3, 6)).astype(np.float32)
    inits = []
    for name, value in (("fc1.weight", w1), ("fc2.weight", w2)):
        if data_type == TensorProto.BFLOAT16:
            bits = (value.view(np.uint32) >> 16).astype("<u2")  # truncation: exact bf16 values
            inits.append(helper.make_tensor(name, data_type, value.shape, bits.tobytes(), raw=True))
        else:
            inits.append(numpy_helper.from_array(value.astype(np_type), name))
    nodes = [helper.make_node("Gemm", ["input", "fc1.weight"], ["h"], transB=1, name="fc1"),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "fc2.weight"], ["logits"], transB=1, name="fc2")]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("input", data_type, [1, 5])],
                              [helper.make_tensor_value_info("logits", data_type, [1, 3])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def keras_model(w):
    """The example as a channels-last (Keras) export writes it: a Transpose to NHWC before the
    flatten and the first linear layer's weight over (height, width, channel), as MatMul."""
    nodes, inits, x = features(w)
    nodes.append(helper.make_node("Transpose", [x], ["nhwc"], perm=[0, 2, 3, 1]))
    nodes.append(helper.make_node("Flatten", ["nhwc"], ["flat"], axis=1))
    w0 = w["classifier.0.weight"].reshape(128, 64, 2, 2).transpose(0, 2, 3, 1).reshape(128, 256)
    matmul_classifier(w, {"classifier.0": w0}, "flat", nodes, inits)
    return model_of(nodes, inits)


def resnet_model(w):
    """examples/digits_resnet_bn as torch.onnx.export would write it without fusing the batch
    norms: Conv, BatchNormalization, Relu, the shortcuts as Add, a global average pool,
    Flatten and Gemm. The nodes come in the forward order of the residual blocks."""
    nodes, inits = [], []

    def conv(prefix, x, bn, stride=1, kernel=3):
        name = prefix + ".weight"
        inits.append(numpy_helper.from_array(w[name], name))
        pad = (kernel - 1) // 2
        nodes.append(helper.make_node("Conv", [x, name], [prefix], name="/" + prefix + "/Conv",
                                      kernel_shape=[kernel, kernel], strides=[stride, stride],
                                      pads=[pad] * 4))
        names = [bn + suffix for suffix in (".weight", ".bias", ".running_mean", ".running_var")]
        inits.extend(numpy_helper.from_array(w[n], n) for n in names)
        nodes.append(helper.make_node("BatchNormalization", [prefix] + names, [bn],
                                      name="/" + bn + "/BatchNormalization", epsilon=1e-5))
        return bn

    def relu(x):
        nodes.append(helper.make_node("Relu", [x], [x + ".relu"]))
        return x + ".relu"

    x = relu(conv("conv1", "input", "bn1"))
    for p, stride, downsample in (("layer1.0.", 1, False), ("layer2.0.", 2, True),
                                  ("layer2.1.", 1, False)):
        h = relu(conv(p + "conv1", x, p + "bn1", stride))
        h = conv(p + "conv2", h, p + "bn2")
        shortcut = conv(p + "downsample.0", x, p + "downsample.1", stride, 1) if downsample else x
        nodes.append(helper.make_node("Add", [h, shortcut], [p + "sum"]))
        x = relu(p + "sum")
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"]))
    nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], axis=1))
    inits += [numpy_helper.from_array(w["fc.weight"], "fc.weight"),
              numpy_helper.from_array(w["fc.bias"], "fc.bias")]
    nodes.append(helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"],
                                  name="/fc/Gemm", transB=1))
    return model_of(nodes, inits, "digits_resnet_bn")


def densenet_model(w):
    """examples/digits_densenet as a graph: each dense layer's convolution reads the Concat of
    its block's input and of every earlier layer's output, then BatchNormalization and Relu; a
    1x1 transition convolution reads the whole first block; the classifier the second."""
    nodes, inits = [], []

    def conv_bn_relu(prefix, x, bn, kernel):
        name = prefix + ".weight"
        inits.append(numpy_helper.from_array(w[name], name))
        pad = (kernel - 1) // 2
        nodes.append(helper.make_node("Conv", [x, name], [prefix], name="/" + prefix + "/Conv",
                                      kernel_shape=[kernel, kernel], pads=[pad] * 4))
        names = [bn + suffix for suffix in (".weight", ".bias", ".running_mean", ".running_var")]
        inits.extend(numpy_helper.from_array(w[n], n) for n in names)
        nodes.append(helper.make_node("BatchNormalization", [prefix] + names, [bn],
                                      name="/" + bn + "/BatchNormalization", epsilon=1e-5))
        nodes.append(helper.make_node("Relu", [bn], [bn + ".relu"]))
        return bn + ".relu"

    def concat(values, out):
        nodes.append(helper.make_node("Concat", values, [out], axis=1))
        return out

    x = conv_bn_relu("features.conv0", "input", "features.norm0", 3)
    for block in (1, 2):
        features = [x]
        for layer in (1, 2, 3):
            p = "features.denseblock%d.denselayer%d" % (block, layer)
            inp = features[0] if len(features) == 1 else concat(features, p + ".cat")
            features.append(conv_bn_relu(p + ".conv", inp, p + ".norm", 3))
        x = concat(features, "features.denseblock%d.cat" % block)
        if block == 1:
            t = conv_bn_relu("features.transition1.conv", x, "features.transition1.norm", 1)
            nodes.append(helper.make_node("AveragePool", [t], ["transition1.pool"],
                                          kernel_shape=[2, 2], strides=[2, 2]))
            x = "transition1.pool"
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"]))
    nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], axis=1))
    inits += [numpy_helper.from_array(w["classifier.weight"], "classifier.weight"),
              numpy_helper.from_array(w["classifier.bias"], "classifier.bias")]
    nodes.append(helper.make_node("Gemm", ["flat", "classifier.weight", "classifier.bias"],
                                  ["logits"], name="/classifier/Gemm", transB=1))
    return model_of(nodes, inits, "digits_densenet")


def mobilenet_model(w):
    """examples/digits_mobilenet as a graph: inverted residuals with depthwise convolutions
    (group = channels), Clip as ReLU6 (its bounds constant inputs), residual Adds, Dropout."""
    nodes, inits = [], [numpy_helper.from_array(np.array(0, np.float32), "relu6.min"),
                        numpy_helper.from_array(np.array(6, np.float32), "relu6.max")]

    def conv_bn(prefix, x, bn, kernel=1, stride=1, relu6=True):
        name = prefix + ".weight"
        weight = w[name]
        inits.append(numpy_helper.from_array(weight, name))
        pad = (kernel - 1) // 2
        groups = weight.shape[0] if weight.shape[1] == 1 and kernel == 3 and prefix != "features.0.0" else 1
        nodes.append(helper.make_node("Conv", [x, name], [prefix], name="/" + prefix + "/Conv",
                                      kernel_shape=[kernel, kernel], strides=[stride, stride],
                                      pads=[pad] * 4, group=groups))
        names = [bn + suffix for suffix in (".weight", ".bias", ".running_mean", ".running_var")]
        inits.extend(numpy_helper.from_array(w[n], n) for n in names)
        nodes.append(helper.make_node("BatchNormalization", [prefix] + names, [bn],
                                      name="/" + bn + "/BatchNormalization", epsilon=1e-5))
        if not relu6:
            return bn
        nodes.append(helper.make_node("Clip", [bn, "relu6.min", "relu6.max"], [bn + ".relu6"]))
        return bn + ".relu6"

    x = conv_bn("features.0.0", "input", "features.0.1", 3)
    for block, stride, residual in ((1, 1, True), (2, 2, False), (3, 1, True)):
        p = "features.%d.conv." % block
        h = conv_bn(p + "0.0", x, p + "0.1")
        h = conv_bn(p + "1.0", h, p + "1.1", 3, stride)
        h = conv_bn(p + "2", h, p + "3", relu6=False)
        if residual:
            nodes.append(helper.make_node("Add", [x, h], ["features.%d.sum" % block]))
            h = "features.%d.sum" % block
        x = h
    x = conv_bn("features.4.0", x, "features.4.1")
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"]))
    nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], axis=1))
    nodes.append(helper.make_node("Dropout", ["flat"], ["dropped"]))
    inits += [numpy_helper.from_array(w["classifier.1.weight"], "classifier.1.weight"),
              numpy_helper.from_array(w["classifier.1.bias"], "classifier.1.bias")]
    nodes.append(helper.make_node("Gemm", ["dropped", "classifier.1.weight", "classifier.1.bias"],
                                  ["logits"], name="/classifier.1/Gemm", transB=1))
    return model_of(nodes, inits, "digits_mobilenet")


def small_chain():
    """Three Gemm layers 5 -> 6 -> 4 -> 3 with Relus: the base of the malformed models."""
    rng = np.random.default_rng(11)
    nodes, inits, x = [], [], "input"
    for k, (n_in, n_out) in enumerate(((5, 6), (6, 4), (4, 3))):
        name = "fc%d" % (k + 1)
        inits.append(numpy_helper.from_array(rng.standard_normal((n_out, n_in)).astype(np.float32),
                                             name + ".weight"))
        out = "logits" if k == 2 else name
        nodes.append(helper.make_node("Gemm", [x, name + ".weight"], [out], name=name, transB=1))
        if k < 2:
            nodes.append(helper.make_node("Relu", [out], [name + ".relu"]))
            x = name + ".relu"
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 5])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def bad_models(out_dir):
    bad = os.path.join(out_dir, "bad")
    os.makedirs(bad, exist_ok=True)
    good = small_chain()

    def copy():
        m = onnx.ModelProto()
        m.CopyFrom(good)
        return m

    def save(name, model):
        onnx.save(model, os.path.join(bad, name))

    def initializer(m, name):
        return [t for t in m.graph.initializer if t.name == name][0]

    # fc3 reads fc1's 6 channels where its weight takes 4.
    m = copy()
    [n for n in m.graph.node if n.name == "fc3"][0].input[0] = "fc1.relu"
    save("channel_mismatch.onnx", m)
    # A batch norm after fc1's Relu, which cannot fold into fc1: the flow ends there (not an
    # error; --plan says so), written beside the good models.
    m = copy()
    nodes = list(m.graph.node)
    [n for n in nodes if n.name == "fc2"][0].input[0] = "bn"
    nodes.insert(2, helper.make_node("BatchNormalization", ["fc1.relu", "bn.scale", "bn.bias", "bn.mean", "bn.var"],
                                     ["bn"], name="bn"))
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    for name, value in (("bn.scale", 1.0), ("bn.bias", 0.0), ("bn.mean", 0.0), ("bn.var", 1.0)):
        m.graph.initializer.append(numpy_helper.from_array(np.full(6, value, np.float32), name))
    onnx.save(m, os.path.join(out_dir, "batchnorm_after_relu.onnx"))
    # A weight whose raw_data is shorter than its dims need.
    m = copy()
    t = initializer(m, "fc2.weight")
    t.raw_data = t.raw_data[:-4]
    save("short_raw_data.onnx", m)
    # An integer weight.
    m = copy()
    initializer(m, "fc3.weight").CopyFrom(numpy_helper.from_array(np.ones((3, 4), np.int8), "fc3.weight"))
    save("int8_weight.onnx", m)
    # External data that is missing, and one that leaves the model's directory.
    for name, location in (("missing_external.onnx", "no_such.bin"),
                           ("escaping_external.onnx", "../digits_cnn_plain_external.bin")):
        m = copy()
        t = initializer(m, "fc2.weight")
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        entry = t.external_data.add()
        entry.key, entry.value = "location", location
        save(name, m)
    # A cycle: fc1 reads fc3's output.
    m = copy()
    [n for n in m.graph.node if n.name == "fc1"][0].input[0] = "logits"
    save("cycle.onnx", m)
    # The file cut short in the middle of the weights, and bytes that are no protobuf.
    data = good.SerializeToString()
    with open(os.path.join(bad, "truncated.onnx"), "wb") as f:
        f.write(data[:len(data) - 40])
    with open(os.path.join(bad, "garbage.onnx"), "wb") as f:
        f.write(b"\x08\x07" + bytes(range(256)))


def gated_model():
    """fc1 -> SiLU (x * Sigmoid(x), each channel by itself) -> fc2 and fcg; fc3 reads a gated
    linear unit, fc2 times a sigmoid of fcg (channel for channel: fc3 reads both, the `add` map,
    as svr reads a Llama's gate and up); fc4 reads fc3 times a scalar gate (fcs, one channel):
    the flow ends at that product."""
    rng = np.random.default_rng(5)
    shapes = {"fc1": (6, 5), "fc2": (4, 6), "fcg": (4, 6), "fc3": (3, 4), "fcs": (1, 6),
              "fc4": (2, 3)}
    inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n + ".weight")
             for n, s in shapes.items()]
    nodes = [helper.make_node("Gemm", ["input", "fc1.weight"], ["fc1"], name="fc1", transB=1),
             helper.make_node("Sigmoid", ["fc1"], ["fc1.sig"]),
             helper.make_node("Mul", ["fc1", "fc1.sig"], ["fc1.silu"], name="silu"),
             helper.make_node("Gemm", ["fc1.silu", "fc2.weight"], ["fc2"], name="fc2", transB=1),
             helper.make_node("Gemm", ["fc1.silu", "fcg.weight"], ["fcg"], name="fcg", transB=1),
             helper.make_node("Sigmoid", ["fcg"], ["gate"]),
             helper.make_node("Mul", ["fc2", "gate"], ["gated"], name="glu"),
             helper.make_node("Gemm", ["gated", "fc3.weight"], ["fc3"], name="fc3", transB=1),
             helper.make_node("Gemm", ["fc1.silu", "fcs.weight"], ["fcs"], name="fcs", transB=1),
             helper.make_node("Sigmoid", ["fcs"], ["scalar_gate"]),
             helper.make_node("Mul", ["fc3", "scalar_gate"], ["fc3.gated"], name="gate_product"),
             helper.make_node("Gemm", ["fc3.gated", "fc4.weight"], ["logits"], name="fc4", transB=1)]
    graph = helper.make_graph(nodes, "gated", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 5])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def norms_model():
    """Norms written as operators after Gemm layers: fc1 -> RMSNorm (Pow, ReduceMean, Add, Sqrt,
    Div, Cast, Mul by norm.weight) -> fc2, whose input scale is norm.weight; fc2 -> Mul by a
    per-channel constant (no norm before it: not folded) -> fc3; fc4 reads a per-position
    statistic of fc1 (its mean square), and fc5 the statistic divided by fc1 (no scale of fc1):
    both read nothing, and the flow ends at each."""
    rng = np.random.default_rng(6)
    shapes = {"fc1": (6, 5), "fc2": (4, 6), "fc3": (3, 4), "fc4": (2, 1), "fc5": (2, 6)}
    inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n + ".weight")
             for n, s in shapes.items()]
    inits += [numpy_helper.from_array(np.array(v, dtype=np.float32), n)
              for n, v in (("two", 2.0), ("eps", 1e-6))]
    inits += [numpy_helper.from_array((1 + 0.5 * rng.standard_normal(n)).astype(np.float32), name)
              for name, n in (("norm.weight", 6), ("layer_scale", 4))]
    nodes = [helper.make_node("Gemm", ["input", "fc1.weight"], ["fc1"], name="fc1", transB=1),
             helper.make_node("Pow", ["fc1", "two"], ["square"]),
             helper.make_node("ReduceMean", ["square"], ["mean_square"], name="mean_square",
                              axes=[-1], keepdims=1),
             helper.make_node("Add", ["mean_square", "eps"], ["shifted"]),
             helper.make_node("Sqrt", ["shifted"], ["rms"]),
             helper.make_node("Div", ["fc1", "rms"], ["normed"]),
             helper.make_node("Cast", ["normed"], ["normed.cast"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["normed.cast", "norm.weight"], ["scaled"]),
             helper.make_node("Gemm", ["scaled", "fc2.weight"], ["fc2"], name="fc2", transB=1),
             helper.make_node("Mul", ["fc2", "layer_scale"], ["fc2.scaled"]),
             helper.make_node("Gemm", ["fc2.scaled", "fc3.weight"], ["fc3"], name="fc3", transB=1),
             helper.make_node("Gemm", ["rms", "fc4.weight"], ["fc4"], name="fc4", transB=1),
             helper.make_node("Div", ["rms", "fc1"], ["inverse"], name="inverse"),
             helper.make_node("Gemm", ["inverse", "fc5.weight"], ["fc5"], name="fc5", transB=1)]
    graph = helper.make_graph(nodes, "norms", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 5])],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
                               for o in ("fc3", "fc4", "fc5")], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def positions_model():
    """Token flows whose positions are cut and joined: fc1 (a MatMul over 5 positions of rank 3)
    -> Slice of positions 1..5 -> Split of the positions in two -> Concat of them along the
    positions -> fc2, which reads all of fc1's channels; a Slice of fc1's channels 0..3 -> fc3,
    which reads that split of fc1. And a convolution's global average written as a ReduceMean
    over height and width -> fc4, which reads the convolution; its ReduceMax over the channels
    ends the flow."""
    rng = np.random.default_rng(8)
    inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n)
             for n, s in (("fc1.weight", (4, 6)), ("fc2.weight", (6, 3)), ("fc3.weight", (3, 2)),
                          ("conv.weight", (3, 2, 3, 3)), ("fc4.weight", (2, 3)))]
    inits += [numpy_helper.from_array(np.array(v, dtype=np.int64), n)
              for n, v in (("one", [1]), ("five", [5]), ("zero", [0]), ("three", [3]),
                           ("positions", [1]), ("channels", [-1]), ("halves", [2, 2]))]
    nodes = [helper.make_node("MatMul", ["input", "fc1.weight"], ["fc1"], name="fc1"),
             helper.make_node("Slice", ["fc1", "one", "five", "positions"], ["later"], name="later"),
             helper.make_node("Split", ["later", "halves"], ["first", "second"], name="halves", axis=1),
             helper.make_node("Concat", ["second", "first"], ["joined"], name="joined", axis=1),
             helper.make_node("MatMul", ["joined", "fc2.weight"], ["fc2"], name="fc2"),
             helper.make_node("Slice", ["fc1", "zero", "three", "channels"], ["part"], name="part"),
             helper.make_node("MatMul", ["part", "fc3.weight"], ["fc3"], name="fc3"),
             helper.make_node("Conv", ["image", "conv.weight"], ["conv"], name="conv"),
             helper.make_node("ReduceMean", ["conv"], ["pooled"], name="pooled", axes=[2, 3], keepdims=0),
             helper.make_node("Gemm", ["pooled", "fc4.weight"], ["fc4"], name="fc4", transB=1),
             helper.make_node("ReduceMax", ["conv"], ["brightest"], name="brightest", axes=[1])]
    graph = helper.make_graph(nodes, "positions", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 5, 4]),
                                                   helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 2, 5, 5])],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
                               for o in ("fc2", "fc3", "fc4", "brightest")], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def repeated_heads_model():
    """A MatMul's 4 channels split into 2 heads of 2 (Reshape, Transpose), then repeated as a
    grouped-query attention repeats V (Unsqueeze, Expand to (1, 2, 2, 5, 2)): a Softmax of the
    repeated heads ends the flow, and so does an Expand svr cannot follow (to 4 axes)."""
    rng = np.random.default_rng(9)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 4)).astype(np.float32), "v.weight")]
    inits += [numpy_helper.from_array(np.array(v, dtype=np.int64), n)
              for n, v in (("heads", [1, 5, 2, 2]), ("third", [2]), ("repeated", [1, 2, 2, 5, 2]),
                           ("flat", [1, 2, 5, 2]))]
    nodes = [helper.make_node("MatMul", ["input", "v.weight"], ["v"], name="v"),
             helper.make_node("Reshape", ["v", "heads"], ["split"]),
             helper.make_node("Transpose", ["split"], ["by_head"], perm=[0, 2, 1, 3]),
             helper.make_node("Unsqueeze", ["by_head", "third"], ["wider"]),
             helper.make_node("Expand", ["wider", "repeated"], ["repeats"], name="repeat_kv"),
             helper.make_node("Softmax", ["repeats"], ["mixed"], name="mixed"),
             helper.make_node("Expand", ["by_head", "flat"], ["expanded"], name="other_expand")]
    graph = helper.make_graph(nodes, "repeated", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 5, 4])],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in ("mixed", "expanded")],
                              inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else HERE
    source = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "examples", "digits_cnn_plain.safetensors")
    w = read_safetensors(source)
    onnx.save(gemm_model(w), os.path.join(out_dir, "digits_cnn_plain.onnx"))
    onnx.save(matmul_model(w), os.path.join(out_dir, "digits_cnn_plain_matmul.onnx"))
    onnx.save(external_model(w, out_dir), os.path.join(out_dir, "digits_cnn_plain_external.onnx"))
    bn = read_safetensors(os.path.join(os.path.dirname(source), "digits_cnn_bn.safetensors"))
    onnx.save(gemm_model(bn, WITH_BN), os.path.join(out_dir, "digits_cnn_bn.onnx"))
    onnx.save(keras_model(w), os.path.join(out_dir, "digits_cnn_plain_keras.onnx"))
    resnet = read_safetensors(os.path.join(os.path.dirname(source), "digits_resnet_bn.safetensors"))
    onnx.save(resnet_model(resnet), os.path.join(out_dir, "digits_resnet_bn.onnx"))
    densenet = read_safetensors(os.path.join(os.path.dirname(source), "digits_densenet.safetensors"))
    onnx.save(densenet_model(densenet), os.path.join(out_dir, "digits_densenet.onnx"))
    mobilenet = read_safetensors(os.path.join(os.path.dirname(source), "digits_mobilenet.safetensors"))
    onnx.save(mobilenet_model(mobilenet), os.path.join(out_dir, "digits_mobilenet.onnx"))
    for name, data_type, np_type in (("mlp_f16.onnx", TensorProto.FLOAT16, np.float16),
                                     ("mlp_bf16.onnx", TensorProto.BFLOAT16, None),
                                     ("mlp_f64.onnx", TensorProto.DOUBLE, np.float64)):
        onnx.save(mlp_model(data_type, np_type), os.path.join(out_dir, name))
    onnx.save(gated_model(), os.path.join(out_dir, "silu_and_gate.onnx"))
    onnx.save(norms_model(), os.path.join(out_dir, "norms_as_operators.onnx"))
    onnx.save(positions_model(), os.path.join(out_dir, "positions.onnx"))
    onnx.save(repeated_heads_model(), os.path.join(out_dir, "repeated_heads.onnx"))
    bad_models(out_dir)


if __name__ == "__main__":
    main()

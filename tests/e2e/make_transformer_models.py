#!/usr/bin/env python3
"""Tiny random transformers in the Hugging Face layouts svr recognises (GPT-2, BERT, ViT, Llama,
Llama with grouped-query attention), each with what svr should make of it, written
independently of svr:

  OUT/model.safetensors    (or N shards and model.safetensors.index.json) the family's names, shapes and orientations (GPT-2's Conv1D (in, out)
                           and fused c_attn, token embeddings (vocabulary, width)), F32
  OUT/config.json          the family's config (heads, blocks, widths)
  OUT/twin.safetensors     every layer as an (out, in) matrix under the name svr gives it
                           (c_attn's Q, K, V as <c_attn>.q.weight, ...), F64, with each pre-norm
                           gamma already multiplied into its readers' columns
  OUT/model.onnx           (gpt2, llama and vit, with --onnx) the same model as an ONNX graph, and
                           (gpt2; llama: fused_norms.onnx, its RMSNorms RMSNormalization nodes)
  OUT/fused.onnx           with c_attn one MatMul and a Split (sliced.onnx: three Slices),
                           with their plain twin
  OUT/fused_twin.*         (c_attn one layer, V read as a split of it)
  OUT/twin.topology.json   the pairs of SVR-SPEC.md section 7 for --residual-reach REACH

The oracle run on the twin with its topology is what svr must produce from model.safetensors.

  make_transformer_models.py FAMILY OUT [--reach N|all] [--unfolded] [--break missing|config]
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle"))
from safetensors_np import write_safetensors  # noqa: E402

WIDTH, INNER, VOCAB, BLOCKS, HEADS = 16, 40, 50, 3, 4


class Model:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.stored = {}   # name -> array as the family stores it
        self.layers = []   # (name in svr, (out, in) or conv matrix, input scale name or None)
        self.reads = {}    # name -> [(producer, map)]

    def weights(self, *shape):
        return (self.rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)

    def gamma(self, name, n=None):
        n = n or WIDTH
        self.stored[name] = (1.0 + 0.5 * self.rng.standard_normal(n)).astype(np.float32)
        self.stored[name.replace(".weight", ".bias")] = self.weights(n)
        return name

    def layer(self, name, matrix, scale=None, stored=None):
        """A layer svr sees as `matrix`, stored as `stored` (default: the same)."""
        self.stored[name] = matrix if stored is None else stored
        self.layers.append((name, matrix, scale))


def stream(model, reach, block, writers, reader):
    """reader reads the residual stream's writers of blocks block - reach .. block."""
    chosen = [w for b, w in writers if reach is None or b >= block - reach]
    model.reads[reader] = [(w, "direct" if len(chosen) == 1 else "add") for w in chosen]


def transformer(model, reach, family, split_heads=False):
    m = model
    writers = []
    if family == "gpt2":
        wte = m.weights(VOCAB, WIDTH)
        m.layer("wte.weight", wte.T, stored=wte)
        m.stored["wpe.weight"] = m.weights(20, WIDTH)
        embedding = "wte.weight"
    elif family == "bert":
        wte = m.weights(VOCAB, WIDTH)
        m.layer("bert.embeddings.word_embeddings.weight", wte.T, stored=wte)
        m.stored["bert.embeddings.position_embeddings.weight"] = m.weights(20, WIDTH)
        m.stored["bert.embeddings.token_type_embeddings.weight"] = m.weights(2, WIDTH)
        embedding = "bert.embeddings.word_embeddings.weight"
        previous_norm = m.gamma("bert.embeddings.LayerNorm.weight")
    elif family == "vit":
        patch = m.weights(WIDTH, 3, 4, 4)
        m.layer("vit.embeddings.patch_embeddings.projection.weight", patch)
        m.stored["vit.embeddings.cls_token"] = m.weights(1, 1, WIDTH)
        m.stored["vit.embeddings.position_embeddings"] = m.weights(1, 17, WIDTH)
        embedding = "vit.embeddings.patch_embeddings.projection.weight"
    else:  # llama, llama_gqa
        wte = m.weights(VOCAB, WIDTH)
        m.layer("model.embed_tokens.weight", wte.T, stored=wte)
        embedding = "model.embed_tokens.weight"
    writers.append((-1, embedding))
    kv_width = WIDTH // 2 if family == "llama_gqa" else WIDTH
    for b in range(BLOCKS):
        if family == "gpt2":
            p = "h.%d." % b
            ln1, ln2 = m.gamma(p + "ln_1.weight"), m.gamma(p + "ln_2.weight")
            c_attn = m.weights(WIDTH, 3 * WIDTH)  # Conv1D: (in, out)
            m.stored[p + "attn.c_attn.weight"] = c_attn
            qkv = [p + "attn.c_attn.%s.weight" % t for t in "qkv"]
            for k, name in enumerate(qkv):
                m.layers.append((name, c_attn[:, k * WIDTH:(k + 1) * WIDTH].T, ln1))
            c_proj = m.weights(WIDTH, WIDTH)
            m.layer(p + "attn.c_proj.weight", c_proj.T, stored=c_proj)
            out = p + "attn.c_proj.weight"
            c_fc = m.weights(WIDTH, INNER)
            m.layer(p + "mlp.c_fc.weight", c_fc.T, ln2, stored=c_fc)
            ups = [p + "mlp.c_fc.weight"]
            down_w = m.weights(INNER, WIDTH)
            m.layer(p + "mlp.c_proj.weight", down_w.T, stored=down_w)
            down = p + "mlp.c_proj.weight"
            attn_scale, mlp_scale = ln1, ln2
        elif family in ("bert", "vit"):
            p = ("bert.encoder.layer.%d." if family == "bert" else "vit.encoder.layer.%d.") % b
            self_ = p + ("attention.self." if family == "bert" else "attention.attention.")
            if family == "bert":
                attn_scale = previous_norm
                mlp_scale = m.gamma(p + "attention.output.LayerNorm.weight")
                previous_norm = m.gamma(p + "output.LayerNorm.weight")
            else:
                attn_scale = m.gamma(p + "layernorm_before.weight")
                mlp_scale = m.gamma(p + "layernorm_after.weight")
            qkv = [self_ + t + ".weight" for t in ("query", "key", "value")]
            for name in qkv:
                m.layer(name, m.weights(WIDTH, WIDTH), attn_scale)
            out = p + "attention.output.dense.weight"
            m.layer(out, m.weights(WIDTH, WIDTH))
            ups = [p + "intermediate.dense.weight"]
            m.layer(ups[0], m.weights(INNER, WIDTH), mlp_scale)
            down = p + "output.dense.weight"
            m.layer(down, m.weights(WIDTH, INNER))
        else:
            p = "model.layers.%d." % b
            attn_scale = m.gamma(p + "input_layernorm.weight")
            mlp_scale = m.gamma(p + "post_attention_layernorm.weight")
            m.stored.pop(attn_scale.replace(".weight", ".bias"))  # RMSNorm: no bias
            m.stored.pop(mlp_scale.replace(".weight", ".bias"))
            qkv = [p + "self_attn.%s_proj.weight" % t for t in "qkv"]
            for name, rows in zip(qkv, (WIDTH, kv_width, kv_width)):
                m.layer(name, m.weights(rows, WIDTH), attn_scale)
            out = p + "self_attn.o_proj.weight"
            m.layer(out, m.weights(WIDTH, WIDTH))
            ups = [p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"]
            for name in ups:
                m.layer(name, m.weights(INNER, WIDTH), mlp_scale)
            down = p + "mlp.down_proj.weight"
            m.layer(down, m.weights(WIDTH, INNER))
        for name in qkv:
            stream(m, reach, b, writers, name)
        head = WIDTH // HEADS
        if split_heads:  # O's query head h reads V's key-value head h // (query heads per kv head)
            sharing = WIDTH // kv_width
            m.reads[out] = [(qkv[2], "split", [(h // sharing) * head, head], h * head)
                            for h in range(HEADS)]
        elif kv_width == WIDTH:
            m.reads[out] = [(qkv[2], "direct")]
        writers.append((b, out))
        for name in ups:
            stream(m, reach, b, writers, name)
        m.reads[down] = [(u, "direct" if len(ups) == 1 else "add") for u in ups]
        writers.append((b, down))
    # The head reads the stream after the last block, through the final norm.
    if family == "gpt2":
        m.gamma("ln_f.weight")  # tied lm_head: not stored
    elif family == "bert":
        m.layer("bert.pooler.dense.weight", m.weights(WIDTH, WIDTH), previous_norm)
        stream(m, reach, BLOCKS, writers, "bert.pooler.dense.weight")
        m.layer("classifier.weight", m.weights(3, WIDTH))
        m.reads["classifier.weight"] = [("bert.pooler.dense.weight", "direct")]
    elif family == "vit":
        scale = m.gamma("vit.layernorm.weight")
        m.layer("classifier.weight", m.weights(5, WIDTH), scale)
        stream(m, reach, BLOCKS, writers, "classifier.weight")
    else:
        scale = m.gamma("model.norm.weight")
        m.stored.pop("model.norm.bias")
        m.layer("lm_head.weight", m.weights(VOCAB, WIDTH), scale)
        stream(m, reach, BLOCKS, writers, "lm_head.weight")


class GraphBuilder:
    """An ONNX graph written node by node: initializers, and nodes named after their operator
    whose one output is named after their place."""

    def __init__(self):
        self.inits, self.nodes = [], []

    def init(self, name, array):
        from onnx import numpy_helper
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op, inputs, **attrs):
        from onnx import helper
        out = "v%d" % len(self.nodes)
        self.nodes.append(helper.make_node(op, inputs, [out], name="%s_%d" % (op, len(self.nodes)), **attrs))
        return out

    def save(self, path, name, inputs, outputs, opset):
        import onnx
        from onnx import helper
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), path)


def gpt2_onnx(m, path, tokens=5, fused=False):
    """The GPT-2 of m as an ONNX graph, as an exporter writes one (opset 17): the embedding a
    Gather, the position embedding a constant Gather added, pre-norm LayerNormalization nodes,
    Q, K and V as MatMuls of (in, out) weights named as svr names the views of c_attn, the heads
    split by Reshape and Transpose, softmax(Q K^T / sqrt(d)) V, the residual Adds, a Relu MLP.
    svr must read the same network from it as from model.safetensors at --residual-reach all
    (the graph's residual stream holds every earlier writer). fused: c_attn one MatMul whose
    output a Split ("split", as GPT-2's own export does) or three Slices ("slice") cut into Q, K
    and V, and its layer norms written as operators (ReduceMean, Sub, Pow, Sqrt, Div, Mul)."""
    from onnx import TensorProto, helper

    head = WIDTH // HEADS
    g = GraphBuilder()
    init, node, nodes = g.init, g.node, g.nodes

    for name in ("wte.weight", "wpe.weight"):
        init(name, m.stored[name])
    init("positions", np.arange(tokens, dtype=np.int64).reshape(1, tokens))
    split = init("heads_shape", np.array([1, tokens, HEADS, head], dtype=np.int64))
    merge = init("tokens_shape", np.array([1, tokens, WIDTH], dtype=np.int64))
    root = init("sqrt_head", np.array(np.sqrt(head), dtype=np.float32))
    c = {k: init("c_" + k, np.array(v, dtype=np.float32))
         for k, v in (("half", 0.5), ("one", 1.0), ("two", 2.0), ("three", 3.0), ("eps", 1e-5),
                      ("gelu_a", 0.044715), ("gelu_b", np.sqrt(2 / np.pi)))}

    def gelu_new(t):  # GPT-2's: 0.5 t (1 + tanh(sqrt(2/pi) (t + 0.044715 t^3)))
        inner = node("Mul", [node("Add", [t, node("Mul", [node("Pow", [t, c["three"]]), c["gelu_a"]])]),
                             c["gelu_b"]])
        return node("Mul", [node("Mul", [t, c["half"]]), node("Add", [node("Tanh", [inner]), c["one"]])])

    def layer_norm_ops(t, w, bias):  # a LayerNorm written as operators (opset 17's ReduceMean)
        centred = node("Sub", [t, node("ReduceMean", [t], axes=[-1], keepdims=1)])
        variance = node("ReduceMean", [node("Pow", [centred, c["two"]])], axes=[-1], keepdims=1)
        normed = node("Div", [centred, node("Sqrt", [node("Add", [variance, c["eps"]])])])
        return node("Add", [node("Mul", [normed, w]), bias])

    x = node("Add", [node("Gather", ["wte.weight", "ids"]), node("Gather", ["wpe.weight", "positions"])])
    for b in range(BLOCKS):
        p = "h.%d." % b

        def norm(name):
            w = init(p + name + ".weight", m.stored[p + name + ".weight"])
            bias = init(p + name + ".bias", m.stored[p + name + ".bias"])
            if fused:  # the fused exports write their layer norms as operators
                return layer_norm_ops(x, w, bias)
            return node("LayerNormalization", [x, w, bias], axis=-1, epsilon=1e-5)

        h = norm("ln_1")
        c_attn = m.stored[p + "attn.c_attn.weight"]
        if fused:
            qkv = node("MatMul", [h, init(p + "attn.c_attn.weight", c_attn)])
            if fused == "slice":  # V to the end: ONNX's INT64_MAX, clamped
                bounds = [(0, WIDTH), (WIDTH, 2 * WIDTH), (-WIDTH, np.iinfo(np.int64).max)]
                q, k, v = (node("Slice", [qkv, init(p + "start%d" % i, np.array([lo], dtype=np.int64)),
                                          init(p + "end%d" % i, np.array([hi], dtype=np.int64)),
                                          init(p + "axis%d" % i, np.array([-1], dtype=np.int64))])
                           for i, (lo, hi) in enumerate(bounds))
            else:
                sizes = init(p + "qkv_sizes", np.array([WIDTH] * 3, dtype=np.int64))
                nodes.append(helper.make_node("Split", [qkv, sizes], [qkv + "q", qkv + "k", qkv + "v"],
                                              axis=-1, name="Split_%d" % len(nodes)))
                q, k, v = qkv + "q", qkv + "k", qkv + "v"
        else:
            q, k, v = (node("MatMul", [h, init(p + "attn.c_attn.%s.weight" % t,
                                                c_attn[:, i * WIDTH:(i + 1) * WIDTH])])
                       for i, t in enumerate("qkv"))
        qh = node("Transpose", [node("Reshape", [q, split])], perm=[0, 2, 1, 3])
        kt = node("Transpose", [node("Reshape", [k, split])], perm=[0, 2, 3, 1])
        vh = node("Transpose", [node("Reshape", [v, split])], perm=[0, 2, 1, 3])
        weights = node("Softmax", [node("Div", [node("MatMul", [qh, kt]), root])], axis=-1)
        mixed = node("Reshape", [node("Transpose", [node("MatMul", [weights, vh])], perm=[0, 2, 1, 3]), merge])
        x = node("Add", [x, node("MatMul", [mixed, init(p + "attn.c_proj.weight", m.stored[p + "attn.c_proj.weight"])])])
        h = norm("ln_2")
        up = gelu_new(node("MatMul", [h, init(p + "mlp.c_fc.weight", m.stored[p + "mlp.c_fc.weight"])]))
        x = node("Add", [x, node("MatMul", [up, init(p + "mlp.c_proj.weight", m.stored[p + "mlp.c_proj.weight"])])])
    init("ln_f.weight", m.stored["ln_f.weight"])
    init("ln_f.bias", m.stored["ln_f.bias"])
    out = node("LayerNormalization", [x, "ln_f.weight", "ln_f.bias"], axis=-1)
    g.save(path, "gpt2", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, tokens])],
           [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, tokens, WIDTH])], 17)


def llama_onnx(m, path, tokens=5, fused_norms=False, kv_heads=None):
    """The Llama of m as an ONNX graph, as an exporter writes one at opset 18 (ReduceMean's axes
    an input): the embedding a Gather; each RMSNorm written as operators (Cast, Pow, ReduceMean,
    Add, Sqrt, Reciprocal or Div, Mul by the weight); rotary embeddings on Q and K (Slice halves
    of each head, Neg, Concat, Mul by cos and sin); a causal mask; SwiGLU (gate * sigmoid(gate)
    * up). svr must read the same network from it as from model.safetensors at
    --residual-reach all. fused_norms: each RMSNorm one RMSNormalization node (opset 23), and
    the shapes and bounds Constant nodes (int64_data). kv_heads: a grouped-query attention
    whose K and V heads are repeated for the query heads as Hugging Face's repeat_kv exports
    (Unsqueeze, Expand, Reshape)."""
    from onnx import TensorProto, helper

    head = WIDTH // HEADS
    g = GraphBuilder()
    init, node, nodes = g.init, g.node, g.nodes

    def ints(name, values):  # fused_norms: Constant nodes, as torch.onnx.export writes shapes
        if not fused_norms:
            return init(name, np.array(values, dtype=np.int64))
        value = helper.make_tensor(name, TensorProto.INT64, [len(values)], values)
        nodes.append(helper.make_node("Constant", [], [name], name=name, value=value))
        return name

    def scalar(name, value):
        return init(name, np.array(value, dtype=np.float32))

    def linear(t, name):  # an (out, in) weight, as MatMul takes it: (in, out)
        return node("MatMul", [t, init(name, m.stored[name].T)])

    split = ints("heads_shape", [1, tokens, HEADS, head])
    merge = ints("tokens_shape", [1, tokens, WIDTH])
    kv_heads = kv_heads or HEADS
    kv_split = ints("kv_heads_shape", [1, tokens, kv_heads, head])
    repeated = ints("repeated_shape", [1, kv_heads, HEADS // kv_heads, tokens, head])
    all_heads = ints("all_heads_shape", [1, HEADS, tokens, head])
    third = ints("third_axis", [2])
    last = ints("last_axis", [-1])
    two, eps, root = scalar("two", 2.0), scalar("eps", 1e-6), scalar("sqrt_head", np.sqrt(head))
    angles = np.outer(np.arange(tokens), 10000.0 ** (-np.arange(0, head, 2) / head))
    angles = np.concatenate([angles, angles], axis=1)
    cos, sin = init("rope_cos", np.cos(angles).astype(np.float32)), init("rope_sin", np.sin(angles).astype(np.float32))
    mask = init("causal_mask", np.triu(np.full((tokens, tokens), -1e9, dtype=np.float32), 1))
    bounds = [ints("half_%s" % k, [v]) for k, v in (("lo", 0), ("mid", head // 2), ("hi", head))]

    def rms(t, name, reciprocal):
        if fused_norms:
            return node("RMSNormalization", [t, init(name, m.stored[name])], axis=-1, epsilon=1e-6)
        xf = node("Cast", [t], to=TensorProto.FLOAT)
        variance = node("ReduceMean", [node("Pow", [xf, two]), last], keepdims=1)
        denominator = node("Sqrt", [node("Add", [variance, eps])])
        normed = (node("Mul", [xf, node("Reciprocal", [denominator])]) if reciprocal
                  else node("Div", [xf, denominator]))
        return node("Mul", [init(name, m.stored[name]), node("Cast", [normed], to=TensorProto.FLOAT)])

    def heads(t, shape=split):
        return node("Transpose", [node("Reshape", [t, shape])], perm=[0, 2, 1, 3])

    def repeat_kv(t):
        if kv_heads == HEADS:
            return t
        wide = node("Expand", [node("Unsqueeze", [t, third]), repeated])
        return node("Reshape", [wide, all_heads])

    def rotary(t, shape=split):
        t = heads(t, shape)
        first = node("Slice", [t, bounds[0], bounds[1], last])
        second = node("Slice", [t, bounds[1], bounds[2], last])
        rotated = node("Concat", [node("Neg", [second]), first], axis=-1)
        return node("Add", [node("Mul", [t, cos]), node("Mul", [rotated, sin])])

    x = node("Gather", ["model.embed_tokens.weight", "ids"])
    init("model.embed_tokens.weight", m.stored["model.embed_tokens.weight"])
    for b in range(BLOCKS):
        p = "model.layers.%d." % b
        h = rms(x, p + "input_layernorm.weight", reciprocal=b % 2 == 0)
        q, k, v = (linear(h, p + "self_attn.%s_proj.weight" % t) for t in "qkv")
        keys = repeat_kv(rotary(k, kv_split))
        scores = node("Div", [node("MatMul", [rotary(q), node("Transpose", [keys], perm=[0, 1, 3, 2])]), root])
        weights = node("Softmax", [node("Add", [scores, mask])], axis=-1)
        mixed = node("Reshape", [node("Transpose", [node("MatMul", [weights, repeat_kv(heads(v, kv_split))])], perm=[0, 2, 1, 3]), merge])
        x = node("Add", [x, linear(mixed, p + "self_attn.o_proj.weight")])
        h = rms(x, p + "post_attention_layernorm.weight", reciprocal=b % 2 == 1)
        gate = linear(h, p + "mlp.gate_proj.weight")
        up = linear(h, p + "mlp.up_proj.weight")
        swish = node("Mul", [gate, node("Sigmoid", [gate])])
        x = node("Add", [x, linear(node("Mul", [swish, up]), p + "mlp.down_proj.weight")])
    out = linear(rms(x, "model.norm.weight", reciprocal=True), "lm_head.weight")
    g.save(path, "llama", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, tokens])],
           [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, tokens, VOCAB])],
           23 if fused_norms else 18)


def vit_onnx(m, path):
    """The ViT of m as an ONNX graph: the patch convolution (stride 4 on a 16 x 16 image), its
    output reshaped to (1, width, 16) and transposed to the positions, the class token (a
    constant) concatenated before the patches along the positions, the position embedding added,
    pre-norm blocks with BERT's erf GELU written as operators, the final LayerNormalization, the
    class token picked by a Gather along the positions, the classifier. svr must read the same
    network from it as from model.safetensors at --residual-reach all."""
    from onnx import TensorProto, helper

    head, patches = WIDTH // HEADS, 16
    g = GraphBuilder()
    init, node = g.init, g.node

    def linear(t, name):
        return node("MatMul", [t, init(name, m.stored[name].T)])

    def norm(t, name):
        return node("LayerNormalization", [t, init(name, m.stored[name]),
                                           init(name.replace(".weight", ".bias"),
                                                m.stored[name.replace(".weight", ".bias")])], axis=-1)

    c = {k: init("c_" + k, np.array(v, dtype=np.float32))
         for k, v in (("half", 0.5), ("one", 1.0), ("sqrt2", np.sqrt(2.0)), ("sqrt_head", np.sqrt(head)))}
    split = init("heads_shape", np.array([1, patches + 1, HEADS, head], dtype=np.int64))
    merge = init("tokens_shape", np.array([1, patches + 1, WIDTH], dtype=np.int64))
    flat = init("patches_shape", np.array([1, WIDTH, patches], dtype=np.int64))
    first = init("class_position", np.array(0, dtype=np.int64))
    e = "vit.embeddings."
    conv = node("Conv", ["pixels", init(e + "patch_embeddings.projection.weight",
                                        m.stored[e + "patch_embeddings.projection.weight"])],
                kernel_shape=[4, 4], strides=[4, 4])
    tokens = node("Transpose", [node("Reshape", [conv, flat])], perm=[0, 2, 1])
    x = node("Concat", [init(e + "cls_token", m.stored[e + "cls_token"]), tokens], axis=1)
    x = node("Add", [x, init(e + "position_embeddings", m.stored[e + "position_embeddings"])])
    for b in range(BLOCKS):
        p = "vit.encoder.layer.%d." % b
        h = norm(x, p + "layernorm_before.weight")
        q, k, v = (node("Transpose", [node("Reshape", [linear(h, p + "attention.attention.%s.weight" % t), split])],
                        perm=[0, 2, 1, 3]) for t in ("query", "key", "value"))
        scores = node("Div", [node("MatMul", [q, node("Transpose", [k], perm=[0, 1, 3, 2])]), c["sqrt_head"]])
        mixed = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        mixed = node("Reshape", [node("Transpose", [mixed], perm=[0, 2, 1, 3]), merge])
        x = node("Add", [linear(mixed, p + "attention.output.dense.weight"), x])
        up = linear(norm(x, p + "layernorm_after.weight"), p + "intermediate.dense.weight")
        gelu = node("Mul", [node("Mul", [up, node("Add", [node("Erf", [node("Div", [up, c["sqrt2"]])]), c["one"]])]),
                            c["half"]])
        x = node("Add", [linear(gelu, p + "output.dense.weight"), x])
    picked = node("Gather", [norm(x, "vit.layernorm.weight"), first], axis=1)
    out = linear(picked, "classifier.weight")
    g.save(path, "vit", [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3, 16, 16])],
           [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, 5])], 17)


def gpt2_torch(m, path):
    """m's GPT-2 as torch.save writes a GPT2Model's state_dict: the same names and (in, out)
    Conv1D orientations, each block's causal-mask buffers (attn.bias, attn.masked_bias), and
    c_attn saved as a transposed view of an (out, in) storage (strided, as a model whose weight
    was transposed in place would save it)."""
    import torch
    state = {}
    for name, array in m.stored.items():
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        if name.endswith("attn.c_attn.weight"):
            tensor = torch.from_numpy(np.ascontiguousarray(array.T)).t()  # strided storage
            assert not tensor.is_contiguous()
        state[name] = tensor
    for b in range(BLOCKS):
        state["h.%d.attn.bias" % b] = torch.tril(torch.ones(20, 20)).view(1, 1, 20, 20)
        state["h.%d.attn.masked_bias" % b] = torch.tensor(-1e4)
    torch.save(state, path)


def fused_twin(m, out):
    """fused.onnx's network written plainly (--residual-reach all): c_attn one layer of 3 WIDTH
    outputs, its gamma multiplied in, whose last WIDTH channels (V) c_proj reads (a split)."""
    twin, layers, writers = {}, [], ["wte.weight"]
    twin["wte.weight"] = m.stored["wte.weight"].T.astype(np.float64)
    layers.append({"name": "wte.weight", "kind": "linear"})

    def stream():
        return [{"layer": w, "map": "direct" if len(writers) == 1 else "add"} for w in writers]

    for b in range(BLOCKS):
        p = "h.%d." % b
        ln1 = m.stored[p + "ln_1.weight"].astype(np.float64)
        ln2 = m.stored[p + "ln_2.weight"].astype(np.float64)
        twin[p + "attn.c_attn.weight"] = m.stored[p + "attn.c_attn.weight"].T * ln1[None, :]
        layers.append({"name": p + "attn.c_attn.weight", "kind": "linear", "reads_from": stream()})
        twin[p + "attn.c_proj.weight"] = m.stored[p + "attn.c_proj.weight"].T.astype(np.float64)
        layers.append({"name": p + "attn.c_proj.weight", "kind": "linear", "reads_from": [
            {"layer": p + "attn.c_attn.weight", "map": "split", "source": [2 * WIDTH, WIDTH]}]})
        writers.append(p + "attn.c_proj.weight")
        twin[p + "mlp.c_fc.weight"] = m.stored[p + "mlp.c_fc.weight"].T * ln2[None, :]
        layers.append({"name": p + "mlp.c_fc.weight", "kind": "linear", "reads_from": stream()})
        twin[p + "mlp.c_proj.weight"] = m.stored[p + "mlp.c_proj.weight"].T.astype(np.float64)
        layers.append({"name": p + "mlp.c_proj.weight", "kind": "linear", "reads_from": [
            {"layer": p + "mlp.c_fc.weight", "map": "direct"}]})
        writers.append(p + "mlp.c_proj.weight")
    write_safetensors(os.path.join(out, "fused_twin.safetensors"),
                      {k: np.ascontiguousarray(v) for k, v in twin.items()})
    with open(os.path.join(out, "fused_twin.topology.json"), "w") as f:
        json.dump({"format": "svr-topology", "schema_version": 1,
                   "model": "make_transformer_models.py gpt2 --onnx (fused.onnx)",
                   "layers": layers}, f, indent=1)


def configs():
    """config.json of each family, at the current sizes."""
    return {
        "gpt2": {"model_type": "gpt2", "n_layer": BLOCKS, "n_embd": WIDTH, "n_head": HEADS,
                 "n_inner": INNER, "vocab_size": VOCAB},
        "bert": {"model_type": "bert", "num_hidden_layers": BLOCKS, "hidden_size": WIDTH,
                 "num_attention_heads": HEADS, "intermediate_size": INNER},
        "vit": {"model_type": "vit", "num_hidden_layers": BLOCKS, "hidden_size": WIDTH,
                "num_attention_heads": HEADS, "intermediate_size": INNER, "patch_size": 4},
        "llama": {"model_type": "llama", "num_hidden_layers": BLOCKS, "hidden_size": WIDTH,
                  "num_attention_heads": HEADS, "num_key_value_heads": HEADS,
                  "intermediate_size": INNER},
    }


def sized(a):
    """Sets the sizes from the command line (the tests' defaults, or a benchmark's)."""
    global WIDTH, INNER, VOCAB, BLOCKS, HEADS
    WIDTH, INNER, VOCAB, BLOCKS, HEADS = a.width, a.inner, a.vocab, a.blocks, a.heads
    table = configs()
    table["llama_gqa"] = dict(table["llama"], num_key_value_heads=HEADS // 2)
    return table


FAMILIES = ("bert", "gpt2", "llama", "llama_gqa", "vit")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("family", choices=FAMILIES)
    parser.add_argument("out")
    parser.add_argument("--reach", default="1")
    for name, default in (("width", WIDTH), ("inner", INNER), ("vocab", VOCAB),
                          ("blocks", BLOCKS), ("heads", HEADS)):
        parser.add_argument("--" + name, type=int, default=default,
                            help="default %(default)s (a benchmark's shapes are larger)")
    parser.add_argument("--no-twin", action="store_true",
                        help="only the model and config.json (a benchmark's)")
    parser.add_argument("--shards", type=int, default=1,
                        help="write the model as N shards and model.safetensors.index.json, "
                             "as Hugging Face does for large checkpoints")
    parser.add_argument("--onnx", action="store_true",
                        help="gpt2, llama, vit: also the same model as an ONNX graph, OUT/model.onnx")
    parser.add_argument("--torch", action="store_true",
                        help="gpt2: also OUT/pytorch_model.bin, the same weights as torch.save "
                             "writes a Hugging Face GPT2Model's state_dict (needs torch; the "
                             "committed tests/data/io/hf_gpt2_tiny is its output)")
    parser.add_argument("--split-heads", action="store_true",
                        help="the twin's V -> O head by head (svr --attention-heads split)")
    parser.add_argument("--unfolded", action="store_true",
                        help="the twin without the gammas (svr --batchnorm ignore)")
    parser.add_argument("--break", dest="broken", choices=("missing", "config", "heads"))
    a = parser.parse_args()
    reach = None if a.reach == "all" else int(a.reach)
    table = sized(a)
    m = Model(seed=FAMILIES.index(a.family) + 11)
    transformer(m, reach, a.family, a.split_heads)
    os.makedirs(a.out, exist_ok=True)
    config = dict(table[a.family])
    if a.broken == "missing":
        victim = [n for n in m.stored if ".1." in n and n.endswith("weight") and
                  m.stored[n].ndim == 2][-1]
        del m.stored[victim]
    if a.broken == "config":
        config["num_hidden_layers" if "num_hidden_layers" in config else "n_layer"] = BLOCKS + 9
    if a.broken == "heads":  # no number of heads: --attention-heads split cannot split
        config.pop("n_head" if "n_head" in config else "num_attention_heads")
    if a.shards == 1:
        write_safetensors(os.path.join(a.out, "model.safetensors"), m.stored)
    else:
        names = list(m.stored)
        weight_map = {}
        for k in range(a.shards):
            shard = "model-%05d-of-%05d.safetensors" % (k + 1, a.shards)
            part = names[k::a.shards]  # interleaved: every block spans the shards
            write_safetensors(os.path.join(a.out, shard), {n: m.stored[n] for n in part})
            weight_map.update({n: shard for n in part})
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=1)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    if a.onnx and a.family == "llama_gqa":
        llama_onnx(m, os.path.join(a.out, "model.onnx"), kv_heads=HEADS // 2)
    elif a.onnx and a.family == "vit":
        vit_onnx(m, os.path.join(a.out, "model.onnx"))
    elif a.onnx and a.family == "llama":
        llama_onnx(m, os.path.join(a.out, "model.onnx"))
        llama_onnx(m, os.path.join(a.out, "fused_norms.onnx"), fused_norms=True)
    elif a.onnx:
        gpt2_onnx(m, os.path.join(a.out, "model.onnx"))
        gpt2_onnx(m, os.path.join(a.out, "fused.onnx"), fused="split")
        gpt2_onnx(m, os.path.join(a.out, "sliced.onnx"), fused="slice")
        fused_twin(m, a.out)
    if a.torch:
        gpt2_torch(m, os.path.join(a.out, "pytorch_model.bin"))
    if a.broken or a.no_twin:
        return
    twin, layers = {}, []
    for name, matrix, scale in m.layers:
        w = matrix.astype(np.float64)
        if scale is not None and not a.unfolded:  # gamma on the input channels: M diag(gamma)
            g = m.stored[scale].astype(np.float64)
            w = w * g.reshape((1, -1) + (1,) * (w.ndim - 2))
        twin[name] = np.ascontiguousarray(w)
        entry = {"name": name, "kind": "linear" if w.ndim == 2 else "conv%dd" % (w.ndim - 2)}
        if name in m.reads:
            entry["reads_from"] = [
                dict({"layer": r[0], "map": r[1]}, **({"source": r[2], "offset": r[3]} if len(r) > 2 else {}))
                for r in m.reads[name]]
        layers.append(entry)
    write_safetensors(os.path.join(a.out, "twin.safetensors"), twin)
    with open(os.path.join(a.out, "twin.topology.json"), "w") as f:
        json.dump({"format": "svr-topology", "schema_version": 1,
                   "model": "make_transformer_models.py " + a.family, "layers": layers}, f,
                  indent=1)


if __name__ == "__main__":
    main()

// Hugging Face transformer layouts (GPT-2, BERT/RoBERTa, ViT, Llama/Mistral) from a state_dict's
// names and shapes, checked against config.json beside the weights when there is one: the pairs
// of spec section 7's transformer blocks. The residual stream is written by the embedding and by
// every block's output projection and MLP down projection, and read by the next blocks' Q, K, V
// and MLP up (and gate) projections, as far back as --residual-reach says; V -> O and up (gate)
// -> down are pairs; Q and K end the flow; each pre-norm gamma folds into its readers' columns.
#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "recognise.hpp"
#include "svr/core/error.hpp"
#include "svr/io/strict_json.hpp"
#include "svr/network/network_plan.hpp"

namespace svr {
namespace {

bool has(const ModelFile& model, const std::string& name) { return model.find(name) != nullptr; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// GPT-2's prefix ("" for GPT2Model, "transformer." for GPT2LMHeadModel) when the model has its
// names.
std::optional<std::string> gpt2_prefix(const ModelFile& model) {
  for (const std::string p : {"", "transformer."})
    if (has(model, p + "wte.weight") && has(model, p + "h.0.attn.c_attn.weight")) return p;
  return std::nullopt;
}

std::optional<std::string> bert_prefix(const ModelFile& model) {
  for (const std::string p : {"", "bert.", "roberta."})
    if (has(model, p + "embeddings.word_embeddings.weight") &&
        has(model, p + "encoder.layer.0.attention.self.query.weight"))
      return p;
  return std::nullopt;
}

std::optional<std::string> vit_prefix(const ModelFile& model) {
  for (const std::string p : {"", "vit."})
    if (has(model, p + "embeddings.patch_embeddings.projection.weight") &&
        has(model, p + "encoder.layer.0.attention.attention.query.weight"))
      return p;
  return std::nullopt;
}

bool is_llama(const ModelFile& model) {
  return has(model, "model.embed_tokens.weight") &&
         has(model, "model.layers.0.self_attn.q_proj.weight");
}

TensorInfo* find_mutable(ModelFile& model, const std::string& name) {
  for (TensorInfo& t : model.tensors)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace

void add_layout_views(ModelFile& model) {
  if (model.format == "onnx") return;
  std::vector<std::string> embeddings;
  if (const auto p = gpt2_prefix(model)) {
    // GPT-2's Conv1D stores (in, out); c_attn holds Q, K and V side by side on its out axis.
    std::vector<TensorInfo> qkv;
    for (TensorInfo& t : model.tensors) {
      if (t.name.compare(0, p->size() + 2, *p + "h.") != 0 || t.shape.size() != 2) continue;
      if (ends_with(t.name, ".attn.c_attn.weight") && t.shape[1] % 3 == 0) {
        // Stored (in, 3 width), contiguous or a PyTorch storage's strided view: Q, K and V are
        // its column blocks, each viewed (width, in).
        const std::int64_t width = t.shape[1] / 3;
        const std::vector<std::int64_t> strides = matrix_strides(t);
        const std::string stem = t.name.substr(0, t.name.size() - std::string(".weight").size());
        for (int k = 0; k < 3; ++k) {
          TensorInfo view = t;
          view.name = stem + "." + "qkv"[k] + ".weight";
          const std::uint64_t shift =
              static_cast<std::uint64_t>(k * width * strides[1]) * dtype_size(t.dtype);
          view.offset += shift;
          view.nbytes = view.nbytes > shift ? view.nbytes - shift : 0;
          view.shape = {width, t.shape[0]};
          view.strides = {strides[1], strides[0]};
          qkv.push_back(std::move(view));
        }
      } else if (ends_with(t.name, ".attn.c_proj.weight") ||
                 ends_with(t.name, ".mlp.c_fc.weight") || ends_with(t.name, ".mlp.c_proj.weight")) {
        transpose_matrix_view(t);
      }
    }
    model.tensors.insert(model.tensors.end(), qkv.begin(), qkv.end());
    embeddings.push_back(*p + "wte.weight");
  }
  if (const auto p = bert_prefix(model))
    embeddings.push_back(*p + "embeddings.word_embeddings.weight");
  if (is_llama(model)) embeddings.push_back("model.embed_tokens.weight");
  // A token embedding is stored (vocabulary, width): as a layer it maps a one-hot token to its
  // row, M = E^T (width x vocabulary).
  for (const std::string& name : embeddings)
    if (TensorInfo* t = find_mutable(model, name)) transpose_matrix_view(*t);
}

namespace detail {
namespace {

// One block's layers (full weight names); the scales are the 1-D gammas folded into readers.
struct Block {
  std::vector<std::string> attention;  // Q, K, V: they read the residual stream
  std::string value, output;           // V -> O
  std::string attention_scale;
  std::vector<std::string> mlp_in;  // (gate,) up: they read the stream
  std::string down;
  std::string mlp_scale;
};

struct Layout {
  std::string family;
  std::vector<std::string> config_types;  // config.json model_type values of the family
  std::string embedding;
  std::vector<Block> blocks;
  // Layers after the last block: the first reads the stream (with head_scale), each next one
  // the previous (BERT's pooler, then its classifier).
  std::vector<std::string> head;
  std::string head_scale;
  std::set<std::string> not_layers;  // matrices that are no layer (position embeddings, c_attn)
  // config.json keys: blocks, width, heads, MLP width (Hugging Face's usual names; GPT-2 has
  // its own); key-value heads (Llama) or "".
  std::string key_layers = "num_hidden_layers", key_width = "hidden_size",
              key_heads = "num_attention_heads", key_inner = "intermediate_size", key_kv_heads;
};

std::string numbered(const std::string& prefix, int k, const std::string& rest) {
  return prefix + std::to_string(k) + "." + rest;
}

int count_blocks(const ModelFile& model, const std::string& prefix, const std::string& marker) {
  int n = 0;
  while (has(model, numbered(prefix, n, marker))) ++n;
  return n;
}

// Block b of a BERT or ViT encoder under `e`: Q, K and V under `attention`, the rest named alike.
Block encoder_block(const std::string& e, int b, const std::string& attention,
                    const std::string& attention_scale, const std::string& mlp_scale) {
  const std::string a = numbered(e, b, attention);
  return {{a + "query.weight", a + "key.weight", a + "value.weight"},
          a + "value.weight",
          numbered(e, b, "attention.output.dense.weight"),
          attention_scale,
          {numbered(e, b, "intermediate.dense.weight")},
          numbered(e, b, "output.dense.weight"),
          mlp_scale};
}

Layout gpt2(const ModelFile& model, const std::string& p) {
  Layout l;
  l.family = "Hugging Face GPT-2";
  l.config_types = {"gpt2"};
  l.embedding = p + "wte.weight";
  l.key_layers = "n_layer";
  l.key_width = "n_embd";
  l.key_heads = "n_head";
  l.key_inner = "n_inner";
  const std::string h = p + "h.";
  for (int b = 0, n = count_blocks(model, h, "attn.c_attn.weight"); b < n; ++b) {
    const std::string qkv = numbered(h, b, "attn.c_attn.");
    l.blocks.push_back({{qkv + "q.weight", qkv + "k.weight", qkv + "v.weight"},
                        qkv + "v.weight",
                        numbered(h, b, "attn.c_proj.weight"),
                        numbered(h, b, "ln_1.weight"),
                        {numbered(h, b, "mlp.c_fc.weight")},
                        numbered(h, b, "mlp.c_proj.weight"),
                        numbered(h, b, "ln_2.weight")});
    l.not_layers.insert(qkv + "weight");
  }
  if (has(model, "lm_head.weight")) l.head = {"lm_head.weight"};
  l.head_scale = p + "ln_f.weight";
  l.not_layers.insert(p + "wpe.weight");
  return l;
}

// BERT and RoBERTa are post-norm: a block's Q, K and V read the previous block's output
// LayerNorm (the embeddings' for the first), its MLP the attention output's.
Layout bert(const ModelFile& model, const std::string& p) {
  Layout l;
  l.family = "Hugging Face BERT/RoBERTa";
  l.config_types = {"bert", "roberta"};
  l.embedding = p + "embeddings.word_embeddings.weight";
  const std::string e = p + "encoder.layer.";
  std::string scale = p + "embeddings.LayerNorm.weight";
  for (int b = 0, n = count_blocks(model, e, "attention.self.query.weight"); b < n; ++b) {
    l.blocks.push_back(encoder_block(e, b, "attention.self.", scale,
                                     numbered(e, b, "attention.output.LayerNorm.weight")));
    scale = numbered(e, b, "output.LayerNorm.weight");
  }
  l.head_scale = scale;
  if (has(model, p + "pooler.dense.weight")) {
    l.head.push_back(p + "pooler.dense.weight");
    if (has(model, "classifier.weight")) l.head.push_back("classifier.weight");
  }
  l.not_layers = {p + "embeddings.position_embeddings.weight",
                  p + "embeddings.token_type_embeddings.weight"};
  return l;
}

Layout vit(const ModelFile& model, const std::string& p) {
  Layout l;
  l.family = "Hugging Face ViT";
  l.config_types = {"vit"};
  l.embedding = p + "embeddings.patch_embeddings.projection.weight";
  const std::string e = p + "encoder.layer.";
  for (int b = 0, n = count_blocks(model, e, "attention.attention.query.weight"); b < n; ++b) {
    l.blocks.push_back(encoder_block(e, b, "attention.attention.",
                                     numbered(e, b, "layernorm_before.weight"),
                                     numbered(e, b, "layernorm_after.weight")));
  }
  if (has(model, "classifier.weight")) l.head = {"classifier.weight"};
  l.head_scale = p + "layernorm.weight";
  return l;
}

Layout llama(const ModelFile& model) {
  Layout l;
  l.family = "Hugging Face Llama/Mistral";
  l.config_types = {"llama", "mistral"};
  l.embedding = "model.embed_tokens.weight";
  l.key_kv_heads = "num_key_value_heads";
  const std::string m = "model.layers.";
  for (int b = 0, n = count_blocks(model, m, "self_attn.q_proj.weight"); b < n; ++b) {
    const std::string a = numbered(m, b, "self_attn.");
    const std::string f = numbered(m, b, "mlp.");
    l.blocks.push_back({{a + "q_proj.weight", a + "k_proj.weight", a + "v_proj.weight"},
                        a + "v_proj.weight",
                        a + "o_proj.weight",
                        numbered(m, b, "input_layernorm.weight"),
                        {f + "gate_proj.weight", f + "up_proj.weight"},
                        f + "down_proj.weight",
                        numbered(m, b, "post_attention_layernorm.weight")});
  }
  if (has(model, "lm_head.weight")) l.head = {"lm_head.weight"};
  l.head_scale = "model.norm.weight";
  return l;
}

std::optional<Layout> layout_of(const ModelFile& model) {
  if (const auto p = gpt2_prefix(model)) return gpt2(model, *p);
  if (const auto p = bert_prefix(model)) return bert(model, *p);
  if (const auto p = vit_prefix(model)) return vit(model, *p);
  if (is_llama(model)) return llama(model);
  return std::nullopt;
}

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// The attention heads config.json gives (0: not given); key-value heads default to the heads.
struct Heads {
  std::int64_t heads = 0, kv_heads = 0;
};

// Checks config.json beside the weights, when there is one, against what the weights show.
Heads check_config(const ModelFile& model, const Layout& layout) {
  const std::string path = directory_of(model.path) + "/config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::ordered_json config = io::parse_strict_json(text.str(), path, "config.json");
  auto fail = [&](const std::string& problem) {
    throw InputError(input_message(
        path, "", problem + " (" + layout.family + " weights in " + model.path + ")"));
  };
  if (!config.is_object()) fail("config.json must be a JSON object");
  if (config.contains("model_type") && config["model_type"].is_string()) {
    // Another family's type contradicts the names; an unknown one (Qwen2 and Gemma use Llama's
    // names) does not.
    static const std::set<std::string> known = {"gpt2", "bert",  "roberta",
                                                "vit",  "llama", "mistral"};
    const std::string type = config["model_type"].get<std::string>();
    if (known.count(type) && std::find(layout.config_types.begin(), layout.config_types.end(),
                                       type) == layout.config_types.end())
      fail("model_type is '" + type + "' but the weights have the names of a " + layout.family);
  }
  auto integer = [&](const std::string& key) -> std::optional<std::int64_t> {
    if (key.empty() || !config.contains(key) || config[key].is_null()) return std::nullopt;
    if (!config[key].is_number_integer() || config[key].get<std::int64_t>() <= 0)
      fail("'" + key + "' must be a positive integer, not " + config[key].dump());
    return config[key].get<std::int64_t>();
  };
  const std::int64_t blocks = static_cast<std::int64_t>(layout.blocks.size());
  if (const auto n = integer(layout.key_layers); n && *n != blocks)
    fail("'" + layout.key_layers + "' is " + std::to_string(*n) + " but the weights hold " +
         std::to_string(blocks) + " blocks");
  const Block& first = layout.blocks.front();
  const TensorInfo* out = model.find(first.output);
  const TensorInfo* value = model.find(first.value);
  const TensorInfo* down = model.find(first.down);
  const std::int64_t width = out->shape[0], inner = down->shape[1];
  const auto width_key = integer(layout.key_width);
  if (width_key && *width_key != width)
    fail("'" + layout.key_width + "' is " + std::to_string(*width_key) + " but '" + first.output +
         "' " + shape_string(out->shape) + " writes " + std::to_string(width) + " channels");
  if (const auto n = integer(layout.key_inner); n && *n != inner)
    fail("'" + layout.key_inner + "' is " + std::to_string(*n) + " but '" + first.down + "' " +
         shape_string(down->shape) + " reads " + std::to_string(inner) + " channels");
  const auto heads = integer(layout.key_heads);
  if (heads && width % *heads != 0)
    fail("'" + layout.key_heads + "' " + std::to_string(*heads) + " does not divide the width " +
         std::to_string(width));
  const auto kv = integer(layout.key_kv_heads);
  if (kv && heads) {
    const std::int64_t expected = *kv * (width / *heads);
    if (value->shape[0] != expected)
      fail("'" + layout.key_kv_heads + "' " + std::to_string(*kv) + " of " +
           std::to_string(width / *heads) + " channels make " + std::to_string(expected) +
           " but '" + first.value + "' " + shape_string(value->shape) + " has " +
           std::to_string(value->shape[0]));
    if (*heads % *kv != 0)
      fail("'" + layout.key_kv_heads + "' " + std::to_string(*kv) + " does not divide '" +
           layout.key_heads + "' " + std::to_string(*heads));
  }
  if (!heads) return {};
  return {*heads, kv ? *kv : *heads};
}

TopologyLayer linear_or_conv(const ModelFile& model, const std::string& name) {
  TopologyLayer layer;
  layer.name = name;
  const std::size_t dims = model.find(name)->shape.size();
  layer.kind = dims == 2 ? "linear" : "conv" + std::to_string(dims - 2) + "d";
  return layer;
}

}  // namespace

std::vector<TopologyRead> per_head_reads(const std::string& value, std::int64_t heads,
                                         std::int64_t kv_heads, std::int64_t head_size) {
  std::vector<TopologyRead> reads;
  const std::int64_t sharing = heads / kv_heads;  // query heads per key-value head
  for (std::int64_t h = 0; h < heads; ++h)
    reads.push_back({value,
                     MapKind::Split,
                     std::array<std::int64_t, 2>{(h / sharing) * head_size, head_size},
                     h * head_size,
                     {}});
  return reads;
}

std::optional<RecognisedTopology> recognise_transformer(const ModelFile& model, int reach,
                                                        bool split_heads,
                                                        std::vector<std::string>& left_out) {
  const std::optional<Layout> found = layout_of(model);
  if (!found) return std::nullopt;
  const Layout& layout = *found;
  // Every name the layout needs, in block order: the first missing one is the error. The
  // layers must be matrices (the ViT's patch embedding a convolution), the scales vectors.
  std::vector<std::pair<std::string, bool>> needed = {{layout.embedding, true}};  // (name, layer)
  for (const Block& b : layout.blocks) {
    for (const std::string& name : b.attention) needed.push_back({name, true});
    needed.insert(needed.end(), {{b.output, true}, {b.attention_scale, false}});
    for (const std::string& name : b.mlp_in) needed.push_back({name, true});
    needed.insert(needed.end(), {{b.down, true}, {b.mlp_scale, false}});
  }
  for (const std::string& name : layout.head) needed.push_back({name, true});
  if (!layout.head.empty()) needed.push_back({layout.head_scale, false});
  for (const auto& [name, is_layer] : needed) {
    const TensorInfo* t = model.find(name);
    if (t == nullptr)
      throw_input(model.path, name,
                  "is missing: the model has the names of a " + layout.family + " with " +
                      std::to_string(layout.blocks.size()) + " blocks, which needs it");
    const std::size_t dims = t->shape.size();
    if (is_layer ? dims < 2 || dims > 5 : dims != 1)
      throw_input(model.path, name,
                  "has the shape " + shape_string(t->shape) + ": in a " + layout.family +
                      " it is " +
                      (is_layer ? "a layer's weight matrix" : "a norm's weight vector"));
  }
  const Heads heads = check_config(model, layout);
  if (split_heads && heads.heads == 0)
    throw InputError(input_message(directory_of(model.path) + "/config.json", "",
                                   "--attention-heads split needs the number of heads ('" +
                                       layout.key_heads + "') from the " + layout.family +
                                       "'s config.json beside the weights"));

  RecognisedTopology topology;
  topology.family = layout.family;
  struct Writer {
    int block;
    std::string name;
  };
  std::vector<Writer> writers = {{-1, layout.embedding}};
  // A reader of the stream in block b reads the writers of blocks b - reach .. b (the embedding
  // is block -1); reach < 0: all of them.
  auto stream_reader = [&](const std::string& name, int block, const std::string& scale) {
    TopologyLayer layer = linear_or_conv(model, name);
    if (!scale.empty()) layer.input_scale = scale;
    std::vector<const Writer*> reads;
    for (const Writer& w : writers)
      if (reach < 0 || w.block >= block - reach) reads.push_back(&w);
    for (const Writer* w : reads)
      layer.reads.push_back(
          {w->name, reads.size() == 1 ? MapKind::Direct : MapKind::Add, {}, {}, {}});
    return layer;
  };
  auto reads_one = [&](const std::string& name, const std::vector<std::string>& from) {
    TopologyLayer layer = linear_or_conv(model, name);
    for (const std::string& f : from)
      layer.reads.push_back({f, from.size() == 1 ? MapKind::Direct : MapKind::Add, {}, {}, {}});
    return layer;
  };
  topology.layers.push_back(linear_or_conv(model, layout.embedding));
  for (std::size_t k = 0; k < layout.blocks.size(); ++k) {
    const Block& b = layout.blocks[k];
    const int block = static_cast<int>(k);
    for (const std::string& name : b.attention)
      topology.layers.push_back(stream_reader(name, block, b.attention_scale));
    // Head by head, O's query head h reads its V head (shared among several query heads in a
    // grouped-query attention). Whole, V -> O is one pair with the identity map, which a
    // grouped-query attention has not: that pair is then left out.
    const std::int64_t v_out = model.find(b.value)->shape[0];
    const std::int64_t o_in = model.find(b.output)->shape[1];
    if (split_heads) {
      TopologyLayer o = linear_or_conv(model, b.output);
      o.reads = per_head_reads(b.value, heads.heads, heads.kv_heads, o_in / heads.heads);
      topology.layers.push_back(std::move(o));
    } else if (v_out == o_in) {
      topology.layers.push_back(reads_one(b.output, {b.value}));
    } else {
      topology.layers.push_back(linear_or_conv(model, b.output));
      left_out.push_back("'" + b.value + "' -> '" + b.output +
                         "': grouped-query attention (V has " + std::to_string(v_out) +
                         " channels, O reads " + std::to_string(o_in) +
                         "): the V -> O pair is left out (--attention-heads split reads it head "
                         "by head)");
    }
    writers.push_back({block, b.output});
    for (const std::string& name : b.mlp_in)
      topology.layers.push_back(stream_reader(name, block, b.mlp_scale));
    topology.layers.push_back(reads_one(b.down, b.mlp_in));
    writers.push_back({block, b.down});
  }
  for (std::size_t k = 0; k < layout.head.size(); ++k)
    topology.layers.push_back(k == 0 ? stream_reader(layout.head[0],
                                                     static_cast<int>(layout.blocks.size()),
                                                     layout.head_scale)
                                     : reads_one(layout.head[k], {layout.head[k - 1]}));
  // Matrices that are none of the layers are left out, and said so.
  std::set<std::string> named;
  for (const TopologyLayer& layer : topology.layers) named.insert(layer.name);
  for (const TensorInfo& t : model.tensors)
    if (t.shape.size() >= 2 && ends_with(t.name, ".weight") && !named.count(t.name) &&
        !layout.not_layers.count(t.name))
      left_out.push_back("'" + t.name + "' " + shape_string(t.shape) + ": not a layer of the " +
                         layout.family + " layout, left out");
  return topology;
}

}  // namespace detail
}  // namespace svr

#!/usr/bin/env python3
"""Independent NumPy/SciPy implementation of docs/SVR-SPEC.md (the "oracle"),
used to generate reference outputs for the tests of `svr`.

    /usr/bin/python3 tests/oracle/svr_oracle.py MODEL.safetensors -o OUTDIR [options]
    /usr/bin/python3 tests/oracle/svr_oracle.py MODEL.safetensors --topology TOPO.json -o OUTDIR

It deliberately shares no code or formulation with the C++: the safetensors
file is parsed by hand (tests/oracle/safetensors_np.py), the SVD is
numpy.linalg.svd (LAPACK gesdd), E is an explicit einsum loop over positions
(no GEMM), p-values come from scipy.stats.beta.logsf with an mpmath
fallback (mpmath.betainc of the mirrored lower tail, 50 digits) wherever
the upper tail is below 1e-290, and corrections are done on sorted log10 p.

Writes OUTDIR/nodes.csv, OUTDIR/edges.csv (ALL edges) and OUTDIR/summary.json.
Conventions (the same as svr): layer = position in the chain, neuron 0 = largest
singular value, E[j, i] with j a neuron of layer l+1 (to) and i of layer l
(from); internal_dims are 1-based counts (j+1, i+1) of the argmax; clusters are
numbered per layer from 0; untestable pairs (c = 1) leave p, log10_p, q empty;
the cosvr conv->linear case (positions on both sides, E summed over both
position indices) is marked null "simulated" and its p, log10_p, q are left
empty and excluded from the multiple-testing family (so with network-wide
correction the q of other pairs then differ from svr's: use --fdr-scope pair).
nodes.csv ends with `group` (0 for a chain), edges.csv with `map` (`direct`
for a chain); summary pairs carry map, channels_read (= c) and intensity.

Networks that are graphs (--topology, spec section 7, docs/graph-outputs.md)
----------------------------------------------------------------------------
- The topology file is checked by hand against every rule of
  docs/topology.schema.json (so the messages do not depend on jsonschema being
  installed), then by jsonschema (Draft 2020-12) when it is importable, then
  against the semantic rules of docs/input-formats.md. JSON with a duplicate
  key or NaN/Infinity literals is refused as "not JSON".
- Layers in file order, pairs by consumer then in `reads_from` order. BN only
  from each layer's `batchnorm` (P.running_var required, P.weight optional;
  checked even with --batchnorm ignore, values checked only when folding).
  `flatten_order` is ignored on layers that do not flatten; --flatten-order
  overrides it on every layer that does.
- Formulation of E (not the C++ one): each pair builds its channel selection
  explicitly by *lifting* the producer's u_i into the consumer's input channel
  space, lift[pi(a), i] = u_i[a] for a in S (zero elsewhere), then for every
  position p sums over the consumer's channels t of v_j[col(t, p)] lift[t, i]
  (einsum) and adds the square; col(t, p) = t z + p (conv consumers and chw
  flatten) or p c_B + t (hwc flatten).
- Grouped convolutions: M is never formed; every group's block
  W[g m:(g+1) m] reshaped to m x (in/g z) is factored by numpy.linalg.svd, its
  singular vectors are placed in zero vectors of the layer's full row/column
  spaces, and the triplets of all groups are sorted by decreasing s with a
  *stable* sort of the groups concatenated in group order (ties: lower group
  first, then the block's own order). nodes.csv `group` is the block index.
  `rank` and `kept` in summary.json count triplets (sum of the blocks' ranks).
- Null per edge (j, i) of a pair with consumer groups g_B, c_g = c_B / g_B:
  g_B = 1: X = E / ||u_S||^2 ~ Beta(z/2, (c_B z - z)/2);
  g_B > 1, c_g >= 2: X = E / ||u_g||^2 ~ Beta(z/2, (c_g - 1) z/2) with u_g the
  lifted u_i restricted to the input channels of j's group;
  g_B > 1, c_g = 1 (depthwise): X = E ~ Beta(1/2, (c_u - 1)/2) with
  c_u = out_A / g_A (the sphere u_i lives on: the producer's rows per group).
  The normaliser (||u_S||^2, ||u_g||^2, or u_i[a]^2 in the depthwise case) is
  the sum of squares of the lifted u_i over j's input channels; an edge whose
  normaliser is exactly 0.0 is untestable (empty p, log10_p, q; not in the
  family, not counted in edges_tested). A pair whose Beta would have b <= 0
  (c_B = 1, or c_u = 1) is untestable as a whole. --sigma applies the chi-square
  rule to X: X >= chi2.isf(norm.sf(S), 2a) / (2a + 2b) for the pair's Beta(a, b)
  (for a chain: chi2_quantile(Phi(S), z) / (z c), unchanged).
- ce = c_B E and intensity uses c = c_B for every pair (docs/graph-outputs.md),
  also for grouped consumers.
- Path metric on a DAG in log space (logsumexp at every matrix-vector product,
  logaddexp at merges), as docs/graph-outputs.md.
- --method cosvr with --topology is allowed only when every map is direct or
  add, no layer is grouped and no flatten is hwc; each pair then uses the chain
  formulas with c = c_B. Anything else is refused.
- Chains (top_chains) are not computed (nor for a chain network).
"""

import argparse
import json
import math
import os
import sys
import time
from collections import OrderedDict
from itertools import permutations

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_np import FLOAT_DTYPES, read_safetensors  # noqa: E402

LN10 = math.log(10.0)


class OracleError(Exception):
    pass


# ---------------------------------------------------------------- model -----

def natural_key(name):
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in name.split("."))


def module_of(name):
    return name.rsplit(".", 1)[0] if "." in name else ""


def chain_geometry(w_from, w_to, method):
    """(c, z_u, z_v) of the pair, or raise OracleError if the layers do not chain."""
    c = w_from.shape[0]
    k_from = int(np.prod(w_from.shape[2:])) if w_from.ndim > 2 else 1
    cin = w_to.shape[1]
    if w_to.ndim > 2:                       # conv: input channels must equal c
        if cin != c:
            raise OracleError(f"shapes do not chain: {tuple(w_from.shape)} -> {tuple(w_to.shape)}")
        z_in = int(np.prod(w_to.shape[2:]))
        if method == "svr":
            return c, 1, z_in
        return c, k_from, 1
    # linear: in_features = c * z (z = H*W flatten after a conv, 1 after a linear)
    if cin % c != 0 or (w_from.ndim == 2 and cin != c):
        raise OracleError(f"shapes do not chain: {tuple(w_from.shape)} -> {tuple(w_to.shape)}")
    z = cin // c
    if method == "svr":
        return c, 1, z
    return c, k_from, z


def auto_order(tensors, method):
    """Numeric-aware order inside each top-level module; modules permuted so the
    chain fits. Exactly one order must chain."""
    weights = [k for k, v in tensors.items()
               if (k.endswith(".weight") or k == "weight") and v.ndim >= 2
               and v.dtype.kind == "f"]
    groups = OrderedDict()
    for k in sorted(weights, key=natural_key):
        groups.setdefault(k.split(".")[0], []).append(k)
    keys = list(groups)
    if len(keys) > 7:
        raise OracleError("too many top-level modules to order; pass --layers")
    good = []
    for perm in permutations(keys):
        order = [w for g in perm for w in groups[g]]
        try:
            for a, b in zip(order, order[1:]):
                chain_geometry(tensors[a], tensors[b], method)
        except OracleError:
            continue
        good.append(order)
    if len(good) != 1:
        raise OracleError(f"{len(good)} layer orders chain; pass --layers")
    return good[0]


def find_bn(tensors, layer_name):
    """The module right after the layer's module in numeric-aware order, if it
    holds running_mean/running_var of the layer's output size."""
    mod = module_of(layer_name)
    modules = sorted({module_of(k) for k in tensors}, key=natural_key)
    if mod not in modules:
        return None
    idx = modules.index(mod)
    if idx + 1 >= len(modules):
        return None
    p = modules[idx + 1]
    if p + ".running_mean" in tensors and p + ".running_var" in tensors:
        return p
    return None


def load_layers(path, args):
    tensors, dtypes, meta = read_safetensors(path)
    if args.layers:
        order = args.layers.split(",")
    elif "svr.layers" in meta:
        order = json.loads(meta["svr.layers"])
    else:
        order = auto_order(tensors, args.method)
    layers = []
    for name in order:
        if name not in tensors:
            raise OracleError(f"layer {name}: no such tensor")
        if dtypes[name] not in FLOAT_DTYPES:
            raise OracleError(f"layer {name}: not a floating-point tensor")
        w = tensors[name].astype(np.float64)
        if w.ndim < 2:
            raise OracleError(f"layer {name}: {w.ndim}-D tensor is not a layer")
        if not np.all(np.isfinite(w)):
            raise OracleError(f"layer {name}: NaN or Inf in the weights")
        folded = ""
        bn = find_bn(tensors, name)
        if bn is not None and args.batchnorm == "fold":
            var = tensors[bn + ".running_var"].astype(np.float64)
            if var.shape != (w.shape[0],):
                raise OracleError(f"{bn}.running_var: size {var.shape} != {w.shape[0]} outputs of {name}")
            if not np.all(np.isfinite(var)) or np.any(var <= 0):
                raise OracleError(f"{bn}.running_var: entry <= 0, NaN or Inf")
            gamma = tensors[bn + ".weight"].astype(np.float64) if bn + ".weight" in tensors \
                else np.ones(w.shape[0])
            scale = gamma / np.sqrt(var + args.bn_eps)
            w = w * scale.reshape((-1,) + (1,) * (w.ndim - 1))
            folded = bn
        layers.append({"name": name, "W": w, "shape": list(tensors[name].shape),
                       "folded_bn": folded,
                       "kind": "linear" if w.ndim == 2 else f"conv{w.ndim - 2}d"})
    if len(layers) < 2:
        raise OracleError("need at least two layers")
    return layers


def layer_matrix(w, method):
    out = w.shape[0]
    if method == "svr" or w.ndim == 2:
        return w.reshape(out, -1)           # row o = W[o] flattened, column a*z + p
    cin = w.shape[1]
    z = int(np.prod(w.shape[2:]))
    # row o*z + p, column a: M[o*z+p, a] = W[o, a, p]
    m = np.empty((out * z, cin))
    wf = w.reshape(out, cin, z)
    for o in range(out):
        for p in range(z):
            m[o * z + p, :] = wf[o, :, p]
    return m


# ---------------------------------------------------------------- stats -----

def log10_beta_sf(e, a, b):
    """log10 P(Beta(a, b) >= e)."""
    from scipy import stats
    e = min(max(float(e), 0.0), 1.0)
    if e <= 0.0:
        return 0.0
    ls = stats.beta.logsf(e, a, b)
    if np.isfinite(ls) and ls > -660.0:
        return float(ls) / LN10
    import mpmath
    with mpmath.workdps(50):
        if e >= 1.0:
            return -math.inf
        # upper tail of Beta(a, b) at e = lower tail of Beta(b, a) at 1 - e
        v = mpmath.betainc(b, a, 0, 1 - mpmath.mpf(e), regularized=True)
        return float(mpmath.log10(v)) if v > 0 else -math.inf


def log10_beta_sf_array(E, a, b):
    from scipy import stats
    Ec = np.clip(E, 0.0, 1.0)
    out = stats.beta.logsf(Ec, a, b) / LN10
    bad = ~np.isfinite(out) | (out < -660.0 / LN10)
    for idx in zip(*np.nonzero(bad)):
        out[idx] = log10_beta_sf(Ec[idx], a, b)
    out[Ec <= 0.0] = 0.0
    return out


def adjust_log10(lp, method):
    """Adjusted log10 q of the flat array of log10 p (NaN entries are not tested)."""
    lp = np.asarray(lp, dtype=np.float64)
    out = np.full(lp.shape, np.nan)
    idx = np.nonzero(~np.isnan(lp))[0]
    m = len(idx)
    if m == 0:
        return out
    x = lp[idx]
    if method == "none":
        out[idx] = x
        return out
    if method == "bonferroni":
        out[idx] = np.minimum(0.0, x + math.log10(m))
        return out
    order = np.argsort(x, kind="stable")
    xs = x[order]
    k = np.arange(1, m + 1, dtype=np.float64)
    if method in ("bh", "by"):
        v = xs + math.log10(m) - np.log10(k)
        if method == "by":
            v = v + math.log10(sum(1.0 / i for i in range(1, m + 1)))
        v = np.minimum.accumulate(v[::-1])[::-1]     # step-up: min over k' >= k
        v = np.minimum(v, 0.0)
    elif method == "holm":
        v = np.minimum(0.0, xs + np.log10(m - k + 1))
        v = np.maximum.accumulate(v)                 # step-down: max over k' <= k
    else:
        raise OracleError(f"unknown correction {method}")
    res = np.empty(m)
    res[order] = v
    out[idx] = res
    return out


def edge_matrix(U, V, c, z_u, z_v):
    """E[j, i] = sum_{p, q} (sum_a V[a*z_v + q, j] * U[a*z_u + p, i])^2, explicit
    einsum over the channel index for every pair of positions (no GEMM)."""
    Ur = U.reshape(c, z_u, U.shape[1])
    Vr = V.reshape(c, z_v, V.shape[1])
    E = np.zeros((V.shape[1], U.shape[1]))
    for p in range(z_u):
        up = np.ascontiguousarray(Ur[:, p, :])
        for q in range(z_v):
            vq = np.ascontiguousarray(Vr[:, q, :])
            t = np.einsum("aj,ai->ji", vq, up, optimize=False)
            E += t * t
    return E


def clusters(s, smax=None):
    """Runs of values within 1e-8 s_max; s_max is the layer's (--min-rank keeps
    only its bottom values)."""
    if smax is None:
        smax = s[0] if len(s) else 0.0
    ids, cur = [], 0
    for k in range(len(s)):
        if k > 0 and s[k - 1] - s[k] > 1e-8 * smax:
            cur += 1
        ids.append(cur)
    return ids


def log_matvec(logE, lx):
    """log of E @ exp(lx) without overflow."""
    from scipy.special import logsumexp
    with np.errstate(divide="ignore"):
        return logsumexp(logE + lx[None, :], axis=1)


def path_metric(sigmas, Es, weights):
    """log10 of sum(x), x = 1; x = E_l (x * w_l); x *= w_last; w = s or indicator."""
    with np.errstate(divide="ignore"):
        lx = np.zeros(len(sigmas[0]))
        for l, E in enumerate(Es):
            lx = lx + np.log(weights[l])
            lx = log_matvec(np.log(E), lx)
        lx = lx + np.log(weights[-1])
    from scipy.special import logsumexp
    v = logsumexp(lx)
    return float(v) / LN10


# ------------------------------------------------------------- topology -----

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                           "topology.schema.json")
KIND_NDIM = {"linear": 2, "conv1d": 3, "conv2d": 4, "conv3d": 5}
MAP_KINDS = ("direct", "add", "concat", "split", "permute")
LAYER_KEYS = ("name", "kind", "groups", "batchnorm", "flatten_order", "reads_from")
READ_KEYS = ("layer", "map", "source", "offset", "permutation")


def _pairs_no_duplicates(items):
    d = OrderedDict()
    for k, v in items:
        if k in d:
            raise ValueError(f"duplicate key {k!r}")
        d[k] = v
    return d


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def read_topology_json(path):
    """The parsed file, or OracleError "not JSON" (also for duplicate keys and
    NaN/Infinity literals, which Python's json would otherwise accept)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise OracleError(f"{path}: cannot read the topology file: {e.strerror}")
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs_no_duplicates,
                          parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise OracleError(f"{path}: not JSON (not UTF-8 text)")
    except json.JSONDecodeError as e:
        raise OracleError(f"{path}: not JSON: {e.msg} at line {e.lineno} column {e.colno}")
    except ValueError as e:
        raise OracleError(f"{path}: not JSON: {e}")


def _is_int(x):
    """JSON Schema's integer: an int, or a number with zero fractional part; never a bool."""
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and math.isfinite(x) and x.is_integer())


def check_topology_schema(topo, path):
    """Every rule of docs/topology.schema.json, by hand (the same checks whether or
    not jsonschema is installed); raises OracleError naming the failing place."""
    def bad(where, msg):
        raise OracleError(f"{path}: does not follow the topology schema: {where}: {msg}")

    if not isinstance(topo, dict):
        bad("top level", "not an object")
    for k in topo:
        if k not in ("format", "schema_version", "model", "layers"):
            bad("top level", f"unknown key {k!r}")
    for k in ("format", "schema_version", "layers"):
        if k not in topo:
            bad("top level", f"missing {k!r}")
    if topo["format"] != "svr-topology":
        bad("format", f"{topo['format']!r} is not \"svr-topology\"")
    if not _is_int(topo["schema_version"]) or topo["schema_version"] != 1:
        bad("schema_version", f"{topo['schema_version']!r} is not 1")
    if "model" in topo and not isinstance(topo["model"], str):
        bad("model", "not a string")
    layers = topo["layers"]
    if not isinstance(layers, list):
        bad("layers", "not an array")
    if len(layers) < 2:
        bad("layers", f"{len(layers)} layer(s); at least 2 are needed")
    for n, L in enumerate(layers):
        where = f"layers[{n}]"
        if not isinstance(L, dict):
            bad(where, "not an object")
        for k in L:
            if k not in LAYER_KEYS:
                bad(where, f"unknown key {k!r}")
        for k in ("name", "kind"):
            if k not in L:
                bad(where, f"missing {k!r}")
        if not isinstance(L["name"], str) or not L["name"]:
            bad(where + ".name", "not a non-empty string")
        if L["kind"] not in KIND_NDIM:
            bad(where + ".kind", f"unknown kind {L['kind']!r} (linear, conv1d, conv2d, conv3d)")
        if "groups" in L and (not _is_int(L["groups"]) or L["groups"] < 1):
            bad(where + ".groups", f"{L['groups']!r} is not an integer >= 1")
        if "batchnorm" in L and L["batchnorm"] is not None and \
                (not isinstance(L["batchnorm"], str) or not L["batchnorm"]):
            bad(where + ".batchnorm", "neither null nor a non-empty string")
        if "flatten_order" in L and L["flatten_order"] not in ("chw", "hwc"):
            bad(where + ".flatten_order", f"{L['flatten_order']!r} is not chw or hwc")
        reads = L.get("reads_from", [])
        if not isinstance(reads, list):
            bad(where + ".reads_from", "not an array")
        for m, R in enumerate(reads):
            w2 = f"{where}.reads_from[{m}]"
            if not isinstance(R, dict):
                bad(w2, "not an object")
            for k in R:
                if k not in READ_KEYS:
                    bad(w2, f"unknown key {k!r}")
            for k in ("layer", "map"):
                if k not in R:
                    bad(w2, f"missing {k!r}")
            if not isinstance(R["layer"], str) or not R["layer"]:
                bad(w2 + ".layer", "not a non-empty string")
            if R["map"] not in MAP_KINDS:
                bad(w2 + ".map", f"unknown map {R['map']!r} ({', '.join(MAP_KINDS)})")
            if "source" in R:
                src = R["source"]
                if not isinstance(src, list) or len(src) != 2 or \
                        not all(_is_int(x) and x >= 0 for x in src):
                    bad(w2 + ".source", "not [first, count] of two integers >= 0")
            if "offset" in R and (not _is_int(R["offset"]) or R["offset"] < 0):
                bad(w2 + ".offset", "not an integer >= 0")
            if "permutation" in R:
                perm = R["permutation"]
                if not isinstance(perm, list) or not all(_is_int(x) and x >= 0 for x in perm):
                    bad(w2 + ".permutation", "not an array of integers >= 0")
            need = {"split": "source", "concat": "offset", "permute": "permutation"}.get(R["map"])
            if need and need not in R:
                bad(w2, f"map {R['map']} needs {need!r}")
            if R["map"] in ("direct", "add"):
                for k in ("source", "offset", "permutation"):
                    if k in R:
                        bad(w2, f"map {R['map']} takes no {k!r}")


def check_topology_jsonschema(topo, path):
    """Validate against docs/topology.schema.json with jsonschema when installed."""
    try:
        import jsonschema
    except ImportError:
        return False
    with open(SCHEMA_PATH) as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(topo), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
        raise OracleError(f"{path}: does not follow the topology schema: "
                          f"{where.lstrip('.') or 'top level'}: {e.message}")
    return True


def read_slice(R, out_a, where, producer):
    """(S, targets) of one read: producer channels S and consumer channels pi(a)."""
    kind = R["map"]
    if kind in ("direct", "add"):
        S = list(range(out_a))
        return S, list(S)
    first, count = (int(x) for x in R["source"]) if "source" in R else (0, out_a)
    if count < 1:
        raise OracleError(f"{where}: reads an empty slice of {producer!r}")
    if first + count > out_a:
        raise OracleError(f"{where}: slice [{first}, {count}] of {producer!r} lies outside its "
                          f"{out_a} output channels")
    S = list(range(first, first + count))
    if kind == "permute":
        perm = [int(x) for x in R["permutation"]]
        if len(perm) != count:
            raise OracleError(f"{where}: permutation of {len(perm)} entries for the {count} "
                              f"channels read from {producer!r}")
        return S, perm
    offset = int(R.get("offset", 0))
    return S, [offset + k for k in range(count)]


def load_graph(model_path, topo_path, args):
    """Layers (file order, BN folded) and pair geometries of a topology file."""
    topo = read_topology_json(topo_path)
    check_topology_schema(topo, topo_path)
    check_topology_jsonschema(topo, topo_path)
    tensors, dtypes, _ = read_safetensors(model_path)
    specs = topo["layers"]
    all_names = [L["name"] for L in specs]
    index, layers, pairs = {}, [], []
    for n, spec in enumerate(specs):
        name, kind = spec["name"], spec["kind"]
        where = f"{topo_path}: layer {name!r}"
        if name in index:
            raise OracleError(f"{where}: listed twice")
        if name not in tensors:
            raise OracleError(f"{where}: no tensor of that name in {os.path.basename(model_path)}")
        if dtypes[name] not in FLOAT_DTYPES:
            raise OracleError(f"{where}: not a floating-point tensor ({dtypes[name]})")
        w = tensors[name].astype(np.float64)
        if w.ndim != KIND_NDIM[kind]:
            raise OracleError(f"{where}: kind {kind} needs a {KIND_NDIM[kind]}-D weight, the "
                              f"tensor is {w.ndim}-D {tuple(w.shape)}")
        if not np.all(np.isfinite(w)):
            raise OracleError(f"{where}: NaN or Inf in the weights")
        groups = int(spec.get("groups", 1))
        out = w.shape[0]
        if groups > 1 and kind == "linear":
            raise OracleError(f"{where}: groups {groups} on a linear layer")
        if out % groups != 0:
            raise OracleError(f"{where}: groups {groups} do not divide its {out} output channels")
        folded = ""
        bn = spec.get("batchnorm")
        if bn is not None:
            rv = bn + ".running_var"
            if rv not in tensors or dtypes[rv] not in FLOAT_DTYPES:
                raise OracleError(f"{where}: batchnorm {bn!r}: no floating-point tensor {rv}")
            var = tensors[rv].astype(np.float64)
            if var.shape != (out,):
                raise OracleError(f"{where}: {rv} has shape {var.shape}, the layer {out} outputs")
            gamma = np.ones(out)
            if bn + ".weight" in tensors:
                gamma = tensors[bn + ".weight"].astype(np.float64)
                if gamma.shape != (out,):
                    raise OracleError(f"{where}: {bn}.weight has shape {gamma.shape}, the layer "
                                      f"{out} outputs")
            if args.batchnorm == "fold":
                if not np.all(np.isfinite(var)) or np.any(var <= 0):
                    raise OracleError(f"{where}: {rv}: entry <= 0, NaN or Inf")
                if not np.all(np.isfinite(gamma)):
                    raise OracleError(f"{where}: {bn}.weight: NaN or Inf")
                scale = gamma / np.sqrt(var + args.bn_eps)
                w = w * scale.reshape((-1,) + (1,) * (w.ndim - 1))
                folded = bn
        L = {"name": name, "W": w, "shape": list(tensors[name].shape), "folded_bn": folded,
             "kind": kind, "groups": groups, "out": out, "index": n,
             "kernel": int(np.prod(w.shape[2:])) if w.ndim > 2 else 1}

        reads = spec.get("reads_from", [])
        for R in reads:
            if R["layer"] not in index:
                if R["layer"] in all_names:
                    raise OracleError(f"{where}: reads {R['layer']!r}, which is not listed before "
                                      "it (a cycle or a wrong order)")
                raise OracleError(f"{where}: reads {R['layer']!r}, which is not a layer of "
                                  "this file")
        maps = [R["map"] for R in reads]
        if "direct" in maps and len(reads) != 1:
            raise OracleError(f"{where}: a direct read must be the layer's only read")
        if "add" in maps and (set(maps) != {"add"} or len(reads) < 2):
            raise OracleError(f"{where}: add reads come two or more, with no other map")
        if "add" in maps and len({R["layer"] for R in reads}) != len(reads):
            raise OracleError(f"{where}: adds the same layer twice")
        producers = [layers[index[R["layer"]]] for R in reads]
        flatten = False
        if kind == "linear" and producers:
            conv = {P["kind"] != "linear" for P in producers}
            if len(conv) == 2:
                # a convolution's channels read one for one beside linear layers (a ViT's
                # patch embedding in the residual stream): no flatten, z = 1
                if any(P["out"] != w.shape[1] for P in producers):
                    raise OracleError(f"{where}: reads both linear and convolution layers")
            flatten = conv == {True}
        # the consumer's input channels c_B
        if kind != "linear":
            c_b = w.shape[1] * groups
        elif not flatten:
            c_b = w.shape[1]
        else:
            c_b = None                      # the channels the reads cover (set below)
        slices = []
        for R, P in zip(reads, producers):
            S, T = read_slice(R, P["out"], where, P["name"])
            slices.append((S, T))
            if R["map"] in ("direct", "add"):
                if c_b is None:
                    c_b = P["out"]
                if P["out"] != c_b:
                    raise OracleError(f"{where}: reads {P['name']!r} with {P['out']} output "
                                      f"channels, but has {c_b} input channels")
        if reads and maps[0] not in ("direct", "add"):
            seen = set()
            for (S, T), R in zip(slices, reads):
                for t in T:
                    if t in seen:
                        raise OracleError(f"{where}: overlapping reads: input channel {t} is "
                                          f"read twice (from {R['layer']!r})")
                    seen.add(t)
            if c_b is None:
                c_b = len(seen)
            out_of_range = sorted(t for t in seen if t >= c_b)
            if out_of_range:
                raise OracleError(f"{where}: reads reach input channel {out_of_range[0]}, outside "
                                  f"its {c_b} input channels")
            missing = sorted(set(range(c_b)) - seen)
            if missing:
                raise OracleError(f"{where}: incomplete reads: {len(missing)} of its {c_b} input "
                                  f"channels (first {missing[0]}) are read from no layer")
        z = L["kernel"]
        order = "chw"
        if kind == "linear":
            z = 1
            if flatten:
                if w.shape[1] % c_b != 0:
                    raise OracleError(f"{where}: flatten: {c_b} channels do not divide the "
                                      f"{w.shape[1]} input features")
                z = w.shape[1] // c_b
                order = args.flatten_order or spec.get("flatten_order", "chw")
        L.update(c_in=c_b, flatten=flatten, z_in=z)
        for R, P, (S, T) in zip(reads, producers, slices):
            pairs.append({"from_layer": P["index"], "to_layer": n, "map": R["map"],
                          "S": np.array(S, dtype=np.int64), "T": np.array(T, dtype=np.int64),
                          "c": int(c_b), "z": int(z), "order": order,
                          "channels_read": len(S)})
        index[name] = n
        layers.append(L)
    if args.method == "cosvr":
        for L in layers:
            if L["groups"] > 1:
                raise OracleError(f"--method cosvr: layer {L['name']!r} is grouped (only svr)")
        for P in pairs:
            if P["map"] not in ("direct", "add"):
                raise OracleError(f"--method cosvr: pair {layers[P['from_layer']]['name']!r} -> "
                                  f"{layers[P['to_layer']]['name']!r} has map {P['map']} "
                                  "(only direct and add)")
            if P["order"] == "hwc":
                raise OracleError(f"--method cosvr: layer {layers[P['to_layer']]['name']!r} "
                                  "flattens hwc (only chw)")
    return layers, pairs


# ----------------------------------------------------- graph spectra, E -----

def kept_range(rank, max_rank, min_rank):
    """(first, count) of the kept triplets among `rank`: the top max_rank, the
    bottom min_rank, or all."""
    if max_rank and rank > max_rank:
        return 0, max_rank
    if min_rank and rank > min_rank:
        return rank - min_rank, min_rank
    return 0, rank


def layer_spectrum(w, groups, method, max_rank):
    """(U, s, V, group, matrix_shape, rank) of a layer, the top max_rank triplets kept."""
    U, s, V, grp, shape, rank, _, _ = layer_spectrum_kept(w, groups, method, max_rank, None)
    return U, s, V, grp, shape, rank


def layer_spectrum_kept(w, groups, method, max_rank, min_rank):
    """(U, s, V, group, matrix_shape, rank, first, s_max) of a layer: the kept triplets
    (kept_range), the number of the first and the layer's largest singular value. Grouped convolutions are
    factored block by block; the blocks' singular vectors are embedded in zero
    vectors of the full spaces and the triplets sorted by s (stable: ties keep
    group order)."""
    out = w.shape[0]
    if groups == 1:
        M = layer_matrix(w, method)
        U, s, Vt = np.linalg.svd(M, full_matrices=False)
        V = Vt.T
        grp = np.zeros(len(s), dtype=np.int64)
        shape = list(M.shape)
    else:
        m = out // groups
        blk = w.reshape(out, -1)            # row o holds only its own group's columns
        cols_g = blk.shape[1]
        shape = [out, groups * cols_g]
        Us, ss, Vs, gs = [], [], [], []
        for g in range(groups):
            Ub, sb, Vbt = np.linalg.svd(blk[g * m:(g + 1) * m, :], full_matrices=False)
            rb = len(sb)
            Uf = np.zeros((out, rb))
            Uf[g * m:(g + 1) * m, :] = Ub
            Vf = np.zeros((groups * cols_g, rb))
            Vf[g * cols_g:(g + 1) * cols_g, :] = Vbt.T
            Us.append(Uf)
            ss.append(sb)
            Vs.append(Vf)
            gs.append(np.full(rb, g, dtype=np.int64))
        s_all = np.concatenate(ss)
        order = np.argsort(-s_all, kind="stable")
        U = np.concatenate(Us, axis=1)[:, order]
        V = np.concatenate(Vs, axis=1)[:, order]
        s = s_all[order]
        grp = np.concatenate(gs)[order]
    rank = len(s)
    f, r = kept_range(rank, max_rank, min_rank)
    s_max = float(s[0]) if rank else 0.0
    return (U[:, f:f + r], s[f:f + r], V[:, f:f + r].copy(), grp[f:f + r], shape, rank, f,
            s_max)


def lift_u(U, S, T, c_b):
    """The selection built explicitly: lift[pi(a), i] = u_i[a] for a in S."""
    lift = np.zeros((c_b, U.shape[1]))
    for a, t in zip(S, T):
        lift[t, :] = U[a, :]
    return lift


def graph_edge_matrix(U, V, S, T, c_b, z, order):
    """E[j, i] = sum_p (sum_{a in S} v_j[col(pi(a), p)] u_i[a])^2 from the lifted u
    (see the module docstring); col(t, p) = t z + p (chw) or p c_b + t (hwc)."""
    lift = lift_u(U, S, T, c_b)
    r_b = V.shape[1]
    if order == "hwc":
        V3 = V.reshape(z, c_b, r_b).transpose(1, 0, 2)     # V3[t, p, j] = v_j[p c_b + t]
    else:
        V3 = V.reshape(c_b, z, r_b)                         # V3[t, p, j] = v_j[t z + p]
    E = np.zeros((r_b, U.shape[1]))
    for p in range(z):
        t = np.einsum("tj,ti->ji", np.ascontiguousarray(V3[:, p, :]), lift, optimize=False)
        E += t * t
    return E, lift


def graph_null(P, A, B, lift, to_group):
    """Null law of pair P (producer A, consumer B): sets P's null, a, b, side and
    the statistic X with its mask of testable edges (see the module docstring)."""
    c_b, z, g_b = P["c"], P["z"], B["groups"]
    c_g = c_b // g_b
    if g_b == 1:
        side, a, b = "v", z / 2.0, (c_b * z - z) / 2.0
    elif c_g >= 2:
        side, a, b = "v", z / 2.0, (c_g - 1) * z / 2.0
    else:
        c_u = A["out"] // A["groups"]
        side, a, b = "u", 0.5, (c_u - 1) / 2.0
    # normaliser: squared norm of the lifted u_i over the input channels of j's group
    sq = lift * lift
    per_group = np.zeros((g_b, lift.shape[1]))
    for g in range(g_b):
        for t in range(g * c_g, (g + 1) * c_g):
            per_group[g, :] += sq[t, :]
    nrm = per_group[to_group, :]                        # rows: neurons j of B
    E = P["E"]
    P.update(side=side, a=a, b=b)
    if b <= 0:
        P["null"] = "untestable"
        P["mask"] = np.zeros(E.shape, dtype=bool)
        P["X"] = np.full(E.shape, np.nan)
        return
    mask = nrm > 0.0
    X = np.full(E.shape, np.nan)
    if side == "v":
        X[mask] = E[mask] / nrm[mask]
    else:
        X[mask] = E[mask]
    P.update(null="beta", mask=mask, X=X)


# ------------------------------------------------------------- measures -----

def pair_intensity(E, c):
    """Spec section 5: t_i = max_k sum_{j<=k} (c E[j, i] - 1), clipped at 0, over the
    largest t (0 when every t is 0)."""
    tt = np.empty(E.shape[1])
    for i in range(E.shape[1]):
        run_sum, best = 0.0, 0.0
        for j in range(E.shape[0]):
            run_sum += c * E[j, i] - 1.0
            best = max(best, run_sum)
        tt[i] = best
    top = tt.max() if len(tt) else 0.0
    return tt / top if top > 0 else np.zeros_like(tt)


def internal_dims(E, c):
    C = np.cumsum(np.cumsum(E, axis=0), axis=1)
    jj = np.arange(1, E.shape[0] + 1)[:, None]
    ii = np.arange(1, E.shape[1] + 1)[None, :]
    score = c * C - jj * ii
    j, i = np.unravel_index(np.argmax(score), score.shape)
    return {"to": int(j) + 1, "from": int(i) + 1}


def entropy(E):
    with np.errstate(divide="ignore", invalid="ignore"):
        H = -float(np.sum(np.where(E > 0, E * np.log(np.where(E > 0, E, 1.0)), 0.0)))
    return H, (H / math.log(E.size) if E.size > 1 else 0.0)


def dag_path_metric(n_layers, pairs, weights):
    """docs/graph-outputs.md: x = 1 on layers that read nothing; in layer order
    x_B = sum over pairs (A, B) of E_AB (x_A * w_A); log10 of the sum over layers
    that nobody reads of sum(x_B * w_B). All in natural-log space (logsumexp per
    matrix-vector product, logaddexp at merges). For a chain this is exactly
    spec section 5's x = E_l (x * w_l)."""
    from scipy.special import logsumexp
    incoming = [[] for _ in range(n_layers)]
    read = [False] * n_layers
    for P in pairs:
        incoming[P["to_layer"]].append(P)
        read[P["from_layer"]] = True
    lx = [None] * n_layers
    with np.errstate(divide="ignore"):
        for b in range(n_layers):
            if not incoming[b]:
                lx[b] = np.zeros(len(weights[b]))
                continue
            acc = None
            for P in incoming[b]:
                a = P["from_layer"]
                t = log_matvec(np.log(P["E"]), lx[a] + np.log(weights[a]))
                acc = t if acc is None else np.logaddexp(acc, t)
            lx[b] = acc
        ends = [lx[b] + np.log(weights[b]) for b in range(n_layers) if not read[b]]
    v = logsumexp(np.concatenate(ends))
    return float(v) / LN10


# ---------------------------------------------------------------- main ------

def fmt(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(float(x))


def fmt_all(values):
    """fmt() of a list of Python floats (NaN is empty; repr already writes inf and -inf)."""
    return ["" if v != v else repr(v) for v in values]


def chain_network(args):
    """Layers and pairs (l, l+1) of a chain: the original formulation, unchanged."""
    layers = load_layers(args.model, args)
    for l, L in enumerate(layers):
        L.update(groups=1, index=l)
    t = time.time()
    for L in layers:
        M = layer_matrix(L["W"], args.method)
        U, s, Vt = np.linalg.svd(M, full_matrices=False)
        f, r = kept_range(len(s), args.max_rank, args.min_rank)
        L.update(M_shape=list(M.shape), full_rank=min(M.shape), U=U[:, f:f + r],
                 s=s[f:f + r], V=Vt[f:f + r, :].T.copy(), group=np.zeros(r, dtype=np.int64),
                 first=f, s_max=float(s[0]))
    svd_time = time.time() - t
    t = time.time()
    pairs = []
    for l in range(len(layers) - 1):
        A, B = layers[l], layers[l + 1]
        c, z_u, z_v = chain_geometry(A["W"], B["W"], args.method)
        if A["M_shape"][0] != c * z_u or B["M_shape"][1] != c * z_v:
            raise OracleError(f"internal: pair {l} geometry mismatch")
        E = edge_matrix(A["U"], B["V"], c, z_u, z_v)
        pairs.append(chain_pair(l, l + 1, "direct", c, z_u, z_v, c, E, args))
    return layers, pairs, svd_time, time.time() - t


def chain_pair(a, b, kind, c, z_u, z_v, channels_read, E, args):
    """A pair with the chain's null (spec section 4): the tested side carries z."""
    z = z_v if args.method == "svr" else z_u
    if c <= 1:
        null = "untestable"
    elif z_u > 1 and z_v > 1:
        null = "simulated"
    else:
        null = "beta"
    P = {"from_layer": a, "to_layer": b, "map": kind, "c": c, "z": z, "z_u": z_u, "z_v": z_v,
         "channels_read": channels_read, "null": null, "E": E, "X": E,
         "a": z / 2.0, "b": (c * z - z) / 2.0}
    P["mask"] = np.full(E.shape, null == "beta", dtype=bool)
    return P


def graph_network(args):
    """Layers and pairs of a topology file (spec section 7)."""
    layers, pairs = load_graph(args.model, args.topology, args)
    t = time.time()
    for L in layers:
        U, s, V, grp, shape, rank, first, s_max = layer_spectrum_kept(
            L["W"], L["groups"], args.method, args.max_rank, args.min_rank)
        L.update(M_shape=shape, full_rank=rank, U=U, s=s, V=V, group=grp, first=first,
                 s_max=s_max)
    svd_time = time.time() - t
    t = time.time()
    out = []
    for k, P in enumerate(pairs):
        A, B = layers[P["from_layer"]], layers[P["to_layer"]]
        if args.method == "cosvr":
            # direct/add only (checked): the chain's formulas with c = c_B
            z_u = A["kernel"] if A["kind"] != "linear" else 1
            z_v = P["z"] if B["flatten"] else 1
            if A["M_shape"][0] != P["c"] * z_u or B["M_shape"][1] != P["c"] * z_v:
                raise OracleError(f"internal: pair {k} geometry mismatch")
            E = edge_matrix(A["U"], B["V"], P["c"], z_u, z_v)
            Q = chain_pair(P["from_layer"], P["to_layer"], P["map"], P["c"], z_u, z_v,
                           P["channels_read"], E, args)
            Q["side"] = "u"
            out.append(Q)
            continue
        if B["M_shape"][1] != P["c"] * P["z"]:
            raise OracleError(f"internal: pair {k} geometry mismatch")
        E, lift = graph_edge_matrix(A["U"], B["V"], P["S"], P["T"], P["c"], P["z"], P["order"])
        P.update(E=E, z_u=1, z_v=P["z"])
        graph_null(P, A, B, lift, B["group"])
        out.append(P)
    return layers, out, svd_time, time.time() - t


def run(args):
    t0 = time.time()
    timings = OrderedDict()
    if args.reference:
        args.batchnorm = "ignore"
        if args.min_rank:
            raise OracleError("--reference keeps the top 128; drop --min-rank")
        args.max_rank = args.max_rank or 128
        args.sigma = 3.0 if args.sigma is None else args.sigma
    if args.sigma is not None:
        args.correction = "none"
    graph = bool(args.topology)
    if graph and args.layers:
        raise OracleError("--layers and --topology exclude each other")
    if args.flatten_order and not graph:
        raise OracleError("--flatten-order needs --topology")
    if graph:
        layers, pairs, t_svd, t_edges = graph_network(args)
    else:
        layers, pairs, t_svd, t_edges = chain_network(args)
    timings["read"] = time.time() - t0 - t_svd - t_edges
    timings["svd"] = t_svd
    timings["edges"] = t_edges

    t = time.time()
    if args.sigma is not None:
        for P in pairs:
            if P["null"] == "beta":
                P["null"] = "chi2"
    for P in pairs:
        P["log10_p"] = np.full(P["E"].shape, np.nan)
        if P["null"] not in ("beta", "chi2"):
            continue
        if P["mask"].all():
            P["log10_p"] = log10_beta_sf_array(P["X"], P["a"], P["b"])
        elif P["mask"].any():
            P["log10_p"][P["mask"]] = log10_beta_sf_array(P["X"][P["mask"]], P["a"], P["b"])
    # corrections over the family (every testable edge of the network, or per pair)
    if args.fdr_scope == "pair":
        for P in pairs:
            P["log10_q"] = adjust_log10(P["log10_p"].ravel(), args.correction).reshape(P["E"].shape)
    elif pairs:
        flat = np.concatenate([P["log10_p"].ravel() for P in pairs])
        q = adjust_log10(flat, args.correction)
        off = 0
        for P in pairs:
            n = P["E"].size
            P["log10_q"] = q[off:off + n].reshape(P["E"].shape)
            off += n
    la = math.log10(args.alpha)
    for P in pairs:
        if P["null"] == "chi2":
            from scipy import stats
            if graph:
                dof = 2.0 * P["a"]
                thr = stats.chi2.isf(stats.norm.sf(args.sigma), dof) / (dof + 2.0 * P["b"])
            else:
                thr = stats.chi2.isf(stats.norm.sf(args.sigma), P["z"]) / (P["z"] * P["c"])
            P["e_threshold"] = float(thr)
            P["sig"] = P["mask"] & (np.nan_to_num(P["X"], nan=-1.0) >= thr)
        elif P["null"] == "beta":
            P["sig"] = P["mask"] & (np.nan_to_num(P["log10_q"], nan=1.0) <= la)
        else:
            P["sig"] = np.zeros(P["E"].shape, dtype=bool)
        P["edges_tested"] = int(P["mask"].sum()) if P["null"] in ("beta", "chi2") else 0
        P["significant"] = int(P["sig"].sum())
    timings["significance"] = time.time() - t

    # measures
    t = time.time()
    for P in pairs:
        P["intensity"] = pair_intensity(P["E"], P["c"])
        P["internal_dims"] = internal_dims(P["E"], P["c"])
        P["entropy"], P["entropy_normalized"] = entropy(P["E"])
    for l, L in enumerate(layers):
        s = L["s"]
        smax = L["s_max"]
        L["sigma_rel"] = s / smax if smax > 0 else np.zeros_like(s)
        L["near_kernel"] = s <= args.near_kernel_tau * smax
        L["cluster"] = clusters(s, smax)
        outgoing = [P["intensity"] for P in pairs if P["from_layer"] == l]
        if not outgoing:
            L["intensity"] = np.ones(len(s))
        else:
            L["intensity"] = np.max(np.vstack(outgoing), axis=0)
    sig = [L["s"] for L in layers]
    lpm = dag_path_metric(len(layers), pairs, sig)
    ind = [(s > args.path_threshold).astype(np.float64) for s in sig]
    lpu = dag_path_metric(len(layers), pairs, ind)
    timings["measures"] = time.time() - t

    t = time.time()
    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(args.outdir, "nodes.csv"), "w") as f:
        f.write("layer,layer_name,neuron,sigma,sigma_rel,cluster,near_kernel,intensity,group\n")
        for l, L in enumerate(layers):
            for i in range(len(L["s"])):
                f.write(f"{l},{L['name']},{L['first'] + i},{fmt(L['s'][i])},"
                        f"{fmt(L['sigma_rel'][i])},"
                        f"{L['cluster'][i]},{int(L['near_kernel'][i])},{fmt(L['intensity'][i])},"
                        f"{int(L['group'][i])}\n")
    with open(os.path.join(args.outdir, "edges.csv"), "w") as f:
        f.write("pair,from_layer,from_neuron,to_layer,to_neuron,e,ce,p,log10_p,q,significant,"
                "map\n")
        for k, P in enumerate(pairs):
            # Whole columns at once (millions of edges for a DenseNet-121): the same text as
            # fmt() per value, in the order i (from neuron) major, j (to neuron) minor.
            E, mask = P["E"], P["mask"]
            testable = P["null"] in ("beta", "chi2")
            a, b = P["from_layer"], P["to_layer"]
            fa, fb = layers[a]["first"], layers[b]["first"]
            n_to, n_from = E.shape
            e_list = E.T.ravel().tolist()
            e_txt = fmt_all(e_list)
            ce_txt = fmt_all([P["c"] * e for e in e_list])
            if testable:
                ptxt = [f"{fmt(10.0 ** lp)},{fmt(lp)},{fmt(10.0 ** lq)}" if m else ",,"
                        for m, lp, lq in zip(mask.T.ravel().tolist(),
                                             P["log10_p"].T.ravel().tolist(),
                                             P["log10_q"].T.ravel().tolist())]
            else:
                ptxt = [",,"] * len(e_list)
            sig = np.asarray(P["sig"]).T.ravel().astype(np.int64).tolist()
            starts = [f"{k},{a},{fa + i},{b}," for i in range(n_from)]
            tail = f",{P['map']}\n"
            rows = [f"{starts[n // n_to]}{fb + n % n_to},{et},{ct},{pt},{sg}{tail}"
                    for n, (et, ct, pt, sg) in enumerate(zip(e_txt, ce_txt, ptxt, sig))]
            f.write("".join(rows))
    summary = OrderedDict()
    summary["schema_version"] = 1
    summary["model"] = os.path.basename(args.model)
    summary["producer"] = "tests/oracle/svr_oracle.py"
    summary["options"] = OrderedDict(
        method=args.method, batchnorm=args.batchnorm, bn_eps=args.bn_eps, alpha=args.alpha,
        correction=args.correction, fdr_scope=args.fdr_scope, sigma=args.sigma,
        reference=args.reference, max_rank=args.max_rank, min_rank=args.min_rank,
        near_kernel_tau=args.near_kernel_tau,
        path_threshold=args.path_threshold)
    if graph:
        summary["options"]["topology"] = args.topology
        summary["options"]["flatten_order"] = args.flatten_order
    summary["layers"] = []
    for L in layers:
        d = OrderedDict(
            name=L["name"], kind=L["kind"], tensor_shape=L["shape"], matrix_shape=L["M_shape"],
            rank=L["full_rank"], kept=len(L["s"]), first_neuron=L["first"], s_max=L["s_max"],
            s_min=float(L["s"][-1]), near_kernel=int(L["near_kernel"].sum()),
            folded_bn=L["folded_bn"] or None)
        if graph:
            d["groups"] = L["groups"]
        summary["layers"].append(d)
    summary["pairs"] = []
    for P in pairs:
        d = OrderedDict(from_layer=P["from_layer"], to_layer=P["to_layer"], map=P["map"],
                        c=P["c"], channels_read=P["channels_read"], z=P["z"], z_u=P["z_u"],
                        z_v=P["z_v"], null=P["null"])
        if graph:
            d["from_name"] = layers[P["from_layer"]]["name"]
            d["to_name"] = layers[P["to_layer"]]["name"]
            if P["null"] in ("beta", "chi2"):
                d["null_beta"] = OrderedDict(a=P["a"], b=P["b"], side=P.get("side", "v"))
        d.update(edges_tested=P["edges_tested"], significant=P["significant"],
                 internal_dims=P["internal_dims"], entropy=P["entropy"],
                 entropy_normalized=P["entropy_normalized"])
        if "e_threshold" in P:
            d["e_threshold"] = P["e_threshold"]
        d["intensity"] = [float(x) for x in P["intensity"]]
        summary["pairs"].append(d)
    summary["path_metric"] = OrderedDict(log10_weighted=lpm, log10_unweighted=lpu)
    timings["write"] = time.time() - t
    timings["total"] = time.time() - t0
    summary["run"] = OrderedDict(producer="svr_oracle.py", seconds=timings)
    with open(os.path.join(args.outdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    return summary


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description="Independent NumPy/SciPy oracle of the SVR spec: writes nodes.csv, "
                    "edges.csv (all edges) and summary.json like svr.")
    ap.add_argument("model", help="MODEL.safetensors (F64/F32/F16/BF16)")
    ap.add_argument("-o", "--outdir", required=True, help="output directory (created)")
    ap.add_argument("--layers", help="comma list of weight names (default: svr.layers metadata, "
                                     "else numeric-aware order of chaining modules)")
    ap.add_argument("--topology", metavar="FILE",
                    help="the network is the graph of this topology file (docs/input-formats.md, "
                         "spec section 7)")
    ap.add_argument("--flatten-order", choices=("chw", "hwc"), default=None,
                    help="with --topology: flatten order of every linear layer reading "
                         "convolutions (overrides the file's flatten_order)")
    ap.add_argument("--method", choices=("svr", "cosvr"), default="svr",
                    help="reshape of conv kernels (spec section 1; default svr)")
    ap.add_argument("--batchnorm", choices=("fold", "ignore"), default="fold",
                    help="fold the BatchNorm that follows a layer into it (default) or ignore it")
    ap.add_argument("--bn-eps", type=float, default=1e-5, help="BN epsilon (default 1e-5)")
    ap.add_argument("--alpha", type=float, default=0.05,
                    help="significance level on the adjusted q (default 0.05)")
    ap.add_argument("--correction", choices=("bh", "by", "holm", "bonferroni", "none"),
                    default="bh", help="multiple-testing correction (default bh)")
    ap.add_argument("--fdr-scope", choices=("network", "pair"), default="network",
                    help="family of the correction: every testable edge of the network "
                         "(default) or each pair")
    ap.add_argument("--sigma", type=float, default=None,
                    help="chi-square rule E >= chi2_quantile(Phi(S), z)/(z c); implies "
                         "--correction none")
    ap.add_argument("--reference", action="store_true",
                    help="preset of the public implementation: --batchnorm ignore "
                         "--max-rank 128 --sigma 3")
    ap.add_argument("--max-rank", type=int, default=None, metavar="K",
                    help="keep the top K triplets of layers with min(rows, cols) > K")
    ap.add_argument("--min-rank", type=int, default=None, metavar="K",
                    help="keep the bottom K triplets of layers with min(rows, cols) > K, "
                         "numbered as in the full spectrum (first = rank - K)")
    ap.add_argument("--near-kernel-tau", type=float, default=1e-2,
                    help="near-kernel flag: s <= tau * s_max (default 1e-2)")
    ap.add_argument("--path-threshold", type=float, default=0.0,
                    help="s > threshold for the unweighted path metric (default 0)")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        s = run(args)
    except (OracleError, ValueError) as e:
        print(f"svr_oracle: error: {args.model}: {e}", file=sys.stderr)
        return 2
    sec = s["run"]["seconds"]
    print(f"{args.outdir}: {len(s['layers'])} layers, "
          + ", ".join(f"pair {k}: {p['significant']}/{p['edges_tested']} significant"
                      for k, p in enumerate(s["pairs"]))
          + f"; {sec['total']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

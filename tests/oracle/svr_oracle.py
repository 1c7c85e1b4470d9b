#!/usr/bin/env python3
"""Independent NumPy/SciPy implementation of ../../../shared/SVR-SPEC.md (the
"oracle"), used to generate reference outputs for the tests of `svr`.

    /usr/bin/python3 tests/oracle/svr_oracle.py MODEL.safetensors -o OUTDIR [options]

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


def clusters(s):
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


# ---------------------------------------------------------------- main ------

def fmt(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(float(x))


def run(args):
    t0 = time.time()
    timings = OrderedDict()
    if args.reference:
        args.batchnorm = "ignore"
        args.max_rank = args.max_rank or 128
        args.sigma = 3.0 if args.sigma is None else args.sigma
    if args.sigma is not None:
        args.correction = "none"
    layers = load_layers(args.model, args)
    timings["read"] = time.time() - t0

    t = time.time()
    for L in layers:
        M = layer_matrix(L["W"], args.method)
        U, s, Vt = np.linalg.svd(M, full_matrices=False)
        r = len(s)
        if args.max_rank and min(M.shape) > args.max_rank:
            r = args.max_rank
        L.update(M_shape=list(M.shape), full_rank=min(M.shape), U=U[:, :r], s=s[:r],
                 V=Vt[:r, :].T.copy())
    timings["svd"] = time.time() - t

    t = time.time()
    pairs = []
    for l in range(len(layers) - 1):
        A, B = layers[l], layers[l + 1]
        c, z_u, z_v = chain_geometry(A["W"], B["W"], args.method)
        if A["M_shape"][0] != c * z_u or B["M_shape"][1] != c * z_v:
            raise OracleError(f"internal: pair {l} geometry mismatch")
        E = edge_matrix(A["U"], B["V"], c, z_u, z_v)
        z = z_v if args.method == "svr" else z_u
        if c <= 1:
            null = "untestable"
        elif z_u > 1 and z_v > 1:
            null = "simulated"
        elif args.sigma is not None:
            null = "chi2"
        else:
            null = "beta"
        pairs.append({"from_layer": l, "c": c, "z": z, "z_u": z_u, "z_v": z_v,
                      "null": null, "E": E})
    timings["edges"] = time.time() - t

    t = time.time()
    for P in pairs:
        if P["null"] in ("beta", "chi2"):
            a = P["z"] / 2.0
            b = (P["c"] * P["z"] - P["z"]) / 2.0
            P["log10_p"] = log10_beta_sf_array(P["E"], a, b)
        else:
            P["log10_p"] = np.full(P["E"].shape, np.nan)
    # corrections over the family (every testable edge of the network, or per pair)
    if args.fdr_scope == "pair":
        for P in pairs:
            P["log10_q"] = adjust_log10(P["log10_p"].ravel(), args.correction).reshape(P["E"].shape)
    else:
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
            thr = stats.chi2.isf(stats.norm.sf(args.sigma), P["z"]) / (P["z"] * P["c"])
            P["e_threshold"] = float(thr)
            P["sig"] = P["E"] >= thr
        elif P["null"] == "beta":
            P["sig"] = P["log10_q"] <= la
        else:
            P["sig"] = np.zeros(P["E"].shape, dtype=bool)
        P["edges_tested"] = 0 if P["null"] in ("untestable", "simulated") else int(P["E"].size)
        P["significant"] = int(P["sig"].sum())
    timings["significance"] = time.time() - t

    # measures
    t = time.time()
    for l, L in enumerate(layers):
        s = L["s"]
        smax = float(s[0]) if len(s) else 0.0
        L["sigma_rel"] = s / smax if smax > 0 else np.zeros_like(s)
        L["near_kernel"] = s <= args.near_kernel_tau * smax
        L["cluster"] = clusters(s)
        if l == len(layers) - 1:
            L["intensity"] = np.ones(len(s))
        else:
            P = pairs[l]
            E, c = P["E"], P["c"]
            tt = np.empty(E.shape[1])
            for i in range(E.shape[1]):
                run_sum, best = 0.0, 0.0
                for j in range(E.shape[0]):
                    run_sum += c * E[j, i] - 1.0
                    best = max(best, run_sum)
                tt[i] = best
            top = tt.max() if len(tt) else 0.0
            L["intensity"] = tt / top if top > 0 else np.zeros_like(tt)
    for P in pairs:
        E, c = P["E"], P["c"]
        C = np.cumsum(np.cumsum(E, axis=0), axis=1)
        jj = np.arange(1, E.shape[0] + 1)[:, None]
        ii = np.arange(1, E.shape[1] + 1)[None, :]
        score = c * C - jj * ii
        j, i = np.unravel_index(np.argmax(score), score.shape)
        P["internal_dims"] = {"to": int(j) + 1, "from": int(i) + 1}
        with np.errstate(divide="ignore", invalid="ignore"):
            H = -float(np.sum(np.where(E > 0, E * np.log(np.where(E > 0, E, 1.0)), 0.0)))
        P["entropy"] = H
        P["entropy_normalized"] = H / math.log(E.size) if E.size > 1 else 0.0
    sig = [L["s"] for L in layers]
    Es = [P["E"] for P in pairs]
    lpm = path_metric(sig, Es, sig)
    ind = [(s > args.path_threshold).astype(np.float64) for s in sig]
    lpu = path_metric(sig, Es, ind)
    timings["measures"] = time.time() - t

    t = time.time()
    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(args.outdir, "nodes.csv"), "w") as f:
        f.write("layer,layer_name,neuron,sigma,sigma_rel,cluster,near_kernel,intensity\n")
        for l, L in enumerate(layers):
            for i in range(len(L["s"])):
                f.write(f"{l},{L['name']},{i},{fmt(L['s'][i])},{fmt(L['sigma_rel'][i])},"
                        f"{L['cluster'][i]},{int(L['near_kernel'][i])},{fmt(L['intensity'][i])}\n")
    with open(os.path.join(args.outdir, "edges.csv"), "w") as f:
        f.write("pair,from_layer,from_neuron,to_layer,to_neuron,e,ce,p,log10_p,q,significant\n")
        for k, P in enumerate(pairs):
            E = P["E"]
            testable = P["null"] in ("beta", "chi2")
            rows = []
            for i in range(E.shape[1]):
                for j in range(E.shape[0]):
                    e = float(E[j, i])
                    if testable:
                        lp, lq = float(P["log10_p"][j, i]), float(P["log10_q"][j, i])
                        ptxt = f"{fmt(10.0 ** lp)},{fmt(lp)},{fmt(10.0 ** lq)}"
                    else:
                        ptxt = ",,"
                    rows.append(f"{k},{k},{i},{k + 1},{j},{fmt(e)},{fmt(P['c'] * e)},{ptxt},"
                                f"{int(P['sig'][j, i])}\n")
            f.write("".join(rows))
    summary = OrderedDict()
    summary["schema_version"] = 1
    summary["model"] = os.path.basename(args.model)
    summary["producer"] = "tests/oracle/svr_oracle.py"
    summary["options"] = OrderedDict(
        method=args.method, batchnorm=args.batchnorm, bn_eps=args.bn_eps, alpha=args.alpha,
        correction=args.correction, fdr_scope=args.fdr_scope, sigma=args.sigma,
        reference=args.reference, max_rank=args.max_rank, near_kernel_tau=args.near_kernel_tau,
        path_threshold=args.path_threshold)
    summary["layers"] = [OrderedDict(
        name=L["name"], kind=L["kind"], tensor_shape=L["shape"], matrix_shape=L["M_shape"],
        rank=L["full_rank"], kept=len(L["s"]), s_max=float(L["s"][0]),
        s_min=float(L["s"][-1]), near_kernel=int(L["near_kernel"].sum()),
        folded_bn=L["folded_bn"] or None) for L in layers]
    summary["pairs"] = []
    for P in pairs:
        d = OrderedDict(from_layer=P["from_layer"], to_layer=P["from_layer"] + 1, c=P["c"],
                        z=P["z"], z_u=P["z_u"], z_v=P["z_v"], null=P["null"],
                        edges_tested=P["edges_tested"], significant=P["significant"],
                        internal_dims=P["internal_dims"], entropy=P["entropy"],
                        entropy_normalized=P["entropy_normalized"])
        if "e_threshold" in P:
            d["e_threshold"] = P["e_threshold"]
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

#!/usr/bin/env python3
"""Compare two svr output directories (nodes.csv, edges.csv, summary.json) with
the tolerances of SVR-SPEC.md section 6. Standard library, and NumPy when it is there: the
edges.csv of millions of edges (a DenseNet-121) are then parsed (by loadtxt's C reader, or
np.fromstring when a field is empty) and compared as arrays, pair by pair, wherever both
directories hold every edge of a pair and no cluster touches it; the rules are the same on both
paths (tests/oracle/test_oracle.py checks them).

    python3 tests/e2e/compare_outputs.py DIR_A DIR_B [--all-edges-in-both]
            [--sigma-rtol 1e-10] [--e-atol 1e-12] [--p-tol 1e-9] [--threshold-window 1e-12]
            [--derived-tol 0]

Rules
- nodes: same layers, names and neuron counts; |s_A - s_B| <= sigma-rtol * s_max of the
  layer; near_kernel flags equal (unless s is within sigma-rtol of the tau threshold);
  intensity to 1e-9 where it is well defined (no cluster in the layer or the next one).
- clusters: the partition used is the union of both directories' `cluster` columns (and,
  with --cluster-rtol R, of runs of singular values less than R s_max apart). E is
  compared as sums over blocks (cluster of layer l+1) x (cluster of layer l), to
  e-atol * block size; a block of one edge is just that edge. With only the significant
  edges in one directory, clustered blocks are skipped (their sums are incomplete).
- p: log10_p to p-tol absolute, or p-tol relative when |log10_p| > 1; empty fields must
  match (untestable pairs); pairs marked "simulated" in either summary are exempt from p,
  q and significance checks. q to 1e-8 relative, or ln(10) p-tol max(1, |log10_p|) if larger
  (q comes from a p at least the edge's own; or both below 1e-300).
- --derived-tol raises the tolerances of intensity, q, entropy and the path metrics (1e-9 or
  1e-8 by default) to its value: for a run with --precision single against one in double.
- significance: the same set of significant edges, except edges whose log10 q lies within
  threshold-window of log10(alpha) (or, with --sigma, E within it of the pair's
  e_threshold), and edges inside clustered blocks (compared as counts per block).
- summary.json: every entry of `pairs` (c, z, edges_tested, significant, internal_dims,
  entropy, entropy_normalized), both path metrics, layer names/ranks; the `run` block is
  skipped. Quantities that are not defined inside clusters (entropy, internal dims, path
  metrics) only warn when a cluster could explain the difference.
- networks that are graphs (docs/graph-outputs.md): pairs are identified by index, with
  from_layer/to_layer from summary.json (a chain's pair l is (l, l+1) when they are absent);
  the pair lists must agree. E blocks are clusters of to_layer x from_layer; a node's
  intensity is compared when its layer and every layer reading it are cluster-free, a pair's
  `intensity` list (summary.json) when its two layers are. nodes.csv `group` must match
  exactly (inside a cluster: the same multiset of groups), edges.csv `map` exactly; summary
  pairs' from_layer, to_layer, map, channels_read exactly. A column present in one directory
  only is a warning (outputs of an svr without it).
- top_chains, when both summaries have them: the same number of chains, each with the same
  layers and neurons (warnings only when a chain touches a cluster or a significance was
  excused at the threshold) and weakest_log10_p to p-tol.
Exit 0 with "outputs agree", 1 with a diff on mismatch, 2 on unreadable input.
"""

import argparse
import csv
import json
import math
import os
import re
import sys
import warnings
from collections import Counter, defaultdict

MAX_SHOW = 15


class Report:
    def __init__(self):
        self.errors = defaultdict(list)
        self.warnings = []

    def err(self, cat, msg):
        self.errors[cat].append(msg)

    def warn(self, msg):
        self.warnings.append(msg)

    def print(self):
        for w in self.warnings[:MAX_SHOW]:
            print(f"warning: {w}")
        if len(self.warnings) > MAX_SHOW:
            print(f"warning: ... {len(self.warnings) - MAX_SHOW} more warnings")
        for cat, msgs in self.errors.items():
            print(f"MISMATCH {cat}: {len(msgs)} difference(s)")
            for m in msgs[:MAX_SHOW]:
                print(f"  {m}")
            if len(msgs) > MAX_SHOW:
                print(f"  ... {len(msgs) - MAX_SHOW} more")



def derived(args, default):
    """The tolerance of a quantity derived from s and E: its default, or --derived-tol."""
    return max(default, getattr(args, "derived_tol", 0.0))


def q_tol(args, log10_p_scale=1.0):
    """q, relative: 1e-8, or what --derived-tol or --p-tol allow. q moves with p, whose relative
    change is ln(10) times that of log10 p, and log10 p is compared to p-tol relative beyond 1:
    an edge's q is p_(j) m / j for some p_(j) >= its own p, so log10_p_scale, max(1, |log10 p|)
    of the edge's own p in either run, bounds the scale."""
    import numpy as np
    return np.maximum(derived(args, 1e-8), math.log(10.0) * args.p_tol * log10_p_scale)

def num(s):
    if s is None or s == "":
        return None
    return float(s)  # a string of nodes.csv, or an edge's number already parsed


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# The edges.csv columns compare() reads, kept per edge; numbers parsed once (None for "").
EDGE_TEXT = ("from_layer", "to_layer", "significant", "map")
EDGE_NUMBERS = ("e", "ce", "log10_p", "q")


class EdgeRow(tuple):
    """One edge as a tuple (a third of a csv.DictReader row's memory: millions of edges of a
    DenseNet-121 fit), read by column name like a DictReader row."""
    __slots__ = ()
    COLUMNS = {name: k for k, name in enumerate(EDGE_TEXT + EDGE_NUMBERS)}

    def __getitem__(self, name):
        return tuple.__getitem__(self, EdgeRow.COLUMNS[name])

    def get(self, name, default=None):
        k = EdgeRow.COLUMNS.get(name)
        return default if k is None else tuple.__getitem__(self, k)


def read_edges(path):
    """pair -> {(to_neuron, from_neuron): EdgeRow}, and the file's columns."""
    edges = defaultdict(dict)
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        at = {name: k for k, name in enumerate(header)}
        for name in ("pair", "to_neuron", "from_neuron") + EDGE_NUMBERS + EDGE_TEXT[:3]:
            if name not in at:
                raise KeyError(f"{path}: no column {name}")
        text = [at.get(name) for name in EDGE_TEXT]
        numbers = [at[name] for name in EDGE_NUMBERS]
        pair, to, frm = at["pair"], at["to_neuron"], at["from_neuron"]
        intern = sys.intern
        for r in reader:
            row = EdgeRow([intern(r[k]) if k is not None else None for k in text] +
                          [float(r[k]) if r[k] != "" else None for k in numbers])
            edges[int(r[pair])][(int(r[to]), int(r[frm]))] = row
    return edges, header


try:
    import numpy as np
except ImportError:  # the standard-library path does everything, only slower
    np = None

MAP_NAMES = ("direct", "add", "concat", "split", "permute")
FAST_COLUMNS = ("pair", "from_layer", "from_neuron", "to_layer", "to_neuron") + EDGE_NUMBERS + \
    ("significant",)


class FastPair:
    """One pair's edges as NumPy arrays (NaN for an empty field), in file order."""
    __slots__ = ("to", "frm", "e", "ce", "log10_p", "q", "sig", "map", "from_layer", "to_layer")


def read_table_chunked(path, header, map_col):
    """The edges as a float table, parsed by np.fromstring in blocks of 64 MiB: empty fields
    read as NaN. None when the file holds anything but numbers, empty fields and map names."""
    with open(path, "rb") as f:
        f.readline()
        chunks = []
        while True:
            block = f.read(1 << 26)
            if not block:
                break
            if not block.endswith(b"\n"):
                block += f.readline()
            # One pass per map name present: "...,q,significant,add\n" becomes "...,1,\n", so
            # that every value ends with a comma (np.fromstring takes ",\n" as a separator).
            if map_col is not None:
                for code, name in enumerate(MAP_NAMES):
                    token = b"," + name.encode() + b"\n"
                    if token in block:
                        block = block.replace(token, b",%d,\n" % code)
            else:
                block = block.replace(b"\n", b",\n")
            if re.search(rb"[^0-9eE+\-.,\n]", block):
                return None  # text this reader does not know, or "nan"/"inf": the slow path
            rows = block.count(b"\n")
            if b",," in block:  # empty fields (p of an untestable pair)
                block = block.replace(b",,", b",nan,").replace(b",,", b",nan,")
            # A trailing separator would read as one more value (-1).
            block = block.rstrip(b",\n")
            values = np.fromstring(block, dtype=np.float64, sep=",") if block else np.empty(0)
            if values.size != rows * len(header):
                return None
            chunks.append(values.reshape(rows, len(header)))
    return np.concatenate(chunks) if chunks else np.empty((0, len(header)))


def read_table_loadtxt(path, header, map_col):
    """The edges as a float table (the map as its code), by NumPy's C reader (loadtxt, NumPy
    1.23 and later: 6M edges in about 10 s, a quarter of the chunked reader's time); None when
    it cannot (an empty field, an unknown map name, an older NumPy): the chunked reader then
    reads the file."""
    if tuple(int(x) for x in np.__version__.split(".")[:2]) < (1, 23):
        return None
    numeric = [k for k in range(len(header)) if k != map_col]
    try:
        with warnings.catch_warnings():  # a header and no edge is a table of no rows
            warnings.simplefilter("ignore", UserWarning)
            values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=numeric,
                                dtype=np.float64, ndmin=2)
    except ValueError:
        return None
    if not np.isfinite(values).all():
        return None  # "nan" or "inf" written out: the standard-library path reports it
    table = np.empty((values.shape[0], len(header)))
    table[:, :len(numeric)] = values  # the map, if any, is the last column
    del values
    if map_col is not None:
        # The map is the last field: its last two letters name it ("ct" direct, "dd" add, "at"
        # concat, "it" split, "te" permute), read at every line's end.
        raw = np.fromfile(path, dtype=np.uint8)
        ends = np.flatnonzero(raw == ord("\n"))[1:]
        if ends.size != table.shape[0] or (ends.size and ends.min() < 2):
            return None
        tails = raw[ends - 2].astype(np.int64) * 256 + raw[ends - 1]
        codes = np.full(ends.size, -1, dtype=np.int64)
        for code, name in enumerate(MAP_NAMES):
            codes[tails == name.encode()[-2] * 256 + name.encode()[-1]] = code
        if (codes < 0).any():
            return None
        table[:, map_col] = codes
    return table


def read_edges_fast(path):
    """pair -> FastPair, and the header; None when the file holds anything but numbers, empty
    fields and the map names (then the standard-library reader reads it)."""
    if np is None:
        return None
    with open(path, "rb") as f:
        header_line = f.readline().decode().rstrip("\r\n")
        header = header_line.split(",")
        at = {name: k for k, name in enumerate(header)}
        if any(name not in at for name in FAST_COLUMNS):
            return None
        map_col = at.get("map")
        if map_col is not None and map_col != len(header) - 1:
            return None
    table = read_table_loadtxt(path, header, map_col)
    if table is None:
        table = read_table_chunked(path, header, map_col)
    if table is None:
        return None
    pairs = {}
    pair_col = table[:, at["pair"]].astype(np.int64)
    if np.all(pair_col[1:] >= pair_col[:-1]):  # pair by pair, as svr and the oracle write
        bounds = np.flatnonzero(np.diff(pair_col)) + 1
        rows = [slice(a, b) for a, b in zip(np.r_[0, bounds], np.r_[bounds, pair_col.size])]
    else:
        order = np.argsort(pair_col, kind="stable")
        rows = np.split(order, np.flatnonzero(np.diff(pair_col[order])) + 1)
    for idx in rows if pair_col.size else []:
        t = table[idx]
        fp = FastPair()
        fp.to = t[:, at["to_neuron"]].astype(np.int64)
        fp.frm = t[:, at["from_neuron"]].astype(np.int64)
        for name in EDGE_NUMBERS:
            setattr(fp, name, t[:, at[name]])
        fp.sig = t[:, at["significant"]] == 1
        fp.map = t[:, map_col].astype(np.int64) if map_col is not None else None
        fp.from_layer = t[:, at["from_layer"]].astype(np.int64)
        fp.to_layer = t[:, at["to_layer"]].astype(np.int64)
        pairs[int(t[0, at["pair"]])] = fp
    return pairs, header


class EdgeStore:
    """pair -> {(to_neuron, from_neuron): EdgeRow} as read_edges gives, built on demand from
    the arrays of read_edges_fast (only the pairs the standard-library path compares)."""

    def __init__(self, fast):
        self.fast = fast
        self.built = {}

    def __bool__(self):
        return bool(self.fast)

    def get(self, k, default=None):
        if k not in self.fast:
            return default
        if k not in self.built:
            fp = self.fast[k]
            intern = sys.intern
            maps = [MAP_NAMES[int(m)] for m in fp.map] if fp.map is not None else None
            rows = {}
            for n in range(fp.to.size):
                text = [intern(str(int(fp.from_layer[n]))), intern(str(int(fp.to_layer[n]))),
                        "1" if fp.sig[n] else "0", maps[n] if maps is not None else None]
                numbers = [None if math.isnan(x) else float(x) for x in
                           (fp.e[n], fp.ce[n], fp.log10_p[n], fp.q[n])]
                rows[(int(fp.to[n]), int(fp.frm[n]))] = EdgeRow(text + numbers)
            self.built[k] = rows
        return self.built[k]


def renumber_edges(ed, first):
    """Neuron numbers of every edge relative to its layers' first kept neuron."""
    if isinstance(ed, EdgeStore):
        for fp in ed.fast.values():
            if fp.to.size:
                fp.to = fp.to - first.get(int(fp.to_layer[0]), 0)
                fp.frm = fp.frm - first.get(int(fp.from_layer[0]), 0)
        return
    for k, rows in ed.items():
        renumbered = {}
        for (to, frm), row in rows.items():
            a, b = int(row.get("from_layer")), int(row.get("to_layer"))
            renumbered[(to - first.get(b, 0), frm - first.get(a, 0))] = row
        ed[k] = renumbered


def load_dir(d):
    nodes = read_csv(os.path.join(d, "nodes.csv"))
    fast = read_edges_fast(os.path.join(d, "edges.csv"))
    if fast is not None:
        ed, edge_cols = EdgeStore(fast[0]), fast[1]
    else:
        ed, edge_cols = read_edges(os.path.join(d, "edges.csv"))
    with open(os.path.join(d, "summary.json")) as f:  # noqa: SIM115
        summary = json.load(f)
    # Neurons are numbered in the layer's full spectrum (--min-rank keeps the bottom K, from
    # rank - K): compared from each layer's first kept neuron, which must agree.
    first = {}
    for r in nodes:
        l, i = int(r["layer"]), int(r["neuron"])
        first[l] = min(first.get(l, i), i)
    layers = defaultdict(dict)
    names = {}
    for r in nodes:
        l, i = int(r["layer"]), int(r["neuron"])
        layers[l][i - first[l]] = r
        names[l] = r["layer_name"]
    if any(first.values()):
        renumber_edges(ed, first)
    return {"layers": layers, "names": names, "edges": ed, "summary": summary, "first": first,
            "node_cols": list(nodes[0]) if nodes else [],
            "edge_cols": edge_cols if ed else []}


def pair_list(summary, nl):
    """[(from_layer, to_layer)] of every pair: from summary.json, else a chain's."""
    pairs = summary.get("pairs")
    if isinstance(pairs, list) and pairs and all("from_layer" in p for p in pairs):
        return [(int(p["from_layer"]), int(p.get("to_layer", int(p["from_layer"]) + 1)))
                for p in pairs]
    return [(l, l + 1) for l in range(nl - 1)]


class UnionFind:
    def __init__(self, n):
        self.p = list(range(n))

    def find(self, x):
        while self.p[x] != x:
            self.p[x] = self.p[self.p[x]]
            x = self.p[x]
        return x

    def union(self, a, b):
        self.p[self.find(a)] = self.find(b)


def layer_s_max(summary, l):
    """The layer's s_max from summary.json (--min-rank: above every kept value), else 0."""
    layers = summary.get("layers")
    if isinstance(layers, list) and l < len(layers) and isinstance(layers[l], dict):
        x = layers[l].get("s_max")
        if isinstance(x, (int, float)) and math.isfinite(x):
            return abs(float(x))
    return 0.0


def partition(la, lb, cluster_rtol=0.0):
    """Union of the two cluster partitions of a layer: list of block id per neuron. With
    cluster_rtol > 0, consecutive neurons whose singular values (la's) differ by at most
    cluster_rtol * s_max also share a block."""
    n = len(la)
    uf = UnionFind(n)
    if cluster_rtol > 0 and n:
        sig = [float(r["sigma"]) for r in la]
        smax = max(sig)
        for i in range(1, n):
            if abs(sig[i - 1] - sig[i]) <= cluster_rtol * smax:
                uf.union(i, i - 1)
    for rows in (la, lb):
        first = {}
        for i in range(n):
            c = rows[i]["cluster"]
            if c in first:
                uf.union(i, first[c])
            else:
                first[c] = i
    return [uf.find(i) for i in range(n)]


def close_rel(a, b, tol):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def compare_pair_fast(k, lf, lt, A, B, rows, cols, sim, maps_compared, log_alpha, args, rep):
    """The rules of compare() for pair k, on arrays: True when done, False when they do not apply
    (a side read without NumPy, an edge missing on a side, a cluster in either layer), and then
    compare() applies them edge by edge."""
    store_a, store_b = A["edges"], B["edges"]
    if not (isinstance(store_a, EdgeStore) and isinstance(store_b, EdgeStore)):
        return False
    fa, fb = store_a.fast.get(k), store_b.fast.get(k)
    nr, nc = len(rows), len(cols)
    full = nr * nc
    if fa is None or fb is None or full == 0 or fa.to.size != full or fb.to.size != full:
        return False
    if len(set(rows)) != nr or len(set(cols)) != nc:
        return False
    if maps_compared and (fa.map is None or fb.map is None):
        return False
    orders = []
    for f in (fa, fb):
        if f.to.min() < 0 or f.to.max() >= nr or f.frm.min() < 0 or f.frm.max() >= nc:
            return False
        key = f.to * nc + f.frm
        order = np.argsort(key, kind="stable")
        if not np.array_equal(key[order], np.arange(full)):
            return False  # a duplicate edge: compare() reports what it finds
        orders.append(order)
    oa, ob = orders
    to, frm = fa.to[oa], fa.frm[oa]
    pairs_a, pairs_b = A["summary"].get("pairs", []), B["summary"].get("pairs", [])

    def value(x):
        return None if math.isnan(x) else float(x)

    if maps_compared:
        ma, mb = fa.map[oa], fb.map[ob]
        for n in np.flatnonzero(ma != mb):
            rep.err("map", f"pair {k} to {to[n]} from {frm[n]}: {MAP_NAMES[ma[n]]!r} vs "
                    f"{MAP_NAMES[mb[n]]!r}")
    for f, pairs_s in ((fa, pairs_a), (fb, pairs_b)):
        pm = pairs_s[k].get("map") if k < len(pairs_s) else None
        bad_map = np.zeros(full, dtype=bool)
        if maps_compared and pm is not None:
            bad_map = f.map != (MAP_NAMES.index(pm) if pm in MAP_NAMES else -1)
        bad_layer = (f.from_layer != lf) | (f.to_layer != lt)
        bad = np.flatnonzero(bad_map | bad_layer)
        if bad.size:  # the first in file order, as compare() reports it
            n = bad[0]
            if bad_map[n]:
                rep.err("map", f"pair {k} to {f.to[n]} from {f.frm[n]}: "
                        f"{MAP_NAMES[f.map[n]]!r}, but the pair's map is {pm!r}")
            else:
                rep.err("edges", f"pair {k} to {f.to[n]} from {f.frm[n]}: layers "
                        f"{f.from_layer[n]} -> {f.to_layer[n]}, the pair is {lf} -> {lt}")
    ea, eb = fa.e[oa], fb.e[ob]
    for n in np.flatnonzero((np.abs(ea - eb) > args.e_atol) | (np.isnan(ea) != np.isnan(eb))):
        rep.err("E", f"pair {k} edge to {to[n]} from {frm[n]}: {value(ea[n])!r} vs "
                f"{value(eb[n])!r}")
    c = (pairs_a[k] if k < len(pairs_a) else {}).get("c")
    thr = (pairs_a[k] if k < len(pairs_a) else {}).get("e_threshold")
    if c is not None:
        ca, cb = fa.ce[oa], fb.ce[ob]
        for n in np.flatnonzero(np.abs(ca - cb) > args.e_atol * c):
            rep.err("ce", f"pair {k} to {to[n]} from {frm[n]}: {value(ca[n])} vs {value(cb[n])}")
    if k in sim:
        return True
    pa, pb = fa.log10_p[oa], fb.log10_p[ob]
    na, nb = np.isnan(pa), np.isnan(pb)
    for n in np.flatnonzero(na != nb):
        rep.err("log10_p", f"pair {k} to {to[n]} from {frm[n]}: {value(pa[n])!r} vs "
                f"{value(pb[n])!r}")
    with np.errstate(invalid="ignore"):
        scale = np.maximum(1.0, np.maximum(np.abs(pa), np.abs(pb)))
        close = (pa == pb) | (np.abs(pa - pb) <= args.p_tol * scale)
    for n in np.flatnonzero(~na & ~nb & ~close):
        rep.err("log10_p", f"pair {k} to {to[n]} from {frm[n]}: {float(pa[n])!r} vs "
                f"{float(pb[n])!r} (diff {abs(pa[n] - pb[n]):.3g})")
    qa, qb = fa.q[oa], fb.q[ob]
    qna, qnb = np.isnan(qa), np.isnan(qb)
    for n in np.flatnonzero(qna != qnb):
        rep.err("q", f"pair {k} to {to[n]} from {frm[n]}: {value(qa[n])!r} vs {value(qb[n])!r}")
    with np.errstate(invalid="ignore"):
        top = np.maximum(qa, qb)
        q_scale = np.nan_to_num(scale, nan=1.0)
        far = (np.abs(qa - qb) > q_tol(args, q_scale) * top) & (top > 1e-300)
    for n in np.flatnonzero(~qna & ~qnb & far):
        rep.err("q", f"pair {k} to {to[n]} from {frm[n]}: {float(qa[n])!r} vs {float(qb[n])!r}")
    sig_a, sig_b = fa.sig[oa], fb.sig[ob]
    for n in np.flatnonzero(sig_a != sig_b):
        excused = False
        for e, q in ((ea[n], qa[n]), (eb[n], qb[n])):
            if thr is not None:
                excused = excused or abs(e - thr) <= args.threshold_window
            elif not math.isnan(q) and q > 0 and \
                    abs(math.log10(q) - log_alpha) <= args.threshold_window:
                excused = True
        if excused:
            rep.warn(f"pair {k} to {to[n]} from {frm[n]}: significance differs at the threshold "
                     "(excused)")
        else:
            side = "A" if sig_a[n] else "B"
            rep.err("significant", f"pair {k} to {to[n]} from {frm[n]}: significant only in "
                    f"{side} (e={value(ea[n])}, log10_p={value(pa[n])}, q={value(qa[n])})")
    return True


def compare(A, B, args, rep):
    la_, lb_ = A["layers"], B["layers"]
    sa, sb = A["summary"], B["summary"]
    opts = sa.get("options", {}) or {}
    tau = opts.get("near_kernel_tau", 1e-2) or 1e-2
    alpha = opts.get("alpha", 0.05) or 0.05
    if (sb.get("options", {}) or {}).get("alpha", alpha) != alpha:
        rep.err("options", f"alpha {alpha} vs {sb['options'].get('alpha')}")
    log_alpha = math.log10(alpha)

    # ---------------------------------------------------------------- nodes
    if sorted(la_) != sorted(lb_):
        rep.err("layers", f"layer indices {sorted(la_)} vs {sorted(lb_)}")
        return
    blocks, singleton_layer = {}, {}
    for l in sorted(la_):
        if A["first"].get(l, 0) != B["first"].get(l, 0):
            rep.err("layers", f"layer {l}: first neuron {A['first'].get(l, 0)} vs "
                    f"{B['first'].get(l, 0)}")
            return
        if A["names"][l] != B["names"][l] and not args.ignore_layer_names:
            rep.err("layers", f"layer {l}: name {A['names'][l]} vs {B['names'][l]}")
        na, nb = la_[l], lb_[l]
        if sorted(na) != sorted(nb) or sorted(na) != list(range(len(na))):
            rep.err("layers", f"layer {l}: {len(na)} vs {len(nb)} neurons")
            return
        ra = [na[i] for i in range(len(na))]
        rb = [nb[i] for i in range(len(nb))]
        smax = max(abs(num(ra[0]["sigma"])), abs(num(rb[0]["sigma"])),
                   layer_s_max(sa, l), layer_s_max(sb, l))
        for i in range(len(ra)):
            x, y = num(ra[i]["sigma"]), num(rb[i]["sigma"])
            if abs(x - y) > args.sigma_rtol * smax:
                rep.err("sigma", f"layer {l} neuron {i}: {x!r} vs {y!r} "
                        f"(diff {abs(x - y) / smax if smax else abs(x - y):.3g} of s_max)")
            if ra[i]["near_kernel"] != rb[i]["near_kernel"] and \
                    abs(x - tau * smax) > args.sigma_rtol * smax:
                rep.err("near_kernel", f"layer {l} neuron {i}: {ra[i]['near_kernel']} vs "
                        f"{rb[i]['near_kernel']}")
        blk = partition(ra, rb, args.cluster_rtol)
        pa = [r["cluster"] for r in ra]
        pb = [r["cluster"] for r in rb]
        if [pa.index(c) for c in pa] != [pb.index(c) for c in pb]:
            rep.warn(f"layer {l}: the two cluster partitions differ; using their union")
        blocks[l] = blk
        singleton_layer[l] = len(set(blk)) == len(blk)
    nl = len(la_)
    plist = pair_list(sa, nl)
    plist_b = pair_list(sb, nl)
    if plist != plist_b:
        rep.err("pairs", f"pairs (from_layer, to_layer) differ: {plist} vs {plist_b}")
        return
    for k, (f, t) in enumerate(plist):
        if f not in la_ or t not in la_:
            rep.err("pairs", f"pair {k}: ({f}, {t}) names a layer that has no node")
            return
    readers = defaultdict(list)
    for f, t in plist:
        readers[f].append(t)
    if "group" in A["node_cols"] and "group" in B["node_cols"]:
        for l in sorted(la_):
            by_block_a, by_block_b = defaultdict(list), defaultdict(list)
            for i in range(len(la_[l])):
                ga, gb = la_[l][i].get("group"), lb_[l][i].get("group")
                by_block_a[blocks[l][i]].append(ga)
                by_block_b[blocks[l][i]].append(gb)
                if ga != gb and singleton_layer[l]:
                    rep.err("group", f"layer {l} neuron {i}: {ga} vs {gb}")
            if not singleton_layer[l]:
                for b in by_block_a:
                    if sorted(by_block_a[b]) != sorted(by_block_b[b]):
                        rep.err("group", f"layer {l} cluster block {b}: groups "
                                f"{sorted(by_block_a[b])} vs {sorted(by_block_b[b])}")
    elif ("group" in A["node_cols"]) != ("group" in B["node_cols"]):
        rep.warn("nodes.csv column group is in one directory only; not compared")
    for l in range(nl):
        well = singleton_layer[l] and all(singleton_layer[t] for t in readers[l])
        if not well:
            continue
        for i in range(len(la_[l])):
            x, y = num(la_[l][i]["intensity"]), num(lb_[l][i]["intensity"])
            if x is None or y is None:
                if (x is None) != (y is None):
                    rep.err("intensity", f"layer {l} neuron {i}: {x} vs {y}")
                continue
            if abs(x - y) > derived(args, 1e-9):
                rep.err("intensity", f"layer {l} neuron {i}: {x!r} vs {y!r}")

    # ---------------------------------------------------------------- edges
    pairs_a = sa.get("pairs", [])
    pairs_b = sb.get("pairs", [])
    sim = set()
    for k, (pa, pb) in enumerate(zip(pairs_a, pairs_b)):
        if "sim" in str(pa.get("null", "")).lower() or "sim" in str(pb.get("null", "")).lower():
            sim.add(k)
    maps_compared = "map" in A["edge_cols"] and "map" in B["edge_cols"]
    if not maps_compared and A["edge_cols"] and B["edge_cols"] and \
            ("map" in A["edge_cols"]) != ("map" in B["edge_cols"]):
        rep.warn("edges.csv column map is in one directory only; not compared")
    for k, (lf, lt) in enumerate(plist):
        rows, cols = blocks[lt], blocks[lf]
        full = len(rows) * len(cols)
        if compare_pair_fast(k, lf, lt, A, B, rows, cols, sim, maps_compared, log_alpha, args, rep):
            continue
        ea, eb = A["edges"].get(k, {}), B["edges"].get(k, {})
        if maps_compared:
            for key in set(ea) & set(eb):
                if ea[key]["map"] != eb[key]["map"]:
                    rep.err("map", f"pair {k} to {key[0]} from {key[1]}: {ea[key]['map']!r} vs "
                            f"{eb[key]['map']!r}")
        for ed, pairs_s in ((ea, pairs_a), (eb, pairs_b)):
            pm = pairs_s[k].get("map") if k < len(pairs_s) else None
            for key, r in ed.items():
                if maps_compared and pm is not None and r["map"] != pm:
                    rep.err("map", f"pair {k} to {key[0]} from {key[1]}: {r['map']!r}, "
                            f"but the pair's map is {pm!r}")
                    break
                if (int(r["from_layer"]), int(r["to_layer"])) != (lf, lt):
                    rep.err("edges", f"pair {k} to {key[0]} from {key[1]}: layers "
                            f"{r['from_layer']} -> {r['to_layer']}, the pair is {lf} -> {lt}")
                    break
        all_a, all_b = len(ea) == full, len(eb) == full
        if args.all_edges_in_both and not (all_a and all_b):
            rep.err("edges", f"pair {k}: not every edge present ({len(ea)}, {len(eb)} of {full})")
            continue
        both_all = all_a and all_b
        pc = (pairs_a[k] if k < len(pairs_a) else {})
        c = pc.get("c")
        thr = pc.get("e_threshold")

        def sig_set(ed):
            return {key for key, r in ed.items() if r["significant"] in ("1", "true", "True")}
        if both_all:
            keys = set(ea)
        else:
            # one side holds only significant edges: compare on significant edges
            keys = sig_set(ea) | sig_set(eb)
            if not (all_a or all_b):
                rep.warn(f"pair {k}: neither directory has all edges; comparing significant ones")
        nrow, ncol = Counter(rows), Counter(cols)
        if max(nrow.values(), default=1) == 1 and max(ncol.values(), default=1) == 1:
            # No cluster on either side: every block is one edge (the common case, and the
            # fast one for the millions of edges of a DenseNet).
            clustered, bsize = set(), {}
            for key in keys:
                ra, rb = ea.get(key), eb.get(key)
                x = ra["e"] if ra is not None else 0.0
                y = rb["e"] if rb is not None else 0.0
                if abs(x - y) > args.e_atol:
                    rep.err("E", f"pair {k} edge to {rows[key[0]]} from {cols[key[1]]}: "
                            f"{x!r} vs {y!r}")
        else:
            # block sums of E
            bs_a, bs_b, bsize = defaultdict(float), defaultdict(float), defaultdict(int)
            for key in keys:
                j, i = key
                b = (rows[j], cols[i])
                bsize[b] += 1
                if key in ea:
                    bs_a[b] += num(ea[key]["e"])
                if key in eb:
                    bs_b[b] += num(eb[key]["e"])
            clustered = set()
            for key in keys:
                j, i = key
                if nrow[rows[j]] > 1 or ncol[cols[i]] > 1:
                    clustered.add((rows[j], cols[i]))
        for b in bsize:
            if b in clustered and not both_all:
                continue
            if abs(bs_a[b] - bs_b[b]) > args.e_atol * max(1, bsize[b]):
                what = "edge" if b not in clustered else "cluster block sum"
                rep.err("E", f"pair {k} {what} to {b[0]} from {b[1]}: {bs_a[b]!r} vs {bs_b[b]!r}")
        sig_a, sig_b = sig_set(ea), sig_set(eb)
        for key in keys:
            j, i = key
            b = (rows[j], cols[i])
            ra, rb = ea.get(key), eb.get(key)
            if ra is None or rb is None:
                if b in clustered:
                    continue
                # present (significant) on one side only: flagged by the significance check
                continue
            if b in clustered:
                continue
            if c is not None:
                if abs(num(ra["ce"]) - num(rb["ce"])) > args.e_atol * c:
                    rep.err("ce", f"pair {k} to {j} from {i}: {ra['ce']} vs {rb['ce']}")
            if k in sim:
                continue
            pa, pb = num(ra["log10_p"]), num(rb["log10_p"])
            if (pa is None) != (pb is None):
                rep.err("log10_p", f"pair {k} to {j} from {i}: {ra['log10_p']!r} vs {rb['log10_p']!r}")
            elif pa is not None and not (pa == pb or close_rel(pa, pb, args.p_tol)):
                rep.err("log10_p", f"pair {k} to {j} from {i}: {pa!r} vs {pb!r} "
                        f"(diff {abs(pa - pb):.3g})")
            qa, qb = num(ra["q"]), num(rb["q"])
            if (qa is None) != (qb is None):
                rep.err("q", f"pair {k} to {j} from {i}: {ra['q']!r} vs {rb['q']!r}")
            elif qa is not None and max(qa, qb) > 1e-300 and abs(qa - qb) > q_tol(
                    args, max(1.0, abs(pa or 0.0), abs(pb or 0.0))) * max(qa, qb):
                rep.err("q", f"pair {k} to {j} from {i}: {qa!r} vs {qb!r}")
        if k in sim:
            continue
        # significance
        for key in sorted(sig_a ^ sig_b):
            j, i = key
            b = (rows[j], cols[i])
            if b in clustered:
                continue
            r = ea.get(key) or eb.get(key)
            excused = False
            for rr in (ea.get(key), eb.get(key)):
                if rr is None:
                    continue
                if thr is not None:
                    if abs(num(rr["e"]) - thr) <= args.threshold_window:
                        excused = True
                else:
                    q = num(rr["q"])
                    if q is not None and q > 0 and \
                            abs(math.log10(q) - log_alpha) <= args.threshold_window:
                        excused = True
            if excused:
                rep.warn(f"pair {k} to {j} from {i}: significance differs at the threshold (excused)")
            else:
                side = "A" if key in sig_a else "B"
                rep.err("significant", f"pair {k} to {j} from {i}: significant only in {side} "
                        f"(e={r['e']}, log10_p={r['log10_p']}, q={r['q']})")
        cnt_a = Counter((rows[j], cols[i]) for j, i in sig_a)
        cnt_b = Counter((rows[j], cols[i]) for j, i in sig_b)
        for b in clustered:
            na, nb = cnt_a[b], cnt_b[b]
            if na != nb:
                rep.warn(f"pair {k} cluster block {b}: {na} vs {nb} significant edges "
                         "(not defined inside clusters)")

    # ---------------------------------------------------------------- summary
    if len(pairs_a) != len(pairs_b):
        rep.err("summary", f"{len(pairs_a)} vs {len(pairs_b)} pairs")
    for k, (pa, pb) in enumerate(zip(pairs_a, pairs_b)):
        lf, lt = plist[k] if k < len(plist) else (k, k + 1)
        clus = lt < nl and not (singleton_layer.get(lf, True) and singleton_layer.get(lt, True))
        for f in ("from_layer", "to_layer", "map", "channels_read"):
            if f in pa and f in pb and pa[f] != pb[f]:
                rep.err("summary", f"pair {k} {f}: {pa[f]} vs {pb[f]}")
        xa, xb = pa.get("intensity"), pb.get("intensity")
        if isinstance(xa, list) and isinstance(xb, list):
            if len(xa) != len(xb):
                rep.err("summary", f"pair {k} intensity: {len(xa)} vs {len(xb)} entries")
            elif not clus:
                for i, (x, y) in enumerate(zip(xa, xb)):
                    if (x is None) != (y is None) or \
                            (x is not None and abs(x - y) > derived(args, 1e-9)):
                        rep.err("summary", f"pair {k} intensity of neuron {i}: {x!r} vs {y!r}")
        for f in ("c", "z", "edges_tested"):
            if f == "edges_tested" and k in sim:
                continue  # the oracle does not simulate, so it tests no edge there
            if f in pa and f in pb and pa[f] != pb[f]:
                rep.err("summary", f"pair {k} {f}: {pa[f]} vs {pb[f]}")
        if k not in sim and "significant" in pa and "significant" in pb \
                and pa["significant"] != pb["significant"]:
            msg = f"pair {k} significant: {pa['significant']} vs {pb['significant']}"
            if clus or any("excused" in w for w in rep.warnings):
                rep.warn(msg + " (clusters or excused edges)")
            else:
                rep.err("summary", msg)
        ia, ib = pa.get("internal_dims"), pb.get("internal_dims")
        if ia is not None and ib is not None and ia != ib:
            (rep.warn if clus else lambda m: rep.err("summary", m))(
                f"pair {k} internal_dims: {ia} vs {ib}")
        for f in ("entropy", "entropy_normalized"):
            x, y = pa.get(f), pb.get(f)
            if x is None or y is None:
                if (x is None) != (y is None) and f in pa and f in pb:
                    rep.err("summary", f"pair {k} {f}: {x} vs {y}")
                continue
            if not close_rel(x, y, derived(args, 1e-9)):
                (rep.warn if clus else lambda m: rep.err("summary", m))(
                    f"pair {k} {f}: {x!r} vs {y!r}")
    any_clus = not all(singleton_layer.values())
    pma, pmb = sa.get("path_metric") or {}, sb.get("path_metric") or {}
    for f in ("log10_weighted", "log10_unweighted"):
        x, y = pma.get(f), pmb.get(f)
        if x is None or y is None:
            rep.err("summary", f"path_metric.{f} missing: {x} vs {y}")
            continue
        if not close_rel(x, y, derived(args, 1e-9)):
            (rep.warn if any_clus else lambda m: rep.err("summary", m))(f"{f}: {x!r} vs {y!r}")
    compare_chains(sa, sb, blocks, args, rep)
    la, lb = sa.get("layers"), sb.get("layers")
    if isinstance(la, list) and isinstance(lb, list):
        if len(la) != len(lb):
            rep.err("summary", f"{len(la)} vs {len(lb)} layers")
        for k, (x, y) in enumerate(zip(la, lb)):
            for f in (("rank", "kept") if args.ignore_layer_names else ("name", "rank", "kept")):
                if f in x and f in y and x[f] != y[f]:
                    rep.err("summary", f"layer {k} {f}: {x[f]} vs {y[f]}")
            fx, fy = x.get("folded_bn") or "", y.get("folded_bn") or ""
            if ("folded_bn" in x and "folded_bn" in y) and fx != fy and \
                    not args.ignore_layer_names:
                rep.err("summary", f"layer {k} folded_bn: {fx!r} vs {fy!r}")


def compare_chains(sa, sb, blocks, args, rep):
    """top_chains of both summaries, when both have them."""
    ca, cb = sa.get("top_chains"), sb.get("top_chains")
    if not (isinstance(ca, list) and isinstance(cb, list)):
        return
    size = {l: Counter(blk) for l, blk in blocks.items()}
    excused = any("excused" in w for w in rep.warnings)

    def layers_of(ch):
        if isinstance(ch.get("layers"), list):
            return [int(x) for x in ch["layers"]]
        return list(range(int(ch["start_layer"]), int(ch["start_layer"]) + len(ch["neurons"])))

    def clustered(ch):
        return any(size.get(l, Counter()).get(blocks[l][n] if l in blocks and n < len(blocks[l])
                                              else None, 1) > 1
                   for l, n in zip(layers_of(ch), ch.get("neurons", [])))
    if len(ca) != len(cb):
        msg = f"top_chains: {len(ca)} vs {len(cb)} chains"
        if excused or any(clustered(c) for c in ca + cb):
            rep.warn(msg + " (clusters or excused edges)")
        else:
            rep.err("chains", msg)
    for k, (x, y) in enumerate(zip(ca, cb)):
        same = layers_of(x) == layers_of(y) and x.get("neurons") == y.get("neurons")
        if not same:
            msg = (f"chain {k}: layers {layers_of(x)} neurons {x.get('neurons')} vs layers "
                   f"{layers_of(y)} neurons {y.get('neurons')}")
            if excused or clustered(x) or clustered(y):
                rep.warn(msg + " (clusters or excused edges)")
            else:
                rep.err("chains", msg)
            continue
        for f in ("start_layer", "end_layer", "length"):
            if f in x and f in y and x[f] != y[f]:
                rep.err("chains", f"chain {k} {f}: {x[f]} vs {y[f]}")
        pa, pb = x.get("weakest_log10_p"), y.get("weakest_log10_p")
        if pa is not None and pb is not None and not (pa == pb or close_rel(pa, pb, args.p_tol)):
            rep.err("chains", f"chain {k} weakest_log10_p: {pa!r} vs {pb!r}")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Compare two svr output directories per "
                                             "SVR-SPEC.md section 6 (exit 0: agree, 1: differ).")
    ap.add_argument("dir_a")
    ap.add_argument("dir_b")
    ap.add_argument("--all-edges-in-both", action="store_true",
                    help="require both directories to hold every edge (svr --all-edges)")
    ap.add_argument("--sigma-rtol", type=float, default=1e-10,
                    help="singular values, relative to the layer's s_max (default 1e-10)")
    ap.add_argument("--e-atol", type=float, default=1e-12,
                    help="E per edge / per cluster-block entry (default 1e-12)")
    ap.add_argument("--p-tol", type=float, default=1e-9,
                    help="log10_p absolute, relative above magnitude 1 (default 1e-9)")
    ap.add_argument("--threshold-window", type=float, default=1e-12,
                    help="edges with |log10 q - log10 alpha| (or |E - e_threshold|) below "
                         "this may differ in significance (default 1e-12)")
    ap.add_argument("--cluster-rtol", type=float, default=0.0,
                    help="also treat neurons whose singular values are within this times "
                         "s_max as one cluster block (default 0: the cluster columns only); "
                         "single precision moves the vectors of close values by ~1e-7 / gap")
    ap.add_argument("--derived-tol", type=float, default=0.0,
                    help="raises the tolerances of the quantities derived from s and E "
                         "(intensity 1e-9, q 1e-8 relative, entropy and path metrics 1e-9 "
                         "relative) to this, e.g. for an svr run with --precision single")
    ap.add_argument("--ignore-layer-names", action="store_true",
                    help="do not compare layer names and folded BN names (e.g. a BN net with "
                         "--batchnorm ignore against its plain twin)")
    args = ap.parse_args(argv)
    try:
        A, B = load_dir(args.dir_a), load_dir(args.dir_b)
    except (OSError, ValueError, KeyError) as e:
        print(f"compare_outputs: cannot read: {e}", file=sys.stderr)
        return 2
    rep = Report()
    compare(A, B, args, rep)
    rep.print()
    if rep.errors:
        print(f"outputs differ: {args.dir_a} vs {args.dir_b}")
        return 1
    print(f"outputs agree: {args.dir_a} vs {args.dir_b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

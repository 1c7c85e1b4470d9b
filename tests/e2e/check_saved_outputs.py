#!/usr/bin/env python3
"""Checks svr's optional and derived outputs against its own CSVs and the model's weights.

check_saved_outputs.py --svr BIN MODEL.safetensors [svr options...]

Runs svr with --all-edges --save-spectra --save-adjacency and checks that
- spectra.safetensors: U and V have orthonormal columns, S equals nodes.csv's sigma, each u_i's
  largest-magnitude entry is positive, and U diag(S) V^T is the layer's matrix (BN folded, as the
  NumPy oracle builds it); when only some triplets are kept (--max-rank, --min-rank), that
  M V = U diag(S) and M^T U = V diag(S) to 1e-9 s_max;
- with --min-rank, both files' "first_neurons" metadata equal summary.json's first_neuron;
- adjacency.safetensors: every pair's E equals the e column of edges.csv (neurons numbered from
  each layer's first_neuron);
- graph.graphml (networkx): one node per row of nodes.csv, one edge per significant edge.
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import svr_oracle  # noqa: E402
from svr_e2e import oracle_options  # noqa: E402
from safetensors_np import read_safetensors  # noqa: E402


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--svr", required=True)
    ap.add_argument("model")
    ap.add_argument("options", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="svr_saved_")
    try:
        out = os.path.join(work, "out")
        cmd = [a.svr, a.model, "-o", out, "--quiet", "--all-edges", "--save-spectra",
               "--save-adjacency"] + a.options
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            fail("svr failed: " + proc.stderr)
        check(out, a)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("passed")


def check(out, a):
    with open(os.path.join(out, "nodes.csv")) as f:
        nodes = list(csv.DictReader(f))
    with open(os.path.join(out, "edges.csv")) as f:
        edges = list(csv.DictReader(f))
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    spectra, _, spectra_meta = read_safetensors(os.path.join(out, "spectra.safetensors"))
    adjacency, _, adjacency_meta = read_safetensors(os.path.join(out, "adjacency.safetensors"))
    first = [int(info["first_neuron"]) for info in summary["layers"]]
    for label, meta in (("spectra", spectra_meta), ("adjacency", adjacency_meta)):
        recorded = json.loads(meta["first_neurons"]) if "first_neurons" in meta else \
            [0] * len(first)
        if recorded != first:
            fail("%s.safetensors: first_neurons %s, summary.json %s" % (label, recorded, first))

    # The oracle's own reading of the model gives the matrices svr factored.
    oracle_args = svr_oracle.parse_args([a.model, "-o", "unused"] + oracle_options(a.options))
    layers = svr_oracle.load_layers(a.model, oracle_args)
    if len(layers) != len(summary["layers"]):
        fail("layer count differs from the oracle's reading")
    for index, (layer, info) in enumerate(zip(layers, summary["layers"])):
        name = info["name"]
        U, S, V = (spectra[name + suffix] for suffix in (".U", ".S", ".V"))
        M = svr_oracle.layer_matrix(layer["W"], oracle_args.method)
        r = S.size
        if U.shape != (M.shape[0], r) or V.shape != (M.shape[1], r):
            fail("%s: U %s, V %s for M %s" % (name, U.shape, V.shape, M.shape))
        for F, label in ((U, "U"), (V, "V")):
            if np.abs(F.T @ F - np.eye(r)).max() > 1e-10:
                fail("%s: %s is not orthonormal" % (name, label))
        sigma = np.array([float(n["sigma"]) for n in nodes if int(n["layer"]) == index])
        if not np.array_equal(sigma, S):
            fail("%s: S differs from nodes.csv" % name)
        largest = U[np.abs(U).argmax(axis=0), np.arange(r)]
        if (largest <= 0).any():
            fail("%s: a u_i whose largest-magnitude entry is not positive" % name)
        if r == min(M.shape) and np.abs(U @ np.diag(S) @ V.T - M).max() > 1e-10 * S[0]:
            fail("%s: U diag(S) V^T is not the layer's matrix" % name)
        s_max = float(info["s_max"])
        if r < min(M.shape) and max(np.abs(M @ V - U * S).max(),
                                    np.abs(M.T @ U - V * S).max()) > 1e-9 * s_max:
            fail("%s: the kept triplets are not singular triplets of the layer's matrix" % name)
        ids = [int(n["neuron"]) for n in nodes if int(n["layer"]) == index]
        if ids != list(range(first[index], first[index] + r)):
            fail("%s: nodes.csv numbers its neurons %s..., first_neuron is %d" % (
                name, ids[:3], first[index]))
    for pair in range(len(layers) - 1):
        E = adjacency["pair%d.E" % pair]
        from_csv = np.zeros_like(E)
        for row in edges:
            if int(row["pair"]) == pair:
                a, b = int(row["from_layer"]), int(row["to_layer"])
                from_csv[int(row["to_neuron"]) - first[b],
                         int(row["from_neuron"]) - first[a]] = float(row["e"])
        if not np.array_equal(E, from_csv):
            fail("pair %d: adjacency E differs from edges.csv" % pair)
    try:
        import networkx
    except ImportError:
        fail("networkx is not installed (scripts/install-deps.sh installs python3-networkx)")
    graph = networkx.read_graphml(os.path.join(out, "graph.graphml"))
    significant = sum(1 for row in edges if row["significant"] == "1")
    if graph.number_of_nodes() != len(nodes) or graph.number_of_edges() != significant:
        fail("graphml has %d nodes, %d edges; expected %d, %d" % (
            graph.number_of_nodes(), graph.number_of_edges(), len(nodes), significant))
    print("checked %d layers, %d pairs, %d nodes, %d significant edges" % (
        len(layers), len(layers) - 1, len(nodes), significant))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""End-to-end check of `svr aggregate` on real svr runs (stdlib only).

check_aggregate.py --svr BIN MODEL [MODEL...]

Runs svr on every MODEL into OUTROOT/<i>-<name> (as a Slurm job array does), leaves an
unfinished staging directory beside them, runs `svr aggregate OUTROOT -o TABLE.csv` and checks:
- TABLE.csv has one row per pair of each model, in model order, and its significant, edges_tested
  and layer names equal each summary.json; its significant counts equal the significant rows of
  the model's edges.csv;
- TABLE-models.csv has one row per model whose totals equal the sums over summary.json;
- the three SVG plots parse as XML and draw one marker per value;
- the staging directory is named in a warning (and is an error with --strict, leaving no table);
- a malformed summary.json fails with one line naming it and leaves no table;
- a second aggregate gives byte-identical files.
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--svr", required=True)
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="svr_aggregate_")
    try:
        check(a, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("passed")


def check(a, work):
    root = os.path.join(work, "outroot")
    os.mkdir(root)
    runs = []
    for i, model in enumerate(a.models):
        slug = os.path.splitext(os.path.basename(model))[0]
        outdir = os.path.join(root, "%d-%s" % (i, slug))
        proc = run([a.svr, model, "-o", outdir, "--quiet"])
        expect(proc.returncode == 0, "svr failed on %s: %s" % (model, proc.stderr))
        runs.append(outdir)
    staging = os.path.join(root, "%d-killed.partial-999-abcd" % len(a.models))
    os.mkdir(staging)

    table = os.path.join(work, "sweep.csv")
    proc = run([a.svr, "aggregate", root, "-o", table])
    expect(proc.returncode == 0, "aggregate failed: " + proc.stderr)
    expect(staging in proc.stderr and "incomplete" in proc.stderr,
           "no warning about the staging directory: " + proc.stderr)

    rows = read_csv(table)
    models = read_csv(os.path.join(work, "sweep-models.csv"))
    expect(len(models) == len(runs), "%d model rows for %d runs" % (len(models), len(runs)))
    at = 0
    for i, outdir in enumerate(runs):
        with open(os.path.join(outdir, "summary.json")) as f:
            summary = json.load(f)
        edges = read_csv(os.path.join(outdir, "edges.csv"))
        pairs = summary["pairs"]
        mine = rows[at:at + len(pairs)]
        at += len(pairs)
        expect(len(mine) == len(pairs), "%s: %d rows for %d pairs" % (outdir, len(mine), len(pairs)))
        for pair, row in zip(pairs, mine):
            where = "%s pair %d" % (outdir, pair["index"])
            expect(row["run_index"] == str(i), where + ": run_index " + row["run_index"])
            expect(row["run_dir"] == outdir, where + ": run_dir " + row["run_dir"])
            expect(row["model"] == summary["model"], where + ": model " + row["model"])
            expect(row["input_sha256"] == summary["run"]["input_sha256"], where + ": sha256")
            expect(row["pair"] == str(pair["index"]), where + ": pair " + row["pair"])
            expect(row["from_name"] == pair["from_name"] and row["to_name"] == pair["to_name"],
                   where + ": layer names")
            expect(int(row["edges_tested"]) == pair["edges_tested"], where + ": edges_tested")
            expect(int(row["significant"]) == pair["significant"], where + ": significant")
            in_edges = sum(1 for e in edges if e["pair"] == row["pair"] and e["significant"] == "1")
            expect(int(row["significant"]) == in_edges,
                   where + ": %s significant, edges.csv has %d" % (row["significant"], in_edges))
            if pair["edges_tested"]:
                expect(abs(float(row["fraction_significant"]) -
                           pair["significant"] / pair["edges_tested"]) < 1e-15, where + ": fraction")
            expect(float(row["entropy_normalized"]) == pair["entropy_normalized"], where + ": entropy")

        m = models[i]
        expect(m["run_dir"] == outdir, "models row %d: run_dir %s" % (i, m["run_dir"]))
        expect(int(m["layers"]) == len(summary["layers"]), outdir + ": layers")
        expect(int(m["pairs"]) == len(pairs), outdir + ": pairs")
        expect(int(m["significant"]) == sum(p["significant"] for p in pairs), outdir + ": significant")
        expect(int(m["significant"]) == sum(1 for e in edges if e["significant"] == "1"),
               outdir + ": significant against edges.csv")
        expect(int(m["near_kernel"]) == sum(l["near_kernel_count"] for l in summary["layers"]),
               outdir + ": near_kernel")
        expect(int(m["chains"]) == len(summary["top_chains"]), outdir + ": chains")
        expect(int(m["longest_chain"]) == max([c["length"] for c in summary["top_chains"]] or [0]),
               outdir + ": longest_chain")
        expect(float(m["log10_path_weighted"]) == summary["path_metric"]["log10_weighted"],
               outdir + ": path metric")
        wall = sum(summary["run"]["seconds_per_phase"].values())
        expect(abs(float(m["wall_seconds"]) - wall) <= 1e-12 * max(1.0, wall), outdir + ": wall_seconds")
    expect(at == len(rows), "%d rows beyond the runs' pairs" % (len(rows) - at))

    # Plots: XML, one marker per pair and run in the pair plots, per run and series in the other.
    n_pairs = len(rows)
    for name, markers in (("significant", n_pairs), ("entropy", n_pairs), ("models", 3 * len(runs))):
        path = os.path.join(work, "sweep-%s.svg" % name)
        try:
            svg = ET.parse(path).getroot()
        except ET.ParseError as e:
            fail("%s: not XML: %s" % (path, e))
        expect(svg.tag == SVG + "svg", path + ": root " + svg.tag)
        points = [c for c in svg.iter(SVG + "circle") if c.get("class") == "point"]
        expect(len(points) == markers, "%s: %d markers, expected %d" % (path, len(points), markers))

    # Same input, same bytes.
    before = {}
    for name in os.listdir(work):
        if os.path.isfile(os.path.join(work, name)):
            with open(os.path.join(work, name), "rb") as f:
                before[name] = f.read()
    proc = run([a.svr, "aggregate", root, "-o", table])
    expect(proc.returncode == 0, "second aggregate failed: " + proc.stderr)
    for name, data in before.items():
        with open(os.path.join(work, name), "rb") as f:
            expect(f.read() == data, name + " differs on a second aggregate")

    # --strict: the staging directory is an error and nothing is written.
    strict_table = os.path.join(work, "strict.csv")
    proc = run([a.svr, "aggregate", root, "-o", strict_table, "--strict"])
    expect(proc.returncode == 1, "--strict exit %d" % proc.returncode)
    expect(not os.path.exists(strict_table), "--strict left a table")

    # A malformed summary.json: exit 1, one line naming it, no table.
    shutil.rmtree(staging)
    broken = os.path.join(runs[-1], "summary.json")
    with open(broken) as f:
        text = f.read()
    with open(broken, "w") as f:
        f.write(text[: len(text) // 2])
    bad_table = os.path.join(work, "bad.csv")
    proc = run([a.svr, "aggregate", root, "-o", bad_table])
    expect(proc.returncode == 1, "malformed summary.json: exit %d" % proc.returncode)
    expect(proc.stderr.count("\n") == 1 and broken in proc.stderr,
           "malformed summary.json: message " + repr(proc.stderr))
    expect(not any(n.startswith("bad") for n in os.listdir(work)), "malformed summary.json left files")

    # Usage error.
    proc = run([a.svr, "aggregate", root])
    expect(proc.returncode == 2 and proc.stderr.count("\n") == 1, "missing -o: " + repr(proc.stderr))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Runs that share a directory at the same time (issue: hardening).

  concurrent_check.py SVR MODEL_A MODEL_B

1. Two runs given the same OUTDIR at the same time (no --force): exactly one wins, with a
   complete OUTDIR; the other exits non-zero with one line saying OUTDIR already exists; nothing
   else named after OUTDIR is left. Repeated a few times, since which one wins is a race.
2. Two "sweeps" writing different models into the same OUTROOT at the same time, each run as a
   sweep task runs it (--skip-complete --force into OUTROOT/KKKK-<slug>), each sweep ending with
   `svr aggregate OUTROOT`: every run directory is complete and identical to a run made alone,
   no staging directory is left, and an aggregate of OUTROOT lists every run.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

from test_timing import scaled

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def start(cmd):
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV)


def finish(proc):
    out, err = proc.communicate(timeout=scaled(300))
    return proc.returncode, out, err


def leftovers(parent, base):
    return sorted(n for n in os.listdir(parent) if n.startswith(base + "."))


def complete(outdir):
    try:
        with open(os.path.join(outdir, "summary.json")) as f:
            json.load(f)
        return all(os.path.isfile(os.path.join(outdir, n)) for n in ("nodes.csv", "edges.csv"))
    except (OSError, ValueError):
        return False


def same_outdir(svr, model, work, attempt):
    outdir = os.path.join(work, "same-%d" % attempt)
    procs = [start([svr, model, "-o", outdir, "--quiet"]) for _ in range(2)]
    results = [finish(p) for p in procs]
    winners = [r for r in results if r[0] == 0]
    losers = [r for r in results if r[0] != 0]
    check(len(winners) == 1 and len(losers) == 1,
          "attempt %d: one run wins, one fails (exit statuses %s)" %
          (attempt, [r[0] for r in results]))
    for status, _, err in losers:
        lines = err.strip().splitlines()
        check(len(lines) == 1 and "already exists" in lines[0] and outdir in lines[0],
              "attempt %d: the other says so in one line: %r" % (attempt, err.strip()))
    check(complete(outdir), "attempt %d: OUTDIR is complete" % attempt)
    deadline = time.monotonic() + scaled(10)
    while leftovers(work, os.path.basename(outdir)) and time.monotonic() < deadline:
        time.sleep(0.05)
    check(not leftovers(work, os.path.basename(outdir)),
          "attempt %d: nothing else named after OUTDIR: %s" %
          (attempt, leftovers(work, os.path.basename(outdir))))


def sweep(svr, models, outroot, first_index, tag):
    """The runs of one sweep, one after the other, then its aggregate; returns the Popen of a
    shell that does it all."""
    script = ["mkdir -p '%s'" % outroot]  # as slurm/sweep.sbatch does
    for k, model in enumerate(models):
        outdir = os.path.join(outroot, "%04d-%s-%d" % (first_index + k, tag, k))
        script.append(" ".join(["'%s'" % svr, "'%s'" % model, "-o", "'%s'" % outdir,
                                "--skip-complete", "--force", "--quiet"]))
    script.append("'%s' aggregate '%s' -o '%s' --no-plot" %
                  (svr, outroot, os.path.join(outroot, "sweep.csv")))
    return subprocess.Popen(["bash", "-c", " && ".join(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)


def rows(table):
    with open(table, newline="") as f:
        return list(csv.DictReader(f))


def two_sweeps(svr, model_a, model_b, work):
    outroot = os.path.join(work, "outroot")
    a = sweep(svr, [model_a, model_b, model_a], outroot, 0, "a")
    b = sweep(svr, [model_b, model_a, model_b], outroot, 0, "b")
    for name, proc in (("a", a), ("b", b)):
        out, err = proc.communicate(timeout=scaled(600))
        check(proc.returncode == 0, "sweep %s ends with status 0 (%d): %s" %
              (name, proc.returncode, err.strip()[-500:]))
    runs = sorted(n for n in os.listdir(outroot) if n[:4].isdigit())
    check(len(runs) == 6 and all(complete(os.path.join(outroot, r)) for r in runs),
          "six complete run directories: %s" % runs)
    stray = [n for n in os.listdir(outroot) if ".partial-" in n or ".old-" in n]
    check(not stray, "no staging or set-aside directory left: %s" % stray)
    # Each run's nodes.csv is what a run made alone gives.
    alone = {}
    for model in (model_a, model_b):
        outdir = os.path.join(work, "alone-" + os.path.basename(model))
        status, _, err = finish(start([svr, model, "-o", outdir, "--quiet"]))
        check(status == 0, "the run alone of %s succeeds: %s" % (model, err.strip()))
        with open(os.path.join(outdir, "nodes.csv"), "rb") as f:
            alone[model] = f.read()
    expected = {"0000-a-0": model_a, "0001-a-1": model_b, "0002-a-2": model_a,
                "0000-b-0": model_b, "0001-b-1": model_a, "0002-b-2": model_b}
    for run, model in sorted(expected.items()):
        with open(os.path.join(outroot, run, "nodes.csv"), "rb") as f:
            check(f.read() == alone[model], "%s holds the result of %s" %
                  (run, os.path.basename(model)))
    table = os.path.join(work, "all.csv")
    status, _, err = finish(start([svr, "aggregate", outroot, "-o", table, "--no-plot"]))
    check(status == 0, "svr aggregate of OUTROOT succeeds: %s" % err.strip())
    listed = {r["run_dir"].rstrip("/").split("/")[-1] for r in rows(table.replace(".csv",
                                                                                  "-models.csv"))}
    check(listed == set(runs), "the aggregate lists every run: %s" % sorted(listed))
    check(os.path.isfile(os.path.join(outroot, "sweep.csv")) and
          len(rows(os.path.join(outroot, "sweep.csv"))) > 0,
          "OUTROOT/sweep.csv, written by the sweeps' two aggregates, is a whole table")


def main():
    svr, model_a, model_b = sys.argv[1:4]
    with tempfile.TemporaryDirectory(prefix="svr-concurrent-") as work:
        for attempt in range(3):
            same_outdir(svr, model_a, work, attempt)
        two_sweeps(svr, model_a, model_b, work)
    if failures:
        sys.exit("concurrent_check: %d check(s) failed" % len(failures))
    print("concurrent_check: every check passed")


if __name__ == "__main__":
    main()

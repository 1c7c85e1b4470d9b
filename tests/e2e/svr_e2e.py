#!/usr/bin/env python3
"""End-to-end checks of the svr binary, run by ctest (see tests/e2e/CMakeLists.txt).

  svr_e2e.py --svr BIN --np N [--expect-svd METHOD=N ...] oracle MODEL [svr options...]
                                                          svr vs the NumPy oracle
  svr_e2e.py --svr BIN --np N same MODEL_A MODEL_B ... [-- svr options...]
                                                          the same SVR from every file
  svr_e2e.py --svr BIN --np N --expect TEXT [--expect TEXT ...] fails MODEL [svr options...]
                                                          bad input: clean one-line failure
  svr_e2e.py --svr BIN --np N --single oracle MODEL --precision single [svr options...]
                                                          svr in single precision vs the oracle
                                                          (in double), within the documented
                                                          bounds
  svr_e2e.py --svr BIN --np N --calibrated oracle MODEL [svr options...]
                                                          both: one svr run checked both ways
  svr_e2e.py --svr BIN --np N calibrated MODEL [svr options...]
                                                          random weights: in every testable pair
                                                          the raw p < 0.05 of about 5 % of the
                                                          edges (binomial 1e-4 bounds), and no
                                                          significant edge at all
  svr_e2e.py --svr BIN --np N --expect TEXT [--expect TEXT ...] plan MODEL [svr options...]
                                                          --plan: exit 0, one plan (rank 0's)
                                                          holding every TEXT, no OUTDIR created
Driver options come before the mode; everything after it goes to svr.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from test_timing import scaled

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.path.join(HERE, "..", "oracle", "svr_oracle.py")
COMPARE = os.path.join(HERE, "compare_outputs.py")
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def svr_command(svr, np_, args):
    if np_ == 0:  # singleton MPI: the binary alone, as a user on a laptop runs it
        return [svr] + args
    return ["mpiexec", "-n", str(np_), "--oversubscribe", svr] + args


def run(cmd, timeout=600):
    timeout = scaled(timeout)
    env = dict(os.environ, **MPI_ENV)
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    return proc, time.monotonic() - start


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def run_svr(svr, np_, model, outdir, options):
    proc, _ = run(svr_command(svr, np_, [model, "-o", outdir, "--quiet"] + options))
    if proc.returncode != 0:
        fail("svr failed on %s (exit %d):\n%s%s" % (model, proc.returncode, proc.stdout, proc.stderr))
    return proc


def compare(dir_a, dir_b, extra=()):
    proc, _ = run([sys.executable, COMPARE, dir_a, dir_b] + list(extra))
    print(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        fail("outputs differ: %s vs %s" % (dir_a, dir_b))


# svr options that change only how svr runs, never its results beyond rounding (the truncated
# SVD meets --svd-tolerance; --precision single is compared with --single's bounds): not passed
# to the oracle. The first take a value.
EXECUTION_OPTIONS = ("--scalapack-min-dim", "--block-size", "--max-grids", "--memory-per-rank",
                     "--min-local-elements", "--split-min-dim", "--svd-tolerance",
                     "--svd-max-cost", "--precision", "--truncated-svd",
                     # How svr finds a transformer's pairs: the oracle's --twin topology says it.
                     "--residual-reach", "--attention-heads")
EXECUTION_FLAGS = ("--full-svd",)


def oracle_options(options):
    kept, skip = [], False
    for opt in options:
        if skip:
            skip = False
        elif opt in EXECUTION_OPTIONS:
            skip = True
        elif opt not in EXECUTION_FLAGS and not opt.startswith(
                tuple(o + "=" for o in EXECUTION_OPTIONS)):
            kept.append(opt)
    return kept


# The truncated SVDs' summary.json methods (docs/output-formats.md). Those on a grid and SLEPc
# always run in double; svr's own top and bottom K on one rank run in float with --precision
# single, to a residual of at most SINGLE_KRYLOV_TOLERANCE (include/svr/linalg/truncated_svd.hpp).
KRYLOV_METHODS = ("lapack-krylov", "lapack-qr-krylov", "scalapack-krylov", "scalapack-qr-krylov",
                  "lapack-slepc", "scalapack-slepc")
ALWAYS_DOUBLE = ("scalapack-krylov", "scalapack-qr-krylov", "lapack-slepc", "scalapack-slepc")
# The bottom K on one rank runs in double when R is too ill-conditioned for float's solves.
EITHER_PRECISION = ("lapack-qr-krylov",)
SINGLE_KRYLOV_TOLERANCE = 1e-5


def check_svd_methods(outdir, expected, stderr):
    """expected: "METHOD=N" strings, METHOD a summary.json svd method or "fallback". summary.json
    must have exactly N layers computed by METHOD (or whose truncated SVD fell back to the full
    one), every truncated one a residual within the run's --svd-tolerance, and every fallback a
    full SVD, announced by one warning line on stderr unless it was the cost rule's choice."""
    import json
    with open(os.path.join(outdir, "summary.json")) as f:
        summary = json.load(f)
    tolerance = summary["options"]["svd_tolerance"]
    counts = {}
    for layer in summary["layers"]:
        svd = layer["svd"]
        counts[svd["method"]] = counts.get(svd["method"], 0) + 1
        if svd["method"] in KRYLOV_METHODS:
            limit = max(tolerance, SINGLE_KRYLOV_TOLERANCE) if svd["precision"] == "single" \
                else tolerance
            if svd["residual"] is None or not svd["residual"] <= limit:
                fail("%s: truncated SVD residual %s above %g" % (layer["name"], svd["residual"],
                                                                 limit))
            if svd["iterations"] < 0 or svd["fallback"] is not None:
                fail("%s: implausible svd record %s" % (layer["name"], svd))
            # The top K (--max-rank) or the bottom K (--min-rank), numbered from rank - K.
            bottom = svd["method"] in ("lapack-qr-krylov", "scalapack-qr-krylov")
            wanted = summary["options"]["min_rank" if bottom else "max_rank"]
            if layer["kept"] != wanted or \
                    layer["first_neuron"] != (layer["rank"] - wanted if bottom else 0):
                fail("%s: kept %d from %d, not the %s %s" % (
                    layer["name"], layer["kept"], layer["first_neuron"],
                    "bottom" if bottom else "top", wanted))
        if svd["fallback"] is not None:
            counts["fallback"] = counts.get("fallback", 0) + 1
            # A failure is announced by one warning line; the cost rule's choice by none.
            warning = "svr: warning: %s: the truncated SVD fell back to the full SVD: %s" % (
                layer["name"], svd["fallback"])
            warnings = 0 if svd["fallback_cost"] else 1
            if svd["method"] not in ("lapack-full", "scalapack-full", "scalapack-qr-lapack",
                                     "scalapack-bidiagonal-lapack") or \
                    stderr.splitlines().count(warning) != warnings:
                fail("%s: fallback %s without a full SVD and %d warning line(s) %r" %
                     (layer["name"], svd, warnings, warning))
        elif svd["fallback_cost"]:
            fail("%s: fallback_cost without a fallback: %s" % (layer["name"], svd))
    for item in expected:
        method, count = item.split("=")
        if counts.get(method, 0) != int(count):
            fail("expected %s layers by %s, summary.json has %s" % (count, method, counts))


# The bounds docs/algorithms.md ("Single precision") states for svr --precision single against
# the double-precision SVR: s to 1e-5 s_max; E to 1e-5 per edge, except among neurons whose
# singular values lie within 1e-3 s_max (their vectors move by ~1e-7 / gap), compared as block
# sums; log10 p to 1e-3 (relative above 1) and q relatively as its p (compare_outputs.py,
# q_tol); intensity, entropy and path metrics to 1e-4.
SINGLE_TOLERANCES = ["--sigma-rtol", "1e-5", "--e-atol", "1e-5", "--cluster-rtol", "1e-3",
                     "--p-tol", "1e-3", "--derived-tol", "1e-4"]


def check_single_precision(outdir):
    """summary.json records --precision single, and every layer as computed in single but those
    of the methods that always run in double (ALWAYS_DOUBLE) and those that may
    (EITHER_PRECISION)."""
    import json
    with open(os.path.join(outdir, "summary.json")) as f:
        summary = json.load(f)
    if summary["options"].get("precision") != "single":
        fail("summary.json options.precision is %r" % summary["options"].get("precision"))
    for layer in summary["layers"]:
        want = "double" if layer["svd"]["method"] in ALWAYS_DOUBLE else "single"
        if layer["svd"]["method"] in EITHER_PRECISION and layer["svd"].get("precision") in (
                "single", "double"):
            continue
        if layer["svd"].get("precision") != want:
            fail("%s: svd %s, expected precision %s" % (layer["name"], layer["svd"], want))


def cmd_oracle(a, work):
    ours, theirs = os.path.join(work, "svr"), os.path.join(work, "oracle")
    # Significant edges only exercises svr's screening of edges that cannot be significant.
    options = a.options if a.significant_only else ["--all-edges"] + a.options
    proc = run_svr(a.svr, a.np, a.model, ours, options)
    svr_stderr = proc.stderr
    extra = []
    if a.recognised:
        # The topology svr recognised from the names, written out for the oracle to follow.
        topology = os.path.join(work, "recognised.topology.json")
        proc, _ = run(svr_command(a.svr, a.np, [a.model, "--plan", "--export-topology", topology]
                                  + a.options))
        if proc.returncode != 0:
            fail("svr --plan --export-topology failed:\n" + proc.stdout + proc.stderr)
        extra = ["--topology", topology]
    oracle_model = a.model
    if a.twin:
        # The same network written plainly: the layers as (out, in) matrices with their input
        # scales multiplied in, and the pairs in a topology file (make_transformer_models.py).
        oracle_model, twin_topology = a.twin.split("#")
        extra = ["--topology", twin_topology]
    proc, _ = run([sys.executable, ORACLE, oracle_model, "-o", theirs] + oracle_options(a.options) +
                  extra)
    if proc.returncode != 0:
        fail("oracle failed:\n" + proc.stdout + proc.stderr)
    tolerances = ["--e-atol", str(a.e_atol)] if a.e_atol else []
    if a.single:
        tolerances = SINGLE_TOLERANCES
        check_single_precision(ours)
    compare(ours, theirs, tolerances)
    if a.expect_svd:
        check_svd_methods(ours, a.expect_svd, svr_stderr)
    if a.calibrated:
        check_calibrated(ours)


def cmd_same(a, work):
    """The same SVR from every model. A model given as PATH#OPTION#OPTION... takes those options
    too (a topology file for one format and not for another, say)."""
    dirs = []
    for k, given in enumerate(a.models):
        model, *extra = given.split("#")
        out = os.path.join(work, "out%d" % k)
        run_svr(a.svr, a.np, model, out, ["--all-edges"] + a.options + extra)
        dirs.append(out)
    for other in dirs[1:]:
        compare(dirs[0], other)


def cmd_fails(a, work):
    outdir = os.path.join(work, "out")
    if a.existing_outdir:
        os.makedirs(outdir)
        with open(os.path.join(outdir, "keep.txt"), "w") as f:
            f.write("user data\n")
    if a.outdir:
        outdir = a.outdir
    marker = "/tmp/svr_pwned"
    if os.path.exists(marker):
        os.remove(marker)
    proc, seconds = run(svr_command(a.svr, a.np, [a.model, "-o", outdir] + a.options), timeout=60)
    print("exit %d after %.1f s; stderr:\n%s" % (proc.returncode, seconds, proc.stderr))
    if proc.returncode == 0:
        fail("svr succeeded on bad input")
    if seconds > 10:
        fail("svr took %.1f s to fail (limit 10 s)" % seconds)
    ours = [line for line in proc.stderr.splitlines() if line.startswith("rank ")]
    if len(ours) != 1:
        fail("expected exactly one 'rank R: ...' error line, got %d" % len(ours))
    if a.np == 0 and proc.stderr.strip() != ours[0]:
        fail("stderr holds more than the one error line")
    for text in a.expect:
        if text.lower() not in ours[0].lower():
            fail("error line lacks %r: %s" % (text, ours[0]))
    if os.path.exists(marker):
        fail("a pickled command was executed (%s exists)" % marker)
    parent = os.path.dirname(outdir) or "."
    if os.path.isdir(parent):
        partial = [n for n in os.listdir(parent) if ".partial-" in n]
        if partial:
            fail("partial output left behind: %s" % partial)
    if a.existing_outdir:
        if sorted(os.listdir(outdir)) != ["keep.txt"]:
            fail("the existing OUTDIR was modified: %s" % os.listdir(outdir))
    elif os.path.exists(outdir) and not a.outdir:
        fail("OUTDIR %s was created" % outdir)
    print("ok: " + ours[0])


def cmd_plan(a, work):
    outdir = os.path.join(work, "out")
    proc, seconds = run(svr_command(a.svr, a.np, [a.model, "-o", outdir, "--plan"] + a.options),
                        timeout=60)
    print("exit %d after %.1f s; stdout:\n%s\nstderr:\n%s" % (proc.returncode, seconds, proc.stdout,
                                                              proc.stderr))
    if proc.returncode != 0:
        fail("svr --plan failed")
    if proc.stdout.count("plan: ") != 1:
        fail("the plan header is not printed exactly once")
    for text in a.expect:
        if text not in proc.stdout:
            fail("stdout lacks %r" % text)
    if os.path.exists(outdir):
        fail("--plan created OUTDIR %s" % outdir)
    if [n for n in os.listdir(work) if ".partial-" in n]:
        fail("--plan left a partial OUTDIR")


def cmd_calibrated(a, work):
    out = os.path.join(work, "svr")
    run_svr(a.svr, a.np, a.model, out, ["--all-edges"] + a.options)
    check_calibrated(out)


def check_calibrated(out):
    """Every edge of OUT (svr --all-edges) on random weights: raw p calibrated per pair, and no
    significant edge."""
    import csv
    import math
    low, tested, significant = {}, {}, 0
    threshold = math.log10(0.05)
    with open(os.path.join(out, "edges.csv"), newline="") as f:
        # csv.reader by column index: a DenseNet-121 has 6 million edges (DictReader took 24 s).
        reader = csv.reader(f)
        header = next(reader)
        c_pair, c_log10_p, c_sig = (header.index(c) for c in ("pair", "log10_p", "significant"))
        for row in reader:
            log10_p = row[c_log10_p]
            if log10_p == "":
                continue
            pair = row[c_pair]
            tested[pair] = tested.get(pair, 0) + 1
            low[pair] = low.get(pair, 0) + (float(log10_p) < threshold)
            significant += row[c_sig] == "1"
    if not tested:
        fail("no testable edge")
    for pair, n in sorted(tested.items(), key=lambda item: int(item[0])):
        k, mean = low[pair], 0.05 * n
        # A normal bound at about 1e-4 two-sided per pair (3.9 sd), plus the discreteness.
        slack = 3.9 * math.sqrt(n * 0.05 * 0.95) + 1.0
        print("pair %s: %d of %d raw p < 0.05 (expected %.1f +- %.1f)" % (pair, k, n, mean, slack))
        if abs(k - mean) > slack:
            fail("pair %s is not calibrated: %d of %d raw p < 0.05" % (pair, k, n))
    if significant:
        fail("%d significant edges on random weights" % significant)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--svr", required=True)
    parser.add_argument("--np", type=int, default=1, help="MPI ranks; 0 = run the binary directly")
    parser.add_argument("--expect", action="append", default=[])
    parser.add_argument("--existing-outdir", action="store_true")
    parser.add_argument("--significant-only", action="store_true",
                        help="oracle: let svr write only significant edges")
    parser.add_argument("--outdir", help="fails: use this OUTDIR instead of a fresh one")
    parser.add_argument("--recognised", action="store_true",
                        help="oracle: give the oracle the topology svr recognised (svr "
                             "--export-topology), which svr itself finds from the names")
    parser.add_argument("--twin", metavar="MODEL#TOPOLOGY",
                        help="oracle: the oracle reads this model with this topology file "
                             "instead of svr's model (the same network, written plainly)")
    parser.add_argument("--calibrated", action="store_true",
                        help="oracle: also check svr's edges as the calibrated mode does "
                             "(random weights)")
    parser.add_argument("--e-atol", type=float,
                        help="oracle: E tolerance of compare_outputs.py (default there: 1e-12)")
    parser.add_argument("--single", action="store_true",
                        help="oracle: svr runs with --precision single; compare with the "
                             "documented single-precision bounds, check the svd records")
    parser.add_argument("--expect-svd", action="append", default=[], metavar="METHOD=N",
                        help="oracle: summary.json has N layers whose SVD was computed by METHOD "
                             "(lapack-krylov, lapack-full, scalapack-full; fallback: whose "
                             "truncated SVD fell back to the full one), each truncated one "
                             "within --svd-tolerance, each failed one announced on stderr")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    a = parser.parse_args()
    if not a.rest or a.rest[0] not in ("oracle", "same", "fails", "plan", "calibrated"):
        parser.error("the mode (oracle, same, fails, plan or calibrated) must follow the driver "
                     "options")
    a.mode, a.rest = a.rest[0], a.rest[1:]
    if "--" in a.rest:
        k = a.rest.index("--")
        a.models, a.options = a.rest[:k], a.rest[k + 1:]
    elif a.mode == "same":
        a.models, a.options = a.rest, []
    else:
        a.models, a.options = a.rest[:1], a.rest[1:]
    if not a.models:
        parser.error("no MODEL given")
    a.model = a.models[0]
    work = tempfile.mkdtemp(prefix="svr_e2e_")
    try:
        {"oracle": cmd_oracle, "same": cmd_same, "fails": cmd_fails, "plan": cmd_plan,
         "calibrated": cmd_calibrated}[a.mode](a, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("passed")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""svr built against OpenBLAS (the default build) and against BLIS with the reference LAPACK
(the build ctest packaging.second_blas makes in BUILD/second-blas/build), on the same model in
the same session: wall time, seconds per phase and peak memory per rank, and whether the two
SVRs agree (tests/e2e/compare_outputs.py). Prints a table and writes it into docs/install.md.

    bench/second_blas.py [--model M.safetensors] [--ranks 2] [--main build/svr]
                         [--blis build/second-blas/build/svr] [--workdir /tmp/svr-bench]

Without --model it makes bench/truncated_svd.py's power-law MLP (1024 -> 4096 -> 4096 -> 4096 ->
1024, full rank). Needs the BLIS build: `scripts/install-deps.sh --second-blas`, then
`cd build && ctest -R packaging.second_blas`.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench_common as bc  # noqa: E402

BEGIN = "<!-- second-blas: begin (bench/second_blas.py) -->"
END = "<!-- second-blas: end -->"
PHASES = ("svd", "edges", "significance")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--main", default=os.path.join(ROOT, "build", "svr"))
    ap.add_argument("--blis", default=os.path.join(ROOT, "build", "second-blas", "build", "svr"))
    ap.add_argument("--workdir", default="/tmp/svr-bench")
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--all-edges", action="store_true",
                    help="write and compare every edge (the power-law MLP has 25M: 3 GB of CSV "
                         "per run); by default the nodes and the significant edges")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "install.md"))
    a = ap.parse_args(argv)
    for path in (a.main, a.blis):
        if not os.path.exists(path):
            raise SystemExit("no svr at %s (see the comment at the top)" % path)
    os.makedirs(a.workdir, exist_ok=True)
    model = a.model
    if model is None:
        import truncated_svd
        model = os.path.join(a.workdir, "powerlaw_mlp.safetensors")
        if not os.path.exists(model):
            bc.log("making %s" % model)
            truncated_svd.export_powerlaw_mlp(model)

    runs = {}
    for name, svr in (("OpenBLAS 0.3.21 (default build)", a.main),
                      ("BLIS 0.9.0 serial + reference LAPACK 3.11.0", a.blis)):
        bc.log("%s: %s" % (name, svr))
        runs[name] = bc.run_svr(svr, model, a.workdir, a.ranks, a.mpiexec,
                                extra_args=["--all-edges"] if a.all_edges else [],
                                tag="-" + name.split()[0].lower())
    dirs = [r["outdir"] for r in runs.values()]
    agree = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "e2e", "compare_outputs.py"),
                            dirs[0], dirs[1]] + (["--all-edges-in-both"] if a.all_edges else []),
                           capture_output=True, text=True)
    verdict = agree.stdout.strip().splitlines()[-1] if agree.stdout.strip() else agree.stderr
    first = next(iter(runs.values()))
    lines = ["| build | wall, s | " + " | ".join(p + ", s" for p in PHASES) + " | peak MiB per rank |",
             "| --- | --- |" + " --- |" * len(PHASES) + " --- |"]
    for name, r in runs.items():
        mem = max((v for v in r["maxrss_mb_per_rank"].values() if v), default=None)
        lines.append("| %s | %s | %s | %s |" % (
            name, bc.fmt_s(r["wall_s"]),
            " | ".join("%s (%s)" % (bc.fmt_s(r["phases"].get(p)),
                                    bc.fmt_r(bc.ratio(r["phases"].get(p),
                                                      first["phases"].get(p))))
                       for p in PHASES),
            bc.fmt_mb(mem)))
    section = "\n".join([
        "Model: %s, %d ranks%s, one run of each build in the same session (the ratio to the "
        "OpenBLAS build in parentheses):" % (os.path.basename(model), a.ranks,
                                             ", `--all-edges`" if a.all_edges else ""),
        "", *lines, "",
        "The two SVRs (%s): `%s` (compare_outputs.py, the tolerances of SVR-SPEC.md "
        "section 6)." % ("every edge" if a.all_edges else "every node, the significant edges",
                         verdict.replace(os.path.dirname(dirs[0]) + "/", "")),
        "Reproduce: `/usr/bin/python3 bench/second_blas.py --ranks %d` after the BLIS "
        "build (`ctest -R packaging.second_blas`)." % a.ranks])
    print(section)
    bc.write_markdown(a.out, section, BEGIN, END)
    return 0 if agree.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

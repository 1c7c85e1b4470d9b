#!/usr/bin/env python3
"""svr --version names the version, the commit, the compiler and the MPI, BLAS, LAPACK and
ScaLAPACK libraries the binary runs with, and the SLEPc plug-in (its versions and file, or why
it is not there), and summary.json's run.build records the same.

    check_version.py SVR MODEL [--expect-slepc]    (--expect-slepc: the plug-in must load)
"""
import json
import os
import re
import subprocess
import sys
import tempfile

from test_timing import scaled

# One pattern per line of `svr --version` (include/svr/core/build_info.hpp, describe_build).
LINES = [
    ("version", r"svr \d+\.\d+\.\d+ \(git ([0-9a-f]{7,40}(\+dirty)?|unknown)\)"),
    ("compiler", r"  compiler: (GNU|Clang|AppleClang|IntelLLVM|Intel) \d+[\d.]*(, \w+)?"),
    ("MPI", r"  MPI: .*MPI.*"),
    # The object defining dgemm or dgesdd: libblas.so.3, libopenblas..., libblis..., or one
    # library holding both (Debian's OpenBLAS resolves both to libopenblasp-r0.3.21.so).
    ("BLAS", r"  BLAS: .*/lib[^/]*(blas|blis|mkl)[^/]*\.so[^,);]*.*"),
    ("LAPACK", r"  LAPACK: \d+\.\d+\.\d+ \(/.*/lib[^/]*(lapack|blas|flame|mkl)[^/]*\.so.*\)"),
    ("ScaLAPACK", r"  ScaLAPACK: /.*scalapack[^/]*\.so.*"),
    ("SLEPc", r"  SLEPc: (SLEPc \d+\.\d+\.\d+, PETSc \d+\.\d+\.\d+ \(/.*/libsvr_slepc\.so\)"
              r"|not available: .+)"),
]


def main():
    svr, model = sys.argv[1], sys.argv[2]
    expect_slepc = "--expect-slepc" in sys.argv[3:]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([svr, "--version"], capture_output=True, text=True, env=env,
                          timeout=scaled(60))
    if proc.returncode != 0:
        sys.exit("svr --version failed (%d): %s" % (proc.returncode, proc.stderr))
    lines = proc.stdout.rstrip("\n").split("\n")
    failures = []
    if len(lines) != len(LINES):
        failures.append("%d lines, expected %d:\n%s" % (len(lines), len(LINES), proc.stdout))
    for (name, pattern), line in zip(LINES, lines):
        if not re.fullmatch(pattern, line):
            failures.append("%s line %r does not match %r" % (name, line, pattern))
    if expect_slepc and not any(line.startswith("  SLEPc: SLEPc ") for line in lines):
        failures.append("svr was built with the SLEPc plug-in, but --version does not load it")
    with tempfile.TemporaryDirectory(prefix="svr-version-") as work:
        out = os.path.join(work, "out")
        run = subprocess.run([svr, model, "-o", out, "--quiet"], capture_output=True, text=True,
                             env=env, timeout=scaled(300))
        if run.returncode != 0:
            sys.exit("svr failed (%d): %s" % (run.returncode, run.stderr))
        with open(os.path.join(out, "summary.json")) as f:
            build = json.load(f)["run"]["build"]
    recorded = {
        "version": "svr %s (git %s)" % (build["version"], build["git_commit"]),
        "compiler": "  compiler: " + build["compiler"] +
                    (", " + build["build_type"] if build["build_type"] else ""),
        "MPI": "  MPI: " + build["mpi"],
        "BLAS": "  BLAS: " + build["blas"],
        "LAPACK": "  LAPACK: " + build["lapack"],
        "ScaLAPACK": "  ScaLAPACK: " + build["scalapack"],
        "SLEPc": "  SLEPc: " + build["slepc"],
    }
    # A run that needed no truncated SVD does not open the SLEPc plug-in (PETSc's libraries cost
    # 85 ms per process): summary.json names its file, the one --version opened.
    not_opened = "  SLEPc: not opened by this process: "
    if recorded["SLEPc"].startswith(not_opened):
        path = recorded["SLEPc"][len(not_opened):]
        slepc_line = lines[LINES.index(next(x for x in LINES if x[0] == "SLEPc"))] \
            if len(lines) == len(LINES) else ""
        if slepc_line.endswith("(" + path + ")"):
            recorded["SLEPc"] = slepc_line
    for (name, _), line in zip(LINES, lines):
        if recorded[name] != line:
            failures.append("summary.json run.build %s is %r, --version says %r" %
                            (name, recorded[name], line))
    for failure in failures:
        print("FAIL: " + failure)
    if failures:
        sys.exit(1)
    print("svr --version and summary.json run.build agree:\n" + proc.stdout)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""svr built against a second BLAS, as a cluster build picks one (docs/install.md): BLIS for the
BLAS and the reference LAPACK, given to CMake as -DBLAS_LIBRARIES and -DLAPACK_LIBRARIES, while
ScaLAPACK stays Debian's (whose own libblas.so.3 dependency brings OpenBLAS, shadowed).

- `svr --version` of that build names BLIS as the BLAS in use and the reference LAPACK;
- the example model's SVR at 2 ranks (every edge) agrees with the main build's within the
  tolerances of SVR-SPEC.md section 6 (tests/e2e/compare_outputs.py);
- the svd phase's time of each build is printed, for docs/install.md.

    check_second_blas.py SOURCE_DIR MAIN_BUILD_DIR WORK_DIR MODEL
The build in WORK_DIR is kept, so a second run only relinks. Exit 77 (skipped) when BLIS
(libblis-serial-dev, libblis-pthread-dev or libblis-openmp-dev) or the reference LAPACK
(liblapack3) is not installed.
"""
import glob
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from svr_e2e import COMPARE, MPI_ENV as E2E_MPI_ENV  # noqa: E402
from test_timing import scaled  # noqa: E402

MPI_ENV = dict(E2E_MPI_ENV, BLIS_NUM_THREADS="1")  # one BLAS thread per rank, BLIS too


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def run(cmd, timeout=1800, **kw):
    env = dict(os.environ, **MPI_ENV)
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=scaled(timeout),
                          **kw)
    if proc.returncode != 0:
        fail("%s exited with %d:\n%s%s" % (" ".join(cmd), proc.returncode, proc.stdout[-4000:],
                                           proc.stderr[-4000:]))
    return proc.stdout, time.monotonic() - start


def find_blis():
    """The linkable BLIS (libblis.so, any threading flavour), or None."""
    for pattern in ("/usr/lib/*/libblis.so", "/usr/lib/*/blis-*/libblis.so", "/usr/lib/libblis.so",
                    "/usr/local/lib/libblis.so"):
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


def cache_value(build, name):
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(r"%s:[A-Z]+=(.*)$" % re.escape(name), line.strip())
            if m:
                return m.group(1)
    return ""


def svd_seconds(outdir):
    with open(os.path.join(outdir, "summary.json")) as f:
        summary = json.load(f)
    phases = summary.get("run", {}).get("seconds_per_phase")
    return phases.get("svd") if isinstance(phases, dict) else None


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    source, main_build, work, model = sys.argv[1:]
    blis = find_blis()
    lapack = sorted(glob.glob("/usr/lib/*/lapack/liblapack.so.3"))
    if blis is None or not lapack:
        print("skipped: %s is not installed" % ("BLIS (libblis-serial-dev)" if blis is None
                                                 else "the reference LAPACK (liblapack3)"))
        return 77
    build = os.path.join(work, "build")
    configure = ["cmake", "-S", source, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                 "-DSVR_BUILD_TESTS=OFF", "-DBLAS_LIBRARIES=" + blis,
                 "-DLAPACK_LIBRARIES=" + lapack[0]]
    compiler = cache_value(main_build, "CMAKE_CXX_COMPILER")
    if compiler:
        configure.append("-DCMAKE_CXX_COMPILER=" + compiler)
    run(configure)
    _, seconds = run(["cmake", "--build", build, "--target", "svr", "-j%d" % (os.cpu_count() or 1)])
    print("built svr against %s and %s in %.0f s" % (blis, lapack[0], seconds))

    svr = os.path.join(build, "svr")
    version, _ = run([svr, "--version"])
    print(version)
    blas_line = next((l for l in version.splitlines() if l.strip().startswith("BLAS:")), "")
    lapack_line = next((l for l in version.splitlines() if l.strip().startswith("LAPACK:")), "")
    used_blas = blas_line.split(";")[0]
    if "blis" not in used_blas or "openblas" in used_blas.lower():
        fail("svr --version does not name BLIS as the BLAS in use: " + blas_line)
    if "/lapack/liblapack" not in lapack_line.split(";")[0]:
        fail("svr --version does not name the reference LAPACK: " + lapack_line)

    outputs = {}
    for name, binary in (("main", os.path.join(main_build, "svr")), ("blis", svr)):
        out = os.path.join(work, "out-" + name)
        _, seconds = run(["mpiexec", "-n", "2", "--oversubscribe", binary, model, "-o", out,
                          "--all-edges", "--force", "--quiet"], timeout=600)
        outputs[name] = out
        print("%s build: the example at 2 ranks in %.2f s (svd phase %s s)" % (
            name, seconds, svd_seconds(out)))
    proc = subprocess.run([sys.executable, COMPARE, outputs["main"], outputs["blis"],
                           "--all-edges-in-both"], capture_output=True, text=True)
    print(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        fail("the BLIS build's SVR differs from the main build's")
    print("the BLIS build gives the main build's SVR")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The same files, byte for byte, at every process count.

  check_same_bytes.py --svr BIN --np 1,2,4 [--file edges.csv ...] MODEL [svr options...]

Runs svr on MODEL at each process count with the given options and checks that the named
files of OUTDIR (default edges.csv and nodes.csv) are identical. With --all-edges, edges.csv
is corrected across the pairs' owners (a sort of every tested p over the ranks) and written by
them with MPI-IO; its q are the one-rank values to the last bit, so the file must not change
with the rank count. Layers on one rank (LAPACK) give the same factors at every count, so this
holds for models without ScaLAPACK layers.
"""
import argparse
import hashlib
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svr_e2e  # noqa: E402


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--svr", required=True)
    ap.add_argument("--np", required=True, help="comma list of process counts")
    ap.add_argument("--file", action="append", help="a file of OUTDIR to compare (repeatable)")
    ap.add_argument("model")
    ap.add_argument("options", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    counts = [int(x) for x in a.np.split(",")]
    files = a.file or ["edges.csv", "nodes.csv"]
    work = tempfile.mkdtemp(prefix="svr_same_bytes_")
    try:
        reference = {}
        for np_ in counts:
            out = os.path.join(work, "np%d" % np_)
            svr_e2e.run_svr(a.svr, np_, a.model, out, a.options)
            for name in files:
                got = digest(os.path.join(out, name))
                if name not in reference:
                    reference[name] = (np_, got)
                elif reference[name][1] != got:
                    svr_e2e.fail("%s differs between %d and %d rank(s)" %
                                 (name, reference[name][0], np_))
            print("np %d: %s" % (np_, ", ".join("%s %s" % (n, reference[n][1][:12])
                                                 for n in files)))
        print("PASS: %s identical at %s rank(s)" % (", ".join(files), a.np))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""--skip-complete: a complete OUTDIR of the same model and result-deciding options is skipped
(exit 0, files untouched); another model, other options or an unreadable summary.json are computed."""
import os
import shutil
import subprocess
import sys
import tempfile

from test_timing import scaled


def run(svr, model, outdir, *extra):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([svr, model, "-o", outdir, "--skip-complete", "--force", *extra],
                          capture_output=True, text=True, env=env, timeout=scaled(300))
    if proc.returncode != 0:
        sys.exit("svr failed (%d): %s" % (proc.returncode, proc.stderr))
    return "skipped" in proc.stderr


def stamp(outdir):
    return {name: os.stat(os.path.join(outdir, name)).st_mtime_ns for name in os.listdir(outdir)}


def main():
    svr, model = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="svr-resume-") as work:
        own = os.path.join(work, "model.safetensors")
        shutil.copy(model, own)
        out = os.path.join(work, "out")
        checks = []
        checks.append(("first run computes", not run(svr, own, out)))
        before = stamp(out)
        checks.append(("same model and options skip", run(svr, own, out)))
        run(svr, own, out, "--quiet")  # --quiet decides nothing about the results
        checks.append(("skipped runs touch nothing", stamp(out) == before))
        checks.append(("another model path with the same bytes skips",
                       run(svr, shutil.copy(own, os.path.join(work, "copy.safetensors")), out)))
        checks.append(("other options compute", not run(svr, own, out, "--alpha", "0.01")))
        checks.append(("those options then skip", run(svr, own, out, "--alpha", "0.01")))
        with open(own, "r+b") as f:  # one byte of the last tensor's data changes the SHA-256
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
            f.seek(-1, os.SEEK_END)
            f.write(bytes([last[0] ^ 1]))
        checks.append(("a changed model computes", not run(svr, own, out, "--alpha", "0.01")))
        with open(os.path.join(out, "summary.json"), "w") as f:
            f.write('{"run": {"input_sha256": ')  # truncated: not a complete run
        checks.append(("an unreadable summary.json computes",
                       not run(svr, own, out, "--alpha", "0.01")))
        failed = [name for name, ok in checks if not ok]
        for name, ok in checks:
            print(("ok   " if ok else "FAIL ") + name)
        if failed:
            sys.exit("failed: " + "; ".join(failed))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""`cmake --install BUILD --prefix P` gives a svr that runs from P with no source tree: P/bin/svr
computes the example model in a directory of its own, P/bin/svr-sweep-submit finds the Slurm
templates installed in P/share/svr/slurm (submitted to stand-ins for sbatch, which records
its arguments, and scontrol), svr-export-topology points at the installed script and its schema, and the man page
P/share/man/man1/svr.1 is svr --help's.

    check_install.py BUILD_DIR MODEL
    check_install.py --module BUILD_DIR   (Lmod loads P/share/svr/modulefiles/svr/VERSION.lua
                                           and runs svr --version from it; exit 77, skipped,
                                           when Lmod is not installed)
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

from test_timing import scaled

FAKE_SBATCH = """#!/bin/sh
# Stand-in for sbatch: records its arguments, answers with a job id (--parsable).
echo "$@" >> "$SBATCH_LOG"
echo 4242
"""
FAKE_SCONTROL = """#!/bin/sh
# Stand-in for scontrol show config: the job array limit sweep-submit reads.
echo "MaxArraySize            = 1001"
"""


LMOD_INIT = "/usr/share/lmod/lmod/init/bash"


def check_module(build):
    """Debian's Lmod loads the installed module file; svr then runs from PATH."""
    if not os.path.exists(LMOD_INIT):
        print("skipped: Lmod is not installed (%s)" % LMOD_INIT)
        sys.exit(77)
    with tempfile.TemporaryDirectory(prefix="svr-module-") as work:
        prefix = os.path.join(work, "prefix")
        install(build, prefix)
        script = ('source "%s" && module use "%s" && module load svr && '
                  'echo "SVR_BIN=$SVR_BIN" && echo "SVR_SLURM=$SVR_SLURM" && '
                  'command -v svr && svr --version' %
                  (LMOD_INIT, os.path.join(prefix, "share", "svr", "modulefiles")))
        # A clean environment, as a login shell has (svr must come from the module alone), but
        # for the sanitizer build's settings (scripts/sanitize-tests.sh).
        env = {"HOME": os.environ.get("HOME", work), "PATH": "/usr/bin:/bin",
               "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
               "OPENBLAS_NUM_THREADS": "1"}
        for name in ("ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "LD_PRELOAD"):
            if name in os.environ:
                env[name] = os.environ[name]
        proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                              timeout=scaled(120))
        out = proc.stdout
        svr = os.path.join(prefix, "bin", "svr")
        expected = ["SVR_BIN=" + svr,
                    "SVR_SLURM=" + os.path.join(prefix, "share", "svr", "slurm"), svr, "svr "]
        missing = [e for e in expected if e not in out]
        if proc.returncode != 0 or missing:
            sys.exit("FAIL: module load svr; svr --version: exit %d, missing %s\n%s%s" %
                     (proc.returncode, missing, out, proc.stderr))
        print("module load svr gives:\n" + out)


def install(build, prefix):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run(["cmake", "--install", build, "--prefix", prefix],
                          capture_output=True, text=True, env=env, timeout=scaled(300))
    if proc.returncode != 0:
        sys.exit("cmake --install failed:\n" + proc.stdout + proc.stderr)


def main():
    if sys.argv[1] == "--module":
        check_module(sys.argv[2])
        return
    build, model = sys.argv[1], sys.argv[2]
    failures = []

    def expect(ok, what):
        if not ok:
            failures.append(what)

    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory(prefix="svr-install-") as work:
        prefix = os.path.join(work, "prefix")
        install(build, prefix)
        svr = os.path.join(prefix, "bin", "svr")
        # The example, run from the prefix in a directory outside the source and build trees.
        run_dir = os.path.join(work, "run")
        os.makedirs(run_dir)
        shutil.copy(model, os.path.join(run_dir, "model.safetensors"))
        proc = subprocess.run([svr, "model.safetensors", "-o", "out", "--quiet"], cwd=run_dir,
                              capture_output=True, text=True, env=env, timeout=scaled(300))
        expect(proc.returncode == 0, "installed svr failed on the example: " + proc.stderr)
        if proc.returncode == 0:
            with open(os.path.join(run_dir, "out", "summary.json")) as f:
                summary = json.load(f)
            expect(len(summary["layers"]) > 1 and
                   os.path.exists(os.path.join(run_dir, "out", "edges.csv")),
                   "the installed svr wrote no complete output")
        version = subprocess.run([svr, "--version"], capture_output=True, text=True, env=env,
                                 timeout=scaled(60)).stdout
        expect(version.startswith("svr "), "installed svr --version: %r" % version)
        if os.path.exists(os.path.join(build, "libsvr_slepc.so")):
            # The SLEPc plug-in is found in the prefix (CMAKE_INSTALL_LIBDIR/svr), not the build
            # tree, and computes the top K there.
            slepc = [line for line in version.splitlines() if line.startswith("  SLEPc: ")]
            expect(len(slepc) == 1 and slepc[0].startswith("  SLEPc: SLEPc ") and
                   (prefix + "/") in slepc[0] and "/svr/libsvr_slepc.so)" in slepc[0],
                   "installed svr does not load the installed SLEPc plug-in: %r" % slepc)
            proc = subprocess.run([svr, "model.safetensors", "-o", "out-slepc", "--quiet",
                                   "--max-rank", "8", "--svd-max-cost", "1e6",
                                   "--truncated-svd", "slepc"], cwd=run_dir, capture_output=True,
                                  text=True, env=env, timeout=scaled(300))
            expect(proc.returncode == 0, "installed svr --truncated-svd slepc: " + proc.stderr)
            if proc.returncode == 0:
                with open(os.path.join(run_dir, "out-slepc", "summary.json")) as f:
                    methods = [layer["svd"]["method"] for layer in json.load(f)["layers"]]
                expect("lapack-slepc" in methods, "no layer by SLEPc: %s" % methods)
        # The sweep submitter through its link in bin, with a stand-in sbatch on PATH.
        fake_bin = os.path.join(work, "fake-bin")
        os.makedirs(fake_bin)
        for name, text in (("sbatch", FAKE_SBATCH), ("scontrol", FAKE_SCONTROL)):
            tool = os.path.join(fake_bin, name)
            with open(tool, "w") as f:
                f.write(text)
            os.chmod(tool, os.stat(tool).st_mode | stat.S_IXUSR)
        listing = os.path.join(work, "models.txt")
        with open(listing, "w") as f:
            f.write(os.path.join(run_dir, "model.safetensors") + "\n")
        log = os.path.join(work, "sbatch.log")
        submit_env = dict(env, SBATCH_LOG=log,
                          PATH=fake_bin + os.pathsep + os.path.join(prefix, "bin") +
                          os.pathsep + env.get("PATH", ""))
        proc = subprocess.run([os.path.join(prefix, "bin", "svr-sweep-submit"), listing,
                               os.path.join(work, "sweep")], cwd=work, capture_output=True,
                              text=True, env=submit_env, timeout=scaled(60))
        expect(proc.returncode == 0, "svr-sweep-submit failed: " + proc.stdout + proc.stderr)
        submitted = open(log).read() if os.path.exists(log) else ""
        scripts = {os.path.realpath(word) for word in submitted.split()
                   if word.endswith(".sbatch")}
        for template in ("sweep.sbatch", "aggregate.sbatch"):
            installed = os.path.realpath(os.path.join(prefix, "share", "svr", "slurm", template))
            expect(installed in scripts,
                   "svr-sweep-submit did not submit the installed %s: %r" % (template, submitted))
        # svr-export-topology is the installed script, whose schema is installed next to it.
        topology = os.path.realpath(os.path.join(prefix, "bin", "svr-export-topology"))
        expect(topology == os.path.join(os.path.realpath(prefix), "share", "svr", "scripts",
                                        "export_topology.py") and os.access(topology, os.X_OK),
               "svr-export-topology points at %s" % topology)
        expect(os.path.exists(os.path.join(os.path.dirname(os.path.dirname(topology)), "docs",
                                           "topology.schema.json")),
               "the topology schema is not installed next to the scripts")
        # The man page and the documentation.
        page = os.path.join(prefix, "share", "man", "man1", "svr.1")
        text = open(page).read() if os.path.exists(page) else ""
        expect(text.startswith(".TH SVR 1") and "--split-min-dim" in text and
               "--max-rank" in text, "the man page is not svr --help's: %r" % text[:200])
        for doc in ("README.md", os.path.join("docs", "options.md")):
            expect(os.path.exists(os.path.join(prefix, "share", "doc", "svr", doc)),
                   "share/doc/svr/%s is not installed" % doc)
    for failure in failures:
        print("FAIL: " + failure)
    if failures:
        sys.exit(1)
    print("the installed svr runs from its prefix")


if __name__ == "__main__":
    main()

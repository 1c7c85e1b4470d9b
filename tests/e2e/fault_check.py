#!/usr/bin/env python3
"""Failures and termination signals end every svr rank quickly, once, cleanly (faults.cmake).

  fault_check.py --svr BIN --np N inject RANK:PHASE:KIND MODEL
      SVR_INJECT_FAILURE makes one rank fail (KIND throw or exit). svr must exit non-zero
      within 10 s, with the injected message exactly once (throw: an agreed exit, without
      MPI_Abort unless --stalled) or at most one "rank R:" line
      (exit: the crashed rank says nothing; rank 0, terminated by the launcher, says so), and
      leave neither OUTDIR nor OUTDIR.partial-* behind, nor any svr process running.

  fault_check.py --svr BIN --np N signal TARGET SIGNAL [--hang SPEC] [--model MODEL]
      Starts svr (without --model: on a random model large enough to run for several seconds),
      waits until rank 0 has created its staging directory and 1.5 s have passed, sends SIGNAL
      (TERM, INT, ...) to TARGET: "launcher" (mpiexec, or the svr process itself at np 0),
      "rank:R" (one rank, as a user's kill), or "every-rank" (as srun and Slurm signal every
      task). svr must end within 5 s with a non-zero status, say "rank 0: terminated by SIG..."
      exactly once, and leave neither OUTDIR nor a staging directory nor a process behind.
      --hang SPEC sets SVR_INJECT_FAILURE (e.g. 1:svd:hang): a stuck rank that only a signal
      (a time limit, scancel) ends.

Prints the measured times, as "time-to-exit: X s".
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
from test_timing import scaled  # noqa: E402

FAIL_LIMIT_S = scaled(10.0)
SIGNAL_LIMIT_S = scaled(5.0)


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def svr_command(svr, np_, args):
    if np_ == 0:  # singleton MPI: the binary alone
        return [svr] + args
    return ["mpiexec", "-n", str(np_), "--oversubscribe", svr] + args


def processes_with(marker):
    """Pids of the processes whose command line mentions `marker` (the unique OUTDIR)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if marker.encode() in argv and not any(b"fault_check" in a for a in argv):
            found.append(int(entry))
    return found


def rank_of(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
    except OSError:
        return None
    value = env.get(b"OMPI_COMM_WORLD_RANK")
    return int(value) if value is not None else None


def svr_pids(marker, launcher_pid):
    """svr processes (not mpiexec) of this run."""
    return [p for p in processes_with(marker) if p != launcher_pid]


def leftovers(outdir):
    parent, base = os.path.split(outdir)
    return sorted(n for n in os.listdir(parent) if n == base or n.startswith(base + "."))


def check_clean_end(outdir, marker, launcher_pid, crashed=False):
    # A rank the launcher killed leaves its janitor (src/output/staging_janitor.cpp) to remove
    # what the rank was removing; it runs on its own for a moment after the launcher exits.
    deadline = time.monotonic() + scaled(10.0)
    left = leftovers(outdir)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = leftovers(outdir)
    if left:
        fail("left behind in %s: %s" % (os.path.dirname(outdir), left))
    survivors = svr_pids(marker, launcher_pid)
    while survivors and time.monotonic() < deadline:
        time.sleep(0.05)
        survivors = svr_pids(marker, launcher_pid)
    if survivors:
        for pid in survivors:
            os.kill(pid, signal.SIGKILL)
        fail("svr processes still running after the launcher exited: %s" % survivors)


def rank_lines(stderr):
    return [line for line in stderr.splitlines() if re.match(r"rank \d+: ", line)]


def cmd_inject(a, work):
    outdir = os.path.join(work, "out")
    rank, phase, kind = a.spec.split(":")
    if a.model == "SLOW":  # the other ranks are busy for far longer than the time limit
        a.model = os.path.join(work, "slow.safetensors")
        make_slow_model(a.model, n=2500, layers=3)
    env = dict(os.environ, **MPI_ENV)
    env["SVR_INJECT_FAILURE"] = a.spec
    start = time.monotonic()
    proc = subprocess.run(svr_command(a.svr, a.np, [a.model, "-o", outdir, "--quiet"]),
                          capture_output=True, text=True, env=env, timeout=scaled(120))
    seconds = time.monotonic() - start
    print("exit %d after %.2f s; stderr:\n%s" % (proc.returncode, seconds, proc.stderr))
    print("time-to-exit: %.2f s (%s, np %d)" % (seconds, a.spec, a.np))
    if proc.returncode == 0:
        fail("svr succeeded although %s was injected" % a.spec)
    if seconds > FAIL_LIMIT_S:
        fail("svr took %.1f s to fail (limit %.0f s)" % (seconds, FAIL_LIMIT_S))
    lines = rank_lines(proc.stderr)
    if kind == "throw":
        injected = "injected failure in phase %s on rank %s" % (phase, rank)
        if proc.stderr.count(injected) != 1:
            fail("the injected message appears %d times, not once" % proc.stderr.count(injected))
        # A rank that fails while the others are busy ends the job itself (MPI_Abort after
        # mpi::kErrorGraceSeconds); rank 0, terminated by the launcher, then says so.
        extra = lines[1:] if a.stalled else []
        if not lines or injected not in lines[0] or any(
                not re.match(r"rank 0: terminated by SIGTERM", line) for line in extra) or (
                len(lines) - len(extra) != 1):
            fail("expected one 'rank R: ...' line, got %d: %s" % (len(lines), lines))
        if proc.returncode != 1:
            fail("exit status %d, expected 1" % proc.returncode)
        # An agreed error ends every rank through MPI_Finalize; MPI_Abort is the fallback of a
        # rank left alone with its error (what --stalled tests).
        if not a.stalled and "MPI_ABORT" in proc.stderr:
            fail("the job ended by MPI_Abort, not by an agreed error")
    else:  # exit: the crashed rank's status 3 is what the launcher reports
        if proc.returncode != 3:
            fail("exit status %d, expected the crashed rank's 3" % proc.returncode)
        if len(lines) > 1:
            fail("more than one 'rank R: ...' line: %s" % lines)
        if lines and not re.match(r"rank 0: terminated by SIGTERM", lines[0]):
            fail("unexpected line: %s" % lines[0])
    check_clean_end(outdir, outdir, None, crashed=kind == "exit")
    print("ok")


def make_slow_model(path, n=1500, layers=4):
    """Random dense layers: a few seconds of SVD and edges on 2 ranks (n = 1500)."""
    import numpy as np
    from safetensors_np import write_safetensors
    rng = np.random.default_rng(7)
    tensors = {"fc%d.weight" % i: rng.standard_normal((n, n)).astype(np.float32)
               for i in range(1, layers + 1)}
    write_safetensors(path, tensors)


def cmd_signal(a, work):
    model = a.model
    if model is None:
        model = os.path.join(work, "slow.safetensors")
        make_slow_model(model)
    outdir = os.path.join(work, "out")
    signo = getattr(signal, "SIG" + a.signal)
    env = dict(os.environ, **MPI_ENV)
    env.pop("SVR_INJECT_FAILURE", None)
    if a.hang:
        env["SVR_INJECT_FAILURE"] = a.hang
    errors = open(os.path.join(work, "stderr.txt"), "w+")
    start = time.monotonic()
    proc = subprocess.Popen(svr_command(a.svr, a.np, [model, "-o", outdir, "--quiet"]),
                            stdout=subprocess.DEVNULL, stderr=errors, env=env)
    # Signal once the run is under way: rank 0 has created its staging directory.
    while not any(".partial-" in n for n in leftovers(outdir)):
        if proc.poll() is not None:
            fail("svr ended (status %d) before creating its staging directory" % proc.returncode)
        if time.monotonic() - start > scaled(60):
            proc.kill()
            fail("no staging directory after %.0f s" % scaled(60))
        time.sleep(0.05)
    time.sleep(max(0.0, start + 1.5 - time.monotonic()))
    if proc.poll() is not None:
        fail("svr finished before the signal (status %d): the model is too small" %
             proc.returncode)
    ranks = {rank_of(p): p for p in svr_pids(outdir, proc.pid)}
    if a.target == "launcher":
        targets = [proc.pid]
    elif a.target == "every-rank":
        targets = list(ranks.values())
    else:
        rank = int(a.target.split(":")[1])
        if rank not in ranks:
            proc.kill()
            fail("no process of rank %d among %s" % (rank, ranks))
        targets = [ranks[rank]]
    if not targets or (a.np > 0 and a.target == "every-rank" and len(targets) != a.np):
        proc.kill()
        fail("expected %d rank processes, found %s" % (a.np, ranks))
    sent = time.monotonic()
    for pid in targets:
        os.kill(pid, signo)
    try:
        status = proc.wait(timeout=scaled(60))
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("svr still running %.0f s after %s" % (scaled(60), a.signal))
    seconds = time.monotonic() - sent
    errors.seek(0)
    stderr = errors.read()
    print("exit %d %.2f s after SIG%s to %s (%d pid(s)); stderr:\n%s" %
          (status, seconds, a.signal, a.target, len(targets), stderr))
    print("time-to-exit: %.2f s (SIG%s to %s, np %d%s)" %
          (seconds, a.signal, a.target, a.np, ", hang " + a.hang if a.hang else ""))
    if status == 0:
        fail("svr exited 0 after SIG%s" % a.signal)
    if seconds > SIGNAL_LIMIT_S:
        fail("svr took %.1f s to end after SIG%s (limit %.0f s)" %
             (seconds, a.signal, SIGNAL_LIMIT_S))
    if a.np == 0 and status != 128 + signo:
        fail("exit status %d, expected %d" % (status, 128 + signo))
    lines = rank_lines(stderr)
    if len(lines) != 1 or not re.match(r"rank 0: terminated by SIG(TERM|INT|HUP|USR1|USR2)",
                                       lines[0]):
        fail("expected one 'rank 0: terminated by SIG...' line, got %s" % lines)
    check_clean_end(outdir, outdir, proc.pid)
    print("ok: " + lines[0])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--svr", required=True)
    parser.add_argument("--np", type=int, default=2)
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("inject")
    p.add_argument("spec")
    p.add_argument("model", help="a model file, or SLOW for a generated one that keeps the "
                                 "ranks busy for much longer than the time limit")
    p.add_argument("--stalled", action="store_true",
                   help="the failing rank ends the job alone: allow rank 0's 'terminated' line")
    p = sub.add_parser("signal")
    p.add_argument("target")
    p.add_argument("signal")
    p.add_argument("--hang")
    p.add_argument("--model")
    a = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="svr-fault-") as work:
        {"inject": cmd_inject, "signal": cmd_signal}[a.mode](a, work)


if __name__ == "__main__":
    main()

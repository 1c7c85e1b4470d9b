#!/usr/bin/python3
"""svr on a real Slurm cluster: slurm/svr.sbatch, slurm/sweep.sbatch, scripts/sweep-submit.sh.

Starts a one-node Slurm cluster on localhost (scripts/slurm-local-cluster.sh: munged,
slurmctld, slurmd from Debian's packages, all state in a temporary directory) with
MaxArraySize=3, then:

  1. submits a sweep over 6 models (two synthetic 1000-wide MLPs, two copies of the example
     CNNs as ckpt-1/model.safetensors and ckpt-2/model.safetensors, a VGG .pth, a VGG with
     per-model options) with scripts/sweep-submit.sh: two arrays (3 + 3) and the aggregation;
  2. while it runs, interrupts the two MLP tasks: one with `scancel --signal=USR1 --batch` (the
     script stops svr and requeues itself), one with `scontrol requeue`; checks that each stops
     within seconds, is requeued, leaves no OUTDIR (nor OUTDIR.partial-*), and runs again;
  3. submits slurm/svr.sbatch for a good model, a model with a NaN weight, a missing file, and
     a model interrupted by SIGUSR1 in a job that may not restart (SVR_MAX_RESTARTS=0);
  4. when all jobs ended: every sweep task COMPLETED with exit code 0 (the two interrupted
     ones with Restarts=1), the svr.sbatch jobs COMPLETED 0:0 / FAILED 1:0 / FAILED 2:0 /
     FAILED 3:0, the aggregation COMPLETED 0:0; every OUTDIR is named KKKK-<slug>, its
     summary.json records the SHA-256 of its model, its nodes.csv and edges.csv are
     byte-identical to a direct `mpiexec -n 2 svr` run outside Slurm and its summary.json
     equal except the run block (and the echo of -o); OUTROOT/sweep.csv and sweep-models.csv
     have one row per pair / model with the significant counts of the summaries;
  5. resubmits the finished sweep: every task skips its model (log says so, RunTime <= 15 s),
     no file of any OUTDIR is touched (mtimes unchanged), the aggregation succeeds again;
  6. runs slurm/aggregate.sbatch on the list plus one model without output: exit 1, naming it.

The daemons are stopped by their pids at the end, also on failure or SIGTERM. Needs root and
the packages of scripts/install-deps.sh --tests; where Slurm or munge cannot run, the test
fails and says why. Usage:
    slurm_sweep_test.py --svr BUILD/svr --source-dir REPO [--keep]
"""

import argparse
import array
import csv
import hashlib
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

DEADLINE_SECONDS = 270  # ctest's TIMEOUT is longer: the cluster is always stopped by us
RANKS = 2               # MPI ranks per task (the node has 4 CPUs: two tasks run at once)
BIG_WIDTH, BIG_LAYERS = 1000, 5  # the MLPs that are interrupted: about 5-10 s of svr each


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


class Clock:
    def __init__(self):
        self.start = time.monotonic()

    def elapsed(self):
        return time.monotonic() - self.start

    def left(self):
        return DEADLINE_SECONDS - self.elapsed()


CLOCK = Clock()


def say(text):
    print(f"[{CLOCK.elapsed():6.1f} s] {text}", flush=True)


def run(command, env, cwd=None, timeout=60, check_status=True):
    result = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if check_status and result.returncode != 0:
        raise TestFailure(f"{' '.join(command)} exited with {result.returncode}:\n{result.stdout}")
    return result.stdout


def wait_until(what, predicate, seconds, interval=0.25):
    limit = min(seconds, CLOCK.left())
    end = time.monotonic() + limit
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TestFailure(f"timed out after {limit:.0f} s waiting for {what}")


# ---- models -------------------------------------------------------------------------------

def write_mlp(path, width, layers, seed):
    """A dense MLP of `layers` width x width F32 layers with int8-valued random weights."""
    rng = random.Random(seed)
    header, names, offset = {}, [], 0
    for i in range(layers):
        name = f"layers.{i}.weight"
        size = width * width * 4
        header[name] = {"dtype": "F32", "shape": [width, width],
                        "data_offsets": [offset, offset + size]}
        names.append(name)
        offset += size
    header["__metadata__"] = {"svr.layers": json.dumps(names)}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _ in names:
            floats = array.array("f", array.array("b", rng.randbytes(width * width)))
            if sys.byteorder != "little":
                floats.byteswap()
            floats.tofile(f)


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---- Slurm queries ------------------------------------------------------------------------

def job_records(job, env):
    """scontrol show job -o JOB: one dict per job (per task of an array)."""
    text = run(["scontrol", "show", "job", "-o", str(job)], env)
    records = []
    for line in text.splitlines():
        if "JobId=" in line:
            records.append(dict(re.findall(r"(\w+)=(\S*)", line)))
    check(records, f"scontrol knows no job {job}")
    return records


def task_record(array_id, task, env):
    for record in job_records(array_id, env):
        if record.get("ArrayTaskId") == str(task):
            return record
    raise TestFailure(f"no task {task} in array {array_id}")


def queue_ids(env):
    """Ids (array base ids for array tasks) of the jobs not yet ended."""
    return set(run(["squeue", "-h", "-o", "%F"], env).split())


def wait_for_jobs(ids, env, seconds):
    ids = {str(i) for i in ids}
    wait_until(f"jobs {' '.join(sorted(ids))} to end", lambda: not (queue_ids(env) & ids), seconds, 0.5)


def runtime_seconds(record):
    """RunTime=[D-]HH:MM:SS."""
    text = record["RunTime"]
    days = 0
    if "-" in text:
        d, text = text.split("-")
        days = int(d)
    h, m, s = (int(x) for x in text.split(":"))
    return ((days * 24 + h) * 60 + m) * 60 + s


# ---- output checks ------------------------------------------------------------------------

def without_run(path):
    """summary.json less what only tells how and where it was written: the run block and the
    echo of -o in options (the direct runs write elsewhere, with the same other options)."""
    with open(path) as f:
        summary = json.load(f)
    summary.pop("run", None)
    summary.get("options", {}).pop("outdir", None)
    return summary


def check_same_outputs(outdir, reference, what):
    for name in ("nodes.csv", "edges.csv"):
        with open(os.path.join(outdir, name), "rb") as a, open(os.path.join(reference, name), "rb") as b:
            check(a.read() == b.read(), f"{what}: {name} differs from the direct svr run ({reference})")
    check(without_run(os.path.join(outdir, "summary.json")) ==
          without_run(os.path.join(reference, "summary.json")),
          f"{what}: summary.json differs from the direct svr run beyond the run block")


def snapshot(directories):
    """(path -> (mtime_ns, size)) of every directory and file under the given directories."""
    state = {}
    for top in directories:
        for root, dirs, files in os.walk(top):
            for name in [""] + files:
                path = os.path.join(root, name) if name else root
                st = os.stat(path)
                state[path] = (st.st_mtime_ns, st.st_size)
    return state


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def show_logs(tmp):
    """The end of every job log and of the daemons' logs, to tell why a run failed."""
    logs = []
    for folder, limit in (("sweep/logs", 25), ("single", 25), ("cluster/log", 30)):
        path = os.path.join(tmp, folder)
        if os.path.isdir(path):
            logs += [(os.path.join(path, n), limit) for n in sorted(os.listdir(path))]
    for path, limit in logs:
        try:
            with open(path, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        print(f"---- {path} (last {min(limit, len(lines))} of {len(lines)} lines)", file=sys.stderr)
        for line in lines[-limit:]:
            print(line, file=sys.stderr)


# ---- the test -----------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--svr", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    svr = os.path.abspath(args.svr)
    src = os.path.abspath(args.source_dir)
    cluster_script = os.path.join(src, "scripts", "slurm-local-cluster.sh")

    if os.geteuid() != 0:
        print("FAILED: the Slurm test needs root (it starts slurmd, which runs jobs as their "
              "user); run ctest as root, e.g. in CI", file=sys.stderr)
        return 1
    for tool in ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "srun", "mpiexec"):
        if not shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
            print(f"FAILED: '{tool}' is not installed: run scripts/install-deps.sh --tests "
                  "(Debian packages slurmctld slurmd slurm-client munge)", file=sys.stderr)
            return 1

    tmp = tempfile.mkdtemp(prefix="svr-slurm-test-")
    cluster = os.path.join(tmp, "cluster")
    base_env = dict(os.environ)
    base_env["PATH"] = base_env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    # What users have: no Open MPI root override, no BLAS thread setting (the scripts set it).
    for name in ("OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM",
                 "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "SVR_BIN", "SLURM_CONF"):
        base_env.pop(name, None)
    slurm_env = dict(base_env, SLURM_CONF=os.path.join(cluster, "slurm.conf"))

    def on_signal(number, _frame):
        raise TestFailure(f"stopped by signal {number}")

    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, on_signal)

    ok = False
    started = False
    try:
        say(f"starting a one-node Slurm cluster in {cluster}")
        started = True
        result = subprocess.run(["bash", cluster_script, "start", cluster, "--cpus", "4",
                                 "--max-array-size", "3"], env=base_env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=90)
        if result.returncode != 0:
            raise TestFailure("could not start the local Slurm cluster (munge, slurmctld or "
                              f"slurmd):\n{result.stdout}")
        mpi_list = run(["srun", "--mpi=list"], slurm_env)
        check("pmix" in mpi_list, f"srun has no PMIx plugin:\n{mpi_list}")
        test_cluster(svr, src, tmp, base_env, slurm_env)
        ok = True
    except TestFailure as e:
        print(f"FAILED: {e}", file=sys.stderr)
    except subprocess.TimeoutExpired as e:
        print(f"FAILED: command timed out: {e}", file=sys.stderr)
    finally:
        if not ok:
            show_logs(tmp)
        if started:
            say("stopping the cluster")
            subprocess.run(["bash", cluster_script, "stop", cluster], env=base_env, timeout=120)
        if ok and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp} (Slurm logs in {cluster}/log, task logs in {tmp}/sweep/logs)")
    say("PASSED" if ok else "FAILED")
    return 0 if ok else 1


def shared_block(path, start, end):
    """The lines between the marker lines START... and END (regular expressions)."""
    with open(path) as f:
        text = f.read()
    m = re.search(rf"^{start}.*?$\n(.*?)^{end}$", text, re.M | re.S)
    check(m, f"{path} has no block '{start}'")
    return m.group(1)


def test_scripts_offline(src, tmp, env):
    """What needs no cluster: the two copies of the job logic agree, and sweep-submit.sh
    refuses a list with missing models before it submits anything."""
    slurm = os.path.join(src, "slurm")
    job = ("# ---- shared with ", "# ---- end of the shared part ----")
    check(shared_block(os.path.join(slurm, "svr.sbatch"), *job) ==
          shared_block(os.path.join(slurm, "sweep.sbatch"), *job),
          "the shared blocks of slurm/svr.sbatch and slurm/sweep.sbatch differ")
    names = ("# ---- run_dir: ", "# ---- end of run_dir ----")
    check(shared_block(os.path.join(slurm, "sweep.sbatch"), *names) ==
          shared_block(os.path.join(slurm, "aggregate.sbatch"), *names),
          "run_dir differs between slurm/sweep.sbatch and slurm/aggregate.sbatch")
    bad = os.path.join(tmp, "bad.list")
    with open(bad, "w") as f:
        f.write("# two missing models\nno/such/model.safetensors\n\nnor/this.pth --max-rank 3\n")
    result = subprocess.run([os.path.join(src, "scripts", "sweep-submit.sh"), bad,
                             os.path.join(tmp, "never")], env=env, cwd=tmp, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    check(result.returncode == 2 and "line 2 of" in result.stdout and "line 4 of" in result.stdout
          and not os.path.exists(os.path.join(tmp, "never")),
          f"sweep-submit.sh on a list of missing models: exit {result.returncode}\n{result.stdout}")


def test_cluster(svr, src, tmp, base_env, slurm_env):
    test_scripts_offline(src, tmp, slurm_env)
    models = os.path.join(tmp, "models")
    for sub in ("big", "ckpt-1", "ckpt-2", "vgg"):
        os.makedirs(os.path.join(models, sub))
    say("writing the models")
    write_mlp(os.path.join(models, "big", "mlp-a.safetensors"), BIG_WIDTH, BIG_LAYERS, seed=1)
    write_mlp(os.path.join(models, "big", "mlp-b.safetensors"), BIG_WIDTH, BIG_LAYERS, seed=2)
    shutil.copy(os.path.join(src, "examples", "digits_cnn_bn.safetensors"),
                os.path.join(models, "ckpt-1", "model.safetensors"))
    shutil.copy(os.path.join(src, "examples", "digits_cnn_plain.safetensors"),
                os.path.join(models, "ckpt-2", "model.safetensors"))
    shutil.copy(os.path.join(src, "tests", "data", "vgg", "vgg_bn.pth"), os.path.join(models, "vgg"))
    shutil.copy(os.path.join(src, "tests", "data", "vgg", "vgg_plain.safetensors"),
                os.path.join(models, "vgg"))
    vgg_plain_abs = os.path.join(models, "vgg", "vgg_plain.safetensors")
    # (model as written in the list, options, expected directory name or suffix)
    entries = [
        ("big/mlp-a.safetensors", [], "0000-big-mlp-a"),
        ("big/mlp-b.safetensors", [], "0001-big-mlp-b"),
        ("ckpt-1/model.safetensors", [], "0002-ckpt-1-model"),
        ("ckpt-2/model.safetensors", [], "0003-ckpt-2-model"),
        ("vgg/vgg_bn.pth", [], "0004-vgg-vgg_bn"),
        (vgg_plain_abs, ["--method", "cosvr", "--fdr-scope", "pair"], "-vgg-vgg_plain"),
    ]
    list_path = os.path.join(models, "list.txt")
    with open(list_path, "w") as f:
        f.write("# svr sweep test: the two big MLPs first (they are interrupted)\n")
        f.write("big/mlp-a.safetensors\nbig/mlp-b.safetensors\n\n")
        f.write("ckpt-1/model.safetensors\r\nckpt-2/model.safetensors\n")
        f.write("   # an indented comment, then a line of blanks\n   \n")
        f.write("vgg/vgg_bn.pth\n")
        f.write(f"{vgg_plain_abs}   --method cosvr  --fdr-scope pair\n")

    outroot = os.path.join(tmp, "sweep")
    svr_dir = os.path.join(tmp, "bin")
    os.makedirs(svr_dir)
    os.symlink(svr, os.path.join(svr_dir, "svr"))
    # The sweep finds svr on PATH; the svr.sbatch jobs get SVR_BIN.
    sweep_env = dict(slurm_env, PATH=svr_dir + ":" + slurm_env["PATH"])
    submit = [os.path.join(src, "scripts", "sweep-submit.sh"), list_path, outroot,
              f"--ntasks={RANKS}", "--mem-per-cpu=1G", "--time=10"]

    say("submitting the sweep")
    out = run(submit, sweep_env, cwd=models)
    print(out, end="")
    m = re.search(r"^jobs: ([\d ]+) aggregate: (\d+)$", out, re.M)
    check(m, "sweep-submit.sh printed no 'jobs: ... aggregate: ...' line")
    arrays, aggregate_id = m.group(1).split(), m.group(2)
    check(len(arrays) == 2, f"6 models with MaxArraySize=3 should make 2 arrays, got {arrays}")
    record = job_records(aggregate_id, slurm_env)[0]
    check(record.get("Dependency", "").startswith(f"afterany:{arrays[0]}") and arrays[1] in
          record.get("Dependency", ""), f"aggregation dependency: {record.get('Dependency')}")

    # svr.sbatch: one good model, one that svr rejects, one missing file.
    single = os.path.join(tmp, "single")
    os.makedirs(single)
    single_env = dict(slurm_env, SVR_BIN=svr)
    sbatch = ["sbatch", "--parsable", f"--ntasks={RANKS}", "--mem-per-cpu=1G", "--time=10",
              f"--output={single}/%x-%j.out", os.path.join(src, "slurm", "svr.sbatch")]
    good = run(sbatch[:-1] + ["--job-name=good", sbatch[-1], "vgg/vgg_bn.pth",
                              os.path.join(single, "vgg_bn")], single_env, cwd=models).strip()
    nan = run(sbatch[:-1] + ["--job-name=nan", sbatch[-1],
                             os.path.join(src, "tests", "data", "vgg", "nan_weight.safetensors"),
                             os.path.join(single, "nan")], single_env, cwd=models).strip()
    missing = run(["env", "SVR_MODEL=no/such/model.safetensors"] + sbatch[:-1] +
                  ["--job-name=missing", sbatch[-1]], single_env, cwd=models).strip()

    # Interrupt the two MLP tasks while svr computes.
    a0_log = os.path.join(outroot, "logs", f"sweep-{arrays[0]}_0.out")
    a1_log = os.path.join(outroot, "logs", f"sweep-{arrays[0]}_1.out")

    def log_has(path, text):
        try:
            with open(path, errors="replace") as f:
                return text in f.read()
        except FileNotFoundError:
            return False

    # svr prints "read MODEL ..." once it has read the model, seconds before the SVDs are done.
    wait_until("svr to start on entry 0", lambda: log_has(a0_log, "read big/mlp-a"), 60, 0.1)
    say(f"entry 0 is computing: scancel --signal=USR1 --batch {arrays[0]}_0")
    run(["scancel", "--signal=USR1", "--batch", f"{arrays[0]}_0"], slurm_env)
    wait_until("svr to start on entry 1", lambda: log_has(a1_log, "read big/mlp-b"), 60, 0.1)
    say(f"entry 1 is computing: scontrol requeue {arrays[0]}_1")
    run(["scontrol", "requeue", f"{arrays[0]}_1"], slurm_env)
    for task, how in ((0, "USR1"), (1, "scontrol requeue")):
        t0 = time.monotonic()

        def requeued(task=task):
            r = task_record(arrays[0], task, slurm_env)
            return r if r["JobState"] == "PENDING" and r["Restarts"] == "1" else None

        wait_until(f"entry {task} to be requeued after {how}", requeued, 30, 0.1)
        say(f"entry {task} requeued {time.monotonic() - t0:.1f} s after the check started")
        outdir = os.path.join(outroot, entries[task][2])
        leftovers = [n for n in os.listdir(outroot) if n.startswith(entries[task][2])]
        check(not leftovers, f"after {how}, the stopped run of entry {task} left {leftovers}")
    check(log_has(a0_log, "SIGUSR1") and log_has(a0_log, "requeued"),
          f"{a0_log} does not tell that the task stopped svr and requeued itself")
    check(re.search(r"svr ended with status (1[2-9]\d)", open(a0_log).read()),
          f"{a0_log}: svr was not stopped by a signal (did it finish before the USR1?)")

    # A job that may not restart (SVR_MAX_RESTARTS=0) fails with exit code 3 on SIGUSR1.
    capped = run(["env", "SVR_MAX_RESTARTS=0"] + sbatch[:-1] + ["--job-name=capped", sbatch[-1],
                  "big/mlp-a.safetensors", os.path.join(single, "capped")], single_env, cwd=models).strip()
    capped_log = os.path.join(single, f"capped-{capped}.out")
    wait_until("svr to start in the capped job", lambda: log_has(capped_log, "read big/mlp-a"), 90, 0.1)
    run(["scancel", "--signal=USR1", "--batch", capped], slurm_env)
    say(f"capped job {capped} is computing: scancel --signal=USR1 --batch {capped}")

    say("waiting for every job to end")
    wait_for_jobs(arrays + [aggregate_id, good, nan, missing, capped], slurm_env, 200)
    sweep_seconds = CLOCK.elapsed()

    # Job states and exit codes as Slurm records them.
    for index in range(len(entries)):
        array_id, task = arrays[index // 3], index % 3
        r = task_record(array_id, task, slurm_env)
        check(r["JobState"] == "COMPLETED" and r["ExitCode"] == "0:0",
              f"entry {index} ({array_id}_{task}): {r['JobState']} {r['ExitCode']}")
        want_restarts = "1" if index < 2 else "0"
        check(r["Restarts"] == want_restarts, f"entry {index}: Restarts={r['Restarts']}")
    for job, state, code in ((good, "COMPLETED", "0:0"), (nan, "FAILED", "1:0"),
                             (missing, "FAILED", "2:0"), (capped, "FAILED", "3:0"),
                             (aggregate_id, "COMPLETED", "0:0")):
        r = job_records(job, slurm_env)[0]
        check((r["JobState"], r["ExitCode"]) == (state, code),
              f"job {job} ({r['JobName']}): {r['JobState']} {r['ExitCode']}, expected {state} {code}")
    check(log_has(capped_log, "not requeued") and not os.path.exists(os.path.join(single, "capped")),
          f"{capped_log}: the capped job should say 'not requeued' and leave no OUTDIR")
    say("job states: sweep tasks COMPLETED 0:0; svr.sbatch COMPLETED / FAILED 1:0 (svr refused the "
        "model) / FAILED 2:0 (no model) / FAILED 3:0 (restart limit)")

    # Direct runs outside Slurm, same ranks, one BLAS thread as the scripts set.
    direct_env = dict(base_env, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                      OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    reference = os.path.join(tmp, "direct")
    os.makedirs(reference)
    names = sorted(n for n in os.listdir(outroot) if n != "logs" and
                   os.path.isdir(os.path.join(outroot, n)))
    check(len(names) == len(entries), f"OUTROOT holds {names}, expected {len(entries)} directories")
    outdirs = []
    for index, (model, options, name) in enumerate(entries):
        matches = [n for n in names if n.startswith(f"{index:04d}-") and n.endswith(name.lstrip("0123456789"))]
        check(len(matches) == 1 and (not name[0].isdigit() or matches[0] == name),
              f"entry {index}: expected directory {name}, OUTROOT has {names}")
        outdir = os.path.join(outroot, matches[0])
        outdirs.append(outdir)
        with open(os.path.join(outdir, "summary.json")) as f:
            recorded = json.load(f)["run"]["input_sha256"]
        model_path = model if os.path.isabs(model) else os.path.join(models, model)
        check(recorded == sha256_of(model_path),
              f"{outdir}/summary.json: input_sha256 {recorded} is not the SHA-256 of {model}")
        ref = os.path.join(reference, str(index))
        run(["mpiexec", "--oversubscribe", "-n", str(RANKS), svr, model, "-o", ref, "--force"]
            + options, direct_env, cwd=models, timeout=120)
        check_same_outputs(outdir, ref, f"entry {index} ({model})")
    check_same_outputs(os.path.join(single, "vgg_bn"), os.path.join(reference, "4"), "svr.sbatch vgg_bn")
    say("outputs: SHA-256 recorded, nodes.csv and edges.csv identical to direct runs")

    # The aggregate tables.
    pairs = read_csv(os.path.join(outroot, "sweep.csv"))
    model_rows = read_csv(os.path.join(outroot, "sweep-models.csv"))
    check(len(model_rows) == len(entries),
          f"sweep-models.csv has {len(model_rows)} rows, expected {len(entries)}")
    expected_pairs = 0
    for index, outdir in enumerate(outdirs):
        with open(os.path.join(outdir, "summary.json")) as f:
            summary = json.load(f)
        significant = [p["significant"] for p in summary["pairs"]]
        expected_pairs += len(significant)
        rows = [r for r in pairs if os.path.basename(r["run_dir"].rstrip("/")) == os.path.basename(outdir)]
        check([int(r["significant"]) for r in rows] == significant,
              f"sweep.csv, {os.path.basename(outdir)}: significant "
              f"{[r['significant'] for r in rows]}, summary.json says {significant}")
        row = model_rows[index]
        check(os.path.basename(row["run_dir"].rstrip("/")) == os.path.basename(outdir) and
              int(row["significant"]) == sum(significant) and
              row["input_sha256"] == summary["run"]["input_sha256"],
              f"sweep-models.csv row {index}: {row}")
    check(len(pairs) == expected_pairs, f"sweep.csv has {len(pairs)} rows, expected {expected_pairs}")
    check(sum(int(r["significant"]) for r in model_rows) > 0, "no significant edge in any model")
    say(f"aggregate: {len(model_rows)} models, {len(pairs)} pairs, significant counts as in the summaries")

    # Resubmit the finished sweep: nothing is computed, nothing is touched.
    before = snapshot(outdirs)
    time.sleep(1.1)  # a rewrite now would get a visibly newer mtime
    t0 = time.monotonic()
    out = run(submit, sweep_env, cwd=models)
    m = re.search(r"^jobs: ([\d ]+) aggregate: (\d+)$", out, re.M)
    check(m, "sweep-submit.sh printed no 'jobs: ... aggregate: ...' line")
    arrays2, aggregate2 = m.group(1).split(), m.group(2)
    wait_for_jobs(arrays2 + [aggregate2], slurm_env, 90)
    resubmit_seconds = time.monotonic() - t0
    for index in range(len(entries)):
        array_id, task = arrays2[index // 3], index % 3
        r = task_record(array_id, task, slurm_env)
        check(r["JobState"] == "COMPLETED" and r["ExitCode"] == "0:0",
              f"resubmitted entry {index}: {r['JobState']} {r['ExitCode']}")
        # The log line is the proof that svr skipped; the run time only catches a gross
        # recomputation (the MLPs take 5-10 s) without failing on a busy machine.
        check(runtime_seconds(r) <= 15, f"resubmitted entry {index} ran {r['RunTime']}: not skipped?")
        log = os.path.join(outroot, "logs", f"sweep-{array_id}_{task}.out")
        check(log_has(log, "is complete for this model; skipped"), f"{log} does not say it skipped")
    r = job_records(aggregate2, slurm_env)[0]
    check((r["JobState"], r["ExitCode"]) == ("COMPLETED", "0:0"),
          f"second aggregation: {r['JobState']} {r['ExitCode']}")
    after = snapshot(outdirs)
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    check(not changed, f"the resubmitted sweep touched {changed[:5]}")
    say(f"resubmission: all {len(entries)} models skipped in {resubmit_seconds:.1f} s, outputs untouched")

    # The aggregation fails, naming the entry, when a model of the list has no output.
    longer = os.path.join(models, "longer.txt")
    with open(list_path) as f, open(longer, "w") as g:
        g.write(f.read() + "ckpt-1/model.safetensors --max-rank 4\n")
    result = subprocess.run(["bash", os.path.join(src, "slurm", "aggregate.sbatch"), longer, outroot],
                            env=dict(sweep_env), cwd=models, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=60)
    check(result.returncode == 1 and "entry 6 (line 11 of" in result.stdout and
          "1 of 7 models" in result.stdout,
          f"aggregate.sbatch with a model without output: exit {result.returncode}\n{result.stdout}")
    say("aggregation with a missing model: exit 1, the entry named")
    say(f"first sweep with two requeues took {sweep_seconds:.0f} s of the test")


if __name__ == "__main__":
    sys.exit(main())

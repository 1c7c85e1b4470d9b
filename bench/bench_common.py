"""Helpers shared by the benchmark scripts in bench/: running svr under mpiexec with one
/usr/bin/time -v report per rank, sampling the load average, formatting numbers, describing the
machine, and rewriting one marked section of docs/benchmarks.md."""

import json
import os
import platform
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTRO = """# Benchmarks

Timings of `svr` on real network sizes, each next to a plain NumPy/SciPy baseline computing the
same factorisations on the same machine in the same run. Every section is written by a script in
`bench/` and says how to reproduce it; the numbers are from one machine and one run and only
indicate orders of magnitude and where the time goes.
"""
SINGLE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
}


# --------------------------------------------------------------------------------------------
# helpers


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def rel(path):
    """Path relative to the repository when inside it (for readable commands)."""
    p = os.path.abspath(path)
    if p == REPO or p.startswith(REPO + os.sep):
        return os.path.relpath(p, REPO)
    return p


def read_safetensors_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    return header, 8 + n


def parse_time_v(path):
    """Maximum resident set (MiB) and elapsed seconds from a /usr/bin/time -v report."""
    out = {}
    try:
        text = open(path).read()
    except OSError:
        return out
    m = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", text)
    if m:
        out["maxrss_mb"] = int(m.group(1)) / 1024.0
    m = re.search(r"Elapsed \(wall clock\) time.*?:\s*([\d:.]+)", text)
    if m:
        secs = 0.0
        for part in m.group(1).split(":"):
            secs = secs * 60 + float(part)
        out["elapsed_s"] = secs
    return out


class LoadSampler:
    """Samples the 1-minute load average every few seconds while a configuration runs, so a
    busy machine (other jobs) shows up next to the timings."""

    def __init__(self, period=5.0):
        import threading
        self.period = period
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while True:
            try:
                self.samples.append(os.getloadavg()[0])
            except OSError:
                return
            if self._stop.wait(self.period):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        try:
            self.samples.append(os.getloadavg()[0])
        except OSError:
            pass

    def summary(self):
        if not self.samples:
            return None
        return {"mean": sum(self.samples) / len(self.samples), "max": max(self.samples)}


def fmt_s(x):
    if x is None:
        return "n/a"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 0.1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def fmt_load(x):
    return "n/a" if not x else f"{x['mean']:.1f} / {x['max']:.1f}"


def fmt_mb(x):
    return "n/a" if x is None else f"{x:,.0f}"


def ratio(a, b):
    return None if not a or not b else a / b


def fmt_r(x):
    return "n/a" if x is None else f"{x:.2f}"



def run_svr(svr, model, workdir, ranks, mpiexec, extra_args=(), tag=""):
    """Runs svr once under mpiexec; returns wall time, phases, memory per rank and counts."""
    outdir = os.path.join(workdir, f"out{tag}-{ranks}")
    timedir = tempfile.mkdtemp(prefix=f"time-{ranks}-", dir=workdir)
    env = dict(os.environ, **SINGLE_THREAD_ENV)
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    base = [mpiexec, "-n", str(ranks), "--oversubscribe"]
    if os.geteuid() == 0:
        base.append("--allow-run-as-root")
    for k in SINGLE_THREAD_ENV:  # make sure every rank gets them, whatever the launcher does
        base += ["-x", k]
    svr_cmd = [svr, model, "-o", outdir, "--force", "--quiet"] + list(extra_args)
    time_bin = shutil.which("time", path="/usr/bin")
    if time_bin:
        # one /usr/bin/time -v report per rank: TIMEDIR/rank.<rank>
        wrapper = ('r=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${PMI_RANK:-0}}}; '
                   'exec ' + time_bin + ' -v -o "$0/rank.$r" "$@"')
        cmd = base + ["sh", "-c", wrapper, timedir] + svr_cmd
    else:
        cmd = base + svr_cmd
    with LoadSampler() as load:
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"svr failed with {ranks} rank(s), exit status {proc.returncode}")
    with open(os.path.join(outdir, "summary.json")) as f:
        summary = json.load(f)
    run = summary.get("run", {})
    per_rank = {}
    for name in sorted(os.listdir(timedir)):
        if name.startswith("rank."):
            per_rank[name[5:]] = parse_time_v(os.path.join(timedir, name)).get("maxrss_mb")
    shutil.rmtree(timedir, ignore_errors=True)
    return {
        "ranks": ranks,
        "wall_s": wall,
        "phases": dict(run.get("seconds_per_phase", {})),
        "peak_memory_mb": run.get("peak_memory_mb"),
        "peak_memory_mb_per_rank": run.get("peak_memory_mb_per_rank"),
        "maxrss_mb_per_rank": per_rank,
        "outdir": outdir,
        "load": load.summary(),
        "edges_tested": sum(p.get("edges_tested", 0) for p in summary.get("pairs", [])),
        "edges_significant": sum(p.get("significant", 0) for p in summary.get("pairs", [])),
        "command": " ".join(shlex.quote(rel(c) if c in (svr, model) else c)
                            for c in [mpiexec, "-n", str(ranks), "--oversubscribe"] + svr_cmd),
    }


def machine_info():
    info = {"nproc": os.cpu_count(), "cpu": platform.processor() or "unknown", "mem_gb": None}
    try:
        info["nproc"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["mem_gb"] = int(line.split()[1]) / 1024.0 / 1024.0
    except OSError:
        pass
    info["kernel"] = platform.release()
    return info


def first_line(cmd):
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=30).stdout
        return out.strip().splitlines()[0] if out.strip() else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_markdown(path, section, begin, end):
    """Replaces the text between the markers begin and end of path (appends it if missing)."""
    block = begin + "\n" + section.rstrip("\n") + "\n" + end + "\n"
    if os.path.exists(path):
        text = open(path).read()
        if begin in text and end in text and text.index(begin) < text.index(end):
            a = text.index(begin)
            b = text.index(end) + len(end)
            if text[b:b + 1] == "\n":
                b += 1
            text = text[:a] + block + text[b:]
        else:
            text = text.rstrip("\n") + "\n\n" + block
    else:
        text = INTRO + "\n" + block
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def export_torch_model(model, path):
    """Writes a torch module to path with scripts/export_safetensors.py (via a temporary file,
    so an interrupted export leaves nothing that looks complete); returns svr's layer names."""
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    from export_safetensors import export_model  # noqa: E402

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    layers = export_model(model.eval(), tmp)
    os.replace(tmp, path)
    return layers


def run_baseline(script, model, workdir, python, sigma_name):
    """Runs `script --baseline-worker MODEL` (the benchmark's own NumPy baseline) in a fresh
    interpreter with one BLAS thread, under /usr/bin/time -v; returns the JSON it wrote plus
    wall_s, load, maxrss_mb and sigma_path (WORKDIR/sigma_name)."""
    result_path = os.path.join(workdir, "baseline.json")
    sigma_path = os.path.join(workdir, sigma_name)
    time_path = os.path.join(workdir, "baseline.time")
    env = dict(os.environ, **SINGLE_THREAD_ENV)
    cmd = [python, os.path.abspath(script), "--baseline-worker", model,
           "--baseline-result", result_path, "--baseline-sigma", sigma_path]
    time_bin = shutil.which("time", path="/usr/bin")
    if time_bin:
        cmd = [time_bin, "-v", "-o", time_path] + cmd
    with LoadSampler() as load:
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"baseline failed with exit status {proc.returncode}")
    with open(result_path) as f:
        res = json.load(f)
    res["wall_s"] = wall
    res["load"] = load.summary()
    res["maxrss_mb"] = parse_time_v(time_path).get("maxrss_mb") if time_bin else None
    res["sigma_path"] = sigma_path
    return res


def add_launch_arguments(ap):
    """The options every benchmark shares: the MPI launcher, the baseline's interpreter, and
    the hidden ones by which the script runs itself as the baseline subprocess."""
    import argparse
    ap.add_argument("--mpiexec", default="mpiexec", metavar="PATH",
                    help="MPI launcher (default: %(default)s)")
    ap.add_argument("--python", default=sys.executable, metavar="PATH",
                    help="interpreter of the baseline subprocess (default: this one, %(default)s)")
    ap.add_argument("--baseline-worker", metavar="MODEL", help=argparse.SUPPRESS)
    ap.add_argument("--baseline-result", help=argparse.SUPPRESS)
    ap.add_argument("--baseline-sigma", help=argparse.SUPPRESS)


def parse_rank_list(ap, text):
    """Sorted distinct rank counts from a comma list such as "1,2"; ap.error on bad input."""
    try:
        ranks = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        ap.error(f"--ranks expects a comma list of integers, got {text!r}")
    if not ranks or min(ranks) < 1:
        ap.error("--ranks needs at least one count >= 1")
    return ranks

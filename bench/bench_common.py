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
FAMILIES = os.path.join(REPO, "tests", "data", "families")
BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
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


def safetensors_tensors(path):
    """(tensor, metadata) of a safetensors file: tensor(name) is the named tensor as a float64
    array of its shape, read through a memory map; metadata is the header's __metadata__."""
    import numpy as np

    header, data_start = read_safetensors_header(path)
    metadata = header.pop("__metadata__", {}) or {}
    dtypes = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}
    raw = np.memmap(path, dtype=np.uint8, mode="r")

    def tensor(name):
        h = header[name]
        b, e = h["data_offsets"]
        w = np.frombuffer(raw[data_start + b:data_start + e], dtype=dtypes[h["dtype"]])
        return w.reshape(h["shape"]).astype(np.float64)

    return tensor, metadata


def svr_sigmas(outdir):
    """{layer name: its singular values by neuron} from svr's OUTDIR/nodes.csv."""
    import csv

    got = {}
    with open(os.path.join(outdir, "nodes.csv"), newline="") as f:
        for row in csv.DictReader(f):
            got.setdefault(row["layer_name"], []).append((int(row["neuron"]), float(row["sigma"])))
    return {name: [s for _, s in sorted(values)] for name, values in got.items()}


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


def fmt_or_dash(x, spec=".2f"):
    """x formatted with spec, or "-" when there is no value."""
    return "-" if x is None else format(x, spec)


def add_build_arguments(ap):
    """--svr (the binary) and --skip-build, which every benchmark that runs svr has."""
    ap.add_argument("--svr", default=os.path.join(REPO, "build", "svr"),
                    help="the svr binary, rebuilt first unless --skip-build (default: %(default)s)")
    ap.add_argument("--skip-build", action="store_true", help="do not rebuild svr")


def fmt_load(x):
    return "n/a" if not x else f"{x['mean']:.1f} / {x['max']:.1f}"


def fmt_mb(x):
    return "n/a" if x is None else f"{x:,.0f}"


def ratio(a, b):
    return None if not a or not b else a / b


def fmt_r(x):
    return "n/a" if x is None else f"{x:.2f}"



class SvrTimeout(Exception):
    """run_svr stopped svr after its timeout."""


def stop_process_group(proc, grace=10.0):
    """Stops a process started with start_new_session=True: SIGTERM to it (mpiexec forwards it
    to its ranks), then, after grace seconds, SIGKILL to its whole process group."""
    import signal
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    except OSError:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        proc.communicate(timeout=grace)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        pass


def mpi_launch(mpiexec, ranks):
    """(the mpiexec command line before the program, its environment): `ranks` processes,
    oversubscribed, one BLAS thread each, allowed to run as root (benchmarks only)."""
    env = dict(os.environ, **SINGLE_THREAD_ENV)
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    base = [mpiexec, "-n", str(ranks), "--oversubscribe"]
    if os.geteuid() == 0:
        base.append("--allow-run-as-root")
    for k in SINGLE_THREAD_ENV:  # make sure every rank gets them, whatever the launcher does
        base += ["-x", k]
    return base, env


def run_svr(svr, model, workdir, ranks, mpiexec, extra_args=(), tag="", timeout=None):
    """Runs svr once under mpiexec; returns wall time, phases, memory per rank and counts.
    With timeout (seconds), stops svr (stop_process_group) and raises SvrTimeout when it
    runs longer."""
    outdir = os.path.join(workdir, f"out{tag}-{ranks}")
    timedir = tempfile.mkdtemp(prefix=f"time-{ranks}-", dir=workdir)
    base, env = mpi_launch(mpiexec, ranks)
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
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except KeyboardInterrupt:  # the new session does not get the terminal's SIGINT
            stop_process_group(proc)
            raise
        except subprocess.TimeoutExpired:
            stop_process_group(proc)
            shutil.rmtree(timedir, ignore_errors=True)
            raise SvrTimeout(f"svr with {ranks} rank(s) on {model}: over {timeout:.0f} s, "
                             "stopped")
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(out + err)
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
        "command": " ".join(shlex.quote(rel(c) if os.path.isabs(c) else c)
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


def publish_section(section, path, begin, end, write=True):
    """Prints a benchmark's section and, with write, puts it between its markers in path."""
    print(section)
    if write:
        write_markdown(path, section, begin, end)
        log(f"wrote {rel(path)}")


def export_square_mlp(path, width, depth):
    """A chain of `depth` square Linear layers of `width` with ReLUs between them
    (torch.manual_seed(0), PyTorch's default initialisation), written to path; returns svr's
    layer names."""
    import torch

    torch.manual_seed(0)
    modules = []
    for _ in range(depth):
        modules += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    return export_torch_model(torch.nn.Sequential(*modules[:-1]), path)


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


def run_baseline(script, model, workdir, python, sigma_name, extra_args=()):
    """Runs `script --baseline-worker MODEL [extra_args]` (the benchmark's own NumPy baseline)
    in a fresh interpreter with one BLAS thread, under /usr/bin/time -v; returns the JSON it
    wrote plus wall_s, load, maxrss_mb and sigma_path (WORKDIR/sigma_name)."""
    result_path = os.path.join(workdir, "baseline.json")
    sigma_path = os.path.join(workdir, sigma_name)
    time_path = os.path.join(workdir, "baseline.time")
    env = dict(os.environ, **SINGLE_THREAD_ENV)
    cmd = [python, os.path.abspath(script), "--baseline-worker", model,
           "--baseline-result", result_path, "--baseline-sigma", sigma_path] + list(extra_args)
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


def add_comparison_arguments(ap, workdir, model_file, begin, end, out_note=""):
    """The options of the svr-against-NumPy benchmarks (VGG16, ResNet-50): the binary, the
    working directory (its model_file is reused), rank counts, repeats, the markdown section
    between begin and end, building; then add_launch_arguments."""
    ap.add_argument("--svr", default=os.path.join(REPO, "build", "svr"), metavar="PATH",
                    help="svr binary (default: build/svr of this repository)")
    ap.add_argument("--workdir", default=workdir, metavar="DIR",
                    help="where the model, svr outputs and baseline results go; the model "
                         f"WORKDIR/{model_file} is reused if present (default: %(default)s)")
    ap.add_argument("--ranks", default="1,2", metavar="R1,R2,...",
                    help="comma list of MPI rank counts to run svr with (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run every configuration and the baseline N times and report the "
                         "fastest (default: %(default)s)")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "benchmarks.md"), metavar="FILE",
                    help=f"markdown file whose section between '{begin}' and '{end}' is "
                         f"rewritten (created with an intro if missing{out_note}; default: "
                         "docs/benchmarks.md)")
    ap.add_argument("--no-write", action="store_true",
                    help="only print the results, do not touch --out")
    ap.add_argument("--skip-build", action="store_true",
                    help="do not run 'cmake --build' on svr's build directory first")
    add_launch_arguments(ap)


def parse_comparison_args(ap, argv):
    """Parses the options of add_comparison_arguments: a.rank_list from --ranks, --repeat
    checked; as given when the script runs as its own baseline subprocess."""
    a = ap.parse_args(argv)
    if a.baseline_worker:
        return a
    a.rank_list = parse_rank_list(ap, a.ranks)
    if a.repeat < 1:
        ap.error("--repeat must be >= 1")
    return a


def prepare_comparison(a):
    """(svr binary, absolute work directory, MPI launcher) of a comparison run: svr rebuilt
    unless --skip-build, the work directory created."""
    svr = build_svr(a.svr, a.skip_build)
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    return svr, workdir, shutil.which(a.mpiexec) or a.mpiexec


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
    ap.add_argument("--baseline-summary", help=argparse.SUPPRESS)


def parse_rank_list(ap, text):
    """Sorted distinct rank counts from a comma list such as "1,2"; ap.error on bad input."""
    try:
        ranks = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        ap.error(f"--ranks expects a comma list of integers, got {text!r}")
    if not ranks or min(ranks) < 1:
        ap.error("--ranks needs at least one count >= 1")
    return ranks


# --------------------------------------------------------------------------------------------
# shared by the svr-against-NumPy benchmarks (VGG16, ResNet-50)


def build_svr(svr_path, skip_build=False):
    """Absolute path of the svr binary, rebuilt first with 'cmake --build' when it sits in a
    CMake build directory (unless skip_build); exits when it is not executable."""
    svr = os.path.abspath(svr_path)
    if not skip_build:
        build_dir = os.path.dirname(svr)
        if os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            log(f"cmake --build {rel(build_dir)} --target svr -j2")
            subprocess.run(["cmake", "--build", build_dir, "--target", "svr", "-j2"], check=True,
                           stdout=subprocess.DEVNULL)
        else:
            log(f"no CMakeCache.txt next to {svr}: not building")
    if not os.access(svr, os.X_OK):
        raise SystemExit(f"{svr}: not an executable (build svr first, or pass --svr)")
    return svr


def versions(svr, mpiexec, python, torch=True):
    """Versions of svr, the MPI launcher, the baseline's interpreter (and torch/torchvision
    when torch) and Debian's OpenBLAS package."""
    svr_v = first_line([svr, "--version"])
    v = {"svr": svr_v.split()[-1] if svr_v.startswith("svr ") else svr_v,
         "mpi": first_line([mpiexec, "--version"]),
         "python": first_line([python, "-c", "import sys; print(sys.version.split()[0])"])}
    if torch:
        v["torch/torchvision"] = first_line(
            [python, "-c",
             "import torch, torchvision; print(torch.__version__, torchvision.__version__)"])
    blas = first_line(["dpkg-query", "-W", "-f=${Version}", "libopenblas0-pthread"])
    v["openblas"] = blas if blas and "no packages" not in blas.lower() else "unknown"
    return v


def sha256_seconds(path):
    """Seconds coreutils sha256sum takes on path (the reference for svr's checksum phase)."""
    if not shutil.which("sha256sum"):
        return None
    t = time.perf_counter()
    if subprocess.run(["sha256sum", path], stdout=subprocess.DEVNULL).returncode != 0:
        return None
    return time.perf_counter() - t


def run_svr_repeats(svr, model, workdir, rank_list, repeat, mpiexec, extra_args=()):
    """run_svr `repeat` times at every rank count; returns ({R: fastest run}, {R: [walls]})."""
    svr_runs, all_walls = {}, {}
    for R in rank_list:
        for i in range(repeat):
            log(f"svr with {R} rank(s), run {i + 1}/{repeat} ...")
            r = run_svr(svr, model, workdir, R, mpiexec, extra_args)
            log(f"  wall {r['wall_s']:.1f} s, phases " +
                ", ".join(f"{k} {v:.2f}" for k, v in r["phases"].items()) +
                f", peak {fmt_mb(r['peak_memory_mb'])} MiB")
            all_walls.setdefault(R, []).append(r["wall_s"])
            if R not in svr_runs or r["wall_s"] < svr_runs[R]["wall_s"]:
                svr_runs[R] = r
    return svr_runs, all_walls


def run_baseline_repeats(script, model, workdir, python, repeat, sigma_name, extra_args=()):
    """run_baseline `repeat` times; returns (the run with the least NumPy SVD time, [walls])."""
    base, walls = None, []
    for i in range(repeat):
        log(f"NumPy/SciPy baseline, run {i + 1}/{repeat} (one BLAS thread) ...")
        b = run_baseline(script, model, workdir, python, sigma_name, extra_args)
        walls.append(b["wall_s"])
        if base is None or sum(b["numpy_svd_s"].values()) < sum(base["numpy_svd_s"].values()):
            base = b
    return base, walls


def numpy_edges(factors, pairs, verbose=False):
    """The edge matrices E of spec section 3 (and section 7 for a pair whose consumer reads all
    of its producer's channels at the same indices: direct and add maps) with NumPy:
    E[j, i] = sum over p of (sum over a of V_j[a*z + p] U_i[a])^2, one GEMM per position p.
    factors[l] = (U, s, Vt) of layer l; pairs = [(from_layer, to_layer, c, z), ...].
    Returns (seconds, [{"from", "to", "c", "z", "shape", "sum"}, ...])."""
    import numpy as np

    t = time.perf_counter()
    out = []
    for a, b, c, z in pairs:
        U = factors[a][0]                  # c x r_a  (output side of the producer)
        Vt = factors[b][2]                 # r_b x (c*z)  (input side of the consumer)
        if U.shape[0] != c or Vt.shape[1] != c * z:
            raise SystemExit(f"pair {a} -> {b}: U is {U.shape}, V^T is {Vt.shape}, "
                             f"c = {c}, z = {z} do not match")
        V3 = Vt.reshape(Vt.shape[0], c, z)
        E = np.zeros((Vt.shape[0], U.shape[1]))
        for p in range(z):
            G = np.ascontiguousarray(V3[:, :, p]) @ U
            G *= G
            E += G
        out.append({"from": a, "to": b, "c": c, "z": z, "shape": list(E.shape),
                    "sum": float(E.sum())})
        del E
    seconds = time.perf_counter() - t
    if verbose:
        print(f"  numpy  edges ({len(pairs)} pairs) {seconds:8.2f} s", flush=True)
    return seconds, out


def compare_sigmas(svr_outdir, sigma_path, layers):
    """Max over layers of max_i |s_svr - s_numpy| / s_max, from svr's nodes.csv and the
    baseline's .npz of singular values by layer name."""
    import numpy as np

    ref = np.load(sigma_path)
    got = svr_sigmas(svr_outdir)
    unexpected = sorted(set(got) - set(layers))
    if unexpected:
        raise SystemExit(f"{svr_outdir}/nodes.csv: layers the baseline does not have: {unexpected}")
    worst = 0.0
    for name in layers:
        s = np.array(got.get(name, []))
        r = ref[name]
        if s.shape != r.shape:
            return float("inf")
        worst = max(worst, float(np.max(np.abs(s - r)) / r[0]))
    return worst


def lpt_partition(shapes, ranks):
    """svr's LayerPartition: layers by decreasing rows*cols*min(rows, cols), each to the
    least-loaded rank (lowest rank on ties). Returns the owner of every layer."""
    cost = [r * c * min(r, c) for r, c in shapes]
    order = sorted(range(len(shapes)), key=lambda i: -cost[i])  # stable, like std::stable_sort
    load = [0.0] * ranks
    owner = [0] * len(shapes)
    for i in order:
        k = min(range(ranks), key=lambda j: (load[j], j))
        owner[i] = k
        load[k] += cost[i]
    return owner


def layer_owners(run, shapes):
    """The rank that factored each layer in an svr run: summary.json's run.execution when it
    lists a LAPACK rank for every layer, otherwise svr's partition recomputed (lpt_partition)."""
    try:
        with open(os.path.join(run["outdir"], "summary.json")) as f:
            ex = json.load(f)["run"]["execution"]["layers"]
        owners = [int(x["rank"]) for x in ex]
        if len(owners) == len(shapes):
            return owners
    except (OSError, KeyError, TypeError, ValueError):
        pass
    return lpt_partition(shapes, run["ranks"])


def build_tables(svr_runs, base, layers):
    """The phase table of the svr runs and the baseline: returns (markdown lines, plain text
    lines, markdown lines of the baseline's per-layer SVD times, phase names, derived numbers
    np_svd, sp_svd (None without SciPy), np_edges, np_total, biggest, biggest_s)."""
    phase_names = []
    for r in svr_runs.values():
        for p in r["phases"]:
            if p not in phase_names:
                phase_names.append(p)
    np_svd = sum(base["numpy_svd_s"].values())
    has_scipy = bool(base.get("scipy_svd_s"))
    sp_svd = sum(base["scipy_svd_s"].values()) if has_scipy else None
    np_edges = base["edges_s"]
    d = {"np_svd": np_svd, "sp_svd": sp_svd, "np_edges": np_edges, "np_total": np_svd + np_edges}

    md = []
    hdr = ["configuration"] + [f"{p} (s)" for p in phase_names] + \
        ["sum of phases (s)", "other (s)", "wall (s)", "peak memory (MiB)",
         "load avg mean / max"]
    md.append("| " + " | ".join(hdr) + " |")
    md.append("|" + " --- |" * len(hdr))
    txt = []
    for R, r in sorted(svr_runs.items()):
        ph = [r["phases"].get(p) for p in phase_names]
        tot = sum(x for x in ph if x is not None)
        per_rank = r["maxrss_mb_per_rank"]
        mem = ", ".join(f"r{k}: {fmt_mb(v)}" for k, v in sorted(per_rank.items(),
                                                                key=lambda kv: int(kv[0]))
                        if v is not None)
        mem = (mem + f" (summary max {fmt_mb(r['peak_memory_mb'])})") if mem \
            else fmt_mb(r["peak_memory_mb"])
        row = [f"svr, {R} rank{'s' if R > 1 else ''}"] + [fmt_s(x) for x in ph] + \
            [fmt_s(tot), fmt_s(r["wall_s"] - tot), fmt_s(r["wall_s"]), mem, fmt_load(r["load"])]
        md.append("| " + " | ".join(row) + " |")
        txt.append(f"svr {R} rank(s): " + ", ".join(f"{p} {fmt_s(x)}" for p, x in
                                                    zip(phase_names, ph))
                   + f" | phases {fmt_s(tot)} | wall {fmt_s(r['wall_s'])} s | mem {mem} MiB"
                   + f" | load {fmt_load(r['load'])}")
    blank = [""] * len(phase_names)
    rows = [("NumPy `linalg.svd` (gesdd)", np_svd)]
    if has_scipy:
        rows.append(("SciPy `linalg.svd` (gesdd)", sp_svd))
    for label, svd_s in rows:
        cells = list(blank)
        if "svd" in phase_names:
            cells[phase_names.index("svd")] = fmt_s(svd_s)
        if label.startswith("NumPy") and "edges" in phase_names:
            cells[phase_names.index("edges")] = fmt_s(np_edges)
        if "read" in phase_names and label.startswith("NumPy"):
            cells[phase_names.index("read")] = fmt_s(base["load_s"])
        tot = svd_s + (np_edges if label.startswith("NumPy") else 0.0)
        mem = fmt_mb(base.get("maxrss_mb")) + " (whole baseline process)"
        md.append("| " + " | ".join([label] + cells + [fmt_s(tot), "", "", mem,
                                                        fmt_load(base.get("load"))]) + " |")
    txt.append(f"numpy: load {fmt_s(base['load_s'])}, svd {fmt_s(np_svd)}, edges "
               f"{fmt_s(np_edges)}, svd+E {fmt_s(np_svd + np_edges)} s"
               + (f"; scipy gesdd svd {fmt_s(sp_svd)} s" if has_scipy else "")
               + f"; baseline peak RSS {fmt_mb(base.get('maxrss_mb'))} MiB")

    # per-layer SVD times of the baseline
    if has_scipy:
        lay = ["| layer | matrix | NumPy gesdd (s) | SciPy gesdd (s) |",
               "| --- | --- | --- | --- |"]
    else:
        lay = ["| layer | matrix | NumPy gesdd (s) |", "| --- | --- | --- |"]
    for name, shape in zip(layers, base["matrix_shapes"]):
        line = f"| `{name}` | {shape[0]} x {shape[1]} | {fmt_s(base['numpy_svd_s'][name])} |"
        if has_scipy:
            line += f" {fmt_s(base['scipy_svd_s'][name])} |"
        lay.append(line)
    biggest = max(base["numpy_svd_s"], key=base["numpy_svd_s"].get)
    d["biggest"] = biggest
    d["biggest_s"] = base["numpy_svd_s"][biggest]
    return md, txt, lay, phase_names, d


def derived_ratios(svr_runs, base, layers, d):
    """The ratios of the svr runs against the baseline, the speed-ups from the smallest rank
    count, and the svd-phase speed-up that svr's layer partition allows (from the baseline's
    per-layer times). Returns (r1, ratios [(label, value)], effs [(R, wall speed-up,
    efficiency, svd speed-up)], part {R: {owner, per_rank_s, bound}}, bound with one layer per
    rank)."""
    r1 = svr_runs.get(1) or svr_runs[min(svr_runs)]
    R1 = r1["ranks"]
    r1_svd = r1["phases"].get("svd")
    r1_edges = r1["phases"].get("edges")
    ratios = [
        (f"svr ({R1} rank) wall / NumPy gesdd only", ratio(r1["wall_s"], d["np_svd"])),
        (f"svr ({R1} rank) wall / (NumPy SVD + E)", ratio(r1["wall_s"], d["np_total"])),
        (f"svr ({R1} rank) svd phase / NumPy gesdd", ratio(r1_svd, d["np_svd"])),
    ]
    if d.get("sp_svd"):
        ratios.append((f"svr ({R1} rank) svd phase / SciPy gesdd", ratio(r1_svd, d["sp_svd"])))
    ratios.append((f"svr ({R1} rank) edges phase / NumPy E", ratio(r1_edges, d["np_edges"])))
    effs = []
    for R, r in sorted(svr_runs.items()):
        if R == R1:
            continue
        ratios.append((f"svr ({R} ranks) wall / (NumPy SVD + E)",
                       ratio(r["wall_s"], d["np_total"])))
        sp = ratio(r1["wall_s"], r["wall_s"])
        eff = None if sp is None else sp * R1 / R
        sp_svd = ratio(r1_svd, r["phases"].get("svd"))
        effs.append((R, sp, eff, sp_svd))
    bound = ratio(d["np_svd"], d["biggest_s"])
    part = {}
    for R, r in svr_runs.items():
        owner = layer_owners(r, base["matrix_shapes"])
        per = [0.0] * R
        for name, o in zip(layers, owner):
            per[o] += base["numpy_svd_s"][name]
        part[R] = {"owner": owner, "per_rank_s": per, "bound": ratio(d["np_svd"], max(per))}
    return r1, ratios, effs, part, bound


def print_ratios(txt, ratios, effs, part, d, bound, sigma_err, R1):
    print()
    for line in txt:
        print(line)
    for label, x in ratios:
        print(f"{label}: {fmt_r(x)}")
    for R, sp, eff, sp_svd in effs:
        print(f"{R1} -> {R} ranks: speed-up {fmt_r(sp)} (wall), parallel efficiency "
              f"{fmt_r(eff)}; svd phase speed-up {fmt_r(sp_svd)}")
    for R, pt in sorted(part.items()):
        if R > 1:
            print(f"{R} ranks: svr's partition gives per-rank NumPy SVD seconds "
                  + ", ".join(fmt_s(x) for x in pt["per_rank_s"])
                  + f" -> svd-phase speed-up bound {fmt_r(pt['bound'])}")
    print(f"largest SVD: {d['biggest']} {fmt_s(d['biggest_s'])} s of NumPy's {fmt_s(d['np_svd'])} "
          f"s -> svd-phase speed-up bound with one layer per rank: {fmt_r(bound)}")
    for R, e in sorted(sigma_err.items()):
        print(f"svr {R} rank(s) singular values vs NumPy: max |ds| / s_max = {e:.2e}")


def ratio_table(ratios, effs, part, bound, R1):
    """Markdown lines of the ratio table."""
    S = ["| ratio | value |", "| --- | --- |"]
    for label, x in ratios:
        S.append(f"| {label} | {fmt_r(x)} |")
    for R, sp, eff, sp_svd in effs:
        S.append(f"| speed-up {R1} → {R} ranks (wall) | {fmt_r(sp)} |")
        S.append(f"| parallel efficiency {R1} → {R} ranks (wall) | {fmt_r(eff)} |")
        S.append(f"| speed-up {R1} → {R} ranks (svd phase) | {fmt_r(sp_svd)} |")
    for R, pt in sorted(part.items()):
        if R > 1:
            S.append(f"| svd-phase speed-up allowed by svr's layer partition at {R} ranks "
                     f"(from the NumPy per-layer times) | {fmt_r(pt['bound'])} |")
    S.append(f"| best possible svd-phase speed-up with whole layers per rank "
             f"(NumPy SVD total / largest layer) | {fmt_r(bound)} |")
    return S


def baseline_compute(names, mats, pairs, load_s, result_path, sigma_path, scipy_too=True):
    """The timed part of a NumPy baseline, after the worker loaded the layer matrices (float64,
    out x (in*k...)): numpy.linalg.svd(M, full_matrices=False) (LAPACK gesdd) of every matrix,
    then the E of every pair [(from, to, c, z)] (numpy_edges), then, with scipy_too,
    scipy.linalg.svd(..., lapack_driver='gesdd') of every matrix. Writes result_path (JSON:
    layers, load_s, numpy_svd_s and scipy_svd_s by layer, matrix_shapes, edges_s, pairs,
    versions) and the singular values by layer name to sigma_path (.npz)."""
    import numpy as np

    res = {"layers": list(names), "load_s": load_s, "numpy_svd_s": {}, "scipy_svd_s": {},
           "matrix_shapes": [list(M.shape) for M in mats]}
    facs = []
    for name, M in zip(names, mats):
        t = time.perf_counter()
        U, s, Vt = np.linalg.svd(M, full_matrices=False)
        res["numpy_svd_s"][name] = time.perf_counter() - t
        facs.append((U, s, Vt))
        print(f"  numpy  svd {name:32s} {M.shape[0]:5d} x {M.shape[1]:5d} "
              f"{res['numpy_svd_s'][name]:8.3f} s", flush=True)
    res["edges_s"], res["pairs"] = numpy_edges(facs, pairs, verbose=True)
    np.savez(sigma_path, **{name: f[1] for name, f in zip(names, facs)})
    del facs
    if scipy_too:
        import scipy
        import scipy.linalg
        for name, M in zip(names, mats):
            t = time.perf_counter()
            U, s, Vt = scipy.linalg.svd(M, full_matrices=False, lapack_driver="gesdd")
            res["scipy_svd_s"][name] = time.perf_counter() - t
            del U, s, Vt
            print(f"  scipy  svd {name:32s} {res['scipy_svd_s'][name]:8.3f} s", flush=True)
        res["scipy_version"] = scipy.__version__
    res["numpy_version"] = np.__version__
    with open(result_path, "w") as f:
        json.dump(res, f, indent=1)
    return res


# --------------------------------------------------------------------------------------------
# torchvision architectures with random weights (tests/data/families), without torch


def make_random_model(python, arch, path, seed=0):
    """tests/data/families/random_weights.py FAMILIES ARCH PATH (NumPy, no torch), through a
    temporary file so that an interrupted run leaves nothing that looks complete."""
    tmp = path + ".tmp.safetensors"
    cmd = [python, os.path.join(FAMILIES, "random_weights.py"), FAMILIES, arch, tmp,
           "--seed", str(seed)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    os.replace(tmp, path)


def parameter_count(header):
    """torchvision's parameter count: every tensor but BatchNorm's buffers."""
    n = 0
    for name, h in header.items():
        if name == "__metadata__" or name.rsplit(".", 1)[-1] in BUFFERS:
            continue
        k = 1
        for s in h["shape"]:
            k *= int(s)
        n += k
    return n


def svr_plan(svr, model, extra_args=()):
    """The lines of `svr MODEL --plan [extra_args]` (one process, no mpiexec)."""
    out = subprocess.run([svr, model, "--plan"] + list(extra_args), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        raise SystemExit(f"svr --plan failed on {model}:\n{out.stdout}")
    return lines


def plan_first_line(svr, model, extra_args=()):
    """The network line of `svr MODEL --plan`, e.g. "network: torchvision ResNet, recognised
    from the names; 54 layers, 109 pairs (add 75, direct 34)"."""
    return svr_plan(svr, model, extra_args)[0]

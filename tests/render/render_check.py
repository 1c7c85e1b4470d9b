#!/usr/bin/env python3
"""Render test of svr.svg and report.html (issue 5, docs/plots.md).

For every MODEL (with --topology MODEL.topology.json when that file exists: a graph): run svr, then
- svr.svg parses with xml.etree; its <circle class="node ..."> count equals the rows of
  nodes.csv, its near-kernel circles the near_kernel rows, its <line class="edge"> count the
  significant edges of edges.csv capped per pair at --plot-max-edges (of a graph's pairs that skip
  columns: its <path class="edge arc"> count), its chains (<polyline class="chain">, or a path
  along arcs) the chains of summary.json;
- report.html holds no external reference (src=, href=, http://, https://) and the same plot;
- headless Chromium renders svr.svg and report.html to 1400x1000 PNGs that are not blank, and the
  page's script ran to its end without an uncaught error (body data-ready="1" in --dump-dom, no
  "Uncaught" in the console log);
- --no-plot writes neither file, --plot-scale linear and --plot-max-edges change the plot.
Exit 77 (ctest SKIP) only when no chromium is installed. --save-png DIR keeps the PNGs.
Only the standard library: Debian's /usr/bin/python3.
"""
import argparse
import concurrent.futures
import csv
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zlib

SVG_NS = "{http://www.w3.org/2000/svg}"
WINDOW = (1400, 1000)


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def topology_of(model):
    """A graph example's topology: MODEL.topology.json next to MODEL.safetensors, if any."""
    path = re.sub(r"\.[^./]+$", "", model) + ".topology.json"
    return ["--topology", path] if os.path.isfile(path) else []


def run_svr(svr, model, outdir, *options):
    command = [svr, model, "-o", outdir, "-q", *topology_of(model), *options]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        fail("%s exited %d: %s" % (" ".join(command), done.returncode, done.stderr.strip()))


def chromium(browser, url, *flags, timeout=50):
    profile = tempfile.mkdtemp(prefix="svr-chromium-")
    try:
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update",
                   "--disable-sync", "--disable-extensions", "--hide-scrollbars",
                   "--user-data-dir=" + profile, *flags, url]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def png_rows(path):
    """(width, height, bytes per pixel, filtered rows) of an 8-bit RGB(A) PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("%s is not a PNG" % path)
    at, idat, header = 8, [], None
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind = data[at + 4:at + 8]
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        at += 12 + length
    width, height, depth, colour = header[:4]
    if depth != 8 or colour not in (2, 6):
        fail("%s: unexpected PNG format depth %d colour type %d" % (path, depth, colour))
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = 1 + width * bpp
    if len(raw) != stride * height:
        fail("%s: %d bytes of pixel data for %dx%d" % (path, len(raw), width, height))
    return width, height, bpp, [raw[k * stride:(k + 1) * stride] for k in range(height)]


def check_png(path, min_content_rows):
    """The PNG has the window's size and is not blank. A uniform image gives, whatever the PNG
    filter of a row, at most bpp + 1 distinct bytes per filtered row; a row with more proves
    content. Requires `min_content_rows` (a fraction) of such rows."""
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        fail("no screenshot %s" % path)
    width, height, bpp, rows = png_rows(path)
    if (width, height) != WINDOW:
        fail("%s is %dx%d, not %dx%d" % (path, width, height, *WINDOW))
    content = sum(1 for row in rows if len(set(row[1:])) > bpp + 1)
    if content < min_content_rows * height:
        fail("%s looks blank: %d of %d rows hold anything" % (path, content, height))
    return content / height


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def classes(element):
    return (element.get("class") or "").split()


def check_outputs(outdir, cap):
    nodes = read_csv(os.path.join(outdir, "nodes.csv"))
    edges = read_csv(os.path.join(outdir, "edges.csv"))
    with open(os.path.join(outdir, "summary.json")) as f:
        summary = json.load(f)
    per_pair = {}
    for row in edges:
        if row["significant"] == "1":
            per_pair[row["pair"]] = per_pair.get(row["pair"], 0) + 1
    # A graph's pairs that skip columns are drawn as arcs, the others as lines.
    pairs = {str(p["index"]): p for p in summary["pairs"]}
    skips = {k for k, p in pairs.items() if p["to_layer"] > p["from_layer"] + 1}
    expected_lines = sum(min(cap, n) for k, n in per_pair.items() if k not in skips)
    expected_arcs = sum(min(cap, n) for k, n in per_pair.items() if k in skips)
    expected_edges = expected_lines + expected_arcs
    expected_nk = sum(1 for row in nodes if row["near_kernel"] == "1")

    svg_path = os.path.join(outdir, "svr.svg")
    try:
        root = ET.parse(svg_path).getroot()
    except ET.ParseError as e:
        fail("%s is not well-formed XML: %s" % (svg_path, e))
    if root.tag != SVG_NS + "svg":
        fail("%s: root element %s" % (svg_path, root.tag))
    circles = [e for e in root.iter(SVG_NS + "circle") if "node" in classes(e)]
    lines = [e for e in root.iter(SVG_NS + "line") if "edge" in classes(e)]
    arcs = [e for e in root.iter(SVG_NS + "path") if "edge" in classes(e) and "arc" in classes(e)]
    chains = [e for e in root.iter() if e.tag in (SVG_NS + "polyline", SVG_NS + "path")
              and "chain" in classes(e)]
    if len(circles) != len(nodes):
        fail("%s: %d node circles for %d rows of nodes.csv" % (svg_path, len(circles), len(nodes)))
    if sum("nk" in classes(e) for e in circles) != expected_nk:
        fail("%s: near-kernel circles differ from nodes.csv (%d)" % (svg_path, expected_nk))
    if len(lines) != expected_lines or len(arcs) != expected_arcs:
        fail("%s: %d edge lines and %d arcs, expected %d and %d (significant edges capped at %d "
             "per pair)" % (svg_path, len(lines), len(arcs), expected_lines, expected_arcs, cap))
    if len(chains) != len(summary["top_chains"]):
        fail("%s: %d chains, summary.json has %d" % (svg_path, len(chains), len(summary["top_chains"])))
    title = "".join(next(e for e in root.iter(SVG_NS + "text") if "title" in classes(e)).itertext())
    if summary["model"] not in title:
        fail("%s: title %r does not name the model" % (svg_path, title))

    with open(os.path.join(outdir, "report.html"), encoding="utf-8") as f:
        html = f.read()
    if re.search(r"""(src|href)\s*=|https?://|<link|@import""", html, re.I):
        fail("report.html references an external resource")
    if (html.count('<circle class="node') != len(nodes)
            or html.count('<line class="edge"') != expected_lines
            or html.count('<path class="edge arc"') != expected_arcs):
        fail("report.html: the plot differs from svr.svg")
    if html.count('<canvas class="heatmap"') != len(summary["pairs"]):
        fail("report.html: not one heatmap per pair")
    return len(nodes), expected_edges, len(chains)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--svr", required=True)
    parser.add_argument("--save-png", help="directory to copy the PNGs to")
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    browser = find_chromium()
    if browser is None:
        print("SKIP: no chromium installed (scripts/install-deps.sh installs it)")
        return 77
    start = time.monotonic()
    work = tempfile.mkdtemp(prefix="svr-render-")
    try:
        # svr and the file checks, then every Chromium run at once (each mostly waits on its
        # own start-up, so running them side by side keeps the test well under a minute).
        jobs = []
        counts = {}
        for model in args.models:
            name = os.path.basename(model).split(".")[0]
            outdir = os.path.join(work, name)
            run_svr(args.svr, model, outdir)
            counts[name] = check_outputs(outdir, 100)
            for source, minimum in (("svr.svg", 0.3), ("report.html", 0.2)):
                png = os.path.join(work, "%s-%s.png" % (name, source.split(".")[0]))
                jobs.append((name, source, png, minimum,
                             ["file://" + os.path.join(outdir, source), "--screenshot=" + png,
                              "--window-size=%d,%d" % WINDOW]))
            jobs.append((name, "dom", None, None,
                         ["file://" + os.path.join(outdir, "report.html"), "--dump-dom",
                          "--enable-logging=stderr", "--v=0"]))
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda job: chromium(browser, job[4][0], *job[4][1:]), jobs))
        shots = {}
        for (name, source, png, minimum, _), done in zip(jobs, results):
            if done.returncode != 0:
                fail("chromium on %s of %s exited %d: %s"
                     % (source, name, done.returncode, done.stderr[-2000:]))
            if png:
                shots[name, source] = check_png(png, minimum)
                if args.save_png:
                    os.makedirs(args.save_png, exist_ok=True)
                    shutil.copy(png, args.save_png)
                continue
            if "Uncaught" in done.stderr:
                errors = [line for line in done.stderr.splitlines() if "Uncaught" in line]
                fail("%s report.html has script errors: %s" % (name, "\n".join(errors)))
            if not re.search(r"<body[^>]*\bdata-ready=\"1\"", done.stdout):
                fail("%s report.html: the page script did not finish (no data-ready on <body>)"
                     % name)
        for name, (n_nodes, n_edges, n_chains) in counts.items():
            print("%s: %d nodes, %d edges, %d chains; rows with content: svg %.0f%%, report %.0f%%"
                  % (name, n_nodes, n_edges, n_chains, 100 * shots[name, "svr.svg"],
                     100 * shots[name, "report.html"]))

        # The options, on the first model.
        model = args.models[0]
        none = os.path.join(work, "no-plot")
        run_svr(args.svr, model, none, "--no-plot")
        if {"svr.svg", "report.html"} & set(os.listdir(none)):
            fail("--no-plot still wrote the plot or the report")
        linear = os.path.join(work, "linear")
        run_svr(args.svr, model, linear, "--plot-scale", "linear", "--plot-max-edges", "3")
        check_outputs(linear, 3)
        with open(os.path.join(linear, "svr.svg"), encoding="utf-8") as f:
            if "(linear scale)" not in f.read():
                fail("--plot-scale linear: the y axis is not linear")
        bad = subprocess.run([args.svr, model, "-o", os.path.join(work, "bad"), "--plot-scale", "ln"],
                             capture_output=True, text=True, timeout=60)
        if bad.returncode == 0 or "--plot-scale" not in bad.stderr:
            fail("--plot-scale ln was accepted: %s" % bad.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - start
    print("render test: %.1f s" % elapsed)
    if elapsed > 60:  # a budget, not a failure: a loaded CI machine may be slower
        print("warning: the render test took %.1f s (budget 60 s)" % elapsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())

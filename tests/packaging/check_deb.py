#!/usr/bin/env python3
"""The Debian package that `cpack -G DEB` makes of a build (cmake/Packaging.cmake), inspected
without installing it (scripts/check-deb.sh installs it, as root, in CI):

- its control fields: Package svr, the project's version, this machine's architecture, and a
  Depends that names the package of every shared library the built svr needs (dpkg -S of the
  NEEDED entries as ldd resolves them), or a package depending on it, so that apt brings each to
  a clean machine; and openmpi-bin (orted, mpiexec); each entry a package apt knows, and apt's
  solver, run against an empty package database (a clean bookworm), plans to install the
  package with every library's package;
- its files: svr and the links to the scripts in /usr/bin, the Slurm templates, the man page,
  the docs and the Lmod module file naming the prefix /usr (not cpack's staging directory);
- the svr it holds, unpacked with dpkg-deb -x, runs --version with the project's version.

    check_deb.py BUILD_DIR VERSION
Exit 77 (skipped) without cpack, dpkg-deb, dpkg-shlibdeps (dpkg-dev) or apt-cache.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from test_timing import scaled  # noqa: E402

EXPECTED_FILES = (
    "./usr/bin/svr", "./usr/bin/svr-sweep-submit", "./usr/bin/svr-export-topology",
    "./usr/share/svr/scripts/sweep-submit.sh", "./usr/share/svr/scripts/export_topology.py",
    "./usr/share/svr/slurm/svr.sbatch", "./usr/share/svr/slurm/sweep.sbatch",
    "./usr/share/svr/docs/topology.schema.json", "./usr/share/man/man1/svr.1",
    "./usr/share/doc/svr/README.md", "./usr/share/doc/svr/docs/options.md",
)


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=scaled(300), **kw)
    if proc.returncode != 0:
        fail("%s exited with %d:\n%s%s" % (" ".join(cmd), proc.returncode, proc.stdout,
                                           proc.stderr))
    return proc.stdout


def depends_packages(depends):
    """The package names of a Depends field ("a (>= 1), b | c" -> [{a}, {b, c}])."""
    groups = []
    for clause in depends.split(","):
        names = {re.sub(r"[\s(].*", "", alt.strip()).split(":")[0] for alt in clause.split("|")}
        groups.append({n for n in names if n})
    return groups


def library_packages(binary):
    """{library path: owning package} of every shared library the binary names as NEEDED (the
    libraries' own dependencies come with their packages' Depends)."""
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run(["readelf", "-d", binary]))
    resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)", run(["ldd", binary]), re.M))
    owners = {}
    for soname in needed:
        path = resolved.get(soname, soname)
        # dpkg knows a library under the path its package installed, which may be the
        # alternatives link or /lib rather than /usr/lib (merged /usr).
        candidates = [path, os.path.realpath(path)]
        candidates += [c.replace("/usr/lib/", "/lib/", 1) for c in candidates
                       if c.startswith("/usr/lib/")]
        candidates += [c.replace("/lib/", "/usr/lib/", 1) for c in candidates
                       if c.startswith("/lib/")]
        owner = None
        for c in candidates:
            proc = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
            if proc.returncode == 0:
                owner = proc.stdout.split(":")[0].strip()
                break
        owners[path] = owner
    return owners


def provided_by(package):
    """The packages that an installed `package` depends on (a metapackage such as libopenblas0
    names the flavour that holds the library)."""
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", package], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        return set()
    return set().union(*depends_packages(proc.stdout)) if proc.stdout.strip() else set()


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    build, version = sys.argv[1], sys.argv[2]
    for tool in ("cpack", "dpkg-deb", "dpkg-shlibdeps", "apt-cache", "readelf"):
        if shutil.which(tool) is None:
            print("skipped: %s is not installed" % tool)
            return 77
    with tempfile.TemporaryDirectory(prefix="svr-deb-") as work:
        out = os.path.join(work, "packages")
        run(["cpack", "--config", os.path.join(build, "CPackConfig.cmake"), "-G", "DEB",
             "-B", out])
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        if len(debs) != 1:
            fail("cpack made %s, not one .deb" % debs)
        deb = os.path.join(out, debs[0])
        arch = run(["dpkg", "--print-architecture"]).strip()
        if debs[0] != "svr_%s_%s.deb" % (version, arch):
            fail("package file %s, expected svr_%s_%s.deb" % (debs[0], version, arch))
        fields = {}
        for name in ("Package", "Version", "Architecture", "Depends", "Section"):
            fields[name] = run(["dpkg-deb", "--field", deb, name]).strip()
        print("\n".join("%s: %s" % kv for kv in fields.items()))
        for name, want in (("Package", "svr"), ("Version", version), ("Architecture", arch)):
            if fields[name] != want:
                fail("%s is %r, expected %r" % (name, fields[name], want))

        groups = depends_packages(fields["Depends"])
        named = set().union(*groups) if groups else set()
        covered = named.union(*(provided_by(p) for p in named))
        if "openmpi-bin" not in named:
            fail("Depends lacks openmpi-bin (mpiexec, orted)")
        owners = library_packages(os.path.join(build, "svr"))
        missing = []
        for path, owner in sorted(owners.items()):
            if owner is None:
                missing.append("%s (no package owns it)" % path)
            elif owner not in covered:
                missing.append("%s (package %s)" % (path, owner))
        if missing:
            fail("Depends does not cover these libraries of svr:\n  " + "\n  ".join(missing))
        print("Depends covers the %d shared libraries svr needs" % len(owners))
        # What a clean machine's apt must find: every Depends entry in the archive it knows.
        unknown = [" | ".join(sorted(g)) for g in groups
                   if not any(subprocess.run(["apt-cache", "show", name], capture_output=True)
                              .returncode == 0 for name in g)]
        if unknown:
            fail("apt knows no package for these Depends entries: " + ", ".join(unknown))
        # apt's plan for a clean bookworm: its solver, run against an empty package database,
        # must find every package the runtime needs (the closure, from libc6 up).
        empty = os.path.join(work, "empty-status")
        open(empty, "w").close()
        plan = run(["apt-get", "install", "--simulate", "--no-install-recommends",
                    "-o", "Dir::State::status=" + empty, deb])
        planned = set(re.findall(r"^Inst (\S+)", plan, re.M))
        wanted = {"svr", "openmpi-bin"} | {o for o in owners.values() if o}
        absent = [p for p in sorted(wanted) if p not in planned and
                  not (provided_by(p) & planned) and not any(p in provided_by(q) for q in planned)]
        if absent:
            fail("apt on a clean machine would not install " + ", ".join(absent) + ":\n" + plan)
        print("apt on a clean machine installs %d packages with svr" % len(planned))

        listing = run(["dpkg-deb", "--contents", deb])
        paths = {line.split()[5] for line in listing.splitlines() if len(line.split()) >= 6}
        absent = [p for p in EXPECTED_FILES if p not in paths]
        module = "./usr/share/svr/modulefiles/svr/%s.lua" % version
        if module not in paths:
            absent.append(module)
        if absent:
            fail("the package lacks " + ", ".join(absent))

        root = os.path.join(work, "root")
        run(["dpkg-deb", "-x", deb, root])
        with open(os.path.join(root, module[2:])) as f:
            text = f.read()
        if '"/usr"' not in text or work in text:
            fail("the module file does not name the prefix /usr:\n" + text)
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        shown = run([os.path.join(root, "usr", "bin", "svr"), "--version"], env=env)
        if not shown.startswith("svr %s" % version):
            fail("the packaged svr --version printed:\n" + shown)
        print(shown.splitlines()[0])
    print("the package is complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())

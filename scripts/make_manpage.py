#!/usr/bin/env python3
"""Writes svr's man page (svr.1) from `svr --help` and `svr --version`, so that the page never
disagrees with the binary: `cmake --install` runs it (CMakeLists.txt).

    make_manpage.py SVR OUTPUT
"""
import datetime
import os
import re
import subprocess
import sys


def roff(text):
    """Text that troff prints as it is: backslashes escaped, no line read as a request."""
    lines = []
    for line in text.replace("\\", "\\e").split("\n"):
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_manpage.py SVR OUTPUT")
    svr, output = sys.argv[1], sys.argv[2]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")

    def run(option):
        proc = subprocess.run([svr, option], capture_output=True, text=True, env=env, timeout=120)
        if proc.returncode != 0:
            sys.exit(f"make_manpage: {svr} {option} failed ({proc.returncode}): {proc.stderr}")
        return proc.stdout

    help_text, version_text = run("--help"), run("--version")
    version = re.match(r"svr (\S+)", version_text)
    help_lines = help_text.rstrip("\n").split("\n")
    usage = help_lines[0][len("Usage: "):] if help_lines[0].startswith("Usage: ") else "svr"
    date = datetime.date.today().isoformat()
    page = [
        f'.TH SVR 1 "{date}" "svr {version.group(1) if version else ""}" "User Commands"',
        ".SH NAME",
        "svr \\- the Singular Value Representation of a trained neural network",
        ".SH SYNOPSIS",
        roff(usage),
        ".SH DESCRIPTION",
        "The text of",
        ".B svr --help",
        "(every option, its default and what it does):",
        ".PP",
        ".nf",
        roff("\n".join(help_lines[1:]).strip("\n")),
        ".fi",
        ".SH VERSION",
        ".nf",
        roff(version_text.rstrip("\n")),
        ".fi",
        ".SH SEE ALSO",
        "The documentation installed with svr (share/doc/svr: README.md, docs/options.md,",
        "docs/output-formats.md, docs/slurm.md) and the Slurm templates in share/svr/slurm.",
        "",
    ]
    tmp = output + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(page))
    os.replace(tmp, output)


if __name__ == "__main__":
    main()

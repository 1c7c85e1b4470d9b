#!/usr/bin/env python3
"""Runs two svr binaries on the same models and process counts and compares their output
directories byte for byte: the check that a refactoring changed no result.

What may differ between two runs of the same binary is left out, and only that: in
summary.json the values of the run's phase timings and peak memory (not which phases, nor how
many ranks), its command line (the binary's path), detected memory budget and OUTDIR; in report.html the rows that show those. Every other file, and every other byte
of those two, must be identical.

Usage: scripts/compare_builds.py OLD_SVR NEW_SVR [--ranks 1,2,3,4] [--work DIR] [MODEL...]
       (default models: the example CNNs and the VGG fixtures, with a few option sets; exit 1
       on any difference, naming the model, the options, the ranks and the file)
Needs mpiexec; as root, set OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
"""
import argparse
import filecmp
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
CASES = [
    ('examples/digits_cnn_bn.safetensors', []),
    ('examples/digits_cnn_plain.safetensors', ['--save-spectra', '--save-adjacency']),
    ('examples/digits_cnn_bn.safetensors', ['--method', 'cosvr', '--all-edges']),
    ('tests/data/vgg/vgg_bn.safetensors', []),
    ('tests/data/vgg/vgg_plain.pth', ['--reference']),
    ('tests/data/vgg/vgg_bn.safetensors', ['--scalapack-min-dim', '1', '--block-size', '3',
                                           '--save-adjacency']),
]
VOLATILE_RUN_KEYS = ('peak_memory_mb', 'command_line')
VOLATILE_HTML_ROWS = ('command line', 'time per phase', 'peak memory')


def normalised_summary(path):
    summary = json.loads(path.read_text())
    run = summary.get('run', {})
    for key in VOLATILE_RUN_KEYS:
        run.pop(key, None)
    # Which phases were timed, and how many ranks reported memory, must agree; not the values.
    run['seconds_per_phase'] = list(run.get('seconds_per_phase', {}))
    run['peak_memory_mb_per_rank'] = len(run.get('peak_memory_mb_per_rank', []))
    run.get('execution', {}).pop('memory_budget_mb', None)
    summary.get('options', {}).pop('outdir', None)  # each run writes its own directory
    return summary


def normalised_html(path):
    text = path.read_text()
    for row in VOLATILE_HTML_ROWS:
        text = re.sub(r'<dt>' + re.escape(row) + r'</dt><dd class="mono">[^<]*</dd>',
                      '<dt>' + row + '</dt><dd>(volatile)</dd>', text)
    return text


def csv_without_new_columns(old_path, new_path):
    """The new CSV's text with the trailing columns the old one lacks left out (a change that
    adds columns at the end keeps every other byte), and how many were dropped."""
    old_header = old_path.read_text().split('\n', 1)[0].split(',')
    new_text = new_path.read_text()
    new_header = new_text.split('\n', 1)[0].split(',')
    extra = len(new_header) - len(old_header)
    if extra <= 0 or new_header[:len(old_header)] != old_header:
        return new_text, 0
    # Only simple trailing fields are added (no quoting in them): cut at the last commas.
    lines = [line.rsplit(',', extra)[0] if line else line for line in new_text.split('\n')]
    return '\n'.join(lines), extra


def without_new_keys(old, new, path='', added=None):
    """`new` with the object keys `old` lacks removed (a change that only adds fields keeps every
    other value), and the dotted paths of what was removed."""
    added = [] if added is None else added
    if isinstance(old, dict) and isinstance(new, dict):
        kept = {}
        for key, value in new.items():
            if key in old:
                kept[key] = without_new_keys(old[key], value, f'{path}{key}.', added)[0]
            else:
                added.append(path + key)
        return kept, added
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [without_new_keys(o, n, f'{path}{i}.', added)[0]
                for i, (o, n) in enumerate(zip(old, new))], added
    return new, added


def differences(old, new):
    problems = []
    old_files = sorted(p.name for p in old.iterdir())
    new_files = sorted(p.name for p in new.iterdir())
    if old_files != new_files:
        problems.append(f'files differ: {old_files} vs {new_files}')
    for name in sorted(set(old_files) & set(new_files)):
        a, b = old / name, new / name
        if name == 'summary.json':
            old_summary = normalised_summary(a)
            new_summary, added = without_new_keys(old_summary, normalised_summary(b))
            same = old_summary == new_summary
            if same and added:
                fields = sorted({'.'.join(k for k in p.split('.') if not k.isdigit()) for p in added})
                problems.append(f'(note: summary.json has new fields {", ".join(fields)})')
        elif name == 'report.html':
            same = normalised_html(a) == normalised_html(b)
        elif name.endswith('.csv'):
            text, dropped = csv_without_new_columns(a, b)
            same = a.read_text() == text
            if same and dropped:
                problems.append(f'(note: {name} has {dropped} new last column(s), left out)')
        else:
            same = filecmp.cmp(a, b, shallow=False)
        if not same:
            problems.append(f'{name} differs')
    return problems


def run(svr, model, options, ranks, outdir):
    env = dict(os.environ, OPENBLAS_NUM_THREADS='1', OMP_NUM_THREADS='1')
    command = [svr, str(model), '-o', str(outdir), '--quiet', *options]
    if ranks > 0:
        command = ['mpiexec', '-n', str(ranks), '--oversubscribe', *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f'{" ".join(command)} failed:\n{done.stderr}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('old')
    parser.add_argument('new')
    parser.add_argument('models', nargs='*', help='models to run with default options')
    parser.add_argument('--ranks', default='1,2,3,4')
    parser.add_argument('--work', help='keep the outputs here (default: a temporary directory)')
    args = parser.parse_intermixed_args()
    cases = [(pathlib.Path(m), []) for m in args.models] or [(ROOT / m, o) for m, o in CASES]
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix='svr-compare-'))
    work.mkdir(parents=True, exist_ok=True)
    failures, compared = [], 0
    for index, (model, options) in enumerate(cases):
        for ranks in (int(r) for r in args.ranks.split(',')):
            label = f'{model.name} {" ".join(options)} at {ranks} rank(s)'.replace('  ', ' ')
            outs = [work / f'case{index}-np{ranks}-{side}' for side in ('old', 'new')]
            for out in outs:
                shutil.rmtree(out, ignore_errors=True)
            for binary, out in zip((args.old, args.new), outs):
                run(binary, model, options, ranks, out)
            found = differences(*outs)
            notes = [p for p in found if p.startswith('(note')]
            problems = [p for p in found if not p.startswith('(note')]
            compared += 1
            print(f'{"DIFFERENT" if problems else "identical"}: {label}'
                  + (': ' + '; '.join(problems + notes) if problems or notes else ''))
            failures += [f'{label}: {p}' for p in problems]
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    print(f'compare_builds: {compared - len({f.split(": ")[0] for f in failures})} of {compared} '
          f'runs identical')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())

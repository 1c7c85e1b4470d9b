#!/usr/bin/env python3
"""Checks the module layout of svr (docs/architecture.md) on the source tree:

1. every file under src/MODULE/ and include/svr/MODULE/ includes only the public headers of
   MODULE itself and of the modules that MODULE links (the graph CMake declares with
   svr_add_module, written to module_graph.txt), and every such header exists;
2. the raw Fortran and C prototypes of BLAS, LAPACK, BLACS and ScaLAPACK are declared in one
   place only, src/linalg/imports.hpp: no other file opens an extern "C" block, declares an
   extern "C" function without defining it, or declares a Fortran symbol (name_);
3. every public header lives in a module folder: include/svr/MODULE/NAME.hpp.

Usage: check_layout.py SOURCE_DIR MODULE_GRAPH    (exit 1 and one line per problem)
       check_layout.py --self-test                (proves that each check catches a violation)
"""
import pathlib
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"svr/([^"/]+)/([^"]+)"', re.M)
FLAT_INCLUDE = re.compile(r'^\s*#\s*include\s+"svr/([^"/]+\.hpp)"', re.M)
# An extern "C" block, or one declaration without a body (a C-linkage function *defined* here,
# e.g. a signal handler, is not a library prototype).
EXTERN_C = re.compile(r'extern\s+"C"\s*(?:\{|[^;{]*;)')
# A Fortran symbol as gfortran names it, declared (a return type before it, '(' after it).
FORTRAN_DECL = re.compile(r'^\s*(?:void|int|double|float|svr::lapack_int|lapack_int)\s+'
                          r'([a-z][a-z0-9]*_)\s*\(', re.M)
IMPORTS = 'src/linalg/imports.hpp'
SOURCES = ('.cpp', '.hpp', '.h')


def line_of(text, match):
    return text.count('\n', 0, match.start()) + 1


def read_graph(path):
    graph = {}
    for line in pathlib.Path(path).read_text().splitlines():
        if not line.strip():
            continue
        module, _, deps = line.partition(':')
        graph[module.strip()] = set(deps.split())
    return graph


def module_files(root, module):
    for folder in (root / 'src' / module, root / 'include' / 'svr' / module):
        if folder.is_dir():
            yield from sorted(p for p in folder.rglob('*') if p.suffix in SOURCES)


def check(root, graph):
    root = pathlib.Path(root)
    problems = []
    for module, deps in sorted(graph.items()):
        visible = deps | {module}
        for path in module_files(root, module):
            text = path.read_text(errors='replace')
            rel = path.relative_to(root)
            for m in INCLUDE.finditer(text):
                target, header = m.group(1), m.group(2)
                line = line_of(text, m)
                if target not in graph:
                    problems.append(f'{rel}:{line}: includes "svr/{target}/{header}", '
                                    f'but there is no module {target}')
                elif target not in visible:
                    problems.append(f'{rel}:{line}: module {module} includes '
                                    f'"svr/{target}/{header}" but does not link {target} '
                                    f'(it links: {" ".join(sorted(deps)) or "nothing"}); '
                                    f'add it to svr_add_module({module} MODULES ...) if the '
                                    f'dependency is meant, in CMakeLists.txt')
                elif not (root / 'include' / 'svr' / target / header).is_file():
                    problems.append(f'{rel}:{line}: includes "svr/{target}/{header}", '
                                    f'which does not exist')
            for m in FLAT_INCLUDE.finditer(text):
                problems.append(f'{rel}:{line_of(text, m)}: includes "svr/{m.group(1)}" outside any module '
                                f'folder')
    for path in sorted(p for d in ('src', 'include', 'tests') for p in (root / d).rglob('*')
                       if p.suffix in SOURCES):
        rel = path.relative_to(root).as_posix()
        if rel == IMPORTS:
            continue
        text = path.read_text(errors='replace')
        for m in EXTERN_C.finditer(text):
            problems.append(f'{rel}:{line_of(text, m)}: extern "C" outside {IMPORTS}: library prototypes '
                            f'belong there, behind a typed wrapper')
        for m in FORTRAN_DECL.finditer(text):
            problems.append(f'{rel}:{line_of(text, m)}: declares the Fortran symbol {m.group(1)} outside '
                            f'{IMPORTS}')
    include_root = root / 'include' / 'svr'
    if include_root.is_dir():
        for path in sorted(include_root.rglob('*')):
            if path.is_file() and (path.parent == include_root or
                                   path.parent.name not in graph):
                problems.append(f'{path.relative_to(root)}: public header outside a module '
                                f'folder include/svr/MODULE/')
    return problems


def self_test():
    """Each check must report its violation; a clean tree must pass."""
    def tree(files):
        d = pathlib.Path(tempfile.mkdtemp(prefix='svr-layout-'))
        for name, text in files.items():
            p = d / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        return d
    graph = {'core': set(), 'stats': {'core'}}
    clean = {'include/svr/core/error.hpp': '#pragma once\n',
             'include/svr/stats/pvalues.hpp': '#include "svr/core/error.hpp"\n',
             'src/core/error.cpp': '#include "svr/core/error.hpp"\n',
             'src/stats/pvalues.cpp': '#include "svr/stats/pvalues.hpp"\n',
             # A C-linkage function defined here (a signal handler) is not a library prototype.
             'src/core/handler.cpp': 'extern "C" void on_signal(int s) { (void)s; }\n',
             IMPORTS: 'extern "C" {\nvoid dgemm_(const char* t);\n}\n'}
    cases = {
        'unlinked module': ('src/core/bad.cpp', '#include "svr/stats/pvalues.hpp"\n',
                            'does not link stats'),
        'missing header': ('src/stats/bad.cpp', '#include "svr/core/nothing.hpp"\n',
                           'does not exist'),
        'flat header': ('src/stats/bad.cpp', '#include "svr/error.hpp"\n', 'outside any module'),
        'extern C': ('src/stats/bad.cpp', 'extern "C" int f();\n', 'extern "C" outside'),
        'extern C block': ('src/stats/bad.cpp', 'extern "C" {\nint cblas(int);\n}\n',
                           'extern "C" outside'),
        'fortran symbol': ('src/stats/bad.cpp', 'void dgemm_(const char*);\n',
                           'Fortran symbol dgemm_'),
        'header outside module': ('include/svr/loose.hpp', '#pragma once\n',
                                  'outside a module folder'),
    }
    failures = []
    if check(tree(clean), graph):
        failures.append('the clean tree was reported: ' + '; '.join(check(tree(clean), graph)))
    for name, (path, text, expected) in cases.items():
        problems = check(tree({**clean, path: text}), graph)
        if not any(expected in p for p in problems):
            failures.append(f'{name}: expected a problem containing {expected!r}, got {problems}')
    for f in failures:
        print('self-test:', f)
    print(f'self-test: {len(cases) - len(failures)} of {len(cases)} violations caught')
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ['--self-test']:
        return self_test()
    if len(argv) != 3:
        print(__doc__)
        return 2
    problems = check(argv[1], read_graph(argv[2]))
    for p in problems:
        print(p)
    print(f'check_layout: {len(problems)} problem(s)')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

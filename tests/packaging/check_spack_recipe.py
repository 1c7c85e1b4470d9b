#!/usr/bin/env python3
"""packaging/spack/svr/package.py without Spack (which is not installable here): read with
Python's ast, it must define class Svr(CMakePackage) with a version, depend on what svr builds
with (mpi, scalapack, blas, lapack, eigen, boost+program_options, nlohmann-json; googletest for
the tests), and every CMake variable its cmake_args passes must be one CMakeLists.txt reads.

    check_spack_recipe.py REPOSITORY_ROOT
"""
import ast
import os
import re
import sys

REQUIRED = {"mpi", "scalapack", "blas", "lapack", "eigen", "boost", "nlohmann-json",
            "googletest", "cmake"}


def call_name(node):
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def string_arg(node, index=0):
    if len(node.args) > index and isinstance(node.args[index], ast.Constant) and \
            isinstance(node.args[index].value, str):
        return node.args[index].value
    return None


def main():
    root = sys.argv[1]
    recipe = os.path.join(root, "packaging", "spack", "svr", "package.py")
    tree = ast.parse(open(recipe).read(), recipe)
    cmake = open(os.path.join(root, "CMakeLists.txt")).read()
    failures = []
    imports = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "spack.package"]
    if not imports:
        failures.append("no 'from spack.package import *'")
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Svr"]
    if len(classes) != 1:
        sys.exit("FAIL: no class Svr in %s" % recipe)
    cls = classes[0]
    bases = [b.id for b in cls.bases if isinstance(b, ast.Name)]
    if bases != ["CMakePackage"]:
        failures.append("class Svr derives from %s, not CMakePackage" % bases)
    if not (ast.get_docstring(cls) or "").strip():
        failures.append("class Svr has no description (docstring)")
    calls = [n for n in ast.walk(cls) if isinstance(n, ast.Call)]
    if not any(call_name(c) == "version" and string_arg(c) for c in calls):
        failures.append("no version(...)")
    depends = {}
    for c in calls:
        if call_name(c) == "depends_on" and string_arg(c):
            spec = string_arg(c)
            name = re.match(r"[a-z0-9-]+", spec).group(0)
            kinds = [k.value for k in c.keywords if k.arg == "type"]
            depends[name] = (spec, ast.unparse(kinds[0]) if kinds else "")
    for name in sorted(REQUIRED - depends.keys()):
        failures.append("no depends_on(%r)" % name)
    if "boost" in depends and "+program_options" not in depends["boost"][0]:
        failures.append("boost without +program_options: %r" % depends["boost"][0])
    if "googletest" in depends and "test" not in depends["googletest"][1]:
        failures.append("googletest is not a test dependency")
    methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
    if "cmake_args" not in methods:
        failures.append("no cmake_args")
    else:
        defined = [string_arg(c) for c in ast.walk(methods["cmake_args"])
                   if isinstance(c, ast.Call) and call_name(c) == "define"]
        if not defined:
            failures.append("cmake_args passes no variable")
        for variable in defined:
            if variable is None or not re.search(r"\b%s\b" % re.escape(variable), cmake):
                failures.append("cmake_args passes %r, which CMakeLists.txt does not read" %
                                variable)
    for failure in failures:
        print("FAIL: " + failure)
    if failures:
        sys.exit(1)
    print("packaging/spack/svr/package.py: class Svr(CMakePackage), %d dependencies, %d CMake "
          "variables, all in CMakeLists.txt" % (len(depends), len(defined)))


if __name__ == "__main__":
    main()

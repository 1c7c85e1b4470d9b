#!/usr/bin/env python3
"""docs/topology.schema.json against the topology files of the repository: every good file must
validate, and the one that breaks the schema (bad/missing_format.json) must not.

    check_topology_schema.py SCHEMA DIR     (DIR: tests/data/graph)
"""
import glob
import json
import os
import sys

import jsonschema


def main(schema_path, directory):
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = sorted(glob.glob(os.path.join(directory, "*.json")))
    problems = []
    for path in good:
        with open(path) as f:
            errors = list(validator.iter_errors(json.load(f)))
        if errors:
            problems.append(f"{path}: {errors[0].message}")
    with open(os.path.join(directory, "bad", "missing_format.json")) as f:
        if validator.is_valid(json.load(f)):
            problems.append("bad/missing_format.json passes the schema")
    for p in problems:
        print(p)
    print(f"{len(good)} topology files checked, {len(problems)} problem(s)")
    return 1 if problems or not good else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz harness (tests/fuzz/harnesses.hpp) from tests/data.

Usage: make_seed_corpus.py SOURCE_DIR OUT_DIR

OUT_DIR/<harness>/ receives, for each harness, the files of tests/data that its reader reads
(at most 64 KiB each, so that the fuzzer's mutations stay fast), named after their path:
  safetensors_header  every .safetensors
  sharded_index       every *.index.json
  zip_reader          every .pth in the zip format
  pickle_machine      every legacy .pth, and data.pkl of every zip .pth
  strict_json         every .json, and the JSON header of every .safetensors
  topology_file       the topology files of tests/data/graph, the bad ones included: the
                      harness plans them over that folder's models (the families' topologies
                      name other models' tensors and would only slow the fuzzer down)
  onnx_model          every .onnx (tests/data/onnx, the malformed ones of bad/ included)
The regression inputs in tests/data/fuzz/<harness>/ are not copied: the fuzzers and the replay
test read that folder as it is. Python standard library only.
"""
import pathlib
import struct
import sys
import zipfile

MAX_SEED = 64 * 1024
HARNESSES = ('safetensors_header', 'sharded_index', 'zip_reader', 'pickle_machine',
             'strict_json', 'topology_file', 'onnx_model')


def main(source, out):
    data = pathlib.Path(source) / 'tests' / 'data'
    out = pathlib.Path(out)
    seeds = {h: {} for h in HARNESSES}

    def add(harness, path, content):
        if len(content) <= MAX_SEED:
            seeds[harness][str(path.relative_to(data)).replace('/', '_')] = content

    for path in sorted(data.rglob('*')):
        if not path.is_file() or 'fuzz' in path.relative_to(data).parts:
            continue
        name = path.name
        content = path.read_bytes()
        if name.endswith('.safetensors'):
            add('safetensors_header', path, content)
            if len(content) >= 8:
                (length,) = struct.unpack('<Q', content[:8])
                if length <= MAX_SEED and 8 + length <= len(content):
                    add('strict_json', path.with_name(name + '.header.json'), content[8:8 + length])
        elif name.endswith('.index.json'):
            add('sharded_index', path, content)
            add('strict_json', path, content)
        elif name.endswith('.pth'):
            if zipfile.is_zipfile(path):
                add('zip_reader', path, content)
                with zipfile.ZipFile(path) as archive:
                    for entry in archive.namelist():
                        if entry.endswith('/data.pkl'):
                            add('pickle_machine', path.with_name(name + '.data.pkl'),
                                archive.read(entry))
            else:
                add('pickle_machine', path, content)
        elif name.endswith('.onnx'):
            add('onnx_model', path, content)
        elif name.endswith('.json'):
            add('strict_json', path, content)
            if path.relative_to(data).parts[0] == 'graph':
                add('topology_file', path, content)

    for harness, files in seeds.items():
        if not files:
            sys.exit(f'make_seed_corpus: no seed for {harness} in {data}')
        folder = out / harness
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for name, content in files.items():
            (folder / name).write_bytes(content)
        print(f'{harness}: {len(files)} seeds')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

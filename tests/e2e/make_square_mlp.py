#!/usr/bin/env python3
"""Writes a small MLP whose dominant layer is square, for the split layer's bidiagonal path.

make_square_mlp.py OUT.safetensors -> fc0 64x16, fc1 64x64, fc2 10x64 (a chain). fc1 holds 92 %
of the SVD cost, so on 2 or more ranks with --split-min-dim 32 it is split over a team; being
square, no QR or LQ makes it smaller, and it goes through the bidiagonal form
(docs/distributed-svd.md, "The largest layer split"). Its spectrum is graded from 1 down to 1e-2
(neighbours 7 % apart, so its vectors are defined to about 1e-14 and E can be compared with the
oracle's), between random orthogonal factors."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle"))
from safetensors_np import write_safetensors  # noqa: E402


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rng = np.random.default_rng(64)
    q_left, _ = np.linalg.qr(rng.standard_normal((64, 64)))
    q_right, _ = np.linalg.qr(rng.standard_normal((64, 64)))
    s = np.geomspace(1.0, 1e-2, 64)
    tensors = {
        "fc0.weight": rng.standard_normal((64, 16)) / 4.0,
        "fc1.weight": (q_left * s) @ q_right.T,
        "fc2.weight": rng.standard_normal((10, 64)) / 8.0,
    }
    os.makedirs(os.path.dirname(os.path.abspath(sys.argv[1])), exist_ok=True)
    write_safetensors(sys.argv[1], tensors)


if __name__ == "__main__":
    main()

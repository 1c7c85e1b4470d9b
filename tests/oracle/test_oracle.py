#!/usr/bin/env python3
"""Self-tests of the NumPy oracle and of tests/e2e/compare_outputs.py (unittest).

    /usr/bin/python3 tests/oracle/test_oracle.py [-v]

Needs numpy, scipy and mpmath (Debian's /usr/bin/python3); the VGG twin tests
also read tests/data/vgg/*.safetensors.
"""

import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import svr_oracle as O  # noqa: E402
import compare_outputs as C  # noqa: E402
from safetensors_np import read_safetensors, write_safetensors  # noqa: E402

VGG = os.path.join(ROOT, "tests", "data", "vgg")


def orth_cols(rng, n, k):
    q, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return q


def e_gemm(U, V, c, z_u, z_v):
    """E via matrix products (a different formulation from the oracle's einsum)."""
    E = np.zeros((V.shape[1], U.shape[1]))
    for p in range(z_u):
        Up = U[p::z_u, :]                   # rows a*z_u + p
        for q in range(z_v):
            Vq = V[q::z_v, :]
            E += (Vq.T @ Up) ** 2
    return E


def run_oracle(model, outdir, *extra):
    args = O.parse_args([model, "-o", outdir, *extra])
    with redirect_stdout(io.StringIO()):
        return O.run(args)


def compare(a, b, *extra):
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = C.main([a, b, *extra])
    return rc, buf.getvalue()


class EdgeTests(unittest.TestCase):
    def test_e_matches_gemm_and_signs(self):
        rng = np.random.default_rng(1)
        for c, z_u, z_v, ru, rv in [(7, 1, 1, 5, 6), (6, 1, 9, 6, 10), (5, 1, 4, 5, 8),
                                    (4, 9, 1, 4, 4), (3, 4, 6, 3, 5)]:
            U = orth_cols(rng, c * z_u, ru)
            V = orth_cols(rng, c * z_v, rv)
            E = O.edge_matrix(U, V, c, z_u, z_v)
            np.testing.assert_allclose(E, e_gemm(U, V, c, z_u, z_v), atol=1e-14, rtol=0)
            self.assertTrue(np.all(E >= 0) and np.all(E <= 1 + 1e-14))
            su = rng.choice([-1.0, 1.0], ru)
            sv = rng.choice([-1.0, 1.0], rv)
            np.testing.assert_allclose(O.edge_matrix(U * su, V * sv, c, z_u, z_v), E,
                                       atol=1e-15, rtol=0)

    def test_orthogonality_sums(self):
        rng = np.random.default_rng(2)
        c, z = 6, 4
        U = orth_cols(rng, c, c)                 # square layer l: u_i orthonormal basis
        V = orth_cols(rng, c * z, c * z)         # complete V of layer l+1
        E = O.edge_matrix(U, V, c, 1, z)
        np.testing.assert_allclose(E.sum(axis=0), z * np.ones(c), atol=1e-13)
        V1 = orth_cols(rng, c, c)
        E1 = O.edge_matrix(U, V1, c, 1, 1)
        np.testing.assert_allclose(E1.sum(axis=0), 1.0, atol=1e-13)
        np.testing.assert_allclose(E1.sum(axis=1), 1.0, atol=1e-13)

    def test_cosvr_reshape(self):
        w = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2)
        m = O.layer_matrix(w, "cosvr")
        self.assertEqual(m.shape, (8, 3))
        for o in range(2):
            for a in range(3):
                for p in range(4):
                    self.assertEqual(m[o * 4 + p, a], w[o, a].ravel()[p])
        np.testing.assert_array_equal(O.layer_matrix(w, "svr"), w.reshape(2, 12))


class PValueTests(unittest.TestCase):
    def test_beta_tail_against_mpmath(self):
        import mpmath
        mpmath.mp.dps = 60
        for c, z, e in [(4096, 1, 0.5), (64, 9, 0.3), (10, 4, 0.05), (128, 4, 0.9),
                        (32, 1, 0.2), (512, 9, 0.7)]:
            a, b = z / 2, (c * z - z) / 2
            ref = float(mpmath.log10(mpmath.betainc(b, a, 0, 1 - mpmath.mpf(e), regularized=True)))
            got = O.log10_beta_sf(e, a, b)
            self.assertLess(abs(got - ref), 1e-9 * max(1, abs(ref)), (c, z, e, got, ref))
        self.assertAlmostEqual(O.log10_beta_sf(0.5, 0.5, 2047.5), -618.1127204679159, places=8)
        arr = O.log10_beta_sf_array(np.array([[0.0, 0.01, 0.5]]), 0.5, 2047.5)
        self.assertEqual(arr[0, 0], 0.0)
        self.assertLess(arr[0, 2], -600)

    def test_mean_is_one_over_c(self):
        from scipy import stats
        for c, z in [(8, 1), (16, 9), (64, 4)]:
            self.assertAlmostEqual(stats.beta.mean(z / 2, (c * z - z) / 2), 1 / c, places=14)

    def test_corrections(self):
        p = np.array([0.01, 0.04, 0.03, 0.2, 0.005, 0.5])
        m = len(p)
        lp = np.log10(p)
        o = np.argsort(p)
        # BH by the textbook formula
        bh = np.empty(m)
        bh[o] = np.minimum.accumulate((p[o] * m / np.arange(1, m + 1))[::-1])[::-1]
        np.testing.assert_allclose(10 ** O.adjust_log10(lp, "bh"), np.minimum(bh, 1), rtol=1e-12)
        cm = sum(1 / i for i in range(1, m + 1))
        np.testing.assert_allclose(10 ** O.adjust_log10(lp, "by"), np.minimum(bh * cm, 1),
                                   rtol=1e-12)
        np.testing.assert_allclose(10 ** O.adjust_log10(lp, "bonferroni"), np.minimum(p * m, 1),
                                   rtol=1e-12)
        holm = np.empty(m)
        holm[o] = np.maximum.accumulate(np.minimum(p[o] * (m - np.arange(m)), 1))
        np.testing.assert_allclose(10 ** O.adjust_log10(lp, "holm"), holm, rtol=1e-12)
        np.testing.assert_allclose(O.adjust_log10(lp, "none"), lp)
        # worked example: BH q of p = 0.005, 0.01, 0.03 (m = 6) is 0.03, 0.03, 0.06
        q = 10 ** O.adjust_log10(lp, "bh")
        self.assertAlmostEqual(q[4], 0.03, places=14)
        self.assertAlmostEqual(q[0], 0.03, places=14)
        self.assertAlmostEqual(q[2], 0.06, places=14)
        # NaN (untestable) entries are left out of the family
        q2 = O.adjust_log10(np.append(lp, np.nan), "bh")
        self.assertTrue(np.isnan(q2[-1]))
        np.testing.assert_allclose(q2[:-1], O.adjust_log10(lp, "bh"))
        # deep tails stay finite in log space
        q3 = O.adjust_log10(np.array([-700.0, -650.0, -1.0]), "bh")
        self.assertAlmostEqual(q3[0], -700 + math.log10(3), places=10)

    def test_chi2_rule(self):
        from scipy import stats
        # 1 degree of freedom: chi2 quantile at Phi(S) = (Phi^-1((1 + Phi(S)) / 2))^2
        s = 3.0
        q = stats.chi2.isf(stats.norm.sf(s), 1)
        self.assertAlmostEqual(q, stats.norm.isf(stats.norm.sf(s) / 2) ** 2, places=10)
        import mpmath
        mpmath.mp.dps = 40
        tail = mpmath.erfc(mpmath.mpf(s) / mpmath.sqrt(2)) / 2          # 1 - Phi(S)
        x = mpmath.sqrt(2) * mpmath.erfinv(1 - tail)                   # Phi^-1(1 - tail/2)
        self.assertAlmostEqual(q, float(x * x), places=9)
        # 4 degrees of freedom: chi2 sf(x) = exp(-x/2) (1 + x/2)
        q4 = stats.chi2.isf(stats.norm.sf(s), 4)
        self.assertAlmostEqual(math.exp(-q4 / 2) * (1 + q4 / 2), stats.norm.sf(s), places=15)


class CalibrationTests(unittest.TestCase):
    def test_random_chain_uniform_p(self):
        rng = np.random.default_rng(3)
        d = tempfile.mkdtemp()
        try:
            t = {"fc1.weight": rng.standard_normal((40, 30)),
                 "fc2.weight": rng.standard_normal((50, 40)),
                 "fc3.weight": rng.standard_normal((30, 50))}
            write_safetensors(os.path.join(d, "m.safetensors"), t,
                              metadata={"svr.layers": json.dumps(list(t))})
            s = run_oracle(os.path.join(d, "m.safetensors"), os.path.join(d, "o"))
            with open(os.path.join(d, "o", "edges.csv")) as f:
                rows = list(csv.DictReader(f))
            n = len(rows)
            frac = sum(float(r["log10_p"]) < -2 for r in rows) / n
            lim = 4 * math.sqrt(0.01 * 0.99 / n)
            self.assertLess(abs(frac - 0.01), lim, (frac, n))
            self.assertEqual(sum(p["significant"] for p in s["pairs"]), 0)
        finally:
            shutil.rmtree(d)


class FileTests(unittest.TestCase):
    def test_safetensors_roundtrip(self):
        d = tempfile.mkdtemp()
        try:
            x = np.array([[1.5, -2.25], [3.0, 1e-3]], dtype=np.float32)
            write_safetensors(os.path.join(d, "a.safetensors"),
                              {"b": x, "a": x.astype(np.float16), "c": x},
                              metadata={"k": "v"}, dtypes={"c": "BF16"})
            t, dt, meta = read_safetensors(os.path.join(d, "a.safetensors"))
            self.assertEqual(list(t), ["a", "b", "c"])
            self.assertEqual(dt, {"a": "F16", "b": "F32", "c": "BF16"})
            self.assertEqual(meta, {"k": "v"})
            np.testing.assert_array_equal(t["b"], x)
            np.testing.assert_allclose(t["c"], x, rtol=1e-2)
            with open(os.path.join(d, "a.safetensors"), "rb") as f:
                raw = f.read()
            self.assertEqual(int.from_bytes(raw[:8], "little") % 8, 0)
        finally:
            shutil.rmtree(d)


@unittest.skipUnless(os.path.exists(os.path.join(VGG, "vgg_bn.safetensors")), "no fixtures")
class TwinAndCompareTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = tempfile.mkdtemp()
        cls.bn = os.path.join(cls.d, "bn")
        run_oracle(os.path.join(VGG, "vgg_bn.safetensors"), cls.bn)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.d)

    def copy(self, name):
        dst = os.path.join(self.d, name)
        shutil.copytree(self.bn, dst)
        return dst

    def edit_csv(self, path, fn):
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        fn(rows)
        with open(path, "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)

    def test_bn_ignored_equals_plain_twin(self):
        # both twins share their conv/linear weights (BN init uses no randomness)
        a, b = os.path.join(self.d, "ign"), os.path.join(self.d, "plain")
        run_oracle(os.path.join(VGG, "vgg_bn.safetensors"), a, "--batchnorm", "ignore")
        run_oracle(os.path.join(VGG, "vgg_plain.safetensors"), b)
        rc, out = compare(a, b, "--all-edges-in-both")
        self.assertEqual(rc, 1, out)      # the layer names differ (features.4 vs features.3)
        rc, out = compare(a, b, "--all-edges-in-both", "--ignore-layer-names")
        self.assertEqual(rc, 0, out)
        rc, out = compare(self.bn, b, "--ignore-layer-names")
        self.assertEqual(rc, 1, out)      # folding BN changes the SVR
        self.assertIn("MISMATCH sigma", out)

    def test_identical_and_tiny_perturbation_agree(self):
        self.assertEqual(compare(self.bn, self.bn)[0], 0)
        d = self.copy("tiny")
        self.edit_csv(os.path.join(d, "nodes.csv"),
                      lambda r: r[1].__setitem__(3, repr(float(r[1][3]) * (1 + 1e-13))))
        rc, out = compare(self.bn, d)
        self.assertEqual(rc, 0, out)

    def test_min_rank_is_the_full_runs_bottom(self):
        # --min-rank K: each layer's last K neurons of the full run, numbered from rank - K, with
        # sigma_rel, near_kernel and s_max of the whole layer; the comparator matches them and
        # refuses a renumbering.
        full = os.path.join(self.d, "full_all")
        bottom = os.path.join(self.d, "bottom")
        run_oracle(os.path.join(VGG, "vgg_bn.safetensors"), full, "--near-kernel-tau", "0.5")
        run_oracle(os.path.join(VGG, "vgg_bn.safetensors"), bottom, "--min-rank", "3",
                   "--near-kernel-tau", "0.5")
        with open(os.path.join(full, "nodes.csv")) as f:
            full_rows = list(csv.DictReader(f))
        with open(os.path.join(bottom, "nodes.csv")) as f:
            bottom_rows = list(csv.DictReader(f))
        with open(os.path.join(bottom, "summary.json")) as f:
            layers = json.load(f)["layers"]
        by_id = {(r["layer"], r["neuron"]): r for r in full_rows}
        for layer in layers:
            rank, kept = layer["rank"], layer["kept"]
            self.assertEqual(kept, min(3, rank))
            self.assertEqual(layer["first_neuron"], rank - kept)
        self.assertTrue(any(layer["first_neuron"] > 0 for layer in layers))
        for r in bottom_rows:
            twin = by_id[(r["layer"], r["neuron"])]
            for column in ("sigma", "sigma_rel", "near_kernel"):
                self.assertEqual(r[column], twin[column], (r, twin))
        again = os.path.join(self.d, "bottom_again")
        shutil.copytree(bottom, again)
        self.assertEqual(compare(bottom, again)[0], 0)
        self.edit_csv(os.path.join(again, "nodes.csv"),
                      lambda rows: [row.__setitem__(2, str(int(row[2]) + 1)) for row in rows[1:]
                                    if row[0] == "0"])
        rc, out = compare(bottom, again)
        self.assertEqual(rc, 1, out)
        self.assertIn("first neuron", out)

    def test_wrong_sigma_fails(self):
        d = self.copy("sigma")
        self.edit_csv(os.path.join(d, "nodes.csv"),
                      lambda r: r[5].__setitem__(3, repr(float(r[5][3]) * (1 + 1e-8))))
        rc, out = compare(self.bn, d)
        self.assertEqual(rc, 1)
        self.assertIn("MISMATCH sigma", out)

    def test_wrong_e_and_p_fail(self):
        d = self.copy("e")
        self.edit_csv(os.path.join(d, "edges.csv"),
                      lambda r: r[7].__setitem__(5, repr(float(r[7][5]) + 1e-9)))
        rc, out = compare(self.bn, d)
        self.assertEqual(rc, 1)
        self.assertIn("MISMATCH E", out)
        d = self.copy("p")
        self.edit_csv(os.path.join(d, "edges.csv"),
                      lambda r: r[9].__setitem__(8, repr(float(r[9][8]) - 1e-6)))
        rc, out = compare(self.bn, d)
        self.assertEqual(rc, 1)
        self.assertIn("MISMATCH log10_p", out)

    def test_significance_flip_fails_and_significant_only_agrees(self):
        d = self.copy("sig")
        self.edit_csv(os.path.join(d, "edges.csv"), lambda r: r[3].__setitem__(10, "1"))
        rc, out = compare(self.bn, d)
        self.assertEqual(rc, 1)
        self.assertIn("MISMATCH significant", out)
        # a directory with only significant edges is compared on those
        ref = os.path.join(self.d, "refmode")
        run_oracle(os.path.join(VGG, "vgg_plain.safetensors"), ref, "--reference")
        d = os.path.join(self.d, "refsig")
        shutil.copytree(ref, d)
        self.edit_csv(os.path.join(d, "edges.csv"),
                      lambda r: r.__setitem__(slice(1, None), [x for x in r[1:] if x[10] == "1"]))
        self.assertEqual(compare(ref, d)[0], 0)
        self.edit_csv(os.path.join(d, "edges.csv"), lambda r: r.pop())
        self.assertEqual(compare(ref, d)[0], 1)

    def test_cluster_block_sums(self):
        # layer 0 with four equal singular values: E may move inside a cluster block
        rng = np.random.default_rng(5)
        q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
        w0 = q[:, :4].T * np.array([2.0, 1.0, 1.0, 1.0])[:, None]   # 4 x 6, s = 2, 1, 1, 1
        t = {"a.weight": w0, "b.weight": rng.standard_normal((5, 4))}
        m = os.path.join(self.d, "clu.safetensors")
        write_safetensors(m, t, metadata={"svr.layers": json.dumps(["a.weight", "b.weight"])})
        a = os.path.join(self.d, "clu")
        run_oracle(m, a)
        with open(os.path.join(a, "nodes.csv")) as f:
            nodes = list(csv.DictReader(f))
        self.assertEqual([r["cluster"] for r in nodes[:4]], ["0", "1", "1", "1"])

        def move(delta, i1, i2):
            def fn(r):
                # edges are ordered by from_neuron then to_neuron; to_neuron 0 rows
                for row in r[1:]:
                    if row[4] == "0" and row[2] == str(i1):
                        row[5] = repr(float(row[5]) + delta)
                    if row[4] == "0" and row[2] == str(i2):
                        row[5] = repr(float(row[5]) - delta)
            return fn
        b = os.path.join(self.d, "clu_inside")
        shutil.copytree(a, b)
        self.edit_csv(os.path.join(b, "edges.csv"), move(1e-3, 1, 2))   # inside the cluster
        rc, out = compare(a, b)
        self.assertEqual(rc, 0, out)
        c = os.path.join(self.d, "clu_across")
        shutil.copytree(a, c)
        self.edit_csv(os.path.join(c, "edges.csv"), move(1e-3, 0, 1))   # across clusters
        rc, out = compare(a, c)
        self.assertEqual(rc, 1, out)

    def test_summary_pair_mismatch_fails(self):
        d = self.copy("summ")
        with open(os.path.join(d, "summary.json")) as f:
            s = json.load(f)
        s["pairs"][2]["internal_dims"]["to"] += 1
        s["run"] = {"anything": 1}
        with open(os.path.join(d, "summary.json"), "w") as f:
            json.dump(s, f)
        rc, out = compare(self.bn, d)
        self.assertEqual(rc, 1)
        self.assertIn("internal_dims", out)

    def test_cli_runs(self):
        out = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "e2e",
                                                           "compare_outputs.py"),
                              self.bn, self.bn], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        self.assertIn("outputs agree", out.stdout)


# ------------------------------------------------------------------ graphs --

GRAPH = os.path.join(ROOT, "tests", "data", "graph")
FIXTURES = ("resnet_tiny", "densenet_tiny", "branches_tiny", "grouped_tiny", "random_tiny")


def selection_matrix(S, T, c_a, c_b):
    """The 0/1 matrix of a channel map: Sel[pi(a), a] = 1 for a in S."""
    sel = np.zeros((c_b, c_a))
    for a, t in zip(S, T):
        sel[t, a] = 1.0
    return sel


def hwc_to_chw(V, c, z):
    """Rows of V from the hwc column order (p c + t) to chw (t z + p)."""
    out = np.empty_like(V)
    for t in range(c):
        for p in range(z):
            out[t * z + p] = V[p * c + t]
    return out


def graph_pair_pvalues(rng, U, V, S, T, c_b, z, A, B, to_group):
    """log10 p of every edge of one pair through the oracle's graph path."""
    E, lift = O.graph_edge_matrix(U, V, S, T, c_b, z, "chw")
    P = {"c": c_b, "z": z, "E": E}
    O.graph_null(P, A, B, lift, to_group)
    lp = np.full(E.shape, np.nan)
    if P["null"] == "beta":
        lp[P["mask"]] = O.log10_beta_sf_array(P["X"][P["mask"]], P["a"], P["b"])
    return lp, P


def write_topology(path, layers):
    with open(path, "w") as f:
        json.dump({"format": "svr-topology", "schema_version": 1, "layers": layers}, f)


class GraphEdgeTests(unittest.TestCase):
    def test_concat_split_permute_equal_explicit_matrix(self):
        rng = np.random.default_rng(11)
        c_a, c_b, z, ra, rb = 6, 10, 4, 6, 9
        U = orth_cols(rng, c_a, ra)
        V = orth_cols(rng, c_b * z, rb)
        cases = [(range(6), [4 + k for k in range(6)]),              # concat at offset 4
                 (range(2, 5), [0, 1, 2]),                           # split [2, 3]
                 (range(6), [9, 0, 7, 2, 5, 3])]                     # permute
        for S, T in cases:
            S = np.array(list(S))
            T = np.array(T)
            E, _ = O.graph_edge_matrix(U, V, S, T, c_b, z, "chw")
            ref = e_gemm(selection_matrix(S, T, c_a, c_b) @ U, V, c_b, 1, z)
            np.testing.assert_allclose(E, ref, atol=1e-14, rtol=0)
            # hwc: the same E once V's rows are put back in chw order
            Vh = np.empty_like(V)
            for t in range(c_b):
                for p in range(z):
                    Vh[p * c_b + t] = V[t * z + p]
            Eh, _ = O.graph_edge_matrix(U, Vh, S, T, c_b, z, "hwc")
            np.testing.assert_allclose(Eh, E, atol=1e-14, rtol=0)
            np.testing.assert_allclose(hwc_to_chw(Vh, c_b, z), V, atol=0, rtol=0)

    def test_add_pair_equals_chain_formula(self):
        rng = np.random.default_rng(12)
        for c, z in [(7, 1), (5, 9), (4, 6)]:
            U = orth_cols(rng, c, c)
            V = orth_cols(rng, c * z, min(c * z, 8))
            E, _ = O.graph_edge_matrix(U, V, np.arange(c), np.arange(c), c, z, "chw")
            np.testing.assert_allclose(E, O.edge_matrix(U, V, c, 1, z), atol=1e-14, rtol=0)

    def test_grouped_spectrum(self):
        rng = np.random.default_rng(13)
        w = rng.standard_normal((6, 2, 3, 3))               # 3 groups of 2 x (2 * 9)
        U, s, V, grp, shape, rank = O.layer_spectrum(w, 3, "svr", None)
        self.assertEqual(shape, [6, 54])
        self.assertEqual(rank, 6)
        M = np.zeros((6, 54))
        for o in range(6):
            g = o // 2
            M[o, g * 18:(g + 1) * 18] = w[o].ravel()
        np.testing.assert_allclose(U @ np.diag(s) @ V.T, M, atol=1e-13)
        np.testing.assert_allclose(s, np.linalg.svd(M, compute_uv=False), rtol=1e-13)
        self.assertTrue(np.all(np.diff(s) <= 0))
        for i in range(rank):
            g = grp[i]
            self.assertTrue(np.all(U[[o for o in range(6) if o // 2 != g], i] == 0.0))
            self.assertTrue(np.all(np.delete(V[:, i], np.s_[g * 18:(g + 1) * 18]) == 0.0))

    def test_path_metric_brute_force(self):
        rng = np.random.default_rng(14)
        r = [2, 3, 2, 3, 2, 2, 3]
        s = [np.sort(rng.uniform(0.5, 3.0, k))[::-1] for k in r]
        s[2][-1] = 0.0                                          # a zero singular value
        edges = [(0, 1), (0, 2), (1, 3), (2, 3), (1, 5), (4, 5)]  # layer 6 is isolated
        pairs = [{"from_layer": a, "to_layer": b, "E": rng.uniform(0.0, 1.0, (r[b], r[a]))}
                 for a, b in edges]
        pairs[0]["E"][0, 1] = 0.0

        def brute(w):
            out = {b for _, b in edges}
            srcs = [l for l in range(len(r)) if l not in out]
            nxt = {l: [P for P in pairs if P["from_layer"] == l] for l in range(len(r))}
            total = 0.0

            def walk(l, x):                 # x: weight of the paths ending at layer l's neurons
                nonlocal total
                if not nxt[l]:
                    total += float(np.sum(x * w[l]))
                for P in nxt[l]:
                    b = P["to_layer"]
                    y = np.zeros(r[b])
                    for j in range(r[b]):
                        for i in range(r[l]):
                            y[j] += P["E"][j, i] * x[i] * w[l][i]
                    walk(b, y)
            for l in srcs:
                walk(l, np.ones(r[l]))
            return total
        for w in (s, [(x > 0.0).astype(float) for x in s]):
            got = O.dag_path_metric(len(r), pairs, w)
            self.assertAlmostEqual(got, math.log10(brute(w)), places=12)
        # a chain: exactly the chain formula (spec section 5)
        chain = [{"from_layer": l, "to_layer": l + 1, "E": rng.uniform(0, 1, (r[l + 1], r[l]))}
                 for l in range(3)]
        self.assertEqual(O.dag_path_metric(4, chain, s[:4]),
                         O.path_metric(s[:4], [P["E"] for P in chain], s[:4]))


class GraphCalibrationTests(unittest.TestCase):
    """p-values of edges under the null are uniform (KS, fixed seeds): one edge
    per independent draw of the layers' weights or singular vectors."""

    def ks(self, ps):
        from scipy import stats
        ps = np.asarray(ps)
        self.assertGreater(stats.kstest(ps, "uniform").pvalue, 1e-3)
        return ps

    def test_split_pair_null(self):
        rng = np.random.default_rng(21)
        c_a, c_b, z = 12, 5, 9
        S, T = np.arange(3, 8), np.arange(5)                     # split [3, 5]
        A = {"out": c_a, "groups": 1}
        B = {"groups": 1}
        ps, raw = [], []
        for _ in range(400):
            U = orth_cols(rng, c_a, 4)
            V = orth_cols(rng, c_b * z, 3)                       # uniform singular vectors
            lp, P = graph_pair_pvalues(rng, U, V, S, T, c_b, z, A, B, np.zeros(3, dtype=int))
            self.assertEqual((P["a"], P["b"]), (4.5, 18.0))
            j, i = rng.integers(3), rng.integers(4)
            ps.append(10 ** lp[j, i])
            raw.append(10 ** O.log10_beta_sf(P["E"][j, i], P["a"], P["b"]))
        self.ks(ps)
        # the test has power: without the division by ||u_S||^2 the p-values are not uniform
        from scipy import stats
        self.assertLess(stats.kstest(raw, "uniform").pvalue, 1e-6)

    def test_grouped_consumer_null(self):
        rng = np.random.default_rng(22)
        c, g, z = 12, 3, 9                                          # c_g = 4
        A = {"out": c, "groups": 1}
        B = {"groups": g}
        ps = []
        for _ in range(300):
            U = orth_cols(rng, c, 5)
            _, _, V, grp, _, _ = O.layer_spectrum(rng.standard_normal((6, c // g, 3, 3)), g,
                                                  "svr", None)
            lp, P = graph_pair_pvalues(rng, U, V, np.arange(c), np.arange(c), c, z, A, B, grp)
            self.assertEqual((P["a"], P["b"], P["side"]), (4.5, 13.5, "v"))
            ps.append(10 ** lp[rng.integers(V.shape[1]), rng.integers(5)])
        self.ks(ps)

    def test_depthwise_consumer_null(self):
        rng = np.random.default_rng(23)
        c, z = 10, 9
        A = {"out": c, "groups": 1}
        B = {"groups": c}
        ps = []
        for _ in range(400):
            U, _, _, _, _, _ = O.layer_spectrum(rng.standard_normal((c, 7, 3, 3)), 1, "svr", None)
            _, _, V, grp, _, _ = O.layer_spectrum(rng.standard_normal((c, 1, 3, 3)), c,
                                                  "svr", None)
            lp, P = graph_pair_pvalues(rng, U, V, np.arange(c), np.arange(c), c, z, A, B, grp)
            self.assertEqual((P["a"], P["b"], P["side"]), (0.5, 4.5, "u"))
            np.testing.assert_allclose(P["E"], (U[grp, :]) ** 2, atol=1e-14)
            self.assertTrue(P["mask"].all())
            ps.append(10 ** lp[rng.integers(c), rng.integers(c)])
        self.ks(ps)

    def test_depthwise_producer_null(self):
        rng = np.random.default_rng(24)
        c, z = 8, 9
        A = {"out": c, "groups": c}
        B = {"groups": 1}
        ps = []
        for _ in range(400):
            U, _, _, ga, _, _ = O.layer_spectrum(rng.standard_normal((c, 1, 3, 3)), c,
                                                 "svr", None)
            _, _, V, grp, _, _ = O.layer_spectrum(rng.standard_normal((6, c, 3, 3)), 1,
                                                  "svr", None)
            lp, P = graph_pair_pvalues(rng, U, V, np.arange(c), np.arange(c), c, z, A, B, grp)
            self.assertEqual((P["a"], P["b"]), (4.5, 31.5))
            ps.append(10 ** lp[rng.integers(6), rng.integers(c)])
        self.ks(ps)

    def test_disjoint_supports_untestable(self):
        # grouped producer (2 groups of 3) -> grouped consumer (2 groups of 3 channels)
        rng = np.random.default_rng(25)
        U, _, _, ga, _, _ = O.layer_spectrum(rng.standard_normal((6, 4, 3)), 2, "svr", None)
        _, _, V, gb, _, _ = O.layer_spectrum(rng.standard_normal((4, 3, 3)), 2, "svr", None)
        lp, P = graph_pair_pvalues(rng, U, V, np.arange(6), np.arange(6), 6, 3,
                                   {"out": 6, "groups": 2}, {"groups": 2}, gb)
        for j in range(V.shape[1]):
            for i in range(U.shape[1]):
                if ga[i] != gb[j]:
                    self.assertEqual(P["E"][j, i], 0.0)
                    self.assertFalse(P["mask"][j, i])
                    self.assertTrue(np.isnan(lp[j, i]))
                else:
                    self.assertTrue(P["mask"][j, i])


class GraphRunTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = tempfile.mkdtemp()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.d)

    def chain_model(self):
        rng = np.random.default_rng(31)
        t = {"c1.weight": rng.standard_normal((6, 3, 3, 3)),
             "c2.weight": rng.standard_normal((8, 6, 3, 3)),
             "fc.weight": rng.standard_normal((5, 8 * 4)),
             "out.weight": rng.standard_normal((3, 5))}
        m = os.path.join(self.d, "chain.safetensors")
        write_safetensors(m, t, metadata={"svr.layers": json.dumps(list(t))})
        return m, list(t)

    def test_chain_output_unchanged_and_equal_to_direct_topology(self):
        m, names = self.chain_model()
        a = os.path.join(self.d, "chain")
        s = run_oracle(m, a)
        with open(os.path.join(a, "nodes.csv")) as f:
            nodes = list(csv.reader(f))
        with open(os.path.join(a, "edges.csv")) as f:
            edges = list(csv.reader(f))
        self.assertEqual(nodes[0], ["layer", "layer_name", "neuron", "sigma", "sigma_rel",
                                    "cluster", "near_kernel", "intensity", "group"])
        self.assertEqual(edges[0], ["pair", "from_layer", "from_neuron", "to_layer", "to_neuron",
                                    "e", "ce", "p", "log10_p", "q", "significant", "map"])
        self.assertEqual({r[-1] for r in nodes[1:]}, {"0"})
        self.assertEqual({r[-1] for r in edges[1:]}, {"direct"})
        for k, P in enumerate(s["pairs"]):
            self.assertEqual((P["from_layer"], P["to_layer"], P["map"]), (k, k + 1, "direct"))
            self.assertEqual(P["channels_read"], P["c"])
            self.assertEqual(P["intensity"], [float(r[7]) for r in nodes[1:] if r[0] == str(k)])
        self.assertNotIn("topology", s["options"])
        # the chain written as a topology file gives the same outputs
        topo = os.path.join(self.d, "chain.json")
        write_topology(topo, [{"name": n, "kind": "conv2d" if n.startswith("c") else "linear",
                               **({"reads_from": [{"layer": names[k - 1], "map": "direct"}]}
                                  if k else {})} for k, n in enumerate(names)])
        b = os.path.join(self.d, "chain_topo")
        run_oracle(m, b, "--topology", topo)
        rc, out = compare(a, b, "--all-edges-in-both")
        self.assertEqual(rc, 0, out)

    def test_fixtures_run(self):
        for name in FIXTURES:
            out = os.path.join(self.d, name)
            s = run_oracle(os.path.join(GRAPH, name + ".safetensors"), out, "--topology",
                           os.path.join(GRAPH, name + ".json"))
            sig = sum(P["significant"] for P in s["pairs"])
            if name == "random_tiny":
                self.assertEqual(sig, 0)
            else:
                self.assertGreaterEqual(sig, 10, name)
            with open(os.path.join(out, "nodes.csv")) as f:
                nodes = list(csv.DictReader(f))
            self.assertEqual(len(nodes), sum(L["kept"] for L in s["layers"]))
            read = {P["from_layer"] for P in s["pairs"]}
            for r in nodes:
                if int(r["layer"]) not in read:
                    self.assertEqual(r["intensity"], "1.0")
            rc, text = compare(out, out)
            self.assertEqual(rc, 0, text)

    def test_grouped_fixture_groups_and_nulls(self):
        out = os.path.join(self.d, "grouped")
        s = run_oracle(os.path.join(GRAPH, "grouped_tiny.safetensors"), out, "--topology",
                       os.path.join(GRAPH, "grouped_tiny.json"))
        with open(os.path.join(out, "nodes.csv")) as f:
            nodes = list(csv.DictReader(f))
        groups = {L["name"]: L["groups"] for L in s["layers"]}
        for r in nodes:
            g = int(r["group"])
            self.assertTrue(0 <= g < groups[r["layer_name"]])
        self.assertEqual({int(r["group"]) for r in nodes if r["layer_name"] == "dw.weight"},
                         set(range(16)))
        sides = [P["null_beta"]["side"] for P in s["pairs"]]
        self.assertEqual(sides, ["v", "v", "u", "v", "u", "v"])
        self.assertEqual(s["pairs"][0]["null_beta"]["b"], (8 - 1) * 9 / 2)     # c_g = 8
        # pw2 (rank 16, dense u) -> dw2 (48 neurons): every edge testable
        self.assertEqual(s["pairs"][4]["edges_tested"], 16 * 48)
        # gconv (2 groups) -> pw1: u_i lives in one group, S is every channel: all testable
        self.assertEqual(s["pairs"][1]["edges_tested"], 16 * 16)

    def test_bad_topologies(self):
        with open(os.path.join(GRAPH, "bad", "expected.json")) as f:
            expected = json.load(f)
        self.assertEqual(len(expected), 9)
        for name, e in expected.items():
            with self.assertRaises(O.OracleError, msg=name) as cm:
                run_oracle(os.path.join(GRAPH, e["model"]), os.path.join(self.d, "bad"),
                           "--topology", os.path.join(GRAPH, "bad", name))
            self.assertIn(e["oracle_error"], str(cm.exception), name)
        # the hand-written schema check alone (no jsonschema) catches the schema failures
        for name in ("unknown_kind.json", "missing_format.json"):
            with open(os.path.join(GRAPH, "bad", name)) as f:
                topo = json.load(f)
            with self.assertRaises(O.OracleError):
                O.check_topology_schema(topo, name)

    def test_more_semantic_errors(self):
        m = os.path.join(GRAPH, "branches_tiny.safetensors")
        with open(os.path.join(GRAPH, "branches_tiny.json")) as f:
            base = json.load(f)
        cases = [
            ("permutation of 3 entries", lambda t: t["layers"][3]["reads_from"][0].__setitem__(
                "permutation", [0, 2, 4])),
            ("outside its 12 output channels", lambda t: t["layers"][1]["reads_from"][0]
             .__setitem__("source", [8, 6])),
            ("incomplete reads", lambda t: t["layers"][3]["reads_from"].pop()),
            ("not a layer of this file", lambda t: t["layers"][5]["reads_from"][0]
             .__setitem__("layer", "nothing.weight")),
            ("listed twice", lambda t: t["layers"].append(dict(t["layers"][5]))),
            ("add reads come two or more", lambda t: t["layers"][5]["reads_from"][0]
             .__setitem__("map", "add")),
            ("no floating-point tensor", lambda t: t["layers"][0].__setitem__("batchnorm", "x")),
            ("kind conv2d needs a 4-D weight", lambda t: t["layers"][4].__setitem__(
                "kind", "conv2d")),
            ("groups 2 on a linear layer", lambda t: t["layers"][5].__setitem__("groups", 2)),
            ("duplicate key", None),
        ]
        for text, fn in cases:
            p = os.path.join(self.d, "sem.json")
            if fn is None:
                with open(p, "w") as f:
                    f.write('{"format": "svr-topology", "format": "x"}')
            else:
                t = json.loads(json.dumps(base))
                fn(t)
                with open(p, "w") as f:
                    json.dump(t, f)
            with self.assertRaises(O.OracleError, msg=text) as cm:
                run_oracle(m, os.path.join(self.d, "sem"), "--topology", p)
            self.assertIn(text, str(cm.exception))
        with self.assertRaises(O.OracleError) as cm:
            run_oracle(m, os.path.join(self.d, "sem"), "--topology",
                       os.path.join(GRAPH, "branches_tiny.json"), "--method", "cosvr")
        self.assertIn("only direct and add", str(cm.exception))

    def test_cosvr_on_residual_graph(self):
        out = os.path.join(self.d, "cos")
        s = run_oracle(os.path.join(GRAPH, "resnet_tiny.safetensors"), out, "--topology",
                       os.path.join(GRAPH, "resnet_tiny.json"), "--method", "cosvr",
                       "--fdr-scope", "pair")
        self.assertEqual([P["z_u"] for P in s["pairs"]], [9, 9, 9, 9, 9, 9, 9, 9, 1])
        self.assertEqual(s["pairs"][0]["null_beta"]["side"], "u")

    def test_flatten_order_override(self):
        m = os.path.join(GRAPH, "branches_tiny.safetensors")
        t = os.path.join(GRAPH, "branches_tiny.json")
        a, b = os.path.join(self.d, "fo_a"), os.path.join(self.d, "fo_b")
        sa = run_oracle(m, a, "--topology", t)
        sb = run_oracle(m, b, "--topology", t, "--flatten-order", "chw")
        # head.fc1 is chw already; aux.fc (hwc in the file) changes
        self.assertEqual(sa["pairs"][4]["significant"], sb["pairs"][4]["significant"])
        self.assertGreater(sa["pairs"][6]["significant"] + sa["pairs"][7]["significant"],
                           sb["pairs"][6]["significant"] + sb["pairs"][7]["significant"])


class GraphCompareTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = tempfile.mkdtemp()
        cls.ref = os.path.join(cls.d, "ref")
        run_oracle(os.path.join(GRAPH, "grouped_tiny.safetensors"), cls.ref, "--topology",
                   os.path.join(GRAPH, "grouped_tiny.json"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.d)

    def copy(self, name):
        dst = os.path.join(self.d, name)
        shutil.copytree(self.ref, dst)
        return dst

    def edit_csv(self, path, fn):
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        fn(rows)
        with open(path, "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)

    def edit_summary(self, d, fn):
        with open(os.path.join(d, "summary.json")) as f:
            s = json.load(f)
        fn(s)
        with open(os.path.join(d, "summary.json"), "w") as f:
            json.dump(s, f)

    def test_group_and_map_columns(self):
        d = self.copy("group")
        self.edit_csv(os.path.join(d, "nodes.csv"),
                      lambda r: r[20].__setitem__(8, str(1 - int(r[20][8]))))
        rc, out = compare(self.ref, d)
        self.assertEqual(rc, 1)
        self.assertIn("MISMATCH group", out)
        d = self.copy("map")
        self.edit_csv(os.path.join(d, "edges.csv"), lambda r: r[300].__setitem__(11, "add"))
        rc, out = compare(self.ref, d)
        self.assertEqual(rc, 1)
        self.assertIn("MISMATCH map", out)
        # an output without the new columns: compared on the rest, with a warning
        d = self.copy("old")
        self.edit_csv(os.path.join(d, "nodes.csv"), lambda r: [x.pop() for x in r])
        rc, out = compare(self.ref, d)
        self.assertEqual(rc, 0, out)
        self.assertIn("group is in one directory only", out)

    def test_edge_readers_agree(self):
        # compare_outputs reads edges.csv by NumPy's loadtxt, by np.fromstring in blocks when
        # loadtxt cannot (empty fields), by the csv module when neither can ("nan", unknown
        # text): the same numbers and maps each way.
        def tables(d):
            path = os.path.join(d, "edges.csv")
            with open(path) as f:
                header = f.readline().rstrip("\n").split(",")
            map_col = header.index("map")
            return (C.read_table_loadtxt(path, header, map_col),
                    C.read_table_chunked(path, header, map_col), header)
        d = self.copy("maps")  # every map name once (each is read from its last two letters)
        self.edit_csv(os.path.join(d, "edges.csv"), lambda r: [
            r[k + 1].__setitem__(11, name) for k, name in enumerate(C.MAP_NAMES)])
        fast, chunked, header = tables(d)
        self.assertIsNotNone(fast)
        np.testing.assert_array_equal(fast, chunked)
        self.assertEqual(list(fast[:len(C.MAP_NAMES), header.index("map")]),
                         list(range(len(C.MAP_NAMES))))
        rows, _ = C.read_edges(os.path.join(d, "edges.csv"))
        self.assertEqual(sum(len(r) for r in rows.values()), fast.shape[0])
        for line in (0, fast.shape[0] // 2, fast.shape[0] - 1):
            t = fast[line]
            row = rows[int(t[0])][(int(t[header.index("to_neuron")]),
                                   int(t[header.index("from_neuron")]))]
            self.assertEqual(row["e"], t[header.index("e")])
            self.assertEqual(row["q"], t[header.index("q")])
            self.assertEqual(row["map"], C.MAP_NAMES[int(t[header.index("map")])])
        # an empty field: loadtxt declines, the block reader reads NaN
        d = self.copy("empty")
        self.edit_csv(os.path.join(d, "edges.csv"), lambda r: r[5].__setitem__(8, ""))
        fast, chunked, _ = tables(d)
        self.assertIsNone(fast)
        self.assertTrue(np.isnan(chunked[4, 8]))
        # "nan" written out, or a map name no reader knows: the csv module's path
        for name, edit in (("nan", lambda r: r[5].__setitem__(8, "nan")),
                           ("unknown_map", lambda r: r[5].__setitem__(11, "shuffle"))):
            d = self.copy(name)
            self.edit_csv(os.path.join(d, "edges.csv"), edit)
            fast, chunked, _ = tables(d)
            self.assertIsNone(fast, name)
            self.assertIsNone(chunked, name)
            self.assertIsNone(C.read_edges_fast(os.path.join(d, "edges.csv")), name)

    def test_pair_e_by_from_and_to_layer(self):
        d = self.copy("e")
        # an edge of pair 4 (layer 4 -> 5): blocks are clusters of layer 5 x layer 4
        self.edit_csv(os.path.join(d, "edges.csv"),
                      lambda r: [x.__setitem__(5, repr(float(x[5]) + 1e-9))
                                 for x in r[1:] if x[0] == "4" and x[2] == "3" and x[4] == "7"])
        rc, out = compare(self.ref, d)
        self.assertEqual(rc, 1)
        self.assertIn("pair 4 edge to 7 from 3", out)

    def test_summary_fields(self):
        for field, fn, text in [
                ("channels_read", lambda s: s["pairs"][2].__setitem__("channels_read", 8),
                 "pair 2 channels_read"),
                ("map", lambda s: s["pairs"][1].__setitem__("map", "add"), "pair 1 map"),
                ("to_layer", lambda s: s["pairs"][3].__setitem__("to_layer", 6), "pairs"),
                ("intensity", lambda s: s["pairs"][3]["intensity"].__setitem__(
                    2, s["pairs"][3]["intensity"][2] + 1e-6), "pair 3 intensity of neuron 2")]:
            d = self.copy("s_" + field)
            self.edit_summary(d, fn)
            rc, out = compare(self.ref, d)
            self.assertEqual(rc, 1, field)
            self.assertIn(text, out)

    def test_chains(self):
        chains = [{"start_layer": 0, "end_layer": 3, "length": 3, "layers": [0, 1, 3],
                   "neurons": [0, 0, 1], "weakest_log10_p": -7.5}]
        a, b = self.copy("ch_a"), self.copy("ch_b")
        self.edit_summary(a, lambda s: s.__setitem__("top_chains", chains))
        self.edit_summary(b, lambda s: s.__setitem__("top_chains", json.loads(json.dumps(chains))))
        self.assertEqual(compare(a, b)[0], 0)
        self.edit_summary(b, lambda s: s["top_chains"][0]["neurons"].__setitem__(2, 2))
        rc, out = compare(a, b)
        self.assertEqual(rc, 1)
        self.assertIn("MISMATCH chains", out)
        self.edit_summary(b, lambda s: s.__setitem__("top_chains", json.loads(json.dumps(chains))))
        self.edit_summary(b, lambda s: s["top_chains"][0].__setitem__("weakest_log10_p", -7.4))
        rc, out = compare(a, b)
        self.assertEqual(rc, 1)
        self.assertIn("weakest_log10_p", out)


if __name__ == "__main__":
    unittest.main()

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


if __name__ == "__main__":
    unittest.main()

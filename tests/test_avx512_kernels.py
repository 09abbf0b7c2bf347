"""The Eigen kernels compiled for AVX-512 (cc/core/avx512.h: expm's products, the large-n LU and
the inverse from LU) and the AVX build's, each in a fresh process (DETEXP_AVX512 is read once),
against SciPy/NumPy. Where the CPU lacks AVX-512 both runs take the AVX kernels."""
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg as sla

from conftest import random_matrices

_CHECK = """
import sys, numpy as np, scipy.linalg as sla, tensorflow as tf, detexp as dx
from conftest import ALL_DTYPES, random_matrices
for dtype in ALL_DTYPES:
    rtol = 1e-4 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-11
    wide = np.complex128 if np.iscomplexobj(np.zeros(1, dtype)) else np.float64
    for n in (17, 40, 130):  # expm: products of n > 16
        a = (0.8 * random_matrices((2, n, n), dtype, seed=n)).astype(dtype)
        e = random_matrices((2, n, n), dtype, seed=n + 1)
        x, l = dx.numpy.expm_frechet(a, e)
        ref = sla.expm(a.astype(wide))
        lref = np.stack([sla.expm_frechet(ai.astype(wide), ei.astype(wide))[1] for ai, ei in zip(a, e)])
        np.testing.assert_allclose(x, ref, rtol=rtol, atol=rtol * np.abs(ref).max())
        np.testing.assert_allclose(l, lref, rtol=rtol, atol=rtol * np.abs(lref).max())
    for n in (41, 64, 200):  # slogdet: Eigen's LU from n = 41; backward: inverse from n = 25
        a = (random_matrices((2, n, n), dtype, seed=n) + 2 * n ** 0.5 * np.eye(n)).astype(dtype)
        sign, lad = dx.numpy.slogdet(a)
        rs, rl = np.linalg.slogdet(a.astype(wide))
        np.testing.assert_allclose(lad, rl, rtol=rtol)
        np.testing.assert_allclose(sign, rs, rtol=rtol, atol=rtol)
        at = tf.constant(a)
        with tf.GradientTape() as tape:
            tape.watch(at)
            y = tf.reduce_sum(dx.logabsdet(at))
        g = tape.gradient(y, at).numpy()
        inv = np.linalg.inv(a.astype(wide))
        ginv = np.conj(np.swapaxes(inv, -1, -2))
        np.testing.assert_allclose(g, ginv, rtol=rtol, atol=rtol * np.abs(ginv).max())
        np.testing.assert_allclose(dx.inverse(at).numpy(), inv, rtol=rtol, atol=rtol * np.abs(inv).max())
np.save(sys.argv[1], dx.numpy.expm(0.8 * random_matrices((2, 40, 40), np.float64, seed=3)))
"""


@pytest.mark.parametrize("avx512", ["default", "0"])
def test_kernels_both_ways(avx512, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(__file__)] + sys.path))
    env.pop("DETEXP_AVX512", None)
    if avx512 == "0":
        env["DETEXP_AVX512"] = "0"
    out = tmp_path / "x.npy"
    subprocess.run([sys.executable, "-c", _CHECK, str(out)], env=env, check=True, timeout=600)
    a = 0.8 * random_matrices((2, 40, 40), np.float64, seed=3)
    np.testing.assert_allclose(np.load(out), sla.expm(a), rtol=1e-12, atol=1e-12)

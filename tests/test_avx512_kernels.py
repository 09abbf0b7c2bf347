"""cc/core's AVX-512 copy (cc/core/avx512.h) and the AVX build's, each in a fresh process
(DETEXP_AVX512 is read once): both against SciPy/NumPy, and against each other: the same bits
from the real log-determinant family (our own code, compiled without fused multiply-adds), agreement
to rounding where Eigen's packet math fuses them. Where the CPU lacks AVX-512 both runs take the
AVX build."""
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
# The small-n paths (lanes LU and inverse, unrolled LU, Pade without GEMM), saved to compare the
# two runs. 19 matrices: lane groups of 8 / 4 and a remainder.
small = {}
for dtype in ALL_DTYPES:
    for n in (2, 3, 4, 8, 12, 16, 20):
        a = (random_matrices((19, n, n), dtype, seed=n) + n ** 0.5 * np.eye(n)).astype(dtype)
        at = tf.constant(a)
        with tf.GradientTape() as tape:
            tape.watch(at)
            sign, lad = dx.slogdet(at)
            y = tf.reduce_sum(lad)
        key = f"{np.dtype(dtype).name}_{n}"
        small[key + "_slogdet"] = np.stack([sign.numpy(), lad.numpy().astype(sign.dtype.as_numpy_dtype)])
        small[key + "_grad"] = tape.gradient(y, at).numpy()
        small[key + "_inverse"] = dx.inverse(at).numpy()
        small[key + "_adjugate"] = dx.adjugate(at).numpy()
        if n <= 16:
            x, l = dx.numpy.expm_frechet(0.5 * a, a)
            small[key + "_expm"] = np.stack([x, l])
            with tf.GradientTape() as tape:
                tape.watch(at)
                y = tf.reduce_sum(tf.math.real(dx.expm(0.5 * at)))
            small[key + "_expm_grad"] = tape.gradient(y, at).numpy()
np.savez(sys.argv[2], **small)
"""


def _run_check(avx512, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(__file__)] + sys.path))
    env.pop("DETEXP_AVX512", None)
    if avx512 == "0":
        env["DETEXP_AVX512"] = "0"
    out, small = tmp_path / f"x_{avx512}.npy", tmp_path / f"small_{avx512}.npz"
    subprocess.run([sys.executable, "-c", _CHECK, str(out), str(small)], env=env, check=True, timeout=600)
    a = 0.8 * random_matrices((2, 40, 40), np.float64, seed=3)
    np.testing.assert_allclose(np.load(out), sla.expm(a), rtol=1e-12, atol=1e-12)
    return np.load(small)


def _cpu_has_avx512():
    """What avx512::available() asks of the CPU (Linux: the flags of /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return None
    return {"avx512f", "avx512dq", "avx512vl", "avx512bw", "avx2", "fma"} <= set(flags)


def test_kernels_both_ways_same_bits(tmp_path):
    with _run_check("default", tmp_path) as fast, _run_check("0", tmp_path) as base:
        assert sorted(fast.files) == sorted(base.files) and len(fast.files) == 4 * (7 * 4 + 6 * 2)
        # Proof that the default run took the AVX-512 copy where the CPU has AVX-512: Eigen's
        # fused packet math rounds some expm results differently (60+ of these keys on an EPYC).
        differs = [k for k in fast.files if not np.array_equal(fast[k], base[k])]
        if _cpu_has_avx512() is not None:
            assert bool(differs) == _cpu_has_avx512(), differs
        for key in fast.files:
            dtype, _, what = key.split("_", 2)
            if dtype.startswith("float") and what in ("slogdet", "grad", "inverse"):
                # batch_lu.h's lanes and small_lu.h: our code alone, which the copy rounds alike.
                np.testing.assert_array_equal(fast[key], base[key], err_msg=key)
            else:  # Eigen's packet math (expm's products, the SVD, complex) fuses by intrinsics
                rtol = 1e-5 if dtype in ("float32", "complex64") else 1e-12
                np.testing.assert_allclose(fast[key], base[key], rtol=rtol, atol=rtol * np.abs(base[key]).max(),
                                           err_msg=key)

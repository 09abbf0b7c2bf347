"""The matrix exponential's drivers run one algorithm (cc/core/expm_select.h, expm_chain.h): the CPU
driver (cc/core/expm.h, behind the TF op), the GPU's team code (cc/core/small_expm.h, here on one
and on three OS threads) and the GPU's batched driver (cc/core/expm_blas_driver.h on its CPU
backend) pick the same degree and squarings (m, s) for the same matrix, every dtype, and their
results agree to rounding. The team and batched drivers share every primitive, so they agree
bitwise; the CPU driver's products (Eigen, packet_gemm) round differently.
"""
import numpy as np
import pytest
import tensorflow as tf

import detexp as dx
from conftest import ALL_DTYPES, rel1, native_hooks

hooks = native_hooks()
_ops = dx._expm._ops


def _families(n, dtype, seed):
    """Dense, upper and lower triangular, non-normal, badly scaled, nilpotent, nonnegative and
    skew-Hermitian matrices, ||A||_1 from ~1e-8 to ~1e4."""
    rng = np.random.default_rng(seed)
    cplx = np.issubdtype(np.dtype(dtype), np.complexfloating)

    def g():
        x = rng.standard_normal((n, n))
        return (x + 1j * rng.standard_normal((n, n)) if cplx else x) / np.sqrt(n)

    d = np.logspace(-2, 2, n)
    out = []
    for scale in (1e-8, 1e-3, 0.1, 0.7, 2.0, 6.0, 25.0):
        x = g()
        family = [x, np.triu(x), np.tril(x), np.diag(np.diag(x)) + 30 * np.triu(x, 1), (d[:, None] * x) / d[None, :],
                  np.triu(x, 1), np.abs(x)]
        out += [scale * m for m in family]
    for big in (1e2, 1e4):
        x = g()
        out.append(big * (x - x.conj().T))
    return np.array(out).astype(dtype)


def _choices(a):
    cpu = _ops.detexp_expm(tf.constant(a))[1].numpy()
    team_r, team = hooks.team_expm(a, a, 0, 1)
    return cpu, team, team_r


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [2, 3, 4, 8, 9, 12, 16, 17, 24, 33])
def test_same_choice_and_results_on_every_driver(n, dtype):
    a = _families(n, dtype, seed=n)
    cpu, team, team_r = _choices(a)
    np.testing.assert_array_equal(team, cpu)
    if n >= 3:
        assert len(set((cpu % 256).tolist())) >= 3  # several degrees, or this would test little
        batched_r, batched, _ = hooks.blas_expm(a, a, 0, 16)
        np.testing.assert_array_equal(batched, cpu)
        np.testing.assert_array_equal(batched_r, team_r)
    if n <= 12:
        threads_r, threads = hooks.team_expm(a, a, 0, 3)
        np.testing.assert_array_equal(threads, cpu)
        np.testing.assert_array_equal(threads_r, team_r)
    out = dx.expm(tf.constant(a)).numpy()
    eps = np.finfo(dtype).eps
    for i in range(len(a)):
        if not np.isfinite(out[i]).all():  # exp overflows (large nonnegative matrices)
            continue
        # Rounding differences of the products grow by up to 2 per squaring.
        s = max(int(cpu[i]) // 256, 0)
        assert rel1(team_r[i], out[i].astype(np.complex128 if np.iscomplexobj(out) else np.float64)) <= 20 * n * eps * 2.0 ** s, (i, cpu[i])


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_same_choice_with_estimated_norms(dtype):
    # Beyond kExpmExactPowerNormMaxN (32) the top degree's ||A^8||, ||A^10|| are Hager–Higham
    # estimates on every driver.
    n = 40
    a = np.ascontiguousarray(_families(n, dtype, seed=7)[::3])
    cpu, team, team_r = _choices(a)
    np.testing.assert_array_equal(team, cpu)
    batched_r, batched, _ = hooks.blas_expm(a, a, 0, 8)
    np.testing.assert_array_equal(batched, cpu)
    np.testing.assert_array_equal(batched_r, team_r)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_single_precision_top_degree_is_taylor_from_n9_on_every_driver(dtype):
    rng = np.random.default_rng(3)
    for n in (8, 9, 20):
        a = (3 * rng.standard_normal((4, n, n)) / np.sqrt(n)).astype(dtype)
        cpu, team, _ = _choices(a)
        want = 18 if n >= 9 else 7
        assert np.all(cpu % 256 == want) and np.all(team == cpu), (n, cpu, team)
        np.testing.assert_array_equal(hooks.blas_expm(a, a, 0, 4)[1], cpu)

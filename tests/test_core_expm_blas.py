"""The large-n expm path of the GPU (cc/core/expm_blas_driver.h + expm_blas_steps.h) on the CPU.

The test module's blas_expm(a, e, mode, chunk) runs the driver with a CPU backend whose products,
matrix-vector products and LU solves are small_expm.h's own routines, so the orchestration (rounds
of the replayed selection, groups by scheme, squaring prefixes, masking, chunks) must give results
bitwise equal to the team algorithm (team_expm, itself tested against SciPy and mpmath in
test_core_small_expm.py). Returns (results, choices, (products, host reads, lists)).
Modes: 0 exp(a), 1 (exp(a), L(a, e)), 2 L(a^H, e).
"""
import numpy as np
import pytest
import scipy.linalg as sla

from conftest import ALL_DTYPES, random_matrices, native_hooks, tol

hooks = native_hooks()


def _blas(a, e, mode, chunk):
    out, _, counts = hooks.blas_expm(a, e, mode, chunk)
    return out, counts


def _team(a, e, mode):
    return hooks.team_expm(a, e, mode, 1)[0]


def _flat(out):
    return list(out) if isinstance(out, tuple) else [out]


def _mixed_batch(n, dtype, scales, seed):
    a = random_matrices((len(scales), n, n), dtype, seed=seed)
    return (a * (np.asarray(scales)[:, None, None] / np.sqrt(n))).astype(dtype)


def _assert_same(got, ref):
    for x, y in zip(_flat(got), _flat(ref)):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


# Norms from 1e-3 (m = 3, no squaring) to 1e3 (top degree, ~10 squarings) in one batch: every
# degree group and several squaring prefixes at once.
SCALES = [1e-3, 0.02, 0.3, 1.0, 2.0, 8.0, 50.0, 1e3]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [3, 9, 17, 33, 40])
@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_bitwise_equal_to_team_algorithm(mode, n, dtype, chunk):
    a = _mixed_batch(n, dtype, SCALES, seed=n)
    e = random_matrices(a.shape, dtype, seed=100 + n)
    got, _ = _blas(a, e, mode, chunk)
    _assert_same(got, _team(a, e, mode))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_against_scipy(dtype):
    n = 20
    a = _mixed_batch(n, dtype, [0.01, 1.0, 6.0], seed=7)
    e = random_matrices(a.shape, dtype, seed=8)
    (r, l), _ = _blas(a, e, 1, 2)
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    for i in range(a.shape[0]):
        ref_r, ref_l = sla.expm_frechet(a[i].astype(wide), e[i].astype(wide))
        assert np.linalg.norm(r[i] - ref_r) <= 50 * tol(dtype) * np.linalg.norm(ref_r)
        assert np.linalg.norm(l[i] - ref_l) <= 50 * tol(dtype) * np.linalg.norm(ref_l)
    # The backward: <L(A^H, G), E> = <G, L(A, E)>.
    g = random_matrices(a.shape, dtype, seed=9)
    adj, _ = _blas(a, g, 2, 2)
    for i in range(a.shape[0]):
        lhs = np.vdot(adj[i].astype(wide), e[i].astype(wide))
        rhs = np.vdot(g[i].astype(wide), l[i].astype(wide))
        assert abs(lhs - rhs) <= 50 * tol(dtype) * np.linalg.norm(adj[i]) * np.linalg.norm(e[i])


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_triangular_recomputation(dtype):
    # Upper and lower triangular with a spread diagonal: s > 0, so the exact diagonal and
    # superdiagonal are put back after every squaring (AH2009 Code Fragment 2.1).
    n = 18
    a = random_matrices((2, n, n), dtype, seed=3)
    a[0] = np.triu(a[0]) + np.diag(np.linspace(-6, 6, n)).astype(dtype)
    a[1] = np.tril(a[1]) * 4
    e = random_matrices(a.shape, dtype, seed=4)
    for mode in (0, 1, 2):
        got, _ = _blas(a, e, mode, 2)
        _assert_same(got, _team(a, e, mode))
    r, _ = _blas(a, e, 0, 2)
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    ref = sla.expm(a[0].astype(wide))
    np.testing.assert_allclose(np.diag(r[0]), np.exp(np.diag(a[0]).astype(wide)), rtol=10 * tol(dtype))
    assert np.linalg.norm(r[0] - ref) <= 100 * tol(dtype) * np.linalg.norm(ref)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("mode", [0, 1, 2])
def test_nan_inf_masked_per_matrix(mode, dtype):
    n = 17
    a = _mixed_batch(n, dtype, [0.5, 3.0, 0.5, 30.0, 1.0], seed=5)
    e = random_matrices(a.shape, dtype, seed=6)
    a[1, 2, 3] = np.nan
    a[3, 0, 0] = np.inf
    e[4, 1, 1] = np.nan  # direction only: exp(a) computed, L all NaN
    got, _ = _blas(a, e, mode, 8)
    _assert_same(got, _team(a, e, mode))
    outs = _flat(got)
    for x in outs:
        assert np.isnan(x[[1, 3]].real).all()
        assert np.isfinite(x[[0, 2]]).all()
    if mode != 0:
        assert np.isnan(outs[-1][4].real).all()
    if mode == 1:
        assert np.isfinite(outs[0][4]).all()


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_overflowing_powers_are_formed_again(dtype):
    # Skew-Hermitian with a huge norm: the powers' norms overflow (float32's T_18: ||A^3||), so
    # the evaluation forms them again from the scaled A (expm_formed_powers). exp(A) is unitary,
    # but the ~200 squarings that ||A|| ~ 1e61 (1e14 in single precision) needs leave no digit
    # (||A|| u of error is inherent): only the agreement of the drivers is checked, and that the
    # choice is the top degree with those squarings on each.
    n = 17
    big = 1e13 if np.finfo(dtype).bits == 32 else 1e60
    x = random_matrices((2, n, n), dtype, seed=11)
    a = (big * (x - np.conj(np.swapaxes(x, -1, -2)))).astype(dtype)
    e = random_matrices(a.shape, dtype, seed=12)
    for mode in (0, 1, 2):
        got, _ = _blas(a, e, mode, 2)
        _assert_same(got, _team(a, e, mode))
    choice = hooks.blas_expm(a, e, 0, 2)[1]
    np.testing.assert_array_equal(choice, hooks.team_expm(a, e, 0, 1)[1])
    assert np.all(choice // 256 >= 40), choice


def test_products_per_matrix_not_batch_maximum():
    # Matrices that need fewer products get fewer: the products issued for a mixed batch are the
    # sum of those for each matrix alone (no batch-maximum degree or squaring count).
    n = 17
    for dtype in (np.float32, np.float64):
        a = _mixed_batch(n, dtype, SCALES, seed=21)
        e = random_matrices(a.shape, dtype, seed=22)
        for mode in (0, 1, 2):
            _, (products, reads, _) = _blas(a, e, mode, 64)
            alone = sum(_blas(a[i:i + 1], e[i:i + 1], mode, 64)[1][0] for i in range(a.shape[0]))
            assert products == alone
            # Host synchronisations per chunk (expm_blas_driver.h): one after kInit, one per round of
            # the selection (at most 12 requests on its longest path, Padé 13, plus the round that
            # finds none left), one per kEllBurst products of an ℓ search still running.
            assert reads <= 14 + 26 // 4
        _, (tiny_products, _, _) = _blas(_mixed_batch(n, dtype, [1e-3] * 4, seed=2), e[:4], 0, 64)
        assert tiny_products == 4 * 2  # A^2 and U = A W: degree 3, no squaring


def test_bad_arguments():
    a = np.zeros((2, 17, 17))
    with pytest.raises(ValueError, match="n >= 3"):
        _blas(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)), 0, 1)
    with pytest.raises(ValueError, match="chunk"):
        _blas(a, a, 0, 0)
    with pytest.raises(ValueError, match="same shape"):
        _blas(a, a[:1], 1, 1)

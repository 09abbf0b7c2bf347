"""The per-matrix templates of cc/core/small_lu.h that the CUDA kernels run, tested on the CPU.

The GPU kernels for n <= 8 instantiate lu_factor_small<N, T, /*kSelectSwap=*/true>,
slogdet_from_parity and inverse_from_lu_small<N>; the large-n path uses slogdet_from_lu. Here
the same instantiations (fixed N = 1..8, select swaps on and off, and the run-time-n variant)
are reached through the test module's lu hook (conftest.native_hooks) and checked against NumPy.
"""
import numpy as np
import pytest

from conftest import ALL_DTYPES, random_matrices, native_hooks, tol

hooks = native_hooks()

MODES = [
    pytest.param(True, True, id="fixedN-select"),
    pytest.param(True, False, id="fixedN-swap"),
    pytest.param(False, True, id="dynN-select"),
    pytest.param(False, False, id="dynN-swap"),
]


def _unpack(lu_t, perm):
    """L, U and P of the column-major factors: P B = L U with B = A^T."""
    f = np.swapaxes(lu_t, -1, -2)  # the column-major matrix, as a row-major array
    n = f.shape[-1]
    lower = np.tril(f, -1) + np.eye(n, dtype=f.dtype)
    upper = np.triu(f)
    return lower, upper


@pytest.mark.parametrize("fixed,select_swap", MODES)
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", list(range(1, 9)))
def test_factors_slogdet_inverse(n, dtype, fixed, select_swap):
    a = random_matrices((13, n, n), dtype, seed=n)
    lu, perm, parity, sign, lad, inv = hooks.lu(a, fixed, select_swap)
    b = np.swapaxes(a, -1, -2)
    lower, upper = _unpack(lu, perm)
    for i in range(a.shape[0]):
        np.testing.assert_allclose(b[i][perm[i]], lower[i] @ upper[i], rtol=0, atol=50 * tol(dtype))
        assert sorted(perm[i]) == list(range(n))
    ref_sign, ref_lad = np.linalg.slogdet(a.astype(np.complex128 if np.iscomplexobj(a) else np.float64))
    np.testing.assert_allclose(sign, ref_sign, rtol=tol(dtype), atol=tol(dtype))
    np.testing.assert_allclose(lad, ref_lad, rtol=tol(dtype), atol=10 * tol(dtype))
    np.testing.assert_allclose(inv, np.linalg.inv(a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)),
                               rtol=50 * tol(dtype), atol=50 * tol(dtype))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [1, 3, 5, 8])
def test_select_swap_identical_to_indexed_swap(n, dtype):
    a = random_matrices((17, n, n), dtype, seed=100 + n)
    ref = hooks.lu(a, True, False)
    for fixed in (True, False):
        got = hooks.lu(a, fixed, True)
        for x, y in zip(got, ref):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("fixed,select_swap", MODES)
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_edge_cases(dtype, fixed, select_swap):
    n = 4
    a = np.zeros((5, n, n), dtype)
    a[1] = np.outer(np.arange(1, n + 1), np.arange(1, n + 1))  # rank 1
    a[2] = random_matrices((n, n), dtype, seed=3)
    a[2][:, 2] = 0  # a zero column (row of B)
    a[3] = random_matrices((n, n), dtype, seed=4)
    a[3][1, 1] = np.nan
    a[4] = random_matrices((n, n), dtype, seed=5)
    a[4][0, 3] = np.inf
    _, _, _, sign, lad, _ = hooks.lu(a, fixed, select_swap)
    for i in range(3):
        assert sign[i] == 0 and lad[i] == -np.inf, i
    for i in (3, 4):
        assert np.isnan(lad[i]) and np.isnan(sign[i].real), i


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_permutation_sign_exact(dtype):
    # Permutation matrices: det = ±1 exactly, so sign and log|det| = 0 are exact.
    rng = np.random.default_rng(7)
    for n in range(1, 9):
        ps = np.stack([np.eye(n)[rng.permutation(n)] for _ in range(6)]).astype(dtype)
        for fixed in (True, False):
            _, _, _, sign, lad, _ = hooks.lu(ps, fixed, True)
            np.testing.assert_array_equal(sign, np.linalg.det(ps.real.astype(np.float64)).round().astype(dtype))
            np.testing.assert_array_equal(lad, 0)


@pytest.mark.parametrize("n", [9, 16, 24, 32])
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_dynamic_n_larger(n, dtype):
    a = random_matrices((4, n, n), dtype, seed=n)
    _, _, _, sign, lad, inv = hooks.lu(a, False, True)
    wide = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
    ref_sign, ref_lad = np.linalg.slogdet(wide)
    np.testing.assert_allclose(sign, ref_sign, rtol=10 * tol(dtype), atol=10 * tol(dtype))
    np.testing.assert_allclose(lad, ref_lad, rtol=10 * tol(dtype), atol=10 * tol(dtype))
    np.testing.assert_allclose(inv, np.linalg.inv(wide), rtol=1e3 * tol(dtype), atol=1e3 * tol(dtype))

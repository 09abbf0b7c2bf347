"""The lane-parallel CPU path of cc/core/batch_lu.h: W matrices per AVX register (8 float32 or 4
float64), with implicit pivoting. Batches of 19 run full groups and a tail padded with identity
matrices; the special matrices sit inside the groups, next to ordinary ones. References: LAPACK
(NumPy), xGETF2 itself (conftest.lapack_getf2) and the definition of the saved factors, P A^T = L U.
"""
import numpy as np
import pytest
import tensorflow as tf

import detexp as dx
from detexp import _slogdet

from conftest import REAL_DTYPES, lapack_getf2, lapack_getf2_slogdet, random_matrices, tol

# lanes: forward n <= 192 (row interchanges from n = 16 in float64, 22 in float32), inverse n <= 48
SIZES = list(range(1, 18)) + [20, 21, 22, 23, 24, 25, 33, 48, 49, 64, 65, 129, 192, 193]
BATCH = 19


def _with_special_matrices(n, dtype):
    a = random_matrices((BATCH, n, n), dtype, seed=n)
    special = {}
    if n >= 2:
        a[1, :, n - 1] = a[1, :, 0]; special[1] = "dup"       # exactly singular in any order
        a[2] = 0; special[2] = "zero"
        a[5, 0, 0] = np.nan; special[5] = "nan"
        a[6, n // 2, n - 1] = np.inf; special[6] = "inf"    # LAPACK's order (test_infinities.py)
        a[10, n - 1, :] = 0; special[10] = "zero-row"
    return a, special


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_groups_match_lapack_with_special_lanes(dtype, n):
    a, special = _with_special_matrices(n, dtype)
    sign, lad = (x.numpy() for x in dx.slogdet(a))
    ref_s, ref_l = np.linalg.slogdet(a.astype(np.float64))
    typical = np.median([ref_l[i] for i in range(BATCH) if i not in special])  # log|det| of its neighbours
    for i in range(BATCH):
        kind = special.get(i)
        if kind == "nan":
            assert np.isnan(sign[i]) and np.isnan(lad[i]), (i, sign[i], lad[i])
        elif kind == "inf":
            want_s, want_l = lapack_getf2_slogdet(a[i])
            np.testing.assert_array_equal([sign[i], lad[i]], np.array([want_s, want_l], dtype), err_msg=str(i))
        elif kind in ("zero", "zero-row"):
            assert sign[i] == 0 and lad[i] == -np.inf, (i, sign[i], lad[i])
        elif kind == "dup":
            assert sign[i] == 0 or lad[i] < typical + np.log(np.finfo(dtype).eps) * 0.5, (lad[i], typical)
        else:
            assert sign[i] == ref_s[i], i
            np.testing.assert_allclose(lad[i], ref_l[i], rtol=tol(dtype) * n, atol=tol(dtype) * n)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("n", [3, 8, 12, 16, 17, 30, 64, 70])
def test_forward_without_factors_matches_eager(dtype, n):
    # Eager execution keeps the factors (every output counts as required); a tf.function that no
    # tape watches, and dx.numpy, skip them and read only U's diagonal. Same elimination: the
    # answers must agree bit for bit, special lanes and the overflow redo included.
    a, _ = _with_special_matrices(n, dtype)
    a[7] *= np.finfo(dtype).max / 4  # the elimination overflows: the lane is redone on its own
    eager = [x.numpy() for x in dx.slogdet(a)]
    graph = [x.numpy() for x in tf.function(dx.slogdet)(tf.constant(a))]
    numpy = dx.numpy.slogdet(a)
    for other in (graph, numpy):
        for got, want in zip(other, eager):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_saved_factors_reconstruct_the_input(dtype, n):
    a = random_matrices((BATCH, n, n), dtype, seed=n + 100)
    _, _, lu, perm = (x.numpy() for x in _slogdet._slogdet_with_lu(tf.constant(a)))
    for i in range(BATCH):
        f = lu[i].T  # the column-major factors of B = A^T, as a row-major array
        lower = np.tril(f, -1) + np.eye(n)
        upper = np.triu(f)
        assert sorted(perm[i]) == list(range(n))
        b = a[i].T.astype(np.float64)
        np.testing.assert_allclose(lower @ upper, b[perm[i]], rtol=0, atol=50 * n * np.finfo(dtype).eps * np.abs(b).max())
        assert np.all(np.abs(np.tril(f, -1)) <= 1 + 1e-6)  # partial pivoting: |multipliers| <= 1


@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_backward_and_inverse_in_groups(dtype, n):
    a = random_matrices((BATCH, n, n), dtype, seed=n + 200) + 2 * np.eye(n, dtype=dtype)
    x = tf.constant(a)
    k = np.linspace(-2, 3, BATCH).astype(dtype)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(k * dx.logabsdet(x))
    grad = tape.gradient(y, x).numpy()
    inv = np.linalg.inv(a.astype(np.float64))
    scale = np.abs(inv).max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(grad / scale, k[:, None, None] * np.swapaxes(inv, 1, 2) / scale,
                               atol=tol(dtype) * n * 10)
    np.testing.assert_allclose(dx.inverse(x).numpy() / scale, inv / scale, atol=tol(dtype) * n * 10)


def test_overflowing_elimination_is_redone_per_matrix():
    # Wilkinson's growth matrix: partial pivoting doubles the last column at every step, so at
    # scale 1e38 the float32 elimination overflows. The lane path must then redo the matrix on
    # the per-matrix path, in a full group as in a batch of one (a padded group).
    n = 6
    w = np.eye(n, dtype=np.float32) - np.tril(np.ones((n, n), np.float32), -1)
    w[:, -1] = 1
    a = (w.T * np.float32(1e38))[None].repeat(8, axis=0)  # transposed: the kernels factor A^T
    a[3] = random_matrices((n, n), np.float32, seed=3)
    s8, l8 = (x.numpy() for x in dx.slogdet(a))
    s1, l1 = (x.numpy() for x in dx.slogdet(a[:1]))
    assert s8[0] == s1[0] and (l8[0] == l1[0] or (np.isnan(l8[0]) and np.isnan(l1[0])))
    assert not np.isnan(l8[0])
    ref_s, ref_l = np.linalg.slogdet(a[3].astype(np.float64))
    assert s8[3] == ref_s
    np.testing.assert_allclose(l8[3], ref_l, rtol=1e-5)


@pytest.mark.parametrize("batch", [1, BATCH])  # the per-matrix path and the lanes
@pytest.mark.parametrize("n", [3, 8, 12, 30, 60, 70])  # lanes to 64; 70: Eigen
def test_huge_pivots_keep_their_multipliers(batch, n):
    # Pivots near 1e38 have subnormal reciprocals, which TF's flush-to-zero threads make 0; the
    # elimination must divide instead of scaling by 1/pivot (a wrong finite answer otherwise).
    rng = np.random.default_rng(n)
    a = (np.eye(n) + 0.3 * rng.standard_normal((batch, n, n)) / np.sqrt(n)) * 1e38
    a = a.astype(np.float32)
    sign, lad = (x.numpy() for x in dx.slogdet(a))
    ref_s, ref_l = np.linalg.slogdet(a.astype(np.float64))
    np.testing.assert_array_equal(sign, ref_s)
    np.testing.assert_allclose(lad, ref_l, rtol=1e-5)


@pytest.mark.parametrize("dtype,n", [(np.float64, 16)] + [(d, n) for d in REAL_DTYPES for n in (22, 33, 64, 130, 192)])
def test_row_interchange_path_gives_xgetf2s_factors_bit_for_bit(dtype, n):
    # From n = 16 (float64) / 22 (float32) the lanes interchange rows as xGETF2 does, with the same
    # multiply and subtract per entry: the same pivots, ties included (small integers tie all the
    # time), and the same bits. (Below, implicit pivoting breaks ties by the original row order.)
    rng = np.random.default_rng(n)
    a = rng.integers(-2, 3, size=(BATCH, n, n)).astype(dtype)
    a[4:] = random_matrices((BATCH - 4, n, n), dtype, seed=n)
    _, _, lu, perm = (x.numpy() for x in _slogdet._slogdet_with_lu(tf.constant(a)))
    for i in range(BATCH):
        want_lu, want_perm, _ = lapack_getf2(a[i].T)  # the kernels factor B = A^T
        np.testing.assert_array_equal(perm[i], want_perm, err_msg=str(i))
        np.testing.assert_array_equal(lu[i].T, want_lu, err_msg=str(i))

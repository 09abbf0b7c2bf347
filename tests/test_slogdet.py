"""Forward values of the log-determinant family against numpy.linalg (LAPACK) and closed forms."""
import re

import mpmath
import numpy as np
import pytest
import tensorflow as tf

import detexp as dx
from conftest import ALL_DTYPES, COMPLEX_DTYPES, REAL_DTYPES, random_matrices, tol

SIZES = [1, 2, 3, 4, 5, 8, 9, 16, 24, 25, 32, 40, 41, 64, 96, 128, 129]  # 25..40: right-looking LU (lu.h)
# (real: lanes up to 128, in panels from 32; Eigen beyond)


def _reference(a):
    s, l = np.linalg.slogdet(a.astype(np.complex128 if np.iscomplexobj(a) else np.float64))
    return s, l


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_slogdet_matches_lapack(dtype, n):
    a = random_matrices((3, n, n), dtype, seed=n)
    sign, lad = dx.slogdet(a)
    ref_s, ref_l = _reference(a)
    assert sign.dtype == dtype and lad.dtype == np.dtype(dtype).type(0).real.dtype
    np.testing.assert_allclose(lad.numpy(), ref_l, rtol=tol(dtype) * n, atol=tol(dtype) * n)
    np.testing.assert_allclose(sign.numpy(), ref_s, rtol=tol(dtype) * n, atol=tol(dtype) * n)


@pytest.mark.parametrize("batch_shape", [(), (1,), (4,), (2, 3), (2, 1, 3)])
def test_batch_shapes(batch_shape):
    a = random_matrices(batch_shape + (4, 4), np.float64, seed=1)
    sign, lad = dx.slogdet(a)
    assert sign.shape == batch_shape and lad.shape == batch_shape
    ref_s, ref_l = _reference(a)
    np.testing.assert_allclose(lad, ref_l, rtol=1e-12)
    np.testing.assert_array_equal(sign, ref_s)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_logdet_det_logabsdet(dtype):
    a = random_matrices((6, 5, 5), dtype, seed=7)
    ref_s, ref_l = _reference(a)
    ref_det = ref_s * np.exp(ref_l)
    np.testing.assert_allclose(dx.det(a), ref_det, rtol=tol(dtype) * 10)
    np.testing.assert_allclose(dx.logabsdet(a), ref_l, rtol=tol(dtype) * 10, atol=tol(dtype))
    logdet = dx.logdet(a).numpy()
    if np.iscomplexobj(a):
        np.testing.assert_allclose(logdet, np.log(ref_det), rtol=tol(dtype) * 10, atol=tol(dtype) * 10)
    else:
        expected = np.where(ref_s > 0, ref_l, np.nan)
        np.testing.assert_allclose(logdet, expected, rtol=tol(dtype) * 10)
        assert np.isnan(logdet[ref_s < 0]).all() and (ref_s < 0).any()


def test_logdet_of_scaled_identity_closed_form():
    # log det(10 I_500) = 500 log 10.
    assert dx.logdet(10.0 * np.eye(500)).numpy() == pytest.approx(1151.2925464970251, rel=1e-14)


def test_overflowing_determinant_nonsymmetric():
    # det overflows float64 (log|det| ~ 2600 > 709) but slogdet stays exact.
    a = 1e3 * random_matrices((300, 300), np.float64, seed=3)
    ref_s, ref_l = np.linalg.slogdet(a)
    sign, lad = dx.slogdet(a)
    assert ref_l > 1000
    assert lad.numpy() == pytest.approx(ref_l, rel=1e-13)
    assert sign.numpy() == ref_s
    assert np.isinf(dx.det(a).numpy())


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [2, 3, 4, 7, 12, 30, 33, 41])
def test_singular_matrices_give_ieee_answers(dtype, n):
    rng = np.random.default_rng(n)
    rank_deficient = random_matrices((n, n), dtype, seed=n)
    rank_deficient[:, -1] = rank_deficient[:, 0]  # exact duplicate column
    zero_col = random_matrices((n, n), dtype, seed=n + 1)
    zero_col[:, rng.integers(n)] = 0
    zero_row = random_matrices((n, n), dtype, seed=n + 2)
    zero_row[rng.integers(n), :] = 0
    a = np.stack([rank_deficient.T, zero_col, zero_row, np.zeros((n, n), dtype)])
    sign, lad = dx.slogdet(a)
    sign_np, lad_np = dx.numpy.slogdet(a)
    for s, l in ((sign.numpy(), lad.numpy()), (sign_np, lad_np)):
        np.testing.assert_array_equal(s[1:], 0)
        np.testing.assert_array_equal(l[1:], -np.inf)
    # Singular in exact arithmetic: det is 0 or rounding-sized relative to Hadamard's bound.
    hadamard = np.sum(np.log(np.linalg.norm(rank_deficient, axis=0)))
    eps = np.finfo(dtype).eps
    assert lad.numpy()[0] == -np.inf or lad.numpy()[0] < hadamard + np.log(100 * n * eps)
    np.testing.assert_array_equal(dx.det(a[1:]).numpy(), 0)
    np.testing.assert_array_equal(dx.numpy.det(a[1:]), 0)
    logdet = dx.logdet(a[1:]).numpy()
    assert np.all(np.real(logdet) == -np.inf)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [1, 3, 4, 9, 30, 45])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_gives_nan(dtype, n, bad):
    if np.isinf(bad) and not np.iscomplexobj(np.zeros((), dtype)):
        pytest.skip("real ±Inf gives LAPACK's answer: tests/test_infinities.py")
    a = random_matrices((3, n, n), dtype, seed=2)
    a[0, 0, n - 1] = bad
    a[1] = 0
    a[1, n // 2, 0] = bad  # a NaN that a zero pivot column would otherwise skip
    for sign, lad in (dx.slogdet(a), dx.numpy.slogdet(a)):
        sign, lad = np.asarray(sign), np.asarray(lad)
        assert np.isnan(lad[:2]).all() and np.isnan(sign[:2]).all()
        ref_s, ref_l = _reference(a[2:])
        np.testing.assert_allclose(lad[2:], ref_l, rtol=tol(dtype) * 10)
    assert np.isnan(dx.det(a).numpy()[:2]).all()


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_empty_batch_and_empty_matrix(dtype):
    sign, lad = dx.slogdet(np.zeros((0, 3, 3), dtype))
    assert sign.shape == (0,) and lad.shape == (0,)
    sign, lad = dx.slogdet(np.zeros((2, 0, 0), dtype))
    np.testing.assert_array_equal(sign, 1)
    np.testing.assert_array_equal(lad, 0)
    np.testing.assert_array_equal(dx.det(np.zeros((2, 0, 0), dtype)), 1)
    np.testing.assert_array_equal(dx.numpy.det(np.zeros((2, 0, 0), dtype)), 1)
    assert dx.numpy.slogdet(np.zeros((0, 3, 3), dtype))[0].shape == (0,)


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
def test_half_precision_is_computed_in_float32(dtype):
    a = random_matrices((4, 3, 3), np.float32, seed=5) + 3 * np.eye(3, dtype=np.float32)
    sign, lad = dx.slogdet(tf.cast(a, dtype))
    assert sign.dtype == dtype and lad.dtype == dtype
    ref_s, ref_l = _reference(tf.cast(tf.cast(a, dtype), tf.float32).numpy())
    np.testing.assert_allclose(tf.cast(lad, tf.float32), ref_l, rtol=1e-2)
    assert dx.det(tf.cast(a, dtype)).dtype == dtype


@pytest.mark.parametrize("fn", [dx.slogdet, dx.logdet, dx.det, dx.logabsdet, dx.numpy.slogdet, dx.numpy.det])
@pytest.mark.parametrize("shape", [(3,), (), (2, 3), (4, 2, 3)])
def test_bad_shapes_raise_value_error_naming_the_shape(fn, shape):
    with pytest.raises(ValueError, match=r"(square|rank|two-dimensional).*" + re.escape(str(shape))):
        fn(np.ones(shape, np.float32))


def test_bad_shape_at_run_time_is_invalid_argument():
    f = tf.function(lambda a: dx.slogdet(a), input_signature=[tf.TensorSpec(None, tf.float32)])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"square.*\[2,3\]"):
        f(tf.ones([2, 3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"rank >= 2"):
        f(tf.ones([3]))


def test_integer_input_is_rejected_with_type_error():
    with pytest.raises(TypeError, match="int32"):
        dx.slogdet(tf.ones([2, 2], tf.int32))


def test_static_shapes_flow_through_tf_function():
    seen = {}

    @tf.function(input_signature=[tf.TensorSpec([None, 5, 5], tf.float64)])
    def f(a):
        sign, lad = dx.slogdet(a)
        seen["shapes"] = (sign.shape, lad.shape, dx.det(a).shape)
        return lad

    a = random_matrices((7, 5, 5), np.float64)
    np.testing.assert_allclose(f(a), _reference(a)[1], rtol=1e-12)
    assert all(s.as_list() == [None] for s in seen["shapes"])


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [6, 20, 30])  # Jacobi SVD up to 16, divide and conquer beyond
def test_inverse_and_adjugate_closed_forms(dtype, n):
    a = random_matrices((3, n, n), dtype, seed=11) + 2 * n**0.5 * np.eye(n, dtype=dtype)
    inv = dx.inverse(a).numpy()
    np.testing.assert_allclose(inv, np.linalg.inv(a), rtol=tol(dtype) * 100, atol=tol(dtype) * 100)
    adj = dx.adjugate(a).numpy()
    det = np.linalg.det(a.astype(np.complex128))
    np.testing.assert_allclose(adj, det[:, None, None] * np.linalg.inv(a), rtol=tol(dtype) * 100 * n,
                               atol=tol(dtype) * 100 * n * np.abs(adj).max())


def _adjugate_by_cofactors(a):
    n = a.shape[-1]
    adj = np.zeros_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, j, axis=0), i, axis=1)
            adj[i, j] = (-1) ** (i + j) * np.linalg.det(minor)
    return adj


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("rank", [5, 4, 3, 0])
def test_adjugate_at_singular_matrices_matches_cofactors(dtype, rank):
    n = 5
    u, v = random_matrices((n, rank), dtype, seed=rank), random_matrices((rank, n), dtype, seed=rank + 9)
    a = (u @ v).astype(dtype) if rank else np.zeros((n, n), dtype)
    expected = _adjugate_by_cofactors(a.astype(np.complex128 if np.iscomplexobj(a) else np.float64))
    scale = max(1.0, np.abs(expected).max())
    for adj in (dx.adjugate(a).numpy(), dx.numpy.adjugate(a)):
        np.testing.assert_allclose(adj, expected, atol=tol(dtype) * 100 * scale * n)
    if rank <= n - 2:
        assert np.abs(expected).max() < 1e3 * np.finfo(dtype).eps * max(1, np.abs(a).max()) ** (n - 1)


def test_backward_ops_reject_mismatched_factors():
    ops = dx._slogdet._ops
    a = tf.constant(random_matrices((2, 3, 3), np.float64))
    _, _, lu, perm = ops.detexp_slogdet(a, Treal=tf.float64)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"perm must have shape \[2,3\]"):
        ops.detexp_inverse_from_lu(lu, perm[:1], a)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"k shape \[2\]"):
        ops.detexp_slogdet_backward(lu, perm, a, tf.ones([3], tf.float64))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [3, 4, 8, 16, 40, 64, 128, 200])
def test_logabsdet_of_an_exact_product_is_the_rounded_log(dtype, n):
    """Diagonal matrices whose |det| is exactly representable as 3^k 2^E (E far beyond the
    exponent range): LU leaves the diagonal as it is, so log|det| is a single logarithm of a
    scaled product, which cc/core/log_scaled.h takes to within 0.55 ulp (float32 in float64,
    rounded once); log(m) + E ln 2 would round twice."""
    rng = np.random.default_rng(n)
    real = np.dtype(dtype).type(0).real.dtype
    span = 300 if real == np.float64 else 40
    exps = rng.integers(-span, span, size=(5, n))
    exps[1] = span - 1  # |det| = 2^((span - 1) n): far above the range, rescaled on the way
    exps[2] = -span
    threes = rng.random((5, n)) < min(1.0, 20.0 / n)  # at most ~20 factors of 3: exact in 53 bits
    if real == np.float32:
        threes &= np.cumsum(threes, axis=1) <= 10  # 3^10 < 2^24
    mags = np.ldexp(np.where(threes, 3.0, 1.0), exps)
    signs = np.where(rng.random((5, n)) < 0.5, -1.0, 1.0)
    a = np.zeros((5, n, n), dtype)
    a[:, np.arange(n), np.arange(n)] = (signs * mags).astype(dtype)
    sign, lad = dx.numpy.slogdet(a)
    for b in range(5):
        with mpmath.workdps(40):
            exact = mpmath.log(mpmath.mpf(3) ** int(threes[b].sum())) + int(exps[b].sum()) * mpmath.log(2)
            ulp = float(np.spacing(real.type(abs(float(exact)))))
            err = abs(mpmath.mpf(float(lad[b])) - exact) / ulp
        assert err <= 0.55, (b, float(lad[b]), float(exact), float(err))
        assert sign[b] == np.prod(signs[b])


@pytest.mark.parametrize("n", [3, 8, 16, 30, 64, 200])
def test_complex64_sign_is_the_rounded_product_of_the_phases(n):
    """Diagonal complex64 matrices: LU leaves the diagonal as it is, so the sign is the product of
    the entries' phases, which the kernels keep in double and round once (in single precision it
    drifted by a few ulps, failing NumPy's TestDet on a tiled complex64 matrix)."""
    dtype = np.complex64
    rng = np.random.default_rng(n)
    d = (rng.standard_normal((6, n)) + 1j * rng.standard_normal((6, n))).astype(dtype)
    a = np.zeros((6, n, n), dtype)
    a[:, np.arange(n), np.arange(n)] = d
    sign, _ = dx.numpy.slogdet(a)
    with mpmath.workdps(40):
        for b in range(6):
            exact = mpmath.fprod(mpmath.mpc(complex(z)) / abs(mpmath.mpc(complex(z))) for z in d[b])
            eps = np.finfo(np.float32).eps
            err = abs(mpmath.mpc(complex(sign[b])) - exact)
            assert err <= eps, (b, complex(sign[b]), complex(exact), float(err) / eps)

"""det/slogdet of real matrices with ±Inf entries: LAPACK's elimination order (xGETF2 on a itself,
what tf.linalg.det gives), the same on every CPU path (the lanes up to n = 64, the per-matrix
factorizations beyond, graph and eager) and in dx.numpy; NaN in still gives NaN; complex input
with Inf gives NaN."""
import numpy as np
import pytest
import tensorflow as tf

import detexp as dx
from conftest import REAL_DTYPES, lapack_getf2_slogdet

# TensorFlow's determinant_op_test.py (testInfAndNans): matrix, expected det.
_M5 = np.array([[0, 3, 4, 5, 6], [3, 4, 9, 2, 0], [2, 5, 8, 3, 8], [1, 6, 7, 4, 7], [2, 3, 4, 5, 6]], float)
TF_CASES = [
    ([[np.inf, 1], [1, 1]], np.inf),
    ([[np.inf, np.inf], [1, 1]], np.nan),
    ([[np.inf, -np.inf], [1, 1]], np.nan),
    ([[np.nan, 1], [1, 1]], np.nan),
    (np.where(np.arange(25).reshape(5, 5) == 0, np.inf, _M5), -np.inf),
    (np.where(np.arange(25).reshape(5, 5) == 0, np.nan, _M5), np.nan),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("case", range(len(TF_CASES)))
def test_tensorflow_determinant_test_cases(case, dtype):
    m, expected = TF_CASES[case]
    a = np.array(m, dtype=dtype)
    det = dx.det(tf.constant(a)).numpy()
    sign, lad = (x.numpy() for x in dx.slogdet(tf.constant(a)))
    with np.errstate(all="ignore"):
        from_slogdet = sign * np.exp(lad)
    for got in (det, from_slogdet, dx.numpy.det(a)):
        if np.isnan(expected):
            assert np.isnan(got), (m, got)
        else:
            assert got == expected, (m, got)
    np.testing.assert_array_equal(tf.linalg.det(a).numpy(), det)


def _with_infinities(n, dtype, seed, batch=13):
    rng = np.random.default_rng(seed)
    a = rng.integers(-3, 4, (batch, n, n)).astype(dtype) + np.eye(n, dtype=dtype) * 4
    for b in range(batch):
        for _ in range(1 + b % 3):
            a[b, rng.integers(n), rng.integers(n)] = rng.choice([np.inf, -np.inf])
    return a


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("n", [2, 3, 5, 8, 9, 16, 17, 24, 25, 40, 41, 64, 65, 100])
def test_every_path_gives_lapacks_answer(n, dtype):
    a = _with_infinities(n, dtype, seed=n)
    sign, lad = (x.numpy() for x in dx.slogdet(tf.constant(a)))          # eager: factors kept
    g_sign, g_lad = (x.numpy() for x in tf.function(dx.slogdet)(tf.constant(a)))  # graph: without
    n_sign, n_lad = dx.numpy.slogdet(a)
    for other in ((g_sign, g_lad), (n_sign, n_lad)):
        np.testing.assert_array_equal(other[0], sign)
        np.testing.assert_array_equal(other[1], lad)
    for i, m in enumerate(a):
        ref_s, ref_l = lapack_getf2_slogdet(m)
        assert (np.isnan(sign[i]) and np.isnan(ref_s)) or sign[i] == ref_s, (i, sign[i], ref_s)
        if np.isfinite(ref_l):
            np.testing.assert_allclose(lad[i], ref_l, rtol=1e-5)
        else:
            assert (np.isnan(lad[i]) and np.isnan(ref_l)) or lad[i] == ref_l, (i, lad[i], ref_l)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", REAL_DTYPES)
def test_nan_wins_over_inf_and_complex_inf_is_nan(dtype):
    a = np.eye(4, dtype=dtype)
    a[0, 0], a[2, 3] = np.inf, np.nan
    sign, lad = (x.numpy() for x in dx.slogdet(tf.constant(a[None].repeat(9, axis=0))))
    assert np.isnan(sign).all() and np.isnan(lad).all()
    c = np.eye(3, dtype=np.complex128)
    c[0, 0] = np.inf
    sign, lad = dx.numpy.slogdet(c)
    assert np.isnan(sign) and np.isnan(lad)
    big = np.eye(3, dtype=dtype) * np.finfo(dtype).max  # finite: det overflows, not an Inf input
    assert dx.numpy.slogdet(big).sign == 1 and np.isfinite(dx.numpy.slogdet(big).logabsdet)

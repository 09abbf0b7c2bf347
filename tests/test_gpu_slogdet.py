"""The log-determinant family on the GPU against the CPU path and NumPy references.

Skipped cleanly without a GPU, or when the loaded op library was built without the CUDA kernels
(DETEXP_CUDA=1). Run the standalone kernel test (cuda/README.md) first on a GPU machine.
"""
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import kernels

import detexp as dx

from conftest import ALL_DTYPES, random_matrices, tol

OPS = ["Detexp>Slogdet", "Detexp>InverseFromLu", "Detexp>Adjugate"]


def _has_gpu_kernels():
    for op in OPS:
        if not any(k.device_type == "GPU" for k in kernels.get_registered_kernels_for_op(op).kernel):
            return False
    return True


pytestmark = [
    pytest.mark.skipif(not tf.config.list_physical_devices("GPU"), reason="no GPU visible to TensorFlow"),
    pytest.mark.skipif(not _has_gpu_kernels(), reason="op library built without CUDA kernels (DETEXP_CUDA=1)"),
]

SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 130]


def _on(device, fn, *args):
    with tf.device(device):
        return fn(*[tf.identity(a) for a in args])


def _close(x, y, dtype, scale=1.0):
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == y.shape
    np.testing.assert_allclose(x, y, rtol=scale * tol(dtype), atol=scale * tol(dtype))


def _edge_batch(n, dtype):
    a = random_matrices((6, n, n), dtype, seed=n)
    if n >= 2:
        a[1] = 0
        a[2][:, 1] = a[2][:, 0]  # rank n-1
        a[3][n // 2, n // 2] = np.nan
        a[4][0, -1] = np.inf
        a[5] = np.eye(n, dtype=dtype)[np.roll(np.arange(n), 1)]
    return a


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_slogdet_gpu_matches_cpu_and_numpy(n, dtype):
    a = random_matrices((2, 3, n, n), dtype, seed=n)
    g_sign, g_lad = _on("/GPU:0", dx.slogdet, a)
    assert "GPU" in g_sign.device and "GPU" in g_lad.device
    c_sign, c_lad = _on("/CPU:0", dx.slogdet, a)
    scale = max(1, n / 8)
    _close(g_sign, c_sign, dtype, scale)
    _close(g_lad, c_lad, dtype, 10 * scale)
    wide = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
    r_sign, r_lad = np.linalg.slogdet(wide) if n else (np.ones(a.shape[:-2]), np.zeros(a.shape[:-2]))
    _close(g_sign, r_sign, dtype, scale)
    _close(g_lad, r_lad, dtype, 10 * scale)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [2, 3, 4, 8, 9, 16, 32, 33, 64])
def test_singular_nan_inf_classification_identical(n, dtype):
    a = _edge_batch(n, dtype)
    g_sign, g_lad = (x.numpy() for x in _on("/GPU:0", dx.slogdet, a))
    c_sign, c_lad = (x.numpy() for x in _on("/CPU:0", dx.slogdet, a))
    np.testing.assert_array_equal(np.isnan(g_lad), np.isnan(c_lad))
    np.testing.assert_array_equal(np.isneginf(g_lad), np.isneginf(c_lad))
    np.testing.assert_array_equal(g_sign == 0, c_sign == 0)
    assert np.isneginf(g_lad[1]) and g_sign[1] == 0
    assert np.isnan(g_lad[3])
    # ±Inf: NaN for complex; for real input the shared slogdet_with_infinities (LAPACK's order).
    if np.iscomplexobj(a):
        assert np.isnan(g_lad[4])
    else:
        assert g_sign[4] == c_sign[4] and (g_lad[4] == c_lad[4] or np.isnan(c_lad[4]) == np.isnan(g_lad[4]))
    ok = np.isfinite(c_lad)
    _close(g_lad[ok], c_lad[ok], dtype, 10 * max(1, n / 8))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(0, 4, 4), (0, 40, 40), (3, 0, 0), (0, 0, 0)])
def test_empty(shape, dtype):
    a = np.zeros(shape, dtype)
    sign, lad = _on("/GPU:0", dx.slogdet, a)
    assert sign.shape == shape[:-2] and lad.shape == shape[:-2]
    if shape[0]:
        np.testing.assert_array_equal(sign.numpy(), 1)
        np.testing.assert_array_equal(lad.numpy(), 0)
    assert _on("/GPU:0", dx.adjugate, a).shape == shape
    assert _on("/GPU:0", dx.inverse, a).shape == shape


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 8, 9, 16, 32, 33, 64])
def test_inverse_and_adjugate_gpu(n, dtype):
    a = random_matrices((5, n, n), dtype, seed=n + 1)
    wide = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
    scale = 10 * max(1, n / 4)
    _close(_on("/GPU:0", dx.inverse, a), np.linalg.inv(wide), dtype, 10 * scale)
    adj_ref = np.linalg.det(wide)[:, None, None] * np.linalg.inv(wide)
    _close(_on("/GPU:0", dx.adjugate, a), _on("/CPU:0", dx.adjugate, a), dtype, scale * np.abs(adj_ref).max())
    _close(_on("/GPU:0", dx.adjugate, a), adj_ref, dtype, scale * np.abs(adj_ref).max())


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [2, 3, 5, 9, 33])
def test_adjugate_exact_at_singular(n, dtype):
    a = _edge_batch(n, dtype)[:3]  # random, zero, rank n-1
    g = _on("/GPU:0", dx.adjugate, a).numpy()
    c = _on("/CPU:0", dx.adjugate, a).numpy()
    assert np.all(np.isfinite(g))
    _close(g, c, dtype, 10 * max(1, n / 4) * max(1.0, np.abs(c).max()))
    if n > 2:
        np.testing.assert_array_equal(g[1], 0)  # rank 0 <= n-2: exactly zero
    assert np.abs(g[2]).max() > 0  # rank n-1: nonzero


def _grads(device, fn, a):
    with tf.device(device):
        x = tf.identity(a)
        with tf.GradientTape() as t:
            t.watch(x)
            y = tf.reduce_sum(tf.math.real(fn(x)) if x.dtype.is_complex else fn(x))
        return t.gradient(y, x)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [1, 3, 4, 8, 12, 32, 40])
@pytest.mark.parametrize("fn", ["logabsdet", "det", "logdet_abs", "inverse", "sign"])
def test_gradients_gpu_match_cpu(fn, n, dtype):
    a = random_matrices((3, n, n), dtype, seed=2 * n)
    a = a + n * np.eye(n, dtype=dtype)  # keep det away from 0 and logdet real-defined
    f = {
        "logabsdet": dx.logabsdet,
        "det": dx.det,
        "logdet_abs": lambda x: dx.slogdet(x)[1],
        "inverse": dx.inverse,
        "sign": lambda x: dx.slogdet(x)[0],
    }[fn]
    g = _grads("/GPU:0", f, a)
    c = _grads("/CPU:0", f, a)
    _close(g, c, dtype, 10 * max(1, n / 4) * max(1.0, float(np.abs(c.numpy()).max())))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("n", [3, 9, 33])
def test_second_order_gpu_match_cpu(n, dtype):
    a = random_matrices((2, n, n), dtype, seed=3 * n) + n * np.eye(n, dtype=dtype)

    def hess_vec(device):
        with tf.device(device):
            x = tf.identity(a)
            v = tf.constant(random_matrices((2, n, n), dtype, seed=9))
            with tf.GradientTape() as outer:
                outer.watch(x)
                with tf.GradientTape() as inner:
                    inner.watch(x)
                    y = tf.reduce_sum(dx.logabsdet(x)) + tf.reduce_sum(tf.math.real(dx.det(x)))
                g = inner.gradient(y, x)
                gv = tf.reduce_sum(tf.math.real(g * tf.math.conj(v)))
            return outer.gradient(gv, x)

    g, c = hess_vec("/GPU:0"), hess_vec("/CPU:0")
    _close(g, c, dtype, 100 * n * max(1.0, float(np.abs(c.numpy()).max())))


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_det_gradient_at_singular_on_gpu_is_adjugate(dtype):
    n = 4
    a = random_matrices((n, n), dtype, seed=5)
    a[:, 2] = a[:, 0] + a[:, 1]  # rank n-1
    g = _grads("/GPU:0", dx.det, a[None])
    c = _grads("/CPU:0", dx.det, a[None])
    assert np.all(np.isfinite(g.numpy()))
    _close(g, c, dtype, 100 * max(1.0, float(np.abs(c.numpy()).max())))


@pytest.mark.parametrize("n,batch", [(4, 300_000), (8, 70_000), (20, 20_000), (64, 300)])
def test_large_batches_split_consistently(n, batch):
    a = random_matrices((batch, n, n), np.float32, seed=1)
    g_sign, g_lad = _on("/GPU:0", dx.slogdet, a)
    c_sign, c_lad = _on("/CPU:0", dx.slogdet, a)
    np.testing.assert_array_equal(g_sign.numpy() == 0, c_sign.numpy() == 0)
    _close(g_lad, c_lad, np.float32, 10 * max(1, n / 8))

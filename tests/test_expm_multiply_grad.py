"""Gradients of dx.expm_multiply with respect to a, b and t: against the dx.expm route
(dx.expm(t a) @ b, whose gradient is expm's adjoint Fréchet derivative), central differences,
second order (Hessian-vector products, tf.hessians), jacobians with pfor, on the special paths
(a = 0, t = 0, the dense route, many steps with checkpoints)."""
import numpy as np
import pytest
import tensorflow as tf

import detexp as dx
from conftest import ALL_DTYPES, random_matrices

_ops = dx._expm_multiply._ops


def _is_single(dtype):
    return np.dtype(dtype) in (np.float32, np.complex64)


def _grads(fn, a, b, t, w):
    a, b, t, w = (tf.constant(x) for x in (a, b, t, w))
    with tf.GradientTape() as tape:
        tape.watch([a, b, t])
        y = tf.math.real(tf.reduce_sum(tf.math.conj(w) * fn(a, b, t)))
    return [g.numpy() for g in tape.gradient(y, [a, b, t])]


def _route_expm(a, b, t):
    return dx.expm(t[..., None, None] * a) @ b


def _route_multiply(a, b, t):
    return dx.expm_multiply(a, b, t)


def _close(x, ref, rtol):
    scale = max(np.abs(ref).max(), 1e-300)
    assert np.abs(x - ref).max() <= rtol * scale, (np.abs(x - ref).max() / scale, rtol)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n,k", [(1, 2), (4, 1), (12, 3), (70, 2)])
def test_gradients_against_expm_route(dtype, n, k):
    a = random_matrices((2, n, n), dtype, seed=n) * float(2.0 / np.sqrt(n))
    b = random_matrices((2, n, k), dtype, seed=n + 1)
    w = random_matrices((2, n, k), dtype, seed=n + 2)
    real = np.float32 if _is_single(dtype) else np.float64
    t = np.array([0.7, -1.3], dtype=real).astype(dtype)
    got = _grads(_route_multiply, a, b, t, w)
    ref = _grads(_route_expm, a, b, t, w)
    rtol = 3e-4 if _is_single(dtype) else 1e-11
    for x, r in zip(got, ref):
        assert x.dtype == r.dtype and x.shape == r.shape
        _close(x, r, rtol)


def test_central_differences_float64():
    rng = np.random.default_rng(0)
    n, k = 9, 2
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, k))
    t, w = 0.8, rng.standard_normal((n, k))
    da, db, dt = rng.standard_normal((n, n)), rng.standard_normal((n, k)), 0.3
    ga, gb, gt = _grads(_route_multiply, a, b, np.float64(t), w)
    h = 1e-5

    def phi(s):
        return np.sum(w * dx.numpy.expm_multiply(a + s * da, b + s * db, t + s * dt))

    fd = (phi(h) - phi(-h)) / (2 * h)
    assert abs(fd - (np.sum(ga * da) + np.sum(gb * db) + gt * dt)) < 1e-7 * abs(fd)


def test_gradient_at_zero_matrix_and_zero_t():
    # a = 0: ||t a|| = 0 takes m = 1 (not AH2011's m = 0), whose derivative is the true one:
    # d/da <w, exp(t a) b> at a = 0 is t w b^T. t = 0: d/dt = <w, a b>.
    rng = np.random.default_rng(1)
    b, w = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    ga, gb, gt = _grads(_route_multiply, np.zeros((5, 5)), b, np.float64(0.5), w)
    np.testing.assert_allclose(ga, 0.5 * w @ b.T, rtol=1e-13)  # the sum w b^T in another order
    np.testing.assert_allclose(gb, w, rtol=1e-15)
    a = rng.standard_normal((5, 5))
    ga, gb, gt = _grads(_route_multiply, a, b, np.float64(0.0), w)
    np.testing.assert_allclose(gt, np.sum(w * (a @ b)), rtol=1e-13)
    np.testing.assert_array_equal(ga, np.zeros((5, 5)))
    np.testing.assert_array_equal(gb, w)


def test_many_steps_with_checkpoints():
    # A skew 64 x 64 with spectral radius ~300: s > 16 Taylor steps, so the backward keeps every
    # ceil(sqrt(s))-th F and recomputes segments.
    rng = np.random.default_rng(2)
    s = rng.standard_normal((64, 64))
    a = (s - s.T) * (300.0 / np.abs(np.linalg.eigvals(s - s.T)).max())
    b, w = rng.standard_normal((64, 1)), rng.standard_normal((64, 1))
    _, code = _ops.detexp_expm_multiply(a, b, tf.constant(1.0, tf.float64))
    assert int(code) != 63 and int(code) // 64 > 16, int(code)
    got = _grads(_route_multiply, a, b, np.float64(1.0), w)
    ref = _grads(_route_expm, a, b, np.float64(1.0), w)
    for x, r in zip(got, ref):
        _close(x, r, 1e-9)  # condition ~ ||a|| = 300


def test_dense_route_gradients():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((6, 6)) * 200
    a = (a - a.T) / 2
    b, w = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    _, code = _ops.detexp_expm_multiply(a, b, tf.constant(1.0, tf.float64))
    assert int(code) == 63
    got = _grads(_route_multiply, a, b, np.float64(1.0), w)
    ref = _grads(_route_expm, a, b, np.float64(1.0), w)
    for x, r in zip(got, ref):
        _close(x, r, 1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_second_order_against_expm_route(dtype):
    rng = np.random.default_rng(4)
    n, k = 5, 2
    a = random_matrices((n, n), dtype, seed=5) * 0.5
    b = random_matrices((n, k), dtype, seed=6)
    w = random_matrices((n, k), dtype, seed=7)
    v = [random_matrices(x.shape, dtype, seed=8 + i) for i, x in enumerate((a, b))]
    t = np.array(0.9, dtype=dtype)

    def hvp(fn):
        xs = [tf.constant(a), tf.constant(b), tf.constant(t)]
        with tf.GradientTape() as outer:
            outer.watch(xs)
            with tf.GradientTape() as inner:
                inner.watch(xs)
                y = tf.math.real(tf.reduce_sum(tf.math.conj(w) * fn(*xs)))
            g = inner.gradient(y, xs)
            z = tf.math.real(tf.reduce_sum(tf.math.conj(v[0]) * g[0]) + tf.reduce_sum(tf.math.conj(v[1]) * g[1])
                             + tf.math.conj(tf.constant(0.4, dtype)) * g[2])
        return [x.numpy() for x in outer.gradient(z, xs)]

    del rng
    for x, r in zip(hvp(_route_multiply), hvp(_route_expm)):
        _close(x, r, 1e-10)


def test_hessian_in_graph_and_third_order():
    rng = np.random.default_rng(5)
    a = tf.constant(rng.standard_normal((3, 3)) * 0.5)
    b = tf.constant(rng.standard_normal((3, 1)))
    h = tf.function(lambda a: tf.hessians(tf.reduce_sum(dx.expm_multiply(a, b, 1.0) ** 2), a)[0])(a)
    h_ref = tf.function(lambda a: tf.hessians(tf.reduce_sum((dx.expm(a) @ b) ** 2), a)[0])(a)
    np.testing.assert_allclose(h, h_ref, rtol=0, atol=1e-11 * np.abs(h_ref).max())
    # third order: d/da of a Hessian-vector product, against the expm route
    def third(fn):
        with tf.GradientTape() as t3:
            t3.watch(a)
            with tf.GradientTape() as t2:
                t2.watch(a)
                with tf.GradientTape() as t1:
                    t1.watch(a)
                    y = tf.reduce_sum(tf.sin(fn(a)))
                g = t1.gradient(y, a)
                z = tf.reduce_sum(g * g)
            gg = t2.gradient(z, a)
            q = tf.reduce_sum(gg * a)
        return t3.gradient(q, a).numpy()

    r = third(lambda a: dx.expm(a) @ b)
    np.testing.assert_allclose(third(lambda a: dx.expm_multiply(a, b)), r, rtol=0, atol=1e-10 * np.abs(r).max())


def test_jacobians_with_and_without_pfor():
    rng = np.random.default_rng(6)
    a = tf.constant(rng.standard_normal((2, 4, 4)) * 0.5)
    b = tf.constant(rng.standard_normal((2, 4, 1)))
    t = tf.constant([0.5, 1.5], tf.float64)
    for pfor in (True, False):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([a, t])
            f = dx.expm_multiply(a, b, t)
            f_ref = _route_expm(a, b, t)
        for x in (a, t):
            j = tape.jacobian(f, x, experimental_use_pfor=pfor)
            j_ref = tape.jacobian(f_ref, x, experimental_use_pfor=pfor)
            np.testing.assert_allclose(j, j_ref, rtol=0, atol=1e-12)
    with tf.GradientTape() as tape:
        tape.watch(a)
        f = dx.expm_multiply(a, b, t)
    jb = tape.batch_jacobian(f, a)
    assert jb.shape == (2, 4, 1, 4, 4)


def test_gradient_of_broadcast_and_vector_b():
    # One a for a batch of b (broadcast) and a 1-D b: the gradient sums over the broadcast.
    rng = np.random.default_rng(7)
    a = tf.constant(rng.standard_normal((4, 4)) * 0.5)
    b = tf.constant(rng.standard_normal((3, 4, 2)))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(a)
        y = tf.reduce_sum(dx.expm_multiply(a, b, 0.5) ** 2)
        y_ref = tf.reduce_sum((dx.expm(0.5 * a) @ b) ** 2)
    np.testing.assert_allclose(tape.gradient(y, a), tape.gradient(y_ref, a), rtol=1e-12)
    v = tf.constant(rng.standard_normal(4))
    with tf.GradientTape() as tape:
        tape.watch([a, v])
        y = tf.reduce_sum(dx.expm_multiply(a, v) * tf.range(4, dtype=tf.float64))
    ga, gv = tape.gradient(y, [a, v])
    e = dx.expm(a).numpy()
    np.testing.assert_allclose(gv, e.T @ np.arange(4.0), rtol=1e-12)
    assert ga.shape == (4, 4)


def test_nan_gradients_and_bad_choice():
    a = np.full((3, 3), np.nan)
    ga, gb, gt = _grads(_route_multiply, a, np.ones((3, 1)), np.float64(1.0), np.ones((3, 1)))
    assert np.isnan(ga).all() and np.isnan(gb).all() and np.isnan(gt)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"choice\[1\] = 64"):
        _ops.detexp_expm_multiply_grad(np.eye(2)[None].repeat(2, 0), np.ones((2, 2, 1)), np.ones(2), np.ones((2, 2, 1)),
                                       np.array([-1, 64], np.int32))

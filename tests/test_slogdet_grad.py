"""Gradients of every order of the log-determinant family, against closed forms, finite
differences (tf.test.compute_gradient in float64) and the users' scenarios."""
import numpy as np
import pytest
import tensorflow as tf

import detexp as dx
from conftest import ALL_DTYPES, COMPLEX_DTYPES, random_matrices


def _well_conditioned(shape, dtype, seed):
    n = shape[-1]
    return (random_matrices(shape, dtype, seed) + 2 * n ** 0.5 * np.eye(n)).astype(dtype)


def _max_jacobian_error(f, x):
    theoretical, numerical = tf.test.compute_gradient(f, [x], delta=1e-6)
    return max(np.abs(t - n).max() / max(1.0, np.abs(n).max()) for t, n in zip(theoretical, numerical))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 9, 30])
@pytest.mark.parametrize("fn", ["logabsdet", "det", "logdet"])
def test_first_order_against_finite_differences_real(fn, n):
    a = _well_conditioned((2, n, n), np.float64, seed=n)
    a /= np.exp(np.linalg.slogdet(a)[1] / n)[:, None, None]  # |det| = 1 keeps finite differences exact
    assert _max_jacobian_error(getattr(dx, fn), tf.constant(a)) < 1e-7


@pytest.mark.parametrize("dtype", [np.complex128])
@pytest.mark.parametrize("n", [1, 3, 5, 28])
def test_first_order_complex_including_sign(dtype, n):
    a = _well_conditioned((2, n, n), dtype, seed=n)
    a = tf.constant(a / np.exp(np.linalg.slogdet(a)[1] / n)[:, None, None])  # |det| = 1
    w = tf.constant(random_matrices((2,), dtype, seed=1))
    # A real loss that depends on the complex sign and on logabsdet.
    def loss(x):
        sign, lad = dx.slogdet(x)
        return tf.math.real(tf.reduce_sum(w * sign)) + tf.reduce_sum(lad)

    assert _max_jacobian_error(loss, a) < 1e-7
    assert _max_jacobian_error(lambda x: dx.slogdet(x)[0], a) < 1e-7
    assert _max_jacobian_error(dx.det, a) < 1e-7
    assert _max_jacobian_error(dx.logdet, a) < 1e-7


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_gradient_is_inverse_transpose(dtype):
    a = tf.constant(_well_conditioned((3, 6, 6), dtype, seed=4))
    with tf.GradientTape() as tape:
        tape.watch(a)
        lad = dx.logabsdet(a)
    g = tape.gradient(lad, a).numpy()
    expected = np.conj(np.swapaxes(np.linalg.inv(a.numpy().astype(np.complex128)), -1, -2))
    rtol = 1e-4 if dtype in (np.float32, np.complex64) else 1e-12
    np.testing.assert_allclose(g, expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [25, 47, 48, 70, 130])  # dense solve below 48, blocked L^{-1} from 48
def test_large_n_backward_and_inverse_against_numpy(dtype, n):
    a = tf.constant(_well_conditioned((2, n, n), dtype, seed=n))
    upstream = tf.constant(random_matrices((2,), np.float64, seed=n + 1), dtype=dx.logabsdet(a).dtype)
    with tf.GradientTape() as tape:
        tape.watch(a)
        loss = tf.reduce_sum(upstream * dx.logabsdet(a))
    g = tape.gradient(loss, a).numpy()
    inv = np.linalg.inv(a.numpy().astype(np.complex128))
    expected = upstream.numpy()[:, None, None] * np.conj(np.swapaxes(inv, -1, -2))
    rtol = 1e-4 if dtype in (np.float32, np.complex64) else 1e-12
    scale = np.abs(expected).max()
    np.testing.assert_allclose(g, expected, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(dx.inverse(a).numpy(), inv, rtol=rtol, atol=rtol * np.abs(inv).max())


def test_scaled_identity_gradient_closed_form():
    # d/dx log det(x I_500) = 500 / x = 50 at x = 10.
    x = tf.Variable(10.0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        out = dx.logdet(x * tf.eye(500, dtype=tf.float64))
    assert out.numpy() == pytest.approx(1151.2925464970251, rel=1e-14)
    assert tape.gradient(out, x).numpy() == pytest.approx(50.0, rel=1e-13)


def test_overflowing_determinant_gradient_is_inverse_transpose():
    a0 = 1e3 * random_matrices((300, 300), np.float64, seed=3)
    a0[0] *= np.linalg.slogdet(a0)[0]  # flip one row if needed so that det > 0 and logdet is finite
    a = tf.constant(a0)
    with tf.GradientTape() as tape:
        tape.watch(a)
        lad = dx.logdet(a)
    assert np.isfinite(lad.numpy()) and lad.numpy() > 1000
    g = tape.gradient(lad, a).numpy()
    expected = np.linalg.inv(a0).T
    np.testing.assert_allclose(g, expected, rtol=1e-9, atol=1e-10 * np.abs(expected).max())


def test_det_squared_sgd_reaches_singular_matrix():
    # Users minimize det(A)^2 from [[1,2],[3,4]]; the reference steps use the 2x2 cofactor formula.
    a = tf.Variable([[1.0, 2.0], [3.0, 4.0]], dtype=tf.float64)
    opt = tf.keras.optimizers.SGD(learning_rate=0.01)
    ref = np.array([[1.0, 2.0], [3.0, 4.0]])
    losses = []
    for _ in range(50):
        with tf.GradientTape() as tape:
            loss = dx.det(a) ** 2
        opt.apply_gradients([(tape.gradient(loss, a), a)])
        losses.append(loss.numpy())
        d = ref[0, 0] * ref[1, 1] - ref[0, 1] * ref[1, 0]
        ref = ref - 0.01 * 2 * d * np.array([[ref[1, 1], -ref[1, 0]], [-ref[0, 1], ref[0, 0]]])
    np.testing.assert_allclose(a.numpy(), ref, rtol=1e-9)
    assert losses[0] == pytest.approx(4.0) and losses[-1] < 1e-20 and np.all(np.diff(losses) <= 0)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("rank_drop", [1, 2, 5])
def test_det_gradient_at_singular_matrix_is_adjugate(dtype, rank_drop):
    n = 5
    rank = n - rank_drop
    u = random_matrices((n, rank), dtype, seed=rank)
    v = random_matrices((rank, n), dtype, seed=rank + 1)
    a = tf.constant((u @ v).astype(dtype) if rank else np.zeros((n, n), dtype))
    with tf.GradientTape() as tape:
        tape.watch(a)
        d = dx.det(a)
    g = tape.gradient(d, a).numpy()
    assert np.all(np.isfinite(g))
    # Jacobi: d det = tr(adj(A) dA); for rank n-1 adj(A) = det-free cofactors, rank <= n-2 zero.
    a64 = a.numpy().astype(np.complex128)
    cof = np.zeros((n, n), np.complex128)
    for i in range(n):
        for j in range(n):
            cof[i, j] = (-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a64, i, 0), j, 1))
    expected = np.conj(cof)  # grad = conj(adj^T) = conj(cofactor matrix)
    scale = max(1.0, np.abs(expected).max())
    atol = (5e-4 if dtype in (np.float32, np.complex64) else 1e-10) * scale
    np.testing.assert_allclose(g, expected if np.iscomplexobj(g) else expected.real, atol=atol)
    if rank_drop == 1:
        assert np.abs(g).max() > 1e-2


def test_jacobian_of_batched_logabsdet_is_block_diagonal():
    a = tf.constant(_well_conditioned((4, 3, 3), np.float64, seed=8))
    inv_t = np.swapaxes(np.linalg.inv(a.numpy()), -1, -2)
    expected = np.zeros((4, 4, 3, 3))
    for i in range(4):
        expected[i, i] = inv_t[i]
    for use_pfor in (True, False):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(a)
            lad = dx.logabsdet(a)
        jac = tape.jacobian(lad, a, experimental_use_pfor=use_pfor)
        np.testing.assert_allclose(jac, expected, rtol=1e-12, atol=1e-14)
    with tf.GradientTape() as tape:
        tape.watch(a)
        lad = dx.logabsdet(a)[:, None]
    bj = tape.batch_jacobian(lad, a)
    np.testing.assert_allclose(bj[:, 0], inv_t, rtol=1e-12)


def _logdet_hessian_closed_form(a):
    # d^2 log det / dA_ij dA_kl = -X_jk X_li with X = inv(A).
    x = np.linalg.inv(a)
    return -np.einsum("jk,li->ijkl", x, x)


def test_hessian_by_nested_tapes_and_jacobian():
    a = tf.constant(_well_conditioned((4, 4), np.float64, seed=12))
    with tf.GradientTape() as outer:
        outer.watch(a)
        with tf.GradientTape() as inner:
            inner.watch(a)
            lad = dx.logabsdet(a)
        g = inner.gradient(lad, a)
    h = outer.jacobian(g, a)
    np.testing.assert_allclose(h, _logdet_hessian_closed_form(a.numpy()), rtol=1e-11, atol=1e-13)


def test_tf_hessians_in_graph_mode():
    a0 = _well_conditioned((3, 3), np.float64, seed=13)
    graph = tf.Graph()
    with graph.as_default():
        a = tf.compat.v1.placeholder(tf.float64, [3, 3])
        (h,) = tf.hessians(dx.logabsdet(a), a)
        hd = tf.hessians(dx.det(a), a)[0]
    with tf.compat.v1.Session(graph=graph) as sess:
        h_val, hd_val = sess.run([h, hd], {a: a0})
    np.testing.assert_allclose(h_val, _logdet_hessian_closed_form(a0), rtol=1e-11, atol=1e-13)
    # det = exp(logdet): H_det = det (g g^T + H_logdet) with g = inv(A)^T flattened.
    d = np.linalg.det(a0)
    g = np.linalg.inv(a0).T
    expected = d * (np.einsum("ij,kl->ijkl", g, g) + _logdet_hessian_closed_form(a0))
    np.testing.assert_allclose(hd_val, expected, rtol=1e-10, atol=1e-12)


def test_hessian_diagonal_by_unstack_stack():
    # The users' trick: unstack the entries, restack, and differentiate each gradient entry w.r.t.
    # its own entry. Expected d^2 logabsdet / dA_ij^2 = -(inv(A)[j, i])^2.
    a0 = _well_conditioned((3, 3), np.float64, seed=14)
    entries = [tf.constant(v) for v in a0.ravel()]
    with tf.GradientTape(persistent=True) as outer:
        for e in entries:
            outer.watch(e)
        with tf.GradientTape() as inner:
            for e in entries:
                inner.watch(e)
            a = tf.reshape(tf.stack(entries), [3, 3])
            lad = dx.logabsdet(a)
        grads = inner.gradient(lad, entries)
    diag = np.array([outer.gradient(g, e).numpy() for g, e in zip(grads, entries)]).reshape(3, 3)
    x = np.linalg.inv(a0)
    np.testing.assert_allclose(diag, -(x.T) ** 2, rtol=1e-11)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_second_order_against_finite_differences(dtype):
    a = tf.constant(_well_conditioned((2, 4, 4), dtype, seed=15))
    w = tf.constant(random_matrices((2, 4, 4), dtype, seed=16))

    def directional_grad(fn):
        def f(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.math.real(tf.reduce_sum(fn(x)))
            return tf.math.real(tf.reduce_sum(tf.math.conj(w) * tape.gradient(y, x)))
        return f

    for fn in (dx.logabsdet, dx.det, lambda x: dx.slogdet(x)[0]):
        assert _max_jacobian_error(directional_grad(fn), a) < 1e-6


def test_third_order_closed_form():
    # log det(x I_n) = n log x: derivatives n/x, -n/x^2, 2n/x^3.
    x = tf.Variable(2.0, dtype=tf.float64)
    n = 3
    with tf.GradientTape() as t3:
        with tf.GradientTape() as t2:
            with tf.GradientTape() as t1:
                y = dx.logabsdet(x * tf.eye(n, dtype=tf.float64))
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    assert (d1.numpy(), d2.numpy(), d3.numpy()) == pytest.approx((n / 2.0, -n / 4.0, 2 * n / 8.0), rel=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_float32_gradients_close_to_float64(dtype):
    a = _well_conditioned((5, 8, 8), dtype, seed=17)
    grads = []
    for dt in (dtype, np.complex128 if np.iscomplexobj(a) else np.float64):
        x = tf.constant(a.astype(dt))
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(dx.logabsdet(x)) + tf.math.real(tf.reduce_sum(dx.det(x))) * 1e-3
        grads.append(tape.gradient(y, x).numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-5 * np.abs(grads[1]).max())


def test_gradient_with_unused_outputs_and_vectorized_map():
    a = tf.constant(_well_conditioned((6, 3, 3), np.float64, seed=18))
    out = tf.vectorized_map(lambda m: dx.logabsdet(m), a)
    np.testing.assert_allclose(out, np.linalg.slogdet(a.numpy())[1], rtol=1e-12)
    with tf.GradientTape() as tape:
        tape.watch(a)
        sign, _ = dx.slogdet(a)
        y = tf.reduce_sum(sign)
    g = tape.gradient(y, a)
    assert g is None or np.all(g.numpy() == 0)


def test_jacobian_vectorizes_without_while_loop():
    @tf.function
    def jacobian(a):
        with tf.GradientTape() as tape:
            tape.watch(a)
            y = dx.logabsdet(a) + tf.math.real(dx.det(a))
        return tape.jacobian(y, a)

    graph = jacobian.get_concrete_function(tf.TensorSpec([4, 3, 3], tf.float64)).graph
    op_types = {op.type for op in graph.get_operations()}
    assert not op_types & {"While", "StatelessWhile"}, op_types
    assert "Detexp>SlogdetBackward" in op_types or any("Detexp" in t for t in op_types)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [3, 8, 9, 16, 24, 30])
def test_gradient_and_inverse_in_tf_function(dtype, n):
    # Inside a graph the backward and the inverse may write into the factors' buffer (nothing else
    # reads it): lane groups and the per-matrix remainder (batch 19) must still be exact.
    a = tf.constant(_well_conditioned((19, n, n), dtype, seed=n + 7))
    upstream = tf.constant(np.linspace(-2, 3, 19), dtype=dx.logabsdet(a).dtype)

    @tf.function
    def grad_and_inverse(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(upstream * dx.logabsdet(x))
        return tape.gradient(loss, x), dx.inverse(x)

    g, inv_dx = (t.numpy() for t in grad_and_inverse(a))
    inv = np.linalg.inv(a.numpy().astype(np.complex128))
    expected = upstream.numpy()[:, None, None] * np.conj(np.swapaxes(inv, -1, -2))
    rtol = 1e-4 if dtype in (np.float32, np.complex64) else 1e-12
    np.testing.assert_allclose(g, expected, rtol=rtol, atol=rtol * np.abs(expected).max())
    np.testing.assert_allclose(inv_dx, inv, rtol=rtol, atol=rtol * np.abs(inv).max())

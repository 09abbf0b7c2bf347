"""dx.expm / dx.expm_frechet / dx.numpy against independent references: mpmath at 60 digits,
SciPy, closed forms, central finite differences, tf.test.compute_gradient."""
import mpmath
import numpy as np
import pytest
import scipy.linalg as sla
import tensorflow as tf

import detexp as dx
from conftest import ALL_DTYPES, random_matrices, rel1, tol

EPS64 = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps


def _mp_expm(a):
    mpmath.mp.dps = 60
    m = mpmath.expm(mpmath.matrix(np.asarray(a).tolist()))
    conv = complex if np.iscomplexobj(a) else float
    return np.array([[conv(m[i, j]) for j in range(m.cols)] for i in range(m.rows)])


HARD_CASES = {
    "nonnormal_1e6": [[1.0, 1e6], [0.0, 1.0]],
    "moler_van_loan": [[-49.0, 24.0], [-64.0, 31.0]],
    "al_mohy_higham_3x3": [[4.0, 2.0, 0.0], [1.0, 4.0, 1.0], [1.0, 1.0, 4.0]],
    "badly_scaled_upper": [[1.0, 1e4, 1e8], [0.0, 2.0, 1e4], [0.0, 0.0, 3.0]],
    "nonnormal_upper_negative": [[-1.0, 100.0, 1e4], [0.0, -1.5, 100.0], [0.0, 0.0, -2.0]],
    "nonnormal_lower": [[1.0, 0.0, 0.0], [1e6, 1.001, 0.0], [3.0, 1e3, 1.0]],
    "norm_1e-8": (1e-8 * np.random.default_rng(1).standard_normal((5, 5))).tolist(),
    "norm_1e3": (200.0 * np.random.default_rng(2).standard_normal((5, 5))).tolist(),
    "scaled_rotation_1e2": [[0.0, -100.0], [100.0, 0.0]],
    "jordan_like_4": [[0.5, 1.0, 0.0, 0.0], [0.0, 0.5, 1.0, 0.0], [0.0, 0.0, 0.5, 1.0], [0.0, 0.0, 0.0, 0.5]],
}


@pytest.mark.parametrize("name", sorted(HARD_CASES))
def test_hard_cases_float64_not_worse_than_scipy(name):
    a = np.array(HARD_CASES[name])
    ref = _mp_expm(a)
    err_dx = rel1(dx.expm(tf.constant(a)).numpy(), ref)
    err_np = rel1(dx.numpy.expm(a), ref)
    err_sp = rel1(sla.expm(a), ref)
    floor = 2 * EPS64  # both round the exact result; below this the comparison is noise
    assert err_dx <= max(err_sp, floor), (err_dx, err_sp)
    assert err_np <= max(err_sp, floor), (err_np, err_sp)


def test_moler_van_loan_within_its_condition_number():
    a = np.array(HARD_CASES["moler_van_loan"])
    bound = sla.expm_cond(a) * EPS64 / 2  # kappa_exp * u
    assert rel1(dx.expm(tf.constant(a)).numpy(), _mp_expm(a)) <= bound


@pytest.mark.parametrize("name", sorted(k for k in HARD_CASES if k != "norm_1e3"))  # e^1e3 overflows float32
def test_hard_cases_float32_within_10x_of_scipy(name):
    a = np.array(HARD_CASES[name])
    ref = _mp_expm(a)
    a32 = a.astype(np.float32)
    err_dx = rel1(dx.expm(tf.constant(a32)).numpy(), ref)
    err_sp = rel1(sla.expm(a32), ref)
    assert err_dx <= 10 * max(err_sp, EPS32), (err_dx, err_sp)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("batch", [(), (3,), (2, 2)])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 8, 9, 16, 17, 20, 33, 60, 100])
def test_expm_matches_scipy(dtype, batch, n):
    scale = 1.5 if n < 9 else 0.6
    a = (scale * random_matrices(batch + (n, n), dtype, seed=n)).astype(dtype)
    ref = sla.expm(a.astype(np.complex128 if np.iscomplexobj(a) else np.float64))
    out = dx.expm(tf.constant(a)).numpy()
    assert out.dtype == a.dtype and out.shape == a.shape
    rtol = 20 * tol(dtype) if np.dtype(dtype) in (np.float32, np.complex64) else 1e-12
    np.testing.assert_allclose(out, ref, rtol=rtol, atol=rtol * np.abs(ref).max())
    np.testing.assert_allclose(dx.numpy.expm(a), ref, rtol=rtol, atol=rtol * np.abs(ref).max())


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_large_norms_and_sizes(dtype):
    # Norms 1e-8 .. 40 and n = 32, 65 (the Dynamic-size path with several squarings).
    for n, scale in [(32, 1e-8), (32, 0.3), (65, 0.2), (12, 10.0)]:
        a = scale * random_matrices((2, n, n), dtype, seed=n)
        ref = sla.expm(a)
        np.testing.assert_allclose(dx.expm(tf.constant(a)).numpy(), ref, rtol=1e-11, atol=1e-11 * np.abs(ref).max())


def test_closed_forms():
    # diagonal
    d = np.array([-30.0, -1.0, 0.0, 2.5, 40.0])
    np.testing.assert_allclose(dx.expm(tf.constant(np.diag(d))).numpy(), np.diag(np.exp(d)), rtol=1e-15)
    # nilpotent: exp(N) = I + N + N^2/2 + N^3/6
    n = np.triu(np.random.default_rng(0).standard_normal((4, 4)) * 50, 1)
    ref = np.eye(4) + n + n @ n / 2 + n @ n @ n / 6
    np.testing.assert_allclose(dx.expm(tf.constant(n)).numpy(), ref, rtol=1e-13, atol=1e-13 * np.abs(ref).max())
    # rotation generator: exp(t [[0, -1], [1, 0]]) = [[cos t, -sin t], [sin t, cos t]]
    for t in [1e-9, 0.3, 2.0, 30.0]:
        g = t * np.array([[0.0, -1.0], [1.0, 0.0]])
        ref = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        np.testing.assert_allclose(dx.expm(tf.constant(g)).numpy(), ref, atol=4e-15 * max(1, t))
    # su(2): exp(i t sigma_x) = cos t I + i sin t sigma_x
    t = 1.7
    sx = np.array([[0, 1], [1, 0]], dtype=np.complex128)
    ref = np.cos(t) * np.eye(2) + 1j * np.sin(t) * sx
    np.testing.assert_allclose(dx.expm(tf.constant(1j * t * sx)).numpy(), ref, atol=1e-15)
    # 3x3 so(3) generator: Rodrigues' formula
    w = np.array([0.3, -1.2, 2.0])
    k = np.array([[0, -w[2], w[1]], [w[2], 0, -w[0]], [-w[1], w[0], 0]])
    th = np.linalg.norm(w)
    ref = np.eye(3) + np.sin(th) / th * k + (1 - np.cos(th)) / th**2 * k @ k
    np.testing.assert_allclose(dx.expm(tf.constant(k)).numpy(), ref, atol=2e-15)


def test_bad_input():
    with pytest.raises(ValueError, match="square"):
        dx.expm(tf.zeros([2, 3, 4]))
    with pytest.raises(ValueError, match="rank"):
        dx.expm(tf.zeros([3]))
    with pytest.raises(TypeError):
        dx.expm(tf.zeros([2, 2], tf.int32))
    with pytest.raises(ValueError, match="square"):
        dx.numpy.expm(np.zeros((2, 3)))

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float64)])
    def f(x):
        return dx.expm(x)

    with pytest.raises(tf.errors.InvalidArgumentError, match="square"):
        f(tf.zeros([2, 3], tf.float64))
    # NaN / Inf: that matrix is NaN, its neighbours are unaffected, and nothing hangs.
    a = np.stack([np.eye(3), np.eye(3), np.eye(3), 1e300 * np.ones((3, 3))])
    a[0, 1, 2] = np.nan
    a[1, 0, 0] = np.inf
    out = dx.expm(tf.constant(a)).numpy()
    assert np.isnan(out[0]).all() and np.isnan(out[1]).all()
    np.testing.assert_allclose(out[2], np.e * np.eye(3), rtol=1e-15)
    assert not np.isfinite(out[3]).all()
    assert np.isnan(dx.numpy.expm(a[:2])).all()
    # empty batch and n = 0
    assert dx.expm(tf.zeros([0, 3, 3])).shape == (0, 3, 3)
    assert dx.expm(tf.zeros([2, 0, 0])).shape == (2, 0, 0)
    assert dx.numpy.expm(np.zeros((0, 4, 4))).shape == (0, 4, 4)
    with pytest.raises(ValueError, match="same shape"):
        dx.expm_frechet(tf.zeros([3, 3]), tf.zeros([2, 2]))


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
def test_half_precision_via_float32(dtype):
    a = random_matrices((2, 3, 3), np.float32, seed=3)
    out = dx.expm(tf.cast(a, dtype))
    assert out.dtype == dtype
    ref = sla.expm(tf.cast(tf.cast(a, dtype), tf.float64).numpy())
    np.testing.assert_allclose(tf.cast(out, tf.float64).numpy(), ref, rtol=3e-2, atol=3e-2 * np.abs(ref).max())


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("n,scale", [(2, 0.01), (3, 0.5), (5, 1.0), (8, 2.0), (9, 3.0), (16, 1.0), (20, 2.0)])
def test_expm_frechet_matches_scipy(dtype, n, scale):
    a = scale * random_matrices((2, n, n), dtype, seed=n)
    e = random_matrices((2, n, n), dtype, seed=n + 100)
    refs = [sla.expm_frechet(a[i], e[i]) for i in range(2)]
    r_ref = np.stack([x[0] for x in refs])
    l_ref = np.stack([x[1] for x in refs])
    r, l = dx.expm_frechet(tf.constant(a), tf.constant(e))
    for got, ref in [(r.numpy(), r_ref), (l.numpy(), l_ref)]:
        assert np.linalg.norm((got - ref).ravel()) <= 1e-10 * np.linalg.norm(ref.ravel())
    l_only = dx.expm_frechet(tf.constant(a), tf.constant(e), compute_expm=False).numpy()
    np.testing.assert_allclose(l_only, l_ref, rtol=1e-10, atol=1e-10 * np.abs(l_ref).max())
    r_np, l_np = dx.numpy.expm_frechet(a, e)
    np.testing.assert_allclose(l_np, l_ref, rtol=1e-10, atol=1e-10 * np.abs(l_ref).max())
    np.testing.assert_allclose(r_np, r_ref, rtol=1e-10, atol=1e-10 * np.abs(r_ref).max())
    np.testing.assert_allclose(dx.numpy.expm_frechet(a, e, compute_expm=False), l_ref, rtol=1e-10,
                               atol=1e-10 * np.abs(l_ref).max())


def test_expm_frechet_float32_and_commuting():
    # commuting a and e: L(a, e) = exp(a) e
    a = np.diag([0.5, -1.0, 2.0])
    e = np.diag([1.0, 2.0, 3.0])
    l = dx.expm_frechet(tf.constant(a, tf.float32), tf.constant(e, tf.float32), compute_expm=False).numpy()
    np.testing.assert_allclose(l, sla.expm(a) @ e, rtol=1e-6)
    a = random_matrices((4, 4), np.float32, seed=1)
    e = random_matrices((4, 4), np.float32, seed=2)
    _, l_ref = sla.expm_frechet(a.astype(np.float64), e.astype(np.float64))
    np.testing.assert_allclose(dx.expm_frechet(a, e)[1].numpy(), l_ref, rtol=1e-4, atol=1e-4 * np.abs(l_ref).max())


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("n,scale", [(1, 1.0), (3, 0.1), (4, 1.0), (7, 4.0), (12, 1.5), (16, 2.0), (20, 0.5), (33, 0.3),
                                     (60, 0.5), (100, 0.4)])
def test_gradient_is_adjoint_frechet(dtype, n, scale):
    # d/dA Re<G, exp(A)> = L(A^H, G) (TF's convention), against SciPy's expm_frechet.
    a = scale * random_matrices((n, n), dtype, seed=n)
    g = random_matrices((n, n), dtype, seed=n + 1)
    at = tf.constant(a)
    with tf.GradientTape() as tape:
        tape.watch(at)
        y = tf.math.real(tf.reduce_sum(tf.math.conj(tf.constant(g)) * dx.expm(at)))
    grad = tape.gradient(y, at).numpy()
    ref = sla.expm_frechet(a.conj().T, g, compute_expm=False)
    np.testing.assert_allclose(grad, ref, rtol=1e-11, atol=1e-11 * np.abs(ref).max())


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_compute_gradient(dtype):
    a = 0.8 * random_matrices((2, 3, 3), dtype, seed=7)
    e = random_matrices((2, 3, 3), dtype, seed=8)
    theo, num = tf.test.compute_gradient(dx.expm, [tf.constant(a)])
    np.testing.assert_allclose(theo[0], num[0], rtol=1e-6, atol=1e-6)
    theo, num = tf.test.compute_gradient(lambda x, y: dx.expm_frechet(x, y, compute_expm=False),
                                         [tf.constant(a), tf.constant(e)])
    for t, m in zip(theo, num):
        np.testing.assert_allclose(t, m, rtol=1e-6, atol=1e-6)
    # the backward op's own gradient (second order), in both of its arguments
    theo, num = tf.test.compute_gradient(lambda x, y: tf.raw_ops.Identity(input=dx._expm._adjoint_frechet(x, y)),
                                         [tf.constant(a), tf.constant(e)])
    for t, m in zip(theo, num):
        np.testing.assert_allclose(t, m, rtol=1e-6, atol=1e-6)


def test_lie_algebra_layer_gradient():
    # y = exp(a M1 + b M2) z; gradient of sum(w * y) with respect to the coefficients (a, b).
    m1 = np.array([[0.0, -1.0], [1.0, 0.0]])
    m2 = np.array([[1.0, 0.0], [0.0, -1.0]])
    z = np.array([0.3, -1.1])
    w = np.array([1.5, 0.7])

    def loss_np(a, b):
        return w @ (sla.expm(a * m1 + b * m2) @ z)

    coef = tf.Variable([0.7, -0.4], dtype=tf.float64)
    with tf.GradientTape() as tape:
        m = coef[0] * m1 + coef[1] * m2
        y = tf.linalg.matvec(dx.expm(m), z)
        loss = tf.reduce_sum(w * y)
    grad = tape.gradient(loss, coef).numpy()
    h = 1e-6
    a, b = 0.7, -0.4
    fd = np.array([(loss_np(a + h, b) - loss_np(a - h, b)) / (2 * h), (loss_np(a, b + h) - loss_np(a, b - h)) / (2 * h)])
    np.testing.assert_allclose(grad, fd, rtol=1e-8)
    np.testing.assert_allclose(loss.numpy(), loss_np(a, b), rtol=1e-14)


def test_hessian_of_sum_sin_expm():
    n = 3
    a0 = 0.9 * random_matrices((n, n), np.float64, seed=11)

    def grad_ref(a):  # independent gradient: L(A^T, cos(exp(A))) by SciPy
        return sla.expm_frechet(a.T, np.cos(sla.expm(a)), compute_expm=False)

    at = tf.constant(a0)
    with tf.GradientTape() as outer:
        outer.watch(at)
        with tf.GradientTape() as inner:
            inner.watch(at)
            y = tf.reduce_sum(tf.sin(dx.expm(at)))
        g = inner.gradient(y, at)
    hess = outer.jacobian(g, at).numpy().reshape(n * n, n * n)  # pfor through ExpmGrad's gradient
    np.testing.assert_allclose(g.numpy(), grad_ref(a0), rtol=1e-11, atol=1e-12)
    h = 1e-5
    fd = np.zeros((n * n, n * n))
    for j in range(n * n):
        d = np.zeros(n * n)
        d[j] = h
        d = d.reshape(n, n)
        fd[:, j] = ((grad_ref(a0 + d) - grad_ref(a0 - d)) / (2 * h)).ravel()
    np.testing.assert_allclose(hess, fd, rtol=1e-6, atol=1e-7 * np.abs(fd).max())
    np.testing.assert_allclose(hess, hess.T, atol=1e-10 * np.abs(hess).max())  # a Hessian is symmetric


def test_vectorized_map_and_jacobian_use_the_batched_op():
    a = 0.5 * random_matrices((4, 3, 3), np.float64, seed=5)
    out = tf.vectorized_map(dx.expm, tf.constant(a), fallback_to_while_loop=False)
    np.testing.assert_allclose(out.numpy(), sla.expm(a), rtol=1e-13, atol=1e-13)
    e = random_matrices((4, 3, 3), np.float64, seed=6)
    out = tf.vectorized_map(lambda x: dx.expm_frechet(x[0], x[1], compute_expm=False),
                            (tf.constant(a), tf.constant(e)), fallback_to_while_loop=False)
    ref = np.stack([sla.expm_frechet(a[i], e[i], compute_expm=False) for i in range(4)])
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, atol=1e-12)
    # full Jacobian of expm at a 2x2 matrix: column (i, j) is L(A, E_ij)
    a0 = tf.constant(a[0, :2, :2])
    with tf.GradientTape() as tape:
        tape.watch(a0)
        y = dx.expm(a0)
    jac = tape.jacobian(y, a0, experimental_use_pfor=True).numpy()
    for i in range(2):
        for j in range(2):
            eij = np.zeros((2, 2))
            eij[i, j] = 1
            np.testing.assert_allclose(jac[:, :, i, j], sla.expm_frechet(a0.numpy(), eij, compute_expm=False),
                                       rtol=1e-12, atol=1e-13)


def test_graph_mode_static_shapes():
    @tf.function(input_signature=[tf.TensorSpec([None, 4, 4], tf.float32)])
    def f(x):
        y = dx.expm(x)
        assert y.shape.as_list() == [None, 4, 4]
        r, l = dx.expm_frechet(x, x)
        assert r.shape.as_list() == [None, 4, 4] and l.shape.as_list() == [None, 4, 4]
        return y

    a = random_matrices((2, 4, 4), np.float32, seed=9)
    np.testing.assert_allclose(f(a).numpy(), sla.expm(a.astype(np.float64)), rtol=1e-4, atol=1e-4 * 20)


@pytest.mark.parametrize("a", [[[1.0, 1e3], [0.0, 2.0]], [[-3.0, 0.0, 0.0], [50.0, 1.0, 0.0], [2.0, -40.0, 0.5]]])
def test_gradient_triangular_with_squarings(a):
    # Triangular input takes the exact-diagonal squaring path; the backward must stay L(A^T, G).
    a = np.array(a)
    g = random_matrices(a.shape, np.float64, seed=3)
    at = tf.constant(a)
    with tf.GradientTape() as tape:
        tape.watch(at)
        y = tf.reduce_sum(tf.constant(g) * dx.expm(at))
    ref = sla.expm_frechet(a.T, g, compute_expm=False)
    np.testing.assert_allclose(tape.gradient(y, at).numpy(), ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())


# ---- the forward's degree and squarings handed to the backward (Detexp>Expm's choice output)
_ops = dx._expm._ops


def _degrees(dtype, n):
    """The degrees expm picks from and its top one: Padé 3..13 in double precision, Padé 3, 5, 7 in
    single, except from n = 9 on: Padé 3, 5 and Taylor 18."""
    if np.dtype(dtype) in (np.float64, np.complex128):
        return {3, 5, 7, 9, 13}, 13
    if n > 8:
        return {3, 5, 18}, 18
    return {3, 5, 7}, 7


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [3, 8, 16, 20, 40, 60])
def test_backward_with_the_forward_choice_is_bitwise_the_reselection(dtype, n):
    # ||A|| from ~1e-4 (degree 3) to ~50 (top degree, 4 squarings): every branch of the selection.
    scales = np.logspace(-4, 1.7, 12)
    a = random_matrices((12, n, n), dtype, seed=n) * (scales / np.sqrt(n))[:, None, None].astype(dtype)
    g = random_matrices((12, n, n), dtype, seed=n + 1)
    r, choice = _ops.detexp_expm(tf.constant(a))
    choice = choice.numpy()
    m, s = choice % 256, choice // 256
    degrees, top = _degrees(dtype, n)
    assert set(m) <= degrees
    assert m.min() == 3 and m.max() == top and s.max() >= 3
    assert np.all(s[m != top] == 0)
    with_choice = _ops.detexp_expm_grad(a, g, choice).numpy()
    reselected = _ops.detexp_expm_grad(a, g, np.full(12, -1, np.int32)).numpy()
    np.testing.assert_array_equal(with_choice, reselected)
    np.testing.assert_array_equal(r.numpy(), dx.expm(a).numpy())


def test_choice_is_none_where_no_pade_chain_runs():
    nan_and_closed_form = np.array([[[np.nan, 0.0], [0.0, 1.0]], [[1.0, 2.0], [0.5, 1.0]]])  # real 2x2: closed form
    assert _ops.detexp_expm(nan_and_closed_form)[1].numpy().tolist() == [-1, -1]
    assert _ops.detexp_expm(np.ones((2, 1, 1)))[1].numpy().tolist() == [-1, -1]
    assert _ops.detexp_expm(np.eye(2, dtype=np.complex128)[None])[1].numpy()[0] >= 0
    assert _ops.detexp_expm(np.zeros((2, 0, 3, 3)))[1].shape == (2, 0)


@pytest.mark.parametrize("dtype,bad", [(np.float64, -2), (np.float64, 4), (np.float64, 3 + 256),
                                       (np.float64, 9 + 256), (np.float64, 13 + 256 * 5000),
                                       (np.float32, 9), (np.float32, 13), (np.float32, 7 + 256 * 201)])
def test_backward_rejects_a_choice_expm_cannot_make(dtype, bad):
    a = random_matrices((2, 3, 3), dtype)
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"choice\[1\] = {bad} is not a degree"):
        _ops.detexp_expm_grad(a, a, np.array([-1, bad], np.int32))


def test_backward_rejects_a_choice_of_another_shape():
    a = random_matrices((2, 3, 3), np.float64)
    with pytest.raises(tf.errors.InvalidArgumentError, match="choice must have the batch shape"):
        _ops.detexp_expm_grad(a, a, np.full(3, -1, np.int32))
    with pytest.raises(ValueError):  # graph mode: the shape function
        tf.function(lambda x, c: _ops.detexp_expm_grad(x, x, c)).get_concrete_function(
            tf.TensorSpec((2, 3, 3), tf.float64), tf.TensorSpec((3,), tf.int32))

"""The Taylor top degree of single-precision expm (Bader–Blanes–Casas T_18, cc/core/expm_schemes.h)
for float32 and complex64 matrices with n >= 9, against SciPy in double precision, mpmath, SciPy in
single precision, SciPy's expm_frechet and central differences; and its choice codes (m = 18)."""
import mpmath
import numpy as np
import pytest
import scipy.linalg as sla
import tensorflow as tf

import detexp as dx
from conftest import random_matrices, rel1

EPS32 = np.finfo(np.float32).eps
_ops = dx._expm._ops


def _choice(a):
    c = _ops.detexp_expm(tf.constant(a))[1].numpy()
    return c % 256, c // 256


def _errors_vs_float32_scipy(a, out):
    """Per matrix: (out's, float32 SciPy's) 1-norm relative error against float64 SciPy."""
    for x, y in zip(a, out):
        ref = sla.expm(x.astype(np.float64))
        yield rel1(y, ref), rel1(sla.expm(x), ref)


def _matrices(n, seed):
    """Normal, non-normal (strictly upper part x 30) and badly scaled (D A D^-1) matrices, ||A|| from
    ~0.5 to ~300: T_18 with 0 to ~8 squarings."""
    rng = np.random.default_rng(seed)
    out = []
    for scale in [0.5, 1.5, 3.0, 10.0, 40.0]:
        out.append(scale * rng.standard_normal((n, n)) / np.sqrt(n))
    g = rng.standard_normal((n, n)) / np.sqrt(n)
    out.append(np.tril(g) + 30.0 * np.triu(g, 1))
    d = np.logspace(-2, 2, n)
    out.append((d[:, None] * g) / d[None, :])
    return np.array(out).astype(np.float32)


@pytest.mark.parametrize("n", [9, 16, 20, 33, 64])
def test_taylor_expm_within_10x_of_float32_scipy(n):
    a = _matrices(n, seed=n)
    m, s = _choice(a)
    assert set(m) <= {3, 5, 18} and np.all(m[1:5] == 18) and s.max() >= 5  # T_18, 0 to 5+ squarings
    out = dx.expm(tf.constant(a)).numpy()
    for i, (err_dx, err_sp) in enumerate(_errors_vs_float32_scipy(a, out)):
        assert err_dx <= 10 * max(err_sp, EPS32), (i, m[i], s[i], err_dx, err_sp)
    np.testing.assert_array_equal(dx.numpy.expm(a), out)


def test_taylor_dense_matrices_not_overscaled():
    # AH2009's ℓ guard, which T_18 does not apply (expm_taylor.h, as BBC 2019), scaled standard
    # normal matrices 2-3 squarings below θ_18 (ρ(|A|) ~ 0.8 sqrt(n) ρ(A)); each squaring doubles
    # the error: 17-20x float32 SciPy's at n = 512 with it (s = 4), 1.0-1.1x without (s = 1).
    rng = np.random.default_rng(512)
    a = (2.0 * rng.standard_normal((2, 512, 512)) / np.sqrt(512)).astype(np.float32)
    m, s = _choice(a)
    assert np.all(m == 18) and s.max() <= 2, (m, s)
    for err_dx, err_sp in _errors_vs_float32_scipy(a, dx.expm(tf.constant(a)).numpy()):
        assert err_dx <= 4 * err_sp, (err_dx, err_sp)


@pytest.mark.parametrize("n", [200, 512])
def test_complex64_dense_matrices_as_exact_as_scipy(n):
    # complex64 took Padé 7 with AH2009's ℓ guard as its top degree until T_18 served single
    # precision alike: ℓ over-scaled dense matrices as it had float32's (n = 200..512, scale 1..3:
    # 1.4-8.0x complex64 SciPy's error, geometric mean 2.0x; with T_18 0.6-2.2x, 1.0x).
    rng = np.random.default_rng(n)
    scale = np.array([1.0, 3.0])[:, None, None] / np.sqrt(2 * n)
    a = (scale * (rng.standard_normal((2, n, n)) + 1j * rng.standard_normal((2, n, n)))).astype(np.complex64)
    assert np.all(_choice(a)[0] == 18)
    out = dx.expm(tf.constant(a)).numpy()
    for x, y in zip(a, out):
        ref = sla.expm(x.astype(np.complex128))
        assert rel1(y, ref) <= 3 * rel1(sla.expm(x), ref), (rel1(y, ref), rel1(sla.expm(x), ref))


@pytest.mark.parametrize("n", [16, 33, 64])
def test_taylor_dense_non_normal_within_10x_of_float32_scipy(n):
    # Dense non-normal matrices, the kind AH2009's ℓ guard was made for: Q U Q^T with U triangular
    # (strict upper part x 30) and Q [[1, b], [0, -1]] Q^T blocks (b = 10, 300), Q orthogonal.
    # Without ℓ measured at most 4.9x and 1.2x float32 SciPy's error.
    rng = np.random.default_rng(n)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    u = np.diag(rng.standard_normal(n)) + 30 * np.triu(rng.standard_normal((n, n)), 1) / np.sqrt(n)
    mats = [q @ u @ q.T]
    for b in (10.0, 300.0):
        blocks = np.zeros((n, n))
        for i in range(0, n - 1, 2):
            blocks[i:i + 2, i:i + 2] = [[1.0, b], [0.0, -1.0]]
        mats.append(q @ blocks @ q.T)
    a = np.array(mats).astype(np.float32)
    assert np.all(_choice(a)[0] == 18)
    out = dx.expm(tf.constant(a)).numpy()
    for i, (err_dx, err_sp) in enumerate(_errors_vs_float32_scipy(a, out)):
        assert err_dx <= 10 * max(err_sp, EPS32), (i, err_dx, err_sp)


def test_taylor_without_squarings_against_mpmath():
    # η just below θ_18 = 3.01 (no squaring): a wrong coefficient of degree <= 14 would show (the
    # x^12/12! term alone is 250 eps of e^2.8); measured 0.5 eps.
    rng = np.random.default_rng(5)
    a = (np.diag(np.linspace(-2.8, 2.8, 10)) + 0.01 * rng.standard_normal((10, 10))).astype(np.float32)
    m, s = _choice(a[None])
    assert (m[0], s[0]) == (18, 0)
    mpmath.mp.dps = 40
    ref = np.array(mpmath.expm(mpmath.matrix(a.astype(np.float64).tolist())).tolist(), dtype=np.float64)
    assert rel1(dx.expm(tf.constant(a)).numpy(), ref) <= 8 * EPS32


@pytest.mark.parametrize("n", [12, 16, 40])
def test_taylor_frechet_and_gradient_match_scipy(n):
    a = _matrices(n, seed=n + 1)[[1, 2, 3, 5]]
    e = random_matrices(a.shape, np.float32, seed=n + 2)
    assert np.all(_choice(a)[0] == 18)
    r, l = (x.numpy() for x in dx.expm_frechet(tf.constant(a), tf.constant(e)))
    at = tf.constant(a)
    with tf.GradientTape() as tape:
        tape.watch(at)
        y = tf.reduce_sum(tf.constant(e) * dx.expm(at))
    grad = tape.gradient(y, at).numpy()
    for i in range(len(a)):
        a64, e64 = a[i].astype(np.float64), e[i].astype(np.float64)
        r_ref, l_ref = sla.expm_frechet(a64, e64)
        g_ref = sla.expm_frechet(a64.T, e64, compute_expm=False)
        # float32 Padé 7 (the former top degree) reached 3e-6 on these; float32 SciPy is no better
        for got, ref in [(r[i], r_ref), (l[i], l_ref), (grad[i], g_ref)]:
            assert rel1(got, ref) <= 2e-5, (i, rel1(got, ref))


def test_taylor_second_order():
    # d/dt of the gradient along a direction, against central differences of the gradient (float64
    # reference of a float32 op: differences at step 1e-2 on a well-scaled matrix).
    a = (1.5 * random_matrices((12, 12), np.float32, seed=3) / np.sqrt(12)).astype(np.float32)
    v = random_matrices((12, 12), np.float32, seed=4)
    w = random_matrices((12, 12), np.float32, seed=5)
    assert _choice(a[None])[0][0] == 18

    def grad(x):
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = tf.reduce_sum(tf.constant(w) * dx.expm(xt))
        return tape.gradient(y, xt)

    at = tf.constant(a)
    with tf.GradientTape() as outer:
        outer.watch(at)
        with tf.GradientTape() as inner:
            inner.watch(at)
            y = tf.reduce_sum(tf.constant(w) * dx.expm(at))
        g = inner.gradient(y, at)
        gv = tf.reduce_sum(g * tf.constant(v))
    hv = outer.gradient(gv, at).numpy()  # H v (the Hessian is symmetric)
    h = 1e-2
    fd = (grad((a + h * v).astype(np.float32)).numpy().astype(np.float64)
          - grad((a - h * v).astype(np.float32)).numpy()) / (2 * h)
    assert rel1(hv, fd) <= 2e-3


def test_choice_codes_of_the_other_family_select_again():
    # Valid codes that a size and type cannot produce (Taylor at n <= 8, Padé 7 in single precision
    # with n >= 9) are selected again: the same gradient as without a choice.
    for n, code, dtype in [(3, 18 + 256, np.float32), (8, 18, np.float32), (20, 7 + 256, np.float32),
                           (20, 7, np.float32), (20, 7 + 256, np.complex64), (5, 18, np.complex64)]:
        a = random_matrices((2, n, n), dtype, seed=n)
        g = random_matrices((2, n, n), dtype, seed=n + 1)
        reselected = _ops.detexp_expm_grad(a, g, np.full(2, -1, np.int32)).numpy()
        np.testing.assert_array_equal(_ops.detexp_expm_grad(a, g, np.full(2, code, np.int32)).numpy(), reselected)


@pytest.mark.parametrize("dtype,bad", [(np.float64, 18), (np.complex128, 18), (np.float32, 18 + 256 * 201),
                                       (np.float32, 12), (np.float32, 19)])
def test_taylor_codes_outside_their_precision_are_rejected(dtype, bad):
    a = random_matrices((2, 20, 20), dtype)
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"choice\[1\] = {bad} is not a degree"):
        _ops.detexp_expm_grad(a, a, np.array([-1, bad], np.int32))

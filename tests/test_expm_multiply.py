"""dx.expm_multiply / dx.numpy.expm_multiply (the forward) against independent references:
SciPy's expm_multiply, scipy.linalg.expm(t a) @ b, mpmath at 60 digits on hard cases, closed forms;
the per-matrix (m, s) choice; shapes, dtypes, broadcasting and bad input."""
import mpmath
import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse.linalg as spla
import tensorflow as tf

import detexp as dx
from conftest import ALL_DTYPES, random_matrices

_ops = dx._expm_multiply._ops
EPS = {np.float32: 2.0 ** -24, np.complex64: 2.0 ** -24, np.float64: 2.0 ** -53, np.complex128: 2.0 ** -53}


def _double(dtype):
    return np.complex128 if np.issubdtype(np.dtype(dtype), np.complexfloating) else np.float64


def _relerr(x, ref):
    x = np.asarray(x).astype(ref.dtype if ref.dtype.kind == "c" else np.result_type(x.dtype, np.float64))
    return np.abs(x - ref).max() / np.abs(ref).max()


def _mp_action(a, b, t=1.0):
    """exp(t a) b at 60 digits (mpmath's expm, then the product in the same precision)."""
    with mpmath.workdps(60):
        e = mpmath.expm(mpmath.matrix((t * np.asarray(a, dtype=complex if np.iscomplexobj(a) else float)).tolist()))
        f = e * mpmath.matrix(np.asarray(b).reshape(len(b), -1).tolist())
        conv = complex if np.iscomplexobj(a) or np.iscomplexobj(b) else float
        return np.array([[conv(f[i, j]) for j in range(f.cols)] for i in range(f.rows)])


def _dx(a, b, t=1.0):
    return dx.expm_multiply(tf.constant(a), tf.constant(b), t).numpy()


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n,k", [(1, 1), (2, 3), (7, 1), (30, 4), (90, 2)])
def test_against_scipy_and_dense(dtype, n, k):
    # n = 90 > kExactNormMaxN: the degree comes from block 1-norm estimates.
    a = random_matrices((n, n), dtype, seed=n) * float(3.0 / np.sqrt(n))
    b = random_matrices((n, k), dtype, seed=n + 1)
    a64, b64 = a.astype(_double(dtype)), b.astype(_double(dtype))
    ref = sla.expm(a64) @ b64
    f = _dx(a, b)
    assert f.dtype == dtype and f.shape == (n, k)
    tol = 200 * EPS[dtype] * max(1.0, np.abs(a64).sum(0).max())
    assert _relerr(f, ref) < tol
    assert _relerr(spla.expm_multiply(a64, b64), ref) < 200 * EPS[np.float64] * max(1.0, np.abs(a64).sum(0).max())
    np.testing.assert_array_equal(dx.numpy.expm_multiply(a, b), f)  # the same kernel, the same bits


HARD = {
    # ||A||_1 ~ 1e3 (many steps; checkpoints in the backward), non-normal, a nilpotent (T_m exact), a
    # rotation by 100 radians, and Moler-Van Loan's matrix.
    "large_norm": (lambda rng: rng.standard_normal((12, 12)) * 60.0),
    "nonnormal": (lambda rng: np.triu(rng.standard_normal((10, 10))) * 3 + np.triu(np.ones((10, 10)), 1) * 40),
    "nilpotent": (lambda rng: np.triu(rng.standard_normal((8, 8)) * 5, 1)),
    "rotation": (lambda rng: np.array([[0.0, -100.0], [100.0, 0.0]])),
    "moler_van_loan": (lambda rng: np.array([[-49.0, 24.0], [-64.0, 31.0]])),
    "stiff_markov": (lambda rng: _markov_generator(rng, 15, 1e3)),
}


def _markov_generator(rng, n, rate):
    q = rng.random((n, n)) * rate * (rng.random((n, n)) < 0.3)
    np.fill_diagonal(q, 0)
    np.fill_diagonal(q, -q.sum(1))
    return q


@pytest.mark.parametrize("name", sorted(HARD))
def test_hard_cases_against_mpmath(name):
    rng = np.random.default_rng(7)
    a = HARD[name](rng)
    b = rng.standard_normal((len(a), 2))
    ref = _mp_action(a, b)
    err_dx = _relerr(_dx(a, b), ref)
    err_sp = _relerr(spla.expm_multiply(a, b), ref)
    err_dense = _relerr(sla.expm(a) @ b, ref)
    # At most a few times SciPy's own errors (or a rounding floor): these problems have condition
    # numbers up to ~1e4, so the errors of both are far above u for some.
    floor = 64 * EPS[np.float64]
    assert err_dx <= max(4 * err_sp, 4 * err_dense, floor), (err_dx, err_sp, err_dense)


def test_nilpotent_exact():
    # N^3 = 0: exp(N) b = b + N b + N^2 b / 2 exactly (small integers).
    n = np.diag([2.0, 4.0], 1) + np.diag([6.0], 2)
    b = np.array([[1.0], [2.0], [3.0]])
    expect = b + n @ b + n @ n @ b / 2
    np.testing.assert_array_equal(_dx(n, b), expect)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_single_precision_uses_single_tables(dtype):
    # Single precision picks its (m, s) from the u = 2^-24 table: fewer terms than double, same
    # accuracy as the rounding allows.
    a = random_matrices((40, 40), dtype, seed=3) * 0.5
    b = random_matrices((40, 1), dtype, seed=4)
    _, c32 = _ops.detexp_expm_multiply(a, b, tf.ones([], dtype))
    _, c64 = _ops.detexp_expm_multiply(a.astype(_double(dtype)), b.astype(_double(dtype)),
                                       tf.ones([], _double(dtype)))
    m32, m64 = int(c32) % 64 * (int(c32) // 64), int(c64) % 64 * (int(c64) // 64)
    assert m32 < m64
    ref = sla.expm(a.astype(_double(dtype))) @ b.astype(_double(dtype))
    assert _relerr(_dx(a, b), ref) < 100 * EPS[dtype] * np.abs(a).sum(0).max()


def test_per_matrix_choice_and_bits():
    # A batch mixing norms 1e-3 .. 1e2: each matrix gets its own (m, s) and the same bits as alone.
    rng = np.random.default_rng(11)
    scales = [1e-3, 1.0, 10.0, 100.0]
    a = np.stack([rng.standard_normal((20, 20)) * s / np.sqrt(20) for s in scales])
    b = rng.standard_normal((4, 20, 3))
    f, choice = _ops.detexp_expm_multiply(a, b, tf.ones([4], tf.float64))
    choice = choice.numpy()
    assert len(set(choice.tolist())) >= 3, choice
    assert choice[0] % 64 < choice[1] % 64, choice  # a lower degree for the smaller norm
    for i in range(4):
        fi, ci = _ops.detexp_expm_multiply(a[i], b[i], tf.constant(1.0, tf.float64))
        np.testing.assert_array_equal(f[i], fi)
        assert int(ci) == choice[i]
        assert _relerr(f[i].numpy(), sla.expm(a[i]) @ b[i]) < 1e-13 * max(1, scales[i])


def _theta_from_header():
    import pathlib
    import re
    text = (pathlib.Path(__file__).parent.parent / "cc/core/expm_multiply_theta.h").read_text()
    blocks = re.findall(r"expm_multiply_theta<(\w+)>\(int m\) \{\s*constexpr double theta\[55\] = \{([^}]*)\}", text)
    return {name: [float(x) for x in body.replace("\n", " ").split(",") if x.strip()] for name, body in blocks}


def test_degree_selection_from_the_norm():
    # Code Fragment 3.1's first branch (condition (3.13) holds): (m, s) minimises m ceil(||tA||_1 / θ_m).
    theta = _theta_from_header()["double"]
    rng = np.random.default_rng(5)
    for norm in [1e-9, 0.01, 0.7, 3.0, 20.0]:
        a = rng.standard_normal((6, 6))
        a -= np.trace(a) / 6 * np.eye(6)
        a *= norm / np.abs(a).sum(0).max()
        _, code = _ops.detexp_expm_multiply(a, np.ones((6, 1)), tf.constant(1.0, tf.float64))
        costs = [(m * np.ceil(norm / theta[m - 1]), m) for m in range(1, 56)]
        best = min(costs)
        assert (int(code) % 64, int(code) // 64) == (best[1], int(best[0] / best[1])), (norm, int(code))


def test_zero_and_scalar_matrices():
    b = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(_dx(np.zeros((3, 3)), b), b)
    np.testing.assert_allclose(_dx(2.0 * np.eye(3), b), np.exp(2.0) * b, rtol=1e-15)
    a = np.random.default_rng(0).standard_normal((3, 3))
    np.testing.assert_array_equal(_dx(a, b, 0.0), b)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_t_scalar_tensor_negative_and_broadcast(dtype):
    a = random_matrices((3, 6, 6), dtype, seed=1)
    b = random_matrices((3, 6, 2), dtype, seed=2)
    t = np.array([0.5, -1.25, 2.0], dtype=np.float32 if np.dtype(dtype) in (np.float32, np.complex64) else np.float64)
    f = dx.expm_multiply(a, b, t).numpy()
    d = _double(dtype)
    ref = np.stack([sla.expm(t[i] * a[i].astype(d)) @ b[i].astype(d) for i in range(3)])
    assert _relerr(f, ref) < 1e3 * EPS[dtype]
    # a 2-D a against a batch of b, t broadcasting from a scalar
    f2 = dx.expm_multiply(a[0], b, -0.5).numpy()
    ref2 = np.stack([sla.expm(-0.5 * a[0].astype(d)) @ b[i].astype(d) for i in range(3)])
    assert _relerr(f2, ref2) < 1e3 * EPS[dtype]
    np.testing.assert_allclose(dx.numpy.expm_multiply(a[0], b, -0.5), f2, rtol=0, atol=0)


def test_complex_t():
    # exp(-i t H) b, the Schrödinger propagator, with t complex on a complex a.
    rng = np.random.default_rng(3)
    h = rng.standard_normal((8, 8)) + 1j * rng.standard_normal((8, 8))
    h = (h + h.conj().T) / 2
    b = rng.standard_normal((8, 1)) + 0j
    f = dx.expm_multiply(h, b, tf.constant(-3j, tf.complex128)).numpy()
    np.testing.assert_allclose(f, sla.expm(-3j * h) @ b, rtol=0, atol=1e-13)
    assert abs(np.linalg.norm(f) - np.linalg.norm(b)) < 1e-13  # unitary


def test_vector_b_like_scipy():
    a = np.random.default_rng(4).standard_normal((5, 5))
    b = np.arange(5.0)
    f = dx.expm_multiply(a, b).numpy()
    assert f.shape == (5,)
    np.testing.assert_allclose(f, spla.expm_multiply(a, b), rtol=1e-13)
    f_np = dx.numpy.expm_multiply(a, b)
    assert f_np.shape == (5,)
    np.testing.assert_array_equal(f_np, f)


@pytest.mark.parametrize("half", [tf.float16, tf.bfloat16])
def test_half_types_in_float32(half):
    a = random_matrices((5, 5), np.float32, seed=1) * 0.3
    b = random_matrices((5, 2), np.float32, seed=2)
    f = dx.expm_multiply(tf.cast(a, half), tf.cast(b, half))
    assert f.dtype == half
    f32 = dx.expm_multiply(tf.cast(tf.cast(a, half), tf.float32), tf.cast(tf.cast(b, half), tf.float32))
    np.testing.assert_array_equal(f.numpy(), tf.cast(f32, half).numpy())


def test_numpy_dtypes_like_scipy():
    a = np.array([[1, 2], [0, -1]])
    b = np.array([1, 1])
    for da, db in [("i8", "i8"), ("f4", "f4"), ("f8", "f4"), ("f4", "f8"), ("c8", "f4"), ("i4", "f4"),
                   ("c16", "f8"), ("bool", "f4")]:
        expect = spla.expm_multiply(a.astype(da), b.astype(db))
        got = dx.numpy.expm_multiply(a.astype(da), b.astype(db))
        assert got.dtype == expect.dtype, (da, db, got.dtype, expect.dtype)
        np.testing.assert_allclose(got, expect, rtol=1e-5 if got.dtype in (np.float32, np.complex64) else 1e-13)
    assert dx.numpy.expm_multiply(a.astype(np.float16), b.astype(np.float16)).dtype == np.float16


@pytest.mark.parametrize("a_shape,b_shape", [((3, 3), (4,)), ((3, 4), (4,)), ((3, 3), (4, 2)), ((2, 3, 3), (3,)),
                                             ((3, 3), ()), ((2, 3, 3), (3, 3, 1))])
def test_bad_shapes(a_shape, b_shape):
    a, b = np.ones(a_shape), np.ones(b_shape)
    with pytest.raises(ValueError, match=r"expm_multiply"):
        dx.expm_multiply(a, b)
    with pytest.raises(ValueError, match=r"expm_multiply"):
        dx.numpy.expm_multiply(a, b)


def test_bad_shapes_at_run_time():
    f = tf.function(lambda a, b, t: _ops.detexp_expm_multiply(a, b, t)[0],
                    input_signature=[tf.TensorSpec(None, tf.float64)] * 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"b must be \[\.\.\., n, k\].*\[3,3\].*\[4,1\]"):
        f(np.ones((3, 3)), np.ones((4, 1)), np.ones(()))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"t must have the batch shape"):
        f(np.ones((2, 3, 3)), np.ones((2, 3, 1)), np.ones((3,)))
    with pytest.raises(TypeError, match="same dtype"):
        dx.expm_multiply(tf.ones([2, 2], tf.float32), tf.ones([2, 1], tf.float64))
    with pytest.raises(TypeError, match="is real"):
        dx.expm_multiply(tf.ones([2, 2]), tf.ones([2, 1]), tf.constant(1j, tf.complex64))


def test_nan_inf():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 4, 4))
    b = rng.standard_normal((3, 4, 2))
    a[0, 1, 2] = np.nan
    a[1, 0, 0] = np.inf
    f = dx.expm_multiply(a, b).numpy()
    assert np.isnan(f[:2]).all()
    np.testing.assert_allclose(f[2], sla.expm(a[2]) @ b[2], rtol=1e-13)
    assert np.isnan(dx.expm_multiply(a[2], b[2], np.nan).numpy()).all()
    # NaN/Inf in one column of b leaves the others exact (no early stop on an Inf norm).
    bb = b[2].copy()
    bb[1, 0] = np.inf
    f = dx.expm_multiply(a[2], bb).numpy()
    assert not np.isfinite(f[:, 0]).all()
    np.testing.assert_allclose(f[:, 1], sla.expm(a[2]) @ bb[:, 1], rtol=1e-13)
    # Huge finite norms: bounded (the dense route), finite answers where the exact one is.
    rot = np.array([[0.0, -1e8], [1e8, 0.0]])
    f = dx.expm_multiply(rot, np.array([1.0, 0.0])).numpy()
    assert abs(np.linalg.norm(f) - 1) < 1e-6


def test_dense_route():
    # ||tA||_1 large against n: forming exp(tA) costs less; same answers, choice code 63.
    rng = np.random.default_rng(9)
    a = rng.standard_normal((6, 6)) * 300
    a = (a - a.T) / 2  # skew: bounded result
    b = rng.standard_normal((6, 2))
    f, code = _ops.detexp_expm_multiply(a, b, tf.constant(1.0, tf.float64))
    assert int(code) == 63
    ref = _mp_action(a, b)
    assert _relerr(f.numpy(), ref) <= max(4 * _relerr(sla.expm(a) @ b, ref), 64 * EPS[np.float64])


def test_empty():
    assert dx.expm_multiply(np.zeros((0, 0)), np.zeros((0, 3))).shape == (0, 3)
    assert dx.expm_multiply(np.ones((2, 2)), np.zeros((2, 0))).shape == (2, 0)
    assert dx.expm_multiply(np.zeros((0, 4, 4)), np.zeros((0, 4, 1))).shape == (0, 4, 1)
    assert dx.numpy.expm_multiply(np.zeros((0, 0)), np.zeros((0,))).shape == (0,)


def test_unknown_batch_in_graph():
    f = tf.function(lambda a, b, t: dx.expm_multiply(a, b, t),
                    input_signature=[tf.TensorSpec([None, 4, 4], tf.float64), tf.TensorSpec([None, 4, 2], tf.float64),
                                     tf.TensorSpec([], tf.float64)])
    a = np.random.default_rng(1).standard_normal((3, 4, 4))
    b = np.ones((3, 4, 2))
    np.testing.assert_array_equal(f(a, b, 0.5).numpy(), dx.expm_multiply(a, b, 0.5).numpy())


@pytest.mark.parametrize("name", ["large_norm", "moler_van_loan", "nilpotent", "nonnormal", "rotation"])
def test_hard_cases_on_the_taylor_route(name):
    # At n <= 15 most HARD problems take the dense route (cheaper there). Padded with zeros to
    # n = 200, the same problem runs the Taylor steps (exp(diag(A, 0)) = diag(exp(A), I)); against
    # mpmath on the small block, next to SciPy's expm_multiply on the same padded problem.
    rng = np.random.default_rng(7)
    a = HARD[name](rng)
    b = rng.standard_normal((len(a), 2))
    ref = _mp_action(a, b)
    n = 200
    big_a = np.zeros((n, n))
    big_a[:len(a), :len(a)] = a
    big_b = rng.standard_normal((n, 2))
    big_b[:len(a)] = b
    f, code = _ops.detexp_expm_multiply(big_a, big_b, tf.constant(1.0, tf.float64))
    assert int(code) != 63, int(code)
    f = f.numpy()
    err_dx = _relerr(f[:len(a)], ref)
    err_sp = _relerr(spla.expm_multiply(big_a, big_b)[:len(a)], ref)
    # Moler-Van Loan's matrix padded: the shift mu = trace/n no longer centres its eigenvalues
    # (-1, -17), so each of the 3 steps sums terms ~1e14 times the result (||hA||_1 ~ 38) and the
    # cancellation leaves ~1e-13 in both codes' rounding (SciPy: (m, s) = (50, 3), ours (46, 3)).
    factor = 32 if name == "moler_van_loan" else 4
    assert err_dx <= max(factor * err_sp, 64 * EPS[np.float64]), (err_dx, err_sp)
    np.testing.assert_allclose(f[len(a):], big_b[len(a):], rtol=0, atol=1e-13 * np.abs(big_b).max())

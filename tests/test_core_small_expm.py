"""The team algorithm of cc/core/small_expm.h (what the CUDA expm kernels run), on one CPU thread.

The test module's team_expm(a, e, mode, threads) -> (results, choices): mode 0 exp(a), 1 (exp(a),
L(a, e)), 2 L(a^H, e) (expm's backward). References: scipy.linalg.expm / expm_frechet in double precision,
mpmath at 50 digits for the hard cases, closed forms, and the adjoint identity
<L(A^H, G), E> = <G, L(A, E)> (Frobenius inner product).
"""
import mpmath
import numpy as np
import pytest
import scipy.linalg as sla

from conftest import ALL_DTYPES, random_matrices, native_hooks, tol

hooks = native_hooks()


def _team(a, e, mode, threads=1):
    return hooks.team_expm(a, e, mode, threads)[0]


def _wide(x):
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)


def _expm(a):
    return _team(a, a, 0)


def _frechet(a, e):
    return _team(a, e, 1)


def _adjoint(a, g):
    return _team(a, g, 2)


def _rel(x, ref):
    x, ref = np.asarray(x), np.asarray(ref)
    return np.linalg.norm((x - ref).ravel()) / max(np.linalg.norm(ref.ravel()), np.finfo(np.float64).tiny)


def _each(a, f):
    return np.stack([f(x) for x in _wide(a).reshape(-1, *a.shape[-2:])]).reshape(a.shape)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", list(range(1, 17)))
@pytest.mark.parametrize("scale", [1e-3, 0.3, 2.0, 8.0])
def test_expm_matches_scipy(n, dtype, scale):
    # Norms from 1e-3 (m = 3) to about 8 sqrt(n) n (m = 13 / 7 with several squarings).
    a = (scale * random_matrices((3, n, n), dtype, seed=n) / np.sqrt(n)).astype(dtype)
    got = _expm(a)
    assert got.dtype == a.dtype
    for i in range(a.shape[0]):
        ref = sla.expm(_wide(a[i]))
        # Relative to ||exp(A)||, times the condition growth e^{||A||} / ||exp(A)|| of the problem.
        cond = np.exp(np.linalg.norm(_wide(a[i]), 1)) / np.linalg.norm(ref, 1)
        assert _rel(got[i], ref) <= 10 * tol(dtype) * max(1.0, cond ** 0.5), (i, _rel(got[i], ref))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [2, 5, 16])
def test_large_norm_many_squarings(n, dtype):
    # Skew-symmetric (skew-Hermitian) times a large factor: exp is unitary (norm 1) while s is large.
    rng = np.random.default_rng(n)
    for factor in (1e2, 1e4, 1e6 if np.dtype(dtype).itemsize >= 8 and np.dtype(dtype) != np.complex64 else 1e3):
        x = random_matrices((n, n), dtype, seed=int(factor) % 97 + n)
        k = (x - x.conj().T) * factor / np.linalg.norm(x, 1)
        k = k.astype(dtype)
        got = _expm(k[None])[0]
        ref = sla.expm(_wide(k))
        # exp is as conditioned as ||A||: the error grows like ||A|| u.
        assert _rel(got, ref) <= 10 * tol(dtype) * max(1.0, factor * 1e-2), (factor, _rel(got, ref))
        np.testing.assert_allclose(_wide(got) @ _wide(got).conj().T, np.eye(n), atol=tol(dtype) * factor)
    assert rng is not None


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [1, 3, 8, 16])
def test_tiny_norm(n, dtype):
    # exp(A) = I + A + A^2/2 + O(||A||^3): the off-diagonal entries keep the relative accuracy of
    # A (the identity is added exactly, expm.h), the diagonal is within a few ulps of 1 + a_ii.
    a = (1e-6 * random_matrices((2, n, n), dtype, seed=n)).astype(dtype)
    got = _wide(_expm(a))
    w = _wide(a)
    ref = np.eye(n) + w + w @ w / 2 + w @ w @ w / 6
    eps = np.finfo(dtype).eps
    off = ~np.eye(n, dtype=bool)
    for i in range(2):
        assert np.abs(np.diag(got[i]) - np.diag(ref[i])).max() <= 2 * eps
        if n > 1:
            assert _rel(got[i][off], ref[i][off]) <= 10 * tol(dtype)


def _mp_expm(a):
    with mpmath.workdps(50):
        m = mpmath.expm(mpmath.matrix(_wide(a).tolist()))
        return np.array(m.tolist(), dtype=np.complex128 if np.iscomplexobj(a) else np.float64)


HARD = [
    np.array([[1.0, 1e6], [0.0, 1.0]]),  # triangular, huge off-diagonal: exp = e [[1, 1e6], [0, 1]]
    np.array([[-49.0, 24.0], [-64.0, 31.0]]),  # Moler & Van Loan's example (eigenvalues -1, -17)
    np.array([[0.0, 1e-8, 0.0], [-(2e10 + 4e8 / 6.0), -3.0, 2e10], [200.0 / 3.0, 0.0, -200.0 / 3.0]]),  # AH2009 Ex. 3.1
    np.array([[1.0, 1e4, 1e8], [0.0, 1.0 + 1e-7, 1e4], [0.0, 0.0, 1.0 - 1e-7]]),  # triangular, close eigenvalues
    np.triu(np.full((4, 4), 30.0)) - np.diag([0.0, 10.0, 20.0, 30.0]),  # upper triangular, s > 0
]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("k", range(len(HARD)))
def test_hard_cases_against_mpmath(k, dtype):
    a = HARD[k].astype(dtype)
    got = _expm(a[None])[0]
    ref = _mp_expm(a)
    # The relative condition number of these is large (AH2009 §3); tolerances as the CPU tests.
    bound = {0: 10, 1: 1e3, 2: 1e4, 3: 1e3, 4: 100}[k] * tol(dtype)
    assert _rel(got, ref) <= bound, _rel(got, ref)
    if k == 0:
        np.testing.assert_allclose(got, np.e * np.array([[1, 1e6], [0, 1]]), rtol=tol(dtype))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("mode", [0, 1, 2])
def test_nan_inf_give_nan(mode, dtype):
    n = 4
    a = random_matrices((3, n, n), dtype, seed=1)
    a[0, 1, 2] = np.nan
    a[1, 0, 0] = np.inf
    a[2, 3, 1] = -np.inf
    e = random_matrices((3, n, n), dtype, seed=2)
    out = _team(a, e, mode)
    for x in (out if isinstance(out, tuple) else (out,)):
        assert np.isnan(x.real).all()
    # NaN only in the direction: exp(a) is computed, L is NaN.
    a = random_matrices((1, n, n), dtype, seed=3)
    e = random_matrices((1, n, n), dtype, seed=4)
    e[0, 0, 0] = np.nan
    r, l = _frechet(a, e)
    assert _rel(r[0], sla.expm(_wide(a[0]))) <= 10 * tol(dtype)
    assert np.isnan(l.real).all()
    assert np.isnan(_adjoint(a, e).real).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_overflowing_finite_input_terminates(dtype):
    # Finite but huge: the squarings are capped as on the CPU (no hang); the result overflows.
    big = np.finfo(dtype).max / 4
    a = np.array([[[big, big], [big, big]], [[-big, 0], [0, -big]]], dtype)
    got = _expm(a)
    assert not np.isfinite(got[0]).all()
    np.testing.assert_array_equal(got[1], np.zeros((2, 2), dtype))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", list(range(1, 17)))
@pytest.mark.parametrize("scale", [0.1, 3.0])
def test_frechet_matches_scipy(n, dtype, scale):
    a = (scale * random_matrices((2, n, n), dtype, seed=n) / np.sqrt(n)).astype(dtype)
    e = random_matrices((2, n, n), dtype, seed=50 + n)
    r, l = _frechet(a, e)
    for i in range(2):
        ref_r, ref_l = sla.expm_frechet(_wide(a[i]), _wide(e[i]))
        assert _rel(r[i], ref_r) <= 10 * tol(dtype)
        assert _rel(l[i], ref_l) <= 30 * tol(dtype), _rel(l[i], ref_l)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 8, 12, 16])
@pytest.mark.parametrize("scale", [0.05, 1.0, 20.0])
def test_adjoint_identity_and_scipy(n, dtype, scale):
    a = (scale * random_matrices((n, n), dtype, seed=n) / np.sqrt(n)).astype(dtype)[None]
    e = random_matrices((1, n, n), dtype, seed=10 + n)
    g = random_matrices((1, n, n), dtype, seed=20 + n)
    adj = _adjoint(a, g)[0]
    _, fre = _frechet(a, e)
    lhs = np.vdot(_wide(adj), _wide(e[0]))  # <L(A^H, G), E>
    rhs = np.vdot(_wide(g[0]), _wide(fre[0]))  # <G, L(A, E)>
    scale_ip = np.linalg.norm(_wide(adj)) * np.linalg.norm(_wide(e[0]))
    assert abs(lhs - rhs) <= 30 * tol(dtype) * scale_ip, (lhs, rhs)
    ref = sla.expm_frechet(_wide(a[0]).conj().T, _wide(g[0]), compute_expm=False)
    assert _rel(adj, ref) <= 30 * tol(dtype) * max(1.0, scale / 4), _rel(adj, ref)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_frechet_and_adjoint_finite_differences(dtype):
    # Central differences of scipy's expm in double precision along E: an independent check of L.
    n = 5
    a = random_matrices((n, n), dtype, seed=9) / 2
    e = random_matrices((n, n), dtype, seed=10)
    h = 1e-6
    fd = (sla.expm(_wide(a) + h * _wide(e)) - sla.expm(_wide(a) - h * _wide(e))) / (2 * h)
    _, l = _frechet(a[None], e[None])
    assert _rel(l[0], fd) <= max(30 * tol(dtype), 1e-8)
    # d/dt Re<G, exp(A + tE)> = Re<L(A^H, G), E>.
    g = random_matrices((n, n), dtype, seed=11)
    adj = _adjoint(a[None], g[None])[0]
    assert abs(np.vdot(_wide(g), fd).real - np.vdot(_wide(adj), _wide(e)).real) <= max(
        30 * tol(dtype), 1e-8) * np.linalg.norm(fd) * np.linalg.norm(g)


def test_empty_and_batch_shapes():
    a = random_matrices((2, 3, 4, 4), np.float64, seed=5)
    got = _expm(a)
    assert got.shape == a.shape
    assert _rel(got, _each(a, sla.expm)) <= 10 * tol(np.float64)
    assert _expm(np.zeros((0, 3, 3))).shape == (0, 3, 3)
    assert _expm(np.zeros((2, 0, 0))).shape == (2, 0, 0)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("threads", [2, 3, 5])
@pytest.mark.parametrize("mode", [0, 1, 2])
def test_thread_team_identical_to_one_thread(mode, threads, dtype):
    # The GPU's decomposition (each member's share of every loop, barriers, reductions) emulated by
    # OS threads: every entry is computed by one member in the same order as by a single thread,
    # so the results must be bitwise identical; a missing barrier or share shows up as a difference.
    ns = [1, 2, 3, 4, 6, 9, 16, 17]
    for n in ns:
        a = random_matrices((3, n, n), dtype, seed=n)
        a[0] *= 0.01
        a[2] *= 20.0 / np.sqrt(n)
        a[1] = np.triu(a[1])
        e = random_matrices((3, n, n), dtype, seed=n + 1)
        one = _team(a, e, mode, 1)
        many = _team(a, e, mode, threads)
        for x, y in zip(one if isinstance(one, tuple) else (one,), many if isinstance(many, tuple) else (many,)):
            np.testing.assert_array_equal(x, y, err_msg=f"n={n}")

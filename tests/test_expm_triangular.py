"""The exponential of a triangular matrix is triangular, and so is the Fréchet derivative along a
triangular direction: on every driver (the TF op, dx.numpy, the GPU's team code on one and three
threads, the GPU's batched driver) the zeros stay exact zeros, every dtype and n (products,
combinations and the Padé denominator's substitutions without pivoting keep them; AH2009 Code
Fragment 2.1 puts back the exact diagonal and first off-diagonal)."""
import numpy as np
import pytest
import scipy.linalg as sla
import tensorflow as tf

import detexp as dx
from conftest import ALL_DTYPES, random_matrices, rel1, native_hooks, tol

hooks = native_hooks()


def _all_drivers(a, e=None, mode=0):
    """Results of every driver for the batch a (mode as the test hooks: 0 exp, 1 Fréchet, 2 adjoint)."""
    a = np.ascontiguousarray(a)
    e = a if e is None else np.ascontiguousarray(e)
    out = {}
    if mode == 0:
        out["op"] = dx.expm(tf.constant(a)).numpy()
        out["numpy"] = dx.numpy.expm(a)
    elif mode == 1:
        out["op"] = dx.expm_frechet(tf.constant(a), tf.constant(e))[1].numpy()
        out["numpy"] = dx.numpy.expm_frechet(a, e)[1]
    else:
        out["op"] = dx._expm._ops.detexp_expm_grad(a, e, np.full(a.shape[0], -1, np.int32)).numpy()
    pick = (lambda r: r) if mode != 1 else (lambda r: r[1])
    for threads in (1, 3):
        out[f"team{threads}"] = pick(hooks.team_expm(a, e, mode, threads)[0])
    if a.shape[-1] >= 3:
        out["batched"] = pick(hooks.blas_expm(a, e, mode, 4)[0])
    return out


def _triangular_batch(n, dtype, upper, seed):
    x = random_matrices((5, n, n), dtype, seed=seed)
    scales = np.array([0.05, 0.5, 2.0, 8.0, 40.0])[:, None, None] / np.sqrt(n)
    x = (x * scales).astype(dtype)
    return np.triu(x) if upper else np.tril(x)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_nilpotent_gives_the_exact_integers(dtype):
    # exp(N) = I + N + N^2/2 + N^3/6 for the 4×4 N with 6 on the superdiagonal: integers, exactly.
    n = np.diag([6.0, 6.0, 6.0], 1)
    exact = np.array([[1, 6, 18, 36], [0, 1, 6, 18], [0, 0, 1, 6], [0, 0, 0, 1]], dtype)
    for a, want in ((n, exact), (n.T, exact.T)):
        for name, got in _all_drivers(a.astype(dtype)[None]).items():
            np.testing.assert_array_equal(got[0], want, err_msg=name)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [2, 3, 5, 8, 9, 16, 17, 33])
@pytest.mark.parametrize("upper", [True, False])
def test_exp_of_triangular_is_exactly_triangular(n, dtype, upper):
    a = _triangular_batch(n, dtype, upper, seed=n)
    zero = ~np.triu(np.ones((n, n), bool)) if upper else ~np.tril(np.ones((n, n), bool))
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    for name, got in _all_drivers(a).items():
        assert np.all(got[:, zero] == 0), name
        for i in range(len(a)):
            ref = sla.expm(a[i].astype(wide))
            assert rel1(got[i], ref) <= 50 * tol(dtype) * max(1.0, np.linalg.norm(a[i], 1)), (name, i)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [4, 9, 17])
def test_frechet_and_gradient_of_triangular_are_exactly_triangular(n, dtype):
    # L(A, E) for A, E upper triangular is upper triangular; the gradient L(A^H, G) for G lower
    # triangular is lower triangular.
    a = _triangular_batch(n, dtype, True, seed=n + 1)
    e = _triangular_batch(n, dtype, True, seed=n + 2)
    lower_zero = ~np.tril(np.ones((n, n), bool))
    for name, got in _all_drivers(a, e, mode=1).items():
        assert np.all(got[:, lower_zero.T] == 0), name
    g = np.conj(np.swapaxes(e, -1, -2))
    for name, got in _all_drivers(a, g, mode=2).items():
        assert np.all(got[:, lower_zero] == 0), name

"""The real 2×2 closed form of dx.expm (cc/core/expm_2x2.h) against mpmath at 40 digits.

A backward-stable evaluation of exp at A has normwise relative error of order u·||A|| (the
sensitivity of e^λ to the rounding of λ); scaling and squaring adds up to 2^s times its rounding.
The classes below stress each cancellation the closed form must avoid."""
import mpmath
import numpy as np
import pytest
import scipy.linalg as sla
import tensorflow as tf

import detexp as dx
from conftest import rel1, native_hooks

EPS64 = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps


def _mp_expm(a):
    mpmath.mp.dps = 40
    return np.array(mpmath.expm(mpmath.matrix(np.asarray(a, dtype=np.float64).tolist())).tolist(), dtype=float)


def _cases(kind, count=25, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        if kind.startswith("random"):
            out.append(float(kind[len("random"):]) * rng.standard_normal((2, 2)))
        elif kind == "discriminant_cancels":  # bc ≈ -p²: δ² = p² + bc loses every digit if formed naively
            t, p = 5 * rng.standard_normal(), 10 ** rng.uniform(-3, 4)
            b = 10 ** rng.uniform(-3, 8) * rng.choice([-1, 1])
            c = (10 ** rng.uniform(-14, 0) * rng.choice([-1, 1]) - p * p) / b
            out.append(np.array([[t + p, b], [c, t - p]]))
        elif kind == "near_equal_eigenvalues":
            out.append(np.array([[1.0, 1e-7 * rng.standard_normal()],
                                 [1e-7 * rng.standard_normal(), 1.0 + 1e-9 * rng.standard_normal()]]))
        elif kind == "complex_eigenvalues":  # large rotation part, small decay
            w, t = 10 ** rng.uniform(-2, 2), rng.uniform(-3, 3)
            s = 10 ** rng.uniform(-2, 2)
            out.append(np.array([[t, -w * s], [w / s, t]]))
        elif kind == "far_apart_eigenvalues":  # e^λ2 underflows while e^λ1 is O(1)
            out.append(np.array([[-rng.uniform(700, 900), rng.standard_normal()],
                                 [rng.standard_normal(), -rng.uniform(0, 5)]]))
    return out


KINDS = ["random1e-8", "random1", "random10", "random100", "discriminant_cancels",
         "near_equal_eigenvalues", "complex_eigenvalues", "far_apart_eigenvalues"]


@pytest.mark.parametrize("kind", KINDS)
def test_float64_error_is_order_u_norm(kind):
    cases = _cases(kind)
    got = dx.numpy.expm(np.stack(cases))
    for a, x in zip(cases, got):
        ref = _mp_expm(a)
        bound = 4 * EPS64 * (1 + np.linalg.norm(a, 1))
        assert rel1(x, ref) <= bound, (a, rel1(x, ref) / EPS64)


@pytest.mark.parametrize("kind", KINDS)
def test_float64_median_error_not_worse_than_scipy(kind):
    cases = _cases(kind, seed=1)
    ours = [rel1(x, _mp_expm(a)) for a, x in zip(cases, dx.numpy.expm(np.stack(cases)))]
    theirs = [rel1(sla.expm(a), _mp_expm(a)) for a in cases]
    assert np.median(ours) <= max(np.median(theirs), 2 * EPS64), (np.median(ours), np.median(theirs))


@pytest.mark.parametrize("kind", KINDS)
def test_float32_is_rounded_float64_closed_form(kind):
    cases = [a.astype(np.float32) for a in _cases(kind, seed=2)]
    got = dx.numpy.expm(np.stack(cases))
    assert got.dtype == np.float32
    for a, x in zip(cases, got):
        ref = _mp_expm(a)
        if not np.all(np.isfinite(ref.astype(np.float32))):
            continue
        # evaluated in double: one float32 rounding per entry, plus subnormal flushing near 0
        assert rel1(x, ref) <= 2 * EPS32 + 4 * EPS64 * (1 + np.linalg.norm(a, 1)), (a, rel1(x, ref) / EPS32)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_tf_op_matches_numpy_module(dtype):
    cases = np.stack(_cases("random1", 7) + _cases("discriminant_cancels", 7)).reshape(2, 7, 2, 2)
    a = cases.astype(dtype.as_numpy_dtype)
    np.testing.assert_array_equal(dx.expm(tf.constant(a)).numpy(), dx.numpy.expm(a))


def test_badly_scaled_off_diagonals():
    """D A D^-1 with D = diag(1, 1e150): exp(D A D^-1) = D exp(A) D^-1 (SciPy's expm loses it)."""
    a = np.array([[1.0, 2.0], [0.5, 1.0]])
    d = np.array([1.0, 1e150])
    scaled = a * d[:, None] / d[None, :]
    ref = _mp_expm(a) * d[:, None] / d[None, :]
    np.testing.assert_allclose(dx.numpy.expm(scaled), ref, rtol=4 * EPS64)


def test_outside_the_closed_forms_range_takes_scaling_and_squaring():
    a = np.array([[705.0, 1.0], [0.0, 1.0]])  # λ1 > 700: the result is finite, e^705 ≈ 1.6e306
    np.testing.assert_allclose(dx.numpy.expm(a), sla.expm(a), rtol=1e-12)
    a = np.array([[-1e300, 0.0], [0.0, -1e300]])  # |a| ≥ 2^500
    np.testing.assert_array_equal(dx.numpy.expm(a), np.zeros((2, 2)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_input_gives_nan(bad):
    a = np.array([[[1.0, bad], [0.0, 1.0]], [[0.0, 1.0], [-1.0, 0.0]]])
    out = dx.numpy.expm(a)
    assert np.all(np.isnan(out[0]))
    np.testing.assert_allclose(out[1], [[np.cos(1), np.sin(1)], [-np.sin(1), np.cos(1)]], rtol=0, atol=2 * EPS64)


def test_closed_forms():
    """Commuting cases: diagonal, nilpotent, rotation, hyperbolic rotation."""
    np.testing.assert_allclose(dx.numpy.expm(np.diag([2.0, -3.0])), np.diag(np.exp([2.0, -3.0])), rtol=EPS64)
    np.testing.assert_array_equal(dx.numpy.expm(np.array([[0.0, 7.0], [0.0, 0.0]])), [[1.0, 7.0], [0.0, 1.0]])
    th = 0.7
    np.testing.assert_allclose(dx.numpy.expm(np.array([[0.0, -th], [th, 0.0]])),
                               [[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]], rtol=2 * EPS64)
    np.testing.assert_allclose(dx.numpy.expm(np.array([[0.0, th], [th, 0.0]])),
                               [[np.cosh(th), np.sinh(th)], [np.sinh(th), np.cosh(th)]], rtol=2 * EPS64)


@pytest.mark.parametrize("threads", [1, 3])
def test_gpu_team_code_takes_the_same_closed_form(threads):
    """cc/core/small_expm.h (the GPU's algorithm, run here by CPU threads) gives the same bits."""
    hooks = native_hooks()
    cases = np.stack(_cases("random10", 9) + _cases("discriminant_cancels", 9) + _cases("far_apart_eigenvalues", 9))
    for dtype in (np.float32, np.float64):
        a = np.asfortranarray(cases.astype(dtype))
        for ai in a:
            ai = np.ascontiguousarray(ai)
            np.testing.assert_array_equal(hooks.team_expm(ai, ai, 0, threads)[0], dx.numpy.expm(ai))

"""Property-based fuzz (hypothesis) over shapes, dtypes and values: NaN, ±Inf, ±0, denormals,
numbers near the dtype's range limits (1e±300 in float64, 1e±38 in float32), exactly singular
matrices, and huge batches of tiny matrices. Every call must return (no crash, no hang) a
documented result:

- slogdet/det/logdet (TF and dx.numpy, the same bits): NaN anywhere in a matrix -> sign and
  logabsdet NaN; real ±Inf without NaN -> LAPACK's elimination of A (rows interchanged), which
  conftest.lapack_getf2_slogdet transcribes; complex ±Inf -> NaN; finite input -> sign in
  {-1, 0, 1} (real) or on the unit circle (complex), sign 0 exactly where logabsdet = -inf, and no NaN or +inf
  unless partial pivoting's growth bound (2^(n-1) max|a_ij|) leaves the dtype's range; close to
  NumPy's float64/complex128 answer for well-conditioned matrices of moderate scale.
- expm (TF and dx.numpy, the same bits): NaN/Inf in a matrix -> that matrix all NaN; finite
  moderate norm -> close to scipy.linalg.expm; huge norms -> returns (Inf/NaN allowed).
- inverse, adjugate, gradients: return arrays of the input's shape; the adjugate of non-finite
  input is NaN.
Runs derandomized (the same examples every run) so that CI is reproducible.
"""
import numpy as np
import pytest
import scipy.linalg as sla
import tensorflow as tf
from hypothesis import HealthCheck, given, settings, strategies as st

import detexp as dx
from conftest import lapack_getf2_slogdet

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _real(dtype):
    return np.finfo(dtype).dtype.type


def _specials(dtype):
    r = _real(dtype)
    fi = np.finfo(r)
    big, small = (1e300, 1e-300) if r is np.float64 else (1e38, 1e-38)
    return np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, fi.smallest_subnormal, 3 * fi.smallest_subnormal,
                     big, -big, small, fi.max, 1.0, -1.0], dtype=r)


@st.composite
def matrices(draw, max_n=12, max_batch=4):
    """(a, kind): a batch [*batch_shape, n, n] in one of the dtypes."""
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.one_of(st.integers(0, max_n), st.sampled_from([16, 17, 24, 25, 41])))
    batch_shape = tuple(draw(st.lists(st.integers(0, max_batch), max_size=2)))
    kind = draw(st.sampled_from(["normal", "specials", "scaled", "singular", "integers"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = batch_shape + (n, n)
    a = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        a = a + 1j * rng.standard_normal(shape)
    if kind == "specials":  # a few entries replaced by special values
        mask = rng.random(shape) < draw(st.sampled_from([0.05, 0.2, 1.0]))
        vals = rng.choice(_specials(dtype), size=shape)
        a = np.where(mask, vals, a)
    elif kind == "scaled":  # whole matrices near the range limits
        a = a * rng.choice(_specials(dtype)[5:11], size=batch_shape + (1, 1))
    elif kind == "singular" and n >= 2:
        a[..., :, -1] = a[..., :, 0] * 2  # dependent columns: an exact zero pivot in any order
    elif kind == "integers":  # exact ties in the pivot search
        a = rng.integers(-2, 3, shape).astype(a.dtype)
    with np.errstate(all="ignore"):
        return a.astype(dtype), kind


def _without_subnormals(a):
    """Mask over a's matrices [...] whose finite nonzero entries lie within [sqrt(tiny), 1/sqrt(tiny)].
    TensorFlow runs its CPU kernels with denormals flushed to zero (FTZ/DAZ on its op threads), so
    subnormal inputs read as 0 and subnormal intermediates (a tiny entry times another, a small one
    over a huge pivot) become 0 there; dx.numpy leaves the FPU as the caller set it (IEEE gradual
    underflow, as NumPy). The two agree bit for bit where no such value can arise (README, dx.numpy)."""
    with np.errstate(all="ignore"):
        mags = [np.abs(a.real), np.abs(a.imag)] if np.iscomplexobj(a) else [np.abs(a)]
        lim = np.sqrt(np.finfo(mags[0].dtype).tiny)
        clear = np.ones(a.shape[:-2], bool)
        for r in mags:
            bad = np.isfinite(r) & (r != 0) & ((r < lim) | (r > 1 / lim))
            clear &= ~bad.any(axis=(-2, -1))
    return clear


def _check_slogdet(a, sign, lad):
    dtype = a.dtype
    n = a.shape[-1]
    flat_a = a.reshape((int(np.prod(a.shape[:-2])), n, n))  # (-1, 0, 0) is ambiguous
    flat_s, flat_l = np.asarray(sign).reshape(-1), np.asarray(lad).reshape(-1)
    r = _real(dtype)
    fi = np.finfo(r)
    for m, s, l in zip(flat_a, flat_s, flat_l):
        if n == 0:
            assert s == 1 and l == 0
            continue
        with np.errstate(all="ignore"):
            has_nan = np.isnan(m).any()
            finite = np.isfinite(m).all()
        if has_nan or (not finite and np.iscomplexobj(m)):
            assert np.isnan(s) and np.isnan(l), (m, s, l)
            continue
        if not finite:
            rs, rl = lapack_getf2_slogdet(m)
            assert (np.isnan(s) and np.isnan(rs)) or s == rs, (m, s, rs)
            assert (np.isnan(l) and np.isnan(rl)) or l == rl or abs(l - rl) <= 1e-3 * max(1.0, abs(rl)), (m, l, rl)
            continue
        if not _without_subnormals(m):
            # TF's flush-to-zero threads (see _without_subnormals): the subnormal entries read as 0
            # and subnormal intermediates are flushed, so only "no crash, real output" is owed.
            continue
        assert (s == 0) == (l == -np.inf), (s, l)
        if s != 0:
            assert abs(abs(s) - 1) < 10 * fi.eps, s
            if not np.iscomplexobj(m):
                assert s in (-1, 1)
        if np.abs(m).max() * 2.0 ** (n - 1) * n < fi.max:  # no overflow possible
            assert not np.isnan(l) and l != np.inf, (m, l)
        with np.errstate(all="ignore"):
            wide = m.astype(np.complex128 if np.iscomplexobj(m) else np.float64)
            cond = np.linalg.cond(wide) if np.isfinite(wide).all() else np.inf
            scale = np.abs(m).max()
        if s != 0 and cond < 1e3 and 1e-15 < scale < 1e15 and np.abs(m[m != 0]).min() > 1e-15 * scale:
            ref_s, ref_l = np.linalg.slogdet(wide)
            tol = 1e-4 if r is np.float32 else 1e-10
            assert abs(l - ref_l) <= tol * n * max(1.0, abs(ref_l)), (l, ref_l)
            assert abs(s - ref_s) <= tol * n, (s, ref_s)


@FUZZ
@given(matrices())
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_slogdet_family(case):
    a, _ = case
    sign, lad = (x.numpy() for x in dx.slogdet(tf.constant(a)))
    assert sign.shape == a.shape[:-2] and lad.shape == a.shape[:-2]
    assert sign.dtype == a.dtype and lad.dtype == _real(a.dtype)
    _check_slogdet(a, sign, lad)
    np_sign, np_lad = dx.numpy.slogdet(a)
    same = _without_subnormals(a)
    np.testing.assert_array_equal(np.asarray(np_sign)[same], sign[same])
    np.testing.assert_array_equal(np.asarray(np_lad)[same], lad[same])
    det = dx.det(tf.constant(a)).numpy()
    with np.errstate(all="ignore"):
        assert np.array_equal(np.isnan(det), np.isnan(sign * np.exp(lad.astype(sign.dtype))))
    logdet = dx.logdet(tf.constant(a)).numpy()
    assert logdet.shape == sign.shape


@FUZZ
@given(matrices(max_n=10, max_batch=3))
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_inverse_adjugate_and_gradients(case):
    a, _ = case
    x = tf.constant(a)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        lad = dx.logabsdet(x)
        det = dx.det(x)
        inv = dx.inverse(x)
        adj = dx.adjugate(x)
    for y in (lad, det, inv, adj):
        g = tape.gradient(y, x)
        assert g.shape == a.shape
    assert inv.shape == a.shape and adj.shape == a.shape
    n = a.shape[-1]
    if n >= 2:
        with np.errstate(all="ignore"):
            bad = ~np.isfinite(a.reshape((-1, n, n))).all(axis=(1, 2))
        assert np.isnan(adj.numpy().reshape((-1, n, n))[bad]).all()


@FUZZ
@given(matrices(max_n=9, max_batch=3))
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_expm(case):
    a, kind = case
    out = dx.expm(tf.constant(a)).numpy()
    assert out.shape == a.shape and out.dtype == a.dtype
    same = _without_subnormals(a)
    np.testing.assert_array_equal(dx.numpy.expm(a)[same], out[same])
    n = a.shape[-1]
    if n == 0:
        return
    flat_a, flat_o = a.reshape((-1, n, n)), out.reshape((-1, n, n))
    for m, e in zip(flat_a, flat_o):
        with np.errstate(all="ignore"):
            finite = np.isfinite(m).all()
            norm = np.abs(m).sum(axis=0).max() if finite else np.inf
        if not finite:
            assert np.isnan(e).all()
        elif norm < 20 and (m == 0).all() or 1e-30 < norm < 20:
            wide = m.astype(np.complex128 if np.iscomplexobj(m) else np.float64)
            ref = sla.expm(wide)
            tol = 1e-3 if _real(a.dtype) is np.float32 else 1e-10
            assert np.abs(e - ref).max() <= tol * max(1.0, np.abs(ref).max()) * n


@settings(max_examples=12, deadline=None, derandomize=True)
@given(st.sampled_from(DTYPES), st.integers(1, 3), st.integers(0, 2**32 - 1))
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_huge_batches_of_tiny_matrices(dtype, n, seed):
    rng = np.random.default_rng(seed)
    batch = 200_000
    a = rng.standard_normal((batch, n, n))
    mask = rng.random(a.shape) < 0.02
    a = np.where(mask, rng.choice(_specials(dtype), size=a.shape), a)
    if np.issubdtype(dtype, np.complexfloating):
        a = a + 1j * rng.standard_normal(a.shape)
    with np.errstate(all="ignore"):
        a = a.astype(dtype)
    sign, lad = (x.numpy() for x in dx.slogdet(tf.constant(a)))
    # every matrix gets exactly what it gets alone (and what dx.numpy gives)
    np_sign, np_lad = dx.numpy.slogdet(a)
    same = _without_subnormals(a)
    np.testing.assert_array_equal(np_sign[same], sign[same])
    np.testing.assert_array_equal(np_lad[same], lad[same])
    picks = rng.choice(np.flatnonzero(same), 40, replace=False)
    for i in picks:
        s1, l1 = dx.numpy.slogdet(a[i])
        np.testing.assert_array_equal([s1, l1], [sign[i], lad[i]])
    _check_slogdet(a[picks], sign[picks], lad[picks])
    out = dx.numpy.expm(a[:20_000])
    assert out.shape == (20_000, n, n)

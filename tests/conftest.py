import importlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import tensorflow as tf

import detexp  # noqa: F401  (loads the op library once for the whole session)

REAL_DTYPES = [np.float32, np.float64]
COMPLEX_DTYPES = [np.complex64, np.complex128]
ALL_DTYPES = REAL_DTYPES + COMPLEX_DTYPES


def tol(dtype):
    """Relative tolerance for results of well-conditioned problems in the given precision."""
    return 2e-4 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-11


def rel1(x, ref):
    """1-norm relative error of x against ref, with x promoted to at least float64 (complex kept)."""
    x = np.asarray(x)
    x = x.astype(np.result_type(x.dtype, ref.dtype, np.float64))
    return np.linalg.norm(x - ref, 1) / np.linalg.norm(ref, 1)


def random_matrices(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if np.issubdtype(np.dtype(dtype), np.complexfloating):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


NATIVE = os.path.join(os.path.dirname(__file__), "native")


def native_hooks():
    """The test-only module _detexp_testing (cc/testing/: the GPU's per-matrix code run on the CPU),
    which CMake builds into tests/native/ and never installs."""
    if NATIVE not in sys.path:
        sys.path.insert(0, NATIVE)
    try:
        return importlib.import_module("_detexp_testing")
    except ImportError as e:
        raise ImportError(f"the test hooks are built by CMake into {NATIVE} (README's install command, or "
                          "`cmake --build build --target _detexp_testing`)") from e


def lapack_getf2(a):
    """LAPACK's xGETF2 on the real 2-D matrix a itself, in a's dtype: (the factors, L below the
    diagonal and U on and above it, in pivot order; perm, perm[k] = the row of a picked at step k;
    the permutation's sign). Rows interchanged, the first largest |a_ik| as pivot (IxAMAX: a NaN
    never counts as larger), multipliers a_ik * (1/a_kk) (a_ik / a_kk where 1/a_kk would be
    subnormal), no elimination under an exactly zero pivot."""
    a = a.copy()
    n = a.shape[0]
    r = a.dtype.type
    limit = r(1) / np.finfo(r).tiny
    perm = np.arange(n)
    parity = 1
    with np.errstate(all="ignore"):
        for k in range(n):
            col = np.abs(a[k:, k])
            p, best = k, col[0]
            for i in range(1, n - k):
                if col[i] > best:
                    p, best = k + i, col[i]
            if p != k:
                a[[k, p]] = a[[p, k]]
                perm[[k, p]] = perm[[p, k]]
                parity = -parity
            piv = a[k, k]
            if piv == 0:
                continue
            if abs(piv) < limit:
                a[k + 1:, k] *= r(1) / piv
            else:
                a[k + 1:, k] /= piv
            a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return a, perm, parity


def lapack_getf2_slogdet(a):
    """(sign, logabsdet) from lapack_getf2's factors of the real 2-D matrix a, in a's dtype: sign 0
    and -inf for an exactly zero pivot, NaN for a NaN on U's diagonal: the answer detexp documents
    for real input with ±Inf entries."""
    f, _, parity = lapack_getf2(a)
    r = a.dtype.type
    with np.errstate(all="ignore"):
        d = np.diag(f)
        if np.any(d == 0):
            return r(0), r(-np.inf)
        lad = np.sum(np.log(np.abs(d.astype(np.float64))))
        if np.isnan(lad):
            return r(np.nan), r(np.nan)
        return r(parity * np.prod(np.sign(d))), r(lad)


@pytest.fixture(autouse=True)
def _eager():
    tf.config.run_functions_eagerly(False)
    yield

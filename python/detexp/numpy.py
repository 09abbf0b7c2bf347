"""detexp on NumPy arrays, through pybind11 over the same cc/core code as the TF ops.

No TF graph is involved; the GIL is released and the batch is split over threads.
Same semantics and edge cases as the TF ops (see detexp.slogdet); invalid shapes raise ValueError.
"""
import numpy as np

from . import _detexp_numpy as _ext

_NATIVE = (np.float32, np.float64, np.complex64, np.complex128)


def _prepare(a):
    """(C-contiguous array in a native dtype, dtype to cast results to or None)."""
    a = np.asarray(a)
    if a.dtype.type in _NATIVE:
        return np.ascontiguousarray(a), None
    if a.dtype == np.float16:
        return np.ascontiguousarray(a, dtype=np.float32), np.float16
    if np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
        return np.ascontiguousarray(a, dtype=np.float64), None
    raise TypeError(f"detexp.numpy: unsupported dtype {a.dtype}")


def _cast(x, dtype):
    return x if dtype is None else x.astype(dtype)


def slogdet(a):
    """(sign, logabsdet) of [..., n, n]; logabsdet is real. See detexp.slogdet."""
    a, back = _prepare(a)
    sign, lad = _ext.slogdet(a)
    return _cast(sign, back), _cast(lad, back)


def logabsdet(a):
    return slogdet(a)[1]


def logdet(a):
    """Principal log of det: NaN where a real det < 0, -inf where det = 0."""
    sign, lad = slogdet(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        return lad + np.log(sign)


def det(a):
    sign, lad = slogdet(a)
    with np.errstate(over="ignore"):
        return sign * np.exp(lad.astype(sign.dtype) if np.iscomplexobj(sign) else lad)


def adjugate(a):
    """adj(a) with a @ adj(a) = det(a) I, exact at singular matrices."""
    a, back = _prepare(a)
    return _cast(_ext.adjugate(a), back)

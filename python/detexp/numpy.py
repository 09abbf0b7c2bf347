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


def expm(a):
    """exp(a) of [..., n, n] by scaling and squaring (Padé or Taylor, degree and scaling per matrix).

    NaN or Inf anywhere in a matrix gives an all-NaN result for that matrix. See detexp.expm.
    """
    a, back = _prepare(a)
    return _cast(_ext.expm(a), back)


def expm_frechet(a, e, compute_expm=True):
    """(expm(a), L(a, e)) like scipy.linalg.expm_frechet, batched; only L if compute_expm is False.

    L(a, e) is the Fréchet derivative of exp at a in the direction e; see detexp.expm_frechet.
    """
    a, back = _prepare(a)
    e = np.asarray(e)
    dtype = np.result_type(a.dtype, e.dtype)
    a = np.ascontiguousarray(a, dtype=dtype)
    e = np.ascontiguousarray(e, dtype=dtype)
    if a.shape != e.shape:
        raise ValueError(f"expm_frechet: a and e must have the same shape; got {a.shape} and {e.shape}")
    out = _ext.expm_frechet(a, e, compute_expm)
    if compute_expm:
        return _cast(out[0], back), _cast(out[1], back)
    return _cast(out, back)


from ._expm_multiply_np import expm_multiply  # noqa: E402  (exp(t a) @ b, see that module)

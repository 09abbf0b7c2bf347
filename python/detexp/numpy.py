"""detexp on NumPy arrays, through pybind11 over the same cc/core code as the TF ops.

No TF graph is involved; the GIL is released and the batch is split over threads. The functions
are drop-ins for their NumPy/SciPy namesakes on the inputs those accept:

- `slogdet`, `det` like `numpy.linalg`: a `SlogdetResult` (`.sign`, `.logabsdet`), NumPy scalars
  for a single 2-D matrix, any byte order, strides and memory order; integer and bool input is
  computed in float64; `LinAlgError` (a ValueError) naming the shape for anything but
  [..., n, n]. logabsdet is real for complex input. Singular: sign 0, logabsdet -inf; NaN
  anywhere: NaN; ±Inf entries: LAPACK's elimination order decides (see detexp.slogdet).
- `expm`, `expm_frechet` like `scipy.linalg` (1.17): expm keeps float32/complex64, computes float16
  in float32 and integers in float64, gives [[exp(a)]] for a scalar; expm_frechet takes SciPy's
  `method=` ('SPS', the default, or 'blockEnlarge'), `compute_expm` and `check_finite` keywords and
  broadcasts the batch dimensions of a and e. Unlike SciPy's expm_frechet (which returns float64
  for any real input) float32/complex64 stay in their precision, as in detexp.expm_frechet.
- `expm_multiply` like scipy.sparse.linalg.expm_multiply (see _expm_multiply_np.py).
- `logdet` (like torch.logdet) and `adjugate` have no NumPy namesake; they take the same inputs
  (float16 is computed in float32 and returned as float16 by the log-determinant family).
"""
from collections import namedtuple

import numpy as np
from numpy.linalg import LinAlgError

from . import _detexp_numpy as _ext

try:
    from numpy.linalg._linalg import SlogdetResult
except ImportError:  # NumPy < 2 returns a plain tuple; a namedtuple is a compatible superset
    SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])

_NATIVE = (np.float32, np.float64, np.complex64, np.complex128)


def _check_square(a, op):
    if a.ndim < 2:
        raise LinAlgError(f"{op}: {a.ndim}-dimensional array given. Array must be at least two-dimensional "
                          f"[..., n, n]; got shape {a.shape}")
    if a.shape[-1] != a.shape[-2]:
        raise LinAlgError(f"{op}: Last 2 dimensions of the array must be square; got shape {a.shape}")


def _compute_dtype(dtype, op, half):
    """The dtype the kernels run in: the four native ones as they are, integers and bool in
    float64 (as NumPy and SciPy), float16 in `half`; anything else is a TypeError."""
    if dtype.type in _NATIVE:
        return np.dtype(dtype.type)  # native byte order
    if np.issubdtype(dtype, np.integer) or dtype == np.bool_:
        return np.dtype(np.float64)
    if dtype == np.float16:
        return np.dtype(half)
    raise TypeError(f"{op}: array type {dtype} is unsupported (float16/32/64, complex64/128, integer or bool)")


def _prepare(a, op, half=np.float32):
    """(C-contiguous [..., n, n] array in native byte order and a kernel dtype, input dtype)."""
    a = np.asarray(a)
    _check_square(a, op)
    return np.ascontiguousarray(a, dtype=_compute_dtype(a.dtype, op, half)), a.dtype


def _cast_half(x, dtype):
    """float16 input: results back in float16 (the log-determinant family)."""
    return x.astype(dtype) if dtype == np.float16 else x


def _scalar_if_0d(x):
    return x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x


def slogdet(a):
    """`SlogdetResult(sign, logabsdet)` of [..., n, n], like numpy.linalg.slogdet; logabsdet is
    real. NumPy scalars for a 2-D input. See detexp.slogdet for the edge cases."""
    a, dtype = _prepare(a, "slogdet")
    sign, lad = _ext.slogdet(a)
    return SlogdetResult(_scalar_if_0d(_cast_half(sign, dtype)), _scalar_if_0d(_cast_half(lad, dtype)))


def logabsdet(a):
    """log|det a| of [..., n, n] (real); a NumPy scalar for a 2-D input."""
    return slogdet(a).logabsdet


def logdet(a):
    """Principal log of det: NaN where a real det < 0, -inf where det = 0."""
    sign, lad = slogdet(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _scalar_if_0d(np.asarray(lad + np.log(sign)))


def det(a):
    """det a of [..., n, n] like numpy.linalg.det, as sign * exp(logabsdet) from the LU: it
    overflows only where det itself does; a NumPy scalar for a 2-D input."""
    sign, lad = slogdet(a)
    sign, lad = np.asarray(sign), np.asarray(lad)
    with np.errstate(over="ignore", invalid="ignore"):
        out = sign * np.exp(lad.astype(sign.dtype) if np.iscomplexobj(sign) else lad)
    return _scalar_if_0d(out)


def adjugate(a):
    """adj(a) with a @ adj(a) = det(a) I, exact at singular matrices."""
    a, dtype = _prepare(a, "adjugate")
    return _cast_half(_ext.adjugate(a), dtype)


def expm(a):
    """exp(a) of [..., n, n] like scipy.linalg.expm: scaling and squaring (Padé or Taylor,
    degree and scaling per matrix). NaN or Inf anywhere in a matrix gives an all-NaN result for
    that matrix. See detexp.expm."""
    a = np.asarray(a)
    if a.size == 1 and a.ndim < 2:  # SciPy: a scalar is the 1x1 matrix [[a]]
        return np.array([[np.exp(a.item())]])
    a, _ = _prepare(a, "expm")
    return _ext.expm(a)


_FRECHET_METHODS = ("SPS", "blockEnlarge")


def expm_frechet(a, e, method=None, compute_expm=True, check_finite=True):
    """(expm(a), L(a, e)) like scipy.linalg.expm_frechet, batched; only L if compute_expm is False.

    L(a, e) is the Fréchet derivative of exp at a in the direction e. method: 'SPS' (default:
    scaling, Padé and squaring along the forward's chain, Al-Mohy & Higham 2009) or
    'blockEnlarge' (exp of the 2n x 2n block [[a, e], [0, a]], whose upper right block is L).
    check_finite: raise ValueError for Inf/NaN input (SciPy's default); with False such a matrix
    gives NaN. The batch dimensions of a and e broadcast against each other.
    """
    if method is None:
        method = "SPS"
    if method not in _FRECHET_METHODS:
        raise ValueError(f"Unknown implementation {method}")
    a = np.asarray_chkfinite(a) if check_finite else np.asarray(a)
    e = np.asarray_chkfinite(e) if check_finite else np.asarray(e)
    for name, x in (("A", a), ("E", e)):
        if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
            raise ValueError(f"expected {name} to be a square matrix (or a batch [..., n, n]); got shape {x.shape}")
    if a.shape[-1] != e.shape[-1]:
        raise ValueError(f"expected A and E to be the same shape; got {a.shape} and {e.shape}")
    dtype = np.result_type(_compute_dtype(a.dtype, "expm_frechet", np.float64),
                           _compute_dtype(e.dtype, "expm_frechet", np.float64))
    batch = np.broadcast_shapes(a.shape[:-2], e.shape[:-2])
    n = a.shape[-1]
    a = np.ascontiguousarray(np.broadcast_to(a, batch + (n, n)), dtype=dtype)
    e = np.ascontiguousarray(np.broadcast_to(e, batch + (n, n)), dtype=dtype)
    if method == "SPS":
        out = _ext.expm_frechet(a, e, compute_expm)
        return tuple(out) if compute_expm else out
    block = np.zeros(batch + (2 * n, 2 * n), dtype)
    block[..., :n, :n] = a
    block[..., :n, n:] = e
    block[..., n:, n:] = a
    x = _ext.expm(block)
    l = np.ascontiguousarray(x[..., :n, n:])
    return (np.ascontiguousarray(x[..., :n, :n]), l) if compute_expm else l


from ._expm_multiply_np import expm_multiply  # noqa: E402  (exp(t a) @ b, see that module)

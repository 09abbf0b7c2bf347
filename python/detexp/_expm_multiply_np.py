"""dx.numpy.expm_multiply: NumPy's dtype and shape conventions around the pybind11 kernel."""
import numpy as np

from . import _detexp_numpy as _ext


def _dtype(*arrays):
    """(computation dtype, dtype of the result): SciPy's promotion (integers and bools -> float64;
    float16 computed in float32 and cast back)."""
    dtype = np.result_type(*arrays)
    if dtype == np.float16:
        return np.dtype(np.float32), np.dtype(np.float16)
    if dtype.kind in "biu":
        return np.dtype(np.float64), None
    if dtype.kind not in "fc" or dtype.itemsize > (16 if dtype.kind == "c" else 8):
        raise TypeError(f"expm_multiply: unsupported dtype {dtype}")
    return dtype, None


def expm_multiply(a, b, t=1.0):
    """exp(t a) @ b without forming exp(t a), like scipy.sparse.linalg.expm_multiply, batched.

    a `[..., n, n]`, b `[..., n, k]` (or `[n]` with a 2-D a), t a scalar or an array of the batch
    shape; batch dimensions broadcast. The dtype is NumPy's promotion of a and b (and of a complex
    t), as SciPy's: integers and bools give float64; float16 is computed in float32 and cast back.
    Same algorithm and edge cases as detexp.expm_multiply; shape errors are ValueError naming the
    shapes.
    """
    a, b, t = np.asarray(a), np.asarray(b), np.asarray(t)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"expm_multiply: expected a to be a square matrix or a batch [..., n, n]; got shape {a.shape}")
    # t takes part in the promotion only where it makes the result complex (a real t is cast); an
    # integer or bool a counts as float64, as in SciPy (its shift a - mu I is float64 there).
    a_kind = np.float64 if a.dtype.kind in "biu" else a.dtype
    dtype, back = _dtype(a_kind, b.dtype, t.dtype) if np.iscomplexobj(t) else _dtype(a_kind, b.dtype)
    vector = b.ndim == 1
    if vector:
        if a.ndim != 2:
            raise ValueError(f"expm_multiply: a 1-D b needs a 2-D a; got a {a.shape} and b {b.shape}")
        b = b[:, None]
    if b.ndim < 2:
        raise ValueError(f"expm_multiply: expected b to be a vector or a matrix [..., n, k]; got shape {b.shape}")
    if b.shape[-2] != a.shape[-1]:
        raise ValueError(f"expm_multiply: shapes of matrices a {a.shape} and b {b.shape} are incompatible")
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2], t.shape)
    except ValueError:
        raise ValueError(f"expm_multiply: the batch dimensions of a {a.shape}, b {b.shape} and t {t.shape} "
                         "do not broadcast") from None
    # order="C", not ascontiguousarray: that one turns a 0-d t into shape (1,).
    a = np.asarray(np.broadcast_to(a, batch + a.shape[-2:]), dtype=dtype, order="C")
    b = np.asarray(np.broadcast_to(b, batch + b.shape[-2:]), dtype=dtype, order="C")
    t = np.asarray(np.broadcast_to(t, batch), dtype=dtype, order="C")
    f = _ext.expm_multiply(a, b, t)
    if vector:
        f = f[:, 0]
    return f if back is None else f.astype(back)

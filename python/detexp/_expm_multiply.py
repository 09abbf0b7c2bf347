"""The action of the matrix exponential, expm_multiply(a, b, t) = exp(t a) b, and its gradients of
every order.

Forward (cc/core/expm_multiply_chain.h): Al-Mohy & Higham 2011, Alg. 3.2 — a shift by
mu = trace(a)/n, then s steps of the Taylor polynomial of degree m on (t/s)(a - mu I), each cut
short where two consecutive terms fall below the unit roundoff, with (m, s) chosen per matrix from
||t(a - mu I)||_1 or from 1-norm estimates of its powers (Code Fragment 3.1, the theta_m table of
each precision); exp(t a) is never formed, except where s steps would cost more than forming it
(very large ||t a||_1, or many columns), where exp(t a) @ b is computed by scaling and squaring.

Gradients (TF's convention, grad = conj(df/dz) * upstream): Detexp>ExpmMultiply outputs its (m, s)
per matrix (`choice`), and Detexp>ExpmMultiplyGrad computes the adjoint of exactly that recurrence
(the gradient of the computed forward) for a, b and t: about 3 forwards of products plus one
n x n x (m k) product per step; the gradient w.r.t. a is an n x n matrix, exp(t a) is not formed.
Second and higher order: with X = [[t a, t h_a + h_t a], [0, t a]] (h the upstream of the first
gradients) the directional derivative d(exp(t a) b)[h] is the top block of exp(X) [[h_b], [b]]
(Van Loan's block identity), so the gradient of the first gradients is one forward and one backward
of expm_multiply on 2n x 2n matrices, themselves differentiable.
"""
import tensorflow as tf

from . import _checks
from ._loader import load_ops

_ops = load_ops()


def _convert(x, dtype_hint, name):
    return tf.convert_to_tensor(x, dtype_hint=dtype_hint, name=name)


def expm_multiply(a, b, t=1.0, name=None):
    """exp(t a) @ b without forming exp(t a), like scipy.sparse.linalg.expm_multiply, batched.

    Args:
      a: `[..., n, n]` float16/bfloat16 (computed in float32), float32, float64, complex64 or
        complex128.
      b: `[..., n, k]` of a's dtype, or `[n]` when a is `[n, n]`. Batch dimensions of a, b and t
        broadcast against each other.
      t: a scalar or a tensor of the batch shape (broadcasting), real or of a's dtype.
    Returns:
      exp(t a) b, `[..., n, k]` (`[n]` for a 1-D b), a's dtype.
    Algorithm: Al-Mohy & Higham 2011 (truncated Taylor steps on a - trace(a)/n I, degree m <= 55
      and s steps chosen per matrix from 1-norms of its powers, early termination per step); where
      the steps would cost more than the dense exponential, exp(t a) b by scaling and squaring.
    Edge cases: NaN/Inf in a matrix of a or in its t gives an all-NaN result for it (never a
      hang); NaN/Inf in a column of b stays in that column; t = 0 gives b; n = 0 or k = 0 give
      empty results.
    Gradient: with respect to a, b and t, the exact derivative of the computed forward (the adjoint
      of its recurrence, for its own (m, s)); every order.
    """
    with tf.name_scope(name or "expm_multiply"):
        a0 = tf.convert_to_tensor(a, name="a")
        b0 = _convert(b, a0.dtype, "b")
        if b0.dtype != a0.dtype:
            raise TypeError(f"expm_multiply: a and b must have the same dtype; got {a0.dtype.name} and {b0.dtype.name}")
        a, back = _checks.as_square_batch(a0, "expm_multiply", "a")
        b = tf.cast(b0, a.dtype) if back is not None else b0
        t = _convert(t, a0.dtype, "t")
        if t.dtype in _checks.COMPUTED_IN_FLOAT32:
            t = tf.cast(t, tf.float32)
        if t.dtype.is_complex and not a.dtype.is_complex:
            raise TypeError(f"expm_multiply: t is {t.dtype.name} but a is real ({a.dtype.name})")
        if t.dtype.real_dtype != a.dtype.real_dtype:
            raise TypeError(f"expm_multiply: t must be {a.dtype.real_dtype.name} or {a.dtype.name}; got {t.dtype.name}")
        t = tf.cast(t, a.dtype)
        vector = b.shape.rank == 1
        if b.shape.rank is None:
            raise ValueError("expm_multiply: b must have a known rank")
        if vector:
            if a.shape.rank != 2:
                raise ValueError(f"expm_multiply: a 1-D b needs a 2-D a; got a {a.shape} and b {b.shape}")
            b = b[:, tf.newaxis]
        if b.shape.rank < 2:
            raise ValueError(f"expm_multiply: b must be [..., n, k] or [n]; got shape {b.shape}")
        n_a, n_b = a.shape[-1], b.shape[-2]
        if n_a is not None and n_b is not None and n_a != n_b:
            raise ValueError(f"expm_multiply: shapes of a {a.shape} and b {b.shape} are incompatible")
        a, b, t = _broadcast_batch(a, b, t)
        f, _ = _ops.detexp_expm_multiply(a, b, t)
        if vector:
            f = f[:, 0]
        return _checks.cast_back(f, back)


def _broadcast_batch(a, b, t):
    """a [..., n, n], b [..., n, k], t [...] on one common batch shape (copies only where needed)."""
    a_batch, b_batch = a.shape[:-2], b.shape[:-2]
    try:
        static = tf.broadcast_static_shape(tf.broadcast_static_shape(a_batch, b_batch), t.shape)
    except ValueError:
        raise ValueError(f"expm_multiply: the batch dimensions of a {a.shape}, b {b.shape} and t {t.shape} "
                         "do not broadcast") from None
    if static.is_fully_defined() and a_batch == static and b_batch == static and t.shape == static:
        return a, b, t
    batch = tf.broadcast_dynamic_shape(tf.broadcast_dynamic_shape(tf.shape(a)[:-2], tf.shape(b)[:-2]), tf.shape(t))
    if not (static.is_fully_defined() and a_batch == static):
        a = tf.broadcast_to(a, tf.concat([batch, tf.shape(a)[-2:]], 0))
    if not (static.is_fully_defined() and b_batch == static):
        b = tf.broadcast_to(b, tf.concat([batch, tf.shape(b)[-2:]], 0))
    if not (static.is_fully_defined() and t.shape == static):
        t = tf.broadcast_to(t, batch)
    return a, b, t


@tf.RegisterGradient("Detexp>ExpmMultiply")
def _expm_multiply_grad(op, g, _g_choice):
    a, b, t = op.inputs
    if g is None:
        g = tf.zeros_like(op.outputs[0])
    return _ops.detexp_expm_multiply_grad(a, b, t, g, op.outputs[1])


def _block(x11, x12, x21, x22):
    return tf.concat([tf.concat([x11, x12], axis=-1), tf.concat([x21, x22], axis=-1)], axis=-2)


@tf.RegisterGradient("Detexp>ExpmMultiplyGrad")
def _expm_multiply_grad_grad(op, h_a, h_b, h_t):
    # psi = Re<h_a, grad_a> + Re<h_b, grad_b> + Re<h_t, grad_t> = Re<g, J[h]>, J[h] = d(exp(t a) b)[h]
    # = L(ta, t h_a + h_t a) b + exp(ta) h_b = the top block of exp(X) [[h_b], [b]] with
    # X = [[ta, t h_a + h_t a], [0, ta]]. So grad_g = J[h], and the gradients w.r.t. a, b, t follow
    # from the backward of that 2n x 2n forward with upstream [[g], [0]], through X's entries.
    a, b, t, g, _ = op.inputs
    n = tf.shape(a)[-1]
    tt = t[..., tf.newaxis, tf.newaxis]
    ta = tt * a
    top_right = tf.zeros_like(a)
    if h_a is not None:
        top_right += tt * h_a
    if h_t is not None:
        top_right += h_t[..., tf.newaxis, tf.newaxis] * a
    x = _block(ta, top_right, tf.zeros_like(a), ta)
    bb = tf.concat([tf.zeros_like(b) if h_b is None else h_b, b], axis=-2)
    one = tf.ones_like(t)
    y, choice = _ops.detexp_expm_multiply(x, bb, one)
    gx, gbb, _ = _ops.detexp_expm_multiply_grad(x, bb, one, tf.concat([g, tf.zeros_like(g)], axis=-2), choice)
    diag = gx[..., :n, :n] + gx[..., n:, n:]
    gx12 = gx[..., :n, n:]
    grad_a = tf.math.conj(tt) * diag
    grad_t = tf.reduce_sum(tf.math.conj(a) * diag, axis=[-2, -1])
    if h_t is not None:
        grad_a += tf.math.conj(h_t)[..., tf.newaxis, tf.newaxis] * gx12
    if h_a is not None:
        grad_t += tf.reduce_sum(tf.math.conj(h_a) * gx12, axis=[-2, -1])
    return grad_a, gbb[..., n:, :], grad_t, y[..., :n, :], None

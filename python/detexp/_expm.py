"""The matrix exponential: expm, expm_frechet, and their gradients of every order.

Forward: scaling and squaring with Padé approximants (Al-Mohy & Higham 2009), degree m and
squarings s chosen per matrix from 1-norm bounds of its powers (never from the batch maximum;
s = ceil, not floor), cc/core/expm.h; for real float32 matrices with n >= 9 the top degree is
Bader–Blanes–Casas' Taylor T_18 (5 products, no solve) instead of Padé 7, cc/core/expm_taylor.h.

Gradients (TF's convention for complex inputs: grad = conj(df/dA) * upstream for holomorphic f):
  d exp(A)[E] = L(A, E), the Fréchet derivative, so   grad_A = L(A^H, G)   (adjoint Fréchet).
  Detexp>ExpmGrad computes it natively along the same Padé (or Taylor)/squaring chain as the forward
  (Al-Mohy & Higham 2009b), with the forward's (m, s): it is the exact derivative of the computed
  forward, at about 2x the forward's cost. Detexp>Expm's second output, `choice` (m + 256 s per
  matrix), hands the forward's (m, s) to ExpmGrad, which then skips the degree selection (its
  norm tests, ℓ products and ||A^8||, ||A^10|| work); -1 (the GPU forward, the 2n x 2n blocks
  below) makes ExpmGrad select again, with the same result.
Second and higher order use the block identity (Van Loan 1978, Mathias 1996)
  exp([[X, E], [0, X]]) = [[exp(X), L(X, E)], [0, exp(X)]]
so that derivatives of L(A^H, G) and of (exp(A), L(A, E)) are themselves ExpmGrad calls on
2n x 2n matrices, which have this same registered gradient.
"""
import tensorflow as tf

from . import _checks
from ._loader import load_ops

_ops = load_ops()


def expm(a, name=None):
    """The matrix exponential exp(a) = sum_k a^k / k! of a batch of square matrices.

    Args:
      a: `[..., n, n]` float16/bfloat16 (computed in float32), float32, float64, complex64 or
        complex128.
    Returns:
      `[..., n, n]`, a's dtype.
    Algorithm: scaling and squaring with a Padé approximant of degree 3, 5, 7, 9 or 13 (3, 5 or 7
      in single precision; for real float32 with n >= 9 the top degree is the Taylor
      polynomial T_18 of Bader, Blanes & Casas 2019 instead of Padé 7), the degree and the number
      of squarings chosen for each matrix from ||a^k||_1^(1/k) (Al-Mohy & Higham 2009); triangular
      matrices get their diagonal and first off-diagonal recomputed exactly after each squaring.
    Edge cases: a NaN or Inf anywhere in a matrix gives an all-NaN result for that matrix (never a
      hang); results beyond the dtype's range overflow to Inf/NaN; n = 0 and empty batches give
      empty outputs.
    Gradient: grad_a = L(a^H, g), the adjoint Fréchet derivative along the forward's own chain;
      gradients of every order are available (Hessians, tape.jacobian of gradients).
    """
    with tf.name_scope(name or "expm"):
        a, back = _checks.as_square_batch(a, "expm")
        r, _ = _ops.detexp_expm(a)
        return _checks.cast_back(r, back)


def expm_frechet(a, e, compute_expm=True, name=None):
    """The Fréchet derivative L(a, e) = d/dt exp(a + t e) at t = 0, like scipy.linalg.expm_frechet.

    Args:
      a, e: `[..., n, n]` of the same shape and dtype (float16/bfloat16 computed in float32).
      compute_expm: also return exp(a) (free: the derivative needs it anyway).
    Returns:
      `(expm(a), L(a, e))` if compute_expm, else `L(a, e)`.
    L(a, e) = integral_0^1 exp(s a) e exp((1 - s) a) ds; for commuting a and e it is exp(a) e.
    NaN/Inf in a or e gives NaN in L (and in exp(a) for NaN/Inf in a). Differentiable in both
    arguments to every order.
    """
    with tf.name_scope(name or "expm_frechet"):
        a, back = _checks.as_square_batch(a, "expm_frechet", "a")
        e, _ = _checks.as_square_batch(e, "expm_frechet", "e")
        if a.dtype != e.dtype:
            raise TypeError(f"expm_frechet: a and e must have the same dtype; got {a.dtype.name} and {e.dtype.name}")
        if not a.shape.is_compatible_with(e.shape):
            raise ValueError(f"expm_frechet: a and e must have the same shape; got {a.shape} and {e.shape}")
        r, l = _ops.detexp_expm_frechet(a, e)
        if compute_expm:
            return _checks.cast_back(r, back), _checks.cast_back(l, back)
        return _checks.cast_back(l, back)


def _block(x11, x12, x21, x22):
    return tf.concat([tf.concat([x11, x12], axis=-1), tf.concat([x21, x22], axis=-1)], axis=-2)


def _split(k, n):
    return k[..., :n, :n], k[..., :n, n:], k[..., n:, n:]


def _adjoint_frechet(a, g, choice=None):
    """L(a^H, g) by Detexp>ExpmGrad; choice: Detexp>Expm's for a, or None to select again."""
    if choice is None:
        choice = tf.fill(tf.shape(a)[:-2], tf.constant(-1, tf.int32))
    return _ops.detexp_expm_grad(a, g, choice)


@tf.RegisterGradient("Detexp>Expm")
def _expm_grad(op, g, _g_choice):
    return _adjoint_frechet(op.inputs[0], g, op.outputs[1])


@tf.RegisterGradient("Detexp>ExpmGrad")
def _expm_grad_grad(op, h):
    # Y = L(A^H, G) = exp(B)_12 with B = [[A^H, G], [0, A^H]]; the gradient of <H, exp(B)_12> with
    # respect to B is ExpmGrad(B, [[0, H], [0, 0]]), whose diagonal blocks sum to the gradient
    # with respect to A^H and whose (1, 2) block is the gradient with respect to G.
    a, g, _ = op.inputs
    a_h = tf.linalg.adjoint(a)
    z = tf.zeros_like(a)
    k11, k12, k22 = _split(_adjoint_frechet(_block(a_h, g, z, a_h), _block(z, h, z, z)), tf.shape(a)[-1])
    return tf.linalg.adjoint(k11 + k22), k12, None


@tf.RegisterGradient("Detexp>ExpmFrechet")
def _expm_frechet_grad(op, g_r, g_l):
    a, e = op.inputs
    if g_l is None:
        g_r = tf.zeros_like(a) if g_r is None else g_r
        return _adjoint_frechet(a, g_r), tf.zeros_like(e)
    g_r = tf.zeros_like(a) if g_r is None else g_r
    z = tf.zeros_like(a)
    k11, k12, k22 = _split(_adjoint_frechet(_block(a, e, z, a), _block(g_r, g_l, z, z)), tf.shape(a)[-1])
    return k11 + k22, k12

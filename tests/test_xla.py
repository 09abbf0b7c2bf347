"""XLA: the Detexp> ops are custom kernels without an XLA lowering. Inside
tf.function(jit_compile=True) every public op raises dx.XlaUnsupportedError at trace time, naming
the op and the fix (README, "XLA"); outside jit_compile, and next to jit-compiled code, they run."""
import numpy as np
import pytest
import tensorflow as tf

import detexp as dx

A = np.array([[[2.0, 1.0], [0.5, 3.0]]])

OPS = {
    "slogdet": lambda a: dx.slogdet(a)[1], "logabsdet": dx.logabsdet, "logdet": dx.logdet, "det": dx.det,
    "inverse": dx.inverse, "adjugate": dx.adjugate, "expm": dx.expm,
    "expm_frechet": lambda a: dx.expm_frechet(a, a)[1],
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_jit_compile_raises_naming_op_and_fix(name):
    f = tf.function(OPS[name], jit_compile=True)
    with pytest.raises(dx.XlaUnsupportedError) as e:
        f(tf.constant(A))
    msg = str(e.value)
    assert f"detexp.{name} cannot run inside tf.function(jit_compile=True)" in msg
    assert "jit_compile=False" in msg


def test_nested_function_inside_jit_raises():
    inner = tf.function(dx.logabsdet)
    with pytest.raises(dx.XlaUnsupportedError, match="detexp.logabsdet"):
        tf.function(lambda a: inner(a), jit_compile=True)(tf.constant(A))


def test_documented_workaround_jit_around_dx_ops():
    # The XLA-compiled part runs in its own jit function; the dx op (and its gradient) outside it.
    square = tf.function(lambda a: tf.matmul(a, a), jit_compile=True)

    @tf.function(jit_compile=False)
    def f(a):
        with tf.GradientTape() as t:
            t.watch(a)
            y = dx.logabsdet(square(a))
        return y, t.gradient(y, a)

    y, g = f(tf.constant(A))
    # log|det(A^2)| = 2 log|det A|, gradient 2 A^{-T} (NumPy reference).
    np.testing.assert_allclose(y.numpy(), 2 * np.linalg.slogdet(A)[1], rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), 2 * np.linalg.inv(A).transpose(0, 2, 1), rtol=1e-12)

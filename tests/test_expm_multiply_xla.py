"""dx.expm_multiply under XLA (tf.function(jit_compile=True)): each op lowers to a typed-FFI custom
call running the TF kernels' code (cc/kernels/expm_multiply_work.h), so the ops give the same bits
with and without XLA, the gradients of every order compile, and bad input fails as without XLA."""
import numpy as np
import pytest
import tensorflow as tf

import detexp as dx
from conftest import ALL_DTYPES, random_matrices

OPS = dx._expm_multiply._ops


def _bits(x):
    x = np.ascontiguousarray(np.asarray(x))
    return x.view(np.dtype(f"u{x.dtype.itemsize // (2 if np.iscomplexobj(x) else 1)}"))


def _same_bits(x, y, what):
    x, y = np.asarray(x), np.asarray(y)
    assert x.dtype == y.dtype and x.shape == y.shape, what
    np.testing.assert_array_equal(_bits(x), _bits(y), err_msg=what)


def _cases(dtype, batch, n, k):
    a = tf.constant(random_matrices((batch, n, n), dtype, seed=n) * float(2.0 / np.sqrt(n)))
    b = tf.constant(random_matrices((batch, n, k), dtype, seed=n + 1))
    g = tf.constant(random_matrices((batch, n, k), dtype, seed=n + 2))
    t = tf.constant(np.linspace(0.5, 1.5, batch).astype(dtype))
    _, choice = OPS.detexp_expm_multiply(a, b, t)
    return [
        ("ExpmMultiply", OPS.detexp_expm_multiply, (a, b, t)),
        ("ExpmMultiplyGrad", OPS.detexp_expm_multiply_grad, (a, b, t, g, choice)),
        ("ExpmMultiplyGrad(select again)", OPS.detexp_expm_multiply_grad, (a, b, t, g, -tf.ones_like(choice))),
    ]


# (1, 300, 2): one matrix, its products split over the pool (blocks of 128 rows); (5, 70, 1): the
# degree from block 1-norm estimates.
@pytest.mark.parametrize("batch,n,k", [(2, 3, 2), (5, 70, 1), (1, 300, 2)], ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_each_op_same_bits(dtype, batch, n, k):
    for name, fn, args in _cases(dtype, batch, n, k):
        flat = lambda *xs: tf.nest.flatten(fn(*xs))  # noqa: E731
        jit = tf.function(flat, jit_compile=True)(*args)
        graph = tf.function(flat)(*args)
        eager = flat(*args)
        for i, (x, y, z) in enumerate(zip(jit, graph, eager)):
            _same_bits(x, y, f"{name} output {i} (jit vs graph)")
            _same_bits(x, z, f"{name} output {i} (jit vs eager)")


def test_hlo_holds_the_custom_calls():
    for name, fn, args in _cases(np.float64, 2, 3, 1)[:2]:
        text = tf.function(lambda *xs: tf.nest.flatten(fn(*xs)), jit_compile=True).experimental_get_compiler_ir(
            *args)(stage="hlo")
        target = "detexp_expm_multiply" + ("_grad" if name.endswith("Grad") else "")
        assert f'custom_call_target="{target}"' in text
        assert "api_version=API_VERSION_TYPED_FFI" in text


@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
def test_public_function_and_two_orders_under_jit(dtype):
    a = tf.constant(random_matrices((3, 4, 4), dtype, seed=1) * 0.5)
    b = tf.constant(random_matrices((3, 4, 2), dtype, seed=2))
    t = tf.constant(np.array([0.3, 1.0, -0.7]).astype(dtype))
    w = tf.constant(random_matrices((3, 4, 2), dtype, seed=3))

    def f(a, b, t):
        with tf.GradientTape() as outer:
            outer.watch([a, b, t])
            with tf.GradientTape() as inner:
                inner.watch([a, b, t])
                y = dx.expm_multiply(a, b, t)
                loss = tf.math.real(tf.reduce_sum(tf.math.conj(w) * y))
            ga, gb, gt = inner.gradient(loss, [a, b, t])
            z = tf.math.real(tf.reduce_sum(ga * tf.math.conj(ga)) + tf.reduce_sum(gt * tf.math.conj(gt)))
        return [y, ga, gb, gt] + outer.gradient(z, [a, b, t])

    jit = tf.function(f, jit_compile=True)(a, b, t)
    graph = tf.function(f)(a, b, t)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for x, y in zip(jit, graph):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * np.abs(y).max())
    _same_bits(jit[0], graph[0], "forward")


def test_invalid_choice_and_shapes_under_jit():
    f = tf.function(lambda a, b, t, g, c: OPS.detexp_expm_multiply_grad(a, b, t, g, c), jit_compile=True)
    a = np.eye(2)[None].repeat(2, 0)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"choice\[0\] = 56"):
        f(a, np.ones((2, 2, 1)), np.ones(2), np.ones((2, 2, 1)), np.array([56, -1], np.int32))
    # Unknown shapes while tracing: the lowering's check (not the shape function) sees them.
    g = tf.function(lambda a, b, t: OPS.detexp_expm_multiply(a, b, t)[0], jit_compile=True,
                    input_signature=[tf.TensorSpec(None, tf.float64)] * 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"b must be \[\.\.\., n, k\]"):
        g(np.ones((3, 3)), np.ones((4, 1)), np.ones(()))


def test_unknown_batch_under_jit():
    spec = [tf.TensorSpec([None, 5, 5], tf.float32), tf.TensorSpec([None, 5, 1], tf.float32)]
    f = tf.function(lambda a, b: dx.expm_multiply(a, b, 0.5), jit_compile=True, input_signature=spec)
    for batch in (1, 4):
        a = random_matrices((batch, 5, 5), np.float32, seed=batch)
        b = random_matrices((batch, 5, 1), np.float32, seed=batch + 1)
        _same_bits(f(a, b), dx.expm_multiply(a, b, 0.5), f"batch {batch}")

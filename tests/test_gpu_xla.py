"""XLA on the GPU: the "CUDA" handlers of cc/xla/*_ffi_gpu.cc under tf.function(jit_compile=True).

Each op under XLA on the GPU runs the same launchers as its TF GPU kernel, so it must give the same
bits; whole functions and gradients are compared with the CPU under XLA (the CPU tests prove
those against references). Skipped cleanly without a GPU, or when the loaded op library was built
without the CUDA kernels (DETEXP_CUDA=1).
"""
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import kernels

import detexp as dx
from detexp._loader import load_ops

from conftest import ALL_DTYPES, random_matrices, tol
from test_xla import PUBLIC, _orders, _raw_op_cases, assert_same_bits

OPS = load_ops()
GPU = "/device:GPU:0"


def _has_xla_gpu_kernels():
    return all(any(k.device_type == "XLA_GPU_JIT" for k in kernels.get_registered_kernels_for_op(op).kernel)
               for op in ("Detexp>Slogdet", "Detexp>Expm"))


pytestmark = [
    pytest.mark.skipif(not tf.config.list_physical_devices("GPU"), reason="no GPU visible to TensorFlow"),
    pytest.mark.skipif(not _has_xla_gpu_kernels(), reason="op library built without CUDA kernels (DETEXP_CUDA=1)"),
]


def _gpu(fn, jit):
    f = tf.function(fn, jit_compile=jit)

    def run(*args):
        with tf.device(GPU):
            return f(*[tf.identity(a) for a in args])

    return run


# n = 5 (fused kernels), 40, 70 (cuSOLVER getrf / the expm cuBLAS path from n = 64); batches of 37.
@pytest.mark.parametrize("shape", [(2, 3, 3), (37, 5, 5), (37, 40, 40), (9, 70, 70)],
                         ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_each_op_same_bits_as_gpu_kernel(dtype, shape):
    for name, fn, args in _raw_op_cases(dtype, shape):
        flat = lambda *xs: tf.nest.flatten(fn(*xs))  # noqa: E731
        for i, (x, y) in enumerate(zip(_gpu(flat, True)(*args), _gpu(flat, False)(*args))):
            assert "GPU" in x.device
            assert_same_bits(x, y, f"{name} output {i} (GPU: jit vs TF kernel)")


def test_hlo_on_gpu_holds_the_custom_calls():
    a = tf.constant(random_matrices((4, 6, 6), np.float32) + 3 * np.eye(6, dtype=np.float32))

    def f(a):
        with tf.GradientTape() as t:
            t.watch(a)
            y = dx.logabsdet(a) + tf.linalg.trace(dx.expm(a / 4))
        return t.gradient(y, a)

    text = tf.function(f, jit_compile=True).experimental_get_compiler_ir(a)(stage="hlo", device_name=GPU)
    for target in ("detexp_slogdet", "detexp_slogdet_backward", "detexp_expm", "detexp_expm_grad"):
        assert f'custom_call_target="{target}"' in text, target


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_functions_and_gradients_gpu_vs_cpu_under_jit(name, dtype):
    a = tf.constant(random_matrices((2, 4, 4), dtype, seed=3) / 2 + np.eye(4, dtype=dtype))
    e = tf.constant(random_matrices((2, 4, 4), dtype, seed=4))
    v = tf.constant(random_matrices((2, 4, 4), dtype, seed=7))
    fn = lambda a, e, v: _orders(PUBLIC[name], a, e, v)  # noqa: E731
    gpu = _gpu(fn, True)(a, e, v)
    with tf.device("/device:CPU:0"):
        cpu = tf.function(fn, jit_compile=True)(a, e, v)
    for order, (xs, ys) in enumerate(zip(gpu, cpu)):
        for x, y in zip(xs, ys):
            np.testing.assert_allclose(x, y, rtol=50 * tol(dtype), atol=50 * tol(dtype) * np.abs(y).max(),
                                       err_msg=f"{name} order {order}")


def test_keras_auto_compiles_with_xla_on_gpu():
    import keras

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).standard_normal((64, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), dx.layers.LieExp(dx.layers.so_generators(3))])
    model.compile(keras.optimizers.Adam(0.05), "mse")  # jit_compile="auto": XLA on GPU machines
    hist = model.fit(x, x @ np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]], np.float32).T, epochs=5,
                     batch_size=16, verbose=0).history["loss"]
    assert model.jit_compile is True
    assert hist[-1] < hist[0]

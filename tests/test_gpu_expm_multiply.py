"""dx.expm_multiply on the GPU (cuda/expm_multiply_kernels.cu: teams for n <= 64, the host-driven
cuBLAS path beyond) against the CPU op, SciPy and the XLA "CUDA" handlers.

Skipped cleanly without a GPU, or when the loaded op library was built without the CUDA kernels
(DETEXP_CUDA=1). The CPU tests prove the GPU's two backends on the CPU (test_expm_multiply_team.py,
test_expm_multiply_device.py); these check that the kernels run them as the hooks do."""
import numpy as np
import pytest
import scipy.linalg as sla
import tensorflow as tf
from tensorflow.python.framework import kernels

import detexp as dx

from conftest import ALL_DTYPES
from test_expm_multiply_team import EPS, _case, _close

OPS = ["Detexp>ExpmMultiply", "Detexp>ExpmMultiplyGrad"]
_ops = dx._expm_multiply._ops


def _has_gpu_kernels():
    return all(any(k.device_type == "GPU" for k in kernels.get_registered_kernels_for_op(op).kernel) for op in OPS)


pytestmark = [
    pytest.mark.skipif(not tf.config.list_physical_devices("GPU"), reason="no GPU visible to TensorFlow"),
    pytest.mark.skipif(not _has_gpu_kernels(), reason="op library built without CUDA kernels (DETEXP_CUDA=1)"),
]

# Teams of 4 and 16 lanes, a warp, a block; the host-driven path from 65 (estimates) on. Sized
# for verify_gpu.sh's pytest.gpu stage (240 s for every tests/test_gpu_*.py).
SIZES = [(1, 1), (4, 1), (9, 2), (33, 4), (64, 2), (65, 1), (130, 3)]


def _run(device, a, b, t, g):
    with tf.device(device):
        a, b, t, g = (tf.identity(x) for x in (a, b, t, g))
        f, choice = _ops.detexp_expm_multiply(a, b, t)
        grads = _ops.detexp_expm_multiply_grad(a, b, t, g, choice)
    assert device[1:4] in f.device
    return f.numpy(), choice.numpy(), [x.numpy() for x in grads]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n,k", SIZES)
@pytest.mark.parametrize("scale", [0.1, 40.0])
def test_gpu_matches_cpu_and_scipy(dtype, n, k, scale):
    a, b, t, g = _case(dtype, 5, n, k, scale, seed=n + 17 * k)
    gf, gchoice, ggrads = _run("/GPU:0", a, b, t, g)
    cf, cchoice, cgrads = _run("/CPU:0", a, b, t, g)
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    ref = np.stack([sla.expm(t[i].astype(wide) * a[i].astype(wide)) @ b[i].astype(wide) for i in range(len(a))])
    ref[np.abs(ref) > np.finfo(dtype).max] = np.inf  # overflows in the op's precision: must overflow
    factor = 64 * n * max(1.0, scale)
    _close(gf, ref, dtype, factor)
    _close(cf, ref, dtype, factor)
    # The teams report no codes (-1); the host-driven path reports its own.
    assert np.all(gchoice == -1) if n <= 64 else np.all(gchoice != -1)
    for x, y in zip(ggrads[:2], cgrads[:2]):
        _close(x, y, dtype, factor * n)
    _close(ggrads[2][:, None], cgrads[2][:, None], dtype, factor * n * n)


@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
@pytest.mark.parametrize("n", [5, 40, 80])
def test_gpu_same_bits_whatever_the_batch(dtype, n):
    a, b, t, g = _case(dtype, 9, n, 2, 2.0, seed=n)
    whole = _run("/GPU:0", a, b, t, g)
    for i in (0, 4, 8):
        one = _run("/GPU:0", a[i:i + 1], b[i:i + 1], t[i:i + 1], g[i:i + 1])
        np.testing.assert_array_equal(one[0][0], whole[0][i])
        for x, y in zip(one[2], whole[2]):
            np.testing.assert_array_equal(x[0], y[i])


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [6, 70])
def test_gpu_edge_cases(dtype, n):
    a, b, t, g = _case(dtype, 4, n, 2, 1.0, seed=2)
    a[0, 1, 2] = np.nan
    t[1] = 0
    a[2] = 0
    b[3, :, 1] = np.inf
    f, _, (ga, gb, gt) = _run("/GPU:0", a, b, t, g)
    assert np.isnan(f[0]).all() and np.isnan(ga[0]).all() and np.isnan(gt[0])
    np.testing.assert_array_equal(f[1], b[1])
    np.testing.assert_array_equal(f[2], b[2])
    assert np.isfinite(f[3, :, 0]).all() and not np.isfinite(f[3, :, 1]).any()
    np.testing.assert_allclose(ga[2], np.conj(t[2]) * g[2] @ b[2].conj().T, rtol=64 * EPS[dtype],
                               atol=64 * EPS[dtype] * n)


def test_gpu_invalid_choice_is_an_error():
    a, b, t, g = _case(np.float64, 2, 70, 1, 1.0, seed=1)
    with tf.device("/GPU:0"):
        with pytest.raises(tf.errors.InvalidArgumentError, match="choice"):
            _ops.detexp_expm_multiply_grad(a, b, t, g, tf.constant([65, 7], tf.int32))


@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
@pytest.mark.parametrize("n", [7, 70])
def test_gpu_xla_same_bits_as_the_gpu_kernel(dtype, n):
    """Under jit_compile the "CUDA" handlers run the same launchers: the same bits, first and second
    order through the public function."""
    a, b, t, g = _case(dtype, 3, n, 2, 2.0, seed=5)

    def fn(a, b, t):
        with tf.GradientTape() as tape:
            tape.watch([a, b])
            y = dx.expm_multiply(a, b, t)
            loss = tf.reduce_sum(tf.math.real(y * tf.math.conj(y)))
        return [y] + tape.gradient(loss, [a, b])

    outs = []
    for jit in (True, False):
        with tf.device("/GPU:0"):
            outs.append([x.numpy() for x in tf.function(fn, jit_compile=jit)(tf.constant(a), tf.constant(b),
                                                                              tf.constant(t))])
    for x, y in zip(*outs):
        np.testing.assert_array_equal(x, y)

"""The matrix exponential family on the GPU against the CPU path, SciPy, mpmath and finite differences.

Skipped cleanly without a GPU, or when the loaded op library was built without the CUDA kernels
(DETEXP_CUDA=1). Run the standalone kernel test first on a GPU machine (cuda/README.md).
"""
import mpmath
import numpy as np
import pytest
import scipy.linalg as sla
import tensorflow as tf
from tensorflow.python.framework import kernels

import detexp as dx

from conftest import ALL_DTYPES, random_matrices, tol

OPS = ["Detexp>Expm", "Detexp>ExpmFrechet", "Detexp>ExpmGrad"]


def _has_gpu_kernels():
    return all(any(k.device_type == "GPU" for k in kernels.get_registered_kernels_for_op(op).kernel) for op in OPS)


pytestmark = [
    pytest.mark.skipif(not tf.config.list_physical_devices("GPU"), reason="no GPU visible to TensorFlow"),
    pytest.mark.skipif(not _has_gpu_kernels(), reason="op library built without CUDA kernels (DETEXP_CUDA=1)"),
]

SIZES = [1, 2, 3, 4, 5, 8, 9, 16, 17, 31, 32, 33, 64, 100]


def _on(device, fn, *args):
    with tf.device(device):
        out = fn(*[tf.identity(a) for a in args])
    return out


def _wide(x):
    x = np.asarray(x)
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)


def _rel(x, ref):
    x, ref = _wide(x), _wide(ref)
    return np.linalg.norm((x - ref).ravel()) / max(np.linalg.norm(ref.ravel()), 1e-300)


def _each(f, *xs):
    return np.stack([f(*[_wide(x)[i] for x in xs]) for i in range(len(xs[0]))])


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("scale", [0.01, 1.0, 10.0])
def test_expm_gpu_matches_cpu_and_scipy(n, dtype, scale):
    a = (scale * random_matrices((2, 3, n, n), dtype, seed=n) / np.sqrt(n)).astype(dtype)
    g = _on("/GPU:0", dx.expm, a)
    assert "GPU" in g.device
    c = _on("/CPU:0", dx.expm, a)
    ref = _each(sla.expm, a.reshape(-1, n, n)).reshape(a.shape)
    bound = 10 * tol(dtype) * max(1.0, n / 8) * max(1.0, scale)
    assert _rel(g, c) <= bound
    assert _rel(g, ref) <= bound


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_frechet_and_grad_gpu_match_cpu_and_scipy(n, dtype):
    a = (random_matrices((3, n, n), dtype, seed=n) / np.sqrt(n)).astype(dtype)
    e = random_matrices((3, n, n), dtype, seed=100 + n)
    r, l = _on("/GPU:0", dx.expm_frechet, a, e)
    rc, lc = _on("/CPU:0", dx.expm_frechet, a, e)
    ref_l = _each(lambda x, y: sla.expm_frechet(x, y, compute_expm=False), a, e)
    bound = 30 * tol(dtype) * max(1.0, n / 8)
    assert _rel(r, rc) <= bound and _rel(l, lc) <= bound and _rel(l, ref_l) <= bound
    with tf.device("/GPU:0"):
        grad = dx._expm._adjoint_frechet(tf.constant(a), tf.constant(e))
        # the CPU forward's (m, s): checked, then selected again on the device (same choice)
        cpu_choice = _on("/CPU:0", lambda x: dx._expm._ops.detexp_expm(x)[1], a)
        grad_with_choice = dx._expm._ops.detexp_expm_grad(tf.constant(a), tf.constant(e), cpu_choice)
        gpu_choice = dx._expm._ops.detexp_expm(tf.constant(a))[1]
    assert "GPU" in grad.device
    np.testing.assert_array_equal(grad_with_choice.numpy(), grad.numpy())
    assert np.all(gpu_choice.numpy() == -1)  # the device kernels do not report (m, s)
    ref_g = _each(lambda x, y: sla.expm_frechet(x.conj().T, y, compute_expm=False), a, e)
    assert _rel(grad, ref_g) <= bound


HARD = [
    np.array([[1.0, 1e6], [0.0, 1.0]]),
    np.array([[-49.0, 24.0], [-64.0, 31.0]]),
    np.array([[0.0, 1e-8, 0.0], [-(2e10 + 4e8 / 6.0), -3.0, 2e10], [200.0 / 3.0, 0.0, -200.0 / 3.0]]),
]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("k", range(len(HARD)))
def test_hard_cases(k, dtype):
    a = HARD[k].astype(dtype)
    with mpmath.workdps(50):
        ref = np.array(mpmath.expm(mpmath.matrix(_wide(a).tolist())).tolist(), dtype=np.complex128)
    g = _on("/GPU:0", dx.expm, a[None])[0]
    c = _on("/CPU:0", dx.expm, a[None])[0]
    bound = {0: 10, 1: 1e3, 2: 1e4}[k] * tol(dtype)
    assert _rel(g, ref) <= bound
    assert _rel(g, c) <= 2 * bound  # both within `bound` of the reference


@pytest.mark.parametrize("dtype", ALL_DTYPES)
# n = 150: the cuBLAS path's column steps over two row tiles (the Inf in the last row is in the second).
@pytest.mark.parametrize("n", [2, 4, 16, 33, 64, 150])
def test_nan_inf_inputs(n, dtype):
    a = random_matrices((4, n, n), dtype, seed=n)
    a[1, 0, 1] = np.nan
    a[2, -1, 0] = np.inf
    e = random_matrices((4, n, n), dtype, seed=n + 1)
    e[3, 1, 1] = np.nan
    g = _on("/GPU:0", dx.expm, a).numpy()
    assert np.isnan(g[1]).all() and np.isnan(g[2]).all() and np.isfinite(g[[0, 3]]).all()
    r, l = (x.numpy() for x in _on("/GPU:0", dx.expm_frechet, a, e))
    assert np.isnan(l[1:]).all() and np.isfinite(l[0]).all() and np.isfinite(r[3]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_finite_input_terminates(dtype):
    big = np.finfo(dtype).max / 4
    a = np.array([[[big, big], [big, big]], [[-big, 0], [0, -big]]], dtype)
    g = _on("/GPU:0", dx.expm, a).numpy()
    assert not np.isfinite(g[0]).all()
    np.testing.assert_array_equal(g[1], 0)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("n", [3, 9, 40, 70])
def test_gradient_vs_finite_differences(n, dtype):
    a = random_matrices((2, n, n), dtype, seed=n) / np.sqrt(n)
    v = random_matrices((2, n, n), dtype, seed=n + 7)
    w = random_matrices((2, n, n), dtype, seed=n + 8)

    def f(x):
        return tf.reduce_sum(tf.math.real(tf.math.conj(tf.constant(w)) * dx.expm(x)))

    with tf.device("/GPU:0"):
        x = tf.constant(a)
        with tf.GradientTape() as t:
            t.watch(x)
            y = f(x)
        grad = t.gradient(y, x).numpy()
    h = 1e-6
    fd = (np.vdot(w, _each(sla.expm, a + h * v)) - np.vdot(w, _each(sla.expm, a - h * v))).real / (2 * h)
    assert abs(np.vdot(grad, v).real - fd) <= 1e-6 * max(1.0, abs(fd))


@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
@pytest.mark.parametrize("n", [3, 17])
def test_second_order_gpu_match_cpu(n, dtype):
    a = random_matrices((2, n, n), dtype, seed=4 * n) / np.sqrt(n)

    def hess_vec(device):
        with tf.device(device):
            x = tf.identity(a)
            v = tf.constant(random_matrices((2, n, n), dtype, seed=9))
            with tf.GradientTape() as outer:
                outer.watch(x)
                with tf.GradientTape() as inner:
                    inner.watch(x)
                    y = tf.reduce_sum(tf.math.real(dx.expm(x)))
                gv = tf.reduce_sum(tf.math.real(inner.gradient(y, x) * tf.math.conj(v)))
            return outer.gradient(gv, x).numpy()

    g, c = hess_vec("/GPU:0"), hess_vec("/CPU:0")
    assert _rel(g, c) <= 100 * tol(dtype) * max(1, n / 8)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(0, 4, 4), (0, 40, 40), (3, 0, 0)])
def test_empty(shape, dtype):
    a = np.zeros(shape, dtype)
    assert _on("/GPU:0", dx.expm, a).shape == shape
    r, l = _on("/GPU:0", dx.expm_frechet, a, a)
    assert r.shape == shape and l.shape == shape


@pytest.mark.parametrize("n,batch", [(2, 300_000), (4, 200_000), (8, 40_000), (33, 300)])
def test_large_batches(n, batch):
    a = (random_matrices((batch, n, n), np.float32, seed=1) / np.sqrt(n)).astype(np.float32)
    g = _on("/GPU:0", dx.expm, a)
    c = _on("/CPU:0", dx.expm, a)
    assert _rel(g, c) <= 10 * tol(np.float32) * max(1, n / 8)


# The cuBLAS path (n >= DETEXP_GPU_EXPM_BLAS_MIN_N, default 64; cuda/expm_blas.cu): a batch whose
# matrices need different degrees and squaring counts (the driver groups them by degree and
# squares prefixes of the batch sorted by s), and large single matrices (cuSOLVER getrf/getrs).
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_blas_path_mixed_norms(dtype):
    n = 80
    scales = np.array([1e-4, 0.05, 0.5, 2.0, 8.0, 60.0])
    a = (random_matrices((len(scales), n, n), dtype, seed=5) * (scales / np.sqrt(n))[:, None, None]).astype(dtype)
    e = random_matrices(a.shape, dtype, seed=6)
    for fn, args in ((dx.expm, (a,)), (dx.expm_frechet, (a, e))):
        g = _on("/GPU:0", fn, *args)
        c = _on("/CPU:0", fn, *args)
        for x, y in zip(g if isinstance(g, tuple) else (g,), c if isinstance(c, tuple) else (c,)):
            for i in range(len(scales)):
                assert _rel(x[i], y[i]) <= 100 * tol(dtype) * max(1.0, scales[i]), (fn, i)
    ta = tf.constant(a)
    grads = []
    for device in ("/GPU:0", "/CPU:0"):
        with tf.device(device), tf.GradientTape() as tape:
            tape.watch(ta)
            y = tf.reduce_sum(tf.math.real(dx.expm(ta) * tf.constant(e)))
        grads.append(tape.gradient(y, ta).numpy())
    for i in range(len(scales)):
        assert _rel(grads[0][i], grads[1][i]) <= 100 * tol(dtype) * max(1.0, scales[i])


@pytest.mark.parametrize("n,dtype", [(300, np.float64), (1000, np.float32)])
def test_blas_path_large_single_matrices(n, dtype):
    a = (random_matrices((1, n, n), dtype, seed=n) * (3.0 / np.sqrt(n))).astype(dtype)
    g = _on("/GPU:0", dx.expm, a).numpy()
    c = _on("/CPU:0", dx.expm, a).numpy()
    assert _rel(g, c) <= 10 * tol(dtype) * max(1, n / 64)
    # exp(A) exp(-A) = I
    prod = _wide(g[0]) @ _wide(_on("/GPU:0", dx.expm, -a).numpy()[0])
    assert np.abs(prod - np.eye(n)).max() <= 100 * tol(dtype) * n


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [4, 17, 40, 80, 150])  # 150: the structure flags over two row tiles
def test_triangular_is_exactly_triangular(n, dtype):
    # As on the CPU (tests/test_expm_triangular.py): the teams (n < 64) and the cuBLAS path (Padé
    # denominators factored without pivoting) keep every zero of upper and lower triangular input.
    x = (random_matrices((4, n, n), dtype, seed=n) * (np.array([0.1, 1.0, 4.0, 20.0]) / np.sqrt(n))[:, None, None])
    for a, zero in ((np.triu(x).astype(dtype), np.tril(np.ones((n, n), bool), -1)),
                    (np.tril(x).astype(dtype), np.triu(np.ones((n, n), bool), 1))):
        g = _on("/GPU:0", dx.expm, a).numpy()
        assert np.all(g[:, zero] == 0)
        assert _rel(g, _on("/CPU:0", dx.expm, a).numpy()) <= 100 * tol(dtype) * max(1, n / 8)

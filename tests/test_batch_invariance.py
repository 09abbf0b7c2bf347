"""Batch invariance: every op and gradient gives bitwise the same result for a matrix whatever the
batch it sits in, its position there, the batch size and the sharding over threads.

A batch of 37 matrices (ordinary ones and special ones: singular, huge pivots whose reciprocal is
subnormal, ±Inf, NaN) is evaluated in several arrangements: as is, reversed, rolled by one (each
matrix at another address modulo the cache line), one matrix alone, and tiled 27 times (999
matrices, sharded over the intra-op threads at positions that are no multiple of the SIMD width).
37 = 4 groups of 8 float32 lanes + a tail of 5 (9 groups of 4 float64 + 1), so every matrix is
seen in a lane group, in the padded tail and alone. Sizes cover every CPU path: the lanes (fixed
n <= 8, run-time n <= 192 for the factorization, <= 48 for the inverse and backward), the
per-matrix unrolled (complex n <= 8), full-column (<= 24), right-looking (complex128 <= 40) and
Eigen blocked (beyond) factorizations, the dense (<= 47) and blocked (>= 48) inverses, and expm's
closed 2x2, fixed-size and packet-GEMM paths.
Each op's forward and gradient (of sum(w * op(a)) for a random w that moves with its matrix)
must agree bit for bit across arrangements. The GPU owes the same: test_gpu runs these checks
with the ops placed on a GPU (skipped where TensorFlow sees none).
"""
import numpy as np
import pytest
import tensorflow as tf

import detexp as dx
from conftest import ALL_DTYPES, random_matrices

BATCH = 37
TILES = 27


def _batch(n, dtype, seed):
    a = random_matrices((BATCH, n, n), dtype, seed=seed) + 2 * np.eye(n, dtype=dtype)
    real = np.finfo(dtype).dtype
    big = np.finfo(real).max / (8 * n)  # pivots whose reciprocal is subnormal
    if n >= 2:
        a[3, :, 1] = a[3, :, 0]                 # singular
        a[12] *= big                            # huge pivots, inside a lane group
        a[BATCH - 2] *= big                     # ... and in the tail
        a[20, 0, n - 1] = np.inf                # ±Inf: the shared LAPACK-order value
        a[33, n - 1, 0] = -np.inf
        a[27, 1, 1] = np.nan
    return a.astype(dtype)


def _arrangements(n=1):
    """(name, permutation of range(BATCH) or tiling) pairs: result[k] is matrix index[k]. Large
    matrices are tiled fewer times (the shards hold fewer of them anyway)."""
    idx = np.arange(BATCH)
    return [("reversed", idx[::-1]), ("rolled", np.roll(idx, 1)), ("alone-0", idx[:1]),
            ("alone-last", idx[-1:]), ("tail-3", idx[-3:]), ("tiled", np.tile(idx, TILES if n <= 16 else 3))]


def _bits(x):
    x = np.ascontiguousarray(np.asarray(x))
    return x.view(np.uint8).reshape(x.shape + (-1,)) if x.ndim else x.view(np.uint8)


def _assert_same_bits(got, want, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, what
    diff = np.any(_bits(got) != _bits(want), axis=-1)
    while diff.ndim > 1:
        diff = diff.any(axis=-1)
    bad = np.flatnonzero(diff)
    assert bad.size == 0, f"{what}: matrices {bad.tolist()[:8]} differ in their bits"


def _value_and_grad(fn, inputs, w):
    xs = [tf.constant(x) for x in inputs]
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        outs = fn(*xs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        loss = tf.add_n([tf.math.real(tf.reduce_sum(tf.cast(wi, o.dtype) * o)) for wi, o in zip(w, outs)])
    grads = tape.gradient(loss, xs)
    return [o.numpy() for o in outs] + [g.numpy() for g in grads]


def _weights(fn, inputs, seed):
    outs = fn(*[tf.constant(x[:1]) for x in inputs])
    outs = outs if isinstance(outs, tuple) else (outs,)
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((BATCH,) + tuple(o.shape[1:])).astype(o.dtype.as_numpy_dtype) for o in outs]


def _check_invariance(fn, inputs, what, seed=0):
    """fn(*inputs) and its gradients, bit for bit in every arrangement of the batch."""
    inputs = inputs if isinstance(inputs, list) else [inputs]
    w = _weights(fn, inputs, seed)
    ref = _value_and_grad(fn, inputs, w)
    for name, idx in _arrangements(inputs[0].shape[-1]):
        got = _value_and_grad(fn, [x[idx] for x in inputs], [wi[idx] for wi in w])
        for k, (g, r) in enumerate(zip(got, ref)):
            _assert_same_bits(g, r[idx], f"{what}, {name}, output {k}")


OPS = {
    "slogdet": dx.slogdet,
    "logabsdet": dx.logabsdet,
    "logdet": dx.logdet,
    "det": dx.det,
    "inverse": dx.inverse,
}
SIZES = [1, 2, 3, 4, 5, 8, 9, 13, 16, 17, 22, 24, 25, 33, 41, 48, 49, 64, 65, 129]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("op", sorted(OPS))
def test_log_determinant_family(op, n, dtype):
    a = _batch(n, dtype, seed=n)
    _check_invariance(OPS[op], a, f"{op} n={n} {np.dtype(dtype).name}", seed=n + 1)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [2, 3, 8, 17])
def test_adjugate(n, dtype):
    a = _batch(n, dtype, seed=n + 50)
    _check_invariance(dx.adjugate, a, f"adjugate n={n}", seed=n)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 8, 9, 16, 17, 33, 64])
def test_expm_and_frechet(n, dtype):
    a = (random_matrices((BATCH, n, n), dtype, seed=n) / np.sqrt(n)).astype(dtype)
    e = random_matrices((BATCH, n, n), dtype, seed=n + 7)
    a[5] *= 40  # more squarings than its neighbours
    a[30, 0, 0] = np.inf
    _check_invariance(dx.expm, a, f"expm n={n}", seed=n)
    _check_invariance(dx.expm_frechet, [a, e], f"expm_frechet n={n}", seed=n + 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("n", [3, 8, 16, 24, 30])
@pytest.mark.parametrize("op", ["logabsdet", "det", "inverse"])
def test_second_order(op, n, dtype):
    # Hessian-vector products (the gradients' own gradients: matmuls in TF, the backward ops).
    a = random_matrices((BATCH, n, n), dtype, seed=n + 9) + 2 * np.eye(n, dtype=dtype)
    v = random_matrices((BATCH, n, n), dtype, seed=n + 10)
    fn = OPS[op]

    def hvp(x, vv):
        x = tf.constant(x)
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.reduce_sum(tf.math.real(fn(x)))
            g = inner.gradient(y, x)
            gv = tf.reduce_sum(tf.math.real(g * tf.constant(vv)))
        return outer.gradient(gv, x).numpy()

    ref = hvp(a, v)
    for name, idx in _arrangements(n):
        _assert_same_bits(hvp(a[idx], v[idx]), ref[idx], f"{op} second order n={n}, {name}")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [2, 3, 8, 13, 16, 20, 33, 48])
def test_numpy_module(n, dtype):
    a = _batch(n, dtype, seed=n + 70)
    fns = {"slogdet": dx.numpy.slogdet, "det": dx.numpy.det, "expm": dx.numpy.expm,
           "adjugate": dx.numpy.adjugate}
    for name, fn in fns.items():
        ref = fn(a)
        ref = ref if isinstance(ref, tuple) else (ref,)
        for arr, idx in _arrangements(n):
            got = fn(a[idx])
            got = got if isinstance(got, tuple) else (got,)
            for k, (g, r) in enumerate(zip(got, ref)):
                _assert_same_bits(g, np.asarray(r)[idx], f"dx.numpy.{name} n={n}, {arr}, output {k}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [4, 16])
def test_graph_and_eager_agree(n, dtype):
    # A tf.function that no tape watches skips the saved factors (output_required); same bits.
    a = tf.constant(_batch(n, dtype, seed=n + 90))
    eager = [x.numpy() for x in dx.slogdet(a)]
    graph = [x.numpy() for x in tf.function(dx.slogdet)(a)]
    for g, e in zip(graph, eager):
        _assert_same_bits(g, e, f"graph vs eager n={n}")


@pytest.mark.skipif(not tf.config.list_physical_devices("GPU"), reason="no GPU visible to TensorFlow")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [2, 3, 8, 9, 16, 17, 32, 33, 64])
@pytest.mark.parametrize("op", sorted(OPS) + ["adjugate", "expm"])
def test_gpu(op, n, dtype):
    fn = {**OPS, "adjugate": dx.adjugate, "expm": lambda x: dx.expm(0.3 * x)}[op]
    with tf.device("/GPU:0"):
        _check_invariance(fn, _batch(n, dtype, seed=n + 120), f"GPU {op} n={n} {np.dtype(dtype).name}")

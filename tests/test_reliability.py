"""Reliability: concurrent callers get the sequential results, and memory stays flat over
thousands of training steps that use every op."""
import gc
import threading

import numpy as np
import pytest
import tensorflow as tf

import detexp as dx
from conftest import random_matrices

THREADS = 8


def _every_op(a, e):
    """Every op and its gradient on one batch: a list of NumPy arrays (TF eager and dx.numpy)."""
    a_t, e_t = tf.constant(a), tf.constant(e)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([a_t, e_t])
        sign, lad = dx.slogdet(a_t)
        outs = [sign, lad, dx.logdet(a_t), dx.det(a_t), dx.inverse(a_t), dx.adjugate(a_t),
                dx.expm(0.3 * a_t), *dx.expm_frechet(0.3 * a_t, e_t)]
        loss = tf.add_n([tf.math.real(tf.reduce_sum(tf.cast(o, a_t.dtype))) for o in outs[1:]])
    grads = tape.gradient(loss, [a_t, e_t])
    del tape
    np_outs = [*dx.numpy.slogdet(a), dx.numpy.det(a), dx.numpy.expm(0.3 * a), *dx.numpy.expm_frechet(0.3 * a, e)]
    return [o.numpy() for o in outs] + [g.numpy() for g in grads] + [np.asarray(o) for o in np_outs]


def _inputs(k):
    dtype = [np.float32, np.float64, np.complex64, np.complex128][k % 4]
    n = [3, 8, 17, 30][k % 4 if k < 4 else (k // 4) % 4]
    a = random_matrices((13, n, n), dtype, seed=k) + 2 * np.eye(n, dtype=dtype)
    return a.astype(dtype), random_matrices((13, n, n), dtype, seed=k + 100)


def test_concurrent_threads_match_sequential():
    inputs = [_inputs(k) for k in range(THREADS)]
    sequential = [_every_op(*x) for x in inputs]
    results = [None] * THREADS
    errors = []
    barrier = threading.Barrier(THREADS)

    def work(k):
        try:
            barrier.wait()
            for _ in range(3):
                results[k] = _every_op(*inputs[k])
                for got, want in zip(results[k], sequential[k]):
                    np.testing.assert_array_equal(got, want)
        except Exception as ex:  # reported below, with the thread's index
            errors.append((k, ex))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:2]


def _rss_mb():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource
    return pages * resource.getpagesize() / 2**20


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_memory_flat_over_training_steps():
    # Every op in a training step (forward and gradients, inside tf.function as training runs),
    # plus eager and dx.numpy calls. A leak of any step's tensors (~70 KB) would add ~140 MB
    # over the 2000 measured steps; the growth allowed is allocator noise.
    rng = np.random.default_rng(0)
    w = tf.Variable(rng.standard_normal((16, 6, 6)) * 0.3 + np.eye(6))
    e = tf.constant(rng.standard_normal((16, 6, 6)))
    opt = tf.keras.optimizers.SGD(1e-4)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            sign, lad = dx.slogdet(w)
            loss = (tf.reduce_sum(lad) + tf.reduce_sum(dx.logdet(w @ tf.linalg.matrix_transpose(w)))
                    + tf.reduce_sum(dx.det(w)) + tf.reduce_sum(dx.inverse(w)) + tf.reduce_sum(dx.adjugate(w))
                    + tf.reduce_sum(dx.expm(0.1 * w)) + tf.reduce_sum(dx.expm_frechet(0.1 * w, e)[1])
                    + tf.reduce_sum(sign))
        opt.apply_gradients([(tape.gradient(loss, w), w)])
        return loss

    a = rng.standard_normal((16, 6, 6))

    def run(steps):
        for i in range(steps):
            step()
            if i % 10 == 0:
                dx.logabsdet(tf.constant(a))
                dx.numpy.slogdet(a)
                dx.numpy.expm_frechet(0.1 * a, a)

    run(300)  # warm-up: tracing, allocator pools, caches
    gc.collect()
    before = _rss_mb()
    run(2000)
    gc.collect()
    growth = _rss_mb() - before
    assert growth < 24, f"RSS grew by {growth:.1f} MB over 2000 steps"

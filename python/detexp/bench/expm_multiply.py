"""Benchmark: dx.expm_multiply(a, b) = exp(a) b against forming the exponential (dx.expm(a) @ b,
tf.linalg.expm(a) @ b) and SciPy's scipy.sparse.linalg.expm_multiply, one matrix, n = 256..4096,
k = 1..16 columns, float32 and float64. SciPy is also compared with dx.numpy.expm_multiply, the
same call from NumPy arrays to NumPy arrays (a tf.function call alone costs ~0.2 ms here, a
fifth of the whole call at n = 256).

    python -m detexp.bench --only expm_multiply [--quick]

Inputs: a standard normal / sqrt(n) (as the expm section: ||a||_1 ~ 0.8 sqrt(n), spectral radius
~ 1), b standard normal [n, k], t = 1. Each row times the four routes call by call (interleaved,
with a 20 ms pause between calls so that one library's spinning threads do not land on the next),
median wall time of the rounds; the dense routes do not depend on k and are timed once per
(n, dtype), at k = 1, the product with b included. On a shared machine the ratios (same run,
interleaved) are what to read, not the absolute times.
"""
import time

import numpy as np
import scipy.sparse.linalg as spla
import tensorflow as tf

import detexp as dx
import detexp.numpy as dnp

from ._common import geomean, print_table

SIZES = (256, 512, 1024, 2048, 4096)
COLUMNS = (1, 4, 16)


def _interleaved(fns, rounds, gap=0.02):
    """Median wall ms of each callable over `rounds` rounds, called in turn, after one warm-up."""
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn()
        time.sleep(gap)
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
            time.sleep(gap)
    return {name: 1e3 * float(np.median(ts)) for name, ts in times.items()}


def _rel(x, ref):
    return float(np.abs(np.asarray(x, np.float64) - ref).max() / np.abs(ref).max())


def run(quick=False):
    sizes = SIZES[:2] if quick else SIZES
    columns = (1, 16) if quick else COLUMNS
    rng = np.random.default_rng(0)
    rows, vs_dense, vs_scipy, vs_scipy_np = [], [], [], []
    dx_f = tf.function(lambda a, b: dx.expm_multiply(a, b))
    dense_dx = tf.function(lambda a, b: dx.expm(a) @ b)
    dense_tf = tf.function(lambda a, b: tf.linalg.expm(a) @ b)
    for dtype in (np.float32, np.float64):
        for n in sizes:
            a_np = (rng.standard_normal((n, n)) / np.sqrt(n)).astype(dtype)
            a = tf.constant(a_np)
            rounds = 5 if n <= 1024 else (3 if n <= 2048 else 1)
            dense = None
            for k in columns:
                b_np = rng.standard_normal((n, k)).astype(dtype)
                b = tf.constant(b_np)
                fns = {"dx": lambda: dx_f(a, b).numpy(), "dx.numpy": lambda: dnp.expm_multiply(a_np, b_np),
                       "scipy": lambda: spla.expm_multiply(a_np, b_np)}
                if dense is None:  # the dense routes once per (n, dtype): their cost does not depend on k
                    fns.update({"dx.expm@b": lambda: dense_dx(a, b).numpy(), "tf.expm@b": lambda: dense_tf(a, b).numpy()})
                t = _interleaved(fns, rounds)
                if dense is None:
                    dense = {key: t[key] for key in ("dx.expm@b", "tf.expm@b")}
                ref = dense_dx(tf.constant(a_np.astype(np.float64)), tf.constant(b_np.astype(np.float64))).numpy()
                err = _rel(dx_f(a, b).numpy(), ref)
                err_sp = _rel(spla.expm_multiply(a_np, b_np), ref)
                name = np.dtype(dtype).name
                rows.append([n, k, name, t["dx"], t["dx.numpy"], dense["dx.expm@b"], dense["tf.expm@b"], t["scipy"],
                             dense["dx.expm@b"] / t["dx"], dense["tf.expm@b"] / t["dx"], t["scipy"] / t["dx"],
                             t["scipy"] / t["dx.numpy"], err, err_sp])
                vs_dense.append(dense["dx.expm@b"] / t["dx"])
                vs_scipy.append(t["scipy"] / t["dx"])
                vs_scipy_np.append(t["scipy"] / t["dx.numpy"])
    print_table("expm_multiply: exp(a) b, one matrix (ms; ratios = their time / dx.expm_multiply's)",
                ["n", "k", "dtype", "dx ms", "dx.numpy ms", "dx.expm@b ms", "tf.expm@b ms", "scipy ms", "vs dx.expm@b",
                 "vs tf.expm@b", "vs scipy", "scipy / dx.numpy", "dx err", "scipy err"], rows)
    print(f"geomean speedup of dx.expm_multiply: vs dx.expm(a) @ b {geomean(vs_dense):.1f}x, "
          f"vs scipy expm_multiply {geomean(vs_scipy):.2f}x (min {min(vs_scipy):.2f}x), "
          f"dx.numpy vs scipy {geomean(vs_scipy_np):.2f}x (min {min(vs_scipy_np):.2f}x); "
          "err: max relative difference to float64 dx.expm(a) @ b")
    return rows


if __name__ == "__main__":
    run()

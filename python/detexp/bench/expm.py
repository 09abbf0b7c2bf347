"""Benchmark: dx.expm forward and forward+backward vs tf.linalg.expm (and scipy.linalg.expm).

    python -c "from detexp.bench import expm; expm.run()"

Inputs are standard normal / sqrt(n) (||A||_1 of a few units: degree 13 with 0-3 squarings in
float64, degree 7 with 1-3 in float32), batched so that the input is about 10 MB (less for
n = 256). Forward+backward returns expm(A) and the gradient of sum(W * expm(A)). Both sides run inside
tf.function; SciPy (one matrix at a time, as it works) is timed on a slice and scaled to the
batch. With torch installed, torch.linalg.matrix_exp joins the rotation (detexp/bench/_torch.py)
and its columns come last: torch ms and vs torch (torch's time / detexp's).
"""
import os

import numpy as np
import scipy.linalg as sla
import tensorflow as tf

import detexp as dx

from . import _torch
from ._common import batch_for, geomean, print_table, time_call, time_interleaved

SIZES = (4, 8, 16, 32, 64, 256)


def _fwd(fn):
    return tf.function(lambda a: fn(a), jit_compile=False)


def _fwd_bwd(fn):
    @tf.function
    def f(a, w):
        with tf.GradientTape() as tape:
            tape.watch(a)
            e = fn(a)
            y = tf.reduce_sum(w * e)
        return e, tape.gradient(y, a)  # both, so that neither side can prune its forward

    return f


def _scipy_ms(a, max_mats):
    sub = a[: min(len(a), max_mats)]

    def f():
        for m in sub:
            sla.expm(m)

    return time_call(f, min_time=0.1, max_repeats=3) * len(a) / len(sub)


def run(quick=False):
    target = 1e6 if quick else 1e7
    sizes = SIZES[:-1] if quick else SIZES
    rng = np.random.default_rng(0)
    rows_f, rows_b = [], []
    sp_f, sp_b = [], []
    torch = _torch.load(tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count())
    for dtype in (np.float32, np.float64):
        for n in sizes:
            batch = batch_for(n, np.dtype(dtype).itemsize, target if n < 256 else target / 4)
            a_np = (rng.standard_normal((batch, n, n)) / np.sqrt(n)).astype(dtype)
            a = tf.constant(a_np)
            w = tf.constant(rng.standard_normal((batch, n, n)).astype(dtype))
            dx_f, tf_f = _fwd(dx.expm), _fwd(tf.linalg.expm)
            dx_b, tf_b = _fwd_bwd(dx.expm), _fwd_bwd(tf.linalg.expm)
            fns_f = {"dx": lambda: dx_f(a).numpy(), "tf": lambda: tf_f(a).numpy()}
            fns_b = {"dx": lambda: [t.numpy() for t in dx_b(a, w)], "tf": lambda: [t.numpy() for t in tf_b(a, w)]}
            if torch is not None:
                fns_f["torch"], fns_b["torch"] = _torch.expm_fns(torch, a_np, w.numpy())
            # every library alternates call by call (time_interleaved)
            t_f, t_b = time_interleaved(fns_f), time_interleaved(fns_b)
            t_dx_f, t_tf_f, t_dx_b, t_tf_b = t_f["dx"], t_f["tf"], t_b["dx"], t_b["tf"]
            t_sp = _scipy_ms(a_np, 50 if n <= 64 else 2)
            name = np.dtype(dtype).name
            rows_f.append([n, batch, name, t_dx_f, t_tf_f, t_sp, t_tf_f / t_dx_f, t_sp / t_dx_f])
            rows_b.append([n, batch, name, t_dx_b, t_tf_b, t_dx_b / t_dx_f, t_tf_b / t_dx_b])
            if torch is not None:
                rows_f[-1] += [t_f["torch"], t_f["torch"] / t_dx_f]
                rows_b[-1] += [t_b["torch"], t_b["torch"] / t_dx_b]
            sp_f.append(t_tf_f / t_dx_f)
            sp_b.append(t_tf_b / t_dx_b)
    torch_cols = ["torch ms", "vs torch"] if torch is not None else []
    print_table("expm forward (ms per batch)",
                ["n", "batch", "dtype", "dx ms", "tf ms", "scipy ms", "vs tf", "vs scipy"] + torch_cols, rows_f)
    print(f"geomean speedup vs tf.linalg.expm, forward: {geomean(sp_f):.2f}x")
    print_table("expm forward+backward (ms per batch)",
                ["n", "batch", "dtype", "dx ms", "tf ms", "dx fwd+bwd / fwd", "vs tf"] + torch_cols, rows_b)
    print(f"geomean speedup vs tf.linalg.expm, forward+backward: {geomean(sp_b):.2f}x")
    if torch is not None:
        print(f"geomean speedup vs torch.linalg.matrix_exp: forward {geomean([r[-1] for r in rows_f]):.2f}x, "
              f"forward+backward {geomean([r[-1] for r in rows_b]):.2f}x")
    return rows_f, rows_b


if __name__ == "__main__":
    run()

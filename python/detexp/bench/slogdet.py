"""slogdet forward and forward+backward: detexp vs tf.linalg.slogdet (and NumPy forward)."""
import numpy as np
import tensorflow as tf

import detexp as dx
from ._common import batch_for, geomean, print_table, time_call, time_interleaved

SIZES = (4, 8, 16, 32, 64, 256)


def _fwd(fn):
    return tf.function(lambda a: fn(a)[1])


def _fwd_bwd(fn):
    @tf.function
    def f(a):
        with tf.GradientTape() as tape:
            tape.watch(a)
            y = tf.reduce_sum(fn(a)[1])
        return tape.gradient(y, a)
    return f


def run(quick=False, dtype=np.float32, target_mb=16):
    sizes = SIZES[:3] if quick else SIZES
    target = (2 if quick else target_mb) * 2**20
    rows, fwd_speedups, bwd_speedups = [], {}, {}
    impls = {"dx": dx.slogdet, "tf": tf.linalg.slogdet}
    for n in sizes:
        batch = batch_for(n, np.dtype(dtype).itemsize, target)
        a = tf.constant(np.random.default_rng(n).standard_normal((batch, n, n)).astype(dtype) + 2 * np.eye(n, dtype=dtype))
        fwd = {name: _fwd(fn) for name, fn in impls.items()}
        fwd_bwd = {name: _fwd_bwd(fn) for name, fn in impls.items()}
        t = {}
        for suffix, fns in (("_f", fwd), ("_fb", fwd_bwd)):
            # detexp and tf.linalg alternate call by call (time_interleaved)
            times = time_interleaved({name: (lambda f=f: f(a).numpy()) for name, f in fns.items()})
            t.update({name + suffix: ms for name, ms in times.items()})
        a_np = a.numpy()
        t["np_f"] = time_call(lambda: np.linalg.slogdet(a_np))
        fwd_speedups[n] = t["tf_f"] / t["dx_f"]
        bwd_speedups[n] = t["tf_fb"] / t["dx_fb"]
        rows.append([n, batch, t["dx_f"], t["tf_f"], t["np_f"], fwd_speedups[n], t["dx_fb"], t["tf_fb"], bwd_speedups[n]])
    print_table(
        f"slogdet, {np.dtype(dtype).name}, CPU, times in ms (median); speedup = tf.linalg / detexp",
        ["n", "batch", "dx fwd", "tf fwd", "numpy fwd", "speedup", "dx fwd+bwd", "tf fwd+bwd", "speedup"],
        rows)
    small = [n for n in sizes if n <= 16]
    large = [n for n in sizes if n >= 64]
    print(f"geomean speedup n<=16: forward {geomean([fwd_speedups[n] for n in small]):.2f}x, "
          f"forward+backward {geomean([bwd_speedups[n] for n in small]):.2f}x")
    if large:
        print(f"min speedup n>=64: forward {min(fwd_speedups[n] for n in large):.2f}x, "
              f"forward+backward {min(bwd_speedups[n] for n in large):.2f}x")
    return rows

"""slogdet forward and forward+backward, float32 and float64: detexp vs tf.linalg.slogdet (and
torch.linalg.slogdet when torch is installed), dx.numpy.slogdet vs numpy.linalg.slogdet.

Rows (one per dtype and n): [n, batch, dx fwd, tf fwd, numpy fwd, vs tf fwd, dx fwd+bwd,
tf fwd+bwd, vs tf fwd+bwd, dtype, dx.numpy fwd, dx.numpy vs numpy, torch fwd, torch fwd+bwd,
vs torch fwd, vs torch fwd+bwd] (times in ms, medians; "vs X" = X's time / detexp's; torch
entries NaN without torch).
"""
import os

import numpy as np
import tensorflow as tf

import detexp as dx
from . import _torch
from ._common import batch_for, geomean, print_table, time_interleaved

SIZES = (4, 8, 16, 32, 64, 256)
DTYPES = (np.float32, np.float64)


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


def _measure(n, dtype, target, torch):
    batch = batch_for(n, np.dtype(dtype).itemsize, target)
    a_np = np.random.default_rng(n).standard_normal((batch, n, n)).astype(dtype) + 2 * np.eye(n, dtype=dtype)
    a = tf.constant(a_np)
    impls = {"dx": dx.slogdet, "tf": tf.linalg.slogdet}
    fwd = {name: (lambda f=_fwd(fn): f(a).numpy()) for name, fn in impls.items()}
    fwd_bwd = {name: (lambda f=_fwd_bwd(fn): f(a).numpy()) for name, fn in impls.items()}
    if torch is not None:
        fwd["torch"], fwd_bwd["torch"] = _torch.slogdet_fns(torch, a_np)
    t = {}
    for suffix, fns in (("_f", fwd), ("_fb", fwd_bwd)):
        # every library alternates call by call (time_interleaved)
        t.update({name + suffix: ms for name, ms in time_interleaved(fns).items()})
    t.update({k + "_f": v for k, v in time_interleaved({"dxnp": lambda: dx.numpy.slogdet(a_np),
                                                        "np": lambda: np.linalg.slogdet(a_np)}).items()})
    nan = float("nan")
    torch_f, torch_fb = t.get("torch_f", nan), t.get("torch_fb", nan)
    return [n, batch, t["dx_f"], t["tf_f"], t["np_f"], t["tf_f"] / t["dx_f"], t["dx_fb"], t["tf_fb"],
            t["tf_fb"] / t["dx_fb"], np.dtype(dtype).name, t["dxnp_f"], t["np_f"] / t["dxnp_f"],
            torch_f, torch_fb, torch_f / t["dx_f"], torch_fb / t["dx_fb"]]


def run(quick=False, target_mb=16):
    sizes = SIZES[:3] if quick else SIZES
    target = (2 if quick else target_mb) * 2**20
    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    torch = _torch.load(threads)
    rows = []
    for dtype in DTYPES:
        rows_d = [_measure(n, dtype, target, torch) for n in sizes]
        rows += rows_d
        header = ["n", "batch", "dx fwd", "tf fwd", "numpy fwd", "vs tf", "dx fwd+bwd", "tf fwd+bwd", "vs tf",
                  "dx.numpy fwd", "vs numpy"]
        cols = list(range(9)) + [10, 11]
        if torch is not None:
            header += ["torch fwd", "torch fwd+bwd", "vs torch fwd", "vs torch fwd+bwd"]
            cols += [12, 13, 14, 15]
        print_table(f"slogdet, {np.dtype(dtype).name}, CPU, ms per batch (median); vs X = X's time / detexp's",
                    header, [[r[c] for c in cols] for r in rows_d])
        small = [r for r in rows_d if r[0] <= 16]
        large = [r for r in rows_d if r[0] >= 64]
        print(f"geomean vs tf.linalg n<=16: forward {geomean([r[5] for r in small]):.2f}x, "
              f"forward+backward {geomean([r[8] for r in small]):.2f}x")
        if large:
            print(f"min vs tf.linalg n>=64: forward {min(r[5] for r in large):.2f}x, "
                  f"forward+backward {min(r[8] for r in large):.2f}x")
        if torch is not None:
            print(f"min vs torch: forward {min(r[14] for r in rows_d):.2f}x, "
                  f"forward+backward {min(r[15] for r in rows_d):.2f}x")
    if torch is not None:
        print(f"(torch {torch.__version__} in this process, {torch.get_num_threads()} threads, "
              f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; see detexp/bench/_torch.py)")
    return rows

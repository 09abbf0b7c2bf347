"""XLA: dx ops inside tf.function(jit_compile=True) (typed-FFI custom calls) vs the same dx ops
without XLA, and vs tf.linalg under XLA where that compiles (inverse, expm forward; TF 2.21 has no
XLA kernel for slogdet/det, and tf.linalg.expm's gradient does not compile). Then one training step
of each dx.layers model (LinearFlow, LieExp) with a Dense layer, jit on vs off.

Two measurements:
- wall time, the machine's threads, medians of calls alternating between the sides
  (time_interleaved), as the other sections;
- process CPU time, one thread (a subprocess: TF's pools are sized once per process), minimum over
  alternating calls: the cycles each side spends, which a busy machine disturbs far less than wall
  time. Both sides run the same kernels, so dx XLA / dx graph there is the custom calls' own cost.
"ovh %" is dx XLA / dx graph - 1. Where the function is dx ops only (forwards; logabsdet's and
expm's forward+backward) that is the custom calls' cost; inverse's backward also has two batched
matmuls (-X^H G X^H), compiled by XLA on one side and run by TF on the other.

    python -m detexp.bench --only xla            # both
    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 python -m detexp.bench.xla --cpu-time
"""
import argparse
import os
import resource
import subprocess
import sys

import numpy as np
import tensorflow as tf

import detexp as dx

from ._common import batch_for, geomean, print_table, time_interleaved
from .expm import _fwd, _fwd_bwd

SIZES = (4, 8, 16, 32, 64, 256)


def _compiled(make, fn, jit):
    """The expm section's function of fn (forward; or y and the gradient of sum(w * y)), with or
    without XLA."""
    return tf.function(make(fn).python_function, jit_compile=jit)


# name -> (dx function, tf.linalg's under XLA: forward, forward+backward; None where TF 2.21 does
# not compile it: no XLA kernel for slogdet, and expm's backward fails in tf2xla on its while_loop's
# gradient accumulator), whether dx's forward+backward is dx ops only.
CASES = {
    "logabsdet": (dx.logabsdet, None, None, True),
    "inverse": (dx.inverse, tf.linalg.inv, tf.linalg.inv, False),
    "expm": (dx.expm, tf.linalg.expm, None, True),
}


def _cpu_ms():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return 1e3 * (r.ru_utime + r.ru_stime)


def _min_cpu(fns, rounds):
    """Minimum process CPU time in ms of each callable in fns, calls alternating, after a warm-up."""
    for fn in fns.values():
        fn()
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = _cpu_ms()
            fn()
            best[name] = min(best[name], _cpu_ms() - t0)
    return best


def _inputs(name, dx_fn, n, batch, dtype, rng):
    a = rng.standard_normal((batch, n, n)) / np.sqrt(n)
    if name != "expm":
        a += 2 * np.eye(n)
    a = tf.constant(a.astype(dtype))
    w = tf.constant(rng.standard_normal((batch,) + tuple(dx_fn(a[:1]).shape[1:])).astype(dtype))
    return a, w


def _numpy(f, args):
    return lambda: tf.nest.map_structure(lambda x: x.numpy(), f(*args))


def ops_table(quick=False, dtype=np.float32, cpu_time=False):
    """Wall medians (cpu_time=False) or one-thread CPU-time minima (in a process whose pools have
    one thread) of dx with and without XLA, and of tf.linalg under XLA (wall only)."""
    sizes = (SIZES[:3] if quick else SIZES) if not cpu_time else (SIZES[:2] if quick else SIZES[:5])
    target = (1 if quick else (4 if cpu_time else 10)) * 2**20
    rng = np.random.default_rng(0)
    rows, overheads = [], []
    for name, (dx_fn, tf_fwd, tf_fwd_bwd, fb_dx_only) in CASES.items():
        for n in sizes:
            batch = batch_for(n, np.dtype(dtype).itemsize, target if n < 256 else target / 4)
            a, w = _inputs(name, dx_fn, n, batch, dtype, rng)
            row = [name, n, batch]
            for bwd, tf_fn in ((False, tf_fwd), (True, tf_fwd_bwd)):
                make = _fwd_bwd if bwd else _fwd
                args = (a, w) if bwd else (a,)
                fns = {"graph": _numpy(_compiled(make, dx_fn, False), args),
                       "xla": _numpy(_compiled(make, dx_fn, True), args)}
                if cpu_time:
                    t = _min_cpu(fns, rounds=5 if quick else 15)
                else:
                    if tf_fn is not None:
                        fns["tf_xla"] = _numpy(_compiled(make, tf_fn, True), args)
                    t = time_interleaved(fns, min_time=1.0)
                if fb_dx_only or not bwd:
                    overheads.append(t["xla"] / t["graph"])
                row += [t["graph"], t["xla"], 100 * (t["xla"] / t["graph"] - 1)]
                if not cpu_time:
                    row.append(t.get("tf_xla", float("nan")))
            rows.append(row)
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    how = "process CPU time, one thread, min" if cpu_time else "wall time, median"
    header = ["op", "n", "batch", "fwd graph", "fwd XLA", "ovh %"] + ([] if cpu_time else ["tf XLA"])
    header += ["f+b graph", "f+b XLA", "ovh %"] + ([] if cpu_time else ["tf XLA"])
    print_table(f"dx under XLA, {np.dtype(dtype).name}, {device}, ms per batch ({how}); ovh = dx XLA / dx graph - 1"
                + ("" if cpu_time else "; tf XLA: tf.linalg under jit_compile where it compiles"), header, rows)
    print(f"dx XLA / dx graph where both are dx ops only ({how}): geomean {geomean(overheads):.3f}, "
          f"min {min(overheads):.3f}, max {max(overheads):.3f}")
    return rows


def _train_step(model, loss_fn, jit):
    opt = tf.keras.optimizers.SGD(0.01)

    @tf.function(jit_compile=jit)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(loss_fn(y, model(x))) + tf.add_n(model.losses or [tf.constant(0.0)])
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return step


def step_table(quick=False, cpu_time=False):
    import keras

    rng = np.random.default_rng(1)
    rows = []
    cases = [("LinearFlow", 16, lambda: dx.layers.LinearFlow(), dx.layers.gaussian_nll),
             ("LieExp so(n)", 8, lambda: dx.layers.LieExp(dx.layers.so_generators(8)),
              keras.losses.mean_squared_error)]
    batch = 256 if quick else 4096
    for name, d, layer, loss_fn in cases:
        x = tf.constant(rng.standard_normal((batch, d)).astype("float32"))
        y = tf.constant(rng.standard_normal((batch, d)).astype("float32"))
        steps = {}
        for jit in (False, True):
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((d,)), layer(), keras.layers.Dense(d)])
            steps["xla" if jit else "graph"] = (lambda s=_train_step(model, loss_fn, jit): s(x, y).numpy())
        t = _min_cpu(steps, rounds=30 if quick else 300) if cpu_time else time_interleaved(steps, min_time=1.0)
        rows.append([name, d, batch, t["graph"], t["xla"], t["graph"] / t["xla"]])
    how = "process CPU time, one thread, min" if cpu_time else "wall time, median"
    print_table(f"one training step (dx layer + Dense, SGD), ms per step ({how})",
                ["model", "d", "batch", "jit off", "jit on", "off / on"], rows)
    return rows


def run(quick=False):
    out = {"ops": ops_table(quick), "step": step_table(quick)}
    # The one-thread CPU-time tables need a process of their own: TF sizes its pools once.
    cmd = [sys.executable, "-m", "detexp.bench.xla", "--cpu-time"] + (["--quick"] if quick else [])
    sys.stdout.flush()
    subprocess.run(cmd, check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **ONE_THREAD))
    return out


# TF's pool sizes (process_util.cc), read when its runtime starts.
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cpu-time", action="store_true", help="the one-thread CPU-time tables")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.cpu_time and any(os.environ.get(k) != v for k, v in ONE_THREAD.items()):
        sys.exit(f"--cpu-time: set {ONE_THREAD} in the environment (TF reads them at start-up)")
    ops_table(args.quick, cpu_time=args.cpu_time)
    step_table(args.quick, cpu_time=args.cpu_time)

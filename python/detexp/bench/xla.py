"""XLA: dx ops inside tf.function(jit_compile=True) (typed-FFI custom calls) vs the same dx ops
without XLA, and vs tf.linalg under XLA where that compiles (inverse, expm forward; TF 2.21 has no
XLA kernel for slogdet/det, and tf.linalg.expm's gradient does not compile). Then one training step
of each dx.layers model (LinearFlow, LieExp) with a Dense layer, jit on vs off.

The sides alternate call by call (time_interleaved). "ovh %" is dx under XLA over dx without it,
minus 1: where the function is dx ops only (forward, and logabsdet's and expm's forward+backward)
that is the custom calls' cost, since both sides run the same kernels; inverse's backward also has
two batched matmuls (-X^H G X^H), compiled by XLA on one side and run by TF on the other.
"""
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


def ops_table(quick=False, dtype=np.float32, min_time=1.0):
    sizes = SIZES[:3] if quick else SIZES
    target = (1 if quick else 10) * 2**20
    rng = np.random.default_rng(0)
    rows, overheads = [], []
    for name, (dx_fn, tf_fwd, tf_fwd_bwd, fb_dx_only) in CASES.items():
        for n in sizes:
            batch = batch_for(n, np.dtype(dtype).itemsize, target if n < 256 else target / 4)
            a = rng.standard_normal((batch, n, n)) / np.sqrt(n)
            if name != "expm":
                a += 2 * np.eye(n)
            a = tf.constant(a.astype(dtype))
            w = tf.constant(rng.standard_normal((batch,) + tuple(dx_fn(a[:1]).shape[1:])).astype(dtype))
            row = [name, n, batch]
            for bwd, tf_fn in ((False, tf_fwd), (True, tf_fwd_bwd)):
                make = _fwd_bwd if bwd else _fwd
                args = (a, w) if bwd else (a,)
                fns = {"graph": _compiled(make, dx_fn, False), "xla": _compiled(make, dx_fn, True)}
                if tf_fn is not None:
                    fns["tf_xla"] = _compiled(make, tf_fn, True)
                t = time_interleaved({k: (lambda f=f: tf.nest.map_structure(lambda x: x.numpy(), f(*args)))
                                      for k, f in fns.items()}, min_time=min_time)
                if fb_dx_only or not bwd:
                    overheads.append(t["xla"] / t["graph"])
                row += [t["graph"], t["xla"], 100 * (t["xla"] / t["graph"] - 1), t.get("tf_xla", float("nan"))]
            rows.append(row)
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print_table(
        f"dx under XLA, {np.dtype(dtype).name}, {device}, ms per batch (median); ovh = dx XLA / dx graph - 1; "
        "tf XLA: tf.linalg under jit_compile where it compiles",
        ["op", "n", "batch", "fwd graph", "fwd XLA", "ovh %", "tf XLA", "f+b graph", "f+b XLA", "ovh %", "tf XLA"],
        rows)
    print(f"dx XLA / dx graph where both are dx ops only: geomean {geomean(overheads):.3f}, "
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


def step_table(quick=False):
    import keras

    rng = np.random.default_rng(1)
    rows = []
    cases = [("LinearFlow", 16, lambda: dx.layers.LinearFlow(), dx.layers.gaussian_nll),
             ("LieExp so(n)", 8, lambda: dx.layers.LieExp(dx.layers.so_generators(8)), keras.losses.mean_squared_error)]
    for name, d, layer, loss_fn in cases:
        batch = 256 if quick else 4096
        x = tf.constant(rng.standard_normal((batch, d)).astype("float32"))
        y = tf.constant(rng.standard_normal((batch, d)).astype("float32"))
        steps = {}
        for jit in (False, True):
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((d,)), layer(), keras.layers.Dense(d)])
            steps["xla" if jit else "graph"] = _train_step(model, loss_fn, jit)
        t = time_interleaved({k: (lambda s=s: s(x, y).numpy()) for k, s in steps.items()}, min_time=1.0)
        rows.append([name, d, batch, t["graph"], t["xla"], t["graph"] / t["xla"]])
    print_table("one training step (dx layer + Dense, SGD), ms per step (median)",
                ["model", "d", "batch", "jit off", "jit on", "off / on"], rows)
    return rows


def run(quick=False):
    return {"ops": ops_table(quick), "step": step_table(quick)}

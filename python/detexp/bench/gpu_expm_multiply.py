"""GPU: dx.expm_multiply(a, b) = exp(a) b, float32, forward and forward+backward, against forming the
exponential: dx.expm(a) @ b, tf.linalg.expm(a) @ b and (in its own process) torch.linalg.matrix_exp(a)
@ b. Shapes n x batch x k: the teams (n <= 64) on batches, the host-driven cuBLAS path on one matrix
up to n = 4096 (k = 1, and 16 at n = 1024). Inputs as the gpu_expm section (2 standard normal / sqrt(n)); timing
as _gpu.py (interleaved, each call ends in a device synchronisation). The ratio vs dx.expm(a) @ b
is the measurement behind gpu_plan.h's dense ratios: where it is below 1 the dense route would have
been faster."""
import numpy as np

from ._common import print_table, time_interleaved
from . import _gpu
from ._gpu_inputs import columns, inputs

SHAPES = ((8, 65536, 1), (32, 4096, 4), (64, 1024, 1), (256, 1, 1), (1024, 1, 16), (2048, 1, 1), (4096, 1, 1))
QUICK_SHAPES = ((8, 1024, 1), (128, 1, 2))
MIN_TIME = 0.3


def _tf_side(a_np, b_np, min_time):
    import tensorflow as tf

    import detexp as dx

    impls = {"dx": dx.expm_multiply, "dx_dense": lambda a, b: dx.expm(a) @ b,
             "tf": lambda a, b: tf.linalg.expm(a) @ b}

    def fwd_bwd(f):
        def g(a, b):
            with tf.GradientTape() as tape:
                tape.watch([a, b])
                y = tf.reduce_sum(f(a, b))
            return tape.gradient(y, [a, b])
        return g

    sync = tf.test.experimental.sync_devices
    out = {}
    with tf.device("/GPU:0"):
        a, b = tf.constant(a_np), tf.constant(b_np)
        for mode, wrap in (("fwd", lambda f: f), ("fwd_bwd", fwd_bwd)):
            fns = {name: tf.function(wrap(f)) for name, f in impls.items()}
            times = time_interleaved({name: (lambda f=f: (f(a, b), sync())) for name, f in fns.items()}, min_time)
            for name, ms in times.items():
                out.setdefault(name, {})[mode] = ms
    return out


def run(quick=False, min_time=MIN_TIME):
    device = _gpu._gpu_name()
    if device is None:
        print("\n(gpu_expm_multiply: no GPU visible to TensorFlow: skipped)")
        return {"skipped": "no GPU visible to TensorFlow"}
    shapes = [list(s) for s in (QUICK_SHAPES if quick else SHAPES)]
    torch_times, torch_note = _gpu._torch_side("expm_multiply", shapes, min_time)
    rows, table = [], []
    nan = float("nan")
    for n, batch, k in shapes:
        t = _tf_side(inputs("expm", n, batch), columns(n, batch, k), min_time)
        th = torch_times.get((n, batch, k), {})
        row = {"n": n, "batch": batch, "k": k}
        for mode in ("fwd", "fwd_bwd"):
            dx_ms = t["dx"][mode]
            row.update({f"dx_{mode}": dx_ms, f"dx_dense_{mode}": t["dx_dense"][mode], f"tf_{mode}": t["tf"][mode],
                        f"torch_{mode}": th.get(mode, nan)})
            row[f"vs_dense_{mode}"] = t["dx_dense"][mode] / dx_ms
            row[f"speedup_{mode}"] = np.nanmin([t["tf"][mode], th.get(mode, nan)]) / dx_ms
        rows.append(row)
        table.append([f"{n}x{batch}x{k}"] + [row[key] for key in (
            "dx_fwd", "dx_dense_fwd", "tf_fwd", "torch_fwd", "vs_dense_fwd", "speedup_fwd",
            "dx_fwd_bwd", "dx_dense_fwd_bwd", "tf_fwd_bwd", "torch_fwd_bwd", "vs_dense_fwd_bwd", "speedup_fwd_bwd")])
    print_table(f"expm_multiply float32 on {device}, ms (median); vs dense = dx.expm(a) @ b / dx.expm_multiply; "
                f"speedup = the faster of tf.linalg.expm @ b and torch.linalg.matrix_exp @ b / dx ({torch_note})",
                ["n x batch x k", "dx fwd", "dx.expm@b", "tf fwd", "torch fwd", "vs dense", "speedup", "dx f+b",
                 "dx.expm@b f+b", "tf f+b", "torch f+b", "vs dense", "speedup"], table)
    return {"device": device, "torch": torch_note, "rows": rows}

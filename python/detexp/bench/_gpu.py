"""The GPU sections (gpu_slogdet, gpu_expm): detexp vs tf.linalg vs torch.linalg, float32, forward
and forward+backward, at the shapes of issue 23's table, timed with _common.time_interleaved.

detexp and tf.linalg run in this process, interleaved call by call; torch.linalg runs in a child
process (_torch_gpu.py, which never imports TensorFlow or detexp): PyTorch's CUDA runtime, loaded
RTLD_GLOBAL, could otherwise capture the runtime symbols of a detexp build that binds to TF's.
Every timed call ends in a device synchronisation. Without a GPU the section says so and returns
{"skipped": ...} (the verification script's dry run records that).
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from ._common import print_table, time_interleaved
from ._gpu_inputs import inputs

# n x batch: 4x1M .. 2048x1 (issue 23). --quick: small batches of three of them.
SHAPES = ((4, 1 << 20), (8, 262144), (16, 65536), (32, 16384), (64, 4096), (128, 512), (512, 16), (2048, 1))
QUICK_SHAPES = ((4, 4096), (32, 256), (128, 8))
MIN_TIME = 0.3


def _tf_side(op, a_np, min_time):
    """{"dx": {"fwd": ms, "fwd_bwd": ms}, "tf": {...}}, the two libraries interleaved call by call."""
    import tensorflow as tf

    import detexp as dx

    impls = ({"dx": lambda x: dx.slogdet(x)[1], "tf": lambda x: tf.linalg.slogdet(x)[1]} if op == "slogdet"
             else {"dx": dx.expm, "tf": tf.linalg.expm})

    def fwd_bwd(f):
        def g(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.reduce_sum(f(x))
            return tape.gradient(y, x)
        return g

    sync = tf.test.experimental.sync_devices
    out = {}
    with tf.device("/GPU:0"):
        a = tf.constant(a_np)
        for mode, wrap in (("fwd", lambda f: f), ("fwd_bwd", fwd_bwd)):
            fns = {name: tf.function(wrap(f), jit_compile=False) for name, f in impls.items()}
            times = time_interleaved({name: (lambda f=f: (f(a), sync())) for name, f in fns.items()}, min_time)
            for name, ms in times.items():
                out.setdefault(name, {})[mode] = ms
    return out


def _torch_side(op, shapes, min_time):
    """({(n, batch): {"fwd": ms, "fwd_bwd": ms}}, note) from a child process; ({}, reason) if none."""
    worker = Path(__file__).with_name("_torch_gpu.py")
    cmd = [sys.executable, str(worker), op, json.dumps(shapes), str(min_time)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return {}, f"torch worker failed: {r.stderr.strip().splitlines()[-1:] or r.returncode}"
    res = json.loads(r.stdout.strip().splitlines()[-1])
    if "skipped" in res:
        return {}, res["skipped"]
    return {tuple(k): v for k, v in res["times"]}, f"torch {res['torch']} in its own process"


def _gpu_name():
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")


def run_op(op, quick=False, min_time=MIN_TIME):
    device = _gpu_name()
    if device is None:
        print(f"\n(gpu_{op}: no GPU visible to TensorFlow: skipped)")
        return {"skipped": "no GPU visible to TensorFlow"}
    shapes = [list(s) for s in (QUICK_SHAPES if quick else SHAPES)]
    torch_times, torch_note = _torch_side(op, shapes, min_time)
    rows, table = [], []
    nan = float("nan")
    for n, batch in shapes:
        t = _tf_side(op, inputs(op, n, batch), min_time)
        th = torch_times.get((n, batch), {})
        row = {"n": n, "batch": batch}
        for mode in ("fwd", "fwd_bwd"):
            dx_ms, tf_ms, th_ms = t["dx"][mode], t["tf"][mode], th.get(mode, nan)
            best = np.nanmin([tf_ms, th_ms])
            row.update({f"dx_{mode}": dx_ms, f"tf_{mode}": tf_ms, f"torch_{mode}": th_ms, f"speedup_{mode}": best / dx_ms})
        rows.append(row)
        table.append([f"{n}x{batch}"] + [row[k] for k in ("dx_fwd", "tf_fwd", "torch_fwd", "speedup_fwd",
                                                         "dx_fwd_bwd", "tf_fwd_bwd", "torch_fwd_bwd", "speedup_fwd_bwd")])
    print_table(f"{op} float32 on {device}, ms (median); speedup = the faster of tf.linalg and torch.linalg / "
                f"detexp ({torch_note})",
                ["n x batch", "dx fwd", "tf fwd", "torch fwd", "speedup", "dx f+b", "tf f+b", "torch f+b", "speedup"],
                table)
    return {"device": device, "torch": torch_note, "rows": rows}

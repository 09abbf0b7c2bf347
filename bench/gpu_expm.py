"""GPU benchmark of expm: detexp vs tf.linalg.expm vs torch.linalg.matrix_exp, float32, forward and
forward+backward, at the shapes of issue 7. Prints one table (ms, median of repeated runs) and
the speed-up of detexp over the better peer.

    python bench/gpu_expm.py                  # all shapes
    python bench/gpu_expm.py --shapes 4x1048576,64x4096 --min-time 0.5
    python bench/gpu_expm.py --no-tf          # torch only (a machine without TF)

Needs TF with a GPU and the CUDA build of detexp on PYTHONPATH; torch is optional. Without a GPU
it says so and exits 0 (nothing to measure). Inputs: standard normal / sqrt(n) times 2, so that
every path needs the top degree and a few squarings (the common case of a generator matrix).
"""
import argparse
import sys
import time

import numpy as np

SHAPES = [(4, 1 << 20), (8, 262144), (16, 65536), (32, 16384), (64, 4096), (128, 512), (512, 16), (2048, 1)]


def _median_ms(fn, sync, min_time, max_repeats=200):
    fn()
    sync()
    times = []
    start = time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < min_time and len(times) < max_repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def _tf_gpu():
    try:
        import tensorflow as tf
    except ImportError:
        return False
    return bool(tf.config.list_physical_devices("GPU"))


def bench_tf(a_np, min_time):
    import tensorflow as tf
    import detexp as dx

    sync = tf.test.experimental.sync_devices
    with tf.device("/GPU:0"):
        a = tf.constant(a_np)

        def fwd_bwd(f):
            @tf.function(jit_compile=False)
            def g(x):
                with tf.GradientTape() as t:
                    t.watch(x)
                    y = tf.reduce_sum(f(x))
                return t.gradient(y, x)
            return g

        out = {}
        for name, f in (("detexp", dx.expm), ("tf", tf.linalg.expm)):
            fwd = tf.function(f, jit_compile=False)
            out[name] = (_median_ms(lambda: fwd(a), sync, min_time),
                         _median_ms(lambda g=fwd_bwd(f): g(a), sync, min_time))
        return out


def bench_torch(a_np, min_time):
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    a = torch.from_numpy(a_np).cuda()
    sync = torch.cuda.synchronize

    def fwd():
        with torch.no_grad():
            torch.linalg.matrix_exp(a)

    x = a.clone().requires_grad_(True)

    def fwd_bwd():
        torch.linalg.matrix_exp(x).sum().backward()
        x.grad = None

    return _median_ms(fwd, sync, min_time), _median_ms(fwd_bwd, sync, min_time)


def _torch_gpu():
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def _device_name():
    try:
        import torch
        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return "GPU"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", default=",".join(f"{n}x{b}" for n, b in SHAPES))
    p.add_argument("--min-time", type=float, default=0.3)
    p.add_argument("--no-tf", action="store_true", help="torch only (no TF on the machine)")
    args = p.parse_args()
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    use_tf = not args.no_tf and _tf_gpu()
    if not use_tf and not _torch_gpu():
        print("gpu_expm: no GPU visible to TensorFlow or PyTorch; nothing to measure", file=sys.stderr)
        return 0
    rows = []
    nan = (float("nan"), float("nan"))
    for n, batch in shapes:
        rng = np.random.default_rng(0)
        a = (2.0 * rng.standard_normal((batch, n, n)) / np.sqrt(n)).astype(np.float32)
        th = bench_torch(a, args.min_time) or nan
        r = bench_tf(a, args.min_time) if use_tf else {}
        d, tf_ = r.get("detexp", nan), r.get("tf", nan)
        best_f, best_b = np.nanmin([tf_[0], th[0], np.inf]), np.nanmin([tf_[1], th[1], np.inf])
        rows.append((f"{n}x{batch}", d[0], tf_[0], th[0], best_f / d[0], th[0] / d[0], d[1], tf_[1], th[1],
                     best_b / d[1], th[1] / d[1]))
        print(f"done {n}x{batch}", file=sys.stderr, flush=True)
    header = ["n x batch", "dx fwd", "tf fwd", "torch fwd", "vs best", "vs torch", "dx f+b", "tf f+b",
              "torch f+b", "vs best", "vs torch"]
    print(f"\nexpm float32 on {_device_name()} (ms, median; speed-up = peer / detexp; nan = not run)")
    print("  ".join(f"{h:>10}" for h in header))
    for row in rows:
        print("  ".join(f"{v:>10}" if isinstance(v, str) else f"{v:>10.3g}" for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())

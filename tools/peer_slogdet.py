"""slogdet on the CPU against PyTorch and NumPy, one library and one case per process.

run: PYTHONPATH=python python tools/peer_slogdet.py [--rounds 2] [--out FILE.jsonl] [--sizes 16 64]
[--dtypes float64] [--modes fwd]
(results: README.md's slogdet table). In one process the libraries' thread pools (TF's, torch's
OpenMP, OpenBLAS) spin after each call and steal the cores from whoever runs next, so every
(library, dtype, n, mode) runs in a fresh process: 1.5 s of warm-up (dx's graph path speeds up
over its first ~30 calls), then the minimum of 20 calls (8 from n = 128); the libraries of a case
run one after the other, and the whole sweep `--rounds` times (the table takes the best round).
dx runs in tf.function (forward: logabsdet only; fwd+bwd: its gradient), dx.numpy and NumPy the
forward only, torch with torch.set_num_threads(2). Needs torch (`pip install torch==2.13.0`
takes the CPU build); a missing library leaves its column empty.
"""
import argparse
import collections
import json
import subprocess
import sys
import time

SIZES = (4, 8, 16, 32, 64, 128, 256)
DTYPES = ("float32", "float64")


def run_case(lib, dtype, n, mode, reps):
    import numpy as np
    itemsize = np.dtype(dtype).itemsize
    batch = max(1, (16 << 20) // (n * n * itemsize))
    a_np = np.random.default_rng(n).standard_normal((batch, n, n)).astype(dtype) + 2 * np.eye(n, dtype=dtype)
    if lib == "torch":
        import torch
        torch.set_num_threads(2)
        a = torch.from_numpy(a_np.copy())
        if mode == "fwd":
            def f():
                with torch.no_grad():
                    return torch.linalg.slogdet(a)[1]
        else:
            def f():
                x = a.detach().requires_grad_(True)
                return torch.autograd.grad(torch.linalg.slogdet(x)[1].sum(), x)[0]
    elif lib in ("dx.numpy", "numpy"):
        if lib == "dx.numpy":
            import detexp.numpy as dnp
            fn = dnp.slogdet
        else:
            fn = np.linalg.slogdet
        def f():
            return fn(a_np)
    else:
        import tensorflow as tf
        import detexp as dx
        a = tf.constant(a_np)
        if mode == "fwd":
            g = tf.function(lambda a: dx.slogdet(a)[1])
        else:
            @tf.function
            def g(a):
                with tf.GradientTape() as t:
                    t.watch(a)
                    y = tf.reduce_sum(dx.slogdet(a)[1])
                return t.gradient(y, a)
        def f():
            return g(a).numpy()
    t_end = time.perf_counter() + 1.5
    while time.perf_counter() < t_end:
        f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return {"lib": lib, "dtype": dtype, "n": n, "mode": mode, "batch": batch, "min_ms": min(ts) * 1e3}


def table(rows, dtypes=DTYPES, sizes=SIZES):
    best = collections.defaultdict(lambda: None)
    for r in rows:
        k = (r["dtype"], r["n"], r["mode"], r["lib"])
        best[k] = r["min_ms"] if best[k] is None else min(best[k], r["min_ms"])
    f = lambda x: "—" if x is None else f"{x:.2f}"
    ratio = lambda a, b: "—" if a is None or b is None else f"{a / b:.2f}x"
    out = ["| dtype | n | dx fwd | torch fwd | torch / dx | dx fwd+bwd | torch fwd+bwd | torch / dx "
           "| dx.numpy | NumPy | NumPy / dx.numpy |", "|---|---|" + "---:|" * 9]
    for d in dtypes:
        for n in sizes:
            g = lambda m, l: best[(d, n, m, l)]
            out.append(f"| {d} | {n} | {f(g('fwd', 'dx'))} | {f(g('fwd', 'torch'))} | "
                       f"{ratio(g('fwd', 'torch'), g('fwd', 'dx'))} | {f(g('fwdbwd', 'dx'))} | "
                       f"{f(g('fwdbwd', 'torch'))} | {ratio(g('fwdbwd', 'torch'), g('fwdbwd', 'dx'))} | "
                       f"{f(g('fwd', 'dx.numpy'))} | {f(g('fwd', 'numpy'))} | "
                       f"{ratio(g('fwd', 'numpy'), g('fwd', 'dx.numpy'))} |")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", default=None, help="append each case's result (JSON lines)")
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    p.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=DTYPES)
    p.add_argument("--modes", nargs="+", default=["fwd", "fwdbwd"], choices=["fwd", "fwdbwd"])
    p.add_argument("--case", nargs=4, metavar=("LIB", "DTYPE", "N", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.case:
        lib, dtype, n, mode = args.case
        n = int(n)
        print(json.dumps(run_case(lib, dtype, n, mode, 20 if n < 128 else 8)))
        return
    rows = []
    for _ in range(args.rounds):
        for d in args.dtypes:
            for n in args.sizes:
                for mode in args.modes:
                    for lib in ("dx", "torch") + (("dx.numpy", "numpy") if mode == "fwd" else ()):
                        res = subprocess.run([sys.executable, __file__, "--case", lib, d, str(n), mode],
                                             capture_output=True, text=True, timeout=300)
                        lines = [l for l in res.stdout.splitlines() if l.startswith("{")]
                        if not lines:  # not installed, or it failed (torch's MKL at n = 256 fwd+bwd)
                            continue
                        rows.append(json.loads(lines[-1]))
                        if args.out:
                            with open(args.out, "a") as fh:
                                fh.write(lines[-1] + "\n")
                        time.sleep(0.5)
    print(table(rows, args.dtypes, args.sizes))


if __name__ == "__main__":
    main()

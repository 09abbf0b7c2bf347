"""slogdet or expm on the CPU against PyTorch, JAX and NumPy/SciPy, one library and one case per process.

run: PYTHONPATH=python python tools/peers.py --op slogdet|expm [--rounds 2] [--out FILE.jsonl]
[--sizes 16 64] [--dtypes float64] [--modes fwd] [--libs dx jax]
(results: README.md's peer tables). In one process the libraries' thread pools (TF's, torch's
OpenMP, XLA's, OpenBLAS) spin after each call and steal the cores from whoever runs next, so every
(library, dtype, n, mode) runs in a fresh process: 1.5 s of warm-up (dx's graph path speeds up
over its first ~30 calls), then the minimum of 20 calls (8 from n = 128; for slow calls at least
3 and ~4 s of them); the libraries of a case run one after the other, and the whole sweep
`--rounds` times (the table takes the best round).
Inputs, ~16 MB per batch: slogdet N(0, 1) + 2I; expm N(0, 1) / sqrt(n) (||A||_1 of a few units).
Modes: fwd (slogdet: logabsdet only); fwdbwd, the gradient (slogdet: of sum(logabsdet); expm: of
sum(W * expm(A)), W fixed N(0, 1), the forward returned too). dx runs in tf.function, JAX under
jax.jit (float64 with jax_enable_x64), torch with torch.set_num_threads(2); dx.numpy and the
reference (NumPy's slogdet, SciPy's batched expm) the forward only. A library that is not
installed leaves its column empty (`pip install torch==2.13.0 jax` for the CPU builds).
"""
import argparse
import collections
import json
import subprocess
import sys
import time

SIZES = (4, 8, 16, 32, 64, 128, 256)
DTYPES = ("float32", "float64")
LIBS = ("dx", "torch", "jax", "dx.numpy", "ref")
FORWARD_ONLY = ("dx.numpy", "ref")
REF_NAME = {"slogdet": "NumPy", "expm": "SciPy"}


def inputs(op, dtype, n):
    import numpy as np
    itemsize = np.dtype(dtype).itemsize
    batch = max(1, (16 << 20) // (n * n * itemsize))
    rng = np.random.default_rng(n)
    if op == "slogdet":
        a = rng.standard_normal((batch, n, n)).astype(dtype) + 2 * np.eye(n, dtype=dtype)
    else:
        a = (rng.standard_normal((batch, n, n)) / np.sqrt(n)).astype(dtype)
    w = rng.standard_normal((batch, n, n)).astype(dtype)
    return batch, a, w


def case_fn(lib, op, mode, a_np, w_np):
    """A callable that runs the case once and blocks until its result is there."""
    if lib == "torch":
        import torch
        torch.set_num_threads(2)
        a, w = torch.from_numpy(a_np.copy()), torch.from_numpy(w_np.copy())
        fn = (lambda x: torch.linalg.slogdet(x)[1]) if op == "slogdet" else torch.linalg.matrix_exp
        if mode == "fwd":
            def f():
                with torch.no_grad():
                    return fn(a)
        elif op == "slogdet":
            def f():
                x = a.detach().requires_grad_(True)
                return torch.autograd.grad(fn(x).sum(), x)[0]
        else:
            def f():
                x = a.detach().requires_grad_(True)
                e = fn(x)
                return e.detach(), torch.autograd.grad((w * e).sum(), x)[0]
        return f
    if lib == "jax":
        import jax
        if a_np.dtype.itemsize == 8:
            jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        import jax.scipy.linalg as jsl
        a, w = jnp.asarray(a_np), jnp.asarray(w_np)
        fn = (lambda x: jnp.linalg.slogdet(x)[1]) if op == "slogdet" else jsl.expm
        if mode == "fwd":
            g = jax.jit(fn)
            return lambda: g(a).block_until_ready()
        if op == "slogdet":
            g = jax.jit(jax.grad(lambda x: fn(x).sum()))
            return lambda: g(a).block_until_ready()
        def value_and_grad(x, w):
            e, vjp = jax.vjp(fn, x)
            return e, vjp(w)[0]   # the gradient of sum(W * expm(A)) is the VJP with W
        g = jax.jit(value_and_grad)
        return lambda: jax.block_until_ready(g(a, w))
    if lib in FORWARD_ONLY:
        if lib == "dx.numpy":
            import detexp.numpy as dnp
            fn = dnp.slogdet if op == "slogdet" else dnp.expm
        else:
            import numpy as np
            import scipy.linalg as sla
            fn = np.linalg.slogdet if op == "slogdet" else sla.expm
        return lambda: fn(a_np)
    import tensorflow as tf
    import detexp as dx
    a, w = tf.constant(a_np), tf.constant(w_np)
    fn = (lambda x: dx.slogdet(x)[1]) if op == "slogdet" else dx.expm
    if mode == "fwd":
        g = tf.function(fn)
        return lambda: g(a).numpy()

    @tf.function
    def g(a, w):
        with tf.GradientTape() as t:
            t.watch(a)
            y = fn(a)
            loss = tf.reduce_sum(y) if op == "slogdet" else tf.reduce_sum(w * y)
        return y, t.gradient(loss, a)
    return lambda: [x.numpy() for x in g(a, w)]


def run_case(lib, op, dtype, n, mode, reps):
    batch, a_np, w_np = inputs(op, dtype, n)
    f = case_fn(lib, op, mode, a_np, w_np)
    t_end = time.perf_counter() + 1.5
    f()
    while time.perf_counter() < t_end:
        f()
    ts = []
    t_end = time.perf_counter() + 4.0
    while len(ts) < reps and (len(ts) < 3 or time.perf_counter() < t_end):  # slow cases: >= 3 calls, ~4 s
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return {"op": op, "lib": lib, "dtype": dtype, "n": n, "mode": mode, "batch": batch, "min_ms": min(ts) * 1e3}


def table(op, rows, dtypes=DTYPES, sizes=SIZES):
    best = collections.defaultdict(lambda: None)
    for r in rows:
        k = (r["dtype"], r["n"], r["mode"], r["lib"])
        best[k] = r["min_ms"] if best[k] is None else min(best[k], r["min_ms"])
    f = lambda x: "—" if x is None else f"{x:.2f}"
    ratio = lambda a, b: "—" if a is None or b is None else f"{a / b:.2f}x"
    ref = REF_NAME[op]
    out = [f"| dtype | n | dx fwd | torch | JAX | torch / dx | JAX / dx | dx fwd+bwd | torch | JAX | torch / dx "
           f"| JAX / dx | dx.numpy | {ref} | {ref} / dx.numpy |", "|---|---|" + "---:|" * 13]
    for d in dtypes:
        for n in sizes:
            g = lambda m, l: best[(d, n, m, l)]
            cells = []
            for m in ("fwd", "fwdbwd"):
                cells += [f(g(m, "dx")), f(g(m, "torch")), f(g(m, "jax")),
                          ratio(g(m, "torch"), g(m, "dx")), ratio(g(m, "jax"), g(m, "dx"))]
            cells += [f(g("fwd", "dx.numpy")), f(g("fwd", "ref")), ratio(g("fwd", "ref"), g("fwd", "dx.numpy"))]
            out.append(f"| {d} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--op", choices=("slogdet", "expm"))
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", default=None, help="append each case's result (JSON lines)")
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    p.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=DTYPES)
    p.add_argument("--modes", nargs="+", default=["fwd", "fwdbwd"], choices=["fwd", "fwdbwd"])
    p.add_argument("--libs", nargs="+", default=list(LIBS), choices=LIBS)
    p.add_argument("--table", metavar="FILE.jsonl", help="only print the table of earlier results")
    p.add_argument("--case", nargs=5, metavar=("LIB", "OP", "DTYPE", "N", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.case:
        lib, op, dtype, n, mode = args.case
        n = int(n)
        print(json.dumps(run_case(lib, op, dtype, n, mode, 20 if n < 128 else 8)))
        return
    if args.op is None:
        p.error("--op is required")
    if args.table:
        rows = [json.loads(l) for l in open(args.table) if l.strip()]
        print(table(args.op, [r for r in rows if r.get("op", "slogdet") == args.op], args.dtypes, args.sizes))
        return
    rows = []
    for _ in range(args.rounds):
        for d in args.dtypes:
            for n in args.sizes:
                for mode in args.modes:
                    for lib in args.libs:
                        if mode != "fwd" and lib in FORWARD_ONLY:
                            continue
                        res = subprocess.run([sys.executable, __file__, "--case", lib, args.op, d, str(n), mode],
                                             capture_output=True, text=True, timeout=600)
                        lines = [l for l in res.stdout.splitlines() if l.startswith("{")]
                        if not lines:  # not installed, or it failed (torch's MKL at n = 256 fwd+bwd)
                            continue
                        rows.append(json.loads(lines[-1]))
                        if args.out:
                            with open(args.out, "a") as fh:
                                fh.write(lines[-1] + "\n")
                        time.sleep(0.5)
    print(table(args.op, rows, args.dtypes, args.sizes))


if __name__ == "__main__":
    main()

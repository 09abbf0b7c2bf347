"""Timing and table printing shared by the benchmark sections (slogdet.py, expm.py, ...)."""
import gc
import json
import math
import time
from pathlib import Path

import numpy as np


def time_call(fn, min_time=0.2, max_repeats=50):
    """Median wall time in ms of fn() after one warm-up call; fn must block until done."""
    return time_interleaved({"fn": fn}, min_time, max_repeats)["fn"]


def time_interleaved(fns, min_time=0.4, max_rounds=50):
    """Median wall times in ms of the callables in fns (a dict), after one warm-up call each;
    at least 3 rounds, then more until min_time has passed or max_rounds are done.

    Each round calls every function once, in turn, so that all of them see the same phases of a
    noisy machine (timing one after the other let a slow phase fall on one side of a ratio only).
    Python's cyclic garbage collector is off while timing (as in timeit): with TensorFlow loaded a
    collection walks millions of objects, and it fell on whichever call happened to allocate then
    (8-10% of a profile of repeated 2 ms calls).
    """
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        rounds = 0
        while rounds < 3 or (time.perf_counter() - start < min_time and rounds < max_rounds):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
            rounds += 1
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: 1e3 * float(np.median(ts)) for name, ts in times.items()}


def batch_for(n, itemsize, target_bytes):
    """A batch size whose [batch, n, n] input is about target_bytes (at least 1)."""
    return max(1, int(target_bytes // (n * n * itemsize)))


def geomean(xs):
    xs = [x for x in xs if x and x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def print_table(title, header, rows):
    """Prints a fixed-width table; rows are lists of str/float (floats shown with 3 significant digits)."""
    def fmt(v):
        if isinstance(v, float):
            return "-" if math.isnan(v) else f"{v:.3g}"
        return str(v)

    cells = [[fmt(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for r in cells:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))


def write_json(results, path):
    """The bench's results as JSON (NaN written as null)."""
    def clean(v):
        if isinstance(v, float) and not np.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, np.generic):
            return clean(v.item())
        return v
    Path(path).write_text(json.dumps(clean(results), indent=1))

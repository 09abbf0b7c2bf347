"""python -m detexp.bench [--quick] [--only slogdet,expm] [--plot FILE.png]: side-by-side tables vs
tf.linalg; --plot also draws the speedup by n per op (needs matplotlib)."""
import argparse
import importlib
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SECTIONS = ("slogdet", "expm", "xla")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    p.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    p.add_argument("--plot", metavar="FILE.png", help="also plot the speedup vs tf.linalg by n per op")
    args = p.parse_args()
    if args.plot:
        from ._plot import plot, require_matplotlib
        require_matplotlib()   # fail before the benchmark runs, not after
    import tensorflow as tf
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, "
          f"intra-op threads {tf.config.threading.get_intra_op_parallelism_threads() or 'default'}")
    results = {}
    for name in args.only.split(","):
        try:
            section = importlib.import_module(f"detexp.bench.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"detexp.bench.{name}":
                print(f"\n(section {name}: not available in this build)")
                continue
            raise
        t0 = time.perf_counter()
        results[name] = section.run(quick=args.quick)
        print(f"({name}: {time.perf_counter() - t0:.0f} s)")
    if args.plot:
        plot(results, args.plot, subtitle=f"{os.cpu_count()} cores" + (", --quick" if args.quick else ""))


if __name__ == "__main__":
    main()

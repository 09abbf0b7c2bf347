"""python -m detexp.bench [--quick] [--only slogdet,expm] [--plot FILE.png] [--json FILE]: side-by-side
tables vs tf.linalg; --plot also draws the speedup by n per op (needs matplotlib), --json writes the
numbers. The GPU sections (detexp vs tf.linalg vs torch.linalg on the GPU, float32, the shapes of
issue 23; expm_multiply against forming the exponential) run with --only gpu_slogdet,gpu_expm,
gpu_expm_multiply (or --only gpu)."""
import argparse
import importlib
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SECTIONS = ("slogdet", "expm", "expm_multiply", "xla")
GPU_SECTIONS = ("gpu_slogdet", "gpu_expm", "gpu_expm_multiply")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    p.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    p.add_argument("--plot", metavar="FILE.png", help="also plot the speedup vs tf.linalg by n per op")
    p.add_argument("--json", metavar="FILE", help="also write every section's numbers as JSON")
    args = p.parse_args()
    names = [g for name in args.only.split(",") for g in (GPU_SECTIONS if name == "gpu" else (name,))]
    if args.plot:
        from ._plot import plot, require_matplotlib
        require_matplotlib()   # fail before the benchmark runs, not after
    import tensorflow as tf
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, "
          f"intra-op threads {tf.config.threading.get_intra_op_parallelism_threads() or 'default'}")
    results = {}
    for name in names:
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
    if args.json:
        from ._common import write_json
        write_json(results, args.json)
    if args.plot:
        plot(results, args.plot, subtitle=f"{os.cpu_count()} cores" + (", --quick" if args.quick else ""))


if __name__ == "__main__":
    main()

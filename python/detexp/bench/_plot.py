"""--plot FILE.png: speedup of detexp over tf.linalg (and torch, dashed, when it was timed) by
matrix size n, one panel per op and dtype, from the rows the benchmark sections return
(slogdet.run, expm.run). Needs matplotlib (the `test` extra)."""


def _with_torch(curves, torch_f, torch_b):
    """Adds the dashed vs-torch curves where the rows have torch timings (not NaN)."""
    if torch_f and all(v == v for _, v in torch_f):
        curves["forward vs torch"] = torch_f
        curves["forward+backward vs torch"] = torch_b
    return curves


def speedup_series(results):
    """{panel title: {curve label: [(n, speedup), ...]}} from {section: section.run()'s return};
    speedups over tf.linalg, and over torch where the rows carry torch columns."""
    panels = {}
    if "slogdet" in results:
        rows = results["slogdet"]   # see bench/slogdet.py: vs tf at 5, 8; dtype at 9; vs torch at 14, 15
        for dtype in sorted({r[9] if len(r) > 9 else "float32" for r in rows}, key=lambda d: d != "float32"):
            rs = [r for r in rows if (r[9] if len(r) > 9 else "float32") == dtype]
            panels[f"slogdet ({dtype})"] = _with_torch(
                {"forward": [(r[0], r[5]) for r in rs], "forward+backward": [(r[0], r[8]) for r in rs]},
                [(r[0], r[14]) for r in rs if len(r) > 15], [(r[0], r[15]) for r in rs if len(r) > 15])
    if "expm" in results:
        rows_f, rows_b = results["expm"]   # [n, batch, dtype, ..., vs tf (index 6)] (+ torch ms, vs torch)
        for dtype in sorted({r[2] for r in rows_f}):
            rf = [r for r in rows_f if r[2] == dtype]
            rb = [r for r in rows_b if r[2] == dtype]
            panels[f"expm ({dtype})"] = _with_torch(
                {"forward": [(r[0], r[6]) for r in rf], "forward+backward": [(r[0], r[6]) for r in rb]},
                [(r[0], r[9]) for r in rf if len(r) > 9], [(r[0], r[8]) for r in rb if len(r) > 8])
    return panels


def require_matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install matplotlib (or the [test] extra)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot(results, path, subtitle=""):
    plt = require_matplotlib()
    from matplotlib.ticker import FuncFormatter, NullFormatter
    panels = speedup_series(results)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for ax, (title, curves) in zip(axes[0], panels.items()):
        for label, pts in curves.items():
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label,
                    ls="--" if "torch" in label else "-", color="C1" if "backward" in label else "C0")
        ax.axhline(1.0, color="gray", lw=0.8, ls="--")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ns = sorted({p[0] for pts in curves.values() for p in pts})
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        vals = [v for pts in curves.values() for _, v in pts] + [1.0]
        ax.set_yticks([t for t in (0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32) if min(vals) / 2 < t < max(vals) * 2])
        ax.grid(True, which="major", alpha=0.3)
        ax.set_title(title)
        ax.set_xlabel("n (matrices n x n, batched)")
        ax.set_ylabel("speedup vs tf.linalg (solid), torch (dashed)")
        ax.legend(fontsize=8)
    fig.suptitle(f"detexp vs tf.linalg and torch, CPU{', ' + subtitle if subtitle else ''}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")

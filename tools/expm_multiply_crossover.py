"""Measures the dense-route constant of cc/core/expm_multiply_select.h (kDenseCostRatio):
run: PYTHONPATH=python python tools/expm_multiply_crossover.py  (results: docs/expm_multiply_crossover.md).

The selection takes the dense route (exp(tA) by scaling and squaring, then one product) where the
Taylor steps' multiply-adds m s k n^2 exceed kDenseCostRatio * kDenseProducts * n^3, i.e. where
    m s k / n  >  R * 12,   R = kDenseCostRatio.
Timing the Taylor route (a matrix whose code is m + 64 s, read from the op's choice output) and the
dense route (dx.expm(t a) @ b, the same code as the dense branch) on the same matrix, interleaved,
gives the cost per unit c_T = time_T / (m s k n^2) and c_D = time_D / n^3; the routes cost the same
at m s k / n = c_D / c_T, so the measured R is c_D / (12 c_T). The Taylor steps stop early (fewer
terms than m), so c_T is per planned term: what the selection can know.
"""
import numpy as np
import tensorflow as tf

import detexp as dx
from detexp.bench.expm_multiply import _interleaved

_ops = dx._expm_multiply._ops


def main():
    rng = np.random.default_rng(0)
    print("| n | k | dtype | ||A||_1 | m | s | Taylor ms | dense ms | c_D / (12 c_T) |")
    print("|---|---|---|---|---|---|---|---|---|")
    ratios = []
    for dtype in (np.float64, np.float32):
        for n, k, scale in [(64, 1, 2.0), (256, 1, 2.0), (256, 4, 2.0), (1024, 1, 2.0), (1024, 1, 8.0)]:
            a = tf.constant((rng.standard_normal((n, n)) * scale / np.sqrt(n)).astype(dtype))
            b = tf.constant(rng.standard_normal((n, k)).astype(dtype))
            one = tf.ones([], dtype)
            code = int(_ops.detexp_expm_multiply(a, b, one)[1])
            if code == 63:
                continue
            m, s = code % 64, code // 64
            t = _interleaved({"taylor": lambda: _ops.detexp_expm_multiply(a, b, one)[0].numpy(),
                            "dense": lambda: (dx.expm(a) @ b).numpy()}, rounds=5)
            c_t = t["taylor"] / (m * s * k * n * n)
            c_d = t["dense"] / n ** 3
            r = c_d / (12 * c_t)
            ratios.append(r)
            norm = float(tf.reduce_max(tf.reduce_sum(tf.abs(a), axis=0)))
            print(f"| {n} | {k} | {np.dtype(dtype).name} | {norm:.1f} | {m} | {s} | {t['taylor']:.3f} | "
                  f"{t['dense']:.3f} | {r:.2f} |")
    print(f"\nmedian R = {np.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()

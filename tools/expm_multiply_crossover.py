"""Measures the dense-route constant (cpu_plan.h's kExpmMultiplyDenseRatio, per precision; used by
cc/core/expm_multiply_select.h as the backend's Ops::kDenseCostRatio):
run: PYTHONPATH=python python tools/expm_multiply_crossover.py  (results: docs/expm_multiply_crossover.md).

The selection takes the dense route (exp(tA) by scaling and squaring, then one product) where the
Taylor steps' multiply-adds m s k n^2 exceed R * kDenseProducts * n^3, i.e. where
    m s k / n  >  R * 12,   R = the ratio.
The Taylor route's time includes its selection (for n > 64 the block 1-norm estimates of
||Ã^p||_1: tens of passes over A), which does not grow with the columns of b, so the per-term cost
comes from two runs on the same matrix and t with k = 1 and k = 16 columns where the selection plans
the same (m, s) for both (the estimated regime: condition (3.13) depends on k),
c_T = (time(16) - time(1)) / (15 m s n^2); the intercept left is the selection and per-step
overhead ("fixed ms"). The dense route (dx.expm(t a) @ b, the same code as the dense branch) gives
c_D = time_D / n^3; the routes cost the same at m s k / n = c_D / c_T, so the measured R is
c_D / (12 c_T). The Taylor steps stop early (fewer terms than m), so c_T is per planned term: what
the selection can know. Run it on an idle machine.
"""
import numpy as np
import tensorflow as tf

import detexp as dx
from detexp.bench.expm_multiply import _interleaved

_ops = dx._expm_multiply._ops


def _plan(a, b, t):
    code = int(_ops.detexp_expm_multiply(a, b, t)[1])
    return None if code == 63 else (code % 64, code // 64)


def main():
    rng = np.random.default_rng(0)
    print("| n | dtype | t | ||tA||_1 | m, s | Taylor ms k = 1 | Taylor ms k = 16 | fixed ms | dense ms | "
          "R = c_D / (12 c_T) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    ratios = []
    for dtype in (np.float64, np.float32):
        for n in (64, 256, 1024):
            a = tf.constant((rng.standard_normal((n, n)) * 2.0 / np.sqrt(n)).astype(dtype))
            b1 = tf.constant(rng.standard_normal((n, 1)).astype(dtype))
            b16 = tf.constant(rng.standard_normal((n, 16)).astype(dtype))
            for t_value in (2.0, 4.0, 8.0):
                t = tf.constant(t_value, dtype)
                plan = _plan(a, b1, t)
                if plan is None or plan != _plan(a, b16, t):
                    continue
                ta = t * a
                times = _interleaved({"k1": lambda: _ops.detexp_expm_multiply(a, b1, t)[0].numpy(),
                                      "k16": lambda: _ops.detexp_expm_multiply(a, b16, t)[0].numpy(),
                                      "dense": lambda: (dx.expm(ta) @ b1).numpy()}, rounds=7)
                m, s = plan
                c_t = (times["k16"] - times["k1"]) / (15 * m * s * n * n)
                if not c_t > 0:
                    continue
                fixed = times["k1"] - c_t * m * s * n * n
                c_d = times["dense"] / n ** 3
                r = c_d / (12 * c_t)
                ratios.append(r)
                norm = float(tf.reduce_max(tf.reduce_sum(tf.abs(ta), axis=0)))
                print(f"| {n} | {np.dtype(dtype).name} | {t_value:g} | {norm:.1f} | {m}, {s} | {times['k1']:.3f} | "
                      f"{times['k16']:.3f} | {fixed:.3f} | {times['dense']:.3f} | {r:.2f} |")
    print(f"\nmedian R = {np.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()

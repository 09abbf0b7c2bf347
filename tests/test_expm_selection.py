"""The degree m and squarings s that expm picks (Detexp>Expm's choice output, m + 256 s) against an
independent NumPy transcription of Al-Mohy & Higham 2009, Algorithm 5.1, with exact power norms
(the CPU path forms them up to n = 32) and the ℓ guard of eq. (5.1) from all 2m+1 products
e^T |A|^k. The C++ stops those products early where Collatz-Wielandt bounds already fix ℓ; this
checks that it lands on the same ℓ, on families where the guard adds squarings."""
import math

import numpy as np
import pytest
import tensorflow as tf

import detexp as dx

_ops = dx._expm._ops

# θ_m and 1/|c_{2m+1}| (cc/core/expm_coefficients.h; AH2009 Table 3.1 and eq. (5.1)).
THETA = {np.float64: {3: 1.495585217958292e-2, 5: 2.539398330063230e-1, 7: 9.504178996162932e-1,
                      9: 2.097847961257068e0, 13: 5.371920351148152e0},
         np.float32: {3: 4.258730016922831e-1, 5: 1.880152677804762e0, 7: 3.925724783138660e0}}
INV_C = {3: 100800.0, 5: 10059033600.0, 7: 4487938430976000.0, 9: 5914384781877411840000.0,
         13: 113250775606021113483283660800000000.0}
UNIT_ROUNDOFF = {np.float64: 2.0 ** -53, np.float32: 2.0 ** -24}


def _norm1(x):
    return np.abs(x).sum(axis=0).max()


def _ell(a, m, u):
    """AH2009 eq. (5.1): max(0, ceil(log2(|c_{2m+1}| || |A|^{2m+1} ||_1 / (u ||A||_1)) / (2m)))."""
    a1 = _norm1(a)
    v = np.ones(len(a))
    for _ in range(2 * m + 1):
        v = np.abs(a).T @ v
    if a1 == 0 or v.max() == 0:
        return 0
    return max(0, math.ceil(math.log2(v.max() / (a1 * INV_C[m]) / u) / (2 * m)))


def _select(a, dtype):
    """(m, s, guarded) of AH2009 Alg. 5.1 with exact ||A^k||_1; guarded: whether ℓ changed the
    choice (rejected a lower degree or added squarings)."""
    theta, u = THETA[dtype], UNIT_ROUNDOFF[dtype]
    a = a.astype(dtype)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    n2, n4, n6, n8, n10 = (float(_norm1(p)) for p in (a2, a4, a6, a4 @ a4, a4 @ a6))
    a = a.astype(np.float64)
    guarded = False
    for m, passes in ((3, math.sqrt(n2) <= theta[3]),
                      (5, max(n4 ** 0.25, (n4 * n2) ** (1 / 6)) <= theta[5])):
        if passes:
            if _ell(a, m, u) == 0:
                return m, 0, guarded
            guarded = True
    d6, d8, d10 = n6 ** (1 / 6), n8 ** 0.125, n10 ** 0.1
    top = max(theta)
    if top == 13 and d6 <= theta[9]:
        for m in (7, 9):
            if max(d6, d8) <= theta[m]:
                if _ell(a, m, u) == 0:
                    return m, 0, guarded
                guarded = True
    eta = min(max(d6, d8), max(d8, d10))
    s = math.ceil(math.log2(eta / theta[top])) if eta > theta[top] else 0
    extra = _ell(a * 2.0 ** -s, top, u)
    return top, s + extra, guarded or extra > 0


def _families(n, seed):
    """Dense, non-normal, badly scaled, nonnegative, zero-column and nilpotent matrices over
    1-norms from ~1e-3 to ~1e2."""
    rng = np.random.default_rng(seed)
    d = np.diag(np.logspace(-2, 2, n))
    out = []
    for scale in np.logspace(-3, 2, 21):
        g = rng.standard_normal((n, n)) / np.sqrt(n)
        nonnormal = np.triu(g, 1) * 30 + np.diag(np.diag(g))
        zero_column = g.copy()
        zero_column[:, 0] = 0
        for x in (g, nonnormal, d @ g @ np.linalg.inv(d), np.abs(g), zero_column, np.triu(g, 1)):
            out.append(x * scale)
    return np.array(out)


@pytest.mark.parametrize("dtype,n", [(np.float64, 4), (np.float64, 12), (np.float64, 24),
                                     (np.float32, 3), (np.float32, 6), (np.float32, 8)])
def test_choice_is_ah2009_algorithm_5_1(dtype, n):
    a = _families(n, seed=n).astype(dtype)
    choice = _ops.detexp_expm(tf.constant(a))[1].numpy()
    got = [(int(c) % 256, int(c) // 256) for c in choice]
    # The op hands its row-major slices to the column-major core as they are, i.e. A^T
    # (exp(A^T) = exp(A)^T), so the 1-norms it tests are those of A^T.
    want = [_select(x.T, dtype) for x in a]
    assert got == [(m, s) for m, s, _ in want]
    # The guard must matter on these families, or this would not test it.
    assert sum(guarded for _, _, guarded in want) >= 4

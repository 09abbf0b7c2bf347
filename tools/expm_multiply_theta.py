"""Recomputes the θ_m table of cc/core/expm_multiply_theta.h with mpmath (run: python tools/expm_multiply_theta.py).

Al-Mohy & Higham 2011, "Computing the action of the matrix exponential", §3: the truncated Taylor
series T_m applied s times to 2^... (t/s)A has backward error ΔA with e^{-X} T_m(X) = exp(h_{m+1}(X)),
h_{m+1}(x) = log(e^{-x} T_m(x)) = Σ_{k>m} c_k x^k, and ||ΔA|| / ||A|| <= h̃_{m+1}(θ) / θ with
h̃_{m+1}(x) = Σ_{k>m} |c_k| x^k for ||X|| <= θ. θ_m is the largest θ with h̃_{m+1}(θ) / θ <= u.

e^{-x} T_m(x) = 1 + Σ_{k>m} a_k x^k with a_k = (-1)^(k+m) C(k-1, m) / k!, and the log's
coefficients follow from k g_k = k a_k - Σ_j j g_j a_{k-j}. The series of h̃ converges up to the
smallest modulus of a zero of T_m (about 0.28 m); 300 terms beyond m leave a tail below 1e-20 u for
every m <= 55 (the last term is printed). Values agree with Table 3.1 of the paper (3 digits, single
and double) and with SciPy's _expm_multiply._theta except m = 1 (SciPy 2.29e-16; θ_1 = 2u exactly).
"""
import sys

import mpmath as mp


def taylor_theta(m, u, extra_terms=300, dps=40):
    """(θ_m, size of the last term kept relative to u)."""
    with mp.workdps(dps):
        big_k = m + extra_terms
        a = [mp.mpf(0)] * (big_k + 1)
        for k in range(m + 1, big_k + 1):
            a[k] = (-1) ** (k + m) * mp.binomial(k - 1, m) / mp.factorial(k)
        g = [mp.mpf(0)] * (big_k + 1)
        for k in range(m + 1, big_k + 1):
            acc = k * a[k]
            for j in range(m + 1, k - m):
                acc -= j * g[j] * a[k - j]
            g[k] = acc / k
        c = [abs(x) for x in g]
        u = mp.mpf(u)

        def excess(th):
            return mp.fsum(c[k] * th ** (k - 1) for k in range(m + 1, big_k + 1)) - u

        lo, hi = mp.mpf(0), mp.mpf(1)
        while excess(hi) < 0:
            lo, hi = hi, 2 * hi
        for _ in range(120):
            mid = (lo + hi) / 2
            if excess(mid) < 0:
                lo = mid
            else:
                hi = mid
        return lo, c[big_k] * hi ** (big_k - 1) / u


def main():
    m_max = int(sys.argv[1]) if len(sys.argv) > 1 else 55
    for name, u in (("double", mp.mpf(2) ** -53), ("float", mp.mpf(2) ** -24)):
        print(f"// {name}: u = 2^{-53 if name == 'double' else -24}")
        for m in range(1, m_max + 1):
            th, tail = taylor_theta(m, u)
            print(f"{mp.nstr(th, 16, min_fixed=1, max_fixed=0)},  // m = {m}, last term {mp.nstr(tail, 2)} u", flush=True)


if __name__ == "__main__":
    main()

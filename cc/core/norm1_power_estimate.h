// Lower estimates of ||A^p||_1 for p = p_lo..p_hi at once, by the block 1-norm estimator of
// Higham & Tisseur 2000 ("A block algorithm for matrix 1-norm estimation, with an application to
// 1-norm pseudospectra", SIAM J. Matrix Anal. Appl. 21(4); Alg. 2.4, as SciPy's onenormest) with
// t columns and at most 5 iterations each, for the degree selection of expm_multiply_chain.h.
//
// The estimates run in lockstep: each iteration multiplies the blocks of all estimators still
// running by A (then by A^H) in p_hi passes, the widest first, instead of Σp passes one power at a
// time. For large n a pass over A costs about the same whatever the (small) width, so the 8 norms
// of AH2011 cost about 2 p_hi passes per iteration (2-3 iterations usually) where separate
// estimates cost 2 Σp. Results per power are those of Alg. 2.4 (up to the rounding of the wider
// products). The random ±1 columns come from a fixed hash of (power, iteration, column, row), so
// that a matrix gets the same estimate wherever it runs.
//
// apply(bool adjoint, const T* in, T* out, int cols): out := A in, or A^H in, for column-major
// n×cols blocks (out != in). Host code; the products are the backend's.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "scalar.h"

namespace detexp {
namespace norm1_estimate {

constexpr int kMaxIterations = 5;

// ±1 from a hash of the four integers (SplitMix64's finalizer).
inline double random_sign(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d) {
  std::uint64_t z = a * 0x9e3779b97f4a7c15ull + b * 0xbf58476d1ce4e5b9ull + c * 0x94d049bb133111ebull + d;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (z >> 63) ? -1.0 : 1.0;
}

// One estimator of Alg. 2.4 (power p): its block X (then S), n×t column-major, and its history.
template <class T>
struct Estimator {
  using R = real_t<T>;
  int p = 0;
  bool running = true;
  int iteration = 1;  // k of Alg. 2.4
  R est = 0, est_old = 0;
  int ind_best = -1;
  std::vector<T> x, s, s_old;
  std::vector<int> ind, hist;
};

template <class T>
bool columns_parallel(const T* a, const T* b, int n) {
  real_t<T> dot = 0;
  for (int i = 0; i < n; ++i) dot += real_part(a[i]) * real_part(b[i]);
  return dot == n || dot == -n;
}

// Column j of s: random ±1 until it is parallel to no earlier column of s and no column of
// `other` (real case only; Alg. 2.4 step (5), and the starting block).
template <class T>
void make_unparallel(T* s, const T* other, int n, int t, int j, int p, int iteration) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    bool parallel = false;
    for (int c = 0; c < j && !parallel; ++c) parallel = columns_parallel(s + j * n, s + c * n, n);
    for (int c = 0; other != nullptr && c < t && !parallel; ++c) parallel = columns_parallel(s + j * n, other + c * n, n);
    if (!parallel) return;
    for (int i = 0; i < n; ++i) s[j * n + i] = T(real_t<T>(random_sign(p, iteration * 64 + attempt + 1, j, i)));
  }
}

// Runs `passes`: block of the running estimators (their x when !adjoint, s when adjoint, widest p
// first) times A (A^H) p times each. Returns the results per estimator in `out` (same layout).
template <class T, class Apply>
void power_products(std::vector<Estimator<T>*>& run, int n, int t, bool adjoint, Apply&& apply,
                    std::vector<std::vector<T>>& out) {
  std::sort(run.begin(), run.end(), [](const Estimator<T>* a, const Estimator<T>* b) { return a->p > b->p; });
  const int count = static_cast<int>(run.size());
  const std::int64_t block = static_cast<std::int64_t>(n) * t;
  std::vector<T> cur(block * count), next(block * count);
  for (int e = 0; e < count; ++e) {
    const std::vector<T>& src = adjoint ? run[e]->s : run[e]->x;
    std::copy(src.begin(), src.end(), cur.begin() + e * block);
  }
  int width = count;  // estimators still multiplying: a prefix (sorted by p, descending)
  for (int pass = 1; width > 0; ++pass) {
    apply(adjoint, cur.data(), next.data(), width * t);
    std::copy(next.begin(), next.begin() + width * block, cur.begin());
    while (width > 0 && run[width - 1]->p <= pass) --width;
  }
  out.assign(count, {});
  for (int e = 0; e < count; ++e) out[e].assign(cur.begin() + e * block, cur.begin() + (e + 1) * block);
}

// out[p] = a lower estimate of ||A^p||_1 for p = p_lo..p_hi (n >= t).
template <class T, class Apply>
void estimate_power_norms(int n, int p_lo, int p_hi, int t, Apply&& apply, real_t<T>* out) {
  using R = real_t<T>;
  constexpr bool kReal = !is_complex<T>::value;
  std::vector<Estimator<T>> ests(p_hi - p_lo + 1);
  for (int e = 0; e < static_cast<int>(ests.size()); ++e) {
    Estimator<T>& st = ests[e];
    st.p = p_lo + e;
    st.x.assign(static_cast<std::size_t>(n) * t, T(R(1)));
    st.s.assign(st.x.size(), T(0));
    for (int j = 1; j < t; ++j) {
      for (int i = 0; i < n; ++i) st.x[j * n + i] = T(R(random_sign(st.p, 0, j, i)));
      make_unparallel(st.x.data(), static_cast<const T*>(nullptr), n, t, j, st.p, 0);
    }
    for (T& v : st.x) v /= T(R(n));
  }
  std::vector<std::vector<T>> result;
  std::vector<R> h(n);
  for (;;) {
    std::vector<Estimator<T>*> run;
    for (Estimator<T>& st : ests) {
      if (st.running) run.push_back(&st);
    }
    if (run.empty()) break;
    // Y = A^p X; the estimate and its tests (Alg. 2.4, up to step (4)/(5)).
    power_products(run, n, t, false, apply, result);
    std::vector<Estimator<T>*> adj;
    for (std::size_t e = 0; e < run.size(); ++e) {
      Estimator<T>& st = *run[e];
      const T* y = result[e].data();
      R est = -1;
      int best = 0;
      for (int j = 0; j < t; ++j) {
        R sum = 0;
        for (int i = 0; i < n; ++i) sum += modulus(y[j * n + i]);
        if (sum > est) {
          est = sum;
          best = j;
        }
      }
      if ((est > st.est_old || st.iteration == 2) && st.iteration >= 2) st.ind_best = st.ind[best];
      if (st.iteration >= 2 && est <= st.est_old) {
        st.est = st.est_old;
        st.running = false;
        continue;
      }
      st.est = est;
      st.est_old = est;
      if (st.iteration > kMaxIterations) {
        st.running = false;
        continue;
      }
      st.s_old = st.s;
      for (int idx = 0; idx < n * t; ++idx) {
        const R mod = modulus(y[idx]);
        st.s[idx] = mod > R(0) ? y[idx] / T(mod) : T(R(1));
        if constexpr (kReal) st.s[idx] = st.s[idx] >= T(0) ? T(R(1)) : T(R(-1));
      }
      if constexpr (kReal) {
        if (st.iteration >= 2) {
          bool all_parallel = true;
          for (int j = 0; j < t && all_parallel; ++j) {
            bool any = false;
            for (int c = 0; c < t && !any; ++c) any = columns_parallel(st.s.data() + j * n, st.s_old.data() + c * n, n);
            all_parallel = any;
          }
          if (all_parallel) {
            st.running = false;
            continue;
          }
        }
        for (int j = 0; j < t; ++j) {
          make_unparallel(st.s.data(), st.iteration >= 2 ? st.s_old.data() : nullptr, n, t, j, st.p, st.iteration);
        }
      }
      adj.push_back(&st);
    }
    if (adj.empty()) continue;
    // Z = (A^H)^p S; the next block of unit vectors (steps (6)-(7)).
    power_products(adj, n, t, true, apply, result);
    for (std::size_t e = 0; e < adj.size(); ++e) {
      Estimator<T>& st = *adj[e];
      const T* z = result[e].data();
      for (int i = 0; i < n; ++i) {
        R mx = 0;
        for (int j = 0; j < t; ++j) mx = std::max(mx, modulus(z[j * n + i]));
        h[i] = mx;
      }
      if (st.iteration >= 2 && st.ind_best >= 0 && *std::max_element(h.begin(), h.end()) == h[st.ind_best]) {
        st.running = false;
        continue;
      }
      st.ind.resize(n);
      std::iota(st.ind.begin(), st.ind.end(), 0);
      std::stable_sort(st.ind.begin(), st.ind.end(), [&h](int a, int b) { return h[a] > h[b]; });
      if (t > 1) {
        bool all_seen = true;
        for (int j = 0; j < t && all_seen; ++j) {
          all_seen = std::find(st.hist.begin(), st.hist.end(), st.ind[j]) != st.hist.end();
        }
        if (all_seen) {
          st.running = false;
          continue;
        }
        // The first t indices not used before, in order of h.
        std::vector<int> fresh;
        for (int i = 0; i < n && static_cast<int>(fresh.size()) < t; ++i) {
          if (std::find(st.hist.begin(), st.hist.end(), st.ind[i]) == st.hist.end()) fresh.push_back(st.ind[i]);
        }
        for (int j = 0; j < static_cast<int>(fresh.size()); ++j) st.ind[j] = fresh[j];
      }
      std::fill(st.x.begin(), st.x.end(), T(0));
      for (int j = 0; j < t; ++j) {
        st.x[j * n + st.ind[j]] = T(R(1));
        st.hist.push_back(st.ind[j]);
      }
      ++st.iteration;
    }
  }
  for (const Estimator<T>& st : ests) out[st.p] = st.est;
}

}  // namespace norm1_estimate
}  // namespace detexp

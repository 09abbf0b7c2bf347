// Batched square products C = op(A) op(B) of row-major n×n matrices, op = identity or adjoint:
// the products inside the gradients of inverse, adjugate and the slogdet backward.
//
// Why not TF's BatchMatMul: on the CPU its kernels (Eigen's contraction, oneDNN) choose their
// blocking and vector code by batch size and alignment, so a matrix's product changed in its
// last bits with the batch around it (float32..complex128, n = 2..16, batch 1 vs 37). Here every
// entry c_ij = sum_k op(A)_ik op(B)_kj is accumulated in k order, one multiply and one add at a
// time, whether it sits in a SIMD lane or in the scalar tail (no fused multiply-add: the AVX
// build has none and the AVX-512 copy is compiled with -ffp-contract=off): the same bits wherever
// the matrix sits, in either copy of cc/core, and on the GPU's kernel (cuda/matmul_kernels.cu),
// which sums in the same order.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include "avx512.h"
#include "scalar.h"

namespace detexp {
namespace batch_matmul {

// out := op(x) row-major: x itself, or its conjugate transpose.
template <class T>
const T* as_row_major(const T* x, int n, bool adjoint, T* scratch) {
  if (!adjoint) return x;
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < n; ++k) scratch[static_cast<index_t>(i) * n + k] = conj_of(x[static_cast<index_t>(k) * n + i]);
  }
  return scratch;
}

// c := a b, all n×n row-major. Real T: R rows × two vectors of columns per pass (each entry of
// b's rows loaded once for R rows), then single vectors, then scalar columns.
template <class T>
void product(const T* a, const T* b, int n, T* c) {
  if constexpr (is_complex<T>::value) {
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        T acc = T(0);
        for (int k = 0; k < n; ++k) acc += a[static_cast<index_t>(i) * n + k] * b[static_cast<index_t>(k) * n + j];
        c[static_cast<index_t>(i) * n + j] = acc;
      }
    }
  } else {
    typedef T V __attribute__((vector_size(32)));
    constexpr int W = 32 / sizeof(T);
    constexpr int R = 4;
    const int whole = n - n % W;
    auto load = [](const T* p) {
      V v;
      std::memcpy(&v, p, sizeof(V));
      return v;
    };
    auto store = [](T* p, V v) { std::memcpy(p, &v, sizeof(V)); };
    int i = 0;
    auto rows = [&](auto r_count) {
      constexpr int RC = decltype(r_count)::value;
      const T* ar = a + static_cast<index_t>(i) * n;
      T* cr = c + static_cast<index_t>(i) * n;
      int j = 0;
      for (; j + 2 * W <= whole; j += 2 * W) {
        V acc[RC][2] = {};
        for (int k = 0; k < n; ++k) {
          const V b0 = load(b + static_cast<index_t>(k) * n + j), b1 = load(b + static_cast<index_t>(k) * n + j + W);
          for (int r = 0; r < RC; ++r) {
            const T s = ar[static_cast<index_t>(r) * n + k];
            acc[r][0] += s * b0;
            acc[r][1] += s * b1;
          }
        }
        for (int r = 0; r < RC; ++r) {
          store(cr + static_cast<index_t>(r) * n + j, acc[r][0]);
          store(cr + static_cast<index_t>(r) * n + j + W, acc[r][1]);
        }
      }
      for (; j < whole; j += W) {
        V acc[RC] = {};
        for (int k = 0; k < n; ++k) {
          const V b0 = load(b + static_cast<index_t>(k) * n + j);
          for (int r = 0; r < RC; ++r) acc[r] += ar[static_cast<index_t>(r) * n + k] * b0;
        }
        for (int r = 0; r < RC; ++r) store(cr + static_cast<index_t>(r) * n + j, acc[r]);
      }
      for (; j < n; ++j) {
        for (int r = 0; r < RC; ++r) {
          T acc = T(0);
          for (int k = 0; k < n; ++k) acc += ar[static_cast<index_t>(r) * n + k] * b[static_cast<index_t>(k) * n + j];
          cr[static_cast<index_t>(r) * n + j] = acc;
        }
      }
    };
    for (; i + R <= n; i += R) rows(std::integral_constant<int, R>{});
    for (; i < n; ++i) rows(std::integral_constant<int, 1>{});
  }
}

}  // namespace batch_matmul

// c[i] = op(a[i]) op(b[i]) for `count` row-major n×n matrices; op = adjoint where asked.
template <class T>
void matmul_batch(const T* a, const T* b, index_t count, int n, bool adjoint_a, bool adjoint_b, T* c) {
  DETEXP_USE_AVX512(matmul_batch(a, b, count, n, adjoint_a, adjoint_b, c));
  const index_t nn = static_cast<index_t>(n) * n;
  std::vector<T> scratch((adjoint_a ? nn : 0) + (adjoint_b ? nn : 0));
  T* sa = scratch.data();
  T* sb = scratch.data() + (adjoint_a ? nn : 0);
  for (index_t m = 0; m < count; ++m) {
    batch_matmul::product(batch_matmul::as_row_major(a + m * nn, n, adjoint_a, sa),
                          batch_matmul::as_row_major(b + m * nn, n, adjoint_b, sb), n, c + m * nn);
  }
}

}  // namespace detexp

#ifndef DETEXP_CORE_INSTANTIATE
#define DETEXP_BATCH_MATMUL_DECLARE(T, R) DETEXP_BATCH_MATMUL_ENTRY_POINTS(DETEXP_EXTERN_ENTRY_POINT, T, R)
DETEXP_CORE_FOR_EACH_DTYPE(DETEXP_BATCH_MATMUL_DECLARE)
#undef DETEXP_BATCH_MATMUL_DECLARE
#endif

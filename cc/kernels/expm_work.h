// The matrix exponential family's work over a range of matrices (see batch_work.h), shared by the
// TF OpKernels (expm_kernels.cc) and the XLA handlers (cc/xla/expm_ffi.cc). The row-major slices go
// to cc/core as column-major matrices (their transposes); expm and the Fréchet derivative commute
// with transposition, and for the backward L(A^H, G)^T = L(view(A)^H, view(G)), so every result
// comes out right without copies.
#pragma once

#include <cstdint>

#include "batch_work.h"
#include "cc/core/expm.h"
#include "cc/core/scalar.h"

namespace detexp {

// Products of one expm (Padé 13 plus a few squarings), in cycles per matrix for the sharder.
inline int64_t ExpmCost(int n) { return 12 * CubicCost(n); }

// exp(a) [batch, n, n] and, per matrix, the degree and squarings chosen (expm_coefficients.h's
// choice code) for Detexp>ExpmGrad, which then skips the selection.
template <class T>
struct ExpmWork {
  const T* a;
  int n;
  T* out;
  int* choice;

  int64_t cost() const { return ExpmCost(n); }
  void operator()(int64_t begin, int64_t end) const {
    const index_t nn = static_cast<index_t>(n) * n;
    for (int64_t i = begin; i < end; ++i) expm_matrix(a + i * nn, n, out + i * nn, choice + i);
  }
};

// (exp(a), L(a, e)) [batch, n, n] each.
template <class T>
struct ExpmFrechetWork {
  const T* a;
  const T* e;
  int n;
  T* r;
  T* l;

  int64_t cost() const { return 3 * ExpmCost(n); }
  void operator()(int64_t begin, int64_t end) const {
    const index_t nn = static_cast<index_t>(n) * n;
    for (int64_t i = begin; i < end; ++i) expm_frechet_matrix(a + i * nn, e + i * nn, n, r + i * nn, l + i * nn);
  }
};

// L(a^H, g) [batch, n, n] for the (m, s) of `choice` (checked by expm_choice_codes.h).
template <class T>
struct ExpmGradWork {
  const T* a;
  const T* g;
  const int* choice;
  int n;
  T* out;

  int64_t cost() const { return 3 * ExpmCost(n); }
  void operator()(int64_t begin, int64_t end) const {
    const index_t nn = static_cast<index_t>(n) * n;
    for (int64_t i = begin; i < end; ++i) {
      expm_frechet_adjoint_matrix(a + i * nn, g + i * nn, n, choice[i], out + i * nn);
    }
  }
};

}  // namespace detexp

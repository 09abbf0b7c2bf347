// Square real products C := A B (or C += A B), n×n column-major, for the sizes where Eigen's
// blocked GEMM spends much of its time packing: a register-blocked kernel on Eigen's packets.
//
// Each call of column_block keeps an 8-column strip of C, one packet of rows high, in 8 packet
// accumulators and runs k over the whole inner dimension: per k one packet load of A's column,
// 8 broadcasts of B's row entries, 8 independent multiply-adds (enough chains to hide the
// latency of the multiply-add units). A, B and C of the sizes served (cpu_plan.h) stay in the
// L1/L2 caches, so no packing is needed. Rows beyond the last whole packet (n % W of them) go to
// Eigen's GEMM as an (n % W)×n by n×n product.

#pragma once

#include <type_traits>

#include <Eigen/Core>

#include "cpu_plan.h"
#include "eigen_kernels.h"

namespace detexp {
namespace packet_gemm {

template <class T>
using Packet = typename Eigen::internal::packet_traits<T>::type;

// Rows per packet: AVX-512 float32 16, float64 8; AVX 8 and 4.
template <class T>
constexpr int kWidth = Eigen::internal::unpacket_traits<Packet<T>>::size;

// Real types with at least one whole packet of rows and n <= cpu_plan::kPacketGemmMaxN.
template <class T>
bool serves(int n) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    return n >= kWidth<T> && n <= cpu_plan::kPacketGemmMaxN;
  } else {
    return false;
  }
}

// C[0:rows, 0:NR] (+)= A[0:rows, 0:n] B[0:n, 0:NR]; ld = n for all three; rows % kWidth == 0.
// kN > 0 fixes n at compile time (constant offsets, the k loop unrolled), as a template
// argument: left to the optimiser, whether n reached the kernel as a constant changed with the
// inlining decisions around each call (float64 n = 16 products 25% slower without it, perf).
template <class T, int NR, int kN = 0>
inline void column_block(int n_runtime, int rows, const T* a, const T* b, T* c, bool accumulate) {
  using namespace Eigen::internal;
  const int n = kN > 0 ? kN : n_runtime;
  using P = Packet<T>;
  constexpr int W = kWidth<T>;
  for (int i = 0; i < rows; i += W) {
    P acc[NR];
    for (int q = 0; q < NR; ++q) acc[q] = accumulate ? ploadu<P>(c + i + q * n) : pset1<P>(T(0));
    const T* ak = a + i;
    for (int k = 0; k < n; ++k, ak += n) {
      const P av = ploadu<P>(ak);
      for (int q = 0; q < NR; ++q) acc[q] = pmadd(av, pset1<P>(b[k + q * n]), acc[q]);
    }
    for (int q = 0; q < NR; ++q) pstoreu(c + i + q * n, acc[q]);
  }
}

// c := a b, or c += a b, n×n column-major, no aliasing; requires serves<T>(n). kN > 0 fixes n
// at compile time (the loops unroll).
template <class T, int kN = 0>
void gemm(int n_runtime, const T* a, const T* b, T* c, bool accumulate) {
  const int n = kN > 0 ? kN : n_runtime;
  constexpr int W = kWidth<T>;
  const int rows = n - n % W;
  int j = 0;
  for (; j + 8 <= n; j += 8) column_block<T, 8, kN>(n, rows, a, b + j * n, c + j * n, accumulate);
  if (j + 4 <= n) {
    column_block<T, 4, kN>(n, rows, a, b + j * n, c + j * n, accumulate);
    j += 4;
  }
  for (; j < n; ++j) column_block<T, 1, kN>(n, rows, a, b + j * n, c + j * n, accumulate);
  if (rows == n) return;
  using Mat = eigen_kernels::ColMajorMatrix<T>;
  Eigen::Map<const Mat> am(a, n, n), bm(b, n, n);
  Eigen::Map<Mat> cm(c, n, n);
  if (accumulate) {
    cm.bottomRows(n - rows).noalias() += am.bottomRows(n - rows) * bm;
  } else {
    cm.bottomRows(n - rows).noalias() = am.bottomRows(n - rows) * bm;
  }
}

}  // namespace packet_gemm
}  // namespace detexp

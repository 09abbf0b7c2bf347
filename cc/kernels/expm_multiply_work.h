// The work of dx.expm_multiply and its backward over a range of matrices (see batch_work.h),
// shared by the TF OpKernels (expm_multiply_kernels.cc) and the XLA handlers
// (cc/xla/expm_multiply_ffi.cc). Batches with fewer matrices than threads run one matrix after
// another, each spreading its products over the threads (RunExpmMultiply): a single large matrix
// gets the whole pool, as SciPy's BLAS calls do.
#pragma once

#include <cstdint>
#include <string>

#include "batch_work.h"
#include "cc/core/expm_multiply.h"
#include "cc/core/scalar.h"

namespace detexp {

// Cycles per matrix for the sharder: (m, s) is not known before the selection; ~60 thin products
// (a typical m s for ||tA||_1 of a few units) and the selection.
inline int64_t ExpmMultiplyCost(int n, int k) {
  return 16 + 120 * static_cast<int64_t>(n) * n * (k > 0 ? k : 1);
}

// f = exp(t a) b: a [batch, n, n], b and f [batch, n, k], t [batch]; the choice code per matrix
// (cc/core/expm_multiply_select.h) for the backward.
template <class T>
struct ExpmMultiplyWork {
  const T* a;
  const T* b;
  const T* t;
  int n, k;
  T* f;
  int* choice;
  const ParallelBlocks* par = nullptr;

  int64_t cost() const { return ExpmMultiplyCost(n, k); }
  void operator()(int64_t begin, int64_t end) const {
    const index_t nn = static_cast<index_t>(n) * n, nk = static_cast<index_t>(n) * k;
    for (int64_t i = begin; i < end; ++i) {
      choice[i] = expm_multiply_matrix(a + i * nn, b + i * nk, t[i], n, k, expm_multiply::kChoiceNone, f + i * nk, par);
    }
  }
};

// The gradients of Re <g, exp(t a) b> with respect to a, b and t, for the forward's choice codes.
template <class T>
struct ExpmMultiplyGradWork {
  const T* a;
  const T* b;
  const T* t;
  const T* g;
  const int* choice;
  int n, k;
  T* grad_a;
  T* grad_b;
  T* grad_t;
  const ParallelBlocks* par = nullptr;

  int64_t cost() const { return 4 * ExpmMultiplyCost(n, k); }
  void operator()(int64_t begin, int64_t end) const {
    const index_t nn = static_cast<index_t>(n) * n, nk = static_cast<index_t>(n) * k;
    for (int64_t i = begin; i < end; ++i) {
      expm_multiply_grad_matrix(a + i * nn, b + i * nk, t[i], g + i * nk, n, k, choice[i], grad_a + i * nn,
                                grad_b + i * nk, grad_t + i, par);
    }
  }
};

// Runs `work` over [0, batch): shard(work) splits the matrices over the runtime's `threads`; with
// fewer matrices than threads they run in turn on the calling thread, their products split over
// the threads by `blocks` instead.
template <class Work, class Shard>
void RunExpmMultiply(Work work, int64_t batch, int threads, const ParallelBlocks& blocks, Shard&& shard) {
  if (batch <= 0) return;
  if (batch >= threads || threads <= 1) {
    shard(work);
    return;
  }
  work.par = &blocks;
  work(0, batch);
}

// The index of the first invalid choice code, or -1 (the backward's input check).
inline int64_t FirstInvalidExpmMultiplyChoice(const int* choice, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    if (!expm_multiply::choice_valid(choice[i])) return i;
  }
  return -1;
}

inline std::string ExpmMultiplyChoiceError(int64_t index, int code) {
  return "expm_multiply_grad: choice[" + std::to_string(index) + "] = " + std::to_string(code) +
         " is not a code the forward produces (m + 64 s with 1 <= m <= 55, 1 <= s <= 2^24; 63: dense; -1: select "
         "again)";
}

}  // namespace detexp

// A CPU device for cc/core/expm_multiply_device.h (test-only): column-major xGEMM with BLAS's
// argument conventions, the functors run by loops, the reductions read back, and the dense route by
// small_expm.h's expm_team on one thread. The test module (expm_multiply_device_hooks.cc) runs the
// GPU's host-driven path over it; the standalone GPU test uses it as the reference of that path.
#pragma once

#include <cstring>
#include <vector>

#include "cc/core/expm_multiply_device.h"
#include "cc/core/small_expm.h"

namespace detexp {

template <class T>
class CpuDevice {
 public:
  using R = real_t<T>;
  explicit CpuDevice(int n) : n_(n), ws_(static_cast<size_t>(expm_team_workspace_bytes<T>(n, true)) / sizeof(T) + 2) {}

  int gemms = 0, reads = 0;

  void gemm(char op_a, char op_b, int m, int n, int k, T alpha, const T* a, int lda, const T* b, int ldb, T beta,
            T* c, int ldc) {
    ++gemms;
    auto at = [&](int i, int l) {  // op(a)(i, l)
      if (op_a == 'N') return a[i + static_cast<index_t>(l) * lda];
      const T v = a[l + static_cast<index_t>(i) * lda];
      return op_a == 'C' ? conj_of(v) : v;
    };
    auto bt = [&](int l, int j) {
      if (op_b == 'N') return b[l + static_cast<index_t>(j) * ldb];
      const T v = b[j + static_cast<index_t>(l) * ldb];
      return op_b == 'C' ? conj_of(v) : v;
    };
    for (int j = 0; j < n; ++j) {
      for (int i = 0; i < m; ++i) {
        T acc = T(0);
        for (int l = 0; l < k; ++l) acc += at(i, l) * bt(l, j);
        T& out = c[i + static_cast<index_t>(j) * ldc];
        out = beta == T(0) ? alpha * acc : alpha * acc + beta * out;
      }
    }
  }
  template <class F>
  void for_each(index_t count, const F& f) {
    for (index_t i = 0; i < count; ++i) f(i);
  }
  template <class F>
  T sum(index_t count, const F& f) {
    ++reads;
    T acc = T(0);
    for (index_t i = 0; i < count; ++i) acc += f(i);
    return acc;
  }
  template <class F>
  void max(index_t count, const F& f, R* out) {
    ++reads;
    R v[F::kWidth];
    for (int w = 0; w < F::kWidth; ++w) out[w] = 0;
    for (index_t i = 0; i < count; ++i) {
      f(i, v);
      for (int w = 0; w < F::kWidth; ++w) out[w] = nan_max(out[w], v[w]);
    }
  }
  void upload(T* dst, const T* host, index_t count) { std::memcpy(dst, host, count * sizeof(T)); }
  void download(T* host, const T* src, index_t count) {
    ++reads;
    std::memcpy(host, src, count * sizeof(T));
  }
  void expm(const T* x, T* e) {
    expm_team(SerialTeam(), n_, x, static_cast<const T*>(nullptr), false, e, static_cast<T*>(nullptr), ws());
  }
  void expm_adjoint(const T* x, const T* g, T* l) { expm_team(SerialTeam(), n_, x, g, true, static_cast<T*>(nullptr), l, ws()); }

 private:
  void* ws() { return ws_.data(); }  // std::vector<T>: aligned for T, 16 bytes for every T here
  int n_;
  std::vector<T> ws_;
};

}  // namespace detexp

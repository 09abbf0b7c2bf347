// Standalone test of the GPU launchers (cuda/slogdet_launch.h) against the CPU code of cc/core,
// without TF. Run it first on a GPU machine, then under compute-sanitizer:
//   ./detexp_cuda_test            all dtypes, n in {0..9, 15, 16, 17, 31, 32, 33, 64, 100}, edge cases
//   ./detexp_cuda_test --quick    a small case for `compute-sanitizer --tool memcheck`
// Exit status 0 when every check passes; 77 when no GPU is present (a skip, for CI).
// References: the run-time-n templates of cc/core/small_lu.h on the CPU (no Eigen, no TF), and for
// the adjugate the cofactor definition (n <= 10), det * inverse, and B adj(B) = adj(B) B = det(B) I.
#include <cuda_runtime_api.h>

#include <cmath>
#include <complex>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cc/core/small_lu.h"
#include "cuda/gpu_common.h"
#include "cuda/slogdet_launch.h"

namespace {

using detexp::index_t;
using detexp::real_t;

int g_failures = 0, g_checks = 0;

void check(bool ok, const std::string& what) {
  ++g_checks;
  if (!ok) {
    ++g_failures;
    if (g_failures < 50) std::printf("FAIL: %s\n", what.c_str());
  }
}

constexpr int kDevice = 0;  // the launchers get the stream's device ordinal, as from TF

#define CUDA_OK(x)                                                                   \
  do {                                                                               \
    cudaError_t e_ = (x);                                                            \
    if (e_ != cudaSuccess) {                                                         \
      std::printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); \
      std::exit(2);                                                                  \
    }                                                                                \
  } while (0)

struct Scratch {
  std::vector<void*> blocks;
  detexp::gpu::ScratchFn fn() {
    return [this](std::size_t bytes) -> void* {
      void* p = nullptr;
      if (cudaMalloc(&p, bytes) != cudaSuccess) return nullptr;
      blocks.push_back(p);
      return p;
    };
  }
  ~Scratch() {
    cudaDeviceSynchronize();
    for (void* p : blocks) cudaFree(p);
  }
};

template <class T>
struct Dev {
  T* p = nullptr;
  std::size_t count = 0;
  explicit Dev(std::size_t n) : count(n) { CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&p), std::max<std::size_t>(n, 1) * sizeof(T))); }
  Dev(const std::vector<T>& h) : Dev(h.size()) {
    CUDA_OK(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> get() const {
    std::vector<T> h(count);
    CUDA_OK(cudaMemcpy(h.data(), p, count * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
  ~Dev() { cudaFree(p); }
};

template <class T>
T rnd(std::mt19937_64& g) {
  std::normal_distribution<double> d;
  if constexpr (detexp::is_complex<T>::value) {
    return T(d(g), d(g));
  } else {
    return T(d(g));
  }
}

template <class T>
double eps() {
  return std::is_same<real_t<T>, float>::value ? 1e-3 : 1e-9;
}

template <class T>
bool same_class(T x, T y, double tol) {  // both NaN, both equal infinities, or close
  const double ax = std::abs(std::complex<double>(detexp::real_part(x), detexp::imag_part(x)));
  const double ay = std::abs(std::complex<double>(detexp::real_part(y), detexp::imag_part(y)));
  if (std::isnan(ax) || std::isnan(ay)) return std::isnan(ax) && std::isnan(ay);
  if (std::isinf(ax) || std::isinf(ay)) return x == y;
  return std::abs(std::complex<double>(detexp::real_part(x) - detexp::real_part(y),
                                       detexp::imag_part(x) - detexp::imag_part(y))) <= tol * (1 + std::max(ax, ay));
}


template <class T>
std::complex<double> c(T x) {
  return std::complex<double>(detexp::real_part(x), detexp::imag_part(x));
}

// det of an n×n column-major matrix by the CPU templates, in double precision.
template <class T>
std::complex<double> det_of(const std::vector<std::complex<double>>& b, int n) {
  if (n == 0) return 1.0;
  std::vector<std::complex<double>> w(b);
  std::vector<int> p(n);
  const int par = detexp::lu_factor_small<0, std::complex<double>>(w.data(), n, p.data());
  std::complex<double> d = double(par);
  for (int k = 0; k < n; ++k) d *= w[k + k * n];
  return d;
}

template <class T>
void check_adjugate(const T* b, const T* adj, int n, bool finite, double tol, const std::string& mt) {
  const index_t nn = index_t(n) * n;
  if (!finite) {
    bool all_nan = true;
    for (index_t e = 0; e < nn; ++e) all_nan &= n == 1 || std::isnan(std::abs(c(adj[e])));
    check(all_nan, mt + " adjugate of non-finite input is NaN");
    return;
  }
  std::vector<std::complex<double>> bd(nn);
  double bmax = 0, amax = 0;
  for (index_t e = 0; e < nn; ++e) {
    bd[e] = c(b[e]);
    bmax = std::max(bmax, std::abs(bd[e]));
    amax = std::max(amax, std::abs(c(adj[e])));
  }
  bool finite_out = true;
  for (index_t e = 0; e < nn; ++e) finite_out &= std::isfinite(std::abs(c(adj[e])));
  check(finite_out, mt + " adjugate finite");
  if (n <= 10) {  // the definition: adj(B)(i, j) = (-1)^(i+j) det(B without row j and column i)
    std::vector<std::complex<double>> minor(index_t(n - 1) * (n - 1));
    double err = 0, scale = 1e-300;
    std::vector<std::complex<double>> ref(nn);
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        int q = 0;
        for (int col = 0; col < n; ++col) {
          if (col == i) continue;
          for (int row = 0; row < n; ++row) {
            if (row == j) continue;
            minor[q++] = bd[row + index_t(col) * n];
          }
        }
        ref[i + index_t(j) * n] = ((i + j) % 2 ? -1.0 : 1.0) * det_of<T>(minor, n - 1);
        scale = std::max(scale, std::abs(ref[i + index_t(j) * n]));
      }
    }
    for (index_t e = 0; e < nn; ++e) err = std::max(err, std::abs(c(adj[e]) - ref[e]));
    check(err <= 10 * tol * std::max(scale, std::pow(std::max(bmax, 1.0), n - 1)),
          mt + " adjugate vs cofactors, err " + std::to_string(err));
  }
  // B adj(B) = det(B) I (and adj(B) B), at any n; at rank <= n-1 both sides vanish.
  const std::complex<double> d = det_of<T>(bd, n);
  double err = 0;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      std::complex<double> s1 = 0, s2 = 0;
      for (int k = 0; k < n; ++k) {
        s1 += bd[i + index_t(k) * n] * c(adj[k + index_t(j) * n]);
        s2 += c(adj[i + index_t(k) * n]) * bd[k + index_t(j) * n];
      }
      const std::complex<double> target = i == j ? d : 0.0;
      err = std::max(err, std::max(std::abs(s1 - target), std::abs(s2 - target)));
    }
  }
  check(err <= 10 * tol * n * std::max(1.0, bmax) * std::max({1.0, amax, std::abs(d)}),
        mt + " B adj(B) = det(B) I, err " + std::to_string(err));
}

// Fills a batch: random matrices plus edge cases at fixed positions (when batch is large enough).
template <class T>
std::vector<T> make_batch(index_t batch, int n, std::mt19937_64& g) {
  const index_t nn = index_t(n) * n;
  std::vector<T> a(batch * nn);
  for (auto& x : a) x = rnd<T>(g);
  if (n >= 2 && batch >= 6) {
    for (index_t e = 0; e < nn; ++e) a[1 * nn + e] = T(0);                       // zero matrix
    for (int j = 0; j < n; ++j) a[2 * nn + index_t(j) * n + 1] = a[2 * nn + index_t(j) * n];  // rank n-1
    a[3 * nn + nn / 2] = T(std::nan(""));                                         // NaN
    a[4 * nn] = T(INFINITY);                                                      // Inf
    for (int i = 0; i < n; ++i)                                                   // a permutation
      for (int j = 0; j < n; ++j) a[5 * nn + i + index_t(j) * n] = T((i + 1) % n == j ? 1 : 0);
  }
  return a;
}

template <class T>
void test_case(int n, index_t batch, std::mt19937_64& g) {
  using R = real_t<T>;
  const index_t nn = index_t(n) * n;
  const std::string tag = std::string(typeid(T).name()) + " n=" + std::to_string(n) + " batch=" + std::to_string(batch);
  const std::vector<T> a = make_batch<T>(batch, n, g);
  Dev<T> da(a), dlu(batch * nn), dsign(batch), dinv(batch * nn), dadj(batch * nn);
  Dev<R> dlad(batch);
  Dev<int> dperm(batch * n);
  Scratch scratch;
  cudaStream_t stream;
  CUDA_OK(cudaStreamCreate(&stream));
  auto st = detexp::gpu::slogdet<T, R>(stream, kDevice, da.p, dlu.p, dperm.p, dsign.p, dlad.p, batch, n, scratch.fn());
  check(st.ok(), tag + " slogdet status: " + st.message);
  st = detexp::gpu::inverse_from_lu<T>(stream, kDevice, dlu.p, dperm.p, dinv.p, batch, n, scratch.fn());
  check(st.ok(), tag + " inverse status: " + st.message);
  st = detexp::gpu::adjugate<T>(stream, kDevice, da.p, dadj.p, batch, n, scratch.fn());
  check(st.ok(), tag + " adjugate status: " + st.message);
  CUDA_OK(cudaStreamSynchronize(stream));
  CUDA_OK(cudaGetLastError());
  CUDA_OK(cudaStreamDestroy(stream));
  const auto sign = dsign.get();
  const auto lad = dlad.get();
  const auto lu = dlu.get();
  const auto perm = dperm.get();
  const auto inv = dinv.get();
  const auto adj = dadj.get();
  const double tol = eps<T>() * (n + 1);
  std::vector<T> work(nn);
  std::vector<int> ref_perm(n);
  for (index_t m = 0; m < batch; ++m) {
    const std::string mt = tag + " m=" + std::to_string(m);
    std::copy(a.begin() + m * nn, a.begin() + (m + 1) * nn, work.begin());
    const bool fin0 = detexp::all_finite(work.data(), nn);
    const bool inf0 = !fin0 && detexp::infinities_without_nan(work.data(), nn);  // LAPACK's order on A
    const int par0 = n && !inf0 ? detexp::lu_factor_small<0, T>(work.data(), n, ref_perm.data()) : 1;
    const auto ref = !n     ? detexp::SlogdetValue<T>{T(1), R(0)}
                     : inf0 ? detexp::slogdet_with_infinities(work.data(), n, ref_perm.data())
                            : detexp::slogdet_from_parity<0>(work.data(), par0, n, fin0);
    check(same_class(sign[m], ref.sign, tol), mt + " sign");
    check(same_class(lad[m], ref.logabsdet, tol * 10), mt + " logabsdet " + std::to_string(double(lad[m])) + " vs " +
                                                           std::to_string(double(ref.logabsdet)));
    const bool finite = detexp::all_finite(a.data() + m * nn, nn);
    // perm is a permutation and P B = L U (B read column-major, as the kernels do).
    std::vector<int> seen(n, 0);
    bool is_perm = true;
    for (int i = 0; i < n; ++i) {
      const int p = perm[m * n + i];
      if (p < 0 || p >= n || seen[p]++) is_perm = false;
    }
    check(is_perm, mt + " perm is a permutation");
    if (finite && is_perm) {
      double res = 0, scale = 0;
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
          std::complex<double> s = 0;
          for (int k = 0; k <= std::min(i, j); ++k) {
            const T l = k == i ? T(1) : lu[m * nn + i + index_t(k) * n];
            const T u = lu[m * nn + k + index_t(j) * n];
            s += std::complex<double>(detexp::real_part(l), detexp::imag_part(l)) *
                 std::complex<double>(detexp::real_part(u), detexp::imag_part(u));
          }
          const T b = a[m * nn + perm[m * n + i] + index_t(j) * n];
          res = std::max(res, std::abs(s - std::complex<double>(detexp::real_part(b), detexp::imag_part(b))));
          scale = std::max(scale, std::abs(std::complex<double>(detexp::real_part(b), detexp::imag_part(b))));
        }
      }
      check(res <= tol * (1 + scale), mt + " P B = L U residual " + std::to_string(res));
    }
    if (finite && ref.sign != T(0)) {  // B inv = I where B is comfortably nonsingular
      double res = 0;
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
          std::complex<double> s = 0;
          for (int k = 0; k < n; ++k) {
            const T b = a[m * nn + i + index_t(k) * n];
            const T x = inv[m * nn + k + index_t(j) * n];
            s += std::complex<double>(detexp::real_part(b), detexp::imag_part(b)) *
                 std::complex<double>(detexp::real_part(x), detexp::imag_part(x));
          }
          res = std::max(res, std::abs(s - (i == j ? 1.0 : 0.0)));
        }
      }
      check(res <= 1e3 * tol, mt + " B inv(B) = I residual " + std::to_string(res));
    }
    if (n >= 1) check_adjugate(a.data() + m * nn, adj.data() + m * nn, n, finite, tol, mt);
    ++g_checks;
  }
}

template <class T>
void test_dtype(bool quick, std::mt19937_64& g) {
  if (quick) {
    for (int n : {0, 3, 12, 40}) test_case<T>(n, 7, g);
    test_case<T>(48, 1, g);  // the cuSOLVER getrf loop and gesvdj
    test_case<T>(4, 0, g);
    return;
  }
  for (int n : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100}) {
    test_case<T>(n, 37, g);
  }
  test_case<T>(4, 0, g);        // empty batch
  test_case<T>(5, 100003, g);   // many blocks of the fixed kernel
  test_case<T>(20, 5003, g);    // many warp groups
  test_case<T>(48, 1, g);       // the cuSOLVER getrf loop
  test_case<T>(200, 3, g);      // getrfBatched / gesvdj beyond 32
  test_case<T>(32, 4099, g);    // gesvdjBatched in chunks (DETEXP_GPU_WORKSPACE_BUDGET_MB=1: dozens)
}

// Host-only: the chunking rule of batched cuSOLVER workspaces (runs without a GPU, so CI checks it).
void test_workspace_chunks() {
  using detexp::gpu::common::batched_workspace_chunk;
  const std::int64_t int_max = 2147483647, budget = std::int64_t{256} << 20;
  // complex128, n = 32: whatever the per-matrix count, the chunk's count stays below INT_MAX.
  for (std::int64_t per : {1024, 40000, 300000, 2000000}) {
    const std::int64_t c = batched_workspace_chunk(per + 77, 2 * per + 77, 16, std::int64_t{1} << 40, std::int64_t{1} << 60);
    check(c >= 1 && 77 + per * c <= int_max && 77 + per * (c + 1) > int_max, "int cap, per = " + std::to_string(per));
    const std::int64_t b = batched_workspace_chunk(per + 77, 2 * per + 77, 16, 1 << 20, budget);
    check(b >= 1 && (b == 1 || (77 + per * b) * 16 <= budget), "budget cap, per = " + std::to_string(per));
  }
  check(batched_workspace_chunk(100, 100, 8, 5000, budget) == 5000, "batch-independent workspace");
  check(batched_workspace_chunk(10, 20, 8, 3, budget) == 3, "max_chunk");
  check(batched_workspace_chunk(int_max, int_max, 8, 3, 1) == 3, "one matrix over budget still runs");
  check(batched_workspace_chunk(-1, 5, 8, 3, budget) == 0, "negative size from an overflow");
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  test_workspace_chunks();
  if (g_failures) {
    std::printf("FAILED (host checks): %d of %d\n", g_failures, g_checks);
    return 1;
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("SKIP: no CUDA device\n");
    return 77;
  }
  std::mt19937_64 g(1234);
  test_dtype<float>(quick, g);
  test_dtype<double>(quick, g);
  test_dtype<std::complex<float>>(quick, g);
  test_dtype<std::complex<double>>(quick, g);
  std::printf("%s: %d checks, %d failures\n", g_failures ? "FAILED" : "PASSED", g_checks, g_failures);
  return g_failures ? 1 : 0;
}

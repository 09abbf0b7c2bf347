// Standalone test of the GPU expm launchers (cuda/expm_launch.h), without TF. Run on a GPU machine:
//   ./detexp_cuda_expm_test            all dtypes, n in {1..9, 15, 16, 17, 31, 32, 33, 64, 100}, edge cases
//   ./detexp_cuda_expm_test --quick    a small case set for compute-sanitizer (memcheck, racecheck, synccheck)
//   ./detexp_cuda_expm_test --global   the same with every workspace in global memory (shared limit 0)
//   ./detexp_cuda_expm_test --blas     the cuBLAS path (expm_blas.cu) from n = 3 on, not only n >= 64
//                                      (DETEXP_GPU_EXPM_BLAS_MIN_N=3); batches mix degrees and squarings;
//                                      expm_multiply's host-driven path for every n
//                                      (DETEXP_GPU_EXPM_MULTIPLY_TEAM_MAX_N=0)
// Also expm_multiply (cuda/expm_multiply_launch.h) and its backward, against the same code on the
// CPU: the team backend on one thread (n <= the team limit) or the host-driven backend over the
// test module's CPU device (cc/testing/expm_multiply_cpu_device.h).
// Exit status 0 when every check passes; 77 when no GPU is present (a skip, for CI).
// References: cc/core/small_expm.h run by one CPU thread (SerialTeam; it is tested against SciPy
// and mpmath by tests/test_core_small_expm.py), and independent identities: exp(A) exp(-A) = I,
// the closed form of a 2×2 rotation generator, the adjoint identity <L(A^H, G), E> = <G, L(A, E)>.
#include <cuda_runtime_api.h>

#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <limits>
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "cc/core/expm_multiply_team.h"
#include "cc/core/small_expm.h"
#include "cc/core/small_lu.h"
#include "cc/testing/expm_multiply_cpu_device.h"
#include "cuda/expm_launch.h"
#include "cuda/expm_multiply_launch.h"

namespace {

using detexp::real_t;

int g_failures = 0, g_checks = 0;

void check(bool ok, const std::string& what) {
  ++g_checks;
  if (!ok) {
    ++g_failures;
    if (g_failures < 50) std::printf("FAIL: %s\n", what.c_str());
  }
}

#define CUDA_OK(x)                                                                         \
  do {                                                                                     \
    cudaError_t e_ = (x);                                                                  \
    if (e_ != cudaSuccess) {                                                               \
      std::printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); \
      std::exit(2);                                                                        \
    }                                                                                      \
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
struct Buf {
  T* p = nullptr;
  std::size_t count;
  explicit Buf(const std::vector<T>& h) : count(h.size()) {
    CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&p), std::max<std::size_t>(count, 1) * sizeof(T)));
    CUDA_OK(cudaMemcpy(p, h.data(), count * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> get() const {
    std::vector<T> h(count);
    CUDA_OK(cudaMemcpy(h.data(), p, count * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
  ~Buf() { cudaFree(p); }
};

template <class T>
T rnd(std::mt19937_64& g, double scale) {
  std::normal_distribution<double> d;
  if constexpr (detexp::is_complex<T>::value) {
    return T(static_cast<real_t<T>>(scale * d(g)), static_cast<real_t<T>>(scale * d(g)));
  } else {
    return static_cast<T>(scale * d(g));
  }
}

template <class T>
double eps() {
  return sizeof(real_t<T>) == 4 ? 1.2e-7 : 2.3e-16;
}

template <class T>
double fro(const T* x, std::size_t count) {
  double s = 0;
  for (std::size_t i = 0; i < count; ++i) s += std::norm(std::complex<double>(detexp::real_part(x[i]), detexp::imag_part(x[i])));
  return std::sqrt(s);
}

template <class T>
double rel_diff(const T* x, const T* y, std::size_t count) {
  std::vector<T> d(count);
  for (std::size_t i = 0; i < count; ++i) d[i] = x[i] - y[i];
  return fro(d.data(), count) / std::max(fro(y, count), 1e-300);
}

bool all_nan(const void* p, std::size_t bytes, bool is_double) {
  const std::size_t k = bytes / (is_double ? 8 : 4);
  for (std::size_t i = 0; i < k; ++i) {
    const double v = is_double ? static_cast<const double*>(p)[i] : static_cast<const float*>(p)[i];
    if (!std::isnan(v)) return false;
  }
  return true;
}

// The CPU reference: the same team algorithm on one thread. mode 0 expm, 1 Fréchet, 2 adjoint.
template <class T>
void reference(int mode, const T* a, const T* e, int n, T* r, T* l) {
  std::vector<unsigned char> ws(static_cast<std::size_t>(detexp::expm_team_workspace_bytes<T>(n, mode != 0)) + 16);
  void* w = ws.data() + (16 - reinterpret_cast<std::uintptr_t>(ws.data()) % 16) % 16;
  const T* dir = mode == 0 ? nullptr : e;
  detexp::expm_team(detexp::SerialTeam(), n, a, dir, mode == 2, mode == 2 ? nullptr : r, mode == 0 ? nullptr : l, w);
}

template <class T>
void run_case(int n, std::int64_t batch, double scale, std::uint64_t seed, const char* dtype) {
  const std::size_t nn = static_cast<std::size_t>(n) * n, total = nn * batch;
  std::mt19937_64 g(seed);
  std::vector<T> a(total), e(total);
  for (auto& x : a) x = rnd<T>(g, scale / std::sqrt(double(std::max(n, 1))));
  for (auto& x : e) x = rnd<T>(g, 1.0);
  if (batch >= 4 && n >= 2) {  // edge cases in the batch: zero, NaN, Inf, a direction with NaN
    std::fill(a.begin(), a.begin() + nn, T(0));
    a[nn + 1] = T(std::numeric_limits<real_t<T>>::quiet_NaN());
    a[2 * nn + nn - 1] = T(std::numeric_limits<real_t<T>>::infinity());
    e[3 * nn] = T(std::numeric_limits<real_t<T>>::quiet_NaN());
  }
  const std::vector<T> zeros(total);
  Buf<T> da(a), de(e), dr(zeros), dl(zeros), dg(zeros);
  Scratch scratch;
  const std::string tag = std::string(dtype) + " n=" + std::to_string(n) + " batch=" + std::to_string(batch) +
                          " scale=" + std::to_string(scale);
  auto ok = [&](const detexp::gpu::Status& s, const char* what) {
    check(s.ok(), tag + " " + what + ": " + s.message);
  };
  ok(detexp::gpu::expm<T>(nullptr, -1, da.p, dr.p, batch, n, scratch.fn()), "expm");
  ok(detexp::gpu::expm_frechet<T>(nullptr, -1, da.p, de.p, dg.p, dl.p, batch, n, scratch.fn()), "expm_frechet");
  CUDA_OK(cudaDeviceSynchronize());
  const auto r = dr.get(), rf = dg.get(), l = dl.get();
  ok(detexp::gpu::expm_grad<T>(nullptr, -1, da.p, de.p, dl.p, batch, n, scratch.fn()), "expm_grad");
  CUDA_OK(cudaDeviceSynchronize());
  const auto adj = dl.get();
  // Rounding differs from the CPU (FMA, sums split over lanes): relative tolerance grows with n
  // and with the squarings' error amplification (scale).
  const double tol = 200 * eps<T>() * std::max(1, n) * std::max(1.0, scale);
  std::vector<T> rr(nn), rl(nn);
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::size_t off = nn * b;
    const std::string at = tag + " matrix " + std::to_string(b);
    reference(0, &a[off], &e[off], n, rr.data(), rl.data());
    const bool nonfinite = !detexp::all_finite(&a[off], static_cast<detexp::index_t>(nn));
    if (nonfinite) {
      check(all_nan(&r[off], nn * sizeof(T), sizeof(real_t<T>) == 8), at + ": NaN/Inf input must give NaN");
      check(all_nan(&l[off], nn * sizeof(T), sizeof(real_t<T>) == 8), at + ": NaN/Inf input must give NaN (L)");
      continue;
    }
    check(rel_diff(&r[off], rr.data(), nn) <= tol, at + ": expm vs CPU team reference");
    check(rel_diff(&rf[off], rr.data(), nn) <= tol, at + ": expm_frechet's exp vs CPU reference");
    reference(1, &a[off], &e[off], n, rr.data(), rl.data());
    if (!detexp::all_finite(&e[off], static_cast<detexp::index_t>(nn))) {
      check(all_nan(&l[off], nn * sizeof(T), sizeof(real_t<T>) == 8), at + ": NaN direction must give NaN L");
      continue;
    }
    check(rel_diff(&l[off], rl.data(), nn) <= tol, at + ": Frechet vs CPU team reference");
    reference<T>(2, &a[off], &e[off], n, nullptr, rl.data());
    check(rel_diff(&adj[off], rl.data(), nn) <= tol, at + ": adjoint vs CPU team reference");
  }
}

// exp([[0, t], [-t, 0]]) = [[cos t, sin t], [-sin t, cos t]] (column-major), many squarings for large t.
template <class T>
void rotation_case(double t, const char* dtype) {
  std::vector<T> a = {T(0), T(real_t<T>(-t)), T(real_t<T>(t)), T(0)};
  const std::vector<T> zeros(4);
  Buf<T> da(a), dr(zeros);
  Scratch scratch;
  check(detexp::gpu::expm<T>(nullptr, -1, da.p, dr.p, 1, 2, scratch.fn()).ok(), "rotation launch");
  const auto r = dr.get();
  const real_t<T> tt = real_t<T>(t);
  const std::vector<T> ref = {T(std::cos(tt)), T(-std::sin(tt)), T(std::sin(tt)), T(std::cos(tt))};
  check(rel_diff(r.data(), ref.data(), 4) <= 100 * eps<T>() * std::max(1.0, t),
        std::string(dtype) + " rotation t=" + std::to_string(t));
}

// expm_multiply's forward and gradients on the CPU by the backend the launcher picks for n.
template <class T>
void expm_multiply_reference(int n, int k, const T* a, const T* b, T t, const T* g, T* f, T* ga, T* gb, T* gt) {
  namespace em = detexp::expm_multiply;
  namespace plan = detexp::gpu::plan;
  if (n <= detexp::gpu::expm_multiply_tuning().team_max_n) {
    using Plan = plan::ExpmMultiplyTeamDenseRatio;
    const auto bytes = em::expm_multiply_team_workspace_bytes<T>(n, k, 1, true, Plan::template kDenseRatio<T>);
    std::vector<unsigned char> ws(static_cast<std::size_t>(bytes) + 16);
    void* w = ws.data() + (16 - reinterpret_cast<std::uintptr_t>(ws.data()) % 16) % 16;
    em::expm_multiply_team<Plan>(detexp::SerialTeam(), n, k, a, b, t, f, w);
    em::expm_multiply_grad_team<Plan>(detexp::SerialTeam(), n, k, a, b, t, g, em::kChoiceNone, ga, gb, gt, w);
    return;
  }
  using Plan = plan::ExpmMultiplyBlasDenseRatio;
  detexp::CpuDevice<T> dev(n);
  std::vector<T> ws(static_cast<std::size_t>(em::device_layout(n, k, true, Plan::template kDenseRatio<T>).total));
  int code = em::kChoiceNone;
  em::expm_multiply_device<Plan>(dev, 1, n, k, a, b, &t, f, &code, ws.data());
  em::expm_multiply_grad_device<Plan>(dev, 1, n, k, a, b, &t, g, &code, ga, gb, gt, ws.data());
}

// A batch with a zero A, NaN in A, t = 0 and Inf in b among random matrices, against the reference.
template <class T>
void expm_multiply_case(int n, int k, std::int64_t batch, double scale, std::uint64_t seed, const char* dtype) {
  using R = real_t<T>;
  const std::size_t nn = static_cast<std::size_t>(n) * n, nk = static_cast<std::size_t>(n) * k;
  std::mt19937_64 gen(seed);
  std::vector<T> a(nn * batch), b(nk * batch), g(nk * batch), t(batch);
  for (auto& x : a) x = rnd<T>(gen, scale / std::sqrt(double(n)));
  for (auto& x : b) x = rnd<T>(gen, 1.0);
  for (auto& x : g) x = rnd<T>(gen, 1.0);
  for (auto& x : t) x = T(R(std::uniform_real_distribution<double>(-1.5, 1.5)(gen)));
  if (batch >= 4) {
    std::fill(a.begin(), a.begin() + nn, T(0));
    a[nn + nn / 2] = T(std::numeric_limits<R>::quiet_NaN());
    t[2] = T(0);
    b[3 * nk] = T(std::numeric_limits<R>::infinity());
  }
  const std::vector<T> zf(nk * batch), za(nn * batch), zt(batch);
  Buf<T> da(a), db(b), dg(g), dt(t), df(zf), dga(za), dgb(zf), dgt(zt);
  Scratch scratch;
  std::vector<int> choice(batch, 0);
  const std::string tag = std::string(dtype) + " expm_multiply n=" + std::to_string(n) + " k=" + std::to_string(k) +
                          " scale=" + std::to_string(scale);
  auto ok = [&](const detexp::gpu::Status& s, const char* what) { check(s.ok(), tag + " " + what + ": " + s.message); };
  ok(detexp::gpu::expm_multiply<T>(nullptr, -1, da.p, db.p, dt.p, df.p, choice.data(), batch, n, k, scratch.fn()),
     "forward");
  ok(detexp::gpu::expm_multiply_grad<T>(nullptr, -1, da.p, db.p, dt.p, dg.p, choice.data(), dga.p, dgb.p, dgt.p, batch,
                                        n, k, scratch.fn()),
     "backward");
  CUDA_OK(cudaDeviceSynchronize());
  const auto f = df.get(), ga = dga.get(), gb = dgb.get(), gt = dgt.get();
  const double tol = 200 * eps<T>() * n * std::max(1.0, scale);
  std::vector<T> rf(nk), rga(nn), rgb(nk), rgt(1);
  for (std::int64_t i = 0; i < batch; ++i) {
    const std::string at = tag + " matrix " + std::to_string(i);
    expm_multiply_reference<T>(n, k, &a[nn * i], &b[nk * i], t[i], &g[nk * i], rf.data(), rga.data(), rgb.data(),
                               rgt.data());
    if (!detexp::all_finite(&a[nn * i], static_cast<detexp::index_t>(nn))) {
      check(all_nan(&f[nk * i], nk * sizeof(T), sizeof(R) == 8), at + ": NaN in A must give NaN");
      check(all_nan(&ga[nn * i], nn * sizeof(T), sizeof(R) == 8), at + ": NaN in A must give a NaN gradient");
      continue;
    }
    if (!detexp::all_finite(&b[nk * i], static_cast<detexp::index_t>(nk))) {
      check(!detexp::all_finite(&f[nk * i], static_cast<detexp::index_t>(nk)), at + ": Inf in b must stay");
      continue;
    }
    check(rel_diff(&f[nk * i], rf.data(), nk) <= tol, at + ": forward vs CPU reference");
    check(rel_diff(&ga[nn * i], rga.data(), nn) <= tol * n, at + ": grad a vs CPU reference");
    check(rel_diff(&gb[nk * i], rgb.data(), nk) <= tol * n, at + ": grad b vs CPU reference");
    check(rel_diff(&gt[i], rgt.data(), 1) <= tol * n * n, at + ": grad t vs CPU reference");
  }
}

template <class T>
void run_dtype(bool quick, const char* dtype) {
  const std::vector<int> sizes = quick ? std::vector<int>{1, 2, 3, 4, 7, 16, 33, 64}
                                       : std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100};
  for (int n : sizes) {
    for (double scale : {0.01, 1.0, 30.0}) {
      run_case<T>(n, quick ? 9 : 37, scale, 1000 * n + static_cast<int>(scale), dtype);
    }
  }
  for (double t : {0.5, 10.0, 1e3}) rotation_case<T>(t, dtype);
  // --quick (the sanitizers' set, a few hundred launches per host-driven matrix): small norms, no
  // block estimates, one dense route inside a team kernel (n = 16, scale 30).
  struct EmCase {
    int n;
    double scale;
  };
  std::vector<EmCase> em_cases = {{2, 0.1}, {16, 0.1}, {16, 30.0}, {33, 0.1}, {65, 0.1}};
  if (!quick) {
    em_cases.clear();
    for (int n : {1, 2, 3, 4, 7, 16, 31, 33, 64, 65, 100}) {
      for (double scale : {0.1, 3.0, 30.0}) em_cases.push_back({n, scale});
    }
  }
  for (const EmCase& c : em_cases) {
    for (int k : {1, 3}) {
      expm_multiply_case<T>(c.n, k, quick ? 4 : 6, c.scale, 7000 * c.n + 10 * k + static_cast<int>(c.scale), dtype);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    if (std::strcmp(argv[i], "--global") == 0) setenv("DETEXP_GPU_EXPM_SHARED_MAX_BYTES", "0", 1);
    if (std::strcmp(argv[i], "--blas") == 0) {
      setenv("DETEXP_GPU_EXPM_BLAS_MIN_N", "3", 1);
      setenv("DETEXP_GPU_EXPM_MULTIPLY_TEAM_MAX_N", "0", 1);
    }
  }
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::printf("detexp_cuda_expm_test: no GPU, skipping\n");
    return 77;
  }
  run_dtype<float>(quick, "float32");
  run_dtype<double>(quick, "float64");
  run_dtype<std::complex<float>>(quick, "complex64");
  run_dtype<std::complex<double>>(quick, "complex128");
  std::printf("detexp_cuda_expm_test: %d checks, %d failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}

// Test hook over the GPU's batched expm path (cc/core/expm_blas_driver.h + expm_blas_steps.h) with
// a CPU backend whose products, matrix-vector products and LU solves are small_expm.h's own team
// routines on one thread: the orchestration (rounds of the replayed selection, groups by scheme,
// squaring prefixes, masking, chunks) is then bitwise comparable with expm_team.
// _detexp_testing.blas_expm, tests/test_core_expm_blas.py.
#include <complex>
#include <cstdint>
#include <vector>

#include "cc/core/expm_blas_driver.h"
#include "cc/pybind/array_util.h"

namespace detexp {
namespace {

using expm_blas::BlasState;
using expm_blas::Step;
using expm_blas::StepArgs;
using expm_blas::StepParams;

template <class T>
class CpuBlasBackend {
 public:
  using R = real_t<T>;
  struct List {
    std::vector<int> idx;
    int count;
  };

  explicit CpuBlasBackend(const StepArgs<T>& args) : g_(args) {}

  List list(std::vector<int> idx) {
    ++lists;
    const int c = static_cast<int>(idx.size());
    return List{std::move(idx), c};
  }
  List prefix(const List& l, int count) const { return List{l.idx, count}; }

  void step(const List& l, Step s, const StepParams& p) {
    for (int k = 0; k < l.count; ++k) {
      if (expm_blas::step_is_entrywise(s)) {
        expm_blas::entrywise_step(s, p, g_, l.idx[k], 0, 1);
      } else if (expm_blas::step_is_columnwise(s)) {
        expm_blas::column_step(s, g_, l.idx[k], 0, 1);
      } else {
        expm_blas::reducing_step(SerialTeam(), s, p, g_, l.idx[k]);
      }
    }
  }
  void gemm(const List& l, int c, int a, int b, bool acc) {
    for (int k = 0; k < l.count; ++k) {
      const auto w = layout(l.idx[k]);
      small_expm::mat_mul(SerialTeam(), g_.n, w.w[c], w.w[a], w.w[b], acc);
    }
    gemms += l.count;
  }
  void gemv(const List& l, int x, bool adjoint, int in, int out) {
    for (int k = 0; k < l.count; ++k) {
      const auto w = layout(l.idx[k]);
      small_expm::mat_vec(SerialTeam(), g_.n, w.w[x], adjoint, w.tv + in * g_.n, w.tv + out * g_.n);
    }
  }
  void ell_product(const List& l, int j) {
    for (int k = 0; k < l.count; ++k) expm_blas::ell_product(g_, l.idx[k], j, 0, 1);
  }
  void lu_factor(const List& l, int q) {
    for (int k = 0; k < l.count; ++k) {
      const auto w = layout(l.idx[k]);
      small_expm::lu_factor(SerialTeam(), g_.n, w.w[q], w.perm, g_.state[l.idx[k]].kind == 0);
    }
  }
  void lu_solve(const List& l, int q, int b, int x) {
    for (int k = 0; k < l.count; ++k) {
      const auto w = layout(l.idx[k]);
      small_expm::lu_solve(SerialTeam(), g_.n, w.w[q], w.perm, w.w[b], w.w[x]);
    }
  }
  void read_states() { ++reads; }
  const BlasState<R>& state(int i) const { return g_.state[i]; }

  std::int64_t gemms = 0;  // matrix products issued (per matrix)
  std::int64_t reads = 0, lists = 0;

 private:
  small_expm::Workspace<T> layout(int i) const { return expm_blas::layout(g_, i); }
  StepArgs<T> g_;
};

// mode 0 exp(a); 1 (exp(a), L(a, e)); 2 L(a^H, e). Chunks of `chunk` matrices. Returns (results,
// choices, (products per matrix summed over the batch, host reads, lists)).
template <class T>
py::tuple blas_expm(const CArray<T>& a, const CArray<T>& e, int mode, int chunk) {
  const BatchDims d = square_batch(a, "blas_expm: a");
  if (mode != 0 && (e.ndim() != a.ndim() || !std::equal(a.shape(), a.shape() + a.ndim(), e.shape()))) {
    throw py::value_error("blas_expm: a and e must have the same shape");
  }
  if (d.n < 3) throw py::value_error("blas_expm: the batched path serves n >= 3 (the team code n = 1, 2)");
  if (chunk < 1) throw py::value_error("blas_expm: chunk must be positive");
  const int n = d.n;
  const bool frechet = mode != 0;
  const int64_t nn = int64_t{n} * n, b = d.batch;
  std::vector<py::ssize_t> shape(a.shape(), a.shape() + a.ndim());
  CArray<T> r(shape), l(shape);
  py::array_t<int> choice(d.batch_shape);
  const index_t ws_bytes = expm_team_workspace_bytes<T>(n, frechet);
  std::vector<std::max_align_t> ws(static_cast<size_t>((ws_bytes * chunk) / sizeof(std::max_align_t) + 1));
  std::vector<BlasState<real_t<T>>> states(chunk);
  int64_t gemms = 0, reads = 0, lists = 0;
  {
    py::gil_scoped_release release;
    for (int64_t begin = 0; begin < b; begin += chunk) {
      const int count = static_cast<int>(std::min<int64_t>(chunk, b - begin));
      StepArgs<T> args{n,
                       frechet,
                       mode == 2,
                       a.data() + begin * nn,
                       frechet ? e.data() + begin * nn : nullptr,
                       mode == 2 ? nullptr : r.mutable_data() + begin * nn,
                       frechet ? l.mutable_data() + begin * nn : nullptr,
                       reinterpret_cast<unsigned char*>(ws.data()),
                       ws_bytes,
                       states.data()};
      CpuBlasBackend<T> be(args);
      expm_blas::run_chunk<T>(be, count, frechet, mode != 2);
      for (int k = 0; k < count; ++k) {
        const BlasState<real_t<T>>& s = states[k];
        choice.mutable_data()[begin + k] =
            s.status == expm_blas::kSelected ? expm_choice_code(s.choice.m, s.choice.s) : kExpmChoiceNone;
      }
      gemms += be.gemms;
      reads += be.reads;
      lists += be.lists;
    }
  }
  const py::tuple counts = py::make_tuple(gemms, reads, lists);
  if (mode == 0) return py::make_tuple(r, choice, counts);
  if (mode == 1) return py::make_tuple(py::make_tuple(r, l), choice, counts);
  return py::make_tuple(l, choice, counts);
}

template <class T>
void bind_blas(py::module_& m) {
  m.def("blas_expm", &blas_expm<T>, py::arg("a").noconvert(), py::arg("e").noconvert(), py::arg("mode"),
        py::arg("chunk") = 1 << 20);
}

}  // namespace

void register_expm_blas_hooks(py::module_& m) {
  bind_blas<float>(m);
  bind_blas<double>(m);
  bind_blas<std::complex<float>>(m);
  bind_blas<std::complex<double>>(m);
}

}  // namespace detexp

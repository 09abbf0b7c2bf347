// Detexp>MatMul on the GPU: one 16×16 tile of C per block, the tiles of op(A) and op(B) staged in
// shared memory, each thread summing its entry in k order (cc/core/batch_matmul.h: the same
// result for a matrix whatever the batch; cuBLAS picks kernels by batch count).
#include <cuda_runtime.h>

#include <complex>

#include "cc/core/scalar.h"
#include "cuda/gpu_common.h"
#include "cuda/matmul_launch.h"

namespace detexp {
namespace gpu {
namespace {

using namespace common;

constexpr int kTile = 16;
constexpr std::int64_t kMaxGridZ = 65535;

// op(x)(i, j) of the row-major n×n matrix x; zero outside.
template <class T>
__device__ __forceinline__ T op_entry(const T* x, int n, int i, int j, bool adjoint) {
  if (i >= n || j >= n) return T(0);
  return adjoint ? conj_of(x[static_cast<std::int64_t>(j) * n + i]) : x[static_cast<std::int64_t>(i) * n + j];
}

template <class T>
__global__ void matmul_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ c, int n,
                              bool adjoint_a, bool adjoint_b) {
  __shared__ T as[kTile][kTile];
  __shared__ T bs[kTile][kTile];
  const std::int64_t m = blockIdx.z;
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  const T* am = a + m * nn;
  const T* bm = b + m * nn;
  const int row = blockIdx.y * kTile + threadIdx.y;
  const int col = blockIdx.x * kTile + threadIdx.x;
  T acc = T(0);
  for (int k0 = 0; k0 < n; k0 += kTile) {
    as[threadIdx.y][threadIdx.x] = op_entry(am, n, row, k0 + threadIdx.x, adjoint_a);
    bs[threadIdx.y][threadIdx.x] = op_entry(bm, n, k0 + threadIdx.y, col, adjoint_b);
    __syncthreads();
    const int kend = min(kTile, n - k0);
    for (int k = 0; k < kend; ++k) acc = acc + as[threadIdx.y][k] * bs[k][threadIdx.x];
    __syncthreads();
  }
  if (row < n && col < n) c[m * nn + static_cast<std::int64_t>(row) * n + col] = acc;
}

}  // namespace

template <class T>
Status matmul(cudaStream_t stream, const T* a, const T* b, T* c, std::int64_t batch, int n, bool adjoint_a,
              bool adjoint_b) {
  if (batch <= 0 || n <= 0) return Status();
  const std::int64_t nn = static_cast<std::int64_t>(n) * n;
  const unsigned tiles = static_cast<unsigned>((n + kTile - 1) / kTile);
  return for_each_launch(batch, kMaxGridZ, [&](std::int64_t s, std::int64_t count) {
    const dim3 grid(tiles, tiles, static_cast<unsigned>(count));
    const dim3 block(kTile, kTile);
    matmul_kernel<<<grid, block, 0, stream>>>(dev(a + s * nn), dev(b + s * nn), dev(c + s * nn), n, adjoint_a,
                                              adjoint_b);
    return launch_check("matmul_kernel");
  });
}

#define DETEXP_INSTANTIATE_MATMUL(T) \
  template Status matmul<T>(cudaStream_t, const T*, const T*, T*, std::int64_t, int, bool, bool);
DETEXP_INSTANTIATE_MATMUL(float)
DETEXP_INSTANTIATE_MATMUL(double)
DETEXP_INSTANTIATE_MATMUL(std::complex<float>)
DETEXP_INSTANTIATE_MATMUL(std::complex<double>)
#undef DETEXP_INSTANTIATE_MATMUL

}  // namespace gpu
}  // namespace detexp

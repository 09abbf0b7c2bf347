// The CPU's size crossovers, all in one table: which kernel serves which n. Each entry says why
// in a line; the measurements behind it are in docs/crossovers.md (the section named in brackets).
// (The GPU's table is cuda/gpu_plan.h; the algorithm's own size rules, the same on every backend,
// are expm_select.h's policy.)
#pragma once

#include <complex>
#include <type_traits>

namespace detexp {
namespace cpu_plan {

// ---- LU (slogdet, inverse, the backward) ----
// Up to this n the unrolled fixed-size templates of small_lu.h (code per size). [lu-fixed]
constexpr int kLuFixedMax = 8;
// Up to this n the full-column elimination (trip count n, vectorised). [lu-full-columns]
constexpr int kLuFullColumnsMax = 24;
// Up to this n the right-looking elimination, beyond Eigen's blocked LU; complex64 loses to
// Eigen from n = 25. [lu-right-looking]
template <class T>
constexpr int kLuRightLookingMax = std::is_same<T, std::complex<float>>::value ? kLuFullColumnsMax : 40;
// Real batches of up to this n factor 8 / 4 matrices per AVX register (one per lane): with the
// row-interchange panels below, the lanes stay ahead of the per-matrix paths (Eigen's blocked LU
// from n = 41) to n = 224; at n = 240 Eigen wins, and with the factors kept from n = 224. [lanes]
constexpr int kLanesFactorMax = 192;
// ... and the inverse / the backward in lanes up to this n (at 64 a group's working set leaves
// L2). [lanes]
constexpr int kLanesInverseMax = 48;
// From this n the lanes factor with row interchanges, in panels of kLanesPanel steps that
// delay their updates of the columns beyond the panel to one pass per panel (same bits): the
// swaps cost less than updating the used rows, more so in float64 (a swap moves W = 4 lanes, not
// 8). Four steps keep a column's multiplicands and eight rows' sums in 16 registers.
// [lanes-panels]
template <class R>
constexpr int kLanesSwappedMin = sizeof(R) == 8 ? 16 : 22;
constexpr int kLanesPanel = 4;
// Below this n the lanes gather pivot rows with masks, from it by scalar loads. [lanes]
constexpr int kLanesMaskGatherMax = 7;
// From this n the backward forms L^{-1} in column blocks of kInverseBlock (n^3/3 flops). [inverse-blocks]
constexpr int kStructuredInverseMin = 48;
constexpr int kInverseBlock = 32;

// ---- the matrix exponential ----
// Sizes that run with fixed-size Eigen matrices (unrolled products, LU and, up to kExpmFixedMax,
// Padé schemes: expm.h's cpu_expm_chain); others run-time n. [expm-fixed] [expm-unrolled]
constexpr int kExpmFixedMax = 8;
constexpr int kExpmFixedExtra = 16;
// Real products from one packet of rows up to this n: packet_gemm.h's register-blocked kernel;
// beyond, Eigen's GEMM, whose cache blocking wins once A leaves L2. [packet-gemm]
constexpr int kPacketGemmMaxN = 256;
// The Padé denominator of run-time n up to this size: the right-looking LU and row-major
// triangular solves; beyond, Eigen's PartialPivLU. Complex: lu.h's limit. [pade-solve]
template <class T>
constexpr int kPadeRightLookingMax = std::is_same<T, float>::value || std::is_same<T, double>::value
                                         ? 96
                                         : kLuRightLookingMax<T>;

// ---- the action of the exponential (expm_multiply) ----
// The dense route (exp(tA), then one product) where the Taylor steps' m s k n^2 multiply-adds
// exceed this ratio times kDenseProducts n^3 (expm_multiply_select.h): a thin product costs more
// per multiply-add than a square GEMM, by the break-even medians ~3 in float64 and ~1 in float32
// (complex: its real type's entry, not measured apart). [expm-multiply-dense], in
// docs/expm_multiply_crossover.md
template <class T>
constexpr double kExpmMultiplyDenseRatio =
    std::is_same<T, float>::value || std::is_same<T, std::complex<float>>::value ? 1.0 : 3.0;

}  // namespace cpu_plan
}  // namespace detexp

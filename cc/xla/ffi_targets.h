// The names of detexp's XLA custom-call targets: the lowering (cc/xla/*_xla_ops.cc) emits them
// and the handlers (cc/xla/*_ffi.cc for "Host", *_ffi_gpu.cc for "CUDA") register under them.
#pragma once

namespace detexp {
namespace xla_ffi {

// Detexp>Slogdet: a -> (sign, logabsdet) or (sign, logabsdet, lu, perm) where the factors are used.
constexpr char kSlogdetTarget[] = "detexp_slogdet";
// Detexp>InverseFromLu: (lu, perm) -> inverse.
constexpr char kInverseFromLuTarget[] = "detexp_inverse_from_lu";
// Detexp>SlogdetBackward: (lu, perm, k) -> k inv(a)^H.
constexpr char kSlogdetBackwardTarget[] = "detexp_slogdet_backward";
// Detexp>Adjugate: a -> adj(a).
constexpr char kAdjugateTarget[] = "detexp_adjugate";
// Detexp>Expm: a -> (exp(a), choice).
constexpr char kExpmTarget[] = "detexp_expm";
// Detexp>ExpmFrechet: (a, e) -> (exp(a), L(a, e)).
constexpr char kExpmFrechetTarget[] = "detexp_expm_frechet";
// Detexp>ExpmGrad: (a, g, choice) -> L(a^H, g).
constexpr char kExpmGradTarget[] = "detexp_expm_grad";
// Detexp>MatMul: (a, b) -> a b; the lowering forms the adjoints the op's attributes ask for first.
constexpr char kMatMulTarget[] = "detexp_mat_mul";
// Detexp>ExpmMultiply: (a, b, t) -> (exp(t a) b, choice); its backward (a, b, t, g, choice) -> grads.
constexpr char kExpmMultiplyTarget[] = "detexp_expm_multiply";
constexpr char kExpmMultiplyGradTarget[] = "detexp_expm_multiply_grad";

}  // namespace xla_ffi
}  // namespace detexp

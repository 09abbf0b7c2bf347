// The evaluation schedules of the matrix exponential's approximants, as data: Padé r_m, m = 3, 5,
// 7, 9, 13 (Higham 2005 eqs. (2.3), (10.3)), and the Taylor polynomial T_18 of Bader, Blanes &
// Casas 2019 (eq. (11), Table 1, as PyTorch's matrix_exp). Every backend runs them through
// expm_chain.h, which also differentiates them (d(L R) = dL R + L dR per product).
//
// A scheme is a list of products P_k = L_k R_k whose factors are linear combinations of the basis
// {I, X, P_0, ..., P_{k-1}}, then the result: T_18 = Σ u_j Y_j; Padé r_m = (V - U)^{-1} (V + U)
// with U = Σ u_j Y_j, V = Σ v_j Y_j. Products that are powers X^p say so (power = p): the degree
// selection (expm_select.h) may have formed them already, by the same product (expm_power_factors).
// Padé coefficients are b_j / b_0, so that V = I + ... and U = X/2 + ... (on Moler–Van Loan's
// matrix 4.7e-15 instead of 1.0e-14 relative error).
//
// Device code reads the tables from constant memory (nvcc: the same constexpr initializer).
#pragma once

#include "expm_coefficients.h"
#include "scalar.h"

namespace detexp {

// Basis entries: I, X and at most 6 products (Padé 13: X^2, X^4, X^6, X^6 W_1, U, X^6 Z_1).
constexpr int kExpmBasisMax = 8;

// Σ c_j Y_j as built (dense over the basis), and as the backends read it: the nonzero c_j, j >= 1,
// with the slots of Y_j and of dY_j (ExpmSlot below), compiled with the table.
struct ExpmCombination {
  double c[kExpmBasisMax] = {};
  int terms = 0;
  int slot[kExpmBasisMax] = {};
  int derivative_slot[kExpmBasisMax] = {};
  double coef[kExpmBasisMax] = {};
};

struct ExpmProduct {
  ExpmCombination left, right;
  int power = 0;  // p when P_k = X^p formed as expm_power_factors(p), else 0
};

struct ExpmScheme {
  int degree = 0;
  bool pade = false;
  int products = 0;
  ExpmProduct product[kExpmBasisMax - 2];
  ExpmCombination u, v;  // Taylor: the result u; Padé: U and V
  ExpmCombination v_minus_u;  // Padé: the denominator V - U
  unsigned powers = 0;  // bit p set where a product is X^p
};

// X^p = X^a X^b, the product by which every backend forms the power p (the selection's exact
// norms and the schemes alike, so that a power formed for a norm is the one evaluated).
struct ExpmPowerFactors {
  int a, b;
};
DETEXP_HD constexpr ExpmPowerFactors expm_power_factors(int p) {
  switch (p) {
    case 2: return {1, 1};
    case 3: return {2, 1};
    case 4: return {2, 2};
    case 5: return {4, 1};
    case 6: return {4, 2};
    case 8: return {4, 4};
    default: return {4, 6};  // p = 10
  }
}

// The backends' n×n storage slots: basis entry b >= 1 (X and the products) in slot b - 1, the
// combination scratch L, R, and V (Padé: V, then V - U and its factors); for the Fréchet
// derivative the same again for dX = 2^-s E and the derivatives of the products.
enum ExpmSlot : int {
  kExpmSlotX = 0,
  kExpmSlotL = kExpmBasisMax - 1,
  kExpmSlotR,
  kExpmSlotV,
  kExpmForwardSlots,
  kExpmSlotDX = kExpmForwardSlots,
  kExpmSlotDL = kExpmSlotDX + kExpmSlotL,
  kExpmSlotDR,
  kExpmSlotDV,
  kExpmFrechetSlots,
};

DETEXP_HD constexpr int expm_basis_slot(int b) { return b - 1; }
DETEXP_HD constexpr int expm_derivative_slot(int slot) { return slot + kExpmSlotDX; }

namespace scheme_detail {

// BBC 2019 Table 1: rows B_i = Σ_j b_ij Y_j over Y = {I, X, X^2, X^3, X^6}.
constexpr double kB18[5][5] = {
    {0., -1.00365581030144618291e-01, -8.02924648241156932449e-03, -8.92138498045729985177e-04, 0.},
    {0., 3.97849749499645077844e-01, 1.36783778460411720168e+00, 4.98289622525382669416e-01,
     -6.37898194594723280150e-04},
    {-1.09676396052962061844e+01, 1.68015813878906206114e+00, 5.71779846478865511061e-02,
     -6.98210122488052056106e-03, 3.34975017086070470649e-05},
    {-9.04316832390810593223e-02, -6.76404519071381882256e-02, 6.75961301770459654925e-02,
     2.95552570429315521194e-02, -1.39180257516060693404e-05},
    {0., 0., -9.23364619367118555360e-02, -1.69364939002081722752e-02, -1.40086798182036094347e-05}};

constexpr void add_row(ExpmCombination& c, const double* row) {
  for (int j = 0; j < 5; ++j) c.c[j] += row[j];
}

constexpr ExpmCombination unit(int j) {
  ExpmCombination c;
  c.c[j] = 1.0;
  return c;
}

// Basis 0 I, 1 X, 2 X^2, 3 X^3, 4 X^6, 5 P5 = B0 B4, 6 P6 = (B2 + A9) A9 with A9 = B3 + P5;
// T_18 = B1 + P6.
constexpr ExpmScheme taylor18() {
  ExpmScheme sc;
  sc.degree = 18;
  sc.products = 5;
  sc.product[0] = {unit(1), unit(1), 2};
  sc.product[1] = {unit(2), unit(1), 3};
  sc.product[2] = {unit(3), unit(3), 0};  // X^6 as (X^3)^2: not the selection's X^4 X^2
  add_row(sc.product[3].left, kB18[0]);
  add_row(sc.product[3].right, kB18[4]);
  sc.product[4].left = unit(5);
  add_row(sc.product[4].left, kB18[2]);
  add_row(sc.product[4].left, kB18[3]);
  sc.product[4].right = unit(5);
  add_row(sc.product[4].right, kB18[3]);
  sc.u = unit(6);
  add_row(sc.u, kB18[1]);
  return sc;
}

// Basis 0 I, 1 X, 2 X^2, 3 X^4, 4 X^6, 5 X^8 (m = 9) and U = X W last; m = 13: 5 X^6 W_1,
// 6 U = X (X^6 W_1 + W_0), 7 X^6 Z_1, V = X^6 Z_1 + Z_0 (Higham 2005 eq. (10.3)).
constexpr ExpmScheme pade(int m) {
  ExpmScheme sc;
  sc.degree = m;
  sc.pade = true;
  double c[14] = {};
  for (int j = 0; j <= m; ++j) c[j] = expm_coef::pade_b(m, j) / expm_coef::pade_b(m, 0);
  const int powers = m == 3 ? 1 : m == 5 ? 2 : m == 9 ? 4 : 3;  // X^2 .. X^(2 powers)
  const int exponent[4] = {2, 4, 6, 8};
  const ExpmPowerFactors f[4] = {expm_power_factors(2), expm_power_factors(4), expm_power_factors(6),
                                 expm_power_factors(8)};
  // basis index of X^p: 1 for p = 1, else 1 + p/2
  for (int k = 0; k < powers; ++k) {
    sc.product[k] = {unit(f[k].a == 1 ? 1 : 1 + f[k].a / 2), unit(f[k].b == 1 ? 1 : 1 + f[k].b / 2), exponent[k]};
  }
  if (m != 13) {
    ExpmProduct& u = sc.product[powers];  // U = X (c1 I + c3 X^2 + ... + c_m X^(m-1))
    u.left = unit(1);
    u.right.c[0] = c[1];
    for (int k = 0; k < powers; ++k) u.right.c[2 + k] = c[2 * k + 3];
    sc.products = powers + 1;
    sc.u = unit(1 + sc.products);
    sc.v.c[0] = c[0];
    for (int k = 0; k < powers; ++k) sc.v.c[2 + k] = c[2 * k + 2];
    return sc;
  }
  ExpmProduct& w1 = sc.product[3];  // X^6 (c9 X^2 + c11 X^4 + c13 X^6)
  w1.left = unit(4);
  w1.right.c[2] = c[9];
  w1.right.c[3] = c[11];
  w1.right.c[4] = c[13];
  ExpmProduct& u = sc.product[4];  // X (X^6 W_1 + c1 I + c3 X^2 + c5 X^4 + c7 X^6)
  u.left = unit(1);
  u.right = unit(5);
  u.right.c[0] = c[1];
  u.right.c[2] = c[3];
  u.right.c[3] = c[5];
  u.right.c[4] = c[7];
  ExpmProduct& z1 = sc.product[5];  // X^6 (c8 X^2 + c10 X^4 + c12 X^6)
  z1.left = unit(4);
  z1.right.c[2] = c[8];
  z1.right.c[3] = c[10];
  z1.right.c[4] = c[12];
  sc.products = 6;
  sc.u = unit(6);
  sc.v = unit(7);
  sc.v.c[0] = c[0];
  sc.v.c[2] = c[2];
  sc.v.c[3] = c[4];
  sc.v.c[4] = c[6];
  return sc;
}

struct SchemeTable {
  ExpmScheme pade[5];  // m = 3, 5, 7, 9, 13
  ExpmScheme taylor;
};

constexpr void compile(ExpmCombination& c) {
  c.terms = 0;
  for (int j = 1; j < kExpmBasisMax; ++j) {
    if (c.c[j] == 0.0) continue;
    c.slot[c.terms] = expm_basis_slot(j);
    c.derivative_slot[c.terms] = expm_derivative_slot(expm_basis_slot(j));
    c.coef[c.terms++] = c.c[j];
  }
}

constexpr ExpmScheme compile(ExpmScheme sc) {
  for (int k = 0; k < sc.products; ++k) {
    compile(sc.product[k].left);
    compile(sc.product[k].right);
    if (sc.product[k].power != 0) sc.powers |= 1u << sc.product[k].power;
  }
  if (sc.pade) {  // U is a product of the scheme: one unit basis entry
    sc.v_minus_u = sc.v;
    for (int j = 1; j < kExpmBasisMax; ++j) sc.v_minus_u.c[j] -= sc.u.c[j];
  }
  compile(sc.u);
  compile(sc.v);
  compile(sc.v_minus_u);
  return sc;
}

constexpr ExpmScheme compiled(int m) { return compile(m == 18 ? taylor18() : pade(m)); }

constexpr SchemeTable make_table() {
  SchemeTable t;
  const int m[5] = {3, 5, 7, 9, 13};
  for (int k = 0; k < 5; ++k) t.pade[k] = compiled(m[k]);
  t.taylor = compiled(18);
  return t;
}

inline constexpr SchemeTable kTable = make_table();
#if defined(__CUDACC__)
static __constant__ SchemeTable kDeviceTable = make_table();
#endif

}  // namespace scheme_detail

// The scheme of degree m: T_18 (m = 18) or Padé r_m.
DETEXP_HD const ExpmScheme& expm_scheme(int m) {
#if defined(__CUDA_ARCH__)
  const scheme_detail::SchemeTable& t = scheme_detail::kDeviceTable;
#else
  const scheme_detail::SchemeTable& t = scheme_detail::kTable;
#endif
  switch (m) {
    case 3: return t.pade[0];
    case 5: return t.pade[1];
    case 7: return t.pade[2];
    case 9: return t.pade[3];
    case 13: return t.pade[4];
    default: return t.taylor;
  }
}

// The scheme of degree M as a compile-time constant, for drivers that evaluate it unrolled
// (expm.h's fixed sizes).
template <int M>
struct ExpmStaticScheme {
  static constexpr ExpmScheme value = scheme_detail::compiled(M);
};

// Where the selection keeps X^p: in the basis slot the family's schemes evaluate it from (Padé
// X^(2k) at basis k + 1, Taylor X^2, X^3 at basis 2, 3), else (norms only: Padé X^10, Taylor
// X^4, X^5) in the combination scratch, which is free until the evaluation.
DETEXP_HD constexpr int expm_power_slot(bool taylor, int p) {
  if (p == 1) return kExpmSlotX;
  if (taylor) return p <= 3 ? expm_basis_slot(p) : (p == 4 ? kExpmSlotL : kExpmSlotR);
  return p == 10 ? kExpmSlotL : expm_basis_slot(1 + p / 2);
}

}  // namespace detexp

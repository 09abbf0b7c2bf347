// The team interface of the per-matrix __host__ __device__ code (small_expm.h, expm_select.h's
// helpers): a Team provides rank(), size(), sync() (a barrier of the team) and max(x) (the
// team-wide maximum, the same value in every member). Work is split over matrix entries or
// columns; scalars that steer the algorithm are reduced, so every member takes the same branches.
// SerialTeam is one thread (the CPU); cuda/expm_teams.h has the GPU's warp and block teams and
// the test module's ThreadTeam runs a team on OS threads.
#pragma once

#include "scalar.h"

// The large team routines are not force-inlined on the device (DETEXP_HD is __forceinline__):
// expm_team calls mat_mul some 40 times, and inlining every call multiplied nvcc's compile time.
#if defined(__CUDACC__)
#define DETEXP_HD_CALL __host__ __device__
#else
#define DETEXP_HD_CALL inline
#endif

// Before a __host__ __device__ template that host-only backends instantiate too (expm_chain.h's
// routines driven by the batched path's host-side ListChain): nvcc checks no host instance.
#if defined(__CUDACC__)
#define DETEXP_HOST_INSTANCES_OK _Pragma("nv_exec_check_disable")
#else
#define DETEXP_HOST_INSTANCES_OK
#endif

namespace detexp {

struct SerialTeam {
  DETEXP_HD int rank() const { return 0; }
  DETEXP_HD int size() const { return 1; }
  DETEXP_HD void sync() const {}
  template <class V>
  DETEXP_HD V max(V v) const {
    return v;
  }
};

// NaN-propagating maximum (a NaN norm must not be hidden by a later finite one).
template <class R>
DETEXP_HD R nan_max(R a, R b) {
  return (b > a || b != b) ? b : a;
}

}  // namespace detexp

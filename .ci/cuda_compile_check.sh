#!/usr/bin/env bash
# CI without a GPU: installs the pip CUDA toolchain (requirements-cuda.txt), compiles the CUDA build
# of the op library with it into its own build dir (nothing of detexp is installed), then checks that
#   0. the build used the pip toolchain (not a system CUDA that happens to be on PATH),
#   1. the .so links no CUDA library beyond what libtensorflow_framework.so.2 provides (ldd), and
#      with the static runtime (nvcc 13's default) binds every runtime call to it and exports none
#      of its symbols (nm -D);
#   2. every CUDA runtime symbol the kernels' objects use is one TF's framework exports (nm), so the
#      `DETEXP_CUDA_RUNTIME=tf` mode links too,
#   3. TF loads it on this machine (no GPU, no cuSOLVER/cuBLAS needed), and
#   4. every Detexp> op has a GPU kernel registered (and a CPU one), and XLA lowerings for both.
# Exit status non-zero on any failure.
#
#   .ci/cuda_compile_check.sh                  # arch list: $DETEXP_CUDA_ARCHS or "90" (fast)
#   DETEXP_CUDA_ARCHS="75;80;86;89;90;100;120" .ci/cuda_compile_check.sh   # the release arch list
# Environment: PYTHON (default python), DETEXP_JOBS (default 2), DETEXP_CUDA_CHECK_DIR
# (default <repo>/build-cuda-check), DETEXP_CUDA_CHECK_TOOLCHAIN=any to accept an explicitly chosen
# nvcc (CUDACXX) instead of the pip one.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$(command -v "${PYTHON:-python}")"
BUILD="${DETEXP_CUDA_CHECK_DIR:-$ROOT/build-cuda-check}"
ARCHS="${DETEXP_CUDA_ARCHS:-90}"
start=$(date +%s)
"$PY" -m pip install -q -r "$ROOT/requirements-cuda.txt"
echo "cuda_compile_check: pip CUDA toolchain installed in $(( $(date +%s) - start )) s"
mkdir -p "$BUILD"
cmake -S "$ROOT" -B "$BUILD" -DPython_EXECUTABLE="$PY" -DDETEXP_CUDA=ON "-DDETEXP_CUDA_ARCHS=$ARCHS" \
  -DDETEXP_CUDA_TESTS=ON -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$BUILD/lib" -DDETEXP_TESTING_DIR="$BUILD/testing" >"$BUILD/configure.log" 2>&1 \
  || { cat "$BUILD/configure.log"; exit 1; }
grep -h "detexp CUDA" "$BUILD/configure.log"
# 0.
if [ "${DETEXP_CUDA_CHECK_TOOLCHAIN:-pip}" = pip ] && ! grep -q "detexp CUDA .* from pip" "$BUILD/configure.log"; then
  echo "cuda_compile_check: the build did not use the pip toolchain of requirements-cuda.txt" >&2; exit 1
fi
cmake --build "$BUILD" -j"${DETEXP_JOBS:-2}" >"$BUILD/build.log" 2>&1 || { tail -50 "$BUILD/build.log"; exit 1; }
echo "cuda_compile_check: built archs '$ARCHS' in $(( $(date +%s) - start )) s"
SO="$BUILD/lib/_detexp_ops.so"
# 1. Only TF's framework may bring CUDA symbols: no libcudart/libcusolver/libcublas/libcuda needed.
if ldd "$SO" | grep -E 'libcu(dart|solver|blas|blasLt|da)\.so' ; then
  echo "cuda_compile_check: $SO links a CUDA library directly (must dlopen / use TF's runtime)" >&2; exit 1
fi
if nm -D --defined-only "$SO" | grep -E ' (cuda|__cuda|cudart)[A-Za-z_]'; then
  echo "cuda_compile_check: $SO exports CUDA runtime symbols (a static runtime must stay hidden)" >&2; exit 1
fi
if grep -q "runtime static" "$BUILD/configure.log" && nm -D --undefined-only "$SO" | grep -E ' (cuda|__cuda)[A-Za-z_]'; then
  echo "cuda_compile_check: $SO leaves CUDA runtime calls to another library (static runtime not linked in)" >&2; exit 1
fi
# 2. The CUDA runtime API the kernels call (undefined in their objects) against TF's exports.
TF_FW=$("$PY" -c "import glob, os, tensorflow as tf; print(glob.glob(os.path.join(tf.sysconfig.get_lib(), 'libtensorflow_framework.so*'))[0])")
missing=$(comm -23 <(nm -u "$BUILD/libdetexp_cuda.a" 2>/dev/null | awk '{print $2}' | grep -E '^(cuda|__cuda)' | sort -u) \
                   <(nm -D --defined-only "$TF_FW" | awk '{print $3}' | sort -u))
if [ -n "$missing" ]; then
  echo "cuda_compile_check: the kernels use CUDA runtime symbols TF's framework does not export: $missing" >&2; exit 1
fi
echo "cuda_compile_check: the $(nm -u "$BUILD/libdetexp_cuda.a" | awk '{print $2}' | grep -E '^(cuda|__cuda)' | sort -u | wc -l)" \
     "CUDA runtime functions the kernels call are all exported by $(basename "$TF_FW")"
# 3 + 4.
"$PY" - "$SO" <<'PY'
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf
from tensorflow.python.framework import kernels
lib = tf.load_op_library(sys.argv[1])
from tensorflow.python.framework import op_def_registry
# The generated wrappers are named Detexp_<Op> for the op Detexp><Op>.
names = sorted("Detexp>" + a[len("Detexp_"):] for a in dir(lib) if a.startswith("Detexp_"))
assert all(op_def_registry.get(n) is not None for n in names), names
# Every op has CPU and GPU kernels and both XLA lowerings (expm_multiply's since issue 24).
bad = []
for name in names:
    devs = {k.device_type for k in kernels.get_registered_kernels_for_op(name).kernel}
    print(f"  {name}: {sorted(devs)}")
    if not {"CPU", "GPU", "XLA_CPU_JIT", "XLA_GPU_JIT"} <= devs:  # XLA lowerings: cc/xla
        bad.append(name)
if not names:
    sys.exit("cuda_compile_check: no Detexp> ops registered")
if bad:
    sys.exit(f"cuda_compile_check: missing CPU or GPU kernels for {bad}")
# The CPU kernels of the CUDA build still run here.
a = tf.constant([[[2.0, 1.0], [1.0, 3.0]]])
s, l, lu, p = lib.detexp_slogdet(a, Treal=tf.float32)
assert abs(float(l[0]) - float(tf.math.log(5.0))) < 1e-6, l
print(f"cuda_compile_check: OK ({len(names)} ops with CPU+GPU kernels; CPU slogdet runs)")
PY
# The standalone kernel tests: run on a GPU, exit 77 (skip) without one.
for t in detexp_cuda_test detexp_cuda_expm_test; do
  rc=0; "$BUILD/$t" --quick || rc=$?
  if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then echo "cuda_compile_check: $t failed ($rc)" >&2; exit 1; fi
done
# 4. The CPU test suite against the CUDA build (skip with DETEXP_CUDA_CHECK_TESTS=0): a copy of the
#    package with the CUDA-built libraries swapped in, outside the source tree.
if [ "${DETEXP_CUDA_CHECK_TESTS:-1}" != "0" ]; then
  PKG="$BUILD/pkg"
  rm -rf "$PKG" && mkdir -p "$PKG"
  cp -r "$ROOT/python/detexp" "$PKG/"
  rm -f "$PKG"/detexp/*.so
  cp "$SO" "$BUILD"/lib/_detexp_numpy*.so "$PKG/detexp/"
  (cd "$ROOT" && PYTHONPATH="$PKG" "$PY" -m pytest -q -p no:cacheprovider tests)
fi
echo "cuda_compile_check: total $(( $(date +%s) - start )) s"

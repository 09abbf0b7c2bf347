#!/usr/bin/env bash
# CI: builds the wheel (pip wheel --no-build-isolation), repairs it to manylinux with auditwheel
# (TensorFlow's libraries and the CUDA libraries excluded: they come from the tensorflow wheel / the
# driver, or are dlopen'ed), checks its metadata pins tensorflow>=2.21,<2.22, installs it into a
# fresh venv and runs a smoke test there (XLA included) from outside the source tree.
#
# The venv uses --system-site-packages so that it gets TensorFlow (and NumPy/SciPy) from the
# environment instead of downloading ~600 MB; detexp itself is installed into the venv and the smoke
# test checks that the venv's copy is the one imported.
# The CMake build directory is setup.py's default (build/temp.*/cmake in the source tree), which
# `pip install --no-build-isolation .` (CI step 1) has already filled: only changed files rebuild.
# Set DETEXP_BUILD_DIR to use another persistent one.
#
# Environment: PYTHON (default python), DETEXP_JOBS (default 2), DETEXP_WHEEL_CHECK_DIR
# (default <repo>/build-wheel-check), and setup.py's DETEXP_* variables. A CUDA wheel (not run by
# CI: a full CUDA build) also checks its GPU kernels are registered while running on the CPU:
#   DETEXP_CUDA=1 DETEXP_CUDA_ARCHS=90 DETEXP_BUILD_DIR=$PWD/build-cuda-wheel \
#     DETEXP_WHEEL_CHECK_DIR=$PWD/build-wheel-check-cuda .ci/wheel_check.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$(command -v "${PYTHON:-python}")"
OUT="${DETEXP_WHEEL_CHECK_DIR:-$ROOT/build-wheel-check}"
export DETEXP_JOBS="${DETEXP_JOBS:-2}"
start=$(date +%s)
rm -rf "$OUT" && mkdir -p "$OUT/raw" "$OUT/wheelhouse"
"$PY" -m pip install -q -r "$ROOT/requirements-build.txt" -r "$ROOT/requirements-wheel.txt"

echo "== build the wheel =="
(cd "$ROOT" && "$PY" -m pip wheel --no-build-isolation --no-deps -w "$OUT/raw" .) >"$OUT/build.log" 2>&1 \
  || { tail -50 "$OUT/build.log"; exit 1; }
RAW=$(ls "$OUT"/raw/detexp-*.whl)
echo "built $(basename "$RAW") in $(( $(date +%s) - start )) s"

echo "== repair to manylinux =="
"$PY" -m auditwheel show "$RAW" || true
"$PY" -m auditwheel repair "$RAW" -w "$OUT/wheelhouse" \
  --exclude libtensorflow_framework.so.2 --exclude libtensorflow_cc.so.2 \
  --exclude 'libcudart.so*' --exclude 'libcuda.so*' --exclude 'libcusolver.so*' \
  --exclude 'libcublas.so*' --exclude 'libcublasLt.so*'
WHL=$(ls "$OUT"/wheelhouse/detexp-*manylinux*.whl)
echo "repaired: $(basename "$WHL")"

echo "== metadata and contents =="
"$PY" - "$WHL" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
requires = [l.split(":", 1)[1].strip() for l in meta.splitlines() if l.startswith("Requires-Dist:")]
print("Requires-Dist:", requires)
tf_req = [r for r in requires if r.replace(" ", "").startswith("tensorflow") and "extra" not in r]
assert tf_req and ">=2.21" in tf_req[0] and "<2.22" in tf_req[0], tf_req
for f in ("detexp/_detexp_ops.so", "detexp/layers.py", "detexp/bench/__main__.py"):
    assert f in names, f"{f} missing from the wheel"
assert any(n.startswith("detexp/_detexp_numpy") and n.endswith(".so") for n in names), names
PY

echo "== install into a fresh venv, smoke test outside the source tree =="
VENV="$OUT/venv"
"$PY" -m venv --system-site-packages "$VENV"
"$VENV/bin/python" -m pip install -q --no-deps --force-reinstall "$WHL"
SMOKE="$OUT/smoke" && mkdir -p "$SMOKE" && cd "$SMOKE"
TF_CPP_MIN_LOG_LEVEL=2 "$VENV/bin/python" - "$VENV" <<'PY'
import os, sys
import numpy as np, scipy.linalg as sla, tensorflow as tf
import detexp as dx
assert os.path.realpath(dx.__file__).startswith(os.path.realpath(sys.argv[1])), dx.__file__
a = np.random.default_rng(0).standard_normal((4, 5, 5)) + 3 * np.eye(5)
s, lad = dx.slogdet(a)
ref_s, ref_lad = np.linalg.slogdet(a)
np.testing.assert_allclose(lad.numpy(), ref_lad, rtol=1e-12); np.testing.assert_array_equal(s.numpy(), ref_s)
np.testing.assert_allclose(dx.expm(a / 5).numpy(), [sla.expm(m / 5) for m in a], rtol=1e-12)
x = tf.constant(a)
with tf.GradientTape() as t:
    t.watch(x); y = tf.reduce_sum(dx.logabsdet(x))
np.testing.assert_allclose(t.gradient(y, x).numpy(), np.linalg.inv(a).transpose(0, 2, 1), rtol=1e-10)
np.testing.assert_allclose(dx.numpy.slogdet(a)[1], ref_lad, rtol=1e-12)
# Under XLA: the custom calls' handlers are in the wheel's library, which finds libtensorflow_cc.
jit_lad, jit_expm = tf.function(lambda x: (dx.logabsdet(x), dx.expm(x)), jit_compile=True, autograph=False)(
    tf.constant(a / 5))
np.testing.assert_array_equal(jit_lad.numpy(), dx.logabsdet(a / 5).numpy())
np.testing.assert_array_equal(jit_expm.numpy(), dx.expm(a / 5).numpy())
if os.environ.get("DETEXP_CUDA", "0").lower() in ("1", "on", "true", "yes"):
    # A CUDA wheel: GPU kernels registered, yet everything above ran here (on the CPU if no GPU).
    from tensorflow.python.framework import kernels
    devs = {k.device_type for k in kernels.get_registered_kernels_for_op("Detexp>Slogdet").kernel}
    assert "GPU" in devs, devs
    print(f"CUDA wheel: GPU kernels registered; GPUs visible: {len(tf.config.list_physical_devices('GPU'))}")
print(f"smoke test OK: detexp {dx.__version__} from {os.path.dirname(dx.__file__)}")
PY
echo "wheel_check: OK in $(( $(date +%s) - start )) s: $WHL"

#!/usr/bin/env bash
# Every GPU check detexp owes (issue 23), as time-boxed stages whose results survive a failure or a
# hang of any other stage, merged into one JSON and one table:
#   $OUT/verify.json, $OUT/verify.txt (+ $OUT/logs.tgz: each stage's log)
#
#   cuda/verify_gpu.sh pack       here, on the CPU machine: build .devbuild/pack.tgz (~40 MB: the
#                                 op library for sm_90 in both runtime modes, the Python 3.12
#                                 pybind module, the standalone kernel tests)
#   cuda/verify_gpu.sh start      GPU machine, first call (carrying .devbuild): copy it and the
#                                 sources to $DXV, start the TF-free stages in the background (they
#                                 run while TF travels)
#   cuda/verify_gpu.sh finish     GPU machine, once TF is there (. /tmp/tfenv.sh): the TF stages,
#                                 then the report; run it again to resume what a deadline cut off
#   cuda/verify_gpu.sh all        everything in the foreground (a GPU node with TF and detexp's
#                                 build prerequisites), then the report
#   cuda/verify_gpu.sh dry-run    the same on a machine without a GPU: every GPU stage records
#                                 "skipped: no GPU"; checks the script, the JSON and the table
#   cuda/verify_gpu.sh status     what has finished so far
# The device call sequence is in cuda/README.md ("Verifying on a GPU machine").
#
# Stages (name: time box in s; kernels.* and sanitize.* need no TF):
#   kernels.build 420: the test binaries carried in .devbuild/kernels (pip nvcc), else built there:
#       cmake -S cuda/tests with $CUDACXX, else the nvcc on PATH, else the pip toolchain
#       (cmake/DetexpCudaToolchain.cmake), sm_$DETEXP_VERIFY_ARCH (default 90)
#   kernels.slogdet 180, kernels.expm 240, kernels.expm.global 240, kernels.expm.blas 240,
#   kernels.slogdet.chunks 180 (DETEXP_GPU_WORKSPACE_BUDGET_MB=1: gesvdjBatched in dozens of
#       chunks; DETEXP_GPU_CHECK_INFO=1: the info codes read back)
#   sanitize.<tool>.<test> 90 each: memcheck (--leak-check full), racecheck, synccheck on the
#       --quick modes of slogdet and expm, then of expm --global and expm --blas
#   smoke.static, smoke.tf 120 each: cuda/gpu_smoke.py with the op library of each runtime mode
#       (the first thing that touches TF: every op on /GPU:0 vs /CPU:0, the mapped CUDA libraries)
#   pytest.gpu 240: tests/test_gpu_*.py
#   bench 300: python -m detexp.bench --only gpu --json (after the kernel stages, alone on the GPU)
#   pytest.xla 180: tests/test_xla*.py (whatever exists then; last: it also runs CPU tests)
# Status per stage: pass, fail, timeout, skipped (with the reason), or missing (never reached).
#
# Environment: OUT (default $DXV/out), DXV (work dir, default /tmp/dxv), DETEXP_VERIFY_ARCH (90),
# DETEXP_VERIFY_PKG (a folder holding {static,tf}/detexp/ or detexp/ with built libraries; default
# $DXV/devbuild, else .devbuild; none there: the importable detexp), DETEXP_VERIFY_DEADLINE (seconds from the start of `finish`/`all` by which
# every stage has ended, then the report; default 540), DETEXP_VERIFY_FAST=1 (short time boxes,
# for the dry run).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DXV="${DXV:-/tmp/dxv}"
OUT="${OUT:-$DXV/out}"
ARCH="${DETEXP_VERIFY_ARCH:-90}"
PY="$(command -v python3 || command -v python)"
RES="$DXV/results"
LOGS="$DXV/logs"
T0=$(date +%s)
DEADLINE=$((T0 + ${DETEXP_VERIFY_DEADLINE:-540}))
mkdir -p "$RES" "$LOGS" "$OUT"

have_gpu() { nvidia-smi -L >/dev/null 2>&1; }

box() {  # the time box of a stage (short ones for the dry run)
  if [ "${DETEXP_VERIFY_FAST:-0}" = 1 ]; then echo 60; else echo "$1"; fi
}

# record NAME STATUS SECONDS DETAIL [EXTRA_JSON_FILE]: one JSON file per stage in $RES.
record() {
  "$PY" - "$RES/$1.json" "$1" "$2" "$3" "$4" "${5:-}" "$LOGS/$1.log" <<'PY'
import json, os, sys
path, name, status, secs, detail, extra, log = sys.argv[1:8]
r = {"stage": name, "status": status, "seconds": float(secs), "detail": detail}
if extra and os.path.exists(extra):
    try:
        r["data"] = json.load(open(extra))
    except ValueError as e:
        r["data_error"] = str(e)
if os.path.exists(log):
    r["log_tail"] = open(log, errors="replace").read()[-3000:]
json.dump(r, open(path, "w"), indent=1)
PY
  echo "[verify] $1: $2 (${3}s) $4"
}

# run_stage NAME BOX CMD...: runs CMD with its output in $LOGS/NAME.log under `timeout`; exit 77 is
# "skipped", 124/137 "timeout". Skips stages already recorded (resume); the box is cut to what is
# left before the deadline, and a stage with under 30 s left is not started (nor recorded).
run_stage() {
  local name=$1 limit=$2; shift 2
  if [ -f "$RES/$name.json" ]; then echo "[verify] $name: already recorded"; return 0; fi
  local start rc status detail left
  start=$(date +%s)
  left=$((DEADLINE - start))
  if [ "$left" -lt 30 ]; then echo "[verify] $name: not started (deadline; a later 'finish' resumes it)"; return 0; fi
  [ "$left" -lt "$limit" ] && limit=$left
  timeout -k 10 "$limit" "$@" >"$LOGS/$name.log" 2>&1
  rc=$?
  case $rc in
    0) status=pass detail="" ;;
    77) status=skipped detail="$(grep -m1 -io 'no gpu[^"]*\|no cuda device[^"]*\|skip[^"]*' "$LOGS/$name.log" | head -c 200)" ;;
    124|137) status=timeout detail="killed after ${limit}s" ;;
    *) status=fail detail="exit status $rc" ;;
  esac
  [ "$status" = skipped ] && [ -z "$detail" ] && detail="no GPU"
  record "$name" "$status" "$(( $(date +%s) - start ))" "$detail" "${STAGE_JSON:-}"
}

skip_stage() { [ -f "$RES/$1.json" ] || record "$1" skipped 0 "$2"; }

KERNEL_TESTS="slogdet expm expm.global expm.blas slogdet.chunks"
SANITIZED="slogdet expm expm.global expm.blas"
skip_kernel_stages() {  # REASON WHICH: the stages not yet recorded of "tests" and/or "sanitize"
  local t tool
  case $2 in *tests*) for t in $KERNEL_TESTS; do skip_stage "kernels.$t" "$1"; done ;; esac
  case $2 in *sanitize*) for tool in memcheck racecheck synccheck; do
    for t in $SANITIZED; do skip_stage "sanitize.$tool.$t" "$1"; done; done ;; esac
}

# ---- TF-free stages ---------------------------------------------------------------------------
kernel_stages() {
  local src=$1 build=$DXV/kernels
  if ! have_gpu; then
    skip_stage kernels.build "no GPU"; skip_kernel_stages "no GPU" tests+sanitize
    return
  fi
  # The machine's own nvcc when it has one (the GPU machine: CUDA 13.0, the pinned pip release),
  # named explicitly so that no partial pip CUDA of its Python is taken for a toolchain.
  if [ -z "${CUDACXX:-}" ] && command -v nvcc >/dev/null; then export CUDACXX; CUDACXX=$(command -v nvcc); fi
  local carried="$DXV/devbuild/kernels"
  if [ -x "$carried/detexp_cuda_test" ] && [ -x "$carried/detexp_cuda_expm_test" ]; then
    build=$carried  # built by `pack` with the pip toolchain
    [ -f "$RES/kernels.build.json" ] || record kernels.build pass 0 "carried: $(cat "$carried/BUILT_WITH" 2>/dev/null)"
  else
    run_stage kernels.build "$(box 420)" bash -c "cmake -S '$src/cuda/tests' -B '$build' -DDETEXP_CUDA_ARCHS=$ARCH \
        -DCMAKE_BUILD_TYPE=Release && cmake --build '$build' -j$(nproc)"
  fi
  local st=$build/detexp_cuda_test et=$build/detexp_cuda_expm_test
  if [ ! -x "$st" ] || [ ! -x "$et" ]; then
    skip_kernel_stages "no test binary (kernels.build)" tests+sanitize
    return
  fi
  run_stage kernels.slogdet "$(box 180)" "$st"
  run_stage kernels.expm "$(box 240)" "$et"
  run_stage kernels.expm.global "$(box 240)" "$et" --global
  run_stage kernels.expm.blas "$(box 240)" "$et" --blas
  run_stage kernels.slogdet.chunks "$(box 180)" env DETEXP_GPU_WORKSPACE_BUDGET_MB=1 DETEXP_GPU_CHECK_INFO=1 "$st"
  if ! command -v compute-sanitizer >/dev/null; then
    skip_kernel_stages "compute-sanitizer not found" sanitize
    return
  fi
  # Each tool on the default modes first, then on the --global / --blas variants. A reported
  # hazard fails the stage even when the test's own checks pass (--error-exitcode).
  local tool mode args
  for mode in default variants; do
    for tool in memcheck racecheck synccheck; do
      args=(--tool "$tool" --error-exitcode 3); [ "$tool" = memcheck ] && args+=(--leak-check full)
      if [ $mode = default ]; then
        run_stage "sanitize.$tool.slogdet" "$(box 90)" compute-sanitizer "${args[@]}" "$st" --quick
        run_stage "sanitize.$tool.expm" "$(box 90)" compute-sanitizer "${args[@]}" "$et" --quick
      else
        run_stage "sanitize.$tool.expm.global" "$(box 90)" compute-sanitizer "${args[@]}" "$et" --quick --global
        run_stage "sanitize.$tool.expm.blas" "$(box 90)" compute-sanitizer "${args[@]}" "$et" --quick --blas
      fi
    done
  done
}

# ---- TF stages ---------------------------------------------------------------------------------
pkg_dir() {  # folder whose detexp/ has the op library of runtime mode $1
  local base="${DETEXP_VERIFY_PKG:-$DXV/devbuild}"
  [ -n "${DETEXP_VERIFY_PKG:-}" ] || [ -d "$base" ] || base="$ROOT/.devbuild"
  if [ -d "$base/$1/detexp" ]; then echo "$base/$1"; elif [ -d "$base/detexp" ]; then echo "$base"; fi
}

tf_checks() {  # smoke (each runtime mode), the GPU test suites, the XLA tests
  local src=$1 mode pkg
  if ! "$PY" -c "import tensorflow" >/dev/null 2>&1; then
    for s in smoke.static smoke.tf pytest.gpu; do skip_stage "$s" "TensorFlow not importable"; done
    return 1
  fi
  for mode in static tf; do
    pkg=$(pkg_dir $mode)
    if [ -z "$pkg" ] && [ $mode = tf ]; then skip_stage smoke.tf "no op library built in runtime mode tf (pack)"; continue; fi
    STAGE_JSON="$DXV/smoke.$mode.json" run_stage "smoke.$mode" "$(box 120)" \
      env PYTHONPATH="${pkg:+$pkg:}${PYTHONPATH:-}" "$PY" "$src/cuda/gpu_smoke.py" "$DXV/smoke.$mode.json"
  done
  pkg=$(pkg_dir static)
  PP="${pkg:+$pkg:}${PYTHONPATH:-}"
  if have_gpu; then
    # pytest exits 5 when it collects nothing: recorded as skipped.
    run_stage pytest.gpu "$(box 240)" bash -c "cd '$src' && PYTHONPATH='$PP' '$PY' -m pytest -q -p no:cacheprovider \
      tests/test_gpu_*.py; rc=\$?; [ \$rc = 5 ] && exit 77; exit \$rc"
  else
    skip_stage pytest.gpu "no GPU"
  fi
}

xla_stage() {  # tests/test_xla*.py (the XLA custom-call handlers' tests, CPU and GPU) when they exist
  local src=$1
  "$PY" -c "import tensorflow" >/dev/null 2>&1 || { skip_stage pytest.xla "TensorFlow not importable"; return; }
  run_stage pytest.xla "$(box 180)" bash -c "cd '$src' && { ls tests/test_xla*.py >/dev/null 2>&1 || { echo 'skip: no tests/test_xla*.py'; \
    exit 77; }; } && PYTHONPATH='$PP' '$PY' -m pytest -q -p no:cacheprovider tests/test_xla*.py; rc=\$?; [ \$rc = 5 ] && exit 77; exit \$rc"
}

background_running() { [ -f "$DXV/background.pid" ] && kill -0 "$(cat "$DXV/background.pid")" 2>/dev/null; }

bench_stage() {  # last, alone on the GPU
  [ -f "$RES/bench.json" ] && return
  if ! have_gpu; then skip_stage bench "no GPU"; return; fi
  if ! "$PY" -c "import tensorflow" >/dev/null 2>&1; then skip_stage bench "TensorFlow not importable"; return; fi
  local args=(); read -ra args <<<"${DETEXP_VERIFY_BENCH_ARGS:-}"
  STAGE_JSON="$DXV/bench.json" run_stage bench "$(box 300)" \
    env PYTHONPATH="$PP" "$PY" -m detexp.bench --only gpu --json "$DXV/bench.json" "${args[@]}"
}

# ---- report ------------------------------------------------------------------------------------
all_stages() {  # every stage, in the order of the report
  local t tool
  echo kernels.build
  for t in $KERNEL_TESTS; do echo "kernels.$t"; done
  for tool in memcheck racecheck synccheck; do for t in $SANITIZED; do echo "sanitize.$tool.$t"; done; done
  echo smoke.static smoke.tf pytest.gpu bench pytest.xla
}

report() {
  # shellcheck disable=SC2046  # one argument per stage name
  "$PY" - "$RES" "$OUT" "$ARCH" $(all_stages) <<'PY'
import glob, json, os, platform, subprocess, sys, time
res, out, arch = sys.argv[1:4]
expected = sys.argv[4:]

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:  # noqa: BLE001
        return f"({e})"

stages = {}
for p in sorted(glob.glob(os.path.join(res, "*.json"))):
    r = json.load(open(p))
    stages[r["stage"]] = r
for name in expected:
    stages.setdefault(name, {"stage": name, "status": "missing", "seconds": 0, "detail": "not reached (yet)"})
order = {n: i for i, n in enumerate(expected)}
stages = dict(sorted(stages.items(), key=lambda kv: order.get(kv[0], len(order))))
counts = {}
for r in stages.values():
    counts[r["status"]] = counts.get(r["status"], 0) + 1
machine = {"host": platform.node(), "time": time.strftime("%Y-%m-%d %H:%M:%S"),
           "gpu": sh("nvidia-smi --query-gpu=name,driver_version --format=csv,noheader"),
           "nvcc": sh("nvcc --version | tail -2 | head -1"), "arch": arch}
doc = {"machine": machine, "summary": counts, "stages": stages}
os.makedirs(out, exist_ok=True)
json.dump(doc, open(os.path.join(out, "verify.json"), "w"), indent=1)

def detail(r):
    d = r.get("detail", "")
    data = r.get("data") or {}
    if r["stage"].startswith("smoke.") and isinstance(data, dict) and data.get("cases"):
        bad = [f"{c['case']} n={c['n']} {c['dtype']}" for c in data.get("cases", []) if not c.get("ok")]
        libs = [os.path.basename(m) for m in data.get("mapped", [])]
        d = (d + "; " if d else "") + f"{len(data.get('cases', [])) - len(bad)}/{len(data.get('cases', []))} ok"
        d += (f", failing {bad[:4]}" if bad else "") + (f"; mapped {' '.join(libs)}" if libs else "")
    if r["stage"].startswith("pytest.") and "log_tail" in r:
        tail = [l for l in r["log_tail"].splitlines() if " passed" in l or " failed" in l or " error" in l]
        d = (d + "; " if d else "") + (tail[-1].strip("= ") if tail else "")
    return d

lines = [f"detexp GPU verification: {machine['gpu'] or 'no GPU'}; nvcc {machine['nvcc'] or '-'}; sm_{arch}",
         "summary: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), "",
         f"{'stage':<31} {'status':<8} {'s':>5}  detail"]
for r in stages.values():
    lines.append(f"{r['stage']:<31} {r['status']:<8} {r['seconds']:>5.0f}  {detail(r)}"[:240])
bench = (stages.get("bench") or {}).get("data") or {}
for op, sec in bench.items():
    if not isinstance(sec, dict) or "rows" not in sec:
        continue
    lines += ["", f"{op} float32 on {sec.get('device')}, ms; speedup = faster of tf/torch over detexp ({sec.get('torch')})",
              f"{'n x batch':>12} {'dx fwd':>8} {'tf':>8} {'torch':>8} {'x':>6} {'dx f+b':>8} {'tf':>8} {'torch':>8} {'x':>6}"]
    f = lambda v: "-" if v is None else f"{v:.3g}"
    for row in sec["rows"]:
        lines.append(f"{str(row['n']) + 'x' + str(row['batch']):>12} " + " ".join(
            f"{f(row[k]):>8}" if not k.startswith("speedup") else f"{f(row[k]):>6}"
            for k in ("dx_fwd", "tf_fwd", "torch_fwd", "speedup_fwd", "dx_fwd_bwd", "tf_fwd_bwd", "torch_fwd_bwd",
                      "speedup_fwd_bwd")))
open(os.path.join(out, "verify.txt"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
  tar czf "$OUT/logs.tgz" -C "$DXV" logs 2>/dev/null || true
}

# ---- here: the carried build -------------------------------------------------------------------
pack() {
  # The op library is ABI-bound to TF 2.21, not to Python: built here against this machine's TF and
  # loaded there by the Python 3.12 TF. The pybind11 module is bound to Python 3.12: built with it.
  # SASS only (no PTX): the GPU is known, and the carry limit is 64 MiB a call.
  local py312="" p
  for p in ${DETEXP_PY312:-} /root/.pyenv/versions/3.12*/bin/python3.12 "$(command -v python3.12)"; do
    # (a pyenv shim of an inactive version exists but does not run)
    if [ -z "$py312" ] && [ -x "$p" ] && "$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      py312=$p
    fi
  done
  [ -n "$py312" ] || { echo "pack: needs a Python 3.12 interpreter (DETEXP_PY312)" >&2; return 1; }
  local dest="$ROOT/.devbuild" stage mode b
  grep -qx '/.devbuild/' "$ROOT/.git/info/exclude" 2>/dev/null || echo '/.devbuild/' >>"$(git -C "$ROOT" rev-parse --git-path info/exclude)"
  stage=$(mktemp -d)
  for mode in static tf; do
    b="$ROOT/build-verify-$mode"
    mkdir -p "$b"
    cmake -S "$ROOT" -B "$b" -DPython_EXECUTABLE="$py312" -DDETEXP_TF_PYTHON="$(command -v python)" \
      -DDETEXP_CUDA=ON -DDETEXP_CUDA_ARCHS="$ARCH-real" -DDETEXP_CUDA_RUNTIME=$mode \
      -DDETEXP_CUDA_TESTS="$([ $mode = static ] && echo ON || echo OFF)" \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache \
      -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$b/lib" >"$b/configure.log" 2>&1 || { tail -30 "$b/configure.log"; return 1; }
    cmake --build "$b" -j"${DETEXP_JOBS:-2}" >"$b/build.log" 2>&1 || { tail -30 "$b/build.log"; return 1; }
    mkdir -p "$stage/$mode/detexp"
    if [ $mode = static ]; then
      cp -r "$ROOT/python/detexp" "$stage/static/"
      find "$stage/static" -name '__pycache__' -prune -exec rm -rf {} +
      rm -f "$stage"/static/detexp/*.so
      cp "$b"/lib/_detexp_*.so "$stage/static/detexp/"
      mkdir -p "$stage/kernels" && cp "$b"/detexp_cuda_test "$b"/detexp_cuda_expm_test "$stage/kernels/"
      grep -h "detexp CUDA" "$b/configure.log" >"$stage/kernels/BUILT_WITH"
    else
      cp "$b"/lib/_detexp_ops.so "$stage/tf/detexp/"  # `start` puts it into a copy of static/detexp
    fi
  done
  strip --strip-unneeded "$stage"/*/detexp/*.so
  rm -rf "$dest" && mkdir -p "$dest"
  tar czf "$dest/pack.tgz" -C "$stage" . && rm -rf "$stage"
  ls -la "$dest/pack.tgz"
}

unpack() {  # $ROOT/.devbuild/pack.tgz -> $DXV/devbuild/{static,tf}/detexp, kernels/
  [ -f "$ROOT/.devbuild/pack.tgz" ] || return 0
  rm -rf "$DXV/devbuild" && mkdir -p "$DXV/devbuild" && tar xzf "$ROOT/.devbuild/pack.tgz" -C "$DXV/devbuild"
  local tf_ops="$DXV/devbuild/tf/detexp/_detexp_ops.so"
  if [ -f "$tf_ops" ]; then
    mv "$tf_ops" "$DXV/devbuild/tf_ops.so" && rm -rf "$DXV/devbuild/tf/detexp"
    cp -r "$DXV/devbuild/static/detexp" "$DXV/devbuild/tf/" && mv "$DXV/devbuild/tf_ops.so" "$tf_ops"
  fi
}

# ---- entry points ------------------------------------------------------------------------------
PP="${PYTHONPATH:-}"
cmd=${1:-status}
case $cmd in
  pack) pack ;;
  start)
    # Copies of the sources and of the carried build: later calls replace the working tree.
    rm -rf "$DXV/src" && mkdir -p "$DXV/src" && cp -r "$ROOT"/{cmake,cuda,cc,third_party} "$DXV/src/"
    unpack
    setsid nohup bash "$DXV/src/cuda/verify_gpu.sh" background >"$LOGS/background.log" 2>&1 < /dev/null &
    echo $! >"$DXV/background.pid"
    echo "[verify] background kernel stages started (pid $(cat "$DXV/background.pid")); log $LOGS/background.log" ;;
  background) DEADLINE=$((T0 + 3600)); kernel_stages "$ROOT"; rm -f "$DXV/background.pid" ;;
  finish)
    tf_checks "$ROOT"
    # The kernel stages: wait for the background job (bench must have the GPU alone), or run what
    # it did not record (no `start`, or the machine was restarted).
    while background_running && [ "$(date +%s)" -lt $((DEADLINE - 200)) ]; do sleep 5; done
    background_running || kernel_stages "$( [ -d "$DXV/src/cuda" ] && echo "$DXV/src" || echo "$ROOT")"
    background_running || bench_stage
    xla_stage "$ROOT"
    report ;;
  all) kernel_stages "$ROOT"; tf_checks "$ROOT"; bench_stage; xla_stage "$ROOT"; report ;;
  dry-run)
    if have_gpu; then echo "dry-run: a GPU is present; use 'all'" >&2; exit 2; fi
    export DETEXP_VERIFY_FAST=1
    kernel_stages "$ROOT"; tf_checks "$ROOT"; bench_stage; xla_stage "$ROOT"; report ;;
  status) ls "$RES" 2>/dev/null; background_running && echo "background running: $(tail -1 "$LOGS/background.log")" ;;
  *) echo "usage: $0 pack|start|finish|all|dry-run|status" >&2; exit 2 ;;
esac

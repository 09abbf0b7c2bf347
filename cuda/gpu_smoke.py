"""First GPU check of cuda/verify_gpu.sh: every detexp op launched on /GPU:0 through TensorFlow,
compared with the same op on /CPU:0, then the CUDA runtime / cuBLAS / cuSOLVER files this process
mapped (/proc/self/maps) and the file detexp's loader chose (DETEXP_GPU_VERBOSE). Writes one JSON
object to the path given (or stdout); exit status 0 when every comparison holds, 1 otherwise,
77 without a GPU.

    python cuda/gpu_smoke.py [OUT.json]

Covers each kernel family once: the register (n <= 8) and warp (n <= 32) slogdet kernels, the
cuBLAS/cuSOLVER paths beyond (n = 48: getrf, trsm), the adjugate (gesvdj), the fused expm kernels,
the cuBLAS expm path (n = 64) and the backward of each, in float32 and complex128. Imports
detexp before anything else that could bring a CUDA runtime (no torch here).
"""
import json
import os
import re
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("DETEXP_GPU_VERBOSE", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import detexp as dx  # noqa: E402

LIBS = re.compile(r"lib(cudart|cublas|cublasLt|cusolver|cuda|nvJitLink|tensorflow_framework)[^/]*\.so[.0-9]*$|_detexp_ops[^/]*\.so$")


def mapped_libraries():
    seen = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            path = parts[5].strip() if len(parts) == 6 else ""
            if LIBS.search(path) and path not in seen:
                seen.append(path)
    return seen


def _grad(fn):
    def g(a):
        with tf.GradientTape() as tape:
            tape.watch(a)
            y = tf.reduce_sum(tf.math.real(fn(a)) if a.dtype.is_complex else fn(a))
        return tape.gradient(y, a)
    return g


CASES = {  # name: (function of a tensor, sizes)
    "slogdet.logabsdet": (lambda a: dx.slogdet(a)[1], (0, 3, 8, 20, 32, 48)),
    "slogdet.sign": (lambda a: dx.slogdet(a)[0], (3, 20, 48)),
    "logabsdet.grad": (_grad(dx.logabsdet), (3, 20, 48)),
    "inverse": (dx.inverse, (3, 20, 48)),
    "det.grad(adjugate)": (_grad(dx.det), (3, 20, 40)),
    "expm": (dx.expm, (2, 5, 16, 33, 64)),
    "expm.grad": (_grad(dx.expm), (5, 33, 64)),
    "expm_frechet.L": (lambda a: dx.expm_frechet(a, tf.ones_like(a))[1], (5, 33)),
}


def run_case(name, fn, n, dtype, rng):
    a = rng.standard_normal((3, n, n))
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal((3, n, n))
    a = (a / max(np.sqrt(n), 1.0)).astype(dtype)
    if n >= 2 and name.startswith("det."):
        a[1][:, 1] = a[1][:, 0]  # a singular matrix: the adjugate stays exact
    with tf.device("/CPU:0"):
        ref = fn(tf.constant(a)).numpy()
    with tf.device("/GPU:0"):
        x = tf.constant(a)
        out = fn(x)
    placed = "GPU" in out.device
    got = out.numpy()
    scale = max(np.abs(ref).max(), 1e-30) if ref.size else 1.0
    err = float(np.nanmax(np.abs(got - ref)) / scale) if ref.size else 0.0
    tol = (2e-3 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-9) * max(n, 1)
    ok = placed and got.shape == ref.shape and (err <= tol or (np.isnan(err) and np.isnan(got).sum() == np.isnan(ref).sum()))
    return {"case": name, "n": n, "dtype": np.dtype(dtype).name, "ok": bool(ok), "on_gpu": placed, "rel_err": err, "tol": tol}


def main(out_path=None):
    result = {"tf": tf.__version__, "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
              "build": tf.sysconfig.get_build_info().get("cuda_version"), "cases": [], "errors": []}
    if not result["gpus"]:
        result["skipped"] = "no GPU visible to TensorFlow"
        code = 77
    else:
        rng = np.random.default_rng(0)
        for name, (fn, sizes) in CASES.items():
            for dtype in (np.float32, np.complex128):
                for n in sizes:
                    try:
                        result["cases"].append(run_case(name, fn, n, dtype, rng))
                    except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the rest
                        result["cases"].append({"case": name, "n": n, "dtype": np.dtype(dtype).name, "ok": False,
                                                "error": f"{type(e).__name__}: {e}"[:2000]})
                        result["errors"].append(traceback.format_exc(limit=3)[-2000:])
        code = 0 if all(c["ok"] for c in result["cases"]) else 1
    result["mapped"] = mapped_libraries()
    result["ok"] = code == 0
    text = json.dumps(result, indent=1)
    if out_path:
        with open(out_path, "w") as f:
            f.write(text)
    if "skipped" in result:
        print(f"gpu_smoke: skipped: {result['skipped']}")
    bad = [c for c in result["cases"] if not c["ok"]]
    print(f"gpu_smoke: {len(result['cases']) - len(bad)} of {len(result['cases'])} cases ok"
          + (f"; failing: {[(c['case'], c['n'], c['dtype']) for c in bad]}" if bad else ""))
    print("mapped:\n  " + "\n  ".join(result["mapped"]))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))

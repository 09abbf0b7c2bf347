"""The GPU sections of python -m detexp.bench, checked without a GPU: they skip with a reason (what
cuda/verify_gpu.sh's dry run records), the torch child process reports itself, and with the GPU
lookup faked the section runs end to end on the CPU (soft placement) and returns its rows."""
import json
import subprocess
import sys

import numpy as np
import tensorflow as tf

from detexp.bench import _gpu
from detexp.bench._gpu_inputs import inputs


def test_inputs():
    a = inputs("slogdet", 5, 3)
    assert a.shape == (3, 5, 5) and a.dtype == np.float32
    assert np.all(np.linalg.slogdet(a)[0] == 1)          # + n I: well conditioned, det > 0
    e = inputs("expm", 16, 4)
    assert 1 < np.abs(e).sum(axis=1).max(axis=1).mean() < 10   # 1-norm of a few units


def test_sections_skip_without_gpu(tmp_path):
    if tf.config.list_physical_devices("GPU"):
        return  # the real run is cuda/verify_gpu.sh's
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, "-m", "detexp.bench", "--only", "gpu", "--json", str(out)],
                       capture_output=True, text=True, check=True)
    assert "gpu_slogdet: no GPU" in r.stdout and "gpu_expm: no GPU" in r.stdout
    assert "gpu_expm_multiply: no GPU" in r.stdout
    data = json.loads(out.read_text())
    skipped = {"skipped": "no GPU visible to TensorFlow"}
    assert data == {"gpu_slogdet": skipped, "gpu_expm": skipped, "gpu_expm_multiply": skipped}


def test_torch_worker_reports_itself():
    worker = _gpu.Path(_gpu.__file__).with_name("_torch_gpu.py")
    r = subprocess.run([sys.executable, str(worker), "expm", json.dumps([[4, 8]]), "0.01"],
                       capture_output=True, text=True, check=True)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert "skipped" in res or ("times" in res and res["times"][0][0] == [4, 8])
    r = subprocess.run([sys.executable, str(worker), "expm_multiply", json.dumps([[4, 2, 3]]), "0.01"],
                       capture_output=True, text=True, check=True)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert "skipped" in res or ("times" in res and res["times"][0][0] == [4, 2, 3])


def test_section_rows_with_faked_gpu(monkeypatch, capsys):
    monkeypatch.setattr(_gpu, "_gpu_name", lambda: "fake GPU (CPU placement)")
    monkeypatch.setattr(_gpu, "QUICK_SHAPES", ((3, 4), (9, 2)))
    res = _gpu.run_op("expm", quick=True, min_time=0.01)
    assert res["device"] == "fake GPU (CPU placement)"
    assert [(r["n"], r["batch"]) for r in res["rows"]] == [(3, 4), (9, 2)]
    for r in res["rows"]:
        for mode in ("fwd", "fwd_bwd"):
            assert r[f"dx_{mode}"] > 0 and r[f"tf_{mode}"] > 0
            expected = np.nanmin([r[f"tf_{mode}"], r[f"torch_{mode}"]]) / r[f"dx_{mode}"]
            assert np.isclose(r[f"speedup_{mode}"], expected)
    assert "expm float32 on fake GPU" in capsys.readouterr().out


def test_expm_multiply_section_rows_with_faked_gpu(monkeypatch, capsys):
    from detexp.bench import gpu_expm_multiply

    monkeypatch.setattr(_gpu, "_gpu_name", lambda: "fake GPU (CPU placement)")
    monkeypatch.setattr(gpu_expm_multiply, "QUICK_SHAPES", ((3, 4, 2), (70, 1, 1)))
    res = gpu_expm_multiply.run(quick=True, min_time=0.01)
    assert [(r["n"], r["batch"], r["k"]) for r in res["rows"]] == [(3, 4, 2), (70, 1, 1)]
    for r in res["rows"]:
        for mode in ("fwd", "fwd_bwd"):
            assert r[f"dx_{mode}"] > 0 and r[f"dx_dense_{mode}"] > 0 and r[f"tf_{mode}"] > 0
            assert np.isclose(r[f"vs_dense_{mode}"], r[f"dx_dense_{mode}"] / r[f"dx_{mode}"])
    assert "expm_multiply float32 on fake GPU" in capsys.readouterr().out

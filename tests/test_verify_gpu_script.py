"""cuda/verify_gpu.sh's dry run on this machine (no GPU): every stage ends in the report, the GPU ones
as "skipped", and the JSON and the table have the shape the GPU run's will have. The XLA stage is
pre-recorded (the resume path: a recorded stage is not run again), so that this test does not run
tests/test_xla*.py a second time."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "cuda" / "verify_gpu.sh"


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    if tf.config.list_physical_devices("GPU") or shutil.which("nvidia-smi") and subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True).returncode == 0:
        pytest.skip("a GPU is present: the script's real run is `cuda/verify_gpu.sh all`")
    dxv = tmp_path_factory.mktemp("dxv")
    (dxv / "results").mkdir()
    (dxv / "results" / "pytest.xla.json").write_text(json.dumps(
        {"stage": "pytest.xla", "status": "skipped", "seconds": 0, "detail": "recorded by the test"}))
    env = {**os.environ, "DXV": str(dxv), "OUT": str(dxv / "out"), "DETEXP_VERIFY_PKG": str(dxv / "none")}
    r = subprocess.run(["bash", str(SCRIPT), "dry-run"], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return dxv / "out", r.stdout


def test_json_lists_every_stage(dry_run):
    out, _ = dry_run
    doc = json.loads((out / "verify.json").read_text())
    stages = doc["stages"]
    expected = {"kernels.build", "kernels.slogdet", "kernels.slogdet.chunks", "kernels.expm", "kernels.expm.global",
                "kernels.expm.blas", "smoke.static", "smoke.tf", "pytest.gpu", "bench", "pytest.xla"}
    expected |= {f"sanitize.{t}.{m}" for t in ("memcheck", "racecheck", "synccheck")
                 for m in ("slogdet", "expm", "expm.global", "expm.blas")}
    assert set(stages) == expected
    for name, r in stages.items():
        assert r["status"] in {"pass", "fail", "timeout", "skipped", "missing"}, (name, r)
        assert isinstance(r["seconds"], (int, float))
    for name in expected - {"pytest.xla"}:
        assert stages[name]["status"] == "skipped", (name, stages[name])
    assert stages["kernels.expm"]["detail"] == "no GPU"
    assert "no GPU" in stages["smoke.static"]["detail"]          # gpu_smoke.py ran and exited 77
    assert stages["smoke.static"]["data"]["skipped"] == "no GPU visible to TensorFlow"
    assert stages["pytest.xla"]["detail"] == "recorded by the test"
    assert sum(doc["summary"].values()) == len(expected)
    assert doc["machine"]["arch"] == "90"


def test_table_has_a_row_per_stage(dry_run):
    out, stdout = dry_run
    text = (out / "verify.txt").read_text()
    assert text.startswith("detexp GPU verification: no GPU")
    rows = [line.split()[0] for line in text.splitlines()[4:] if line.strip()]
    assert len(rows) == 23 and rows[0] == "kernels.build" and rows[-1] == "pytest.xla"
    assert (out / "logs.tgz").exists()
    assert "[verify] smoke.static: skipped" in stdout

"""NumPy's and SciPy's own tests of det/slogdet, expm and expm_frechet (the files installed with
them), run with detexp swapped in by tests/peer_swap_plugin.py, in a subprocess. Deselected:
only the cases where detexp differs on purpose (README, "dx.numpy as a drop-in")."""
import os
import subprocess
import sys

import numpy
import pytest
import scipy

import detexp

TESTS = os.path.dirname(os.path.abspath(__file__))


def _installed(package, *parts):
    path = os.path.join(os.path.dirname(package.__file__), *parts)
    if not os.path.exists(path):
        pytest.skip(f"{path} is not installed")
    return path


def _run_with_detexp(path, selection, deselect=()):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([TESTS, os.path.dirname(os.path.dirname(detexp.__file__)),
                                         env.get("PYTHONPATH", "")])
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "peer_swap_plugin",
            "-k", selection, path] + [f"--deselect={path}::{d}" for d in deselect]
    r = subprocess.run(args, env=env, cwd=TESTS, capture_output=True, text=True, timeout=900)
    tail = "\n".join((r.stdout + r.stderr).splitlines()[-25:])
    assert r.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail, tail


def test_numpy_det_and_slogdet_tests():
    # Deliberate: NumPy computes det/slogdet of float32 and complex64 in float64 and rounds the
    # result; dx.numpy stays in the input's precision, as the TF ops do (the same bits). On
    # csingle_tile3 (3 [[1+2j, 2+3j], [3+4j, 4+5j]], det -36j) complex64 elimination rounds u_22 by an
    # ulp: real part 8.6e-6 against NumPy's 6-decimal bound (1.5e-6).
    _run_with_detexp(_installed(numpy, "linalg", "tests", "test_linalg.py"),
                     "TestDet and not test_generalized_sq_cases")


def test_scipy_expm_and_expm_frechet_tests():
    _run_with_detexp(_installed(scipy, "linalg", "tests", "test_matfuncs.py"), "TestExpM or TestExpmFrechet")

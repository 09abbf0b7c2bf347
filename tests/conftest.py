import importlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import tensorflow as tf

import detexp  # noqa: F401  (loads the op library once for the whole session)

REAL_DTYPES = [np.float32, np.float64]
COMPLEX_DTYPES = [np.complex64, np.complex128]
ALL_DTYPES = REAL_DTYPES + COMPLEX_DTYPES


def tol(dtype):
    """Relative tolerance for results of well-conditioned problems in the given precision."""
    return 2e-4 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-11


def rel1(x, ref):
    """1-norm relative error of x against ref, with x promoted to at least float64 (complex kept)."""
    x = np.asarray(x)
    x = x.astype(np.result_type(x.dtype, ref.dtype, np.float64))
    return np.linalg.norm(x - ref, 1) / np.linalg.norm(ref, 1)


def random_matrices(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if np.issubdtype(np.dtype(dtype), np.complexfloating):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


NATIVE = os.path.join(os.path.dirname(__file__), "native")


def native_hooks():
    """The test-only module _detexp_testing (cc/testing/: the GPU's per-matrix code run on the CPU),
    which CMake builds into tests/native/ and never installs."""
    if NATIVE not in sys.path:
        sys.path.insert(0, NATIVE)
    try:
        return importlib.import_module("_detexp_testing")
    except ImportError as e:
        raise ImportError(f"the test hooks are built by CMake into {NATIVE} (README's install command, or "
                          "`cmake --build build --target _detexp_testing`)") from e


@pytest.fixture(autouse=True)
def _eager():
    tf.config.run_functions_eagerly(False)
    yield

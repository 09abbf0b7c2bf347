"""pytest plugin (-p peer_swap_plugin) for tests/test_peer_suites.py: runs NumPy's and SciPy's own
test files with detexp swapped in, as a user would. numpy.linalg.det/slogdet become
detexp.numpy's (NumPy's tests compute their references with other functions, eigvals); the names
`expm`, `expm_frechet` that SciPy's test module imported become detexp.numpy's (its references
call scipy.linalg.expm through the module, which stays SciPy's)."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy.linalg  # noqa: E402

import detexp  # noqa: E402

numpy.linalg.det = detexp.numpy.det
numpy.linalg.slogdet = detexp.numpy.slogdet


def pytest_collection_finish(session):
    for item in session.items:
        module = getattr(item, "module", None)
        if module is not None and module.__name__.startswith("scipy.linalg.tests"):
            for name in ("expm", "expm_frechet"):
                if hasattr(module, name):
                    setattr(module, name, getattr(detexp.numpy, name))

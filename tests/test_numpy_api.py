"""dx.numpy: the pybind11 path over cc/core, against numpy.linalg."""
import os
import threading

import numpy as np
import pytest

import detexp as dx
from conftest import ALL_DTYPES, random_matrices, tol


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n", [0, 1, 3, 8, 13, 40])
def test_slogdet_matches_numpy(dtype, n):
    a = random_matrices((2, 3, n, n), dtype, seed=n)
    sign, lad = dx.numpy.slogdet(a)
    ref_s, ref_l = np.linalg.slogdet(a.astype(np.complex128 if np.iscomplexobj(a) else np.float64))
    assert sign.dtype == dtype and sign.shape == (2, 3)
    np.testing.assert_allclose(lad, ref_l, rtol=tol(dtype) * max(n, 1), atol=tol(dtype) * max(n, 1))
    np.testing.assert_allclose(sign, ref_s, rtol=tol(dtype) * max(n, 1), atol=tol(dtype) * max(n, 1))
    np.testing.assert_allclose(dx.numpy.det(a), ref_s * np.exp(ref_l), rtol=tol(dtype) * 10 * max(n, 1))


def test_logdet_edge_cases():
    a = np.stack([np.eye(3) * 2, -np.eye(3), np.zeros((3, 3))])
    out = dx.numpy.logdet(a)
    assert out[0] == pytest.approx(3 * np.log(2))
    assert np.isnan(out[1]) and out[2] == -np.inf


def test_integer_and_half_inputs():
    sign, lad = dx.numpy.slogdet(np.array([[2, 0], [0, 3]]))
    assert lad.dtype == np.float64 and lad == pytest.approx(np.log(6))
    sign, lad = dx.numpy.slogdet(np.eye(3, dtype=np.float16) * 2)
    assert lad.dtype == np.float16 and float(lad) == pytest.approx(3 * np.log(2), rel=1e-3)


def test_non_contiguous_input():
    a = random_matrices((4, 6, 6), np.float64, seed=3)
    view = a[:, ::2, ::2]
    np.testing.assert_allclose(dx.numpy.slogdet(view)[1], np.linalg.slogdet(view)[1], rtol=1e-12)


def test_large_batch_uses_threads_and_matches():
    a = random_matrices((20000, 4, 4), np.float64, seed=4)
    np.testing.assert_allclose(dx.numpy.slogdet(a)[1], np.linalg.slogdet(a)[1], rtol=1e-12, atol=1e-14)


def test_gil_is_released_for_concurrent_callers():
    a = random_matrices((2000, 16, 16), np.float64, seed=5)
    results = [None] * 4

    def work(i):
        results[i] = dx.numpy.slogdet(a)[1]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, results[0])


@pytest.mark.skipif(os.environ.get("DETEXP_BIG_TESTS") != "1",
                    reason="needs ~13 GB of memory; set DETEXP_BIG_TESTS=1")
def test_batch_over_2_pow_31_elements_indexes_correctly():
    # 2^29 + 4 matrices of 2x2 float32: 2^31 + 16 elements, so 32-bit offsets would wrap.
    batch = 2**29 + 4
    a = np.zeros((batch, 2, 2), np.float32)
    a[:, 0, 0] = 1.0
    a[:, 1, 1] = 1.0
    a[-1] = [[3.0, 0.0], [0.0, 5.0]]
    a[-2] = [[0.0, 2.0], [7.0, 0.0]]
    sign, lad = dx.numpy.slogdet(a)
    del a
    assert lad[-1] == pytest.approx(np.log(15.0)) and sign[-1] == 1
    assert lad[-2] == pytest.approx(np.log(14.0)) and sign[-2] == -1
    assert np.all(lad[:-2] == 0) and np.all(sign[:-2] == 1)

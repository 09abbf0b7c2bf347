"""dx.numpy: the pybind11 path over cc/core, against numpy.linalg."""
import os
import re
import threading

import numpy as np
import pytest
import scipy.linalg as sla

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


# ---- drop-in behaviour: what numpy.linalg / scipy.linalg users and their tests expect ----------

def test_slogdet_result_and_scalars_like_numpy():
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    res = dx.numpy.slogdet(a)
    ref = np.linalg.slogdet(a)
    assert type(res) is type(ref) and res._fields == ("sign", "logabsdet")
    assert type(res.sign) is np.float64 and type(res.logabsdet) is np.float64
    assert res.logabsdet == pytest.approx(ref.logabsdet) and res.sign == ref.sign
    assert type(dx.numpy.det(a)) is np.float64 and type(dx.numpy.logdet(a)) is np.float64
    c = dx.numpy.slogdet(a.astype(np.complex64))
    assert type(c.sign) is np.complex64 and type(c.logabsdet) is np.float32
    batch = dx.numpy.slogdet(np.stack([a, a]))
    assert batch.sign.shape == (2,) and isinstance(batch.logabsdet, np.ndarray)
    assert dx.numpy.det(np.zeros((0, 0), np.complex64)).dtype == np.complex64


@pytest.mark.parametrize("order", [">f8", ">f4", "<f8", ">c16", ">i4", "bool", "int8", "uint16"])
def test_byte_orders_and_integer_types_like_numpy(order):
    a = (np.array([[4, 1, 0], [1, 3, 1], [0, 2, 5]]) * (1 if order != "bool" else 0) + np.eye(3, dtype=int))
    a = a.astype(order)
    got, ref = dx.numpy.slogdet(a), np.linalg.slogdet(a)
    assert got.sign.dtype == ref.sign.dtype and got.logabsdet.dtype == ref.logabsdet.dtype
    np.testing.assert_allclose(got.logabsdet, ref.logabsdet, rtol=1e-6)
    np.testing.assert_allclose(dx.numpy.det(a), np.linalg.det(a), rtol=1e-6)
    np.testing.assert_allclose(dx.numpy.expm(0.1 * a if order != "bool" else a), sla.expm(0.1 * a if order != "bool" else a),
                               rtol=1e-5)


def test_strides_and_memory_order():
    base = random_matrices((3, 8, 8), np.float64, seed=8) + 3 * np.eye(8)
    for view in (base[:, ::2, ::2], np.asfortranarray(base), base.transpose(0, 2, 1), base[::-1]):
        np.testing.assert_allclose(dx.numpy.slogdet(view).logabsdet, np.linalg.slogdet(view).logabsdet, rtol=1e-12)
        np.testing.assert_allclose(dx.numpy.expm(0.1 * view), sla.expm(0.1 * view), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (4, 2, 3)])
def test_bad_shapes_name_the_shape(shape):
    a = np.ones(shape)
    for fn in (dx.numpy.slogdet, dx.numpy.det, dx.numpy.logdet, dx.numpy.adjugate):
        with pytest.raises(np.linalg.LinAlgError, match=re.escape(f"got shape {shape}")):
            fn(a)
    if shape != ():  # expm, like SciPy's, reads a scalar as a 1x1 matrix
        with pytest.raises(ValueError, match=re.escape(f"got shape {shape}")):
            dx.numpy.expm(a)
    with pytest.raises(TypeError, match="unsupported"):
        dx.numpy.slogdet(np.ones((2, 2), dtype=np.longdouble))


def test_expm_like_scipy():
    assert dx.numpy.expm(1.0).shape == (1, 1) and dx.numpy.expm(1.0)[0, 0] == pytest.approx(np.e)
    for dt in (int, float, np.float32, complex, np.complex64, np.float16):
        for shape in ((0, 0), (1, 1), (3, 2, 2)):
            got, ref = dx.numpy.expm(np.zeros(shape, dtype=dt)), sla.expm(np.zeros(shape, dtype=dt))
            assert got.shape == ref.shape
            if dt is not np.float16 or shape != (1, 1):  # SciPy keeps float16 only for 1x1 (np.exp)
                assert got.dtype == ref.dtype, (dt, shape)


def test_expm_frechet_like_scipy_methods_broadcasting_and_checks():
    rng = np.random.default_rng(11)
    a, e = rng.standard_normal((2, 1, 4, 4)) * 0.5, rng.standard_normal((3, 4, 4))
    for method in (None, "SPS", "blockEnlarge"):
        r, l = dx.numpy.expm_frechet(a, e, method=method)
        assert r.shape == l.shape == (2, 3, 4, 4)
        for i in range(2):
            for j in range(3):
                rr, ll = sla.expm_frechet(a[i, 0], e[j])
                np.testing.assert_allclose(r[i, j], rr, rtol=1e-12, atol=1e-13)
                np.testing.assert_allclose(l[i, j], ll, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(dx.numpy.expm_frechet(a[0, 0], e[0], compute_expm=False),
                               sla.expm_frechet(a[0, 0], e[0], compute_expm=False), rtol=1e-11)
    with pytest.raises(ValueError, match="Unknown implementation"):
        dx.numpy.expm_frechet(a[0, 0], e[0], method="magic")
    with pytest.raises(ValueError, match="infs or NaNs"):
        dx.numpy.expm_frechet(np.full((2, 2), np.inf), np.eye(2))
    assert np.isnan(dx.numpy.expm_frechet(np.full((2, 2), np.inf), np.eye(2), check_finite=False)[1]).all()
    with pytest.raises(ValueError, match="square"):
        dx.numpy.expm_frechet(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="same shape"):
        dx.numpy.expm_frechet(np.ones((3, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError):  # batch shapes that do not broadcast
        dx.numpy.expm_frechet(np.ones((2, 3, 3)), np.ones((4, 3, 3)))
    assert dx.numpy.expm_frechet(np.eye(2, dtype=int), np.eye(2, dtype=bool))[0].dtype == np.float64

"""The host-driven path of expm_multiply (cc/core/expm_multiply_device.h: what the GPU runs with
cuBLAS for n > 64), over the test module's CPU device: column-major xGEMM with BLAS's arguments,
the block functors by loops, the dense route by the team exponential.

With the CPU's dense ratio (plan "cpu") it must choose the CPU op's (m, s) per matrix (block norm
estimates included, n > 64) and agree with its forward and gradients within rounding; with the
cuBLAS path's own ratio (plan "gpu") it is checked against SciPy's expm(t a) @ b."""
import numpy as np
import pytest
import scipy.linalg as sla

from conftest import ALL_DTYPES, native_hooks
from test_expm_multiply_team import EPS, _case, _close, _cpu

hooks = native_hooks()


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n,k,scale", [(1, 1, 1.0), (3, 2, 1.0), (10, 1, 3.0), (65, 2, 2.0), (100, 1, 5.0),
                                       (130, 3, 0.3), (70, 1, 40.0)])
def test_device_path_matches_the_cpu_driver(dtype, n, k, scale):
    a, b, t, g = _case(dtype, 3, n, k, scale, seed=n * 5 + k)
    f, choice, (ga, gb, gt) = _cpu(a, b, t, g)
    df, dchoice, reads = hooks.device_expm_multiply(a, b, t)
    np.testing.assert_array_equal(dchoice, choice)
    factor = 64 * n * max(1.0, scale)
    _close(df, f, dtype, factor)
    dga, dgb, dgt = hooks.device_expm_multiply_grad(a, b, t, g, dchoice)
    _close(dga, ga, dtype, factor)
    _close(dgb, gb, dtype, factor)
    _close(dgt[:, None], gt[:, None], dtype, factor * n)
    # Selecting again in the backward gives the same bits as replaying the forward's codes.
    again = hooks.device_expm_multiply_grad(a, b, t, g, np.full_like(dchoice, -1))
    for x, y in zip(again, (dga, dgb, dgt)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n,k,scale", [(65, 1, 0.05), (80, 2, 1.0), (96, 4, 10.0)])
def test_device_gpu_plan_against_scipy(dtype, n, k, scale):
    a, b, t, g = _case(dtype, 2, n, k, scale, seed=3 * n + k)
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    f, choice, _ = hooks.device_expm_multiply(a, b, t, plan="gpu")
    for i in range(a.shape[0]):
        ref = sla.expm(t[i].astype(wide) * a[i].astype(wide)) @ b[i].astype(wide)
        _close(f[i:i + 1], ref[None], dtype, 64 * n * max(1.0, scale))
    cf, cchoice, cgrads = _cpu(a, b, t, g)
    grads = hooks.device_expm_multiply_grad(a, b, t, g, choice, plan="gpu")
    for x, ref in zip(grads, cgrads):
        _close(x, ref, dtype, 64 * n * n * max(1.0, scale))


@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_device_edge_cases(dtype):
    n, k = 66, 2
    a, b, t, g = _case(dtype, 5, n, k, 1.0, seed=9)
    a[0, 2, 3] = np.nan
    a[1, 0, 0] = -np.inf
    t[2] = 0
    a[3] = 0
    b[4, :, 1] = np.nan
    f, choice, _ = hooks.device_expm_multiply(a, b, t)
    assert np.isnan(f[:2]).all() and (choice[:2] == -1).all()
    np.testing.assert_array_equal(f[2], b[2])
    np.testing.assert_array_equal(f[3], b[3])
    assert np.isnan(f[4, :, 1]).all() and np.isfinite(f[4, :, 0]).all()
    cf, cchoice, (cga, cgb, cgt) = _cpu(a, b, t, g)
    np.testing.assert_array_equal(choice, cchoice)
    ga, gb, gt = hooks.device_expm_multiply_grad(a, b, t, g, choice)
    assert np.isnan(ga[:2]).all() and np.isnan(gb[:2]).all() and np.isnan(gt[:2]).all()
    _close(ga[2:4], cga[2:4], dtype, 256)
    _close(gb[2:4], cgb[2:4], dtype, 256)


def test_device_backward_ignores_codes_beyond_its_workspace():
    """A code from another device's forward (the CPU's, s = 100) needs more checkpoints than the
    cuBLAS path's workspace holds at n = 65, k = 1: the backward selects again instead."""
    a, b, t, g = _case(np.float64, 1, 65, 1, 1.0, seed=2)
    ref = hooks.device_expm_multiply_grad(a, b, t, g, np.array([-1], dtype=np.int32), plan="gpu")
    got = hooks.device_expm_multiply_grad(a, b, t, g, np.array([20 + 64 * 100], dtype=np.int32), plan="gpu")
    for x, y in zip(got, ref):
        np.testing.assert_array_equal(x, y)

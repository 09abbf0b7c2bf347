"""The team backend of expm_multiply (cc/core/expm_multiply_team.h: what the GPU's fused kernels run
for n <= 64), on one CPU thread and on teams of OS threads with the GPU teams' work split.

With the CPU's dense ratio (plan "cpu") the team must choose the same (m, s) per matrix as the CPU
op and agree with its forward and gradients within rounding; with the GPU teams' own ratio (plan
"gpu") it is checked against SciPy's expm(t a) @ b and the CPU op's gradients wherever both take the
same route. Edge cases: NaN/Inf, t = 0, A = 0, nilpotent and triangular input, the dense route."""
import numpy as np
import pytest
import scipy.linalg as sla

import detexp as dx
from conftest import ALL_DTYPES, native_hooks

hooks = native_hooks()
_ops = dx._expm_multiply._ops
EPS = {np.float32: 2.0 ** -24, np.complex64: 2.0 ** -24, np.float64: 2.0 ** -53, np.complex128: 2.0 ** -53}
THREADS = [1, 4, 32]


def _case(dtype, batch, n, k, scale, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((batch, n, n)) * scale / np.sqrt(max(n, 1))
    b = rng.standard_normal((batch, n, k))
    g = rng.standard_normal((batch, n, k))
    if np.issubdtype(np.dtype(dtype), np.complexfloating):
        a = a + 1j * rng.standard_normal((batch, n, n)) * scale / np.sqrt(max(n, 1))
        b = b + 1j * rng.standard_normal((batch, n, k))
        g = g + 1j * rng.standard_normal((batch, n, k))
    t = np.linspace(-1.3, 1.1, batch)
    return a.astype(dtype), b.astype(dtype), t.astype(dtype), g.astype(dtype)


def _cpu(a, b, t, g):
    f, choice = _ops.detexp_expm_multiply(a, b, t)
    grads = _ops.detexp_expm_multiply_grad(a, b, t, g, choice)
    return f.numpy(), choice.numpy(), [x.numpy() for x in grads]


def _close(x, ref, dtype, factor):
    """Entrywise within factor * eps * the largest entry of its matrix (per matrix of the batch);
    a matrix whose reference overflowed must have overflowed too."""
    x, ref = np.asarray(x).reshape(len(x), -1), np.asarray(ref).reshape(len(ref), -1)
    finite = np.isfinite(ref).all(axis=1)
    assert not np.isfinite(x[~finite]).all(axis=1).any()
    x, ref = x[finite], ref[finite]
    scale, err = np.abs(ref).max(axis=1, initial=0), np.abs(x - ref).max(axis=1, initial=0)
    assert np.all(err <= factor * EPS[dtype] * np.maximum(scale, np.finfo(np.float64).tiny)), (err, scale)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n,k,scale", [(1, 1, 1.0), (2, 3, 1.0), (3, 2, 0.5), (8, 1, 3.0), (16, 3, 0.1),
                                       (33, 2, 2.0), (64, 1, 5.0), (12, 4, 40.0), (5, 1, 60.0)])
def test_team_matches_the_cpu_driver(dtype, n, k, scale):
    a, b, t, g = _case(dtype, 3, n, k, scale, seed=n * 7 + k)
    f, choice, (ga, gb, gt) = _cpu(a, b, t, g)
    # The dense route amplifies rounding by ||tA|| (the conditioning of exp), as on the CPU.
    factor = 64 * n * max(1.0, scale)
    for threads in THREADS:
        tf_, tchoice = hooks.team_expm_multiply(a, b, t, threads)
        np.testing.assert_array_equal(tchoice, choice)
        _close(tf_, f, dtype, factor)
        tga, tgb, tgt = hooks.team_expm_multiply_grad(a, b, t, g, tchoice, threads)
        _close(tga, ga, dtype, factor)
        _close(tgb, gb, dtype, factor)
        _close(tgt[:, None], gt[:, None], dtype, factor * n)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_team_backward_replays_or_selects_again(dtype):
    """choice -1 (select again) gives the same bits as the forward's own code."""
    a, b, t, g = _case(dtype, 4, 10, 2, 2.0, seed=3)
    _, choice = hooks.team_expm_multiply(a, b, t, 4)
    given = hooks.team_expm_multiply_grad(a, b, t, g, choice, 4)
    again = hooks.team_expm_multiply_grad(a, b, t, g, np.full_like(choice, -1), 4)
    for x, y in zip(given, again):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("n,k,scale", [(4, 1, 1.0), (20, 2, 8.0), (40, 3, 30.0), (64, 16, 3.0)])
def test_gpu_plan_against_scipy(dtype, n, k, scale):
    """The kernels' own dense ratio: the forward against expm(t a) b in double precision, the
    gradients against the CPU op's where both chose the same route."""
    a, b, t, g = _case(dtype, 2, n, k, scale, seed=11 * n + k)
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    f, choice = hooks.team_expm_multiply(a, b, t, 32, plan="gpu")
    assert np.all((choice == 63) | ((choice % 64 >= 1) & (choice // 64 >= 1)))
    for i in range(a.shape[0]):
        ref = sla.expm(t[i].astype(wide) * a[i].astype(wide)) @ b[i].astype(wide)
        _close(f[i:i + 1], ref[None], dtype, 64 * n * max(1.0, scale))
    cf, cchoice, cgrads = _cpu(a, b, t, g)
    grads = hooks.team_expm_multiply_grad(a, b, t, g, choice, 32, plan="gpu")
    same = choice == cchoice
    for x, ref in zip(grads, cgrads):
        if np.any(same):
            _close(x[same], ref[same], dtype, 64 * n * n * max(1.0, scale))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("threads", [1, 32])
def test_team_edge_cases(dtype, threads):
    n, k = 6, 2
    a, b, t, g = _case(dtype, 6, n, k, 1.0, seed=5)
    a[0, 2, 3] = np.nan                 # NaN in A: NaN out, no choice
    a[1, 0, 0] = np.inf                 # Inf in A
    t[2] = 0                            # t = 0: b
    a[3] = 0                            # A = 0: b, with the derivative's E b term
    a[4] = np.triu(np.full((n, n), 6.0), 1)  # nilpotent: exact polynomial
    b[5, :, 1] = np.nan                 # NaN in a column of b stays there
    f, choice = hooks.team_expm_multiply(a, b, t, threads)
    assert np.isnan(f[0]).all() and np.isnan(f[1]).all() and choice[0] == -1 and choice[1] == -1
    np.testing.assert_array_equal(f[2], b[2])
    np.testing.assert_array_equal(f[3], b[3])
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    ref = sla.expm(t[4].astype(wide) * a[4].astype(wide)) @ b[4].astype(wide)
    _close(f[4:5], ref[None], dtype, 256)
    assert np.isnan(f[5, :, 1]).all() and np.isfinite(f[5, :, 0]).all()
    cf, cchoice, (cga, cgb, cgt) = _cpu(a, b, t, g)
    np.testing.assert_array_equal(choice, cchoice)
    ga, gb, gt = hooks.team_expm_multiply_grad(a, b, t, g, choice, threads)
    assert np.isnan(ga[0]).all() and np.isnan(gb[1]).all() and np.isnan(gt[:2]).all()
    for i in (2, 3, 4):
        _close(ga[i:i + 1], cga[i:i + 1], dtype, 256)
        _close(gb[i:i + 1], cgb[i:i + 1], dtype, 256)
    # At A = 0 the gradient w.r.t. A is t g b^H (the E b term of the derivative).
    np.testing.assert_allclose(ga[3], np.conj(t[3]) * g[3] @ b[3].conj().T, rtol=64 * EPS[dtype], atol=64 * EPS[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
def test_team_workspace_bound_holds_at_the_most_steps(dtype):
    """The largest s the dense rule lets through (k = 1, ||tA|| just below the dense switch) fits
    the checkpoint buffers the team workspace reserves: the gradient matches the CPU's."""
    n = 24
    rng = np.random.default_rng(1)
    a = np.diag(np.linspace(-1, 1, n)) + np.triu(rng.standard_normal((n, n)), 1) * 0.05
    a = a.astype(dtype)[None]
    b = rng.standard_normal((1, n, 1)).astype(dtype)
    g = rng.standard_normal((1, n, 1)).astype(dtype)
    for t in [5.0, 20.0, 60.0]:
        tt = np.array([t], dtype=dtype)
        _, choice = hooks.team_expm_multiply(a, b, tt, 4)
        cf, cchoice, cgrads = _cpu(a, b, tt, g)
        np.testing.assert_array_equal(choice, cchoice)
        grads = hooks.team_expm_multiply_grad(a, b, tt, g, choice, 4)
        for x, ref in zip(grads, cgrads):
            _close(x, ref, dtype, 4096)

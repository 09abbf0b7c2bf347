"""The PyTorch column of the benchmarks, present when torch is importable.

torch runs in this process, timed call by call in the same rotation as detexp and tf.linalg
(time_interleaved), on the same data. Its OpenMP pool is sized to TF's intra-op thread count and
made passive (OMP_WAIT_POLICY=PASSIVE, set before torch is first imported): by default its
threads spin for a while after each call, on the very cores the next TF call needs, which slowed
the TF calls that followed a torch call (measured: see the commit that added this column).
"""
import os


def load(threads):
    """torch with `threads` intra-op threads and a passive pool, or None if it is not installed."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def slogdet_fns(torch, a_np):
    """(forward, forward+backward) callables on a copy of a_np: logabsdet, and the gradient of its
    sum (torch.linalg.slogdet's backward), as the TF benchmark does."""
    a = torch.from_numpy(a_np.copy())

    def fwd():
        with torch.no_grad():
            return torch.linalg.slogdet(a)[1]

    def fwd_bwd():
        x = a.detach().requires_grad_(True)
        lad = torch.linalg.slogdet(x)[1]
        (g,) = torch.autograd.grad(lad.sum(), x)
        return g

    return fwd, fwd_bwd


def expm_fns(torch, a_np, w_np):
    """(forward, forward+backward) callables for torch.linalg.matrix_exp: exp(a), and exp(a) with
    the gradient of sum(w * exp(a)), as the TF benchmark does."""
    a = torch.from_numpy(a_np.copy())
    w = torch.from_numpy(w_np.copy())

    def fwd():
        with torch.no_grad():
            return torch.linalg.matrix_exp(a)

    def fwd_bwd():
        x = a.detach().requires_grad_(True)
        e = torch.linalg.matrix_exp(x)
        (g,) = torch.autograd.grad((w * e).sum(), x)
        return e, g

    return fwd, fwd_bwd

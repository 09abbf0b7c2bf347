"""Inputs of the GPU sections, shared by _gpu.py and the torch child process (numpy only)."""
import numpy as np


def inputs(op, n, batch, seed=0):
    """float32 [batch, n, n]: for slogdet standard normal + n I (well conditioned), for expm 2 standard
    normal / sqrt(n) (norm of a few units: the top degree and a few squarings, as for a generator)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((batch, n, n))
    a = a + n * np.eye(n) if op == "slogdet" else 2.0 * a / np.sqrt(n)
    return a.astype(np.float32)


def columns(n, batch, k, seed=1):
    """float32 [batch, n, k] standard normal: the b of the gpu_expm_multiply section."""
    return np.random.default_rng(seed).standard_normal((batch, n, k)).astype(np.float32)

"""GPU: expm float32 forward and forward+backward, detexp vs tf.linalg vs torch.linalg (see _gpu.py)."""
from ._gpu import run_op


def run(quick=False):
    return run_op("expm", quick=quick)

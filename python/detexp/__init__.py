"""detexp: fast, exact batched log-determinant and matrix exponential for TensorFlow.

    import detexp as dx
    sign, logabsdet = dx.slogdet(a)
    e = dx.expm(a)

`import detexp` loads the compiled op library (and registers gradients and pfor converters);
a SavedModel that uses detexp ops needs it imported before loading. `dx.layers` holds Keras
layers (LieExp, LinearFlow).
"""
from ._slogdet import adjugate, det, inverse, logabsdet, logdet, slogdet
from ._expm import expm, expm_frechet
from ._expm_multiply import expm_multiply
from . import _pfor  # noqa: F401  (registers the vectorization rules)
from . import numpy
from . import layers

__version__ = "0.1.0"

__all__ = ["slogdet", "logabsdet", "logdet", "det", "adjugate", "inverse", "expm", "expm_frechet", "expm_multiply", "numpy", "layers"]

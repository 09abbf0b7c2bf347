"""Keras layers built on detexp ops: `LieExp` (a learnable element of a matrix Lie group) and
`LinearFlow` (an invertible dense layer for normalizing flows).

Both compute in their variable dtype (float32 under the 'mixed_float16' policy: their weights are
never autocast) and return the layer's compute dtype, so mixed precision gives float16 outputs
computed in float32. Both compile under XLA (the dx ops lower to XLA custom calls), so Keras'
`jit_compile=True` and `"auto"` keep XLA on for models that use them.
"""
import numpy as np
import keras
import tensorflow as tf

from ._expm import expm
from ._slogdet import inverse, logabsdet


def so_generators(n):
    """The standard basis of so(n), the skew-symmetric n x n matrices: E_ij - E_ji for i < j.

    Returns a float64 array [n (n - 1) / 2, n, n]; exp of any combination is a rotation in SO(n).
    """
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    g = np.zeros((len(pairs), n, n))
    for k, (i, j) in enumerate(pairs):
        g[k, i, j], g[k, j, i] = -1.0, 1.0
    return g


@keras.saving.register_keras_serializable(package="detexp")
class LieExp(keras.layers.Layer):
    """y = exp(A) x with A = sum_k c_k M_k: a learnable group element exp(A) acting on x [..., n].

    The generators M_k [k, n, n] are fixed (e.g. `so_generators(n)` for rotations); the
    coefficients c [k] are the weights (initially 0, so exp(A) = I). Gradient with respect to c:
    d y / d c_k = L(A, M_k) x, with L the Fréchet derivative of expm (dx.expm's gradient).
    """

    def __init__(self, generators, coefficient_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        g = np.asarray(generators, dtype=np.float64)
        if g.ndim != 3 or g.shape[1] != g.shape[2]:
            raise ValueError(f"LieExp: generators must have shape [k, n, n]; got {g.shape}")
        self.generators = g
        self.coefficient_initializer = keras.initializers.get(coefficient_initializer)

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.generators.shape[-1]:
            raise ValueError(f"LieExp: input's last dimension must be n = {self.generators.shape[-1]}; "
                             f"got shape {input_shape}")
        self.coefficients = self.add_weight(
            name="coefficients", shape=(self.generators.shape[0],),
            initializer=self.coefficient_initializer, autocast=False)

    def group_element(self):
        """exp(sum_k c_k M_k), [n, n], in the variable dtype."""
        m = tf.constant(self.generators, dtype=self.variable_dtype)
        return expm(tf.tensordot(tf.convert_to_tensor(self.coefficients), m, axes=1))

    def call(self, x):
        # y_i = sum_j R_ij x_j for every leading index of x, i.e. y = x R^T.
        y = tf.matmul(tf.cast(x, self.variable_dtype), self.group_element(), transpose_b=True)
        return tf.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "generators": self.generators.tolist(),
                "coefficient_initializer": keras.initializers.serialize(self.coefficient_initializer)}


@keras.saving.register_keras_serializable(package="detexp")
class LinearFlow(keras.layers.Layer):
    """An invertible dense layer z = x W + b (x, z: [batch, d]) for normalizing flows.

    Change of variables: log p_x(x) = log p_z(x W + b) + log|det W|, since the Jacobian dz/dx = W^T
    is the same for every sample. The layer adds -log|det W| (dx.logabsdet, exact, no overflow;
    gradient -W^{-T}) with `add_loss`, so a model trained with the base log-density's negative as
    its loss (e.g. `gaussian_nll` below) minimizes the negative log-likelihood of x.
    `log_det_jacobian()` returns log|det W|; `inverse(z)` returns (z - b) W^{-1}.
    """

    def __init__(self, add_log_det_loss=True, **kwargs):
        super().__init__(**kwargs)
        self.add_log_det_loss = add_log_det_loss

    def build(self, input_shape):
        d = input_shape[-1]
        self.w = self.add_weight(name="w", shape=(d, d), initializer="identity", autocast=False)
        self.b = self.add_weight(name="b", shape=(d,), initializer="zeros", autocast=False)

    def log_det_jacobian(self):
        """log|det dz/dx| = log|det W|, a scalar in the variable dtype."""
        return logabsdet(tf.convert_to_tensor(self.w))

    def call(self, x):
        if self.add_log_det_loss:
            self.add_loss(-self.log_det_jacobian())
        z = tf.matmul(tf.cast(x, self.variable_dtype), self.w) + self.b
        return tf.cast(z, self.compute_dtype)

    def inverse(self, z):
        return tf.matmul(tf.cast(z, self.variable_dtype) - self.b, inverse(tf.convert_to_tensor(self.w)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "add_log_det_loss": self.add_log_det_loss}


@keras.saving.register_keras_serializable(package="detexp")
def gaussian_nll(_, z):
    """Per-sample -log N(z; 0, I) = |z|^2 / 2 + (d / 2) log(2 pi): the base-density loss for
    LinearFlow (the first argument, Keras' y_true, is ignored)."""
    if z.dtype not in (tf.float32, tf.float64):
        z = tf.cast(z, tf.float32)
    d = tf.cast(tf.shape(z)[-1], z.dtype)
    return 0.5 * tf.reduce_sum(tf.square(z), axis=-1) + 0.5 * d * np.log(2 * np.pi)

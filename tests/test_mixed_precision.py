"""Mixed precision: under the 'mixed_float16' policy dx.layers return float16 computed in float32
(weights stay float32, never autocast), i.e. the float64 reference rounded once to float16; and
model.fit (with Keras' loss scaling) trains."""
import keras
import numpy as np
import pytest
import scipy.linalg as sla
import tensorflow as tf

import detexp as dx

RNG = np.random.default_rng(5)


@pytest.fixture
def mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def _assert_rounded_once(out, ref):
    """out (float16) is ref rounded to float16: within half a float16 ulp plus float32 noise."""
    assert out.dtype == np.float16
    ulp = np.spacing(np.abs(ref).astype(np.float16)).astype(np.float64)
    assert np.all(np.abs(out.astype(np.float64) - ref) <= 0.5 * ulp + 1e-6 * np.abs(ref) + 1e-7)


def test_lie_exp_float16_out_float32_inside(mixed_float16):
    gens = dx.layers.so_generators(4)
    layer = dx.layers.LieExp(gens)
    x = RNG.standard_normal((64, 4))
    layer.build((None, 4))
    c = np.array([0.11, -0.72, 0.35, 0.9, -0.41, 0.27], dtype=np.float32)
    layer.coefficients.assign(c)
    assert layer.compute_dtype == "float16" and layer.coefficients.dtype == "float32"
    y = layer(x).numpy()
    x16 = x.astype(np.float16).astype(np.float64)         # Keras casts inputs to float16
    ref = x16 @ sla.expm(np.tensordot(c.astype(np.float64), gens, axes=1)).T
    _assert_rounded_once(y, ref)


def test_linear_flow_float16_out_and_float32_log_det(mixed_float16):
    layer = dx.layers.LinearFlow()
    layer.build((None, 3))
    w = (RNG.standard_normal((3, 3)) * 300).astype(np.float32)   # det ~ 1e7: overflows float16
    layer.w.assign(w)
    x = RNG.standard_normal((16, 3))
    z = layer(x).numpy()
    _assert_rounded_once(z, x.astype(np.float16).astype(np.float64) @ w.astype(np.float64))
    assert layer.losses[0].dtype == tf.float32
    np.testing.assert_allclose(float(layer.losses[0]), -np.linalg.slogdet(w.astype(np.float64))[1], rtol=1e-6)


def test_dx_op_inside_mixed_precision_layer(mixed_float16):
    class LogDet(keras.layers.Layer):     # a user layer calling a dx op on its float16 input
        def call(self, a):
            return dx.logabsdet(a)

    a = RNG.standard_normal((8, 5, 5)) + 3 * np.eye(5)
    out = LogDet()(a).numpy()
    _assert_rounded_once(out, np.linalg.slogdet(a.astype(np.float16).astype(np.float64))[1])


def test_fit_under_mixed_precision(mixed_float16):
    gens = dx.layers.so_generators(3)
    r = sla.expm(np.tensordot([0.4, 0.2, -0.6], gens, axes=1))
    x = RNG.standard_normal((256, 3)).astype(np.float32)
    model = keras.Sequential([keras.Input((3,)), dx.layers.LieExp(gens)])
    model.compile(keras.optimizers.Adam(0.05), "mse")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    losses = model.fit(x, x @ r.T, epochs=8, batch_size=64, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0] / 20, losses

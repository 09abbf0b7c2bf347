"""dx.layers: LieExp and LinearFlow against SciPy/NumPy references and central differences;
serialization; model.fit through the example scripts (few epochs)."""
import json
import os
import sys

import keras
import numpy as np
import pytest
import scipy.linalg as sla
import tensorflow as tf

import detexp as dx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))
import lie_exp_fit  # noqa: E402
import linear_flow_fit  # noqa: E402

RNG = np.random.default_rng(3)


def test_so_generators_basis():
    g = dx.layers.so_generators(4)
    assert g.shape == (6, 4, 4)
    np.testing.assert_array_equal(g, -g.transpose(0, 2, 1))
    # Linearly independent: the 6 flattened generators have rank 6 = dim so(4).
    assert np.linalg.matrix_rank(g.reshape(6, -1)) == 6
    r = sla.expm(np.tensordot(RNG.standard_normal(6), g, axes=1))
    np.testing.assert_allclose(r @ r.T, np.eye(4), atol=1e-12)
    assert abs(np.linalg.det(r) - 1) < 1e-12


def _lie_layer(c, gens):
    layer = dx.layers.LieExp(gens, dtype="float64")
    layer.build((None, gens.shape[-1]))
    layer.coefficients.assign(c)
    return layer


def test_lie_exp_forward_batched_input():
    gens = RNG.standard_normal((3, 4, 4))          # arbitrary generators, not only so(n)
    c = RNG.standard_normal(3) * 0.5
    x = RNG.standard_normal((2, 5, 4))
    y = _lie_layer(c, gens)(x).numpy()
    np.testing.assert_allclose(y, x @ sla.expm(np.tensordot(c, gens, axes=1)).T, rtol=1e-12, atol=1e-12)


def test_lie_exp_gradient_matches_central_differences():
    gens = RNG.standard_normal((3, 3, 3))
    c = RNG.standard_normal(3) * 0.5
    x, w = RNG.standard_normal((6, 3)), RNG.standard_normal((6, 3))
    layer = _lie_layer(c, gens)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(w * layer(x))
    grad = tape.gradient(loss, layer.coefficients).numpy()
    f = lambda c: np.sum(w * (x @ sla.expm(np.tensordot(c, gens, axes=1)).T))
    h = 1e-6
    fd = np.array([(f(c + h * e) - f(c - h * e)) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(grad, fd, rtol=1e-7, atol=1e-8)


def test_lie_exp_config_round_trip_and_keras_file(tmp_path):
    gens = dx.layers.so_generators(3)
    layer = _lie_layer([0.1, 0.2, -0.3], gens)
    config = json.loads(json.dumps(layer.get_config()))    # JSON-serializable: nested lists
    assert config["generators"] == gens.tolist()
    clone = dx.layers.LieExp.from_config(config)
    clone.build((None, 3))
    clone.set_weights(layer.get_weights())
    x = RNG.standard_normal((4, 3))
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())
    model = keras.Sequential([keras.Input((3,)), layer])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_lie_exp_rejects_bad_generators():
    with pytest.raises(ValueError, match=r"\[k, n, n\]"):
        dx.layers.LieExp(np.zeros((2, 3, 4)))


def test_lie_exp_fit_example_recovers_rotation():
    losses, c = lie_exp_fit.main(epochs=12, verbose=False)
    assert losses[-1] < losses[0] / 1e3, losses
    np.testing.assert_allclose(c, lie_exp_fit.C_TRUE, atol=1e-2)


def _flow(w, b):
    layer = dx.layers.LinearFlow(dtype="float64")
    layer.build((None, len(b)))
    layer.w.assign(w)
    layer.b.assign(b)
    return layer


def test_linear_flow_forward_inverse_and_log_det_loss():
    w, b = RNG.standard_normal((4, 4)) * 1e3, RNG.standard_normal(4)   # det ~ 1e12: fine in logs
    layer = _flow(w, b)
    x = RNG.standard_normal((5, 4))
    z = layer(x)
    np.testing.assert_allclose(z.numpy(), x @ w + b, rtol=1e-12)
    np.testing.assert_allclose(layer.inverse(z).numpy(), x, rtol=1e-9, atol=1e-9)
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), -np.linalg.slogdet(w)[1], rtol=1e-12)


def test_linear_flow_nll_gradient_matches_central_differences():
    w, b = RNG.standard_normal((3, 3)) + 2 * np.eye(3), RNG.standard_normal(3)
    x = RNG.standard_normal((8, 3))
    layer = _flow(w, b)
    with tf.GradientTape() as tape:
        z = layer(x)
        nll = tf.reduce_mean(dx.layers.gaussian_nll(None, z)) + tf.add_n(layer.losses)
    g_w = tape.gradient(nll, layer.w).numpy()

    def f(w):   # mean over samples of -log N(x W + b; 0, I) - log|det W|, in NumPy
        zz = x @ w + b
        return np.mean(0.5 * np.sum(zz**2, -1)) + 1.5 * np.log(2 * np.pi) - np.linalg.slogdet(w)[1]

    h = 1e-6
    fd = np.zeros_like(w)
    for i in range(3):
        for j in range(3):
            e = np.zeros_like(w)
            e[i, j] = h
            fd[i, j] = (f(w + e) - f(w - e)) / (2 * h)
    np.testing.assert_allclose(g_w, fd, rtol=1e-7, atol=1e-8)


def test_linear_flow_fit_example_reaches_gaussian_mle():
    losses, final, mle = linear_flow_fit.main(epochs=20, verbose=False)
    assert losses[-1] < losses[0] - 1.0, losses
    assert abs(final - mle) < 1e-2, (final, mle)

"""Recover a known rotation with dx.layers.LieExp: data y = R x with R = exp(sum_k c_k M_k) in SO(3)
(M_k the so(3) basis), a model y = LieExp(so_generators(3))(x) trained with model.fit on the
mean squared error. The loss falls to ~0 and the learned coefficients approach c.

    python examples/lie_exp_fit.py [--epochs 40]
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
import numpy as np
import scipy.linalg

import detexp as dx

C_TRUE = np.array([0.3, -0.5, 0.8])


def main(epochs=40, verbose=True):
    g = dx.layers.so_generators(3)
    rotation = scipy.linalg.expm(np.tensordot(C_TRUE, g, axes=1))
    x = np.random.default_rng(0).standard_normal((512, 3)).astype("float32")
    y = x @ rotation.T
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), dx.layers.LieExp(g)])
    model.compile(keras.optimizers.Adam(0.05), "mse")
    losses = model.fit(x, y, epochs=epochs, batch_size=64, verbose=0).history["loss"]
    c = model.layers[0].coefficients.numpy()
    if verbose:
        for e in range(0, epochs, max(1, epochs // 8)):
            print(f"epoch {e + 1:3d}  loss {losses[e]:.3e}")
        print(f"final loss {losses[-1]:.3e}; coefficients {np.round(c, 4)} (true {C_TRUE})")
    return losses, c


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=40)
    main(p.parse_args().epochs)

"""Maximum likelihood of a 4-D Gaussian with a one-layer normalizing flow, dx.layers.LinearFlow:
z = x W + b is modelled as N(0, I), so log p(x) = log N(x W + b; 0, I) + log|det W| (the layer adds
-log|det W| as a loss, computed by dx.logabsdet). The optimum is the Gaussian MLE: the training
loss approaches its negative log-likelihood per sample, (1/2) log det(2 pi e S) with S the sample
covariance, which the script prints for comparison.

    python examples/linear_flow_fit.py [--epochs 40]
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
import numpy as np

import detexp as dx


def synthetic_data(n=2048, d=4, seed=0):
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)) * 0.7 + np.diag(rng.uniform(0.5, 2.0, d))
    return (rng.standard_normal((n, d)) @ mix + rng.standard_normal(d)).astype("float32")


def mle_nll(x):
    """Per-sample NLL of the data at the Gaussian MLE: (1/2) log det(2 pi e S), S biased covariance."""
    s = np.cov(x.astype(np.float64), rowvar=False, bias=True)
    return 0.5 * np.linalg.slogdet(2 * np.pi * np.e * s)[1]


def main(epochs=40, verbose=True):
    x = synthetic_data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((x.shape[1],)), dx.layers.LinearFlow()])
    # Learning rate 0.1, halved every 80 steps (10 epochs of 8 batches).
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.1, 80, 0.5)), loss=dx.layers.gaussian_nll)
    losses = model.fit(x, np.zeros(len(x)), epochs=epochs, batch_size=256, verbose=0).history["loss"]
    final = model.evaluate(x, np.zeros(len(x)), batch_size=len(x), verbose=0)
    if verbose:
        for e in range(0, epochs, max(1, epochs // 8)):
            print(f"epoch {e + 1:3d}  NLL {losses[e]:.4f}")
        print(f"final NLL {final:.4f}; Gaussian MLE NLL {mle_nll(x):.4f}")
    return losses, final, mle_nll(x)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=40)
    main(p.parse_args().epochs)

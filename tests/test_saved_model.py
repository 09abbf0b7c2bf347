"""SavedModel: a tf.Module and a Keras model using detexp ops save here and load in a fresh process
after `import detexp` (which registers the Detexp> ops with TensorFlow); without the import the load
fails naming the op. Results are checked against NumPy/SciPy references."""
import json
import os
import subprocess
import sys

import keras
import numpy as np
import scipy.linalg as sla
import tensorflow as tf

import detexp as dx

TIMEOUT = 120
LOAD = """
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf
if sys.argv[2] == "import":
    import detexp
try:
    m = tf.saved_model.load(sys.argv[1])
except Exception as e:
    print(json.dumps({"error": str(e)[:2000]})); sys.exit(0)
a = tf.constant(np.array(json.loads(sys.argv[3])))
if hasattr(m, "serve"):                          # Keras model.export
    print(json.dumps({"y": m.serve(a).numpy().tolist()}))
else:
    y, g = m(a)
    print(json.dumps({"y": y.numpy().tolist(), "g": g.numpy().tolist()}))
"""


def _load_in_fresh_process(path, a, import_detexp=True):
    pkg = os.path.dirname(os.path.dirname(dx.__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([pkg, os.environ.get("PYTHONPATH", "")]),
               TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    r = subprocess.run([sys.executable, "-c", LOAD, str(path), "import" if import_detexp else "no-import",
                        json.dumps(a.tolist())], env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


class Module(tf.Module):
    """y = log|det(a W)| + sum(expm(a)) per matrix, and dy/da."""

    def __init__(self):
        self.w = tf.Variable(np.diag([1.0, 2.0, 0.5]))

    @tf.function(input_signature=[tf.TensorSpec([None, 3, 3], tf.float64)])
    def __call__(self, a):
        with tf.GradientTape() as tape:
            tape.watch(a)
            y = dx.logabsdet(tf.matmul(a, self.w)) + tf.reduce_sum(dx.expm(a), axis=[-2, -1])
        return y, tape.gradient(y, a)


def test_tf_module_saved_model_loads_after_import(tmp_path):
    tf.saved_model.save(Module(), str(tmp_path))
    a = np.random.default_rng(0).standard_normal((2, 3, 3)) + 2 * np.eye(3)
    out = _load_in_fresh_process(tmp_path, a)
    w = np.diag([1.0, 2.0, 0.5])
    y_ref = np.linalg.slogdet(a @ w)[1] + np.array([sla.expm(m).sum() for m in a])
    np.testing.assert_allclose(out["y"], y_ref, rtol=1e-12)
    # d log|det(aW)|/da = inv(a)^T; d sum(expm(a))/da = L(a^T, ones) (SciPy's Fréchet derivative).
    g_ref = np.linalg.inv(a).transpose(0, 2, 1) + np.array([sla.expm_frechet(m.T, np.ones((3, 3)))[1] for m in a])
    np.testing.assert_allclose(out["g"], g_ref, rtol=1e-10)


def test_saved_model_without_import_names_the_op(tmp_path):
    tf.saved_model.save(Module(), str(tmp_path))
    out = _load_in_fresh_process(tmp_path, np.eye(3)[None], import_detexp=False)
    assert "Detexp>" in out["error"] and "not registered" in out["error"]


def test_keras_model_export_loads_after_import(tmp_path):
    gens = dx.layers.so_generators(3)
    model = keras.Sequential([keras.Input((3,), dtype="float64"), dx.layers.LieExp(gens, dtype="float64")])
    c = np.array([0.2, -0.4, 0.7])
    model.layers[0].coefficients.assign(c)
    model.export(str(tmp_path / "export"), verbose=False)
    x = np.random.default_rng(1).standard_normal((4, 3))
    out = _load_in_fresh_process(tmp_path / "export", x)
    np.testing.assert_allclose(out["y"], x @ sla.expm(np.tensordot(c, gens, axes=1)).T, rtol=1e-12, atol=1e-14)

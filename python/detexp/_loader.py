"""Loads the compiled TF op library once, with an error that says what to rebuild."""
import os

import tensorflow as tf

_LIB_NAME = "_detexp_ops.so"
_ops = None


def _rebuild_hint():
    return (
        f"detexp's op library {_LIB_NAME} was built for another TensorFlow or is missing. "
        f"Installed TensorFlow is {tf.__version__}; detexp supports >=2.21,<2.22. Rebuild it against "
        "the TensorFlow you run: `pip install -r requirements-build.txt && "
        "pip install --no-build-isolation --force-reinstall --no-deps .` from the detexp source tree."
    )


def load_library(path):
    """tf.load_op_library(path), turning a missing or mismatched library into an ImportError
    that says what to rebuild."""
    if not os.path.exists(path):
        raise ImportError(f"{path} does not exist. " + _rebuild_hint())
    try:
        return tf.load_op_library(path)
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, OSError) as e:
        raise ImportError(f"could not load {path}: {e}\n" + _rebuild_hint()) from e


def load_ops():
    """The module of generated op wrappers (detexp_slogdet, ...), loaded on first use."""
    global _ops
    if _ops is None:
        _ops = load_library(os.path.join(os.path.dirname(os.path.abspath(__file__)), _LIB_NAME))
    return _ops

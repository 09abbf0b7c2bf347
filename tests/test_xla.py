"""XLA: every Detexp> op lowers to a typed-FFI custom call (cc/xla/), so dx functions and their
gradients of every order run inside tf.function(jit_compile=True) and Keras' jit_compile.

The custom calls run the TF kernels' own code (cc/kernels/*_work.h) on the same matrices, so each
op gives the same bits under XLA as without it (test_each_op_same_bits). Whole dx functions and
their gradients also contain TF math that XLA compiles by itself (the gradient formulas' matmuls
and complex products); they give the same bits where only exact or singly rounded operations sit
between the custom calls, and agree to rounding elsewhere (_SAME_BITS)."""
import json
import os
import re
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import detexp as dx
from detexp._loader import load_ops
from detexp._slogdet import FACTORS_UNUSED, IN_PLACE, _slogdet_with_lu
from conftest import ALL_DTYPES, random_matrices

OPS = load_ops()
N = 3
BATCH = (2,)
TIMEOUT = 180


def _is_complex(dtype):
    return np.issubdtype(np.dtype(dtype), np.complexfloating)


def _eps(dtype):
    return np.finfo(np.dtype(dtype)).eps


def _well_conditioned(dtype, seed=0, shape=BATCH + (N, N)):
    return random_matrices(shape, dtype, seed) + 2 * np.eye(shape[-1], dtype=dtype)


def _bits(x):
    """A view of x whose equality is bitwise equality (NaNs with the same payload compare equal)."""
    x = np.ascontiguousarray(np.asarray(x))
    return x.view(np.dtype(f"u{x.dtype.itemsize // (2 if np.iscomplexobj(x) else 1)}"))


def assert_same_bits(x, y, what=""):
    x, y = np.asarray(x), np.asarray(y)
    assert x.dtype == y.dtype and x.shape == y.shape, (what, x.dtype, y.dtype, x.shape, y.shape)
    np.testing.assert_array_equal(_bits(x), _bits(y), err_msg=f"{what}: not the same bits")


def both(fn, *args, **kw):
    """fn traced with and without XLA, on the same arguments: (jit results, graph results)."""
    jit = tf.function(fn, jit_compile=True, **kw)
    graph = tf.function(fn, jit_compile=False, **kw)
    return jit(*args), graph(*args)


def hlo(fn, *args):
    return tf.function(fn, jit_compile=True).experimental_get_compiler_ir(*args)(stage="hlo")


# --- every op under XLA: the same bits as its TF kernel ------------------------------------------

def _raw_op_cases(dtype, shape=BATCH + (N, N)):
    """(name, fn, args) for every Detexp> op, on inputs that exercise its real work."""
    a = tf.constant((_well_conditioned(dtype, shape=shape) / np.sqrt(shape[-1])).astype(dtype))
    g = tf.constant(random_matrices(shape, dtype, seed=1))
    real = tf.as_dtype(dtype).real_dtype
    _, _, lu, perm = OPS.detexp_slogdet(a, Treal=real)
    k = tf.constant(random_matrices(shape[:-2], dtype, seed=2))
    _, choice = OPS.detexp_expm(a)
    return [
        ("Slogdet", lambda a: OPS.detexp_slogdet(a, Treal=real), (a,)),
        ("InverseFromLu", OPS.detexp_inverse_from_lu, (lu, perm, a)),
        ("SlogdetBackward", OPS.detexp_slogdet_backward, (lu, perm, a, k)),
        ("Adjugate", OPS.detexp_adjugate, (a,)),
        ("Expm", OPS.detexp_expm, (a,)),
        ("ExpmFrechet", OPS.detexp_expm_frechet, (a, g)),
        ("ExpmGrad", OPS.detexp_expm_grad, (a, g, choice)),
        ("ExpmGrad(select again)", OPS.detexp_expm_grad, (a, g, -tf.ones_like(choice))),
        ("MatMul", OPS.detexp_mat_mul, (a, g)),
        ("MatMul(adjoints)", lambda a, g: OPS.detexp_mat_mul(a, g, adjoint_a=True, adjoint_b=True), (a, g)),
    ]


# Batches of 37: whole SIMD groups of matrices and a tail (cc/core/batch_lu.h), split over threads.
@pytest.mark.parametrize("shape", [BATCH + (N, N), (37, 5, 5), (37, 20, 20), (37, 40, 40)],
                         ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_each_op_same_bits(dtype, shape):
    for name, fn, args in _raw_op_cases(dtype, shape):
        jit, graph = both(lambda *xs: tf.nest.flatten(fn(*xs)), *args)
        eager = tf.nest.flatten(fn(*args))
        for i, (x, y, z) in enumerate(zip(jit, graph, eager)):
            assert_same_bits(x, y, f"{name} output {i} (jit vs graph)")
            assert_same_bits(x, z, f"{name} output {i} (jit vs eager)")


def test_hlo_holds_every_custom_call():
    """Not a silent fallback: the compiled HLO calls each op's handler through the typed FFI."""
    for dtype in (np.float32, np.complex128):
        for name, fn, args in _raw_op_cases(dtype):
            text = hlo(lambda *xs: tf.nest.flatten(fn(*xs)), *args)
            target = "detexp_" + "".join("_" + c.lower() if c.isupper() else c for c in name.split("(")[0])[1:]
            assert f'custom_call_target="{target}"' in text, (name, text[:2000])
            assert "api_version=API_VERSION_TYPED_FFI" in text, text[:2000]


def _slogdet_calls(fn, *args):
    """The result shapes of the detexp_slogdet calls left in fn's optimized HLO."""
    text = tf.function(fn, jit_compile=True).experimental_get_compiler_ir(*args)(stage="optimized_hlo")
    return re.findall(r'= (\([^)]*\)) custom-call\([^\n]*custom_call_target="detexp_slogdet"', text)


def test_slogdet_factors_only_where_read():
    """Like the TF kernel (output_required), the jit forward writes the LU factors only where read."""
    a = tf.constant(_well_conditioned(np.float64))

    def with_grad(a):
        with tf.GradientTape() as t:
            t.watch(a)
            y = dx.logabsdet(a)
        return y, t.gradient(y, a)

    assert _slogdet_calls(lambda a: dx.logabsdet(a), a) == ["(f64[2]{0}, f64[2]{0})"]
    assert _slogdet_calls(lambda a: dx.det(a) + dx.logdet(a), a) == ["(f64[2]{0}, f64[2]{0})"]
    factors = "(f64[2]{0}, f64[2]{0}, f64[2,3,3]{2,1,0}, s32[2,3]{1,0})"
    assert _slogdet_calls(with_grad, a) == [factors]
    assert _slogdet_calls(lambda a: dx.inverse(a), a) == [factors]
    # A tf.function called under a tape: its forward function reads the factors (the hint is gone
    # from the traced op once the gradient was taken), its inference function does not.
    f = tf.function(lambda a: dx.logabsdet(a), jit_compile=True)
    f(a)
    with tf.GradientTape() as t:
        t.watch(a)
        y = f(a)
    assert_same_bits(t.gradient(y, a), with_grad(a)[1], "gradient through an outer tape")
    ops = [op for op in f.get_concrete_function(a).graph.get_operations() if op.type == "Detexp>Slogdet"]
    assert len(ops) == 1 and FACTORS_UNUSED not in ops[0].node_def.attr


def test_results_from_lu_reuse_its_buffer_where_it_is_the_graphs_own():
    """InverseFromLu and SlogdetBackward write into the factors' buffer (output_to_operand_aliasing)
    where lu is an intermediate of the compiled graph, as the TF kernels forward their input; where
    lu comes from another graph (an outer tape's forward function) they take a new buffer."""
    a = tf.constant(_well_conditioned(np.float64))

    def with_grad(a):
        with tf.GradientTape() as t:
            t.watch(a)
            y = dx.logabsdet(a)
        return t.gradient(y, a)

    for fn, target in ((lambda a: dx.inverse(a), "detexp_inverse_from_lu"), (with_grad, "detexp_slogdet_backward")):
        line = next(l for l in hlo(fn, a).splitlines() if f'custom_call_target="{target}"' in l)
        assert "output_to_operand_aliasing={{0}: (0, {})}" in line, line
    inner = tf.function(lambda a: dx.logabsdet(a), jit_compile=True)

    @tf.function
    def outer_tape(a):
        with tf.GradientTape() as t:
            t.watch(a)
            y = inner(a)
        return t.gradient(y, a)

    assert_same_bits(outer_tape(a), with_grad(a), "outer tape")
    library = outer_tape.get_concrete_function(a).graph.as_graph_def().library.function
    backward = [node for f in library for node in f.node_def if node.op == "Detexp>SlogdetBackward"]
    assert backward and all(IN_PLACE not in node.attr for node in backward)


def test_wrong_factors_hint_costs_time_not_bits():
    """A consumer of the factors that the hint did not foresee still gets them (a second call)."""
    a = tf.constant(_well_conditioned(np.float32))

    def f(a):
        _, lad, lu, perm = _slogdet_with_lu(a, factors=False)
        return lad, OPS.detexp_inverse_from_lu(lu, perm, a)

    assert len(_slogdet_calls(f, a)) == 2
    jit, graph = both(f, a)
    for x, y in zip(jit, graph):
        assert_same_bits(x, y, "hinted op whose factors are read")


# --- every public function and gradient order under XLA ------------------------------------------

PUBLIC = {
    "slogdet": lambda a, e: dx.slogdet(a),
    "logabsdet": lambda a, e: (dx.logabsdet(a),),
    "logdet": lambda a, e: (dx.logdet(a),),
    "det": lambda a, e: (dx.det(a),),
    "inverse": lambda a, e: (dx.inverse(a),),
    "adjugate": lambda a, e: (dx.adjugate(a),),
    "expm": lambda a, e: (dx.expm(a),),
    "expm_frechet": lambda a, e: dx.expm_frechet(a, e),
}


def _orders(fn, a, e, v):
    """fn(a, e)'s outputs (order 0), their vector-Jacobian product with fixed weights (order 1:
    the gradient in a and e) and the VJP of that with v (order 2: a Hessian-vector product).
    Upstream weights instead of sums, so that no reduction of the harness's own is compared."""
    with tf.GradientTape() as outer:
        outer.watch([a, e])
        with tf.GradientTape() as inner:
            inner.watch([a, e])
            ys = fn(a, e)
        ws = [tf.constant(random_matrices(y.shape, y.dtype.as_numpy_dtype, seed=20 + i)) for i, y in enumerate(ys)]
        g = inner.gradient(ys, [a, e], output_gradients=ws, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    h = outer.gradient(g, [a, e], output_gradients=[v, v], unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return tuple(ys), tuple(g), tuple(h)


# Where the path from the custom calls to a result holds only exact or singly rounded operations
# (concat, adjoint, one add or multiply), the bits are the same; elsewhere XLA compiles the gradient
# formulas' own TF math (matmul, complex products; it fuses multiply-adds where Eigen does not) and
# the results agree to rounding. Complex det and logdet pass exp and atan2, which TF's CPU kernels
# evaluate with Eigen's packet functions (python/detexp/_slogdet.py pads them so that every matrix
# of a batch takes that path: batch invariance) and XLA with its own. Orders 0..2 per function:
# "same bits" for all dtypes, for real dtypes only, or none.
_SAME_BITS = {
    "slogdet": ("all", "real", None), "logabsdet": ("all", "real", None), "logdet": ("real", "real", None),
    "det": ("real", "real", None), "inverse": ("all", None, None), "adjugate": ("all", None, None),
    "expm": ("all", "all", "all"), "expm_frechet": ("all", "all", "all"),
}


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_function_and_gradients_match_graph(name, dtype):
    a = tf.constant(_well_conditioned(dtype, seed=3) / 2)
    e = tf.constant(random_matrices(BATCH + (N, N), dtype, seed=4))
    v = tf.constant(random_matrices(BATCH + (N, N), dtype, seed=7))
    jit, graph = both(lambda a, e, v: _orders(PUBLIC[name], a, e, v), a, e, v)
    for order, (xs, ys) in enumerate(zip(jit, graph)):
        bits = _SAME_BITS[name][order] in ("all", "complex" if _is_complex(dtype) else "real")
        for i, (x, y) in enumerate(zip(xs, ys)):
            what = f"{name} {np.dtype(dtype).name} order {order} output {i}"
            if bits:
                assert_same_bits(x, y, what)
            else:
                err, scale = np.abs(x.numpy() - y.numpy()).max(), np.abs(y.numpy()).max()
                assert err <= 32 * _eps(dtype) * scale, (what, err / scale / _eps(dtype))


def test_logdet_complex_hessian_under_jit_against_differences():
    """Complex logdet's second derivative under XLA (log's gradient of gradient goes through a TF op
    whose XLA kernel drops the conjugate; dx.logdet avoids it), against central differences."""
    a = tf.constant(_well_conditioned(np.complex128, seed=3) / 2)
    w = tf.constant(random_matrices(BATCH, np.complex128, seed=1))
    v, u = (tf.constant(random_matrices(BATCH + (N, N), np.complex128, seed=s)) for s in (2, 3))

    def directional(a):   # Re <v, grad Re sum(w logdet(a))>
        with tf.GradientTape() as t:
            t.watch(a)
            y = tf.math.real(tf.reduce_sum(w * dx.logdet(a)))
        return tf.math.real(tf.reduce_sum(tf.math.conj(v) * t.gradient(y, a)))

    @tf.function(jit_compile=True)
    def hvp(a):
        with tf.GradientTape() as t:
            t.watch(a)
            y = directional(a)
        return t.gradient(y, a)

    h = 1e-5
    fd = (directional(a + h * u) - directional(a - h * u)) / (2 * h)
    np.testing.assert_allclose(tf.math.real(tf.reduce_sum(tf.math.conj(hvp(a)) * u)), fd, rtol=1e-8)


def test_hessians_and_third_order_in_jit():
    """tf.hessians and a third derivative inside jit_compile: the graph's values, and log|det|'s
    Hessian in closed form, d^2 log|det A| / dA_ij dA_kl = -X_li X_jk with X = inv(A)."""
    a = tf.constant(_well_conditioned(np.float64, shape=(3, 3)))

    def f(a):
        h = tf.hessians(dx.logabsdet(a), a)[0]
        h_expm = tf.hessians(tf.reduce_sum(dx.expm(a / 4)), a)[0]
        with tf.GradientTape() as t3:
            t3.watch(a)
            with tf.GradientTape() as t2:
                t2.watch(a)
                with tf.GradientTape() as t1:
                    t1.watch(a)
                    y = dx.det(a)
                s1 = tf.reduce_sum(t1.gradient(y, a) ** 2)
            s2 = tf.reduce_sum(t2.gradient(s1, a) ** 2)
        return h, h_expm, t3.gradient(s2, a)

    jit, graph = both(f, a)
    for x, y in zip(jit, graph):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
    x = np.linalg.inv(a.numpy())
    np.testing.assert_allclose(jit[0], -np.einsum("li,jk->ijkl", x, x), rtol=1e-12, atol=1e-12)


def test_jacobians_in_jit():
    """tape.jacobian (pfor over the ops' pfor rules), batch_jacobian and the while_loop jacobian."""
    a = tf.constant(_well_conditioned(np.float64))

    def f(a):
        with tf.GradientTape(persistent=True) as t:
            t.watch(a)
            e = dx.expm(a / 3)
            d = dx.det(a)
        return (t.batch_jacobian(e, a), t.jacobian(d, a),
                t.jacobian(d, a, experimental_use_pfor=False))

    jit, graph = both(f, a)
    for x, y in zip(jit, graph):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(jit[1], jit[2], rtol=1e-13, atol=1e-14)


# --- shapes: unknown batch dimensions, retracing, empty batches ----------------------------------

def test_unknown_batch_dims_and_recompile_per_batch_size():
    spec = tf.TensorSpec([None, None, N, N], tf.float64)

    @tf.function(jit_compile=True, input_signature=[spec])
    def f(a):
        with tf.GradientTape() as t:
            t.watch(a)
            y = dx.logabsdet(a) + tf.linalg.trace(dx.expm(a / 4))
        return y, t.gradient(y, a)

    g = tf.function(f.python_function, input_signature=[spec])
    for shape in [(1, 2), (3, 5), (2, 1), (0, 4)]:
        a = tf.constant(_well_conditioned(np.float64, seed=sum(shape), shape=shape + (N, N)))
        for x, y in zip(f(a), g(a)):
            assert x.shape == y.shape == a.shape[: x.shape.rank]
            np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-14)
        assert "detexp_slogdet" in f.experimental_get_compiler_ir(a)(stage="hlo")
    assert f.experimental_get_tracing_count() == 1  # one trace; XLA compiles once per shape


def test_new_batch_size_retraces_without_signature():
    f = tf.function(lambda a: dx.slogdet(a), jit_compile=True)
    for b in (1, 4, 7):
        a = _well_conditioned(np.float32, seed=b, shape=(b, 5, 5))
        s, l = f(tf.constant(a))
        s_ref, l_ref = dx.slogdet(a)
        assert_same_bits(s, s_ref, f"sign b={b}")
        assert_same_bits(l, l_ref, f"logabsdet b={b}")


def test_empty_and_zero_size_matrices():
    for shape in [(0, 3, 3), (2, 0, 0)]:
        a = tf.zeros(shape, tf.float64)
        jit, graph = both(lambda a: (dx.slogdet(a), dx.inverse(a), dx.expm(a), dx.adjugate(a)), a)
        for x, y in zip(tf.nest.flatten(jit), tf.nest.flatten(graph)):
            assert_same_bits(x, y, f"shape {shape}")


# --- edge values: the same answers as without XLA -------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_singular_nan_inf_inputs_same_as_graph(dtype):
    a = np.stack([
        np.array([[1, 2, 3], [2, 4, 6], [0, 1, 1]]),    # rank 2: sign 0, -inf; adjugate nonzero
        np.zeros((3, 3)),                                # rank 0
        np.array([[np.nan, 0, 0], [0, 1, 0], [0, 0, 1]]),
        np.array([[np.inf, 1, 0], [0, 1, 0], [0, 0, 1]]),
    ]).astype(dtype)

    def f(a):
        with tf.GradientTape() as t:
            t.watch(a)
            s, l = dx.slogdet(a)
            d = dx.det(a)
        gd = t.gradient(d, a)
        return s, l, d, gd, dx.adjugate(a), dx.inverse(a), dx.expm(a), dx.expm_frechet(a, a)[1]

    jit, graph = both(f, tf.constant(a))
    for i, (x, y) in enumerate(zip(jit, graph)):
        np.testing.assert_array_equal(x, y, err_msg=f"output {i}")
    assert jit[0].numpy()[0] == 0 and jit[1].numpy()[0] == -np.inf
    assert np.isnan(jit[1].numpy()[2]) and np.isnan(jit[6].numpy()[3]).all()


def test_invalid_choice_is_invalid_argument_under_jit():
    a = tf.eye(3, batch_shape=[2], dtype=tf.float64)
    f = tf.function(lambda a, c: OPS.detexp_expm_grad(a, a, c), jit_compile=True)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"choice\[1\] = 4 is not"):
        f(a, tf.constant([-1, 4], tf.int32))


def test_bad_shapes_of_raw_ops_fail_at_compile_time():
    lu = tf.eye(3, batch_shape=[2], dtype=tf.float64)
    f = tf.function(lambda lu, p: OPS.detexp_inverse_from_lu(lu, p, lu), jit_compile=True)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"inverse_from_lu: perm must have shape \[2,3\]"):
        f(lu, tf.zeros([2, 4], tf.int32))


# --- Keras ------------------------------------------------------------------------------------------

class _ExpmLogdetLayer(keras.layers.Layer):
    """A user's layer calling dx ops: y = x expm(W)^T, with -log|det expm(W)| = -tr W as a loss."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], input_shape[-1]), initializer="zeros")

    def call(self, x):
        self.add_loss(-0.01 * dx.logabsdet(dx.expm(self.w)))
        return tf.matmul(x, dx.expm(self.w), transpose_b=True)


def _fit(jit_compile, layer_factory, epochs=4):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).standard_normal((64, 3)).astype("float32")
    target = x @ np.array([[0.9, 0.2, 0.0], [-0.1, 1.1, 0.3], [0.0, 0.1, 0.8]], np.float32)
    model = keras.Sequential([keras.Input((3,)), layer_factory()])
    model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile=jit_compile)
    hist = model.fit(x, target, epochs=epochs, batch_size=16, verbose=0).history["loss"]
    return model, hist


@pytest.mark.parametrize("layer", ["custom", "LieExp", "LinearFlow"])
def test_keras_fit_with_jit_compile(layer):
    factory = {"custom": _ExpmLogdetLayer, "LieExp": lambda: dx.layers.LieExp(dx.layers.so_generators(3)),
               "LinearFlow": lambda: dx.layers.LinearFlow(add_log_det_loss=True)}[layer]
    model, hist = _fit(True, factory)
    assert model.jit_compile is True
    assert hist[-1] < hist[0], hist
    _, hist_graph = _fit(False, factory)
    np.testing.assert_allclose(hist, hist_graph, rtol=1e-4)


def test_keras_auto_keeps_xla_for_dx_layers():
    """'auto' turns XLA on where Keras would for any model (GPU machines); dx layers no longer opt out."""
    from keras.src.trainers.trainer import model_supports_jit

    model, hist = _fit("auto", _ExpmLogdetLayer, epochs=2)
    assert model_supports_jit(model)
    gpu = bool(tf.config.list_physical_devices("GPU"))
    assert model.jit_compile is gpu
    assert hist[-1] < hist[0]
    lie = keras.Sequential([keras.Input((3,)), dx.layers.LieExp(dx.layers.so_generators(3))])
    flow = keras.Sequential([keras.Input((3,)), dx.layers.LinearFlow()])
    assert model_supports_jit(lie) and model_supports_jit(flow)


# --- a fresh process: import after jit, SavedModel of a jit function --------------------------------

class _JitModule(tf.Module):
    def __init__(self):
        self.w = tf.Variable(np.diag([1.0, 2.0, 0.5]))

    @tf.function(jit_compile=True, input_signature=[tf.TensorSpec([None, 3, 3], tf.float64)])
    def __call__(self, a):
        with tf.GradientTape() as tape:
            tape.watch(a)
            y = dx.logabsdet(tf.matmul(a, self.w)) + tf.reduce_sum(dx.expm(a), axis=[-2, -1])
        return y, tape.gradient(y, a)


FRESH = textwrap.dedent("""
    import json, os, sys
    import numpy as np, tensorflow as tf
    # XLA compiles something before detexp is imported (its op registry is frozen from here on).
    x = tf.function(lambda a: tf.linalg.inv(a) @ a, jit_compile=True)(tf.eye(3, dtype=tf.float64))
    import detexp as dx
    a = tf.constant(np.array(json.loads(sys.argv[2])))
    f = tf.function(lambda a: (dx.logabsdet(a), dx.expm(a)), jit_compile=True)
    lad, e = f(a)
    hlo = f.experimental_get_compiler_ir(a)(stage="hlo")
    m = tf.saved_model.load(sys.argv[1])
    y, g = m(a)
    jit = all(cf.function_def.attr["_XlaMustCompile"].b for cf in m.__call__.concrete_functions)
    print(json.dumps({"lad": lad.numpy().tolist(), "expm": e.numpy().tolist(), "y": y.numpy().tolist(),
                      "g": g.numpy().tolist(), "custom_calls": "detexp_slogdet" in hlo and "detexp_expm" in hlo,
                      "loaded_jit": jit}))
""")


@pytest.fixture(scope="module")
def fresh_process(tmp_path_factory):
    path = tmp_path_factory.mktemp("jit_saved_model")
    module = _JitModule()
    tf.saved_model.save(module, str(path))
    a = _well_conditioned(np.float64, seed=11)
    pkg = os.path.dirname(os.path.dirname(dx.__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([pkg, os.environ.get("PYTHONPATH", "")]),
               TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    r = subprocess.run([sys.executable, "-c", FRESH, str(path), json.dumps(a.tolist())], env=env,
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr[-3000:]
    return a, module, json.loads(r.stdout.strip().splitlines()[-1])


def test_import_after_jit_ran_in_the_process(fresh_process):
    a, _, out = fresh_process
    assert out["custom_calls"]
    assert_same_bits(np.array(out["lad"]), dx.logabsdet(a).numpy(), "logabsdet")
    assert_same_bits(np.array(out["expm"]), dx.expm(a).numpy(), "expm")


def test_saved_jit_function_loads_and_runs_in_fresh_process(fresh_process):
    a, module, out = fresh_process
    assert out["loaded_jit"]  # the loaded function is still XLA-compiled
    y, g = module(tf.constant(a))
    np.testing.assert_array_equal(out["y"], y.numpy())
    np.testing.assert_array_equal(out["g"], g.numpy())
    # and against NumPy: d log|det(aW)|/da = inv(a)^T plus the expm part (checked in test_expm.py).
    w = np.diag([1.0, 2.0, 0.5])
    np.testing.assert_allclose(out["y"], np.linalg.slogdet(a @ w)[1] + dx.numpy.expm(a).sum(axis=(1, 2)),
                               rtol=1e-12)


def test_bounded_dynamic_batch_is_a_clear_error():
    """A batch dimension XLA only bounds (tf.boolean_mask inside the jit function) is Unimplemented,
    naming the shape, rather than a crash: the custom calls take static shapes."""
    a = tf.constant(_well_conditioned(np.float64, shape=(4, 3, 3)))
    f = tf.function(lambda a, m: dx.logabsdet(tf.boolean_mask(a, m)), jit_compile=True)
    with pytest.raises(tf.errors.UnimplementedError, match=r"static shapes; got f64\[<=4,3,3\]"):
        f(a, tf.constant([True, False, True, True]))

"""pfor converters: the detexp ops are batched already, so under tape.jacobian, batch_jacobian and
tf.vectorized_map a loop over them becomes one call on the stacked batch instead of a while_loop."""
from tensorflow.python.ops.parallel_for import pfor as _pfor

from ._loader import load_ops

_ops = load_ops()


def _batched(op_fn):
    def convert(pfor_input):
        pfor_input.stack_inputs()
        inputs = [pfor_input.stacked_input(i) for i in range(pfor_input.num_inputs)]
        # The op's own attributes; internal ones ("_"-prefixed, e.g. _slogdet.FACTORS_UNUSED) stay
        # behind: without the hint the new op writes its factors, which is always correct.
        attrs = {k: pfor_input.get_attr(k) for k in pfor_input.op.node_def.attr if not k.startswith("_")}
        outputs = op_fn(*inputs, **attrs)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return [_pfor.wrap(o, True) for o in outputs]

    return convert


_pfor.RegisterPFor("Detexp>Slogdet")(_batched(lambda a, T, Treal: _ops.detexp_slogdet(a, Treal=Treal)))
_pfor.RegisterPFor("Detexp>InverseFromLu")(_batched(lambda lu, perm, a, T: _ops.detexp_inverse_from_lu(lu, perm, a)))
_pfor.RegisterPFor("Detexp>SlogdetBackward")(
    _batched(lambda lu, perm, a, k, T: _ops.detexp_slogdet_backward(lu, perm, a, k)))
_pfor.RegisterPFor("Detexp>Adjugate")(_batched(lambda a, T: _ops.detexp_adjugate(a)))
_pfor.RegisterPFor("Detexp>MatMul")(_batched(
    lambda a, b, T, adjoint_a, adjoint_b: _ops.detexp_mat_mul(a, b, adjoint_a=adjoint_a, adjoint_b=adjoint_b)))
_pfor.RegisterPFor("Detexp>Expm")(_batched(lambda a, T: _ops.detexp_expm(a)))
_pfor.RegisterPFor("Detexp>ExpmFrechet")(_batched(lambda a, e, T: _ops.detexp_expm_frechet(a, e)))
_pfor.RegisterPFor("Detexp>ExpmGrad")(_batched(lambda a, g, choice, T: _ops.detexp_expm_grad(a, g, choice)))
_pfor.RegisterPFor("Detexp>ExpmMultiply")(_batched(lambda a, b, t, T: _ops.detexp_expm_multiply(a, b, t)))
_pfor.RegisterPFor("Detexp>ExpmMultiplyGrad")(
    _batched(lambda a, b, t, g, choice, T: _ops.detexp_expm_multiply_grad(a, b, t, g, choice)))

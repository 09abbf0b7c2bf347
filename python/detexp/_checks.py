"""Input checks and dtype handling shared by the public ops (ValueError before graph building)."""
import tensorflow as tf

SUPPORTED = (tf.float32, tf.float64, tf.complex64, tf.complex128)
COMPUTED_IN_FLOAT32 = (tf.float16, tf.bfloat16)


def as_square_batch(a, op_name, arg="a"):
    """(tensor in a supported dtype, dtype to cast results back to or None).

    Raises ValueError when the static shape is not [..., n, n] and TypeError for other dtypes.
    float16/bfloat16 are computed in float32 and cast back by the caller.
    """
    a = tf.convert_to_tensor(a, name=arg)
    cast_back = None
    if a.dtype in COMPUTED_IN_FLOAT32:
        cast_back = a.dtype
        a = tf.cast(a, tf.float32)
    elif a.dtype not in SUPPORTED:
        raise TypeError(
            f"{op_name}: {arg} must be float16, bfloat16, float32, float64, complex64 or complex128; "
            f"got {a.dtype.name}")
    shape = a.shape
    if shape.rank is not None:
        if shape.rank < 2:
            raise ValueError(
                f"{op_name}: {arg} must be a batch of square matrices [..., n, n] (rank >= 2); got shape {shape}")
        n1, n2 = shape[-2], shape[-1]
        if n1 is not None and n2 is not None and n1 != n2:
            raise ValueError(f"{op_name}: {arg} must be square in its last two dimensions; got shape {shape}")
    return a, cast_back


def real_dtype(dtype):
    return dtype.real_dtype


def cast_back(x, dtype):
    return x if dtype is None else tf.cast(x, dtype)

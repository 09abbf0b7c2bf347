"""A training step with detexp ops, run on one device (imported by test_distribute.py) or, as a
script, under a tf.distribute strategy in its own process (logical devices and TF_CONFIG must be
set before TensorFlow initialises):

    python distribute_step.py mirrored OUT.npz        # MirroredStrategy, 2 logical CPUs
    python distribute_step.py worker OUT.npz          # MultiWorkerMirroredStrategy, TF_CONFIG set

Model: per-example loss l_i = log|det(A_i W)| + s * sum(expm(A_i / 4)) + sum(expm(s W)) / B,
global loss = sum_i l_i / B over the global batch B. Two SGD steps; returns the first step's
gradients and the final variables.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np

N, BATCH, LR, STEPS = 3, 8, 0.1, 2


def data():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((BATCH, N, N)) + 2 * np.eye(N)
    w0 = np.eye(N) + 0.1 * rng.standard_normal((N, N))
    return a, w0, 0.5


def local_loss(a, w, s, global_batch):
    import tensorflow as tf
    import detexp as dx
    per_example = dx.logabsdet(tf.matmul(a, w)) + s * tf.reduce_sum(dx.expm(a / 4), axis=[-2, -1])
    # The expm(s W) term is a batch-independent regulariser; counting it once per example
    # (divided by B) makes the all-reduced sum equal the single-device loss.
    reg = tf.reduce_sum(dx.expm(s * w)) / global_batch
    return tf.reduce_sum(per_example + reg) / global_batch


def run(strategy):
    """(first-step gradients of W and s, W and s after STEPS SGD steps) under `strategy`."""
    import tensorflow as tf
    a_np, w0, s0 = data()
    with strategy.scope():
        w = tf.Variable(w0, aggregation=tf.VariableAggregation.MEAN)
        s = tf.Variable(tf.constant(s0, tf.float64), aggregation=tf.VariableAggregation.MEAN)
    per = BATCH // strategy.num_replicas_in_sync
    shards = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(a_np[ctx.replica_id_in_sync_group * per:(ctx.replica_id_in_sync_group + 1) * per]))

    @tf.function
    def step(a):
        def replica_step(a):
            with tf.GradientTape() as tape:
                loss = local_loss(a, w, s, BATCH)
            grads = tape.gradient(loss, [w, s])
            grads = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)
            w.assign_sub(LR * grads[0])
            s.assign_sub(LR * grads[1])
            return grads
        g = strategy.run(replica_step, args=(a,))
        return [strategy.experimental_local_results(x)[0] for x in g]

    first = [t.numpy() for t in step(shards)]
    for _ in range(STEPS - 1):
        step(shards)
    return {"g_w": first[0], "g_s": first[1], "w": w.numpy(), "s": s.numpy()}


def main(mode, out):
    import tensorflow as tf
    if mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    else:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
    np.savez(out, **run(strategy))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

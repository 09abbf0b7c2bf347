"""tf.distribute: a training step with detexp ops under MirroredStrategy (2 logical CPUs) and
MultiWorkerMirroredStrategy (2 worker processes on localhost) gives the single-device gradients and
updates. Each strategy runs in subprocesses (logical devices and TF_CONFIG must precede TF's
initialisation), bounded by a timeout; workers are killed if anything fails."""
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

import detexp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import distribute_step  # noqa: E402

TIMEOUT = 120


def _env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(detexp.__file__)),
                                         env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def single_device():
    return distribute_step.run(tf.distribute.get_strategy())


def _assert_same(got, ref):
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-12, atol=1e-12, err_msg=k)


def test_single_device_gradient_matches_finite_differences(single_device):
    # The reference itself: d loss / d s by central differences of the float64 loss.
    a, w0, s0 = distribute_step.data()
    f = lambda s: float(distribute_step.local_loss(tf.constant(a), tf.constant(w0), tf.constant(s, tf.float64),
                                                    distribute_step.BATCH))
    h = 1e-6
    assert abs(single_device["g_s"] - (f(s0 + h) - f(s0 - h)) / (2 * h)) < 1e-6 * max(1, abs(single_device["g_s"]))


def test_mirrored_strategy_two_cpus(tmp_path, single_device):
    out = tmp_path / "mirrored.npz"
    r = subprocess.run([sys.executable, os.path.join(HERE, "distribute_step.py"), "mirrored", str(out)],
                       env=_env(), timeout=TIMEOUT, capture_output=True, text=True)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    _assert_same(np.load(out), single_device)


def _free_ports(k):
    socks = [socket.socket() for _ in range(k)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_multi_worker_mirrored_strategy_two_processes(tmp_path, single_device):
    workers = [f"localhost:{p}" for p in _free_ports(2)]
    procs = []
    try:
        for i in range(2):
            tf_config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})
            procs.append(subprocess.Popen(
                [sys.executable, os.path.join(HERE, "distribute_step.py"), "worker", str(tmp_path / f"w{i}.npz")],
                env=_env(TF_CONFIG=tf_config), stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + TIMEOUT
        for p in procs:
            out, _ = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            assert p.returncode == 0, out.decode()[-3000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for i in range(2):
        _assert_same(np.load(tmp_path / f"w{i}.npz"), single_device)

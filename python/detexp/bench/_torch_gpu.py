"""torch.linalg side of the GPU sections (_gpu.py), run as a child process that imports neither
TensorFlow nor detexp: python _torch_gpu.py OP SHAPES_JSON MIN_TIME (OP: slogdet, expm, or
expm_multiply with shapes [n, batch, k]). Prints one JSON line:
{"device": ..., "times": [[shape, {"fwd": ms, "fwd_bwd": ms}], ...]} or {"skipped": reason}.
Timing and inputs are _common.time_interleaved and _gpu_inputs.inputs, loaded by path (importing
them as detexp.bench.* would import detexp, hence TensorFlow)."""
import importlib.util
import json
import sys
from pathlib import Path


def _load(name):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(op, shapes, min_time):
    try:
        import torch
    except ImportError:
        return {"skipped": "PyTorch not installed"}
    if not torch.cuda.is_available():
        return {"skipped": "no GPU visible to PyTorch"}
    common = _load("_common")
    gpu_inputs = _load("_gpu_inputs")
    sync = torch.cuda.synchronize
    times = []
    for shape in shapes:
        n, batch = shape[:2]
        if op == "expm_multiply":  # exp(a) @ b by forming the exponential (shape: n, batch, k)
            b = torch.from_numpy(gpu_inputs.columns(n, batch, shape[2])).cuda()
            fn = lambda x: torch.linalg.matrix_exp(x) @ b  # noqa: E731
        else:
            fn = torch.linalg.matrix_exp if op == "expm" else (lambda x: torch.linalg.slogdet(x)[1])
        a = torch.from_numpy(gpu_inputs.inputs("expm" if op == "expm_multiply" else op, n, batch)).cuda()
        x = a.clone().requires_grad_(True)

        def fwd():
            with torch.no_grad():
                fn(a)
            sync()

        def fwd_bwd():
            fn(x).sum().backward()
            x.grad = None
            sync()

        t = {mode: common.time_interleaved({mode: f}, min_time)[mode] for mode, f in (("fwd", fwd), ("fwd_bwd", fwd_bwd))}
        times.append([shape, t])
        del a, x
        torch.cuda.empty_cache()
    return {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "times": times}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]))))

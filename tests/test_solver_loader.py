"""The lazy cuSOLVER/cuBLAS loader of the CUDA build (cuda/solver_loader.cc), without a GPU.

The loader is compiled into a small shared library (as it is into _detexp_ops.so) and pointed at
fake libcublas/libcusolver files exporting the entry points it resolves (generated from the
X-macro lists of cuda/solver_loader.h), one of them short of a symbol. Checked: a copy the process
already loaded is reused (RTLD_NOLOAD), a candidate lacking a symbol is skipped for the next one,
an explicit DETEXP_CUBLAS_PATH is the only candidate, and the report names the file chosen.
Needs g++ and CUDA headers + cudart_static (the pip toolchain of requirements-cuda.txt or a
system CUDA); skipped otherwise.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADER = ROOT / "cuda" / "solver_loader.h"


def _cuda_root():
    roots = [Path(d) / "nvidia" / "cu13" for d in sys.path if d] + [Path("/usr/local/cuda")]
    for r in roots:
        lib = next((r / sub / "libcudart_static.a" for sub in ("lib", "lib64") if (r / sub / "libcudart_static.a").exists()), None)
        if (r / "include" / "cuda_runtime_api.h").exists() and lib is not None:
            return r / "include", lib
    return None


def _symbols(macro):
    text = HEADER.read_text()
    body = text[text.index(f"#define {macro}(X)"):]
    body = body[: body.index("\n\n")]
    return re.findall(r"X\((\w+)\)", body)


BLAS = _symbols("DETEXP_CUBLAS_FUNCTIONS")
SOLVER = _symbols("DETEXP_CUSOLVER_FUNCTIONS")


def _fake_library(path, soname, names):
    path.parent.mkdir(parents=True, exist_ok=True)
    src = path.with_suffix(".c")
    src.write_text("".join(f"int {n}(void) {{ return 0; }}\n" for n in names))
    subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(path), str(src)], check=True)
    return path


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    cuda = _cuda_root()
    if cuda is None or shutil.which("g++") is None:
        pytest.skip("needs g++ and CUDA headers with cudart_static (pip install -r requirements-cuda.txt)")
    include, cudart = cuda
    site = tmp_path_factory.mktemp("site")  # plays site-packages: detexp/ and nvidia/ side by side
    (site / "detexp").mkdir()
    main = site / "probe.cc"
    main.write_text(
        '#include <cstdio>\n#include "cuda/solver_loader.h"\n'
        "extern \"C\" void probe() {\n"
        "  const auto& api = detexp::gpu::solver_api();\n"
        '  std::printf("BLAS=%s\\nSOLVER=%s\\nREPORT=%s\\nERROR=%s\\n", api.cublas_path.c_str(),\n'
        "              api.cusolver_path.c_str(), api.report.c_str(), api.error.c_str());\n}\n")
    lib = site / "detexp" / "libprobe.so"
    subprocess.run(["g++", "-std=c++17", "-shared", "-fPIC", "-O1", f"-I{ROOT}", f"-I{ROOT / 'third_party' / 'cuda_headers'}",
                    f"-I{include}", "-o", str(lib), str(main), str(ROOT / "cuda" / "solver_loader.cc"), str(cudart),
                    "-ldl", "-lpthread", "-lrt"], check=True)
    exe = site / "run_probe"
    (site / "run_probe.c").write_text("void probe(void); int main(void) { probe(); return 0; }\n")
    subprocess.run(["gcc", "-o", str(exe), str(site / "run_probe.c"), str(lib), f"-Wl,-rpath,{lib.parent}"], check=True)
    fakes = site / "fakes"
    return {
        "site": site,
        "exe": exe,
        "blas_full": _fake_library(site / "nvidia" / "cublas" / "lib" / "libcublas.so.12", "libcublas.so.12", BLAS),
        "solver_full": _fake_library(site / "nvidia" / "cusolver" / "lib" / "libcusolver.so.11", "libcusolver.so.11", SOLVER),
        "blas_short": _fake_library(fakes / "short" / "libcublas.so.12", "libcublas.so.12", BLAS[:-1]),
        "blas_other": _fake_library(fakes / "other" / "libcublas.so.12", "libcublas.so.12", BLAS),
    }


def _run(probe, **env):
    e = {k: v for k, v in os.environ.items() if not k.startswith("DETEXP_") and k not in ("LD_PRELOAD", "LD_LIBRARY_PATH")}
    e.update({k: str(v) for k, v in env.items()})
    out = subprocess.run([str(probe["exe"])], env=e, capture_output=True, text=True, check=True).stdout
    fields = dict(re.findall(r"^(BLAS|SOLVER|REPORT|ERROR)=(.*?)(?=^(?:BLAS|SOLVER|REPORT|ERROR)=|\Z)", out, re.M | re.S))
    return {k: v.strip() for k, v in fields.items()}


def test_finds_the_pip_packages_beside_the_library(probe):
    r = _run(probe)
    assert r["ERROR"] == ""
    assert r["BLAS"] == str(probe["blas_full"].resolve())
    assert r["SOLVER"] == str(probe["solver_full"].resolve())
    assert "opened by detexp" in r["REPORT"]


def test_reuses_the_copy_the_process_loaded(probe):
    # A cuBLAS already in the process (as TF's is) wins over the one beside the library.
    r = _run(probe, LD_PRELOAD=probe["blas_other"])
    assert r["BLAS"] == str(probe["blas_other"].resolve())
    assert f"cuBLAS: {probe['blas_other'].resolve()} (already loaded by the process)" in r["REPORT"]
    assert r["SOLVER"] == str(probe["solver_full"].resolve())


def test_skips_a_candidate_lacking_a_symbol(probe):
    # The loaded copy lacks the last entry point: skipped (named in no error), the next one is taken.
    r = _run(probe, LD_PRELOAD=probe["blas_short"])
    assert r["ERROR"] == ""
    assert r["BLAS"] == str(probe["blas_full"].resolve())


def test_explicit_path_is_the_only_candidate(probe):
    r = _run(probe, DETEXP_CUBLAS_PATH=probe["blas_short"])
    assert r["BLAS"] == ""
    assert f"{probe['blas_short']}: lacks {BLAS[-1]}" in r["ERROR"]
    assert "DETEXP_CUBLAS_PATH" in r["ERROR"]
    r = _run(probe, DETEXP_CUBLAS_PATH=probe["blas_other"])
    assert r["ERROR"] == "" and r["BLAS"] == str(probe["blas_other"].resolve())


def test_error_lists_every_candidate_tried(probe, tmp_path):
    # Without the pip folders (the library copied elsewhere) and none on the loader's path.
    lone = tmp_path / "lone"
    shutil.copytree(probe["site"] / "detexp", lone / "detexp")
    exe = lone / "run_probe"
    subprocess.run(["gcc", "-o", str(exe), str(probe["site"] / "run_probe.c"), str(lone / "detexp" / "libprobe.so"),
                    f"-Wl,-rpath,{lone / 'detexp'}"], check=True)
    r = _run({"exe": exe})
    if r["BLAS"]:
        pytest.skip(f"this machine has a cuBLAS on the loader's path: {r['BLAS']}")
    assert "could not load cuBLAS" in r["ERROR"] and "could not load cuSOLVER" in r["ERROR"]
    assert str(lone / "detexp" / ".." / "nvidia" / "cublas" / "lib" / "libcublas.so.12") in r["ERROR"]
    assert "libcusolver.so.12" in r["ERROR"]

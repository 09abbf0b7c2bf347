"""Build detexp: setup.py drives CMake (CMakeLists.txt) and places the op library and the
pybind11 module inside the `detexp` package.

Environment:
  DETEXP_BUILD_TYPE   CMake build type (default Release)
  DETEXP_BUILD_DIR    CMake build directory, kept between builds so that a rebuild (e.g. the wheel
                      after `pip install`) only recompiles what changed (default: build_temp/cmake)
  DETEXP_CMAKE_ARGS   extra arguments for the CMake configure step
  DETEXP_JOBS         parallel build jobs (default: CPU count)
  DETEXP_CUDA         1 to build the GPU kernels as well: nvcc from CUDACXX, else the pip toolchain
                      of requirements-cuda.txt, else a system CUDA (see cuda/README.md)
  DETEXP_CUDA_ARCHS   CUDA archs, e.g. "80;90" (default with nvcc 13: 75;80;86;89;90;100;120 + PTX 120)
  DETEXP_CUDA_RUNTIME static (default with nvcc 13: cudart_static, hidden) or tf (TF's exported
                      CUDA runtime; default with nvcc 12)
"""
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        out_dir = Path(self.get_ext_fullpath(ext.name)).resolve().parent
        cuda = os.environ.get("DETEXP_CUDA", "0").lower() in ("1", "on", "true", "yes")
        # CPU and CUDA builds get separate default directories, so neither reconfigures the other.
        default_dir = Path(self.build_temp) / ("cmake-cuda" if cuda else "cmake")
        build_dir = Path(os.environ.get("DETEXP_BUILD_DIR") or default_dir).resolve()
        build_dir.mkdir(parents=True, exist_ok=True)
        build_type = os.environ.get("DETEXP_BUILD_TYPE", "Release")
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build_dir),
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-DCMAKE_BUILD_TYPE={build_type}",
            # Libraries land in the build dir and are copied into the package below: a CPU and a
            # CUDA build dir sharing the package dir would otherwise each see the other's .so as
            # up to date.
            f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={build_dir / 'lib'}",
        ]
        # Always explicit: a cached DETEXP_CUDA=ON would otherwise survive a CPU rebuild.
        configure.append(f"-DDETEXP_CUDA={'ON' if cuda else 'OFF'}")
        if cuda:
            if os.environ.get("DETEXP_CUDA_ARCHS"):
                configure.append(f"-DDETEXP_CUDA_ARCHS={os.environ['DETEXP_CUDA_ARCHS']}")
            if os.environ.get("DETEXP_CUDA_RUNTIME"):
                configure.append(f"-DDETEXP_CUDA_RUNTIME={os.environ['DETEXP_CUDA_RUNTIME']}")
            configure.append("-DDETEXP_CUDA_TESTS=OFF")
        configure += shlex.split(os.environ.get("DETEXP_CMAKE_ARGS", ""))
        jobs = os.environ.get("DETEXP_JOBS", str(os.cpu_count() or 2))
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "-j", jobs], check=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        for lib in sorted((build_dir / "lib").glob("_detexp_*.so")):
            shutil.copy2(lib, out_dir / lib.name)


setup(
    ext_modules=[CMakeExtension("detexp._detexp_numpy")],
    cmdclass={"build_ext": CMakeBuild},
)

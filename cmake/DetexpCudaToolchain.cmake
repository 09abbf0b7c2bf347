# Chooses nvcc before enable_language(CUDA). Included by cmake/DetexpCuda.cmake and by the
# standalone kernel tests (cuda/tests/CMakeLists.txt). First match wins:
#   1. -DCMAKE_CUDA_COMPILER=...        (or what an earlier configure of this build dir chose, kept
#                                        with the reason it was chosen)
#   2. env CUDACXX                      (CMake's own variable)
#   3. the pip toolchain of requirements-cuda.txt, found through the building Python's sys.path:
#      <site-packages>/nvidia/cu13/bin/nvcc (packages nvidia-cuda-nvcc, nvidia-nvvm, nvidia-cuda-crt,
#      nvidia-cuda-runtime, nvidia-cuda-cccl)
#   4. env CUDA_HOME or CUDA_PATH: <dir>/bin/nvcc
#   5. nvcc on PATH, then /usr/local/cuda/bin/nvcc
# So an installed pip toolchain wins over a system CUDA that merely sits on PATH, and any CUDA
# (e.g. a CUDA 12.x toolkit for V100 nodes / pre-R580 drivers, which PyPI does not carry) is chosen
# with CUDACXX=/path/to/nvcc or -DCMAKE_CUDA_COMPILER=/path/to/nvcc.
#
# The pip layout puts the libraries in nvidia/cu13/lib while nvcc.profile (and CMake's CUDA
# support) expect <root>/lib64: the pip toolchain is used through a view in the build directory
# (<build>/pip-cuda-toolkit: bin/ and lib64/ of symbolic links, include/ and nvvm/ linked), so
# nvcc, CMake's implicit link directories and FindCUDAToolkit all see an ordinary toolkit root.
#
# Sets DETEXP_CUDA_TOOLCHAIN (how nvcc was chosen) for the summary line.

function(_detexp_pip_nvcc out)
  set(${out} "" PARENT_SCOPE)
  set(py "${DETEXP_TF_PYTHON}")  # the build-tools interpreter (CMakeLists.txt), else the target one
  if(NOT py)
    set(py "${Python_EXECUTABLE}")
  endif()
  if(NOT py)  # the standalone kernel tests: whatever python is on PATH
    find_program(DETEXP_TOOLCHAIN_PYTHON NAMES python3 python)
    set(py "${DETEXP_TOOLCHAIN_PYTHON}")
  endif()
  if(NOT py)
    return()
  endif()
  execute_process(
    COMMAND "${py}" -c
      "import os, sys\nfor d in sys.path:\n    p = os.path.join(d or '.', 'nvidia', 'cu13', 'bin', 'nvcc')\n    if os.path.isfile(p):\n        print(os.path.realpath(p)); break"
    OUTPUT_VARIABLE found OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

# <build>/pip-cuda-toolkit: an ordinary toolkit layout over the pip packages' nvidia/cu13.
function(_detexp_pip_toolkit_view pip_nvcc out)
  get_filename_component(bin "${pip_nvcc}" DIRECTORY)
  get_filename_component(root "${bin}" DIRECTORY)
  foreach(required nvvm/bin/cicc include/cuda_runtime.h include/crt/host_config.h include/cccl lib/libcudart_static.a)
    if(NOT EXISTS "${root}/${required}")
      message(FATAL_ERROR "The pip CUDA toolchain at ${root} lacks ${required}: "
                          "pip install -r requirements-cuda.txt (nvidia-cuda-nvcc, nvidia-nvvm, "
                          "nvidia-cuda-crt, nvidia-cuda-runtime, nvidia-cuda-cccl)")
    endif()
  endforeach()
  set(view "${CMAKE_BINARY_DIR}/pip-cuda-toolkit")
  file(REMOVE_RECURSE "${view}")
  file(MAKE_DIRECTORY "${view}/bin" "${view}/lib64")
  file(GLOB entries "${bin}/*")
  foreach(e IN LISTS entries)
    get_filename_component(name "${e}" NAME)
    file(CREATE_LINK "${e}" "${view}/bin/${name}" SYMBOLIC)
  endforeach()
  file(GLOB entries "${root}/lib/*")
  foreach(e IN LISTS entries)
    get_filename_component(name "${e}" NAME)
    file(CREATE_LINK "${e}" "${view}/lib64/${name}" SYMBOLIC)
  endforeach()
  if(EXISTS "${root}/lib/libcudart.so.13")  # FindCUDAToolkit looks for the unversioned name
    file(CREATE_LINK "libcudart.so.13" "${view}/lib64/libcudart.so" SYMBOLIC)
  endif()
  file(CREATE_LINK "${root}/include" "${view}/include" SYMBOLIC)
  file(CREATE_LINK "${root}/nvvm" "${view}/nvvm" SYMBOLIC)
  set(${out} "${view}/bin/nvcc" PARENT_SCOPE)
endfunction()

if(CMAKE_CUDA_COMPILER AND CMAKE_CUDA_COMPILER STREQUAL _DETEXP_CHOSEN_NVCC)
  set(DETEXP_CUDA_TOOLCHAIN "${_DETEXP_CHOSEN_HOW}")  # this build dir's earlier choice
elseif(CMAKE_CUDA_COMPILER)
  set(DETEXP_CUDA_TOOLCHAIN "CMAKE_CUDA_COMPILER (${CMAKE_CUDA_COMPILER})")
elseif(DEFINED ENV{CUDACXX} AND NOT "$ENV{CUDACXX}" STREQUAL "")
  set(DETEXP_CUDA_TOOLCHAIN "CUDACXX ($ENV{CUDACXX})")  # enable_language(CUDA) reads it
else()
  _detexp_pip_nvcc(_detexp_pip)
  if(_detexp_pip)
    _detexp_pip_toolkit_view("${_detexp_pip}" _detexp_nvcc)
    set(CMAKE_CUDA_COMPILER "${_detexp_nvcc}" CACHE FILEPATH "nvcc (see cmake/DetexpCudaToolchain.cmake)")
    set(CUDAToolkit_ROOT "${CMAKE_BINARY_DIR}/pip-cuda-toolkit")
    set(DETEXP_CUDA_TOOLCHAIN "pip (${_detexp_pip})")
  else()
    set(_detexp_hints "")
    foreach(v CUDA_HOME CUDA_PATH)
      if(DEFINED ENV{${v}} AND NOT "$ENV{${v}}" STREQUAL "")
        list(APPEND _detexp_hints "$ENV{${v}}/bin")
      endif()
    endforeach()
    find_program(DETEXP_SYSTEM_NVCC nvcc HINTS ${_detexp_hints} PATHS /usr/local/cuda/bin)
    set(_detexp_nvcc "${DETEXP_SYSTEM_NVCC}")
    if(NOT _detexp_nvcc)
      message(FATAL_ERROR "detexp: no nvcc found. Install the pip toolchain (pip install -r "
                          "requirements-cuda.txt) or name one with CUDACXX=/path/to/nvcc.")
    endif()
    set(CMAKE_CUDA_COMPILER "${_detexp_nvcc}" CACHE FILEPATH "nvcc (see cmake/DetexpCudaToolchain.cmake)")
    set(DETEXP_CUDA_TOOLCHAIN "system (${_detexp_nvcc})")
  endif()
endif()
if(CMAKE_CUDA_COMPILER AND NOT DETEXP_CUDA_TOOLCHAIN MATCHES "^(CMAKE_CUDA_COMPILER|CUDACXX)")
  set(_DETEXP_CHOSEN_NVCC "${CMAKE_CUDA_COMPILER}" CACHE INTERNAL "nvcc chosen by DetexpCudaToolchain.cmake")
  set(_DETEXP_CHOSEN_HOW "${DETEXP_CUDA_TOOLCHAIN}" CACHE INTERNAL "how it was chosen")
endif()
